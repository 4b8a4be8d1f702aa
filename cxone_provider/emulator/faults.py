"""Fault injection: faults queued through the control API and random ones from a seeded RNG."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do to one matching request: answer `status`, `drop` the answer, or hold it.

    `drop` commits the change and closes the connection without an answer; `hold_ms` keeps
    a create in flight (its Idempotency-Key claimed) that long before it is processed, or
    until the faults are cleared.
    """

    method: str
    path: str
    status: int | None = None
    code: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False
    hold_ms: float = 0.0


@dataclass(slots=True)
class _Queued:
    fault: Fault
    remaining: int


class FaultPlan:
    """Queued faults per method and route template, and the `--fault-rate`/`--drop-rate` draws.

    One `random.Random(seed)` makes every draw, in request order, so a run with the same
    seed and the same requests meets the same faults; `reset` re-seeds it. Requests held by
    a `hold_ms` fault are counted (`held`) so a test can wait for one to be in flight, and
    `clear` or `reset` lets them go on at once. Holding, `clear` and `reset` run on the
    server's event loop.
    """

    def __init__(self, *, fault_rate: float, drop_rate: float, seed: int | None) -> None:
        self.fault_rate = fault_rate
        self.drop_rate = drop_rate
        self._seed = seed
        self._random = random.Random(seed)  # noqa: S311 -- reproducible faults, not security
        self._lock = threading.Lock()
        self._queue: list[_Queued] = []
        self._held = 0
        self._release = asyncio.Event()

    def queue(self, fault: Fault, count: int) -> None:
        """Apply `fault` to the next `count` requests matching its method and path."""
        with self._lock:
            self._queue.append(_Queued(fault, count))

    def take(self, method: str, path: str) -> Fault | None:
        """The first queued fault matching this request, counted as used."""
        with self._lock:
            for queued in self._queue:
                if queued.fault.method == method and queued.fault.path == path:
                    queued.remaining -= 1
                    if queued.remaining <= 0:
                        self._queue.remove(queued)
                    return queued.fault
        return None

    @property
    def held(self) -> int:
        """How many requests a `hold_ms` fault holds right now."""
        with self._lock:
            return self._held

    async def hold(self, seconds: float) -> None:
        """Keep one request waiting `seconds`, or until `clear` or `reset` lets it go."""
        release = self._release
        with self._lock:
            self._held += 1
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await release.wait()
        finally:
            with self._lock:
                self._held -= 1

    def draw_fault(self) -> bool:
        """Whether this API request is answered 503 (`--fault-rate`)."""
        return self._draw(self.fault_rate)

    def draw_drop(self) -> bool:
        """Whether this successful write loses its answer (`--drop-rate`)."""
        return self._draw(self.drop_rate)

    def _draw(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._random.random() < rate

    def clear(self) -> None:
        """Forget every queued fault and let the held requests go on."""
        with self._lock:
            self._queue.clear()
        self._let_held_go()

    def reset(self) -> None:
        """Forget queued faults, let held requests go on, restart the draws from the seed."""
        with self._lock:
            self._queue.clear()
            self._random.seed(self._seed)
        self._let_held_go()

    def _let_held_go(self) -> None:
        self._release.set()
        self._release = asyncio.Event()
