"""Opt-in: RSA signatures prepared in the background, so a hot amend skips the RSA math.

Kalshi signs ``timestamp + METHOD + path`` and not the body, so the signature for
the next amend of an order can be made before the amend's price is known. An RSA-2048
signature costs about 0.24 ms; with ``KalshiAuth(..., presign=True)`` a worker thread
keeps one fresh signature ready for each HOT path, and the request takes it instead
of signing. (Ed25519 keys ignore the option: their ~0.03 ms signature is cheaper than
the hand-over between threads.)

The work is bounded:

* A path is hot once it has been signed twice within ``idle_s`` (an order being
  amended again and again). A path signed once, the usual case for most orders, costs
  the worker nothing; at most :data:`SEEN_KEPT` such paths are remembered.
* At most ``max_paths`` (default 64) paths are hot; a new one pushes out the least
  recently used.
* A hot path's signature is remade when it is ``max_age_ms / 2`` old, and only while
  the path was used within ``idle_s`` (default 5 s). After that the worker sleeps on a
  condition with no timeout: nothing at all runs while the bot is idle.
* Each prepared signature is used at most once and is dropped once it is older than
  ``max_age_ms`` (default 1 s, well inside the exchange's timestamp window), so the
  timestamp Kalshi sees may be up to that much older than the send time.

It pays off when the bot has idle time between amends of an order (waiting for the
market) and a spare core: cryptography releases the GIL while it signs. Amends sent
back to back on a busy machine find the worker still signing; the request then waits
for that signature instead of making a second one, so it is never slower by more than
the hand-over.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# (method, path) -> (timestamp_ms, signature)
_Key = tuple[str, str]
_Prepared = tuple[int, str]

# Paths signed once, remembered to notice a second use (oldest forgotten first).
SEEN_KEPT = 1024


class SignaturePipeline:
    """Keeps one fresh, single-use signature ready per hot (method, path)."""

    def __init__(
        self,
        sign: Callable[[str, str], _Prepared],
        now_ms: Callable[[], int],  # read the clock only: ages and bookkeeping, no timestamps
        *,
        max_age_ms: int = 1000,
        idle_s: float = 5.0,
        max_paths: int = 64,
    ) -> None:
        if not 0 < max_age_ms <= 5000:
            raise ValueError("max_age_ms must be in (0, 5000]: prepared timestamps must stay fresh")
        if max_paths < 1:
            raise ValueError("max_paths must be 1 or more")
        self._sign = sign
        self._now_ms = now_ms
        self._max_age_ms = max_age_ms
        self._refresh_ms = max_age_ms // 2
        self._idle_ms = int(idle_s * 1000)
        self._max_paths = max_paths
        self._ready: dict[_Key, tuple[int, _Prepared]] = {}  # with when it was made (clock read)
        self._signing: set[_Key] = set()
        self._seen: dict[_Key, int] = {}  # signed once: when
        self._hot: dict[_Key, int] = {}  # signed twice or more: last use
        self._cond = threading.Condition()
        self._closed = False
        self._generation = 0  # bumped by discard_all: a signature begun before is not stored
        self._thread: threading.Thread | None = None
        self.hits = 0  # requests that went out with a prepared signature (for monitoring)
        self.misses = 0  # requests that had to sign inline
        self.signatures = 0  # signatures the worker made (for monitoring)
        self.wakeups = 0  # times the worker woke up (for monitoring)
        self.worker_cpu_s = 0.0  # CPU time of the worker thread, as of its last wake-up

    def take(self, method: str, path: str, *, wait: bool = True) -> _Prepared | None:
        """A prepared (timestamp, signature) for this request, or None; never the same one twice.

        With ``wait`` (not in async code, where it would block the event loop), a
        signature the worker is making for this path right now is waited for: cheaper
        than signing a second time, and bounded by that one signature.
        """
        key = (method, path)
        with self._cond:
            while wait and key in self._signing and not self._closed:
                self._cond.wait(0.05)
            made = self._ready.pop(key, None)
            prepared = None if made is None else made[1]
            now = self._now_ms()
            if self._note_use(key, now):
                self._ensure_worker()
                self._cond.notify_all()  # the worker prepares the next one
            # Fresh means issued within max_age, and not far ahead of the clock (the offset
            # may have moved back since it was made; timestamps, strictly increasing, may
            # run a little ahead of the clock in a burst).
            if prepared is not None and -self._max_age_ms <= now - prepared[0] < self._max_age_ms:
                self.hits += 1
                return prepared
            self.misses += 1
            return None

    def _note_use(self, key: _Key, now: int) -> bool:
        """Records a use of ``key``; True when it is (now) hot."""
        if key in self._hot:
            self._hot[key] = now
            return True
        first = self._seen.pop(key, None)
        if first is None or now - first > self._idle_ms:
            if len(self._seen) >= SEEN_KEPT:
                del self._seen[next(iter(self._seen))]  # the oldest
            self._seen[key] = now
            return False
        if len(self._hot) >= self._max_paths:
            coldest = min(self._hot, key=self._hot.__getitem__)
            del self._hot[coldest]
            self._ready.pop(coldest, None)
        self._hot[key] = now
        return True

    def discard_all(self) -> None:
        """Drops every prepared signature (their timestamps used an outdated clock offset)."""
        with self._cond:
            self._ready.clear()
            self._generation += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._ready.clear()
            self._cond.notify_all()

    def _ensure_worker(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name="kalshi-presign", daemon=True)
            self._thread.start()

    def _next_due(self, now: int) -> tuple[_Key | None, int | None]:
        """The hot path to sign now, else None and when to look again (None: not until used)."""
        wake_at: int | None = None
        for key, used in list(self._hot.items()):
            if now - used > self._idle_ms:
                # Idle: forgotten, so the worker sleeps; a new use has to earn it back.
                del self._hot[key]
                self._ready.pop(key, None)
                continue
            if key in self._signing:
                continue
            made = self._ready.get(key)
            # Due by when it was made, not by its timestamp: timestamps may run ahead of
            # the clock, and re-signing for that would push them further ahead.
            if made is None or not 0 <= now - made[0] < self._refresh_ms:
                return key, None
            at = min(made[0] + self._refresh_ms, used + self._idle_ms + 1)
            wake_at = at if wake_at is None else min(wake_at, at)
        return None, wake_at

    def _run(self) -> None:
        while True:
            with self._cond:
                self.worker_cpu_s = time.thread_time()
                if self._closed:
                    return
                now = self._now_ms()
                key, wake_at = self._next_due(now)
                if key is None:
                    # No timeout when nothing is hot: asleep until a request uses a path twice.
                    self._cond.wait(None if wake_at is None else max(0.001, (wake_at - now) / 1000))
                    self.wakeups += 1
                    continue
                self._signing.add(key)  # one at a time: take() waits only for the path being signed
                generation = self._generation
                made_at = now
            prepared: _Prepared | None = None
            try:
                # Outside the lock (cryptography releases the GIL while it signs).
                prepared = self._sign(*key)
            finally:  # a failed signature leaves the request to sign inline
                with self._cond:
                    self.signatures += 1
                    self._signing.discard(key)
                    if (
                        prepared is not None
                        and generation == self._generation
                        and key in self._hot
                        and not self._closed
                    ):
                        self._ready[key] = (made_at, prepared)
                    self._cond.notify_all()
