"""The generic call path: any generated operation through make_client, parsed or classified.

Reads are safe (never "may have been applied", retried a bounded number of times);
writes are never retried; whatever fails before a byte leaves is bad input, not unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from kalshi_trade_api.api.orders import amend_order_v2, get_order
from kalshi_trade_api.models import GetOrderResponse, Order, OrderStatus

from auth_hooks import (
    KalshiAuth,
    KalshiConfigError,
    OrderNotFound,
    OutcomeUnknown,
    ReadFailed,
    amend_order,
    call,
    call_async,
    call_detailed,
    make_client,
)
from tests.support import faulty_server as fs
from tests.support.faulty_server import FaultyServer

from .helpers import MODES, amend, body

ORDER: dict[str, Any] = {
    "order_id": "ord-1",
    "user_id": "user-1",
    "client_order_id": "c-1",
    "ticker": "HIGHNY-24JAN01-T60",
    "outcome_side": "yes",
    "book_side": "bid",
    "type": "limit",
    "status": "resting",
    "yes_price_dollars": "0.5600",
    "no_price_dollars": "0.4400",
    "fill_count_fp": "0.00",
    "remaining_count_fp": "10.00",
    "initial_count_fp": "10.00",
    "taker_fill_cost_dollars": "0.000000",
    "maker_fill_cost_dollars": "0.000000",
    "taker_fees_dollars": "0.000000",
    "maker_fees_dollars": "0.000000",
}


def order_reply(**changes: Any) -> fs.Behaviour:
    return fs.reply(200, json.dumps({"order": {**ORDER, **changes}}).encode())


def test_get_order_is_parsed_into_its_generated_model(ed_auth: KalshiAuth) -> None:
    with FaultyServer(order_reply()) as server, make_client(ed_auth, base_url=server.base_url) as client:
        answer = call_detailed(get_order.sync_detailed, "ord-1", client=client)
        [request] = server.requests
    assert isinstance(answer.parsed, GetOrderResponse)
    assert isinstance(answer.parsed.order, Order)
    assert answer.parsed.order.status is OrderStatus.RESTING
    assert json.loads(answer.content) == {"order": ORDER}
    # A signed GET of the path the spec names.
    assert request.method == "GET"
    assert request.target == "/trade-api/v2/portfolio/orders/ord-1"
    assert {"kalshi-access-key", "kalshi-access-signature", "kalshi-access-timestamp"} <= set(request.headers)


def test_the_async_twin_takes_the_generated_asyncio_function(ed_auth: KalshiAuth) -> None:
    async def run(base_url: str) -> GetOrderResponse:
        client = make_client(ed_auth, base_url=base_url)
        try:
            return await call_async(get_order.asyncio_detailed, "ord-1", client=client)
        finally:
            await client.aclose()

    with FaultyServer(order_reply()) as server:
        assert asyncio.run(run(server.base_url)).order.order_id == "ord-1"


def test_an_unknown_order_is_a_rejected_404(ed_auth: KalshiAuth) -> None:
    reply = fs.reply(404, b'{"error": {"code": "not_found", "message": "order not found"}}')
    with FaultyServer(reply) as server, make_client(ed_auth, base_url=server.base_url) as client:
        with pytest.raises(OrderNotFound) as caught:
            call(get_order.sync_detailed, "nope", client=client)
        assert len(server.requests) == 1  # a 4xx is an answer: not retried
    assert caught.value.code == "not_found"


@pytest.mark.parametrize(
    "failure",
    [
        lambda: fs.reply(500, b'{"error": {"code": "internal_server_error", "message": "x"}}'),
        lambda: fs.reply(503, b"<html>busy</html>"),
        fs.reset,
        fs.close,
        lambda: fs.reply(200, b'{"order": {"order_id": "ord-1"}}'),
    ],
)
def test_a_read_is_retried_after_a_failure_and_then_succeeds(ed_auth: KalshiAuth, failure: Any) -> None:
    with (
        FaultyServer([failure(), order_reply()]) as server,
        make_client(ed_auth, base_url=server.base_url) as client,
    ):
        assert call(get_order.sync_detailed, "ord-1", client=client).order.order_id == "ord-1"
        assert len(server.requests) == 2


def test_a_read_that_keeps_failing_is_read_failed_never_maybe_applied(ed_auth: KalshiAuth) -> None:
    reply = fs.reply(500, b'{"error": {"code": "internal_server_error", "message": "x"}}')
    with FaultyServer(reply) as server, make_client(ed_auth, base_url=server.base_url) as client:
        with pytest.raises(ReadFailed) as caught:
            call(get_order.sync_detailed, "ord-1", client=client)
        assert len(server.requests) == 3  # bounded
    assert "may have been applied" not in str(caught.value)
    assert "after 3 attempts" in str(caught.value)
    assert not isinstance(caught.value, OutcomeUnknown)


def test_a_write_is_never_retried(ed_auth: KalshiAuth) -> None:
    reply = fs.reply(500, b'{"error": {"code": "internal_server_error", "message": "x"}}')
    with FaultyServer(reply) as server, make_client(ed_auth, base_url=server.base_url) as client:
        with pytest.raises(OutcomeUnknown) as caught:
            call(amend_order_v2.sync_detailed, "ord-1", client=client, body=body())
        assert server.posts == 1
    assert "may have been applied" in str(caught.value)


def test_only_generated_operations_are_accepted(ed_auth: KalshiAuth) -> None:
    with (
        make_client(ed_auth, base_url="http://127.0.0.1:9/trade-api/v2") as client,
        pytest.raises(KalshiConfigError, match="not a generated operation"),
    ):
        call(print, "x", client=client)  # type: ignore[arg-type]


# -- found before sending: bad input, never "maybe applied" --------------------------


@pytest.mark.parametrize(
    ("order_id", "changes", "subaccount", "message"),
    [
        ("ord-1", {"side": "yes"}, None, "side must be one of "),
        ("ord-1", {"side": None}, None, "side must be one of "),
        ("ord-1", {"count": "0"}, None, "count must be"),
        ("ord-1", {"count": "0.00"}, None, "count must be"),
        ("ord-1", {"price": "00000.56"}, None, "price must be"),
        ("ord-1", {"price": "1.00"}, None, "price must be"),
        ("ord-1", {"price": 0.56}, None, "price must be"),
        ("ord-1", {}, True, "subaccount"),
        ("ord-1", {}, -1, "subaccount"),
        ("ord-1", {}, 64, "subaccount"),
        ("ord-1", {}, "1", "subaccount"),
        ("ord-1", {}, 1.5, "subaccount"),
        ("ord-1", {}, 10**30, "subaccount"),
        ("x" * 100_000, {}, None, "order_id is 100000 characters"),
        ("..", {}, None, "order_id must be"),
        ("ord-1", {"expiration_time": -5}, None, "expiration_time must be"),
        ("ord-1", {"expiration_time": True}, None, "expiration_time must be"),
        ("ord-1", {"expiration_time": 1.5}, None, "expiration_time must be"),
        (
            "ord-1",
            {"client_order_id": "c-1", "updated_client_order_id": "c-1"},
            None,
            "current client_order_id",
        ),
    ],
)
def test_bad_amend_input_is_refused_before_anything_is_sent(
    ed_auth: KalshiAuth, order_id: str, changes: dict[str, Any], subaccount: Any, message: str
) -> None:
    extra = {} if subaccount is None else {"subaccount": subaccount}
    with (
        FaultyServer(fs.reply(200, b"{}")) as server,
        make_client(ed_auth, base_url=server.base_url) as client,
    ):
        with pytest.raises(KalshiConfigError, match=message) as caught:
            amend_order(client, order_id, body(**changes), **extra)
        assert server.requests == []
    assert len(str(caught.value).splitlines()) == 1


def test_a_body_json_cannot_encode_is_refused_before_sending(ed_auth: KalshiAuth) -> None:
    request = body()
    request.additional_properties["limit"] = Decimal("0.5")
    with (
        FaultyServer(fs.reply(200, b"{}")) as server,
        make_client(ed_auth, base_url=server.base_url) as client,
    ):
        with pytest.raises(KalshiConfigError, match="cannot be encoded"):
            amend_order(client, "ord-1", request)
        assert server.requests == []


def test_a_plain_string_side_equal_to_a_valid_value_is_sent(ed_auth: KalshiAuth) -> None:
    ok = fs.reply(200, b'{"order_id": "ord-1", "ts_ms": 1}')
    with FaultyServer(ok) as server, make_client(ed_auth, base_url=server.base_url) as client:
        assert amend_order(client, "ord-1", body(side="ask")).order_id == "ord-1"
        [request] = server.requests
    assert json.loads(request.body)["side"] == "ask"


def test_a_url_too_long_for_any_server_is_refused_before_sending(ed_auth: KalshiAuth) -> None:
    with FaultyServer(order_reply()) as server, make_client(ed_auth, base_url=server.base_url) as client:
        with pytest.raises(KalshiConfigError, match="URL"):
            call(get_order.sync_detailed, "x" * 100_000, client=client)
        assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", [fs.reset, fs.close, lambda: fs.partial_body(200, b"x" * 500, sent=10)])
def test_no_signature_is_reachable_from_an_outcome(ed_auth: KalshiAuth, mode: str, fault: Any) -> None:
    # httpx attaches the request (its headers hold the signature) to its exceptions; the
    # outcome keeps the transport error as its cause, without the headers.
    with FaultyServer(fault()) as server:
        with pytest.raises(OutcomeUnknown) as caught:
            amend(mode, ed_auth, server.base_url)
        signature = server.requests[0].headers["kalshi-access-signature"]
    pending: list[BaseException] = [caught.value]
    while pending:
        exc = pending.pop()
        assert signature not in f"{exc!r} {exc} {vars(exc)!r}"
        if isinstance(exc, httpx.HTTPError):
            with contextlib.suppress(RuntimeError):
                assert "kalshi-access-signature" not in exc.request.headers
        pending.extend(e for e in (exc.__cause__, exc.__context__) if e is not None)
