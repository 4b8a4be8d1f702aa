"""The local JavaScript check: V8 (through mini-racer) decides whether a script is valid.

The same engine runs scripts in the emulator's sandbox, so a script that passes here loads
there. The check has two steps, each in a fresh, isolated V8 with no I/O at all:

1. Parse without running: the script is compiled inside a block that never executes, so a
   syntax error is reported with its line and column before any of the script runs.
2. Load: the script's top-level code runs (under a short time and memory limit, as the
   sandbox does before calling `main`) and must leave a function `main` behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from py_mini_racer import (
    JSEvalException,
    JSOOMException,
    JSParseException,
    JSTimeoutException,
    MiniRacer,
)

LOAD_TIMEOUT_S: Final = 1.0
LOAD_MEMORY_BYTES: Final = 32 * 1024 * 1024

# A never-executed block: V8 parses (and reports every early error of) the body, runs nothing.
_PARSE_ONLY_PREFIX: Final = "if (false) {\n"
_PARSE_ONLY_SUFFIX: Final = "\n}"
_PREFIX_LINES: Final = _PARSE_ONLY_PREFIX.count("\n")

# V8 reports "<anonymous>:LINE: SyntaxError: MESSAGE\nSOURCE LINE\n   ^^^\n..."
_V8_ERROR = re.compile(
    r"^<anonymous>:(?P<line>\d+): (?P<message>[^\n]*)\n[^\n]*\n(?P<caret>[ \t]*)\^"
)


@dataclass(frozen=True, slots=True)
class ScriptError:
    """Why a script is not a valid Data Action script, and where (1-based line and column)."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


def check_script(source: str) -> ScriptError | None:
    """Return the first problem of a Data Action script, or None when it is valid."""
    syntax_error = _parse_only(source)
    if syntax_error is not None:
        return syntax_error
    return _load_and_find_main(source)


def _parse_only(source: str) -> ScriptError | None:
    last_line = source.count("\n") + 1
    with MiniRacer() as engine:
        try:
            engine.eval(
                _PARSE_ONLY_PREFIX + source + _PARSE_ONLY_SUFFIX, timeout_sec=LOAD_TIMEOUT_S
            )
        except JSParseException as exc:
            error = _error_from_v8(str(exc), line_offset=_PREFIX_LINES)
            if error.line > last_line:  # "Unexpected end of input" points past the script
                return ScriptError(last_line, len(source.rsplit("\n", 1)[-1]) + 1, error.message)
            return error
    return None


def _load_and_find_main(source: str) -> ScriptError | None:
    with MiniRacer() as engine:
        try:
            engine.eval(source, timeout_sec=LOAD_TIMEOUT_S, max_memory=LOAD_MEMORY_BYTES)
            kind = engine.eval("typeof main")
        except JSTimeoutException:
            return ScriptError(
                1,
                1,
                f"the script's top-level code runs longer than {LOAD_TIMEOUT_S:g} s; keep "
                "top-level code to declarations and do the work inside main(context)",
            )
        except JSOOMException:
            return ScriptError(1, 1, "the script's top-level code exhausts the memory limit")
        except JSEvalException as exc:
            return _error_from_v8(str(exc), line_offset=0, prefix="top-level code failed: ")
    if kind != "function":
        return ScriptError(
            1,
            1,
            "the script must define a function main(context), for example "
            "`function main(context) { return context.input; }`",
        )
    return None


def _error_from_v8(text: str, *, line_offset: int, prefix: str = "") -> ScriptError:
    match = _V8_ERROR.match(text)
    if match is None:
        first_line = text.strip().splitlines()[0] if text.strip() else "unknown error"
        return ScriptError(1, 1, prefix + first_line)
    return ScriptError(
        line=max(1, int(match["line"]) - line_offset),
        column=len(match["caret"]) + 1,
        message=prefix + match["message"],
    )
