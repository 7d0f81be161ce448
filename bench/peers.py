"""The peers, each configured as its own README shows, against the same servers.

Runs only in the peers' virtualenv (.bench/peers-venv): their packages are not in the
project's .venv, hence the type: ignore on their imports. Both call Amend Order V2 and
parse its response into their own models. Trusting the bench's CA: Kalshi's SDKs take
`Configuration.ssl_ca_cert`; kalshi-sdk's KalshiConfig has no TLS option, so it is
trusted the way httpx (its transport) lets a user: SSL_CERT_FILE in the environment.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from bench.common import COUNT, ORDER_ID, PRICE, TICKER, Context, Unavailable
from bench.measure import AsyncOp, SyncOp

FIELDS = {"ticker": TICKER, "side": "bid", "price": PRICE, "count": COUNT}


def _official_client(ctx: Context, package: str) -> tuple[Any, type]:
    """Configuration + KalshiClient of kalshi-python-sync or -async, and its response type."""
    try:
        sdk = __import__(package)
    except ImportError as exc:
        raise Unavailable(f"{package} is not installed ({exc})") from None
    config = sdk.Configuration(host=ctx.base_url, ssl_ca_cert=ctx.ca_path if ctx.tls else None)
    config.api_key_id = ctx.key_id
    config.private_key_pem = ctx.key_pem.decode()
    return sdk.KalshiClient(config), sdk.AmendOrderV2Response


def official(ctx: Context) -> SyncOp:
    client, response_type = _official_client(ctx, "kalshi_python_sync")

    def amend() -> object:
        # Raises ApiException on any non-2xx status; a 200 must also parse.
        response = client.amend_order_v2(ORDER_ID, **FIELDS)
        if not isinstance(response, response_type):
            raise RuntimeError(f"unexpected response {response!r}")
        return response

    return amend


def official_async(ctx: Context) -> AsyncOp:
    client, response_type = _official_client(ctx, "kalshi_python_async")

    async def amend() -> object:
        response = await client.amend_order_v2(ORDER_ID, **FIELDS)
        if not isinstance(response, response_type):
            raise RuntimeError(f"unexpected response {response!r}")
        return response

    return amend


def _kalshi_sdk(ctx: Context, class_name: str) -> tuple[Any, Any]:
    """KalshiClient or AsyncKalshiClient(key_id=, private_key_path=, base_url=), and the request model."""
    try:
        import kalshi  # type: ignore[import-not-found]
    except ImportError as exc:
        raise Unavailable(f"kalshi-sdk is not installed ({exc})") from None
    if ctx.key_kind != "rsa":
        raise Unavailable("kalshi-sdk signs with RSA keys only")
    if ctx.tls:
        os.environ["SSL_CERT_FILE"] = ctx.ca_path  # read by httpx when the client is made
    client = getattr(kalshi, class_name)(
        key_id=ctx.key_id, private_key_path=str(ctx.key_path), base_url=ctx.base_url
    )
    # Its README: prices and counts are Decimal, never float.
    fields = {**FIELDS, "price": Decimal(PRICE), "count": Decimal(COUNT)}
    return client, lambda: kalshi.AmendOrderV2Request(**fields)


def kalshi_sdk(ctx: Context) -> SyncOp:
    client, request = _kalshi_sdk(ctx, "KalshiClient")
    # Raises on any non-2xx status; the 200 is parsed into its AmendOrderV2Response.
    return lambda: client.orders.amend_v2(ORDER_ID, request=request())


def kalshi_sdk_async(ctx: Context) -> AsyncOp:
    client, request = _kalshi_sdk(ctx, "AsyncKalshiClient")

    async def amend() -> object:
        return await client.orders.amend_v2(ORDER_ID, request=request())

    return amend
