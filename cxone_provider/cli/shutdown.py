"""How the command's process ends: at once, with its exit code, without Python's shutdown.

After a command, what remains are V8 isolates (mini-racer) that Python would finalize at
shutdown, and finalizing one can deadlock; Ctrl-C during a script run ends the process at
once instead of unwinding under V8.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import NoReturn

from cxone_provider.cli.output import EXIT_INTERRUPTED


def interrupted() -> NoReturn:
    """End the process at once after Ctrl-C, with one line and the shell's code for SIGINT."""
    sys.stderr.write("Interrupted.\n")
    exit_now(EXIT_INTERRUPTED)


def exit_now(code: int) -> NoReturn:
    """Flush the output and end the process without Python's shutdown.

    Whatever a command opened is closed by then. What remains are V8 isolates (mini-racer)
    that Python would finalize at shutdown, and finalizing one can deadlock: its engine
    thread calls back into Python, which no longer runs other threads then.
    """
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


@contextmanager
def ctrl_c_ends_at_once() -> Iterator[None]:
    """While inside, Ctrl-C ends the process at once instead of unwinding.

    Unwinding would close the V8 engine under a running script; V8's late answer then
    lands in mini-racer's closed event loop and prints a dozen lines of noise.
    """
    previous = signal.signal(signal.SIGINT, lambda _signal, _frame: interrupted())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
