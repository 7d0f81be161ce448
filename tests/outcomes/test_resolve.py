"""Resolving an amend whose outcome is unknown: the order is read back and judged.

Against the local exchange (which applies an amend and then answers 5xx when told to)
and, for the judgement itself, against orders built by hand.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from kalshi_trade_api.models import AmendOrderV2Request, BookSide, GetOrderResponse

from auth_hooks import (
    AmendNotApplied,
    AmendResolution,
    KalshiAuth,
    KalshiClient,
    KalshiConfigError,
    NotSent,
    OrderClosed,
    OutcomeUnknown,
    Resolution,
    ResolvedAmend,
    amend_order,
    amend_order_async,
    make_client,
    resolve_amend,
    resolve_amend_async,
)
from auth_hooks.call import Answer
from auth_hooks.resolve import judge
from local_exchange import Exchange, RunningServer, serve
from tests.support import faulty_server as fs
from tests.support.faulty_server import FaultyServer, closed_port

from .conftest import KEY_ID

MARKET = "KXRESOLVE-26DEC-T1"


@pytest.fixture
def exchange(ed_auth: KalshiAuth) -> Exchange:
    exchange = Exchange()
    exchange.add_market(MARKET)
    exchange.add_account(KEY_ID, ed_auth.key.public_key_pem(), account="me")
    return exchange


@pytest.fixture
def server(exchange: Exchange) -> Iterator[RunningServer]:
    # Over TLS, as the real exchange is: make_client trusts its throwaway CA.
    with serve(exchange, tls=True) as running:
        yield running
    assert exchange.server_errors == []


def client_for(server: RunningServer, auth: KalshiAuth) -> KalshiClient:
    assert server.ca_path is not None
    return make_client(auth, base_url=server.base_url, verify=server.ca_path)


def place(exchange: Exchange) -> str:
    return exchange.place_order("me", MARKET, "bid", "0.40", "10", client_order_id=str(uuid.uuid4()))


def request(**changes: Any) -> AmendOrderV2Request:
    fields: dict[str, Any] = {"ticker": MARKET, "side": BookSide.BID, "price": "0.4500", "count": "12.00"}
    fields.update(changes)
    return AmendOrderV2Request(**fields)


def unknown_amend(
    server: RunningServer, auth: KalshiAuth, order_id: str, body: AmendOrderV2Request
) -> OutcomeUnknown:
    with client_for(server, auth) as client, pytest.raises(OutcomeUnknown) as caught:
        amend_order(client, order_id, body)
    return caught.value


# -- through amend_order(..., resolve=True) ---------------------------------------------


def test_an_applied_amend_answered_500_resolves_to_applied_with_a_generated_client_id(
    server: RunningServer, exchange: Exchange, ed_auth: KalshiAuth
) -> None:
    order_id = place(exchange)
    exchange.fail_next(status=500, applied=True)
    with client_for(server, ed_auth) as client:
        result = amend_order(client, order_id, request(), resolve=True)
    assert isinstance(result, ResolvedAmend)
    assert result.resolution.kind is Resolution.APPLIED
    # The client made an id up, sent it, and reports it: the order carries it now.
    generated = result.updated_client_order_id
    assert generated is not None
    assert str(uuid.UUID(generated)) == generated
    assert exchange.order(order_id).client_order_id == generated
    order = result.resolution.order
    assert order is not None
    assert order.client_order_id == generated
    assert order.yes_price_dollars.startswith("0.45")
    assert GetOrderResponse.from_dict(json.loads(result.resolution.content or b"")).order == order
    assert exchange.post_count() == 1  # never sent again


def test_a_refused_amend_answered_503_is_not_applied_as_of_the_read(
    server: RunningServer, exchange: Exchange, ed_auth: KalshiAuth
) -> None:
    order_id = place(exchange)
    exchange.fail_next(status=503, applied=False)
    before = datetime.now(UTC)
    with client_for(server, ed_auth) as client, pytest.raises(AmendNotApplied) as caught:
        amend_order(client, order_id, request(updated_client_order_id="mine-1"), resolve=True)
    resolution = caught.value.resolution
    assert resolution.kind is Resolution.NOT_APPLIED_WHEN_READ
    assert resolution.read_at is not None and resolution.read_at >= before
    assert resolution.order.client_order_id != "mine-1"
    assert caught.value.updated_client_order_id == "mine-1"
    assert "as of the read" in str(caught.value)
    assert exchange.post_count() == 1


def test_without_resolve_an_unknown_outcome_carries_what_was_asked(
    server: RunningServer, exchange: Exchange, ed_auth: KalshiAuth
) -> None:
    order_id = place(exchange)
    exchange.fail_next(status=500, applied=False)
    outcome = unknown_amend(server, ed_auth, order_id, request())
    assert outcome.order_id == order_id
    assert isinstance(outcome.request_body, AmendOrderV2Request)
    assert outcome.request_body.price == "0.4500"


def test_a_canceled_order_resolves_to_closed(
    server: RunningServer, exchange: Exchange, ed_auth: KalshiAuth
) -> None:
    order_id = place(exchange)
    exchange.fail_next(status=500, applied=False)
    outcome = unknown_amend(server, ed_auth, order_id, request())
    exchange.cancel_order(order_id)
    with client_for(server, ed_auth) as client:
        resolution = resolve_amend(client, outcome)
    assert resolution.kind is Resolution.ORDER_CLOSED
    assert resolution.order is not None and resolution.order.status.value == "canceled"


def test_resolve_true_raises_order_closed_for_an_executed_order(
    server: RunningServer, exchange: Exchange, ed_auth: KalshiAuth
) -> None:
    # The amend (no client id of its own, resolve=True gives it one) is refused with 503;
    # the order is then filled in full by another trader before the read.
    order_id = place(exchange)
    exchange.open_account("other")
    exchange.fail_next(status=503, applied=False)
    with client_for(server, ed_auth) as client:
        outcome = None
        try:
            amend_order(client, order_id, request())
        except OutcomeUnknown as exc:
            outcome = exc
        assert outcome is not None
        exchange.place_order("other", MARKET, "ask", "0.40", "10")  # fills the order in full
        resolution = resolve_amend(client, outcome)
    assert resolution.kind is Resolution.ORDER_CLOSED
    assert resolution.order is not None and resolution.order.status.value == "executed"


def test_a_failed_read_leaves_it_unknown(
    server: RunningServer, exchange: Exchange, ed_auth: KalshiAuth
) -> None:
    order_id = place(exchange)
    exchange.fail_next(status=500, applied=True)
    outcome = unknown_amend(server, ed_auth, order_id, request())
    dead = f"http://127.0.0.1:{closed_port()}/trade-api/v2"
    with make_client(ed_auth, base_url=dead, connect_retries=0) as client:
        resolution = resolve_amend(client, outcome, deadline_s=2.0)
    assert resolution.kind is Resolution.STILL_UNKNOWN
    assert resolution.order is None and resolution.content is None
    assert isinstance(resolution.read_error, NotSent)


def test_resolve_true_reraises_outcome_unknown_when_the_read_fails(
    exchange: Exchange, ed_auth: KalshiAuth
) -> None:
    # The exchange answers the amend 500 (applied), then is gone before the read.
    order_id = place(exchange)
    exchange.fail_next(status=500, applied=True)

    def exchange_gone_for_reads(request: httpx.Request) -> None:
        if request.method == "GET":
            raise httpx.ConnectError("exchange gone", request=request)

    with serve(exchange, tls=True) as server, client_for(server, ed_auth) as client:
        client.get_httpx_client().event_hooks["request"].append(exchange_gone_for_reads)
        with pytest.raises(OutcomeUnknown) as caught:
            amend_order(client, order_id, request(), resolve=True)
    assert caught.value.resolution.kind is Resolution.STILL_UNKNOWN
    assert "reading the order back failed too" in str(caught.value)
    assert exchange.post_count() == 1


def test_the_async_twins_resolve_the_same_way(
    server: RunningServer, exchange: Exchange, ed_auth: KalshiAuth
) -> None:
    applied_id, refused_id = place(exchange), place(exchange)

    async def run() -> tuple[object, BaseException]:
        client = client_for(server, ed_auth)
        try:
            exchange.fail_next(status=500, applied=True)
            applied = await amend_order_async(client, applied_id, request(), resolve=True)
            exchange.fail_next(status=503, applied=False)
            try:
                await amend_order_async(client, refused_id, request(), resolve=True)
            except AmendNotApplied as exc:
                return applied, exc
            raise AssertionError("not resolved")
        finally:
            await client.aclose()

    applied, refused = asyncio.run(run())
    assert isinstance(applied, ResolvedAmend) and applied.resolution.kind is Resolution.APPLIED
    assert isinstance(refused, AmendNotApplied)


def test_resolve_amend_async(server: RunningServer, exchange: Exchange, ed_auth: KalshiAuth) -> None:
    order_id = place(exchange)
    exchange.fail_next(status=500, applied=True)
    outcome = unknown_amend(server, ed_auth, order_id, request(updated_client_order_id="async-1"))

    async def run() -> Resolution:
        client = client_for(server, ed_auth)
        try:
            return (await resolve_amend_async(client, outcome)).kind
        finally:
            await client.aclose()

    assert asyncio.run(run()) is Resolution.APPLIED


def test_resolve_amend_needs_an_amend_outcome(ed_auth: KalshiAuth) -> None:
    with make_client(ed_auth, base_url="http://127.0.0.1:9/trade-api/v2") as client:
        with pytest.raises(KalshiConfigError):
            resolve_amend(client, OutcomeUnknown("from somewhere else"))
        with pytest.raises(KalshiConfigError):
            resolve_amend(client, OutcomeUnknown("no body", order_id="x"))


# -- the judgement, on orders built by hand ---------------------------------------------

ORDER: dict[str, Any] = {
    "order_id": "ord-1",
    "user_id": "u",
    "client_order_id": "old",
    "ticker": MARKET,
    "outcome_side": "yes",
    "book_side": "bid",
    "type": "limit",
    "status": "resting",
    "yes_price_dollars": "0.450000",
    "no_price_dollars": "0.550000",
    "fill_count_fp": "4.00",
    "remaining_count_fp": "8.00",
    "initial_count_fp": "10.00",
    "taker_fill_cost_dollars": "0.000000",
    "maker_fill_cost_dollars": "0.000000",
    "taker_fees_dollars": "0.000000",
    "maker_fees_dollars": "0.000000",
}


@pytest.mark.parametrize(
    ("order", "asked", "expected"),
    [
        ({"client_order_id": "new"}, {"updated_client_order_id": "new"}, Resolution.APPLIED),
        # The order carried that id before (the amend was refused, 409): its state tells.
        (
            {"client_order_id": "new", "yes_price_dollars": "0.400000"},
            {"updated_client_order_id": "new"},
            Resolution.NOT_APPLIED_WHEN_READ,
        ),
        (
            {"client_order_id": "new", "status": "executed"},
            {"updated_client_order_id": "new"},
            Resolution.APPLIED,
        ),
        ({}, {"updated_client_order_id": "new"}, Resolution.NOT_APPLIED_WHEN_READ),
        ({"status": "canceled"}, {"updated_client_order_id": "new"}, Resolution.ORDER_CLOSED),
        # Without a client id of its own: price and total (fill + remaining) must match.
        ({}, {}, Resolution.APPLIED),
        ({"fill_count_fp": "12.00", "remaining_count_fp": "0.00"}, {}, Resolution.APPLIED),
        ({"yes_price_dollars": "0.440000"}, {}, Resolution.NOT_APPLIED_WHEN_READ),
        ({"remaining_count_fp": "6.00"}, {}, Resolution.NOT_APPLIED_WHEN_READ),
        ({"status": "executed"}, {}, Resolution.ORDER_CLOSED),
        # An expiry asked for must be the order's too.
        ({"expiration_time": "2030-01-01T00:00:00Z"}, {"expiration_time": 1893456000}, Resolution.APPLIED),
        ({}, {"expiration_time": 1893456000}, Resolution.NOT_APPLIED_WHEN_READ),
        (
            {"expiration_time": "2030-01-01T00:00:00Z"},
            {"expiration_time": 0},
            Resolution.NOT_APPLIED_WHEN_READ,
        ),
    ],
)
def test_judge(order: dict[str, Any], asked: dict[str, Any], expected: Resolution) -> None:
    parsed = GetOrderResponse.from_dict({"order": {**ORDER, **order}})
    answer = Answer(200, b"{}", httpx.Headers(), parsed)
    resolution = judge("ord-1", request(**asked), answer)
    assert resolution.kind is expected
    assert resolution.order is parsed.order


def test_no_reads_of_a_closed_port_hang(ed_auth: KalshiAuth) -> None:
    # The deadline bounds the whole resolution, retries included.
    outcome = OutcomeUnknown("x", order_id="ord-1")
    outcome.request_body = request()
    dead = f"http://127.0.0.1:{closed_port()}/trade-api/v2"
    with make_client(ed_auth, base_url=dead, connect_retries=0) as client:
        assert resolve_amend(client, outcome, deadline_s=1.0).kind is Resolution.STILL_UNKNOWN


def test_order_closed_and_not_applied_are_outcomes_not_unknown() -> None:
    assert not issubclass(AmendNotApplied, OutcomeUnknown)
    assert not issubclass(OrderClosed, OutcomeUnknown)


@pytest.mark.parametrize("mode", ["sync", "async", "aiohttp", "httpx-async"])
def test_one_deadline_bounds_the_whole_resolution_even_a_read_in_flight(
    ed_auth: KalshiAuth, mode: str
) -> None:
    # The exchange never answers the read; the client's own deadline would be 13 s.
    outcome = OutcomeUnknown("x", order_id="ord-1")
    outcome.request_body = request()
    with FaultyServer(fs.stall(30.0)) as server:
        started = time.monotonic()
        if mode == "sync":
            with make_client(ed_auth, base_url=server.base_url) as client:
                resolution = resolve_amend(client, outcome, deadline_s=1.0)
        else:

            async def run() -> AmendResolution:
                backend = {"async": "auto", "aiohttp": "aiohttp"}.get(mode, "httpx")
                async with make_client(ed_auth, base_url=server.base_url, async_backend=backend) as client:
                    return await resolve_amend_async(client, outcome, deadline_s=1.0)

            resolution = asyncio.run(run())
        elapsed = time.monotonic() - started
    assert resolution.kind is Resolution.STILL_UNKNOWN
    assert elapsed < 8.0  # far below the 13 s one read alone would take without it


def test_a_status_that_is_neither_resting_nor_final_tells_nothing() -> None:
    # A status the spec adds later (as check-regen adds "pending") must not read as closed.
    parsed = GetOrderResponse.from_dict({"order": ORDER})
    parsed.order.status = "pending"  # type: ignore[assignment]  # an enum value this build lacks
    answer = Answer(200, b"{}", httpx.Headers(), parsed)
    assert judge("ord-1", request(), answer).kind is Resolution.STILL_UNKNOWN
    assert judge("ord-1", request(updated_client_order_id="x"), answer).kind is Resolution.STILL_UNKNOWN


def test_resolve_true_keeps_the_outcome_unknown_when_reading_back_breaks(
    server: RunningServer, exchange: Exchange, ed_auth: KalshiAuth, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id = place(exchange)
    exchange.fail_next(status=500, applied=True)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KalshiConfigError("a bug in the read-back")

    monkeypatch.setattr("auth_hooks.outcomes.resolve_amend", broken)
    with client_for(server, ed_auth) as client, pytest.raises(OutcomeUnknown) as caught:
        amend_order(client, order_id, request(), resolve=True)
    assert "reading the order back failed" in str(caught.value)
