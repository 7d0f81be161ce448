"""Many amends at once, plus seeding from another thread, must not corrupt the books."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from decimal import Decimal

import httpx

from local_exchange import Exchange, OrderStatus, RunningServer

from .conftest import MARKET, TAPERED
from .support import TestKey, amend_path, signed_headers, trusting

D = Decimal


async def amend(
    client: httpx.AsyncClient, server: RunningServer, key: TestKey, order_id: str, body: Mapping[str, str]
) -> httpx.Response:
    path = amend_path(order_id)
    headers = signed_headers(key, "POST", path, server.exchange.now_ms())
    return await client.post(server.root_url + path, json=body, headers=headers)


async def test_fifty_concurrent_crossing_amends_fill_exactly_the_liquidity(
    server: RunningServer, exchange: Exchange, alice_key: TestKey, carol_key: TestKey
) -> None:
    exchange.write_bucket_size = 10_000.0
    asks = [exchange.place_order("bob", MARKET, "ask", f"0.5{i % 5 + 1}", "2") for i in range(30)]
    bids = [(alice_key, exchange.place_order("alice", MARKET, "bid", "0.40", "4")) for _ in range(25)]
    bids += [(carol_key, exchange.place_order("carol", MARKET, "bid", "0.40", "4")) for _ in range(25)]
    body = {"ticker": MARKET, "side": "bid", "price": "0.55", "count": "4"}

    stop = threading.Event()

    def seed_elsewhere() -> None:
        # The Python API from another thread, while the event loop thread serves amends.
        while not stop.is_set():
            exchange.cancel_order(exchange.place_order("bob", TAPERED, "ask", "0.60", "1"))

    seeder = threading.Thread(target=seed_elsewhere)
    seeder.start()
    try:
        async with httpx.AsyncClient(timeout=10.0, verify=trusting(server)) as client:
            responses = await asyncio.gather(
                *(amend(client, server, key, order_id, body) for key, order_id in bids)
            )
    finally:
        stop.set()
        seeder.join()

    assert [r.status_code for r in responses] == [200] * 50
    payloads = [r.json() for r in responses]
    # A bid that got nothing only changed price: no counts in its response (docs).
    filled = sum((D(p.get("fill_count", "0")) for p in payloads), D(0))
    assert filled == 60  # all of bob's 30 x 2, and not a contract more
    for payload in payloads:
        if "fill_count" in payload:
            assert D(payload["fill_count"]) + D(payload["remaining_count"]) == 4
    assert all(exchange.order(a).status is OrderStatus.EXECUTED for a in asks)
    assert sum((f.count for f in exchange.fills(ticker=MARKET)), D(0)) == 60
    for _, order_id in bids:
        order = exchange.order(order_id)
        assert order.count == 4
        assert order.filled == sum((f.count for f in exchange.fills(order_id=order_id)), D(0))
    book = exchange.book(MARKET)
    assert book.asks == ()
    assert sum((o.remaining for o in book.bids), D(0)) == 50 * 4 - 60
    assert exchange.book(TAPERED).asks == ()
    assert exchange.post_count() == 50


async def test_concurrent_amends_of_one_order_apply_one_at_a_time(
    server: RunningServer, exchange: Exchange, alice_key: TestKey
) -> None:
    exchange.write_bucket_size = 10_000.0
    order_id = exchange.place_order("alice", MARKET, "bid", "0.40", "10", client_order_id="c-0")
    bodies = [
        {
            "ticker": MARKET,
            "side": "bid",
            "price": "0.40",
            "count": str(n),
            "updated_client_order_id": f"c-{n}",
        }
        for n in range(1, 51)
    ]
    async with httpx.AsyncClient(timeout=10.0, verify=trusting(server)) as client:
        responses = await asyncio.gather(*(amend(client, server, alice_key, order_id, b) for b in bodies))

    assert [r.status_code for r in responses] == [200] * 50
    # The order ends as exactly one of the requests left it, never a mixture.
    order = exchange.order(order_id)
    count_for = {f"c-{n}": D(n) for n in range(1, 51)}
    assert order.client_order_id is not None
    assert order.count == count_for[order.client_order_id]
    for payload in (r.json() for r in responses):
        # Each amend saw a whole order: it rests exactly the size it asked for (no fills).
        if "remaining_count" in payload:
            assert D(payload["remaining_count"]) == count_for[payload["client_order_id"]]
    assert len(exchange.book(MARKET).bids) == 1
