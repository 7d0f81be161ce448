"""Get Order over real HTTP, signed: the Order object computed from the book, who may
read what, and the ground truth of applied amends."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from kalshi_trade_api.api.orders import get_order
from kalshi_trade_api.models import GetOrderResponse, OrderStatus

from auth_hooks import KalshiAuth, KalshiClient, make_client
from local_exchange import AppliedAmend, Exchange, RunningServer

from .conftest import DECI, MARKET
from .support import T0, AmendApi, FakeClock, TestKey, error_code, trusting

D = Decimal
CREATED = "2026-11-18T21:46:40.000Z"  # T0


def at(seconds_after_t0: int) -> str:
    assert 0 <= seconds_after_t0 < 20
    return f"2026-11-18T21:46:{40 + seconds_after_t0}.000Z"


def amend_body(price: str, count: str, *, ticker: str = MARKET, **extra: Any) -> dict[str, Any]:
    return {"ticker": ticker, "side": "bid", "price": price, "count": count, **extra}


def read(api: AmendApi, order_id: str, key: TestKey) -> dict[str, Any]:
    response = api.get_order(order_id, key=key)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert list(payload) == ["order"]
    order = payload["order"]
    assert isinstance(order, dict)
    return order


def test_a_resting_order_has_every_field(api: AmendApi, exchange: Exchange, alice_key: TestKey) -> None:
    order_id = exchange.place_order(
        "alice", MARKET, "bid", "0.40", "10", client_order_id="alice-1", expiration_time=int(T0) + 3600
    )
    assert read(api, order_id, alice_key) == {
        "order_id": order_id,
        "user_id": "alice",
        "client_order_id": "alice-1",
        "ticker": MARKET,
        "outcome_side": "yes",
        "book_side": "bid",
        "type": "limit",
        "status": "resting",
        "yes_price_dollars": "0.4000",
        "no_price_dollars": "0.6000",
        "fill_count_fp": "0.00",
        "remaining_count_fp": "10.00",
        "initial_count_fp": "10.00",
        "taker_fill_cost_dollars": "0.000000",
        "maker_fill_cost_dollars": "0.000000",
        "taker_fees_dollars": "0.000000",
        "maker_fees_dollars": "0.000000",
        "created_time": CREATED,
        "last_update_time": CREATED,
        "expiration_time": "2026-11-18T22:46:40.000Z",
        "subaccount_number": 0,
    }


def test_a_crossing_amend_shows_costs_and_fees_on_both_orders(
    api: AmendApi, exchange: Exchange, clock: FakeClock, alice_key: TestKey, carol_key: TestKey
) -> None:
    # DECI charges maker fees. carol's ask sells YES at 0.52, i.e. buys NO at 0.48.
    ask = exchange.place_order("carol", DECI, "ask", "0.52", "3")
    bid = exchange.place_order("alice", DECI, "bid", "0.40", "10", client_order_id="a-1")
    clock.advance(5)
    amended = api.amend(
        bid, amend_body("0.53", "10", ticker=DECI, updated_client_order_id="a-2"), key=alice_key
    )
    assert amended.status_code == 200

    taker = read(api, bid, alice_key)
    assert taker["client_order_id"] == "a-2"
    assert (taker["status"], taker["yes_price_dollars"], taker["no_price_dollars"]) == (
        "resting",
        "0.5300",
        "0.4700",
    )
    assert (taker["fill_count_fp"], taker["remaining_count_fp"], taker["initial_count_fp"]) == (
        "3.00",
        "7.00",
        "10.00",
    )
    assert taker["taker_fill_cost_dollars"] == "1.560000"  # 3 x 0.52, at the maker's price
    assert taker["taker_fees_dollars"] == "0.052500"  # 0.07 x 3 x 0.52 x 0.48 = 0.052416, rounded up
    assert (taker["maker_fill_cost_dollars"], taker["maker_fees_dollars"]) == ("0.000000", "0.000000")
    assert (taker["created_time"], taker["last_update_time"]) == (CREATED, at(5))

    maker = read(api, ask, carol_key)
    assert (maker["outcome_side"], maker["book_side"], maker["status"]) == ("no", "ask", "executed")
    assert (maker["yes_price_dollars"], maker["no_price_dollars"]) == ("0.5200", "0.4800")
    assert (maker["fill_count_fp"], maker["remaining_count_fp"], maker["initial_count_fp"]) == (
        "3.00",
        "0.00",
        "3.00",
    )
    assert maker["maker_fill_cost_dollars"] == "1.440000"  # 3 NO at 0.48
    assert maker["maker_fees_dollars"] == "0.013200"  # 0.0175 x 3 x 0.52 x 0.48 = 0.013104, rounded up
    assert maker["taker_fill_cost_dollars"] == "0.000000"
    assert maker["last_update_time"] == at(5)


def test_last_update_time_moves_on_amend_cancel_and_expiry(
    api: AmendApi, exchange: Exchange, clock: FakeClock, alice_key: TestKey
) -> None:
    amended = exchange.place_order("alice", MARKET, "bid", "0.40", "10")
    canceled = exchange.place_order("alice", MARKET, "bid", "0.39", "10")
    expiring = exchange.place_order("alice", MARKET, "bid", "0.38", "10", expiration_time=int(T0) + 4)
    clock.advance(2)
    assert api.amend(amended, amend_body("0.40", "8"), key=alice_key).status_code == 200
    clock.advance(1)
    exchange.cancel_order(canceled)
    clock.advance(7)

    after_amend = read(api, amended, alice_key)
    assert (after_amend["last_update_time"], after_amend["created_time"]) == (at(2), CREATED)
    assert (after_amend["remaining_count_fp"], after_amend["initial_count_fp"]) == ("8.00", "10.00")
    after_cancel = read(api, canceled, alice_key)
    assert (after_cancel["status"], after_cancel["remaining_count_fp"]) == ("canceled", "0.00")
    assert after_cancel["last_update_time"] == at(3)
    # Get Order has no "expired": an order that ran out reads as canceled, when it ran out.
    after_expiry = read(api, expiring, alice_key)
    assert (after_expiry["status"], after_expiry["last_update_time"]) == ("canceled", at(4))


def test_an_order_without_a_client_order_id_gets_one(
    api: AmendApi, exchange: Exchange, alice_key: TestKey
) -> None:
    first = exchange.place_order("alice", MARKET, "bid", "0.40", "10")
    second = exchange.place_order("alice", MARKET, "bid", "0.41", "10")
    ids = {read(api, first, alice_key)["client_order_id"], read(api, second, alice_key)["client_order_id"]}
    assert len(ids) == 2
    assert all(len(i) == 36 for i in ids)  # uuid4 strings


def test_any_subaccount_of_the_account_is_readable(
    api: AmendApi, exchange: Exchange, alice_key: TestKey
) -> None:
    order_id = exchange.place_order("alice", MARKET, "bid", "0.40", "10", subaccount=5)
    assert read(api, order_id, alice_key)["subaccount_number"] == 5


def test_unknown_and_other_accounts_orders_are_not_found(
    api: AmendApi, exchange: Exchange, alice_key: TestKey, bob_key: TestKey
) -> None:
    order_id = exchange.place_order("alice", MARKET, "bid", "0.40", "10")
    for response in (api.get_order("no-such-order", key=alice_key), api.get_order(order_id, key=bob_key)):
        assert response.status_code == 404
        assert error_code(response) == "not_found"
        assert set(response.json()) == {"error"}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"method_signed": "POST"}, "authentication_error"),
        ({"ts_ms": 0}, "header_timestamp_expired"),
    ],
)
def test_reads_are_signed_like_amends(
    api: AmendApi, exchange: Exchange, alice_key: TestKey, kwargs: dict[str, Any], code: str
) -> None:
    order_id = exchange.place_order("alice", MARKET, "bid", "0.40", "10")
    response = api.get_order(order_id, key=alice_key, **kwargs)
    assert response.status_code == 401
    assert error_code(response) == code
    mallory = TestKey(alice_key.key_id, ed25519.Ed25519PrivateKey.generate())  # not alice's key
    assert api.get_order(order_id, key=mallory).status_code == 401
    # The query string is not signed, as for amends.
    assert api.get_order(order_id, key=alice_key, query="?probe=1").status_code == 200


def test_reads_cost_no_write_tokens_and_read_only_keys_may_read(
    api: AmendApi, exchange: Exchange, alice_key: TestKey
) -> None:
    exchange.write_bucket_size = 0.0  # every amend of alice's is 429 now
    exchange.add_account("alice-read-only", alice_key.public_pem, account="alice", read_only=True)
    reader = TestKey("alice-read-only", alice_key.private_key)
    order_id = exchange.place_order("alice", MARKET, "bid", "0.40", "10")
    assert api.amend(order_id, amend_body("0.40", "9"), key=alice_key).status_code == 429
    for _ in range(30):
        assert api.get_order(order_id, key=alice_key).status_code == 200
    assert read(api, order_id, reader)["remaining_count_fp"] == "10.00"


# -- the generated client ------------------------------------------------------------


@pytest.fixture
def client(server: RunningServer, clock: FakeClock, alice_key: TestKey) -> Iterator[KalshiClient]:
    auth = KalshiAuth(alice_key.key_id, alice_key.private_key, clock=clock)
    with make_client(auth, base_url=server.base_url, verify=trusting(server)) as client:
        yield client


def test_the_generated_client_parses_the_order(client: KalshiClient, exchange: Exchange) -> None:
    order_id = exchange.place_order("alice", MARKET, "bid", "0.40", "10", client_order_id="gen-1")
    response = get_order.sync_detailed(order_id, client=client)
    assert response.status_code == 200
    assert isinstance(response.parsed, GetOrderResponse)
    order = response.parsed.order
    assert (order.order_id, order.client_order_id, order.status) == (order_id, "gen-1", OrderStatus.RESTING)
    assert order.additional_properties == {}  # nothing the spec does not name
    missing = get_order.sync_detailed("no-such-order", client=client)
    assert missing.status_code == 404


# -- ground truth --------------------------------------------------------------------


def test_applied_amends_are_the_ground_truth(api: AmendApi, exchange: Exchange, alice_key: TestKey) -> None:
    order_id = exchange.place_order("alice", MARKET, "bid", "0.40", "10", client_order_id="g-1")
    other = exchange.place_order("alice", MARKET, "bid", "0.30", "10")
    assert (
        api.amend(order_id, amend_body("0.41", "9", updated_client_order_id="g-2"), key=alice_key).status_code
        == 200
    )
    assert api.amend(order_id, amend_body("0.565", "9"), key=alice_key).status_code == 400  # not applied
    exchange.fail_next(status=500)  # refused before applying
    assert api.amend(order_id, amend_body("0.42", "9"), key=alice_key).status_code == 500
    exchange.fail_next(status=503, applied=True)  # applied, then answered 503
    assert (
        api.amend(order_id, amend_body("0.43", "8", client_order_id="g-2"), key=alice_key).status_code == 503
    )
    assert api.amend(other, amend_body("0.30", "5"), key=alice_key).status_code == 200

    assert exchange.applied_amends(order_id) == [
        AppliedAmend(order_id, "alice", D("0.41"), D("9"), None, "g-2", int(T0 * 1000)),
        AppliedAmend(order_id, "alice", D("0.43"), D("8"), "g-2", None, int(T0 * 1000)),
    ]
    assert [a.order_id for a in exchange.applied_amends()] == [order_id, order_id, other]


def test_an_ask_that_takes_pays_for_no(
    api: AmendApi, exchange: Exchange, alice_key: TestKey, bob_key: TestKey
) -> None:
    bid = exchange.place_order("bob", MARKET, "bid", "0.45", "2")
    ask = exchange.place_order("alice", MARKET, "ask", "0.50", "5")
    body = {"ticker": MARKET, "side": "ask", "price": "0.45", "count": "5"}
    assert api.amend(ask, body, key=alice_key).status_code == 200
    taker = read(api, ask, alice_key)
    assert (taker["outcome_side"], taker["no_price_dollars"], taker["fill_count_fp"]) == (
        "no",
        "0.5500",
        "2.00",
    )
    assert taker["taker_fill_cost_dollars"] == "1.100000"  # selling 2 YES at 0.45 is buying 2 NO at 0.55
    assert taker["taker_fees_dollars"] == "0.034700"  # 0.07 x 2 x 0.45 x 0.55 = 0.03465, rounded up
    maker = read(api, bid, bob_key)
    assert (maker["status"], maker["maker_fill_cost_dollars"]) == ("executed", "0.900000")
    assert maker["maker_fees_dollars"] == "0.000000"  # this market charges no maker fees


def test_an_amend_query_parameter_the_exchange_does_not_model_is_refused_not_ignored(
    api: AmendApi, exchange: Exchange, alice_key: TestKey
) -> None:
    order_id = exchange.place_order("alice", MARKET, "bid", "0.40", "3")
    amended = api.amend(order_id, amend_body("0.40", "2"), key=alice_key, subaccount="0&dry_run=true")
    assert amended.status_code == 400
    assert "dry_run" in amended.text
    assert exchange.applied_amends(order_id) == []
