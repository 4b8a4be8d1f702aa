"""The emulator's monotonic clock: token lifetimes and rate-limit buckets read it.

It follows the real monotonic time, moved forward by what tests add (`advance`), and can be
stopped (`freeze`), so that a test makes a token expire or a bucket refill at once and
exactly, instead of sleeping. `POST /_emulator/clock` drives it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class EmulatorClock:
    """Seconds: the real monotonic time, less the time spent frozen, plus what was added."""

    def __init__(self, source: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._advanced_s = 0.0
        self._frozen_s = 0.0
        self._frozen_at: float | None = None

    def __call__(self) -> float:
        """The time now."""
        with self._lock:
            real = self._source() if self._frozen_at is None else self._frozen_at
            return real - self._frozen_s + self._advanced_s

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still between `advance` calls."""
        return self._frozen_at is not None

    @property
    def advanced_s(self) -> float:
        """How far `advance` has moved the clock since the start (or the last reset)."""
        return self._advanced_s

    def advance(self, seconds: float) -> None:
        """Move the clock `seconds` forward (never back: tokens and buckets rely on that)."""
        if seconds < 0:
            msg = f"the clock only moves forward; {seconds} s is negative"
            raise ValueError(msg)
        with self._lock:
            self._advanced_s += seconds

    def freeze(self) -> None:
        """Stop the clock where it is; only `advance` moves it then."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = self._source()

    def resume(self) -> None:
        """Let the clock follow the real time again, from where it stands."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_s += self._source() - self._frozen_at
                self._frozen_at = None

    def reset(self) -> None:
        """Back to the real time, running, with nothing added.

        This moves the clock back when it was advanced, so the emulator's reset forgets
        every token and bucket (everything that read it) at the same time.
        """
        with self._lock:
            self._advanced_s = 0.0
            self._frozen_s = 0.0
            self._frozen_at = None
