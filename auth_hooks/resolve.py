"""What became of an amend whose outcome is unknown: read the order back and judge.

:func:`resolve_amend` (and :func:`resolve_amend_async`) takes the
:class:`~auth_hooks.errors.OutcomeUnknown` an amend raised, which carries the order id
and what was asked, reads the order with Get Order (retried a bounded number of times
within one deadline; a read changes nothing) and returns an :class:`AmendResolution`:

* ``APPLIED``: the order shows the amend's end state. Exactly, by its client order id
  when the amend carried an ``updated_client_order_id`` (client ids are permanent per
  account, so the order carries it only if the amend was applied; a resting order must
  also show the asked price and total, in case it carried that id before); otherwise by
  its YES price and total count (filled + remaining, which later fills do not change).
* ``NOT_APPLIED_WHEN_READ``: the order rests in another state. True as of the read
  only: a request delayed on the way can still arrive until its signed timestamp
  leaves the exchange's window (unpublished; users saw a few seconds pass and 30-60 s
  refused).
* ``ORDER_CLOSED``: the order is executed or canceled, so the amend no longer matters.
* ``STILL_UNKNOWN``: the read failed too (``read_error`` says how), or the order is in a
  status that tells nothing (neither resting nor final).

Without an ``updated_client_order_id``, an amend that asks for the state the order is
already in (an expiry-only amend to the current expiry, say) reads as applied whether
or not it arrived: its end state is the same either way. ``resolve=True`` avoids the
question by giving every amend an id of its own.

The amend itself is never sent again here.
"""

from __future__ import annotations

import enum
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import attrs
from kalshi_trade_api.api.orders import get_order
from kalshi_trade_api.client import AuthenticatedClient
from kalshi_trade_api.models import AmendOrderV2Request, GetOrderResponse, Order, OrderStatus

from .call import Answer, ReadRetry, call_with_retry, call_with_retry_async
from .errors import KalshiConfigError, OutcomeUnknown, RequestOutcome

# Reading the order back: attempts in all, within one deadline.
RESOLVE_ATTEMPTS = 4
RESOLVE_DEADLINE_S = 15.0


class Resolution(enum.Enum):
    APPLIED = "applied"
    NOT_APPLIED_WHEN_READ = "not_applied_when_read"
    ORDER_CLOSED = "order_closed"
    STILL_UNKNOWN = "still_unknown"


@attrs.frozen
class AmendResolution:
    """The verdict on one unknown amend, with the order as read (no second call needed)."""

    kind: Resolution
    order_id: str
    order: Order | None  # None only for STILL_UNKNOWN
    content: bytes | None  # the Get Order body exactly as received
    read_at: datetime | None  # when the answer of the read arrived (UTC)
    read_error: RequestOutcome | None = None  # STILL_UNKNOWN only


def resolve_amend(
    client: AuthenticatedClient, outcome: OutcomeUnknown, *, deadline_s: float = RESOLVE_DEADLINE_S
) -> AmendResolution:
    """Reads the order of an unknown amend and says what happened to it."""
    order_id, asked = _what_was_asked(outcome)
    retry = ReadRetry(attempts=RESOLVE_ATTEMPTS, deadline=time.monotonic() + deadline_s)
    try:
        answer: Answer[GetOrderResponse] = call_with_retry(
            get_order.sync_detailed, (order_id,), {"client": client}, retry
        )
    except RequestOutcome as failed:
        return AmendResolution(Resolution.STILL_UNKNOWN, order_id, None, None, None, failed)
    return judge(order_id, asked, answer)


async def resolve_amend_async(
    client: AuthenticatedClient, outcome: OutcomeUnknown, *, deadline_s: float = RESOLVE_DEADLINE_S
) -> AmendResolution:
    """The async twin of :func:`resolve_amend`."""
    order_id, asked = _what_was_asked(outcome)
    retry = ReadRetry(attempts=RESOLVE_ATTEMPTS, deadline=time.monotonic() + deadline_s)
    try:
        answer: Answer[GetOrderResponse] = await call_with_retry_async(
            get_order.asyncio_detailed, (order_id,), {"client": client}, retry
        )
    except RequestOutcome as failed:
        return AmendResolution(Resolution.STILL_UNKNOWN, order_id, None, None, None, failed)
    return judge(order_id, asked, answer)


# Final states: the amend no longer matters. Any other status than these and resting
# (one the spec may add later) tells nothing, so it leaves the outcome unknown.
CLOSED = frozenset({OrderStatus.CANCELED, OrderStatus.EXECUTED})


def judge(order_id: str, asked: AmendOrderV2Request, answer: Answer[GetOrderResponse]) -> AmendResolution:
    """The resolution for an order read back after an amend that asked for ``asked``."""
    order = answer.parsed.order
    read_at = datetime.now(UTC)
    if _shows_amend(order, asked):
        kind = Resolution.APPLIED
    elif order.status in CLOSED:
        kind = Resolution.ORDER_CLOSED
    elif order.status == OrderStatus.RESTING:
        kind = Resolution.NOT_APPLIED_WHEN_READ
    else:
        kind = Resolution.STILL_UNKNOWN
    return AmendResolution(kind, order_id, order, answer.content, read_at)


def _shows_amend(order: Order, asked: AmendOrderV2Request) -> bool:
    closed = order.status in CLOSED
    if isinstance(asked.updated_client_order_id, str):
        if order.client_order_id != asked.updated_client_order_id:
            return False
        # The id is the proof, unless the order carried it already (that amend was
        # refused with 409): then the resting order must show the asked state too.
        return closed or _has_end_state(order, asked)
    # Without an id of its own, only a resting order's end state tells: fills and
    # cancels move a closed one on.
    return order.status == OrderStatus.RESTING and _has_end_state(order, asked)


def _has_end_state(order: Order, asked: AmendOrderV2Request) -> bool:
    """The order's YES price and total count (filled + remaining), and its expiry when the
    amend set one, are what the amend asked."""
    try:
        price = Decimal(order.yes_price_dollars)
        total = Decimal(order.fill_count_fp) + Decimal(order.remaining_count_fp)
        if price != Decimal(asked.price) or total != Decimal(asked.count):
            return False
    except (InvalidOperation, TypeError):
        return False
    if isinstance(asked.expiration_time, int):
        return _expiry_s(order.expiration_time) == (asked.expiration_time or None)
    return True


def _expiry_s(value: object) -> int | None:
    """An order's RFC 3339 expiration_time in Unix seconds; None for none (good till canceled)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return -1  # unreadable: matches no asked expiry


def _what_was_asked(outcome: OutcomeUnknown) -> tuple[str, AmendOrderV2Request]:
    asked = outcome.request_body
    if not isinstance(outcome, OutcomeUnknown) or outcome.order_id is None:
        raise KalshiConfigError("resolve_amend takes the OutcomeUnknown that amend_order raised")
    if not isinstance(asked, AmendOrderV2Request):
        raise KalshiConfigError("this OutcomeUnknown carries no amend request: was it raised by amend_order?")
    return outcome.order_id, asked
