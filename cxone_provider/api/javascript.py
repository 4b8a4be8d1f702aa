"""V8 for the package (through mini-racer): isolates, and the check of a Data Action script.

The same engine runs scripts in the sandbox, so the check and the sandbox agree on what
JavaScript is. The check never runs any of the script; V8 only compiles it, three ways:

1. As the statements of a block that never executes (`if (false) { ... }`): every syntax
   error, with the line and column of the script itself, and Script-level rules such as
   "Illegal return statement".
2. As the body of `new Function(source)`, which V8 parses on its own: a script cannot close
   the block of step 1 early (`} evil(); {`) and pass, and a "use strict" directive counts.
3. As that block again with `let main;` appended: V8 refuses it ("Identifier 'main' has
   already been declared") exactly when the script declares `main` at its top level.

Compiling runs nothing, so each thread keeps one isolate for it. Whether `main` is callable
and what the top-level code does are for the sandbox to find out, as the test run does.
The check is a pure function of the source, so its answers are cached: the provider checks
a script in `check` and again when it builds the request in `create`, at no second cost.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import threading
from dataclasses import dataclass
from typing import Final

from py_mini_racer import JSEvalException, MiniRacer

COMPILE_TIMEOUT_S: Final = 5.0
MISSING_MAIN: Final = (
    "the script must define a function main(context) at its top level, for example "
    "`function main(context) { return context.input; }`"
)

_BLOCK_PREFIX: Final = "if (false) {\n"
_BLOCK_SUFFIX: Final = "\n}"
_MAIN_PROBE_SUFFIX: Final = "\n;let main;\n}"
_MAIN_DECLARED: Final = "Identifier 'main' has already been declared"
# V8 places a `new Function` body after the two lines "(function anonymous(" and ") {".
_FUNCTION_HEADER_LINES: Final = 2

# V8 reports "<anonymous>:LINE: SyntaxError: MESSAGE\nSOURCE LINE\n   ^^^\n..."
_V8_ERROR = re.compile(
    r"^(?:<anonymous>|undefined):(?P<line>\d+): (?P<message>[^\n]*)\n[^\n]*\n(?P<caret>[ \t]*)\^"
)


_first_isolate_lock = threading.Lock()
_first_isolate_made = threading.Event()
_parser = threading.local()


def _make_first_isolate_alone() -> None:
    """Make the process's first isolate while no other thread can make one.

    V8 sets up its shared address space with the first isolate; two threads making their
    first isolates at the same moment can abort the whole process ("Check failed:
    !IsConfigurablePoolInitialized()").
    """
    if not _first_isolate_made.is_set():
        with _first_isolate_lock:
            if not _first_isolate_made.is_set():
                MiniRacer().close()
                _first_isolate_made.set()


def settle_cancelled_run(engine: MiniRacer) -> None:
    """Let V8 report a run mini-racer cancelled at its time limit before the engine closes.

    V8 reports the cancelled run a moment later; a report that arrives after the engine is
    closed hits a closed event loop inside a ctypes callback ("Exception ignored ... Event
    loop is closed"). A tiny evaluation queues behind that report, so once it returns the
    report has been handled.
    """
    with contextlib.suppress(JSEvalException):
        engine.eval("0", timeout_sec=1.0)


@dataclass(frozen=True, slots=True)
class ScriptError:
    """Why a script is not a valid Data Action script, and where (1-based line and column)."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


@functools.lru_cache(maxsize=256)
def check_script(source: str) -> ScriptError | None:
    """Return the first problem of a Data Action script, or None when it is valid."""
    parser = _thread_parser()
    last_line = source.count("\n") + 1
    try:
        parser.eval(_BLOCK_PREFIX + source + _BLOCK_SUFFIX, timeout_sec=COMPILE_TIMEOUT_S)
    except JSEvalException as exc:
        error = _error_from_v8(str(exc), line_offset=_BLOCK_PREFIX.count("\n"))
        if error.line > last_line:  # "Unexpected end of input" points past the script
            return ScriptError(last_line, len(source.rsplit("\n", 1)[-1]) + 1, error.message)
        return error
    try:
        parser.eval(f"new Function({json.dumps(source)})", timeout_sec=COMPILE_TIMEOUT_S)
    except JSEvalException as exc:
        return _error_from_v8(str(exc), line_offset=_FUNCTION_HEADER_LINES)
    try:
        parser.eval(_BLOCK_PREFIX + source + _MAIN_PROBE_SUFFIX, timeout_sec=COMPILE_TIMEOUT_S)
    except JSEvalException as exc:
        if _MAIN_DECLARED in str(exc):
            return None
        return _error_from_v8(str(exc), line_offset=_BLOCK_PREFIX.count("\n"))
    return ScriptError(1, 1, MISSING_MAIN)


def _thread_parser() -> MiniRacer:
    """The calling thread's isolate for compiling scripts (nothing runs there)."""
    parser: MiniRacer | None = getattr(_parser, "engine", None)
    if parser is None:
        _make_first_isolate_alone()
        parser = MiniRacer()
        _parser.engine = parser
    return parser


def _error_from_v8(text: str, *, line_offset: int) -> ScriptError:
    match = _V8_ERROR.match(text)
    if match is None:
        first_line = text.strip().splitlines()[0] if text.strip() else "unknown error"
        return ScriptError(1, 1, first_line)
    return ScriptError(
        line=max(1, int(match["line"]) - line_offset),
        column=len(match["caret"]) + 1,
        message=match["message"],
    )
