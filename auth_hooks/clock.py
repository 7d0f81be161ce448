"""The exchange's clock as seen from here, learned from response ``Date`` headers.

Kalshi rejects a request whose ``KALSHI-ACCESS-TIMESTAMP`` is too far from its own
clock (``401 header_timestamp_expired``) and does not publish the tolerance; users
measured that a few seconds pass and 30-60 s fail. A host whose clock is off would
fail every request, so the offset (server minus local) is estimated from the
``Date`` header of responses and added to every timestamp.

One reading is an interval, not a point. ``Date`` has one-second resolution and is
stamped somewhere between the moment the request was handed over (``sent_at``) and
the moment the response's headers arrived (``received_at``), so the offset lies in::

    [Date - received_at, Date + 1 s - sent_at]

whatever the order responses arrive in. The estimate moves only when a reading's
interval excludes it by more than :data:`MARGIN_MS`, and then only to the interval's
nearest edge: every move brings it closer to the true offset (which is inside every
honest interval), so readings across a second boundary cannot flip it back and forth,
and a reading that agrees with the estimate (a tie) changes nothing.

What is not a reading: a ``Date`` that is not a whole RFC 7231 IMF-fixdate in GMT, an
interval wider than :data:`MAX_SPAN_MS` (a slow round trip or a slow body says little
and must not skew the estimate), and an offset beyond :data:`MAX_OFFSET_MS`. A move of
more than :data:`MAX_STEP_MS` needs :data:`AGREEING_READINGS` readings in a row whose
intervals overlap, or a forced reading (the exchange refused our timestamp with
``401 header_timestamp_expired``), which puts the estimate in the middle of its interval.

Timestamps handed out for signing strictly increase: two requests to one path with
one timestamp would carry the same signature (Ed25519 signatures are deterministic),
which an exchange may refuse as a replay. An offset change never resets this. The one
exception is a forced reading that finds the timestamps already issued more than
:data:`RESTART_AHEAD_MS` ahead of the exchange's clock: the exchange has just refused
them as too far in the future, so the sequence restarts at the exchange's clock
(otherwise every request would be refused until the exchange's clock caught up). Even
then no timestamp is issued twice: the restarted sequence skips every one of the last
:data:`RECENT_KEPT` timestamps issued.
Beyond 1,000 signatures a second per key, timestamps run ahead of the clock by a
millisecond per extra signature; Kalshi's write limits are far below that.
"""

from __future__ import annotations

import calendar
import collections
import math
import re
import threading
import time
from collections.abc import Callable

MARGIN_MS = 100
MAX_SPAN_MS = 3000
MAX_STEP_MS = 5000
AGREEING_READINGS = 3
MAX_OFFSET_MS = 24 * 3600 * 1000
RESTART_AHEAD_MS = 1000
RECENT_KEPT = 4096

# RFC 7231 section 7.1.1.1, IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". The obsolete
# forms and anything else are not readings.
_IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(\d{4}) (\d\d):(\d\d):(\d\d) GMT"
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def parse_http_date(header: str) -> int | None:
    """Seconds since the epoch of a whole, valid IMF-fixdate (weekday included), else None."""
    match = _IMF_FIXDATE.fullmatch(header)
    if match is None:
        return None
    weekday, day, month, year, hour, minute, second = match.groups()
    fields = (int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second))
    try:
        seconds = calendar.timegm(fields)
        if time.gmtime(seconds)[:6] != fields:  # 31 Feb, 25:00:00, ... are not dates
            return None
    except (OverflowError, ValueError):
        return None
    if _DAYS[time.gmtime(seconds).tm_wday] != weekday:
        return None
    return seconds


class ServerClock:
    """Thread-safe estimate of ``server time - local time``, in milliseconds."""

    __slots__ = (
        "_avoid",
        "_avoid_max",
        "_clock",
        "_date",
        "_last_issued",
        "_listeners",
        "_lock",
        "_offset_ms",
        "_pending",
        "_recent",
    )

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._offset_ms = 0
        self._lock = threading.Lock()
        self._date: tuple[str, int | None] = ("", None)  # the last Date header parsed, and its value
        self._last_issued = 0
        self._recent: collections.deque[int] = collections.deque(maxlen=RECENT_KEPT)
        # After a restart: timestamps issued before that the new sequence must not repeat.
        self._avoid: frozenset[int] = frozenset()
        self._avoid_max = 0
        # Readings that would move the estimate more than MAX_STEP_MS: (low, high, count).
        self._pending: tuple[float, float, int] | None = None
        self._listeners: list[Callable[[int], None]] = []

    @property
    def offset_ms(self) -> int:
        """Current estimate of the exchange clock minus the local clock (for monitoring)."""
        return self._offset_ms

    def local_s(self) -> float:
        """The local clock, in seconds (the injected one in tests)."""
        return self._clock()

    def read_ms(self) -> int:
        """The exchange's time now, as best known (for ages and bookkeeping)."""
        return int(self._clock() * 1000) + self._offset_ms

    def now_ms(self) -> int:
        """A timestamp to sign with: :meth:`read_ms`, or one past the last issued if not later."""
        now = self.read_ms()
        with self._lock:
            if now <= self._last_issued:
                now = self._last_issued + 1
            if self._avoid:
                while now in self._avoid:
                    now += 1
                if now > self._avoid_max:
                    self._avoid = frozenset()
            self._last_issued = now
            self._recent.append(now)
        return now

    def on_change(self, listener: Callable[[int], None]) -> None:
        """Calls ``listener(new_offset_ms)`` whenever the offset changes."""
        self._listeners.append(listener)

    def observe(
        self,
        date_header: str | None,
        received_at: float,
        *,
        sent_at: float | None = None,
        force: bool = False,
    ) -> None:
        """Takes the ``Date`` of a response whose headers arrived at local time ``received_at``
        for a request handed over at ``sent_at`` (default: ``received_at``).

        ``force`` (after the exchange refused our timestamp) puts the estimate in the
        middle of the reading's interval, whatever the estimate was.
        """
        if date_header is None:
            return
        cached_header, date_s = self._date
        if date_header != cached_header:  # parsed once per second at most
            date_s = parse_http_date(date_header)
            self._date = (date_header, date_s)
        if date_s is None:
            return
        if sent_at is None or sent_at > received_at:
            sent_at = received_at
        low = date_s * 1000 - received_at * 1000
        high = low + 1000 + (received_at - sent_at) * 1000
        if high - low > MAX_SPAN_MS or abs(low) > MAX_OFFSET_MS or abs(high) > MAX_OFFSET_MS:
            return
        current = self._offset_ms
        if not force and low - MARGIN_MS <= current <= high + MARGIN_MS:
            if self._pending is not None:
                self._pending = None  # a reading that agrees: a far one seen before was an outlier
            return
        with self._lock:
            new = self._next_offset(self._offset_ms, low, high, force)
            if new is None:
                return
            self._offset_ms = new
            if force and self._last_issued - self.read_ms() > RESTART_AHEAD_MS:
                self._restart_at(self.read_ms())
            listeners = list(self._listeners)
        for listener in listeners:
            listener(new)

    def _restart_at(self, now: int) -> None:
        """The exchange refused timestamps that run ahead of its clock: issue from ``now`` on."""
        self._avoid = self._avoid | {stamp for stamp in self._recent if stamp >= now}
        self._avoid_max = max(self._avoid, default=0)
        self._last_issued = now - 1

    def _next_offset(self, current: int, low: float, high: float, force: bool) -> int | None:
        """The estimate after a reading that excludes ``current`` (or is forced); None: unchanged."""
        if force:
            self._pending = None
            new = round((low + high) / 2)
            return None if new == current else new
        if low - MARGIN_MS <= current <= high + MARGIN_MS:
            return None  # another thread moved it meanwhile
        new = _nearest_in(current, low, high)
        if abs(new - current) > MAX_STEP_MS:
            pending = self._pending
            if pending is not None and max(pending[0], low) <= min(pending[1], high):
                pending = (max(pending[0], low), min(pending[1], high), pending[2] + 1)
            else:
                pending = (low, high, 1)
            if pending[2] < AGREEING_READINGS:
                self._pending = pending
                return None
            new = _nearest_in(current, pending[0], pending[1])
        self._pending = None
        return None if new == current else new

    def __repr__(self) -> str:
        return f"ServerClock(offset_ms={self._offset_ms})"


def _nearest_in(value: int, low: float, high: float) -> int:
    """The whole millisecond in [low, high] nearest to ``value``."""
    return math.ceil(low) if value < low else math.floor(high)  # intervals are 1 s wide or more
