"""V8 for the package (through mini-racer): isolates, and the check of a Data Action script.

The same engine runs scripts in the sandbox, so the check and the sandbox agree on what
JavaScript is. The check never runs a line of the script: the only code V8 evaluates is
`new Function("<text>")`, with the text as a JSON string literal, data and never code. The
constructor compiles the text as a function body on its own (a `}` in it cannot close
anything outside) and returns a function that is never called. Three texts are compiled:

1. The script itself: every syntax error, with the line and column of the script.
2. The script as a class static block (`class P { static { ... } }`), where, as at the top
   of a script, `return` is illegal: only V8's "Illegal return statement" is taken from it
   (a static block is also strict, which the script need not be).
3. The script with `let main;` appended: V8 refuses it ("Identifier 'main' has already been
   declared") exactly when the script declares `main` at its top level.

Compiling needs V8, so it runs under limits: COMPILE_TIMEOUT_S per compile, and at most
MAX_SOURCE_CHARS of source, which bounds what the compiler can allocate (V8's parser is
linear in the source; mini-racer's memory limit only watches running code, and an isolate
left with one makes the process hang at exit). One isolate per thread, which nothing ever
runs in.
Whether `main` is callable and what the top-level code does are for the sandbox to find
out, as the test run does. The check is a pure function of the source, so its answers are
cached by the source's SHA-256 (a time limit reached is not): the provider checks a script in
`check` and again when it builds the request in `create`, at no second cost, and a preview
of a deployed stack does not compile the scripts the state says are deployed
(`trust_deployed_script`): a large stack compiles only what changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from typing import Final

from cachetools import LRUCache, cached
from py_mini_racer import JSEvalException, JSTimeoutException, MiniRacer

from cxone_provider.api.errors import shortened

COMPILE_TIMEOUT_S: Final = 5.0
MAX_SOURCE_CHARS: Final = 65536
"""The API takes at most 65536 bytes of script, so never more characters than this."""
MAX_MESSAGE_CHARS: Final = 300
"""V8 quotes the token it did not expect, which may be a 60,000-character identifier."""
MISSING_MAIN: Final = (
    "the script must define a function main(context) at its top level, for example "
    "`function main(context) { return context.input; }`"
)

_STATIC_BLOCK_PREFIX: Final = "class CxoneProbe { static {\n"
_STATIC_BLOCK_SUFFIX: Final = "\n} }"
_ILLEGAL_RETURN: Final = "Illegal return statement"
_MAIN_PROBE_SUFFIX: Final = "\n;let main;"
_MAIN_DECLARED: Final = "Identifier 'main' has already been declared"
_END_OF_INPUT: Final = "SyntaxError: Unexpected end of input"
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


class _CompileLimitError(Exception):
    """Compiling a text went past COMPILE_TIMEOUT_S."""


def check_script(source: str) -> ScriptError | None:
    """Return the first problem of a Data Action script, or None when it is valid.

    Compiles only (see the module docstring): no line of `source` ever runs.
    """
    if len(source) > MAX_SOURCE_CHARS:
        message = (
            f"the script is {len(source)} characters, over the {MAX_SOURCE_CHARS} a script can "
            "have; move shared code into a dependency action or shorten it"
        )
        return ScriptError(1, 1, message)
    try:
        return _first_problem(source)
    except _CompileLimitError as exc:
        return ScriptError(1, 1, str(exc))


def trust_deployed_script(source: str) -> None:
    """Count `source` as valid without compiling it: the tenant holds it, deployed by us."""
    with _VERDICTS_LOCK:
        _VERDICTS[_digest(source)] = None


def _digest(source: str) -> bytes:
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).digest()


_VERDICTS: LRUCache[bytes, ScriptError | None] = LRUCache(maxsize=4096)
_VERDICTS_LOCK: Final = threading.Lock()


@cached(_VERDICTS, key=_digest, lock=_VERDICTS_LOCK)
def _first_problem(source: str) -> ScriptError | None:
    """The three compiles of the module docstring, in order; None when all agree it is valid.

    Cached: the answer is a pure function of the source. A compile past its time limit
    raises instead, so that a moment of a busy machine is not remembered.
    """
    error = _compile_error(source)
    if error is not None:
        last_line = source.count("\n") + 1
        if error.line > last_line:  # V8 met the end of the function it wraps the body in
            return ScriptError(last_line, len(source.rsplit("\n", 1)[-1]) + 1, _END_OF_INPUT)
        return error
    error = _compile_error(_STATIC_BLOCK_PREFIX + source + _STATIC_BLOCK_SUFFIX)
    if error is not None and _ILLEGAL_RETURN in error.message:
        return ScriptError(error.line - 1, error.column, error.message)
    error = _compile_error(source + _MAIN_PROBE_SUFFIX)
    if error is not None and _MAIN_DECLARED in error.message:
        return None
    return error or ScriptError(1, 1, MISSING_MAIN)


def _compile_error(body: str) -> ScriptError | None:
    """V8's first syntax error in `body` compiled as a function body (which never runs)."""
    parser = _thread_parser()
    try:
        parser.eval(f"new Function({json.dumps(body)}), undefined", timeout_sec=COMPILE_TIMEOUT_S)
    except JSTimeoutException:
        settle_cancelled_run(parser)
        msg = (
            f"the script did not compile within {COMPILE_TIMEOUT_S:g} s; shorten it or split "
            "it into dependency actions"
        )
        raise _CompileLimitError(msg) from None
    except JSEvalException as exc:
        return _error_from_v8(str(exc), line_offset=_FUNCTION_HEADER_LINES)
    return None


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
        return ScriptError(1, 1, shortened(first_line, MAX_MESSAGE_CHARS))
    return ScriptError(
        line=max(1, int(match["line"]) - line_offset),
        column=len(match["caret"]) + 1,
        message=shortened(match["message"], MAX_MESSAGE_CHARS),
    )
