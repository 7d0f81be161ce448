"""The peers, configured as their READMEs show, with the RSA key, against the same server.

This module runs only in the peers' virtualenv (.bench/peers-venv): their packages are not
in the project's .venv, hence the type: ignore on their imports. Both only know Kalshi's
older V1 amend (`/portfolio/orders/{id}/amend`), whose body names the side, the action and
the client order ids besides the ticker, price and count: the same work for the exchange.
The server answers that path with the two orders V1 returns, which both SDKs parse.
"""

from __future__ import annotations

from typing import Any

from bench.common import ORDER_ID, TICKER, Context, Unavailable
from bench.measure import SyncOp

V1_FIELDS: dict[str, Any] = {
    "ticker": TICKER,
    "side": "yes",
    "action": "buy",
    "client_order_id": "bench-c1",
    "updated_client_order_id": "bench-c2",
    "yes_price": 56,  # cents: kalshi-py types yes_price_dollars as a list of ints
    "count": 10,
}


def official_amend(ctx: Context) -> SyncOp:
    """kalshi-python-sync: Configuration + KalshiClient, then client.amend_order(...)."""
    try:
        import kalshi_python_sync  # type: ignore[import-not-found]
    except ImportError as exc:
        raise Unavailable(f"kalshi-python-sync is not installed ({exc})") from None
    config = kalshi_python_sync.Configuration(host=ctx.base_url)
    config.api_key_id = ctx.key_id
    config.private_key_pem = ctx.key_pem.decode()
    client = kalshi_python_sync.KalshiClient(config)
    response_type = kalshi_python_sync.AmendOrderResponse

    def amend() -> object:
        # Raises ApiException on any non-2xx status, so a 200 parse is checked here.
        response = client.amend_order(ORDER_ID, **V1_FIELDS)
        if not isinstance(response, response_type):
            raise RuntimeError(f"unexpected response {response!r}")
        return response

    return amend


def kalshi_py_amend(ctx: Context) -> SyncOp:
    """kalshi-py: create_client(...) then the generated amend_order.sync_detailed(...)."""
    try:
        import kalshi_py  # type: ignore[import-not-found]
        from kalshi_py.api.portfolio import amend_order  # type: ignore[import-not-found]
        from kalshi_py.models import (  # type: ignore[import-not-found]
            ModelAmendOrderRequest,
            ModelAmendOrderRequestAction,
            ModelAmendOrderRequestSide,
            ModelAmendOrderResponse,
        )
    except ImportError as exc:
        raise Unavailable(f"kalshi-py is not installed ({exc})") from None
    client = kalshi_py.create_client(
        base_url=ctx.base_url, access_key_id=ctx.key_id, private_key_data=ctx.key_pem.decode()
    )
    fields = {
        **V1_FIELDS,
        "side": ModelAmendOrderRequestSide.YES,
        "action": ModelAmendOrderRequestAction.BUY,
    }

    def amend() -> object:
        body = ModelAmendOrderRequest(**fields)
        response = amend_order.sync_detailed(ORDER_ID, client=client, body=body)
        if not isinstance(response.parsed, ModelAmendOrderResponse):
            raise RuntimeError(f"HTTP {response.status_code}: {response.content!r}")
        return response.parsed

    return amend
