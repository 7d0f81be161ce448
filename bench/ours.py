"""Ours, exactly as the README tells users to call it, and the standard library's limit."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.common import COUNT, ORDER_ID, PRICE, TICKER, V2_BODY, V2_PATH, Context, Unavailable
from bench.measure import AsyncOp, SyncOp

# Below the 5 s after which the bench's proxy (an edge) closes an idle connection.
KEEP_WARM_AFTER_S = 4.0


def _client(ctx: Context, **options: Any) -> Any:
    from auth_hooks import KalshiAuth, load_private_key, make_client

    auth = KalshiAuth(ctx.key_id, load_private_key(ctx.key_path))
    verify = ctx.ca_path if ctx.tls else True
    return make_client(auth, base_url=ctx.base_url, verify=verify, **options)


def _body() -> Any:
    # Made per amend, as a bot makes each amend from the market it sees.
    from kalshi_trade_api.models import AmendOrderV2Request, BookSide

    return AmendOrderV2Request(ticker=TICKER, side=BookSide.BID, price=PRICE, count=COUNT)


def recommended(ctx: Context) -> SyncOp:
    from auth_hooks import amend_order

    client = _client(ctx)
    return lambda: amend_order(client, ORDER_ID, _body())


def presigned(ctx: Context) -> SyncOp:
    from auth_hooks import KalshiAuth, amend_order, load_private_key, make_client

    if ctx.key_kind != "rsa":
        raise Unavailable(
            "presign applies to RSA keys only (an Ed25519 signature is cheaper than the hand-off)"
        )
    auth = KalshiAuth(ctx.key_id, load_private_key(ctx.key_path), presign=True)
    client = make_client(auth, base_url=ctx.base_url, verify=ctx.ca_path if ctx.tls else True)
    return lambda: amend_order(client, ORDER_ID, _body())


def raw(ctx: Context) -> SyncOp:
    from kalshi_trade_api.api.orders import amend_order_v2
    from kalshi_trade_api.models import AmendOrderV2Response

    client = _client(ctx)

    def amend() -> object:
        response = amend_order_v2.sync_detailed(ORDER_ID, client=client, body=_body())
        if not isinstance(response.parsed, AmendOrderV2Response):
            raise RuntimeError(f"HTTP {response.status_code}: {response.content!r}")
        return response.parsed

    return amend


def warmed(ctx: Context) -> SyncOp:
    """The README's call on a client warmed with auth_hooks.warm_up, and kept warm as a bot
    would: warm_up again whenever no request has gone out for KEEP_WARM_AFTER_S."""
    import auth_hooks
    from auth_hooks import amend_order

    warm_up = getattr(auth_hooks, "warm_up", None)
    if warm_up is None:
        raise Unavailable("this tree has no warm-up (auth_hooks.warm_up)")
    client = _client(ctx)
    warm_up(client)
    last_used = [time.monotonic()]

    def keep_warm() -> None:
        while True:
            time.sleep(0.25)
            if time.monotonic() - last_used[0] >= KEEP_WARM_AFTER_S:
                warm_up(client)
                last_used[0] = time.monotonic()

    threading.Thread(target=keep_warm, name="keep-warm", daemon=True).start()

    def amend() -> object:
        last_used[0] = time.monotonic()
        return amend_order(client, ORDER_ID, _body())

    return amend


def _async(ctx: Context, backend: str) -> AsyncOp:
    from auth_hooks import amend_order_async

    client = _client(ctx, async_backend=backend)

    async def amend() -> object:
        return await amend_order_async(client, ORDER_ID, _body())

    return amend


def async_aiohttp(ctx: Context) -> AsyncOp:
    try:
        import httpx_aiohttp  # noqa: F401
    except ImportError as exc:
        raise Unavailable(f"httpx-aiohttp is not installed ({exc})") from None
    return _async(ctx, "aiohttp")


def async_default(ctx: Context) -> AsyncOp:
    """The README's async call with only the vendored packages (httpx-aiohttp not installed)."""
    sys.modules["httpx_aiohttp"] = None  # type: ignore[assignment]  # this process: as if not installed
    return _async(ctx, "auto")


def signer(ctx: Context) -> Callable[[bytes], bytes]:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

    key = serialization.load_pem_private_key(ctx.key_pem, password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        sha256 = hashes.SHA256()
        return lambda message: key.sign(message, pss, sha256)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key.sign


def stdlib(ctx: Context) -> SyncOp:
    """The least an amend can cost in Python: http.client on one kept-alive socket, the body
    serialised, the three KALSHI headers signed inline, the status checked, the JSON decoded."""
    sign = signer(ctx)
    if ctx.tls:
        tls = ssl.create_default_context(cafile=ctx.ca_path)
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", ctx.port, timeout=10, context=tls
        )
    else:
        connection = http.client.HTTPConnection("127.0.0.1", ctx.port, timeout=10)

    def amend() -> object:
        body = json.dumps(V2_BODY, separators=(",", ":")).encode()
        stamp = str(time.time_ns() // 1_000_000)
        headers = {
            "Content-Type": "application/json",
            "KALSHI-ACCESS-KEY": ctx.key_id,
            "KALSHI-ACCESS-TIMESTAMP": stamp,
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(sign(f"{stamp}POST{V2_PATH}".encode())).decode(),
        }
        connection.request("POST", V2_PATH, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {content!r}")
        return json.loads(content)

    return amend
