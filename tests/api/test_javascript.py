"""The script check: V8's verdict with the script's line and column, and never a line run."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxone_provider.api import javascript
from cxone_provider.api.javascript import MAX_SOURCE_CHARS, MISSING_MAIN, ScriptError, check_script

# What an escaping script would do: mark the isolate the check compiles in.
_PAYLOAD = "globalThis.cxoneEscaped = (globalThis.cxoneEscaped || 0) + 1;"
# Ways to end or open a context around a payload: braces, parentheses, comments, strings,
# templates, regular expressions, HTML-like comments, line terminators.
_ESCAPES = (
    "}",
    "{",
    "})",
    "}})",
    "})();",
    "(",
    ")",
    "*/",
    "/*",
    "//",
    "\n",
    "\u2028",
    "'",
    '"',
    "`",
    "${",
    "}`",
    "/",
    "/[/]/",
    "\\",
    "-->",
    "<!--",
    ";",
    "if (false) {",
    "\n}\n",
    "function main(c) { return 1; }",
)


def _escaped_runs() -> object:
    """How often a script ran in the check's isolate (the mark it would have left)."""
    return javascript._thread_parser().eval("globalThis.cxoneEscaped || 0")  # noqa: SLF001 -- the isolate under test


def test_a_script_that_closes_the_checked_block_runs_nothing():
    """Issue 20: `} CODE {` made the check run CODE in the caller's V8; it must not run."""
    error = check_script("} " + _PAYLOAD + " {")
    assert error is not None
    assert _escaped_runs() == 0


def test_an_endless_loop_outside_the_block_is_a_syntax_error_not_a_run():
    """Issue 20: `} while (true) {} {` burned 5 s per check; it is now an error found at once."""
    error = check_script("} while (true) {} {\nfunction main(c) { return 1; }")
    assert error is not None
    assert error == ScriptError(1, 3, "SyntaxError: Unexpected token 'while'")


@settings(max_examples=300, deadline=None)
@given(
    before=st.lists(st.sampled_from(_ESCAPES), max_size=4).map("".join),
    after=st.lists(st.sampled_from(_ESCAPES), max_size=4).map("".join),
)
def test_no_script_runs_whatever_it_does_to_escape(before: str, after: str):
    """Fuzz: brace, comment, string, template and regex tricks around a payload never run it."""
    check_script(before + _PAYLOAD + after)
    check_script("function main(c) { return 1; }\n" + before + _PAYLOAD + after)
    assert _escaped_runs() == 0


def test_top_level_return_is_reported_where_it_is():
    """`return` outside any function is illegal in a script, so the check says where."""
    script = "function main(c) { return 1; }\nreturn 2;"
    assert check_script(script) == ScriptError(2, 1, "SyntaxError: Illegal return statement")


def test_a_sloppy_script_is_valid_and_return_inside_functions_is_fine():
    """Only a top-level return is refused; sloppy-mode code (octal, with) stays valid."""
    script = "var n = 010;\nfunction main(c) { with (c) { return input; } }"
    assert check_script(script) is None


def test_a_script_ending_in_a_line_comment_still_defines_main():
    """The probe for `main` starts on a new line: a trailing comment cannot swallow it."""
    assert check_script("function main(c) { return 1; } // done") is None


def test_main_declared_only_inside_a_block_is_missing():
    """`main` must be declared at the top level of the script."""
    assert check_script("{ let main = () => 1; }") == ScriptError(1, 1, MISSING_MAIN)


@pytest.mark.parametrize(
    ("script", "where"),
    [("function main(c) {\n  return c.input +;\n}", (2, 19)), ("function main(c) {", (1, 19))],
    ids=["inside", "unclosed"],
)
def test_errors_keep_the_line_and_column_of_the_script(script, where):
    """Positions count in the script itself, and an unclosed block points at its end."""
    error = check_script(script)
    assert error is not None
    assert (error.line, error.column) == where


def test_a_compile_past_its_time_limit_is_an_error_at_the_start(monkeypatch):
    """Compiling runs under COMPILE_TIMEOUT_S; past it, the check fails instead of waiting."""
    monkeypatch.setattr(javascript, "COMPILE_TIMEOUT_S", 0.001)
    script = "function main(c) { return c.input; }\n" + "var x = [1].map((v) => v * 2);\n" * 1500
    error = check_script(script)
    assert error is not None
    assert (error.line, error.column) == (1, 1)
    assert "did not compile within" in error.message
    monkeypatch.setattr(javascript, "COMPILE_TIMEOUT_S", 5.0)
    assert check_script(script) is None  # the time limit reached was not remembered


def test_a_source_longer_than_any_script_is_not_compiled():
    """More characters than the API's 65536 bytes allow is refused before V8 sees it."""
    error = check_script("function main(c) { return 1; }\n//" + "x" * MAX_SOURCE_CHARS)
    assert error is not None
    assert "over the 65536 a script can have" in error.message
