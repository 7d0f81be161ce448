"""Ours: the generated client on make_client, exactly as the README tells users to call it."""

from __future__ import annotations

import inspect
from typing import Any

from bench.common import COUNT, ORDER_ID, PRICE, TICKER, Context, Unavailable
from bench.measure import AsyncOp, SyncOp


def _client(ctx: Context, *, presign: bool = False) -> Any:
    try:
        from auth_hooks import KalshiAuth, load_private_key, make_client
    except ImportError as exc:
        raise Unavailable(f"auth_hooks does not provide the public API ({exc})") from None
    key = load_private_key(ctx.key_path)
    if not presign:
        return make_client(KalshiAuth(ctx.key_id, key), base_url=ctx.base_url)
    # The opt-in pre-signing pipeline (auth_hooks/presign.py): a keyword of KalshiAuth.
    # Checked at run time so the bench still runs against a tree that lacks it.
    if "presign" not in inspect.signature(KalshiAuth).parameters:
        raise Unavailable("KalshiAuth has no presign option in this tree")
    return make_client(KalshiAuth(ctx.key_id, key, presign=True), base_url=ctx.base_url)


def sync_amend(ctx: Context, *, presign: bool = False) -> SyncOp:
    from kalshi_trade_api.api.orders import amend_order_v2
    from kalshi_trade_api.models import AmendOrderV2Request, AmendOrderV2Response, BookSide

    client = _client(ctx, presign=presign)

    def amend() -> object:
        body = AmendOrderV2Request(ticker=TICKER, side=BookSide.BID, price=PRICE, count=COUNT)
        response = amend_order_v2.sync_detailed(ORDER_ID, client=client, body=body)
        if not isinstance(response.parsed, AmendOrderV2Response):
            raise RuntimeError(f"HTTP {response.status_code}: {response.content!r}")
        return response.parsed

    return amend


def presigned_sync_amend(ctx: Context) -> SyncOp:
    return sync_amend(ctx, presign=True)


def async_amend(ctx: Context) -> AsyncOp:
    from kalshi_trade_api.api.orders import amend_order_v2
    from kalshi_trade_api.models import AmendOrderV2Request, AmendOrderV2Response, BookSide

    client = _client(ctx)

    async def amend() -> object:
        body = AmendOrderV2Request(ticker=TICKER, side=BookSide.BID, price=PRICE, count=COUNT)
        response = await amend_order_v2.asyncio_detailed(ORDER_ID, client=client, body=body)
        if not isinstance(response.parsed, AmendOrderV2Response):
            raise RuntimeError(f"HTTP {response.status_code}: {response.content!r}")
        return response.parsed

    return amend
