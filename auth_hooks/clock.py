"""The exchange's clock as seen from here, learned from response ``Date`` headers.

Kalshi rejects a request whose ``KALSHI-ACCESS-TIMESTAMP`` is too far from its own
clock (``401 header_timestamp_expired``) and does not publish the tolerance; users
measured that a few seconds pass and 30-60 s fail. A host whose clock is off would
fail every request, so the offset (server minus local) is estimated from the
``Date`` header of responses and added to every timestamp.

``Date`` has one-second resolution and is stamped when the response is written, so a
reading is compared with the moment the response arrived (not with when the request
was queued, which under load can be seconds earlier). Readings that move the estimate
by less than :data:`HYSTERESIS_MS` are ignored so the offset does not jitter; a
timestamp rejection forces an update whatever its size. Readings that would put the
exchange more than :data:`MAX_OFFSET_MS` away are garbage, not clocks, and ignored.

Timestamps handed out for signing differ from one another: two requests to one path
in the same millisecond would otherwise carry the same signature (Ed25519 signatures
are deterministic), which an exchange may refuse as a replay. A timestamp is moved at
most :data:`MAX_AHEAD_MS` past the clock to stay unique; beyond that (more than that
many signatures in a burst) a repeat is allowed rather than letting timestamps drift
ahead of the exchange.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from email.utils import mktime_tz, parsedate_tz

HYSTERESIS_MS = 1000
MAX_OFFSET_MS = 24 * 3600 * 1000
MAX_AHEAD_MS = 50


class ServerClock:
    """Thread-safe estimate of ``server time - local time``, in milliseconds."""

    __slots__ = ("_clock", "_last_date", "_last_issued", "_listeners", "_lock", "_offset_ms")

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._offset_ms = 0
        self._lock = threading.Lock()
        self._last_date: str | None = None
        self._last_issued = 0
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
        """A timestamp to sign with: :meth:`read_ms`, moved on a little if already issued."""
        now = self.read_ms()
        with self._lock:
            if self._last_issued >= now and self._last_issued - now < MAX_AHEAD_MS:
                now = self._last_issued + 1
            self._last_issued = max(now, self._last_issued)
        return now

    def on_change(self, listener: Callable[[int], None]) -> None:
        """Calls ``listener(new_offset_ms)`` whenever the offset changes."""
        self._listeners.append(listener)

    def observe(self, date_header: str | None, received_at: float, *, force: bool = False) -> None:
        """Takes the ``Date`` of a response that arrived at local time ``received_at``.

        ``force`` applies the reading even when it moves the estimate by less than the
        hysteresis (after the exchange rejected our timestamp).
        """
        if date_header is None or (date_header == self._last_date and not force):
            return  # the same second as the last reading tells nothing new
        parsed = parsedate_tz(date_header)
        if parsed is None:
            return
        try:
            # The exchange stamped somewhere in [Date, Date + 1 s): take the middle.
            server_ms = mktime_tz(parsed) * 1000 + 500
        except (OverflowError, ValueError):
            return
        self._last_date = date_header
        estimate = int(server_ms - received_at * 1000)
        if abs(estimate) > MAX_OFFSET_MS:
            return
        with self._lock:
            if force:
                # The exchange refused a timestamp we issued: start afresh from its clock.
                self._last_issued = 0
            if estimate == self._offset_ms or (not force and abs(estimate - self._offset_ms) < HYSTERESIS_MS):
                return
            self._offset_ms = estimate
            self._last_issued = 0  # a corrected clock may run behind what was issued: let it
            listeners = list(self._listeners)
        for listener in listeners:
            listener(estimate)
