"""`Exchange`: the in-memory state of the local exchange and its Python API.

uvicorn serves requests on one event loop thread while tests seed and inspect from
others, so every public method holds one `threading.Lock`. Nothing awaits while it is
held, and signatures are checked outside it.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from .auth import ApiKey, PublicKey, load_public_key
from .engine import (
    AmendRequest,
    AmendResult,
    Fill,
    Market,
    Order,
    OrderStatus,
    Side,
    amend,
    check_expiration_time,
    place,
)
from .errors import InvalidParameters, MarketPaused, NotFound, OrderAlreadyExists
from .money import ZERO, PriceGrid, to_decimal
from .ratelimit import TokenBucket

Clock = Callable[[], float]

MAX_SUBACCOUNT = 63
# Records of traffic are bounded, so a long `python -m local_exchange` session (or a
# flood of junk requests) cannot grow the process without limit.
RECORD_LIMIT = 100_000
REQUEST_RECORD_LIMIT = 10_000
RECORDED_TEXT_LIMIT = 1024  # characters kept of a path, query or key id in a RequestRecord
SERVER_ERROR_LIMIT = 1_000
INJECTABLE_STATUSES = frozenset({500, 503})


@dataclass(frozen=True)
class BookSnapshot:
    """Copies of a market's resting orders, each side in priority order (index 0 = next)."""

    ticker: str
    paused: bool
    bids: tuple[Order, ...]
    asks: tuple[Order, ...]


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request as the server saw it (every request, whatever its outcome)."""

    method: str
    path: str  # raw path as sent, no query string (its first RECORDED_TEXT_LIMIT characters)
    query: str
    status: int
    key_id: str | None
    ts_ms: int


@dataclass(frozen=True)
class AppliedAmend:
    """Ground truth: one amend the exchange applied, with what its request asked for."""

    order_id: str
    account: str
    price: Decimal
    count: Decimal  # the new total asked for
    client_order_id: str | None  # as the request carried it
    updated_client_order_id: str | None
    ts_ms: int  # the matching engine's time, as in the 200's ts_ms


@dataclass(frozen=True)
class Fault:
    """An injected 5xx. `applied`: the amend is carried out first, as after a real
    timeout or crash, so the client cannot know the outcome."""

    status: int
    applied: bool


@dataclass
class _Account:
    name: str
    # Kalshi: a client order id is permanent per account, even after the order is gone.
    client_order_ids: set[str] = field(default_factory=set)
    write_bucket: TokenBucket | None = None


class Exchange:
    def __init__(
        self,
        *,
        timestamp_window_s: float = 10.0,
        clock: Clock = time.time,
        clock_offset_s: float = 0.0,
        write_bucket_size: float = 200.0,
        write_refill_per_s: float = 100.0,
        amend_cost: float = 10.0,
        null_for_absent: bool = False,
    ) -> None:
        """`clock` returns Unix seconds; `clock_offset_s` skews it (server clock error).

        The defaults mirror Kalshi's Basic tier. `null_for_absent`: send `null` instead of
        omitting response fields that do not apply (Kalshi's own spec marks them
        x-omitempty: false, so clients must handle both).
        """
        self._lock = threading.Lock()
        self._clock = clock
        self._clock_offset_s = clock_offset_s
        self.timestamp_window_s = timestamp_window_s
        self.write_bucket_size = write_bucket_size
        self.write_refill_per_s = write_refill_per_s
        self.amend_cost = amend_cost
        self.null_for_absent = null_for_absent
        self.response_delay_s = 0.0
        self._markets: dict[str, Market] = {}
        self._keys: dict[str, ApiKey] = {}
        self._accounts: dict[str, _Account] = {}
        self._orders: dict[str, Order] = {}
        self._fills: list[Fill] = []
        self._faults: list[Fault] = []
        # Bounded, so a long `python -m local_exchange` session does not grow forever.
        self._requests: deque[RequestRecord] = deque(maxlen=REQUEST_RECORD_LIMIT)
        self._posts_total = 0
        self._post_counts: OrderedDict[str, int] = OrderedDict()  # least recently posted first
        self._signatures: dict[str, dict[str, None]] = {}  # insertion-ordered sets
        self._server_errors: deque[str] = deque(maxlen=SERVER_ERROR_LIMIT)
        self._applied: deque[AppliedAmend] = deque(maxlen=RECORD_LIMIT)

    # -- clock -------------------------------------------------------------------------

    def now(self) -> float:
        """The exchange's time in Unix seconds (its clock plus the configured skew)."""
        return self._clock() + self._clock_offset_s

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    @property
    def clock_offset_s(self) -> float:
        return self._clock_offset_s

    @clock_offset_s.setter
    def clock_offset_s(self, seconds: float) -> None:
        self._clock_offset_s = seconds

    # -- seeding -----------------------------------------------------------------------

    def add_market(
        self,
        ticker: str,
        *,
        price_grid: PriceGrid | str = PriceGrid.LINEAR_CENT,
        maker_fees: bool = False,
        paused: bool = False,
    ) -> None:
        grid = PriceGrid(price_grid)
        with self._lock:
            if ticker in self._markets:
                raise ValueError(f"market {ticker} already exists")
            self._markets[ticker] = Market(ticker, grid, maker_fees=maker_fees, paused=paused)

    def add_account(
        self,
        key_id: str,
        public_key: str | bytes | PublicKey,
        *,
        account: str | None = None,
        read_only: bool = False,
    ) -> str:
        """Registers an API key (public key PEM or object) for `account` (default: the key
        id). Several keys may share one account. Returns the account name."""
        key = public_key if not isinstance(public_key, str | bytes) else load_public_key(public_key)
        owner = account if account is not None else key_id
        with self._lock:
            if key_id in self._keys:
                raise ValueError(f"API key {key_id} is already registered")
            self._keys[key_id] = ApiKey(key_id, owner, key, read_only)
            self._accounts.setdefault(owner, _Account(owner))
        return owner

    def open_account(self, account: str) -> str:
        """An account with no API key: it holds orders placed through this API or a seed
        (a counterparty to trade against) but can send no request. Returns its name.
        Opening an account that exists already is a no-op."""
        with self._lock:
            self._accounts.setdefault(account, _Account(account))
        return account

    def place_order(
        self,
        account: str,
        ticker: str,
        side: Side | str,
        price: Decimal | str,
        count: Decimal | str,
        *,
        subaccount: int = 0,
        client_order_id: str | None = None,
        expiration_time: int | None = None,
        order_id: str | None = None,
    ) -> str:
        """Enters an order for `account` and returns its id. It trades against the book
        like any order (so a crossing order leaves a partly filled or executed order).

        Every order has a client order id, as on Kalshi: without one, a uuid4 is made up.
        """
        order_side = Side(side)
        order_price = to_decimal(price, "price")
        order_count = to_decimal(count, "count")
        with self._lock:
            market = self._market(ticker)
            owner = self._account(account)
            _check_subaccount(subaccount)
            new_id = order_id if order_id is not None else str(uuid.uuid4())
            if new_id in self._orders:
                raise ValueError(f"order id {new_id} already exists")
            if client_order_id is None:
                client_order_id = _new_id()
            self._check_client_order_id_free(owner, client_order_id)
            check_expiration_time(expiration_time, self.now())
            now_ms = self.now_ms()
            market.expire(self.now())
            order = Order(
                order_id=new_id,
                account=account,
                subaccount=subaccount,
                ticker=ticker,
                side=order_side,
                price=order_price,
                filled=ZERO,
                remaining=order_count,
                client_order_id=client_order_id,
                expiration_time=expiration_time or None,
                status=OrderStatus.RESTING,
                queue_seq=-1,
                updated_ts_ms=now_ms,
                created_ts_ms=now_ms,
                initial_count=order_count,
            )
            fills = place(market, order, now_ms, _new_id)
            # Registered only once placed: a refused order must not burn its client id.
            owner.client_order_ids.add(client_order_id)
            self._orders[new_id] = order
            self._fills.extend(fills)
            return new_id

    def cancel_order(self, order_id: str) -> None:
        with self._lock:
            order = self._orders.get(order_id)
            if order is not None:
                self._markets[order.ticker].expire(self.now())
            if order is None or order.status is not OrderStatus.RESTING:
                raise NotFound(f"order {order_id} is not resting")
            self._markets[order.ticker].close(order, OrderStatus.CANCELED, self.now_ms())

    def set_market_paused(self, ticker: str, paused: bool = True) -> None:
        """A paused market answers amends with 503 (trading halted)."""
        with self._lock:
            self._market(ticker).paused = paused

    # -- inspection --------------------------------------------------------------------

    def has_market(self, ticker: str) -> bool:
        with self._lock:
            return ticker in self._markets

    def has_account(self, account: str) -> bool:
        with self._lock:
            return account in self._accounts

    def order(self, order_id: str) -> Order:
        """A copy of the order, whatever its status; KeyError if it never existed."""
        with self._lock:
            order = self._orders[order_id]
            self._markets[order.ticker].expire(self.now())
            return copy.copy(order)

    def read_order(self, account: str, order_id: str) -> Order:
        """Get Order for `account`: a copy of its order, whatever its status or
        subaccount. NotFound (404) for an unknown id or another account's order."""
        with self._lock:
            order = self._orders.get(order_id)
            if order is None or order.account != account:
                # Someone else's order is "not found": its existence is not yours to know.
                raise NotFound(f"order {order_id} not found")
            self._markets[order.ticker].expire(self.now())
            return copy.copy(order)

    def applied_amends(self, order_id: str | None = None) -> list[AppliedAmend]:
        """Every amend the exchange applied (the most recent RECORD_LIMIT), oldest first,
        optionally of one order: the ground truth to compare a client's verdicts with."""
        with self._lock:
            return [a for a in self._applied if order_id is None or a.order_id == order_id]

    def book(self, ticker: str) -> BookSnapshot:
        with self._lock:
            market = self._market(ticker)
            market.expire(self.now())
            return BookSnapshot(
                ticker=ticker,
                paused=market.paused,
                bids=tuple(copy.copy(o) for o in market.queue(Side.BID)),
                asks=tuple(copy.copy(o) for o in market.queue(Side.ASK)),
            )

    def fills(self, *, ticker: str | None = None, order_id: str | None = None) -> list[Fill]:
        """Every trade so far, oldest first, optionally of one market or one order."""
        with self._lock:
            return [
                f
                for f in self._fills
                if (ticker is None or f.ticker == ticker)
                and (order_id is None or order_id in (f.taker_order_id, f.maker_order_id))
            ]

    # -- the endpoint ------------------------------------------------------------------

    def amend(
        self, account: str, order_id: str, request: AmendRequest, *, subaccount: int = 0
    ) -> AmendResult:
        """Amend Order (V2) for `account`; raises an `ExchangeError` with Kalshi's status.

        Checks in order: 404 (unknown, not resting, expired, another account or
        subaccount), 503 (paused), 409 (updated_client_order_id used before), 400.
        """
        with self._lock:
            now_s = self.now()
            order = self._orders.get(order_id)
            if order is not None:
                self._markets[order.ticker].expire(now_s)
            if (
                order is None
                or order.status is not OrderStatus.RESTING
                or order.account != account
                or order.subaccount != subaccount
            ):
                # Someone else's order is "not found" too: its existence is not yours to know.
                raise NotFound(f"order {order_id} not found")
            market = self._markets[order.ticker]
            if market.paused:
                raise MarketPaused(f"trading in market {market.ticker} is paused")
            owner = self._accounts[account]
            if request.updated_client_order_id is not None:
                self._check_client_order_id_free(owner, request.updated_client_order_id)
            if request.client_order_id is not None and request.client_order_id != order.client_order_id:
                raise InvalidParameters(f"client_order_id {request.client_order_id} does not match the order")
            result = amend(market, order, request, now_s, int(now_s * 1000), _new_id)
            if request.updated_client_order_id is not None:
                owner.client_order_ids.add(request.updated_client_order_id)
            self._fills.extend(result.fills)
            self._applied.append(
                AppliedAmend(
                    order_id=order_id,
                    account=account,
                    price=request.price,
                    count=request.count,
                    client_order_id=request.client_order_id,
                    updated_client_order_id=request.updated_client_order_id,
                    ts_ms=result.ts_ms,
                )
            )
            return result

    # -- used by the HTTP layer --------------------------------------------------------

    def api_key(self, key_id: str) -> ApiKey | None:
        with self._lock:
            return self._keys.get(key_id)

    def take_write_tokens(self, account: str) -> bool:
        """Charges one amend to the account's write bucket; False means 429."""
        with self._lock:
            owner = self._account(account)
            now_s = self.now()
            if owner.write_bucket is None:
                owner.write_bucket = TokenBucket.full(self.write_bucket_size, self.write_refill_per_s, now_s)
            return owner.write_bucket.try_take(self.amend_cost, now_s)

    def record_request(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)
            if record.method == "POST":
                self._posts_total += 1
                counts = self._post_counts
                counts[record.path] = counts.pop(record.path, 0) + 1
                if len(counts) > RECORD_LIMIT:
                    counts.popitem(last=False)

    def record_signature(self, key_id: str, signature: str) -> None:
        with self._lock:
            seen = self._signatures.setdefault(key_id, {})
            seen[signature] = None
            if len(seen) > RECORD_LIMIT:
                del seen[next(iter(seen))]

    def record_server_error(self, description: str) -> None:
        """A bug in the exchange (e.g. a response the spec does not allow)."""
        with self._lock:
            self._server_errors.append(description)

    # -- faults ------------------------------------------------------------------------

    def fail_next(self, times: int = 1, *, status: int = 500, applied: bool = False) -> None:
        """The next `times` authenticated, valid amends get `status` (500 or 503)."""
        if status not in INJECTABLE_STATUSES:
            raise ValueError(f"status must be one of {sorted(INJECTABLE_STATUSES)}")
        with self._lock:
            self._faults.extend(Fault(status, applied) for _ in range(times))

    def take_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    # -- records for tests -------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """The most recent requests (up to RECORD_LIMIT), oldest first."""
        with self._lock:
            return list(self._requests)

    def post_count(self, path: str | None = None) -> int:
        """POSTs received (any outcome), to the raw `path` if given, e.g.
        "/trade-api/v2/portfolio/events/orders/ID/amend". The total is never forgotten;
        counts per path are kept for the RECORD_LIMIT most recently posted paths (and
        paths longer than RECORDED_TEXT_LIMIT are counted under their truncated form)."""
        with self._lock:
            return self._post_counts.get(path, 0) if path is not None else self._posts_total

    def signatures_seen(self, key_id: str) -> frozenset[str]:
        """Signatures of this key that authenticated (the most recent RECORD_LIMIT)."""
        with self._lock:
            return frozenset(self._signatures.get(key_id, ()))

    @property
    def server_errors(self) -> list[str]:
        """Bugs the exchange noticed in itself (the most recent SERVER_ERROR_LIMIT)."""
        with self._lock:
            return list(self._server_errors)

    # -- internals (lock held) ---------------------------------------------------------

    def _market(self, ticker: str) -> Market:
        market = self._markets.get(ticker)
        if market is None:
            raise KeyError(f"no market {ticker}")
        return market

    def _account(self, name: str) -> _Account:
        account = self._accounts.get(name)
        if account is None:
            raise KeyError(f"no account {name}; register a key with add_account first")
        return account

    def _check_client_order_id_free(self, account: _Account, client_order_id: str) -> None:
        if client_order_id in account.client_order_ids:
            raise OrderAlreadyExists(f"client order id {client_order_id} was already used")


def _new_id() -> str:
    return str(uuid.uuid4())


def _check_subaccount(subaccount: int) -> None:
    if not 0 <= subaccount <= MAX_SUBACCOUNT:
        raise ValueError(f"subaccount must be between 0 and {MAX_SUBACCOUNT}")
