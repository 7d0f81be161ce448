"""Kalshi's write rate limit, on the client side: avoid 429s, or opt in to retrying them.

Kalshi meters requests with token buckets per access tier; an amend costs
:data:`AMEND_TOKEN_COST` tokens from the account's write bucket, and an empty bucket
answers ``429`` with no ``Retry-After`` (see kalshi-facts.md, "Rate limits").

* :class:`WriteTokenBucket` keeps a local copy of that bucket so a bot waits a few
  milliseconds instead of getting a 429: ``amend_order(..., write_bucket=bucket)``.
  One bucket per account, shared by every thread and task that writes for it.
* :class:`RetryOn429` is an opt-in, bounded, jittered backoff for 429 alone:
  ``amend_order(..., rate_limit_retry=RetryOn429())``. Re-sending after a 429 is safe
  because a rejected amend was not applied; it is still off by default, since only the
  bot knows what an amend is worth a few hundred milliseconds later.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import attrs

# What an amend costs from the write bucket (kalshi-facts.md: "amend costs 10 tokens").
AMEND_TOKEN_COST = 10
# Write tokens per second by access tier, and how many seconds of refill a bucket holds.
# Source: kalshi-facts.md ("Basic tier: 100 write tokens per second, bucket holds
# 2 seconds"). Other tiers are not listed there; pass their numbers to the constructor.
TIER_WRITE_TOKENS_PER_S: dict[str, float] = {"basic": 100.0}
BUCKET_SECONDS = 2.0


class WriteTokenBucket:
    """A thread-safe token bucket, usable from threads (:meth:`acquire`) and asyncio
    (:meth:`acquire_async`) at once.

    Each caller reserves its tokens at once under a lock and then sleeps for exactly as
    long as the bucket needs to refill them (the bucket may go into debt), so waiting
    callers are served in arrival order and nobody polls.

    The exchange charges a request when it ARRIVES, this bucket when it leaves. When a
    request arrives late (a new connection's TLS handshake, network jitter) while the
    exchange's bucket is full, the exchange misses refill that this bucket counted: at
    most that request's own tokens. So ``margin`` tokens are kept back from the burst
    (by default one amend's worth: 19 amends of the Basic tier's 20), which covers one
    late amend at any delay; the sustained rate is unchanged. If a 429 must never
    surface, combine with :class:`RetryOn429`. ``clock`` (monotonic seconds) and
    ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        refill_per_s: float = TIER_WRITE_TOKENS_PER_S["basic"],
        capacity: float = TIER_WRITE_TOKENS_PER_S["basic"] * BUCKET_SECONDS,
        *,
        margin: float = AMEND_TOKEN_COST,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not refill_per_s > 0 or not capacity > 0:
            raise ValueError("refill_per_s and capacity must be positive")
        if not 0 <= margin < capacity:
            raise ValueError("margin must be 0 or more and less than the capacity")
        self.refill_per_s = float(refill_per_s)
        self.capacity = float(capacity)
        # What this bucket lets out in one burst: the capacity less the margin.
        self.burst = self.capacity - margin
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._updated = clock()

    @classmethod
    def for_tier(
        cls,
        tier: str,
        *,
        margin: float = AMEND_TOKEN_COST,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> WriteTokenBucket:
        """The write bucket of a Kalshi access tier (``"basic"``), full (less the margin)."""
        try:
            rate = TIER_WRITE_TOKENS_PER_S[tier.lower()]
        except KeyError:
            known = ", ".join(TIER_WRITE_TOKENS_PER_S)
            raise ValueError(
                f"unknown tier {tier!r} (known: {known}); pass refill_per_s and capacity instead"
            ) from None
        return cls(rate, rate * BUCKET_SECONDS, margin=margin, clock=clock, sleep=sleep)

    @property
    def available(self) -> float:
        """Tokens in the bucket now (negative while callers wait for reserved tokens)."""
        with self._lock:
            return self._refill()

    def acquire(self, cost: float = AMEND_TOKEN_COST) -> float:
        """Takes ``cost`` tokens, sleeping until the bucket holds them; returns the wait in seconds."""
        wait = self._reserve(cost)
        if wait > 0:
            self._sleep(wait)
        return wait

    async def acquire_async(self, cost: float = AMEND_TOKEN_COST) -> float:
        """:meth:`acquire` for asyncio: waits with ``asyncio.sleep``. Cancelling it gives the tokens back."""
        import asyncio  # here: importing it costs sync-only bots start-up time

        wait = self._reserve(cost)
        if wait > 0:
            try:
                await asyncio.sleep(wait)
            except asyncio.CancelledError:
                self._give_back(cost)
                raise
        return wait

    def try_acquire(self, cost: float = AMEND_TOKEN_COST) -> bool:
        """Takes ``cost`` tokens if they are there now; never waits."""
        self._check_cost(cost)
        with self._lock:
            if self._refill() < cost:
                return False
            self._tokens -= cost
            return True

    def drain(self) -> None:
        """Empties the bucket: the exchange said 429, so its bucket is emptier than ours
        (another process writes for the same account, or our numbers are too generous)."""
        with self._lock:
            self._tokens = min(self._refill(), 0.0)

    def __repr__(self) -> str:
        return (
            f"WriteTokenBucket(refill_per_s={self.refill_per_s:g}, capacity={self.capacity:g}, "
            f"burst={self.burst:g})"
        )

    def _reserve(self, cost: float) -> float:
        self._check_cost(cost)
        with self._lock:
            tokens = self._refill() - cost
            self._tokens = tokens
        return 0.0 if tokens >= 0 else -tokens / self.refill_per_s

    def _give_back(self, cost: float) -> None:
        with self._lock:
            self._tokens = min(self.burst, self._refill() + cost)

    def _refill(self) -> float:
        # Called with the lock held. max(): a clock that steps back must not drain the bucket.
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = max(self._updated, now)
        self._tokens = min(self.burst, self._tokens + elapsed * self.refill_per_s)
        return self._tokens

    def _check_cost(self, cost: float) -> None:
        if not 0 < cost <= self.burst:
            raise ValueError(f"cost must be in (0, burst={self.burst:g}], got {cost}")


@attrs.frozen
class RetryOn429:
    """Bounded, jittered exponential backoff for ``429`` only (never for anything that
    may have been applied).

    ``max_attempts`` counts every send, the first included. Before retry ``n`` (1, 2,
    ...) it waits between half and all of ``min(max_delay_s, base_delay_s * 2**(n-1))``
    ("equal jitter": never zero, so a retry does not land in the same empty bucket).
    """

    max_attempts: int = 3
    base_delay_s: float = 0.05
    max_delay_s: float = 1.0
    rng: random.Random = attrs.field(factory=random.Random, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be 1 or more (1: no retry)")
        if not 0 <= self.base_delay_s <= self.max_delay_s:
            raise ValueError("need 0 <= base_delay_s <= max_delay_s")

    def delay_s(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1 for the first re-send)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(retry - 1, 30))
        return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)
