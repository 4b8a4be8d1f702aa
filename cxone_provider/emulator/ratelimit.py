"""Token-bucket rate limiting per OAuth client, with the numbers for the X-RateLimit headers."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Quota:
    """One request's verdict and the client's bucket right after it."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    retry_after_s: int

    def headers(self) -> dict[str, str]:
        """X-RateLimit-Limit (bucket size), -Remaining, -Reset (seconds until it is full)."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_s),
        }


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A bucket of `burst` tokens per client, refilled at `rate` per second; 0 turns it off."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        """Whether requests are limited at all."""
        return self.rate > 0

    def take(self, client_id: str) -> Quota:
        """Spend one token of the client's bucket if there is one."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.setdefault(client_id, _Bucket(float(self.burst), now))
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            allowed = bucket.tokens >= 1
            if allowed:
                bucket.tokens -= 1
            tokens = bucket.tokens
        return Quota(
            allowed=allowed,
            limit=self.burst,
            remaining=math.floor(tokens),
            reset_s=math.ceil((self.burst - tokens) / self.rate),
            retry_after_s=0 if allowed else max(1, math.ceil((1 - tokens) / self.rate)),
        )

    def reset(self) -> None:
        """Refill every bucket."""
        with self._lock:
            self._buckets.clear()
