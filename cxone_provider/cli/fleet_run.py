"""`cxone fleet`'s runs: which stacks, a CI job's shard of them, and each stack's outcome.

Stacks run in threads, up to the concurrency, each its own `pulumi` process (through the
Automation API) or its own tenant reads; a failed stack never stops the others. Ctrl-C
reaches the `pulumi` processes too (a terminal signals the whole process group): each
cancels as Pulumi cancels an update (the steps under way end, the state is written, the
lock released), no stack starts after it, and the outcome says which were left unfinished.
A second Ctrl-C ends everything at once, as it does for `pulumi up`.
"""

from __future__ import annotations

import fnmatch
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.cli.output import EXIT_INTERRUPTED
from cxone_provider.cli.shutdown import exit_now

if TYPE_CHECKING:
    from types import FrameType

    from cxone_provider.cli.comparison import Comparison

__all__ = [
    "Fleet",
    "Outcome",
    "Result",
    "select_stacks",
    "shard",
    "unlock_advice",
]

_POLL_S: Final = 0.2


class Result(StrEnum):
    """How one stack's operation ended."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SAME = "same"
    DIFFERS = "differs"
    MISSING = "missing"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NOT_STARTED = "not started"

    @property
    def bad(self) -> bool:
        """Whether it makes the exit code 1 (a missing stack is reported, not a failure)."""
        return self in {Result.DIFFERS, Result.FAILED, Result.CANCELLED, Result.NOT_STARTED}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One stack: its result, the counts of steps (or actions, for diff), time and error."""

    stack: str
    result: Result = Result.QUEUED
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    duration_s: float = 0.0
    error: str | None = None
    comparison: Comparison | None = field(default=None, compare=False)
    steps: int = 0
    """Steps the engine finished so far (the live view's count)."""

    def to_json(self) -> dict[str, Any]:
        """The fields of the summary table, as the `--json` answer lists them."""
        return {
            "stack": self.stack,
            "result": self.result.value,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
        }


def select_stacks(available: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """The stacks named or matched (shell patterns) by `patterns`; all of them without any."""
    if not patterns:
        return sorted(available)
    unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(s, p) for s in available)]
    if unmatched:
        known = ", ".join(sorted(available)) or "none"
        msg = (
            f"--stack {', '.join(unmatched)}: no stack config file matches (stacks: {known}); "
            "a stack of the fleet needs its Pulumi.<stack>.yaml in the project's stack folder"
        )
        raise ConfigurationError(msg)
    return sorted({s for s in available if any(fnmatch.fnmatchcase(s, p) for p in patterns)})


def shard(stacks: Sequence[str], index: int, count: int) -> list[str]:
    """Job `index` (1-based) of `count`: every count-th stack of the sorted list.

    The N jobs of a CI matrix cover each stack exactly once, whatever order they run in.
    """
    return [stack for position, stack in enumerate(sorted(stacks)) if position % count == index - 1]


def unlock_advice(stacks: Sequence[str]) -> str:
    """What to do when a stack a Ctrl-C interrupted is still locked."""
    names = ", ".join(stacks)
    return (
        f"unfinished: {names}. If a later `pulumi up` says a stack is locked, make sure no "
        "update of it is running, then unlock it with `pulumi cancel --stack NAME --yes`"
    )


Task = Callable[[Outcome, Callable[[Outcome], None]], Outcome]
"""Runs one stack: takes its queued outcome and a callback for progress, returns the result."""


class Fleet:
    """Stacks run `concurrency` at a time; `on_change` sees every outcome as it changes."""

    def __init__(self, concurrency: int, on_change: Callable[[Outcome], None]) -> None:
        self.concurrency = concurrency
        self.on_change = on_change
        self.interrupted = threading.Event()
        self._lock = threading.Lock()
        self._outcomes: dict[str, Outcome] = {}

    def run(self, stacks: Sequence[str], task: Task) -> list[Outcome]:
        """Every stack's outcome, in the order given; Ctrl-C leaves the rest not started."""
        for stack in stacks:
            self._update(Outcome(stack))
        with (
            self._ctrl_c_cancels(),
            ThreadPoolExecutor(self.concurrency, thread_name_prefix="cxone-fleet") as pool,
        ):
            pending: set[Future[None]] = {pool.submit(self._one, stack, task) for stack in stacks}
            while pending:
                done, pending = wait(pending, timeout=_POLL_S, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
        return [self._outcomes[stack] for stack in stacks]

    def _one(self, stack: str, task: Task) -> None:
        if self.interrupted.is_set():
            self._update(Outcome(stack, Result.NOT_STARTED))
            return
        started = time.monotonic()
        self._update(Outcome(stack, Result.RUNNING))
        outcome = task(self._outcomes[stack], self._update)
        if self.interrupted.is_set() and outcome.result is Result.FAILED:
            outcome = replace(outcome, result=Result.CANCELLED)
        self._update(replace(outcome, duration_s=time.monotonic() - started))

    def _update(self, outcome: Outcome) -> None:
        with self._lock:
            self._outcomes[outcome.stack] = outcome
        self.on_change(outcome)

    def running(self) -> list[str]:
        """The stacks under way now."""
        with self._lock:
            return [s for s, o in self._outcomes.items() if o.result is Result.RUNNING]

    @contextmanager
    def _ctrl_c_cancels(self) -> Iterator[None]:
        """While inside, the first Ctrl-C stops new stacks; the second ends the process."""

        def on_interrupt(_signal: int, _frame: FrameType | None) -> None:
            if self.interrupted.is_set():
                running = self.running()
                message = "Interrupted again: stopped at once."
                if running:
                    message += " " + unlock_advice(running) + "."
                sys.stderr.write(message + "\n")
                exit_now(EXIT_INTERRUPTED)
            self.interrupted.set()
            sys.stderr.write(
                "Ctrl-C: the running stacks are cancelling as Pulumi cancels an update (the "
                "steps under way end, the state is saved); no other stack starts. Ctrl-C "
                "again stops at once.\n"
            )

        previous = signal.signal(signal.SIGINT, on_interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
