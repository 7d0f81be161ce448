"""Matching and amend semantics, through the Python API (no HTTP)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from local_exchange import (
    AmendRequest,
    Exchange,
    InvalidParameters,
    MarketPaused,
    NotFound,
    OrderAlreadyExists,
    OrderStatus,
    Side,
)

from .conftest import DECI, MARKET, TAPERED
from .support import T0, FakeClock

D = Decimal


def req(
    price: str,
    count: str,
    *,
    side: str = "bid",
    ticker: str = MARKET,
    client_order_id: str | None = None,
    updated_client_order_id: str | None = None,
    exchange_index: int | None = None,
    expiration_time: int | None = None,
) -> AmendRequest:
    return AmendRequest(
        ticker=ticker,
        side=Side(side),
        price=D(price),
        count=D(count),
        client_order_id=client_order_id,
        updated_client_order_id=updated_client_order_id,
        exchange_index=exchange_index,
        expiration_time=expiration_time,
    )


def bid_ids(exchange: Exchange, ticker: str = MARKET) -> list[str]:
    return [o.order_id for o in exchange.book(ticker).bids]


def ask_ids(exchange: Exchange, ticker: str = MARKET) -> list[str]:
    return [o.order_id for o in exchange.book(ticker).asks]


# -- crossing: fills at the resting prices, price-time priority, fees -----------------


def test_a_crossing_amend_fills_at_resting_prices_in_price_time_priority(exchange: Exchange) -> None:
    first_at_52 = exchange.place_order("bob", MARKET, "ask", "0.52", "3")
    second_at_52 = exchange.place_order("carol", MARKET, "ask", "0.52", "4")
    better_but_later = exchange.place_order("carol", MARKET, "ask", "0.51", "2")
    exchange.place_order("bob", MARKET, "ask", "0.55", "5")  # does not cross 0.53
    mine = exchange.place_order("alice", MARKET, "bid", "0.40", "10")

    result = exchange.amend("alice", mine, req("0.53", "10"))

    fills = result.fills
    assert [(f.maker_order_id, f.price, f.count) for f in fills] == [
        (better_but_later, D("0.51"), D("2")),
        (first_at_52, D("0.52"), D("3")),
        (second_at_52, D("0.52"), D("4")),
    ]
    assert result.fill_count == D("9")
    assert result.remaining_count == D("1")  # the rest keeps resting, at the new price
    # (2 x 0.51 + 7 x 0.52) / 9
    assert result.average_fill_price == (D("1.02") + D("3.64")) / 9
    # Each trade's fee is rounded up on its own: 0.034986 -> 0.0350, 0.052416 -> 0.0525,
    # 0.069888 -> 0.0699.
    assert [f.taker_fee for f in fills] == [D("0.0350"), D("0.0525"), D("0.0699")]
    assert result.average_fee_paid == D("0.1574") / 9
    order = exchange.order(mine)
    assert (order.price, order.filled, order.remaining) == (D("0.53"), D("9"), D("1"))
    assert bid_ids(exchange) == [mine]
    assert exchange.order(first_at_52).status is OrderStatus.EXECUTED


def test_the_worked_example_fee_of_kalshis_demo(exchange: Exchange) -> None:
    exchange.place_order("bob", MARKET, "ask", "0.52", "1")
    mine = exchange.place_order("alice", MARKET, "bid", "0.50", "1")
    result = exchange.amend("alice", mine, req("0.52", "1"))
    assert result.average_fee_paid == D("0.0175")
    assert result.remaining_count == 0
    assert exchange.order(mine).status is OrderStatus.EXECUTED


def test_an_ask_crosses_down_against_the_best_bids(exchange: Exchange) -> None:
    low = exchange.place_order("bob", MARKET, "bid", "0.45", "5")
    high = exchange.place_order("carol", MARKET, "bid", "0.47", "5")
    mine = exchange.place_order("alice", MARKET, "ask", "0.60", "6")

    result = exchange.amend("alice", mine, req("0.45", "6", side="ask"))

    assert [(f.maker_order_id, f.count) for f in result.fills] == [(high, D("5")), (low, D("1"))]
    assert result.remaining_count == 0
    assert exchange.order(low).remaining == D("4")


def test_maker_fees_only_on_markets_that_charge_them(exchange: Exchange) -> None:
    free = exchange.place_order("bob", MARKET, "ask", "0.50", "10")
    charged = exchange.place_order("bob", DECI, "ask", "0.500", "10")
    exchange.place_order("alice", MARKET, "bid", "0.50", "10")
    exchange.place_order("alice", DECI, "bid", "0.500", "10")

    (fill_free,) = exchange.fills(order_id=free)
    (fill_charged,) = exchange.fills(order_id=charged)
    assert fill_free.maker_fee == 0
    assert fill_charged.maker_fee == D("0.0438")  # 0.0175 x 10 x 0.5 x 0.5, rounded up
    assert fill_charged.taker_fee == D("0.1750")


def test_fractional_contracts(exchange: Exchange) -> None:
    exchange.place_order("bob", MARKET, "ask", "0.50", "0.25")
    mine = exchange.place_order("alice", MARKET, "bid", "0.40", "1.5")
    result = exchange.amend("alice", mine, req("0.50", "1.5"))
    assert (result.fill_count, result.remaining_count) == (D("0.25"), D("1.25"))


# -- queue position ------------------------------------------------------------------


@pytest.fixture
def queue(exchange: Exchange) -> list[str]:
    """Three bids at 0.50, in time order: alice's, bob's, carol's."""
    return [exchange.place_order(who, MARKET, "bid", "0.50", "10") for who in ("alice", "bob", "carol")]


def test_decreasing_size_keeps_queue_position(exchange: Exchange, queue: list[str]) -> None:
    result = exchange.amend("alice", queue[0], req("0.50", "6"))
    assert bid_ids(exchange) == queue
    assert (result.remaining_count, result.fill_count) == (D("6"), D("0"))
    assert result.average_fill_price is None


def test_increasing_size_goes_to_the_back(exchange: Exchange, queue: list[str]) -> None:
    exchange.amend("alice", queue[0], req("0.50", "11"))
    assert bid_ids(exchange) == [queue[1], queue[2], queue[0]]


def test_changing_price_goes_to_the_back_even_when_coming_back(exchange: Exchange, queue: list[str]) -> None:
    exchange.amend("alice", queue[0], req("0.49", "10"))
    assert bid_ids(exchange) == [queue[1], queue[2], queue[0]]
    exchange.amend("alice", queue[0], req("0.50", "10"))
    assert bid_ids(exchange) == [queue[1], queue[2], queue[0]]


def test_a_price_only_amend_reports_no_counts(exchange: Exchange, queue: list[str]) -> None:
    result = exchange.amend("alice", queue[0], req("0.49", "10"))
    # Docs: counts only when the amend filled or changed the resting size.
    assert result.remaining_count is None
    assert result.fill_count is None


def test_expiry_only_amend_keeps_position_and_reports_nothing(exchange: Exchange, queue: list[str]) -> None:
    result = exchange.amend("bob", queue[1], req("0.50", "10", expiration_time=int(T0) + 3600))
    assert bid_ids(exchange) == queue
    assert exchange.order(queue[1]).expiration_time == int(T0) + 3600
    assert result.remaining_count is None
    assert result.fill_count is None
    assert result.average_fill_price is None
    assert result.average_fee_paid is None


def test_count_is_the_new_total_including_filled(exchange: Exchange) -> None:
    exchange.place_order("bob", MARKET, "ask", "0.50", "4")
    mine = exchange.place_order("alice", MARKET, "bid", "0.50", "10")  # 4 filled, 6 resting
    assert (exchange.order(mine).filled, exchange.order(mine).remaining) == (D("4"), D("6"))

    result = exchange.amend("alice", mine, req("0.50", "7"))
    assert result.remaining_count == D("3")  # 7 total - 4 filled
    assert result.fill_count == 0
    # Same request again: same end state, nothing changes (so counts are absent).
    again = exchange.amend("alice", mine, req("0.50", "7"))
    assert again.remaining_count is None
    assert exchange.order(mine).remaining == D("3")


def test_count_below_filled_is_refused(exchange: Exchange) -> None:
    exchange.place_order("bob", MARKET, "ask", "0.50", "4")
    mine = exchange.place_order("alice", MARKET, "bid", "0.50", "10")
    with pytest.raises(InvalidParameters, match="below the filled count"):
        exchange.amend("alice", mine, req("0.50", "3.99"))


def test_count_equal_to_filled_closes_the_order(exchange: Exchange) -> None:
    exchange.place_order("bob", MARKET, "ask", "0.50", "4")
    mine = exchange.place_order("alice", MARKET, "bid", "0.50", "10")
    result = exchange.amend("alice", mine, req("0.50", "4"))
    assert (result.remaining_count, result.fill_count) == (D("0"), D("0"))
    assert exchange.order(mine).status is OrderStatus.EXECUTED
    assert bid_ids(exchange) == []
    with pytest.raises(NotFound):
        exchange.amend("alice", mine, req("0.50", "5"))


def test_count_zero_on_an_unfilled_order_cancels_it(exchange: Exchange) -> None:
    mine = exchange.place_order("alice", MARKET, "bid", "0.50", "10")
    exchange.amend("alice", mine, req("0.50", "0"))
    assert exchange.order(mine).status is OrderStatus.CANCELED


# -- expiry --------------------------------------------------------------------------


def test_expiry_rules(exchange: Exchange, clock: FakeClock) -> None:
    mine = exchange.place_order("alice", MARKET, "bid", "0.50", "10", expiration_time=int(T0) + 60)
    with pytest.raises(InvalidParameters, match="not in the future"):
        exchange.amend("alice", mine, req("0.50", "10", expiration_time=int(T0)))
    exchange.amend("alice", mine, req("0.50", "10", expiration_time=0))  # good till cancelled
    assert exchange.order(mine).expiration_time is None
    exchange.amend("alice", mine, req("0.50", "10", expiration_time=int(T0) + 10))
    exchange.amend("alice", mine, req("0.50", "9"))  # omitted: the expiry is kept
    assert exchange.order(mine).expiration_time == int(T0) + 10

    clock.advance(10)
    with pytest.raises(NotFound):
        exchange.amend("alice", mine, req("0.50", "9"))
    assert exchange.order(mine).status is OrderStatus.EXPIRED


def test_orders_cannot_be_placed_already_expired(exchange: Exchange) -> None:
    with pytest.raises(InvalidParameters, match="not in the future"):
        exchange.place_order("alice", MARKET, "bid", "0.50", "1", expiration_time=int(T0))


def test_expired_orders_do_not_trade(exchange: Exchange, clock: FakeClock) -> None:
    exchange.place_order("bob", MARKET, "ask", "0.50", "5", expiration_time=int(T0) + 5)
    live = exchange.place_order("carol", MARKET, "ask", "0.51", "5")
    mine = exchange.place_order("alice", MARKET, "bid", "0.40", "5")
    clock.advance(5)
    result = exchange.amend("alice", mine, req("0.51", "5"))
    assert [f.maker_order_id for f in result.fills] == [live]


# -- refusals (and that they change nothing) -----------------------------------------


def test_self_trade_is_refused_and_changes_nothing(exchange: Exchange) -> None:
    other = exchange.place_order("bob", MARKET, "ask", "0.51", "2")
    own = exchange.place_order("alice", MARKET, "ask", "0.52", "5", subaccount=3)
    mine = exchange.place_order("alice", MARKET, "bid", "0.40", "10")
    with pytest.raises(InvalidParameters) as refused:
        exchange.amend("alice", mine, req("0.52", "10"))
    assert refused.value.code == "self_trade"
    assert exchange.order(other).remaining == D("2")
    assert exchange.order(mine).price == D("0.40")
    assert ask_ids(exchange) == [other, own]
    assert exchange.fills() == []
    # Filling only what sits in front of the own order is fine.
    result = exchange.amend("alice", mine, req("0.51", "10"))
    assert result.fill_count == D("2")


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (req("0.565", "10"), "not on the linear_cent grid"),
        (req("1.00", "10"), "strictly between 0 and 1"),
        (req("0.00", "10"), "strictly between 0 and 1"),
        (req("0.50", "10", ticker=TAPERED), "does not match the order's market"),
        (req("0.50", "10", side="ask"), "does not match the order's side"),
        (req("0.50", "10", exchange_index=1), "exchange_index 1"),
        (req("0.50", "10", client_order_id="not-mine"), "does not match the order"),
    ],
)
def test_invalid_amends(exchange: Exchange, request_: AmendRequest, message: str) -> None:
    mine = exchange.place_order("alice", MARKET, "bid", "0.50", "10", client_order_id="c1")
    with pytest.raises(InvalidParameters, match=message):
        exchange.amend("alice", mine, request_)
    assert exchange.order(mine).count == D("10")


@pytest.mark.parametrize("index", [None, 0, -1])
def test_accepted_exchange_indexes(exchange: Exchange, index: int | None) -> None:
    mine = exchange.place_order("alice", MARKET, "bid", "0.50", "10")
    result = exchange.amend("alice", mine, req("0.50", "9", exchange_index=index))
    assert result.remaining_count == D("9")
    assert exchange.order(mine).count == D("9")


def test_tapered_grid_applies_to_amends(exchange: Exchange) -> None:
    mine = exchange.place_order("alice", TAPERED, "bid", "0.50", "10")
    exchange.amend("alice", mine, req("0.095", "10", ticker=TAPERED))
    with pytest.raises(InvalidParameters, match="grid"):
        exchange.amend("alice", mine, req("0.105", "10", ticker=TAPERED))


def test_orders_are_found_only_by_their_owner_and_subaccount(exchange: Exchange) -> None:
    mine = exchange.place_order("alice", MARKET, "bid", "0.50", "10", subaccount=2)
    for account, subaccount in [("bob", 2), ("alice", 0), ("alice", 3)]:
        with pytest.raises(NotFound):
            exchange.amend(account, mine, req("0.50", "9"), subaccount=subaccount)
    exchange.amend("alice", mine, req("0.50", "9"), subaccount=2)
    with pytest.raises(NotFound):
        exchange.amend("alice", "no-such-order", req("0.50", "9"))


def test_cancelled_orders_are_not_found(exchange: Exchange) -> None:
    mine = exchange.place_order("alice", MARKET, "bid", "0.50", "10")
    exchange.cancel_order(mine)
    with pytest.raises(NotFound):
        exchange.amend("alice", mine, req("0.50", "9"))


def test_client_order_ids_are_permanent_per_account(exchange: Exchange) -> None:
    first = exchange.place_order("alice", MARKET, "bid", "0.50", "10", client_order_id="a-1")
    second = exchange.place_order("alice", MARKET, "bid", "0.49", "10", client_order_id="a-2")

    result = exchange.amend(
        "alice", first, req("0.50", "9", client_order_id="a-1", updated_client_order_id="a-3")
    )
    assert result.client_order_id == "a-3"
    with pytest.raises(InvalidParameters):  # the order no longer carries a-1
        exchange.amend("alice", first, req("0.50", "8", client_order_id="a-1"))
    for used in ("a-1", "a-2", "a-3"):  # a-1 is free of orders but was used: still taken
        with pytest.raises(OrderAlreadyExists):
            exchange.amend("alice", second, req("0.49", "10", updated_client_order_id=used))
    exchange.cancel_order(second)
    with pytest.raises(OrderAlreadyExists):
        exchange.place_order("alice", MARKET, "bid", "0.48", "1", client_order_id="a-2")
    # Another account has its own namespace.
    exchange.place_order("bob", MARKET, "bid", "0.48", "1", client_order_id="a-2")


def test_a_paused_market_refuses_amends(exchange: Exchange) -> None:
    mine = exchange.place_order("alice", MARKET, "bid", "0.50", "10")
    exchange.set_market_paused(MARKET)
    with pytest.raises(MarketPaused):
        exchange.amend("alice", mine, req("0.50", "9"))
    exchange.set_market_paused(MARKET, False)
    exchange.amend("alice", mine, req("0.50", "9"))


def test_ts_ms_is_the_exchange_clock(exchange: Exchange, clock: FakeClock) -> None:
    mine = exchange.place_order("alice", MARKET, "bid", "0.50", "10")
    clock.advance(1.234)
    assert exchange.amend("alice", mine, req("0.50", "9")).ts_ms == int((T0 + 1.234) * 1000)


def test_seeding_refuses_floats_and_off_grid_prices(exchange: Exchange) -> None:
    with pytest.raises(TypeError):
        exchange.place_order("alice", MARKET, "bid", 0.5, "10")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameters, match="grid"):
        exchange.place_order("alice", MARKET, "bid", "0.505", "10")
    with pytest.raises(KeyError):
        exchange.place_order("nobody", MARKET, "bid", "0.50", "10")
