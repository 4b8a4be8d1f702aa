"""Fault injection: faults queued through the control API and random ones from a seeded RNG."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do to one matching request: answer `status`, `drop` the answer, or hold it.

    `drop` commits the change and closes the connection without an answer; `hold_ms` keeps
    a create in flight (its Idempotency-Key claimed) that long before it is processed.
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
    seed and the same requests meets the same faults; `reset` re-seeds it.
    """

    def __init__(self, *, fault_rate: float, drop_rate: float, seed: int | None) -> None:
        self.fault_rate = fault_rate
        self.drop_rate = drop_rate
        self._seed = seed
        self._random = random.Random(seed)  # noqa: S311 -- reproducible faults, not security
        self._lock = threading.Lock()
        self._queue: list[_Queued] = []

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
        """Forget every queued fault."""
        with self._lock:
            self._queue.clear()

    def reset(self) -> None:
        """Forget queued faults and restart the random draws from the seed."""
        with self._lock:
            self._queue.clear()
            self._random.seed(self._seed)
