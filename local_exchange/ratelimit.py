"""Kalshi-style token bucket: each account has a write bucket; an amend costs 10 tokens.

Tokens are not money, so plain floats are fine here. Time comes from the exchange's
clock, so a frozen test clock gives a bucket that never refills (deterministic 429s).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenBucket:
    capacity: float
    refill_per_s: float
    tokens: float
    updated_s: float

    @classmethod
    def full(cls, capacity: float, refill_per_s: float, now_s: float) -> TokenBucket:
        return cls(capacity=capacity, refill_per_s=refill_per_s, tokens=capacity, updated_s=now_s)

    def try_take(self, cost: float, now_s: float) -> bool:
        """Takes `cost` tokens if the bucket holds them; a refusal takes nothing."""
        # max(): a clock that steps backwards (a test changing the skew) must not drain it.
        elapsed = max(0.0, now_s - self.updated_s)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_s)
        self.updated_s = max(self.updated_s, now_s)
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True
