"""The V8 sandbox: run a Data Action's `main(context)` in a fresh, isolated engine.

Each run gets its own V8 isolate (through mini-racer) with a time and a memory limit, and
nothing but the ECMAScript built-ins: no `require`, `process`, `fetch`, timers, files or
WebAssembly. `context.input` is a JSON copy of the test input; `context.call(name, input)`
runs the `main` of a dependency the calling script declares (each dependency may in turn
call its own declared dependencies) and passes inputs and outputs as JSON copies, as they
would travel between actions on the service. The emulator's `POST /{id}/test` uses this,
and so can a local test command: give it the script and the scripts of its dependencies.

The isolates live in worker processes (`sandbox_worker`), never in the caller's: memory
outside the V8 heap (ArrayBuffers, large strings) can only be bounded by the operating
system, per process, and a worker that V8 ends at its limit takes nobody else with it.
Idle workers are kept for the next runs; a worker that failed a run is replaced.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Final, NamedTuple

from cxone_provider.api.errors import CxoneError, shortened
from cxone_provider.api.javascript import check_script
from cxone_provider.api.models import MAX_NAME_CHARS, TestStatus
from cxone_provider.emulator.sandbox_worker import (
    MAX_ERROR_CHARS,
    MAX_OUTPUT_BYTES,
    MAX_OUTPUT_DEPTH,
    READY,
    memory_limit_message,
    nesting_depth,
)

__all__ = [
    "MAX_ERROR_CHARS",
    "MAX_MEMORY_BYTES",
    "MAX_OUTPUT_BYTES",
    "MAX_OUTPUT_DEPTH",
    "PARALLEL_RUNS",
    "TIMEOUT_S",
    "SandboxResult",
    "ScriptUnit",
    "run_action",
]

TIMEOUT_S: Final = 5.0
MAX_MEMORY_BYTES: Final = 64 * 1024 * 1024
PARALLEL_RUNS: Final = 8
"""Runs at once (the emulator's sandbox slots), and idle workers kept for the next runs.

Keeping as many as run at once means a busy deployment starts each worker once, not one
Python process per test beyond the few kept (about 0.2 s of CPU each).
"""
_WORKER_MODULE: Final = "cxone_provider.emulator.sandbox_worker"
_WORKER_START_S: Final = 30.0
# Beyond a run's time limit, how long a worker may take to answer before it is ended.
_ANSWER_GRACE_S: Final = 5.0


class ScriptUnit(NamedTuple):
    """A dependency as the sandbox needs it: its source and the names it may call."""

    content: str
    dependencies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """The verdict of one run: SUCCESS with the output, or FAILURE/TIMEOUT with the reason."""

    status: TestStatus
    output: Any
    error: str | None
    duration_ms: float
    undeclared_call: str | None = None
    """The first name the script itself called without declaring it, when that failed the run."""


def run_action(
    script: str,
    test_input: Any,
    *,
    declared: Sequence[str] = (),
    dependencies: Mapping[str, ScriptUnit | tuple[str, tuple[str, ...]]] | None = None,
    timeout_s: float = TIMEOUT_S,
    max_memory_bytes: int = MAX_MEMORY_BYTES,
) -> SandboxResult:
    """Run `main(context)` of `script` on a JSON copy of `test_input` in a fresh V8 isolate.

    `declared` lists the names the script may call with `context.call`; `dependencies`
    maps every name reachable from it (transitively) to its source and its own declared
    names. A throw, an unknown call or a result that is not JSON (or larger than
    MAX_OUTPUT_BYTES, or nested deeper than MAX_OUTPUT_DEPTH) is FAILURE; running past
    `timeout_s` is TIMEOUT; exhausting `max_memory_bytes` is FAILURE.
    """
    started = time.perf_counter()
    problem = _input_problem(test_input) or _first_syntax_error(script, dependencies or {})
    if problem is not None:
        return SandboxResult("FAILURE", None, problem, _elapsed_ms(started))
    job = {
        "script": script,
        "declared": list(declared),
        "units": [[name, unit[0], list(unit[1])] for name, unit in (dependencies or {}).items()],
        "input_json": json.dumps(test_input),
        "timeout_s": timeout_s,
        "max_memory_bytes": max_memory_bytes,
    }
    answer = _workers.run(job, timeout_s + _ANSWER_GRACE_S)
    if isinstance(answer, _Ended):
        return SandboxResult(answer.status, None, answer.error, _elapsed_ms(started))
    undeclared = answer.get("undeclared_call")
    return SandboxResult(
        answer["status"],
        answer["output"],
        None if answer["error"] is None else shortened(answer["error"], MAX_ERROR_CHARS),
        answer["duration_ms"],
        undeclared if undeclared is None or len(undeclared) <= MAX_NAME_CHARS else None,
    )


def _first_syntax_error(
    script: str, dependencies: Mapping[str, ScriptUnit | tuple[str, tuple[str, ...]]]
) -> str | None:
    """The first script that does not compile, with V8's line and column, as the API says it.

    Run as they are, V8 would name the error without its place (the sandbox evaluates each
    script inside its harness).
    """
    error = check_script(script)
    if error is not None:
        return f"{error.message} (line {error.line}, column {error.column})"
    for name, unit in dependencies.items():
        error = check_script(unit[0])
        if error is not None:
            return (
                f"dependency {json.dumps(name)}: {error.message} (line {error.line}, column "
                f"{error.column})"
            )
    return None


def _input_problem(test_input: Any) -> str | None:
    """Why `test_input` cannot be a script's input (JSON of well-formed text), or None."""
    try:
        text = json.dumps(test_input, ensure_ascii=False, allow_nan=False)
        depth = nesting_depth(test_input)
    except (TypeError, ValueError) as exc:
        return f"the input is not JSON: {exc}"
    except RecursionError:
        depth = MAX_OUTPUT_DEPTH + 1
    if depth > MAX_OUTPUT_DEPTH:
        return f"the input nests arrays and objects deeper than {MAX_OUTPUT_DEPTH} levels"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        lone = exc.object[exc.start].encode("utf-8", "backslashreplace").decode()
        return (
            f"the input holds a lone UTF-16 surrogate ({lone}), which is not Unicode text; "
            "send well-formed strings"
        )
    return None


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


@dataclass(frozen=True, slots=True)
class _Ended:
    """A run whose worker did not answer: it ended (memory) or was ended (time)."""

    status: TestStatus
    error: str


class _Worker:
    """One `sandbox_worker` process and the two pipes to it."""

    def __init__(self) -> None:
        jobs_read, jobs_write = os.pipe()
        answers_read, answers_write = os.pipe()
        try:
            self.process = subprocess.Popen(  # noqa: S603 -- our own module, run by this Python
                [
                    sys.executable,
                    "-m",
                    _WORKER_MODULE,
                    str(jobs_read),
                    str(answers_write),
                ],
                pass_fds=(jobs_read, answers_write),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # V8 prints its own report when it ends a process
            )
        finally:
            os.close(jobs_read)
            os.close(answers_write)
        self._jobs: IO[str] = os.fdopen(jobs_write, "w", encoding="ascii")
        self._answers: IO[str] = os.fdopen(answers_read, encoding="ascii")
        if self._read_line(_WORKER_START_S) != READY:
            self.close()
            msg = (
                f"the sandbox's worker process (python -m {_WORKER_MODULE}) did not start within "
                f"{_WORKER_START_S:g} s (exit code {self.process.returncode}); "
                "check that mini-racer is installed for this Python"
            )
            raise CxoneError(msg)

    def run(self, job: dict[str, Any], timeout_s: float) -> dict[str, Any] | _Ended:
        """Send one job; its answer, or how the worker ended without one."""
        try:
            self._jobs.write(json.dumps(job) + "\n")
            self._jobs.flush()
        except BrokenPipeError:
            return self._ended(job)
        line = self._read_line(timeout_s)
        if line is None:
            self.close()
            return self._ended(job, timed_out=self.process.returncode == -signal.SIGKILL)
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _read_line(self, timeout_s: float) -> str | None:
        """The next line, or None at end of file or when none came within `timeout_s`."""
        waiting = select.poll()  # not select.select: a busy server has descriptors past 1024
        waiting.register(self._answers, select.POLLIN)
        ready = waiting.poll(timeout_s * 1000)
        line = self._answers.readline() if ready else ""
        return line.rstrip("\n") if line.endswith("\n") else None

    def _ended(self, job: dict[str, Any], *, timed_out: bool = False) -> _Ended:
        self.close()
        if timed_out:
            message = (
                f"the run exceeded the time limit of {job['timeout_s']:g} s and its engine did "
                "not stop; look for an endless loop or too much work in main(context)"
            )
            return _Ended("TIMEOUT", message)
        return _Ended("FAILURE", memory_limit_message(job["max_memory_bytes"]))

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process.poll() is None

    def close(self) -> None:
        """End the process (it ends on its own when its job pipe closes)."""
        for pipe in (self._jobs, self._answers):
            try:
                pipe.close()
            except OSError:
                continue
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class _WorkerPool:
    """Workers for the runs of this process: idle ones reused, at most PARALLEL_RUNS kept."""

    def __init__(self, idle: int) -> None:
        self._idle_limit = idle
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def run(self, job: dict[str, Any], timeout_s: float) -> dict[str, Any] | _Ended:
        """Run one job on an idle worker (or a new one); a worker that failed is not kept."""
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None or not worker.alive:
            worker = _Worker()
        answer = worker.run(job, timeout_s)
        keep = isinstance(answer, dict) and not answer["retire"] and worker.alive
        with self._lock:
            if keep and len(self._idle) < self._idle_limit:
                self._idle.append(worker)
                return answer
        worker.close()
        return answer

    def close(self) -> None:
        """End the idle workers (at exit, so that no process outlives its parent's end)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


_workers = _WorkerPool(PARALLEL_RUNS)
atexit.register(_workers.close)
