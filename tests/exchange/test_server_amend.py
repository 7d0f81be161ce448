"""Amend Order (V2) over real HTTP: response bodies, every error status and shape, the
token bucket, fault injection and the admin views."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from local_exchange import Exchange

from .conftest import MARKET, TAPERED
from .support import T0, AmendApi, FakeClock, TestKey, amend_path, error_code

T0_MS = int(T0 * 1000)


def body(price: object = "0.50", count: object = "9", **extra: Any) -> dict[str, Any]:
    """An amend body for alice's bid; price and count may be anything, to test refusals."""
    return {"ticker": MARKET, "side": "bid", "price": price, "count": count, **extra}


@pytest.fixture
def order_id(exchange: Exchange) -> str:
    """alice's bid: 10 at 0.40, client order id "alice-1"."""
    return exchange.place_order("alice", MARKET, "bid", "0.40", "10", client_order_id="alice-1")


# -- 200 -----------------------------------------------------------------------------


def test_a_crossing_amend_returns_fills_and_fees(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    exchange.place_order("carol", MARKET, "ask", "0.51", "2")
    exchange.place_order("bob", MARKET, "ask", "0.52", "7")
    response = api.amend(order_id, body("0.53", "10"), key=alice_key)
    assert response.status_code == 200
    assert response.json() == {
        "order_id": order_id,
        "ts_ms": T0_MS,
        "client_order_id": "alice-1",
        "remaining_count": "1.00",
        "fill_count": "9.00",
        "average_fill_price": "0.517778",  # (2 x 0.51 + 7 x 0.52) / 9
        "average_fee_paid": "0.017489",  # (0.0350 + 0.1274) / 9: fees rounded up per trade
    }


def test_a_size_change_reports_counts_only(api: AmendApi, order_id: str, alice_key: TestKey) -> None:
    response = api.amend(order_id, body("0.40", "8", updated_client_order_id="alice-2"), key=alice_key)
    assert response.json() == {
        "order_id": order_id,
        "ts_ms": T0_MS,
        "client_order_id": "alice-2",
        "remaining_count": "8.00",
        "fill_count": "0.00",
    }


def test_an_expiry_only_amend_reports_nothing_else(
    api: AmendApi, exchange: Exchange, alice_key: TestKey
) -> None:
    plain = exchange.place_order("alice", MARKET, "bid", "0.40", "10")
    response = api.amend(plain, body("0.40", "10", expiration_time=int(T0) + 60), key=alice_key)
    # Only the client order id, which every order has (made up when placed without one).
    made_up = exchange.order(plain).client_order_id
    assert response.json() == {"order_id": plain, "ts_ms": T0_MS, "client_order_id": made_up}


def test_null_for_absent_sends_nulls_instead(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    exchange.null_for_absent = True
    response = api.amend(order_id, body("0.40", "10", expiration_time=0), key=alice_key)
    assert response.json() == {
        "order_id": order_id,
        "ts_ms": T0_MS,
        "client_order_id": "alice-1",
        "remaining_count": None,
        "fill_count": None,
        "average_fill_price": None,
        "average_fee_paid": None,
    }


# -- 400 -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"price": NaN}', b"\xff"])
def test_undecodable_json_gets_kalshis_flat_shape(
    api: AmendApi, order_id: str, alice_key: TestKey, raw: bytes
) -> None:
    response = api.amend(order_id, raw, key=alice_key)
    assert response.status_code == 400
    payload = response.json()
    assert set(payload) == {"code", "message"}
    assert payload["code"] == "bad_request"


@pytest.mark.parametrize("field", ["expiration_time", "exchange_index"])
def test_an_integer_with_a_point_is_a_decode_error_like_kalshis_go_decoder(
    api: AmendApi, order_id: str, alice_key: TestKey, field: str
) -> None:
    # JSON Schema would accept 0.0 as an integer; Kalshi cannot decode it into an int64.
    raw = json.dumps(body()).removesuffix("}") + f', "{field}": {int(T0) + 60}.0}}'
    response = api.amend(order_id, raw.encode(), key=alice_key)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert field in response.json()["message"]


@pytest.mark.parametrize(
    ("request_body", "mentions"),
    [
        (body(price=0.5), "price"),  # a JSON number: the real API refuses these too
        (body(count=9), "count"),
        (body(price="0.5"), "price"),  # one decimal: FixedPointDollars allows it, the request does not
        (body(price="0.56789"), "price"),
        (body(price="-0.50"), "price"),
        (body(count="1.234"), "count"),
        (body(count="-1"), "count"),
        (body(side="yes"), "yes"),
        (body(expiration_time=-1), "minimum"),
        ({"side": "bid", "price": "0.50", "count": "9"}, "ticker"),
        ([], "object"),
    ],
)
def test_schema_violations_get_invalid_parameters(
    api: AmendApi, order_id: str, alice_key: TestKey, request_body: Any, mentions: str
) -> None:
    response = api.amend(order_id, json.dumps(request_body).encode(), key=alice_key)
    assert response.status_code == 400
    assert error_code(response) == "invalid_parameters"
    assert mentions in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "subaccount", ["64", "-1", "abc", "1_0", " 1", "\u0663"]
)  # int() takes the last three
def test_a_bad_subaccount_gets_the_bare_msg_shape(
    api: AmendApi, order_id: str, alice_key: TestKey, subaccount: str
) -> None:
    response = api.amend(order_id, body(), key=alice_key, subaccount=subaccount)
    assert response.status_code == 400
    payload = response.json()
    assert list(payload) == ["msg"]
    assert "subaccount" in payload["msg"]


@pytest.mark.parametrize(
    ("request_body", "mentions"),
    [
        (body(price="0.565"), "grid"),
        (body(price="1.00"), "between 0 and 1"),
        (body(price="0.00"), "between 0 and 1"),
        (body(ticker=TAPERED), "market"),
        (body(side="ask"), "side"),
        (body(client_order_id="someone-else"), "client_order_id"),
        (body(exchange_index=2), "exchange_index"),
        (body(expiration_time=int(T0)), "future"),
    ],
)
def test_semantic_errors_get_invalid_parameters(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey, request_body: Any, mentions: str
) -> None:
    response = api.amend(order_id, request_body, key=alice_key)
    assert response.status_code == 400
    assert error_code(response) == "invalid_parameters"
    assert mentions in response.json()["error"]["message"]
    assert exchange.order(order_id).count == 10  # a 4xx changes nothing


def test_count_below_filled(api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey) -> None:
    exchange.place_order("bob", MARKET, "ask", "0.40", "4")  # fills 4 of alice's 10
    response = api.amend(order_id, body("0.40", "3"), key=alice_key)
    assert response.status_code == 400
    assert "below the filled count" in response.json()["error"]["message"]
    assert api.amend(order_id, body("0.40", "4"), key=alice_key).json()["remaining_count"] == "0.00"


def test_self_trade(api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey) -> None:
    exchange.place_order("alice", MARKET, "ask", "0.45", "1")
    response = api.amend(order_id, body("0.45", "10"), key=alice_key)
    assert response.status_code == 400
    assert error_code(response) == "self_trade"


@pytest.mark.parametrize("index", [0, -1])
def test_accepted_exchange_indexes(api: AmendApi, order_id: str, alice_key: TestKey, index: int) -> None:
    assert api.amend(order_id, body(exchange_index=index), key=alice_key).status_code == 200


# -- 404, 409, 503 -------------------------------------------------------------------


def test_not_found_cases(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey, bob_key: TestKey, clock: FakeClock
) -> None:
    in_subaccount = exchange.place_order("alice", MARKET, "bid", "0.30", "10", subaccount=5)
    expiring = exchange.place_order("alice", MARKET, "bid", "0.31", "10", expiration_time=int(T0) + 1)
    cancelled = exchange.place_order("alice", MARKET, "bid", "0.32", "10")
    exchange.cancel_order(cancelled)
    clock.advance(1)
    cases = [
        api.amend("no-such-order", body(), key=alice_key),
        api.amend(order_id, body(), key=bob_key),  # someone else's order
        api.amend(order_id, body(), key=alice_key, subaccount=5),
        api.amend(in_subaccount, body("0.30"), key=alice_key),  # subaccount 0 by default
        api.amend(expiring, body("0.31"), key=alice_key),
        api.amend(cancelled, body("0.32"), key=alice_key),
    ]
    for response in cases:
        assert response.status_code == 404
        assert error_code(response) == "not_found"
    assert api.amend(in_subaccount, body("0.30"), key=alice_key, subaccount=5).status_code == 200


def test_an_executed_order_is_gone(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    exchange.place_order("bob", MARKET, "ask", "0.40", "10")
    assert api.amend(order_id, body("0.40", "10"), key=alice_key).status_code == 404


def test_a_used_client_order_id_conflicts(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    exchange.place_order("alice", MARKET, "bid", "0.30", "1", client_order_id="alice-other")
    for used in ("alice-other", "alice-1"):
        response = api.amend(order_id, body(updated_client_order_id=used), key=alice_key)
        assert response.status_code == 409
        assert error_code(response) == "order_already_exists"
    # A retry of an amend that went through is told so, rather than applied twice.
    assert api.amend(order_id, body(updated_client_order_id="alice-2"), key=alice_key).status_code == 200
    assert api.amend(order_id, body(updated_client_order_id="alice-2"), key=alice_key).status_code == 409


def test_a_paused_market(api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey) -> None:
    exchange.set_market_paused(MARKET)
    response = api.amend(order_id, body(), key=alice_key)
    assert response.status_code == 503
    assert error_code(response) == "market_paused"


# -- 429 -----------------------------------------------------------------------------


def test_the_write_bucket(
    api: AmendApi, exchange: Exchange, clock: FakeClock, alice_key: TestKey, bob_key: TestKey
) -> None:
    # Basic tier: 200 tokens, 10 per amend, so 20 amends (whatever their outcome) pass.
    statuses = [api.amend("no-such-order", body(), key=alice_key).status_code for _ in range(21)]
    assert statuses == [404] * 20 + [429]
    limited = api.amend("no-such-order", body(), key=alice_key)
    assert limited.status_code == 429
    assert limited.json() == {"error": "too many requests"}
    assert "retry-after" not in limited.headers
    # Per account: bob is unaffected. Refill: 100 tokens/s, so 0.1 s buys one amend.
    assert api.amend("no-such-order", body(), key=bob_key).status_code == 404
    clock.advance(0.1)
    assert api.amend("no-such-order", body(), key=alice_key).status_code == 404
    assert api.amend("no-such-order", body(), key=alice_key).status_code == 429


def test_unauthenticated_requests_cost_no_tokens(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    exchange.write_bucket_size = 10.0
    for _ in range(3):
        assert api.amend(order_id, body(), key=alice_key, ts_ms=0).status_code == 401
    assert api.amend(order_id, body(), key=alice_key).status_code == 200


# -- faults --------------------------------------------------------------------------


def test_an_injected_500_before_applying(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    exchange.fail_next(status=500)
    response = api.amend(order_id, body(count="5"), key=alice_key)
    assert response.status_code == 500
    assert error_code(response) == "internal_server_error"
    assert exchange.order(order_id).count == 10
    assert api.amend(order_id, body(count="5"), key=alice_key).status_code == 200


def test_an_injected_503_after_applying(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    exchange.fail_next(status=503, applied=True)
    response = api.amend(order_id, body(count="5"), key=alice_key)
    assert response.status_code == 503
    assert error_code(response) == "service_unavailable"
    assert exchange.order(order_id).count == 5  # the outcome was unknown to the client
    assert exchange.post_count(amend_path(order_id)) == 1


def test_a_slow_response_times_out_after_the_amend_was_applied(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    exchange.response_delay_s = 0.3  # real time: the client's timeout is what is tested
    with pytest.raises(httpx.ReadTimeout):
        api.amend(order_id, body(count="6"), key=alice_key, timeout=0.1)
    assert exchange.order(order_id).count == 6


# -- routes outside the endpoint -----------------------------------------------------


def test_admin_views(api: AmendApi, exchange: Exchange, order_id: str) -> None:
    book = api.client.get(f"{api.server.root_url}/_admin/book/{MARKET}").json()
    assert [o["order_id"] for o in book["bids"]] == [order_id]
    assert book["bids"][0]["price"] == "0.400000"
    assert book["bids"][0]["remaining_count"] == "10.00"
    order = api.client.get(f"{api.server.root_url}/_admin/orders/{order_id}").json()
    assert order["status"] == "resting"
    missing = api.client.get(f"{api.server.root_url}/_admin/orders/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_unknown_routes_and_methods(api: AmendApi, order_id: str) -> None:
    unknown = api.client.post(api.server.root_url + "/trade-api/v2/portfolio/orders")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    wrong_method = api.client.put(api.server.root_url + amend_path(order_id))
    assert wrong_method.status_code == 405
    for method in ("HEAD", "PUT", "POST", "DELETE"):  # Get Order's path serves GET only
        url = f"{api.server.root_url}/trade-api/v2/portfolio/orders/{order_id}"
        assert api.client.request(method, url).status_code == 405


# -- fields the exchange does not model ----------------------------------------------


@pytest.mark.parametrize("extra", [{"post_only": True}, {"reduce_only": False, "ticker_2": "x"}])
def test_a_field_the_exchange_does_not_model_is_refused_not_ignored(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey, extra: dict[str, Any]
) -> None:
    # A crossing amend: had post_only been ignored, it would have taken liquidity.
    exchange.place_order("bob", MARKET, "ask", "0.45", "10")
    exchange.fail_next(status=503, applied=True)  # must not be used up by a refused request
    response = api.amend(order_id, body("0.45", "10", **extra), key=alice_key)
    assert response.status_code == 400
    assert error_code(response) == "invalid_parameters"
    assert sorted(extra)[0] in response.json()["error"]["message"]
    assert exchange.fills() == []
    assert exchange.applied_amends() == []
    assert exchange.take_fault() is not None
