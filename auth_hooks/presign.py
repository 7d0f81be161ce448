"""Opt-in: RSA signatures prepared in the background, so a hot amend skips the RSA math.

Kalshi signs ``timestamp + METHOD + path`` and not the body, so the signature for
the next amend of an order can be made before the amend's price is known. An RSA-2048
signature costs about 0.24 ms; with ``KalshiAuth(..., presign=True)`` a worker thread
keeps one fresh signature ready for each path recently signed, and the request takes
it instead of signing. (Ed25519 keys ignore the option: their ~0.03 ms signature is
cheaper than the hand-over between threads.)

Trade-offs, all bounded:

* Each prepared signature is used at most once and is dropped once it is older than
  ``max_age_ms`` (default 1 s, well inside the exchange's timestamp window), so the
  timestamp Kalshi sees may be up to that much older than the send time.
* The worker spends one signature per hot path every ``max_age_ms / 2`` while the path
  is idle, and forgets a path ``idle_s`` after its last use.
* It pays off when the bot has idle time between amends of an order (waiting for the
  market) and a spare core: cryptography releases the GIL while it signs. Amends sent
  back to back on a busy machine find the worker still signing; the request then waits
  for that signature instead of making a second one, so it is never slower by more
  than the hand-over.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

# (method, path) -> (timestamp_ms, signature)
_Key = tuple[str, str]
_Prepared = tuple[int, str]


class SignaturePipeline:
    """Keeps one fresh, single-use signature ready per hot (method, path)."""

    def __init__(
        self,
        sign: Callable[[str, str], _Prepared],
        now_ms: Callable[[], int],  # read the clock only: ages and bookkeeping, no timestamps
        *,
        max_age_ms: int = 1000,
        idle_s: float = 30.0,
    ) -> None:
        if not 0 < max_age_ms <= 5000:
            raise ValueError("max_age_ms must be in (0, 5000]: prepared timestamps must stay fresh")
        self._sign = sign
        self._now_ms = now_ms
        self._max_age_ms = max_age_ms
        self._idle_ms = int(idle_s * 1000)
        self._ready: dict[_Key, _Prepared] = {}
        self._signing: set[_Key] = set()
        self._last_used: dict[_Key, int] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._generation = 0  # bumped by discard_all: a signature begun before is not stored
        self._thread: threading.Thread | None = None
        self.hits = 0  # requests that went out with a prepared signature (for monitoring)
        self.misses = 0  # requests that had to sign inline

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
            prepared = self._ready.pop(key, None)
            now = self._now_ms()
            self._last_used[key] = now
            self._ensure_worker()
            self._cond.notify_all()  # the worker prepares the next one
            # Fresh means issued within max_age and not ahead of the clock (the offset
            # may have moved back since it was made).
            if prepared is not None and 0 <= now - prepared[0] < self._max_age_ms:
                self.hits += 1
                return prepared
            self.misses += 1
            return None

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

    def _due(self, now: int) -> list[_Key]:
        refresh_ms = self._max_age_ms // 2
        for key, used in list(self._last_used.items()):
            if now - used > self._idle_ms:
                del self._last_used[key]
                self._ready.pop(key, None)
        return [
            key
            for key in self._last_used
            if key not in self._ready or now - self._ready[key][0] >= refresh_ms
        ]

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                due = self._due(self._now_ms())
                if not due:
                    self._cond.wait(timeout=self._max_age_ms / 2000)
                    continue
                key = due[0]  # one at a time: take() waits only for the path being signed
                self._signing.add(key)
                generation = self._generation
            prepared: _Prepared | None = None
            try:
                # Outside the lock (cryptography releases the GIL while it signs).
                prepared = self._sign(*key)
            finally:  # a failed signature leaves the request to sign inline
                with self._cond:
                    self._signing.discard(key)
                    if (
                        prepared is not None
                        and generation == self._generation
                        and key in self._last_used
                        and not self._closed
                    ):
                        self._ready[key] = prepared
                    self._cond.notify_all()
