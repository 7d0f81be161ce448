"""One amend through make_client + amend_order(_async), in each of the three ways a bot sends it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from kalshi_trade_api.models import AmendOrderV2Request, AmendOrderV2Response, BookSide

from auth_hooks import KalshiAuth, amend_order, amend_order_async, make_client

# "sync", "async": make_client's defaults (our own pools); "aiohttp": async_backend="aiohttp";
# "httpx-async": httpx's own async pool (async_transport=httpx.AsyncHTTPTransport()).
MODES = ("sync", "async", "aiohttp", "httpx-async")


def body(**changes: Any) -> AmendOrderV2Request:
    fields: dict[str, Any] = {
        "ticker": "HIGHNY-24JAN01-T60",
        "side": BookSide.BID,
        "price": "0.5600",
        "count": "10.00",
        "updated_client_order_id": "2a0e3fc9-b593-4aa3-96e5-82f7f7566c2a",
    }
    fields.update(changes)
    return AmendOrderV2Request(**fields)


def amend(
    mode: str,
    auth: KalshiAuth,
    base_url: str,
    *,
    times: int = 1,
    order_id: str = "ord-1",
    connect_retries: int = 2,
    call: dict[str, Any] | None = None,
    **kwargs: Any,
) -> list[AmendOrderV2Response]:
    """``times`` amends one after the other on ONE client (so its pool is reused).

    The first exception raised ends the run and propagates; ``call`` goes to
    amend_order(_async) (rate_limit_retry=..., write_bucket=...), ``kwargs`` to make_client.
    """
    call = call or {}
    if mode == "sync":
        with make_client(auth, base_url=base_url, connect_retries=connect_retries, **kwargs) as client:
            return [amend_order(client, order_id, body(), **call) for _ in range(times)]
    if mode not in MODES:
        raise ValueError(mode)
    if mode == "httpx-async":
        kwargs["async_transport"] = httpx.AsyncHTTPTransport(retries=connect_retries)
    if mode == "aiohttp":
        kwargs["async_backend"] = "aiohttp"

    async def run() -> list[AmendOrderV2Response]:
        client = make_client(auth, base_url=base_url, connect_retries=connect_retries, **kwargs)
        try:
            return [await amend_order_async(client, order_id, body(), **call) for _ in range(times)]
        finally:
            await client.aclose()

    return asyncio.run(run())
