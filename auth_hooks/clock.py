"""The exchange's clock as seen from here, learned from response ``Date`` headers.

Kalshi rejects a request whose ``KALSHI-ACCESS-TIMESTAMP`` is too far from its own
clock (``401 header_timestamp_expired``) and does not publish the tolerance; users
measured that a few seconds pass and 30-60 s fail. A host whose clock is off would
fail every request, so the offset (server minus local) is estimated from the
``Date`` header of every response and added to every timestamp.

``Date`` has one-second resolution: a single reading only places the server's clock
within about a second. Readings that move the estimate by less than
:data:`HYSTERESIS_MS` are ignored so the offset does not jitter; a timestamp
rejection forces an update whatever its size.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from email.utils import mktime_tz, parsedate_tz

HYSTERESIS_MS = 1000


class ServerClock:
    """Thread-safe estimate of ``server time - local time``, in milliseconds."""

    __slots__ = ("_clock", "_last_date", "_listeners", "_lock", "_offset_ms")

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._offset_ms = 0
        self._lock = threading.Lock()
        self._last_date: str | None = None
        self._listeners: list[Callable[[int], None]] = []

    @property
    def offset_ms(self) -> int:
        """Current estimate of the exchange clock minus the local clock (for monitoring)."""
        return self._offset_ms

    def local_s(self) -> float:
        """The local clock, in seconds (the injected one in tests)."""
        return self._clock()

    def now_ms(self) -> int:
        """The exchange's time now, as best known: what goes in KALSHI-ACCESS-TIMESTAMP."""
        return int(self._clock() * 1000) + self._offset_ms

    def on_change(self, listener: Callable[[int], None]) -> None:
        """Calls ``listener(new_offset_ms)`` whenever the offset changes."""
        self._listeners.append(listener)

    def observe(
        self, date_header: str | None, sent_at: float, received_at: float, *, force: bool = False
    ) -> None:
        """Takes one ``Date`` reading of a response to a request sent at ``sent_at``.

        ``force`` applies the reading even when it moves the estimate by less than the
        hysteresis (after the exchange rejected our timestamp).
        """
        if date_header is None or (date_header == self._last_date and not force):
            return  # the same second as the last reading tells nothing new
        parsed = parsedate_tz(date_header)
        if parsed is None:
            return
        self._last_date = date_header
        # The server stamped somewhere in [Date, Date + 1 s) while the request was in
        # flight: compare the middle of that second with the middle of the round trip.
        server_ms = mktime_tz(parsed) * 1000 + 500
        local_ms = (sent_at + received_at) * 500
        estimate = int(server_ms - local_ms)
        with self._lock:
            if not force and abs(estimate - self._offset_ms) < HYSTERESIS_MS:
                return
            if estimate == self._offset_ms:
                return
            self._offset_ms = estimate
            listeners = list(self._listeners)
        for listener in listeners:
            listener(estimate)
