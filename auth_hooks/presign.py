"""Opt-in: signatures prepared in the background, so a hot amend skips the RSA math.

Kalshi signs ``timestamp + METHOD + path`` and not the body, so the signature for
the next amend of an order can be made before the amend's price is known. An RSA-2048
signature costs about 0.2 ms, a third of a loopback amend; with
``KalshiAuth(..., presign=True)`` a worker thread keeps one fresh signature ready for
each path recently signed, and the request takes it instead of signing.

Trade-offs, all bounded:

* Each prepared signature is used at most once and is dropped once it is older than
  ``max_age_ms`` (default 1 s, well inside the exchange's timestamp window), so the
  timestamp Kalshi sees may be up to that much older than the send time.
* The worker spends one signature per hot path every ``max_age_ms / 2`` while the path
  is idle, and forgets a path ``idle_s`` after its last use.
* cryptography releases the GIL while it signs, so the worker runs on another core.
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
        now_ms: Callable[[], int],
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
        self._last_used: dict[_Key, int] = {}
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def take(self, method: str, path: str) -> _Prepared | None:
        """A prepared (timestamp, signature) for this request, or None; never the same one twice."""
        key = (method, path)
        with self._wake:
            prepared = self._ready.pop(key, None)
            self._last_used[key] = self._now_ms()
            self._ensure_worker()
            self._wake.notify()
        if prepared is not None and self._now_ms() - prepared[0] < self._max_age_ms:
            return prepared
        return None

    def discard_all(self) -> None:
        """Drops every prepared signature (their timestamps used an outdated clock offset)."""
        with self._wake:
            self._ready.clear()
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._ready.clear()
            self._wake.notify()

    def _ensure_worker(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name="kalshi-presign", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        refresh_ms = self._max_age_ms // 2
        while True:
            with self._wake:
                if self._closed:
                    return
                now = self._now_ms()
                for key, used in list(self._last_used.items()):
                    if now - used > self._idle_ms:
                        del self._last_used[key]
                        self._ready.pop(key, None)
                due = [
                    key
                    for key in self._last_used
                    if key not in self._ready or now - self._ready[key][0] >= refresh_ms
                ]
                if not due:
                    self._wake.wait(timeout=refresh_ms / 1000)
                    continue
            # Sign outside the lock: take() must never wait for a signature.
            for method, path in due:
                prepared = self._sign(method, path)
                with self._wake:
                    if (method, path) in self._last_used:
                        self._ready[(method, path)] = prepared
