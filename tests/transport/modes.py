"""One amend through make_client's own transports, in each of the three ways a bot sends it."""

from __future__ import annotations

import asyncio
from typing import Any

from kalshi_trade_api.models import AmendOrderV2Response

from auth_hooks import KalshiAuth, amend_order, amend_order_async, make_client
from tests.outcomes.helpers import body

# "sync" and "async": make_client's defaults, our own pools (auth_hooks.wire, wire_async);
# "httpx-async": httpx.AsyncClient on httpcore; "aiohttp": httpx.AsyncClient on aiohttp.
MODES = ("sync", "async", "httpx-async", "aiohttp")
ASYNC_MODES = MODES[1:]
_BACKENDS = {"sync": "auto", "async": "auto", "httpx-async": "httpx", "aiohttp": "aiohttp"}


def client_args(mode: str) -> dict[str, Any]:
    return {"async_backend": _BACKENDS[mode]}


def amend(
    mode: str, auth: KalshiAuth, base_url: str, *, order_id: str = "ord-1", **kwargs: Any
) -> AmendOrderV2Response:
    """One amend on a fresh client (closed afterwards); ``kwargs`` go to make_client."""
    kwargs = {**client_args(mode), **kwargs}
    if mode == "sync":
        with make_client(auth, base_url=base_url, **kwargs) as client:
            return amend_order(client, order_id, body())

    async def run() -> AmendOrderV2Response:
        async with make_client(auth, base_url=base_url, **kwargs) as client:
            return await amend_order_async(client, order_id, body())

    return asyncio.run(run())


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception reachable from it through __cause__ and __context__."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return seen
