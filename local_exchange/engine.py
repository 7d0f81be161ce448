"""The matching engine: order books, price-time priority, amends, fills and fees.

Pure: no locks, no clock, no I/O. The caller (`Exchange`) passes the time in and holds
the lock. Every function validates everything before it changes anything, so a refused
request (an `ExchangeError`) leaves the book exactly as it was, like Kalshi, where a 4xx
means the amend was not applied.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from .errors import InvalidParameters
from .money import (
    MAKER_FEE_RATE,
    TAKER_FEE_RATE,
    ZERO,
    PriceGrid,
    count_problem,
    fill_cost,
    price_problem,
    trade_fee,
)

# Shards a request may name: omitted (None), 0, or -1 ("route by ticker").
ACCEPTED_EXCHANGE_INDEXES = frozenset({0, -1})
# 9999-12-31T23:59:59Z: the latest expiry an RFC 3339 date-time (Get Order) can write.
MAX_EXPIRATION_TIME = 253_402_300_799


class Side(StrEnum):
    """The YES side of the book: a bid buys YES at its price, an ask sells YES."""

    BID = "bid"
    ASK = "ask"

    @property
    def opposite(self) -> Side:
        return Side.ASK if self is Side.BID else Side.BID


class OrderStatus(StrEnum):
    RESTING = "resting"
    CANCELED = "canceled"
    EXECUTED = "executed"
    EXPIRED = "expired"


@dataclass
class Order:
    """An order; `filled + remaining` is its total count (what an amend's `count` sets)."""

    order_id: str
    account: str
    subaccount: int
    ticker: str
    side: Side
    price: Decimal
    filled: Decimal
    remaining: Decimal
    client_order_id: str | None
    expiration_time: int | None  # Unix seconds; None = good till cancelled
    status: OrderStatus
    queue_seq: int  # lower = earlier at its price level
    updated_ts_ms: int  # moves on every amend, fill, cancel and expiry (Get Order's last_update_time)
    created_ts_ms: int = 0
    initial_count: Decimal = ZERO  # the size it was placed with
    # Running totals over the order's fills, split by the role it traded in. A cost is
    # what the order paid for the contracts it bought: YES at the price for a bid, NO at
    # 1 - price for an ask (selling YES is buying NO).
    taker_fill_cost: Decimal = ZERO
    maker_fill_cost: Decimal = ZERO
    taker_fees: Decimal = ZERO
    maker_fees: Decimal = ZERO

    @property
    def count(self) -> Decimal:
        return self.filled + self.remaining

    def is_expired(self, now_s: float) -> bool:
        return self.expiration_time is not None and now_s >= self.expiration_time


@dataclass(frozen=True)
class Fill:
    """One trade between an incoming (taker) order and a resting (maker) order."""

    trade_id: str
    ticker: str
    price: Decimal  # always the maker's price
    count: Decimal
    taker_order_id: str
    taker_account: str
    taker_side: Side
    maker_order_id: str
    maker_account: str
    taker_fee: Decimal
    maker_fee: Decimal  # zero unless the market charges maker fees
    ts_ms: int


@dataclass
class Market:
    ticker: str
    price_grid: PriceGrid
    maker_fees: bool = False
    paused: bool = False
    resting: dict[str, Order] = field(default_factory=dict)
    _seq: Iterator[int] = field(default_factory=itertools.count, repr=False)

    def next_seq(self) -> int:
        """A queue number behind every order already resting: the back of the queue."""
        return next(self._seq)

    def queue(self, side: Side) -> list[Order]:
        """Resting orders of one side, best price first, then oldest first."""
        orders = (o for o in self.resting.values() if o.side is side)
        if side is Side.BID:
            return sorted(orders, key=lambda o: (-o.price, o.queue_seq))
        return sorted(orders, key=lambda o: (o.price, o.queue_seq))

    def expire(self, now_s: float) -> None:
        """Takes orders whose expiry has passed off the book; they count as gone."""
        for order in [o for o in self.resting.values() if o.is_expired(now_s)]:
            assert order.expiration_time is not None
            # It changed when it expired, not when someone happened to look.
            self.close(order, OrderStatus.EXPIRED, order.expiration_time * 1000)

    def close(self, order: Order, status: OrderStatus, ts_ms: int) -> None:
        order.status = status
        order.remaining = ZERO
        order.updated_ts_ms = max(order.updated_ts_ms, ts_ms)
        self.resting.pop(order.order_id, None)


@dataclass(frozen=True)
class AmendRequest:
    """An amend, already parsed; `count` is the new TOTAL (filled + resting wanted)."""

    ticker: str
    side: Side
    price: Decimal
    count: Decimal
    client_order_id: str | None = None
    updated_client_order_id: str | None = None
    exchange_index: int | None = None
    expiration_time: int | None = None  # None = keep; 0 = good till cancelled


@dataclass(frozen=True)
class AmendResult:
    """What the amend did. The optional fields are None exactly when the wire omits them."""

    order_id: str
    ts_ms: int
    client_order_id: str | None
    remaining_count: Decimal | None  # set when the amend filled or changed the resting size
    fill_count: Decimal | None  # same condition as remaining_count
    average_fill_price: Decimal | None  # set only when the amend filled
    average_fee_paid: Decimal | None  # same condition as average_fill_price
    fills: tuple[Fill, ...]


NewId = Callable[[], str]


def _crosses(side: Side, price: Decimal, resting_price: Decimal) -> bool:
    return resting_price <= price if side is Side.BID else resting_price >= price


def _plan_fills(
    market: Market, account: str, side: Side, price: Decimal, quantity: Decimal
) -> list[tuple[Order, Decimal]]:
    """Which resting orders an incoming order would trade with, and how much, in priority.

    Self-trade policy: reaching a resting order of the SAME account (any subaccount)
    while contracts are still wanted refuses the whole request (400). Filling against
    yourself is wash trading, and resting past your own order would cross the book.
    """
    plan: list[tuple[Order, Decimal]] = []
    wanted = quantity
    for resting in market.queue(side.opposite):
        if wanted == 0 or not _crosses(side, price, resting.price):
            break
        if resting.account == account:
            raise InvalidParameters(
                f"the order would trade against your own resting order {resting.order_id}",
                code="self_trade",
            )
        take = min(wanted, resting.remaining)
        plan.append((resting, take))
        wanted -= take
    return plan


def _execute(
    market: Market, taker: Order, plan: list[tuple[Order, Decimal]], ts_ms: int, new_id: NewId
) -> list[Fill]:
    fills: list[Fill] = []
    for maker, quantity in plan:
        maker.filled += quantity
        maker.remaining -= quantity
        maker.updated_ts_ms = ts_ms
        if maker.remaining == 0:
            market.close(maker, OrderStatus.EXECUTED, ts_ms)
        maker_fee = trade_fee(MAKER_FEE_RATE, quantity, maker.price) if market.maker_fees else ZERO
        taker_fee = trade_fee(TAKER_FEE_RATE, quantity, maker.price)
        maker.maker_fill_cost += fill_cost(maker.side is Side.BID, maker.price, quantity)
        maker.maker_fees += maker_fee
        taker.taker_fill_cost += fill_cost(taker.side is Side.BID, maker.price, quantity)
        taker.taker_fees += taker_fee
        taker.updated_ts_ms = ts_ms
        fills.append(
            Fill(
                trade_id=new_id(),
                ticker=market.ticker,
                price=maker.price,
                count=quantity,
                taker_order_id=taker.order_id,
                taker_account=taker.account,
                taker_side=taker.side,
                maker_order_id=maker.order_id,
                maker_account=maker.account,
                taker_fee=taker_fee,
                maker_fee=maker_fee,
                ts_ms=ts_ms,
            )
        )
    return fills


def _check_price(market: Market, price: Decimal) -> None:
    problem = price_problem(market.price_grid, price)
    if problem is not None:
        raise InvalidParameters(problem)


def _check_count(count: Decimal) -> None:
    problem = count_problem(count)
    if problem is not None:
        raise InvalidParameters(problem)


def place(market: Market, order: Order, ts_ms: int, new_id: NewId) -> list[Fill]:
    """Enters a new order (seeding): it trades against the book, and the rest rests."""
    _check_price(market, order.price)
    _check_count(order.remaining)
    if order.remaining <= 0:
        raise InvalidParameters("count must be positive")
    plan = _plan_fills(market, order.account, order.side, order.price, order.remaining)
    fills = _execute(market, order, plan, ts_ms, new_id)
    traded = sum((f.count for f in fills), ZERO)
    order.filled += traded
    order.remaining -= traded
    if order.remaining == 0:
        order.status = OrderStatus.EXECUTED
    else:
        order.queue_seq = market.next_seq()
        market.resting[order.order_id] = order
    return fills


def validate_amend(market: Market, order: Order, request: AmendRequest, now_s: float) -> None:
    """Every 400 an amend can get from the engine, checked before anything changes."""
    if request.exchange_index is not None and request.exchange_index not in (ACCEPTED_EXCHANGE_INDEXES):
        raise InvalidParameters(
            f"exchange_index {request.exchange_index} is not supported (use 0, -1 or omit it)"
        )
    if request.ticker != order.ticker:
        raise InvalidParameters(f"ticker {request.ticker} does not match the order's market")
    if request.side is not order.side:
        raise InvalidParameters(f"side {request.side} does not match the order's side")
    _check_price(market, request.price)
    _check_count(request.count)
    if request.count < order.filled:
        raise InvalidParameters(
            f"count {request.count} is below the filled count {order.filled}"
            " (count is the new total: filled + resting remainder)"
        )
    check_expiration_time(request.expiration_time, now_s)


def check_expiration_time(expiry: int | None, now_s: float) -> None:
    """None keeps the expiry and 0 removes it; anything else must lie ahead, within reason."""
    if expiry is None or expiry == 0:
        return
    if expiry <= now_s:
        raise InvalidParameters(f"expiration_time {expiry} is not in the future")
    if expiry > MAX_EXPIRATION_TIME:
        raise InvalidParameters(f"expiration_time {expiry} is after the year 9999")


def amend(
    market: Market, order: Order, request: AmendRequest, now_s: float, ts_ms: int, new_id: NewId
) -> AmendResult:
    """Applies an amend to a resting order of `market` (ownership is the caller's job).

    `count == filled` leaves nothing to rest: the order is closed, as executed when it
    has fills, as canceled when it has none, and later amends of it get 404.
    """
    validate_amend(market, order, request, now_s)
    old_remaining = order.remaining
    wanted = request.count - order.filled
    price_changed = request.price != order.price
    plan = _plan_fills(market, order.account, order.side, request.price, wanted)

    # Validation is over: from here on the amend is applied.
    fills = _execute(market, order, plan, ts_ms, new_id)
    traded = sum((f.count for f in fills), ZERO)
    order.price = request.price
    order.filled += traded
    order.remaining = wanted - traded
    order.updated_ts_ms = ts_ms
    if request.expiration_time is not None:
        order.expiration_time = request.expiration_time or None
    if request.updated_client_order_id is not None:
        order.client_order_id = request.updated_client_order_id
    if order.remaining == 0:
        market.close(order, OrderStatus.EXECUTED if order.filled > 0 else OrderStatus.CANCELED, ts_ms)
    elif price_changed or order.remaining > old_remaining:
        # Kalshi: a new price or a bigger size loses queue position; a smaller size or
        # an expiry-only change keeps it.
        order.queue_seq = market.next_seq()
    return _result(order, fills, size_changed=order.remaining != old_remaining, ts_ms=ts_ms)


def _result(order: Order, fills: list[Fill], *, size_changed: bool, ts_ms: int) -> AmendResult:
    traded = sum((f.count for f in fills), ZERO)
    average_price = average_fee = None
    if fills:
        average_price = sum((f.price * f.count for f in fills), ZERO) / traded
        average_fee = sum((f.taker_fee for f in fills), ZERO) / traded
    show_counts = bool(fills) or size_changed
    return AmendResult(
        order_id=order.order_id,
        ts_ms=ts_ms,
        client_order_id=order.client_order_id,
        remaining_count=order.remaining if show_counts else None,
        fill_count=traded if show_counts else None,
        average_fill_price=average_price,
        average_fee_paid=average_fee,
        fills=tuple(fills),
    )
