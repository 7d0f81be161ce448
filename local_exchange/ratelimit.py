"""Kalshi-style token bucket: each account has a write bucket; an amend costs 10 tokens.

Tokens are not money, so plain floats are fine here. Time comes from the exchange's
clock, so a frozen test clock gives a bucket that never refills (deterministic 429s).
"""

from __future__ import annotations

from dataclasses import dataclass


def _millis(now_s: float) -> int:
    # Whole milliseconds: a Unix time as a float carries ~1e-7 s of error, which would
    # make "0.1 s later" refill 9.99999 tokens instead of 10.
    return round(now_s * 1000)


@dataclass
class TokenBucket:
    capacity: float
    refill_per_s: float
    tokens: float
    updated_ms: int

    @classmethod
    def full(cls, capacity: float, refill_per_s: float, now_s: float) -> TokenBucket:
        return cls(capacity, refill_per_s, tokens=capacity, updated_ms=_millis(now_s))

    def try_take(self, cost: float, now_s: float) -> bool:
        """Takes `cost` tokens if the bucket holds them; a refusal takes nothing."""
        now_ms = _millis(now_s)
        # A clock stepping backwards (a test changing the skew) neither drains nor refills.
        elapsed_ms = max(0, now_ms - self.updated_ms)
        self.tokens = min(self.capacity, self.tokens + elapsed_ms * self.refill_per_s / 1000)
        self.updated_ms = max(self.updated_ms, now_ms)
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True
