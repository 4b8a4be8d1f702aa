"""Client-side pacing from the API's X-RateLimit headers, so that a busy tenant sees few 429s.

The server announces its token bucket on every answer: `X-RateLimit-Limit` (the bucket's
size), `X-RateLimit-Remaining` (tokens left) and `X-RateLimit-Reset` (seconds until the
bucket is full again). From those the refill rate follows, `(limit - remaining) / reset`,
and the pacer keeps a copy of the bucket: while it holds tokens, requests go at once; once
it is empty, each request waits for its token, so every thread of the process together
sends at the tenant's rate instead of in bursts that end in 429 storms. A server that
rounds Reset up to whole seconds makes the estimate low: the pacer then errs on the slow
side, never on the side of 429s.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Final

_LIMIT: Final = "X-RateLimit-Limit"
_REMAINING: Final = "X-RateLimit-Remaining"
_RESET: Final = "X-RateLimit-Reset"


class RatePacer:
    """A thread-safe mirror of the server's token bucket; `reserve` says how long to wait."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._capacity = 0.0
        self._rate = 0.0  # tokens per second; 0 until the server has told us its bucket
        self._tokens = math.inf  # unlimited until the server has told us its count
        self._updated = 0.0

    def reserve(self) -> float:
        """Take a token for one request; returns the seconds to sleep before sending it."""
        with self._lock:
            if self._rate <= 0:
                return 0.0
            self._refill()
            self._tokens -= 1
            # A negative count is a debt of tokens: the time the refill takes to pay it.
            return max(0.0, -self._tokens / self._rate)

    def wait(self) -> None:
        """Sleep until this request's token is due."""
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the bucket from an answer's headers; answers without them change nothing."""
        limit = _number(headers.get(_LIMIT))
        remaining = _number(headers.get(_REMAINING))
        reset = _number(headers.get(_RESET))
        if limit is None or remaining is None or reset is None:
            return
        with self._lock:
            self._refill()
            self._capacity = limit
            deficit = limit - remaining
            # Remaining is a whole number and Reset may be rounded up: the estimate is only
            # trusted once the bucket is a quarter spent, where those roundings matter little.
            if reset > 0 and deficit >= max(2.0, limit / 4):
                self._rate = deficit / reset
            # Our own reservations for requests still in flight are already subtracted; the
            # server's count may not include them yet, so the lower of the two is the truth.
            self._tokens = min(self._tokens, remaining)

    def _refill(self) -> None:
        now = self._clock()
        if self._rate > 0:
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 else None
