"""The soak's test bed: a planned run of amends through the fault proxy, and its judge.

Every amend attempt is planned up front from one seed (order, price, count, client id,
the fault the proxy applies, whether it resolves in the call), so a failing run is
reproduced by its seed alone. The proxy's schedule looks each request up in the plan
by (order id, count), never by arrival order, so concurrency does not change it.

The judge compares what the client said (its verdict) with what the exchange did
(ground truth): ``exchange.applied_amends()``, cross-checked with what the exchange
answered each forwarded request (as the proxy read it), the exchange's own request log
and each order's final state.

Reads (Get Order) go through the same proxy, whose schedule faults them only where
planned: a "flaky" attempt's first read (the resolver must retry and still resolve),
and every read of a "blackout" attempt (it must end STILL_UNKNOWN). So the proxy also
records WHEN each read reached the exchange, which is what makes "not applied as of
the read" checkable even when an amend lands after the read.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

import httpx
from kalshi_trade_api.models import AmendOrderV2Request, BookSide

from local_exchange import Exchange, OrderStatus
from tests.support.fault_proxy import Fault, ProxyRecord, RequestInfo

MARKET = "KXSOAK-26DEC-T50"
BOT_KEY = "soak-bot-key"
BOT = "bot"
MAKER = "maker"
AMEND_PATH = "/trade-api/v2/portfolio/events/orders/{}/amend"
ORDER_PATH = "/trade-api/v2/portfolio/orders/{}"

# The maker's asks: a thin level that crossing amends fill partly, and a deep one that
# fills them whole (the order is then executed, and later amends find it closed).
THIN_ASK = Decimal("0.60")
THIN_ASK_ORDERS = 400
THIN_ASK_SIZE = Decimal(3)
DEEP_ASK = Decimal("0.70")
DEEP_ASK_SIZE = Decimal(1_000_000)

POST_FAULTS: Mapping[Fault, float] = {
    Fault.PASS: 0.37,
    Fault.FORWARD_LATE: 0.03,
    Fault.DROP_BEFORE: 0.10,
    Fault.DROP_AFTER: 0.12,
    Fault.CUT_BODY: 0.10,
    Fault.DELAY: 0.04,
    Fault.REPLY_5XX: 0.12,
    Fault.FORWARD_THEN_503: 0.12,
}
BLACKOUT_RATE = 0.03  # attempts whose every read-back fails
FLAKY_READ_RATE = 0.05  # attempts whose first read-back fails
# The faults a failed read gets, in turn (the cheap ones: no waiting for a timeout).
READ_FAULTS = (Fault.REPLY_5XX, Fault.DROP_BEFORE, Fault.DROP_AFTER, Fault.CUT_BODY, Fault.FORWARD_THEN_503)
IN_CALL_RATE = 0.5  # attempts resolved by amend_order(resolve=True), the rest by resolve_amend
CLIENT_ID_RATE = 0.5  # attempts that carry an updated_client_order_id of their own


def setup_exchange(exchange: Exchange, bot_public_pem: bytes) -> None:
    """The market, the bot's key and account, and the maker's resting asks."""
    exchange.add_market(MARKET)
    exchange.add_account(BOT_KEY, bot_public_pem, account=BOT)
    exchange.add_account("soak-maker-key", bot_public_pem, account=MAKER)
    for _ in range(THIN_ASK_ORDERS):
        exchange.place_order(MAKER, MARKET, "ask", THIN_ASK, THIN_ASK_SIZE)
    exchange.place_order(MAKER, MARKET, "ask", DEEP_ASK, DEEP_ASK_SIZE)


# -- the plan ----------------------------------------------------------------------------


class Claim(StrEnum):
    """What the client's verdict says about the amend."""

    APPLIED = "applied"  # 200, ResolvedAmend, or resolution APPLIED
    NOT_APPLIED = "not applied"  # Rejected, NotSent
    NOT_APPLIED_WHEN_READ = "not applied when read"
    ORDER_CLOSED = "order closed"
    UNKNOWN = "still unknown"


@dataclass
class Attempt:
    """One planned amend, and (once run) what the client made of it."""

    order_id: str
    seq: int  # its place among the attempts on this order
    price: Decimal
    count: Decimal
    client_id: str | None  # updated_client_order_id given by the test
    fault: Fault
    in_call: bool  # amend_order(resolve=True) rather than resolve_amend afterwards
    blackout: bool  # every read of the order fails while this attempt resolves
    flaky_read: bool  # the first read of the order fails while this attempt resolves
    # Filled in by the run:
    verdict: str = ""  # the class or resolution the client ended with
    claim: Claim | None = None
    resolution: Any = None  # the AmendResolution, when there was one
    sent_client_id: str | None = None  # the updated_client_order_id the outcome reports
    window: tuple[int, int] = (0, 0)  # proxy record indexes seen while this attempt ran
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, Decimal]:
        return self.order_id, self.count

    def body(self) -> AmendOrderV2Request:
        fields: dict[str, Any] = {
            "ticker": MARKET,
            "side": BookSide.BID,
            "price": f"{self.price:.4f}",
            "count": f"{self.count:.2f}",
        }
        if self.client_id is not None:
            fields["updated_client_order_id"] = self.client_id
        return AmendOrderV2Request(**fields)


def place_and_plan(
    exchange: Exchange, rng: random.Random, orders: int, attempts_per_order: int
) -> list[list[Attempt]]:
    """Places the bot's bids and plans the attempts on each, one list per order.

    Counts never repeat on an order (nor equal its first size), so an amend without a
    client id is still recognisable by its price and count, and the proxy finds it.
    """
    plans: list[list[Attempt]] = []
    for n in range(orders):
        initial = Decimal(rng.randint(5, 20))
        order_id = exchange.place_order(
            BOT,
            MARKET,
            "bid",
            Decimal(rng.randint(10, 50)) / 100,
            initial,
            client_order_id=f"soak-{n}" if rng.random() < 0.5 else None,
        )
        counts = rng.sample([c for c in range(3, 60) if c != initial], attempts_per_order)
        plan = []
        for seq, count in enumerate(counts):
            roll = rng.random()
            price = (
                DEEP_ASK if roll < 0.08 else THIN_ASK if roll < 0.25 else Decimal(rng.randint(5, 55)) / 100
            )
            plan.append(
                Attempt(
                    order_id=order_id,
                    seq=seq,
                    price=price,
                    count=Decimal(count),
                    client_id=f"soak-{n}-{seq}-{rng.getrandbits(32):08x}"
                    if rng.random() < CLIENT_ID_RATE
                    else None,
                    fault=rng.choices(list(POST_FAULTS), list(POST_FAULTS.values()))[0],
                    in_call=rng.random() < IN_CALL_RATE,
                    blackout=rng.random() < BLACKOUT_RATE,
                    flaky_read=rng.random() < FLAKY_READ_RATE,
                )
            )
        plans.append(plan)
    return plans


class PlannedSchedule:
    """The proxy's schedule: each amend gets its planned fault; reads pass, except the
    planned ones of the attempt running on the order (blackout: all; flaky: the first)."""

    def __init__(self, plans: Iterable[Sequence[Attempt]]) -> None:
        self._by_key = {a.key: a for plan in plans for a in plan}
        # order id -> the attempt now running on it (workers own their orders: one each)
        self.running: dict[str, Attempt] = {}
        self._reads: Counter[tuple[str, int]] = Counter()  # reads seen per attempt

    def __call__(self, info: RequestInfo) -> Fault:
        path = info.target.split("?", 1)[0]
        parts = path.split("/")
        if info.method == "POST" and path.endswith("/amend"):
            count = Decimal(json.loads(info.body)["count"])
            attempt = self._by_key.get((parts[-2], count))
            return attempt.fault if attempt is not None else Fault.PASS
        if info.method == "GET" and path.startswith(ORDER_PATH.format("")):
            attempt = self.running.get(parts[-1])
            if attempt is None:
                return Fault.PASS
            seen = self._reads[(attempt.order_id, attempt.seq)]
            self._reads[(attempt.order_id, attempt.seq)] += 1
            if attempt.blackout or (attempt.flaky_read and seen == 0):
                return READ_FAULTS[(seen + attempt.seq) % len(READ_FAULTS)]
        return Fault.PASS


# -- the judge ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    """What the exchange did with one attempt."""

    sends: int  # POSTs of it the proxy forwarded (the client never re-sends: at most 1)
    applied: int  # times the exchange applied it (at most 1)
    answered_at: float | None  # when the exchange's answer to it was back at the proxy


def amend_records(records: Sequence[ProxyRecord]) -> dict[tuple[str, Decimal], list[ProxyRecord]]:
    out: dict[tuple[str, Decimal], list[ProxyRecord]] = {}
    for record in records:
        info = record.request
        if info.method == "POST" and info.target.split("?", 1)[0].endswith("/amend"):
            order_id = info.target.split("?", 1)[0].split("/")[-2]
            count = Decimal(json.loads(info.body)["count"])
            out.setdefault((order_id, count), []).append(record)
    return out


def ground_truth(
    exchange: Exchange, attempts: Sequence[Attempt], records: Sequence[ProxyRecord]
) -> tuple[dict[tuple[str, Decimal], Truth], list[str]]:
    """What the exchange did with each attempt, and where its records disagree with each other."""
    by_key = amend_records(records)
    problems: list[str] = []
    planned = {a.key for a in attempts}
    applied_by_key: Counter[tuple[str, Decimal]] = Counter()
    for entry in exchange.applied_amends():
        key = (entry.order_id, entry.count)
        applied_by_key[key] += 1
        wire_ids = {json.loads(r.request.body).get("updated_client_order_id") for r in by_key.get(key, [])}
        if key not in planned or wire_ids != {entry.updated_client_order_id}:
            problems.append(f"the exchange applied {entry}, which no forwarded request asked for")
    truth = {}
    for attempt in attempts:
        recs = by_key.get(attempt.key, [])
        # The proxy's view of the same thing: what the exchange answered the request.
        answered_ok = sum(1 for r in recs if r.forwarded and r.upstream_status == 200)
        if applied_by_key[attempt.key] != answered_ok:
            problems.append(
                f"order {attempt.order_id} attempt {attempt.seq}: applied {applied_by_key[attempt.key]} "
                f"times, but the exchange answered it 200 {answered_ok} times"
            )
        answered = [r.answered_at for r in recs if r.answered_at is not None]
        truth[attempt.key] = Truth(
            sends=sum(1 for r in recs if r.forwarded),
            applied=applied_by_key[attempt.key],
            answered_at=max(answered) if answered else None,
        )
    return truth, problems


def reads_of(attempt: Attempt, records: Sequence[ProxyRecord]) -> list[ProxyRecord]:
    """The Get Order requests made while the attempt ran (its worker alone reads its order)."""
    start, end = attempt.window
    path = ORDER_PATH.format(attempt.order_id)
    return [r for r in records[start:end] if r.request.method == "GET" and r.request.target.startswith(path)]


def judge(
    exchange: Exchange, plans: Sequence[Sequence[Attempt]], records: Sequence[ProxyRecord]
) -> tuple[list[str], Counter[str]]:
    """Every contradiction between a verdict and the ground truth, and the tallies."""
    attempts = [a for plan in plans for a in plan]
    truth, problems = ground_truth(exchange, attempts, records)
    sent = amend_records(records)
    tally: Counter[str] = Counter()

    def wrong(attempt: Attempt, what: str) -> None:
        problems.append(
            f"order {attempt.order_id} attempt {attempt.seq} (fault {attempt.fault}, "
            f"{'in-call' if attempt.in_call else 'resolve_amend'}, verdict {attempt.verdict}): {what}"
        )

    for attempt in attempts:
        t = truth[attempt.key]
        if t.sends > 1 or t.applied > 1:
            wrong(attempt, f"sent {t.sends} times, applied {t.applied} times")
        if attempt.claim is Claim.APPLIED and not t.applied:
            wrong(attempt, "said applied, the exchange did not apply it")
        if attempt.claim is Claim.NOT_APPLIED and t.applied:
            wrong(attempt, "said not applied, the exchange applied it")
        if attempt.verdict == "NotSent" and sent.get(attempt.key):
            # Whether or not the proxy passed it on: it left the client, so sending it
            # again could apply it twice.
            wrong(attempt, "said not sent, but the proxy received it")
        if not attempt.fault.forwards and t.applied:
            wrong(attempt, f"applied although the proxy never forwarded it ({attempt.fault})")
        if attempt.claim is Claim.NOT_APPLIED_WHEN_READ and t.applied:
            # Applied: only right if the amend may have landed after the read.
            served = [r.forwarded_at for r in reads_of(attempt, records) if r.client_status == 200]
            first_read = min((at for at in served if at is not None), default=None)
            if first_read is None:
                wrong(attempt, "said not applied when read, but no read reached the exchange")
            elif t.answered_at is not None and t.answered_at < first_read:
                wrong(attempt, "said not applied when read, but it was applied before the read was sent")
            else:
                tally["not applied when read, applied after the read"] += 1
        if attempt.claim is Claim.ORDER_CLOSED:
            status = exchange.order(attempt.order_id).status
            order = getattr(attempt.resolution, "order", None)
            read_status = getattr(getattr(order, "status", None), "value", None)
            if status is OrderStatus.RESTING or read_status == OrderStatus.RESTING.value:
                wrong(attempt, f"said order closed; it is {status}, read as {read_status}")
        if attempt.claim is Claim.UNKNOWN:
            read_error = getattr(attempt.resolution, "read_error", None)
            if read_error is None:
                wrong(attempt, "still unknown without a failed read")
            elif not attempt.blackout and not timed_out(read_error):
                wrong(attempt, f"still unknown, but no read was faulted: {read_error!r}")
            elif not attempt.blackout:
                tally["still unknown: the read timed out on a loaded box"] += 1
        if attempt.blackout and attempt.resolution is not None and attempt.claim is not Claim.UNKNOWN:
            wrong(attempt, "every read failed, yet it was resolved")
        if attempt.resolution is not None and not attempt.blackout and attempt.flaky_read:
            tally["resolved although the first read failed"] += 1
        if attempt.claim is None:
            wrong(attempt, "never ran")
        if attempt.verdict == "200" and attempt.fault is not Fault.PASS:
            wrong(attempt, "the client saw a 200 that the proxy never let through")
        wire_ids = {
            json.loads(r.request.body).get("updated_client_order_id") for r in sent.get(attempt.key, [])
        }
        if attempt.sent_client_id is not None and wire_ids and wire_ids != {attempt.sent_client_id}:
            wrong(attempt, f"reports client id {attempt.sent_client_id}, sent {wire_ids}")
        if attempt.in_call and None in wire_ids:
            wrong(attempt, "resolve=True sent the amend without an updated_client_order_id")
        problems += [f"order {attempt.order_id} attempt {attempt.seq}: {note}" for note in attempt.notes]
    problems += [
        f"proxy failed on {r.request.method} {r.request.target}: {r.error}" for r in records if r.error
    ]
    problems += cross_check_exchange(exchange, plans, records, truth)
    applied = [a for a in attempts if truth[a.key].applied]
    tally["applied in all (ground truth)"] = len(applied)
    tally["applied at a price that crosses the maker's asks"] = sum(1 for a in applied if a.price >= THIN_ASK)
    tally["trades made by amends"] = sum(1 for f in exchange.fills(ticker=MARKET) if f.taker_account == BOT)
    return problems, tally


def cross_check_exchange(
    exchange: Exchange,
    plans: Sequence[Sequence[Attempt]],
    records: Sequence[ProxyRecord],
    truth: Mapping[tuple[str, Decimal], Truth],
) -> list[str]:
    """The ground truth agrees with the exchange's own log and each order's final state."""
    problems = []
    log_ok: Counter[str] = Counter(
        r.path for r in exchange.requests if r.method == "POST" and r.status == 200
    )
    for plan in plans:
        order_id = plan[0].order_id
        applied = [a for a in plan if truth[a.key].applied]
        if log_ok[AMEND_PATH.format(order_id)] != len(applied):
            problems.append(
                f"order {order_id}: the exchange logged {log_ok[AMEND_PATH.format(order_id)]} "
                f"applied amends, ground truth says {len(applied)}"
            )
        if applied:
            # The one the exchange applied last (a late request can overtake the next one).
            last = exchange.applied_amends(order_id)[-1]
            order = exchange.order(order_id)
            if (order.price, order.count) != (last.price, last.count):
                problems.append(
                    f"order {order_id}: ends at {order.price} x {order.count}, "
                    f"its last applied amend asked {last.price} x {last.count}"
                )
    if exchange.server_errors:
        problems.append(f"the exchange recorded its own errors: {exchange.server_errors[:3]}")
    return problems


def timed_out(error: BaseException) -> bool:
    """Whether a timeout is somewhere in the error's chain (the client gave up waiting)."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if (
            isinstance(seen, httpx.TimeoutException | TimeoutError)
            or "timeout" in type(seen).__name__.lower()
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def report(
    name: str, seed: int, plans: Sequence[Sequence[Attempt]], tally: Counter[str], seconds: float
) -> str:
    """The counts, with a table of what each fault ended as."""
    attempts = [a for plan in plans for a in plan]
    resolutions = Counter(a.resolution.kind.name for a in attempts if a.resolution is not None)
    verdicts = Counter(a.verdict for a in attempts)
    claims = list(Claim)
    lines = [
        f"{name}: {len(attempts)} amends on {len(plans)} orders in {seconds:.1f} s "
        f"(seed {seed}: SOAK_SEED={seed} replays it)",
        f"  {resolutions.total()} unknown outcomes, resolved as: "
        + ", ".join(f"{k} {n}" for k, n in sorted(resolutions.items())),
        *(f"  {n:4d}  {verdict}" for verdict, n in sorted(verdicts.items())),
        *(
            f"  {n:4d}  {what}"
            for what, n in sorted(tally.items())
            if not what.startswith(("verdict", "fault"))
        ),
        f"  {'fault':<17}" + "".join(f"{c:>23}" for c in claims),
    ]
    for fault in Fault:
        row = Counter(a.claim for a in attempts if a.fault is fault)
        if row:
            lines.append(f"  {fault:<17}" + "".join(f"{row[c]:>23}" for c in claims))
    return "\n".join(lines)


# What the soak printed, for the terminal summary (tests/soak/conftest.py).
REPORTS: list[str] = []
