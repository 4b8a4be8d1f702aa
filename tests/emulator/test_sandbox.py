"""The V8 sandbox on its own: input, context.call, limits, and what a script cannot reach."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from cxone_provider.emulator.sandbox import (
    MAX_ERROR_CHARS,
    MAX_OUTPUT_BYTES,
    MAX_OUTPUT_DEPTH,
    ScriptUnit,
    run_action,
)


def test_main_gets_the_input_and_its_result_is_the_output():
    """SUCCESS with main's return value as output."""
    result = run_action(
        "function main(context) { return {doubled: context.input.n * 2}; }", {"n": 21}
    )
    assert (result.status, result.output, result.error) == ("SUCCESS", {"doubled": 42}, None)
    assert result.duration_ms > 0


def test_an_arrow_function_main_and_undefined_output_work():
    """`const main = ...` is found, and returning undefined gives a null output."""
    result = run_action("const main = (context) => { context.input.seen = true; };", {})
    assert (result.status, result.output) == ("SUCCESS", None)


def test_a_throw_is_failure_with_the_message():
    """A script that throws gives FAILURE and the error's name and message."""
    result = run_action("function main(c) { throw new RangeError('score out of range'); }", None)
    assert (result.status, result.error) == ("FAILURE", "RangeError: score out of range")


def test_declared_dependencies_are_called_with_their_own_declared_names():
    """context.call reaches declared dependencies, and each of them its own dependencies."""
    dependencies = {
        "enrich": ScriptUnit(
            "function main(c) { return c.call('base_score', c.input) + 1; }", ("base_score",)
        ),
        "base_score": ScriptUnit("function main(c) { return c.input.value * 10; }", ()),
    }
    result = run_action(
        "function main(c) { return c.call('enrich', {value: c.input}); }",
        4,
        declared=("enrich",),
        dependencies=dependencies,
    )
    assert (result.status, result.output) == ("SUCCESS", 41)


def test_calling_an_undeclared_name_fails_even_if_it_exists():
    """Only names listed in the calling script's dependencies can be called."""
    dependencies = {
        "middle": ScriptUnit("function main(c) { return c.call('top_secret', 1); }", ()),
        "top_secret": ScriptUnit("function main(c) { return 'secret'; }", ()),
    }
    result = run_action(
        "function main(c) { return c.call('middle', null); }",
        None,
        declared=("middle", "top_secret"),
        dependencies=dependencies,
    )
    assert result.status == "FAILURE"
    assert 'context.call("top_secret"): not a dependency of dependency "middle"' in str(
        result.error
    )


def test_inputs_and_outputs_cross_calls_as_json_copies():
    """A dependency cannot change its caller's objects: what crosses a call is a copy."""
    dependencies = {
        "mutator": ScriptUnit("function main(c) { c.input.changed = true; return c.input; }", ()),
    }
    result = run_action(
        "function main(c) { const mine = {changed: false}; const theirs = c.call('mutator', mine);"
        " return [mine.changed, theirs.changed]; }",
        None,
        declared=("mutator",),
        dependencies=dependencies,
    )
    assert result.output == [False, True]


@pytest.mark.parametrize("name", ["require", "process", "fetch", "setTimeout", "XMLHttpRequest"])
def test_no_module_process_network_or_timer_is_reachable(name):
    """The engine has only the ECMAScript built-ins: no require, process, fetch or timers."""
    result = run_action(f"function main(c) {{ return typeof {name}; }}", None)
    assert result.output == "undefined"


def test_each_run_gets_a_fresh_engine():
    """Globals set by one run are gone in the next."""
    run_action("globalThis.leak = 'left behind'; function main(c) { return 1; }", None)
    assert run_action("function main(c) { return typeof leak; }", None).output == "undefined"


def test_an_endless_loop_is_a_timeout_at_the_limit():
    """A runaway script is stopped at the time limit and reported as TIMEOUT."""
    result = run_action("function main(c) { while (true) {} }", None, timeout_s=0.3)
    assert result.status == "TIMEOUT"
    assert "time limit of 0.3 s" in str(result.error)
    assert 250 <= result.duration_ms < 3000


def test_exhausting_memory_is_a_failure():
    """A script that allocates without end fails with the memory limit in the message."""
    result = run_action(
        "function main(c) { const hog = []; while (true) { hog.push(new Array(1e5).fill(1)); } }",
        None,
        max_memory_bytes=16 * 1024 * 1024,
    )
    assert result.status == "FAILURE"
    assert "memory limit of 16 MiB" in str(result.error)


def test_a_result_that_is_not_json_is_a_failure():
    """A BigInt cannot travel as JSON: FAILURE says so."""
    result = run_action("function main(c) { return 10n; }", None)
    assert result.status == "FAILURE"
    assert "not JSON" in str(result.error)


def test_a_promise_result_is_a_failure_that_explains_why():
    """The sandbox runs main synchronously; an async main is reported, not turned into {}."""
    result = run_action("async function main(c) { return 1; }", None)
    assert result.status == "FAILURE"
    assert "Promise" in str(result.error)


# Issue 11, case 1: memory outside the V8 heap is bounded too, and the output is capped.

MEMORY_BOMBS = {
    "array buffer": (
        "function main(c) { const bytes = new Uint8Array(new ArrayBuffer(2 ** 30));"
        " bytes.fill(1); return bytes.length; }"
    ),
    "many array buffers": (
        "function main(c) { const kept = [];"
        " for (let i = 0; i < 64; i++) { kept.push(new Uint8Array(2 ** 24).fill(1)); }"
        " return kept.length; }"
    ),
    "webassembly memory": (
        "function main(c) { const memory = new WebAssembly.Memory({initial: 16384});"
        " new Uint8Array(memory.buffer).fill(1); return memory.buffer.byteLength; }"
    ),
    "large string": "function main(c) { return 'x'.repeat(2 ** 28); }",
    "large joined string": (
        "function main(c) { return ['x'.repeat(2 ** 27), 'y'.repeat(2 ** 27)].join('').length; }"
    ),
}


@pytest.mark.parametrize("script", MEMORY_BOMBS.values(), ids=MEMORY_BOMBS.keys())
def test_memory_outside_the_v8_heap_is_limited_too(script):
    """ArrayBuffers, WebAssembly memory and huge strings end in FAILURE, not SUCCESS."""
    result = run_action(script, None)
    assert result.status == "FAILURE"
    assert result.output is None


def test_webassembly_is_not_part_of_the_sandbox():
    """The contract gives scripts ECMAScript only: WebAssembly is not defined."""
    assert run_action("function main(c) { return typeof WebAssembly; }", None).output == (
        "undefined"
    )


def test_an_output_beyond_the_size_limit_is_a_failure_that_names_the_limit():
    """A 2 MiB string output fails with the output limit; one just under it succeeds."""
    result = run_action("function main(c) { return 'x'.repeat(2 ** 21); }", None)
    assert result.status == "FAILURE"
    assert f"limit is {MAX_OUTPUT_BYTES} bytes" in str(result.error)
    fitting = run_action(f"function main(c) {{ return 'x'.repeat({MAX_OUTPUT_BYTES - 2}); }}", None)
    assert (fitting.status, len(fitting.output)) == ("SUCCESS", MAX_OUTPUT_BYTES - 2)


def test_a_run_after_a_memory_failure_is_served_normally():
    """The worker a bomb ended is replaced: the next run succeeds."""
    run_action(MEMORY_BOMBS["large string"], None)
    assert run_action("function main(c) { return c.input; }", [1]).output == [1]


# Issue 11, case 2: what a script does to the built-ins cannot change the verdict.

TAMPERING = {
    "JSON.stringify": 'JSON.stringify = () => \'{"ok":true,"output":42}\';',
    "JSON.parse": "JSON.parse = () => ({ok: true, output: 42});",
    "Object.freeze": "Object.freeze = (o) => o;",
    "Array.prototype.includes": "Array.prototype.includes = () => true;",
    "Map.prototype": "Map.prototype.has = () => true; Map.prototype.get = () => 42;",
    "Function.prototype.call": "Function.prototype.call = () => 42;",
    "String.prototype.slice": "String.prototype.slice = () => 'SUCCESS';",
    "Error.prototype": (
        "Object.defineProperty(Error.prototype, 'message', {get() { return 'ok'; }});"
    ),
    "Symbol.hasInstance": (
        "Object.defineProperty(Error, Symbol.hasInstance, {value() { throw 42; }});"
    ),
}


@pytest.mark.parametrize("tampering", TAMPERING.values(), ids=TAMPERING.keys())
def test_a_script_that_throws_fails_whatever_it_did_to_the_built_ins(tampering):
    """Replacing built-ins at the top level or inside main cannot turn a throw into SUCCESS."""
    for script in (
        f"{tampering} function main(c) {{ throw new Error('broken'); }}",
        f"function main(c) {{ {tampering} throw new Error('broken'); }}",
    ):
        result = run_action(script, None)
        assert (result.status, result.output) == ("FAILURE", None), script


@pytest.mark.parametrize("tampering", TAMPERING.values(), ids=TAMPERING.keys())
def test_a_script_cannot_call_an_undeclared_action_whatever_it_did_to_the_built_ins(tampering):
    """The dependency check does not go through anything the script can replace."""
    dependencies = {"secret": ScriptUnit("function main(c) { return 'secret'; }", ())}
    result = run_action(
        f"{tampering} function main(c) {{ return c.call('secret', null); }}",
        None,
        declared=(),
        dependencies=dependencies,
    )
    assert result.status == "FAILURE"
    assert "not a dependency of this action" in str(result.error)


def test_a_script_that_replaces_json_stringify_still_returns_its_real_output():
    """The output is serialized with the engine's own JSON.stringify, taken before the run."""
    result = run_action(
        "function main(c) { JSON.stringify = () => '{'; return {kept: [1, 2]}; }", None
    )
    assert (result.status, result.output) == ("SUCCESS", {"kept": [1, 2]})


# Issue 11, case 3: results that are not JSON are a FAILURE that says what was wrong.

NOT_JSON = {
    "a function": ("function main(c) { return function () {}; }", "returned a function"),
    "a symbol": ("function main(c) { return Symbol('s'); }", "returned a symbol"),
    "a bigint": ("function main(c) { return 10n; }", "not JSON"),
    "a deep array": (
        "function main(c) { let a = []; for (let i = 0; i < 5000; i++) { a = [a]; } return a; }",
        f"deeper than {MAX_OUTPUT_DEPTH} levels",
    ),
    "a lone surrogate": ("function main(c) { return {text: 'a\\ud800'}; }", "lone UTF-16"),
    "a toJSON that throws": (
        "function main(c) { return {toJSON() { throw new TypeError('no'); }}; }",
        "TypeError: no",
    ),
    "a cycle": ("function main(c) { const o = {}; o.o = o; return o; }", "not JSON"),
}


@pytest.mark.parametrize(("script", "reason"), NOT_JSON.values(), ids=NOT_JSON.keys())
def test_a_result_that_is_not_json_is_a_failure_saying_why(script, reason):
    """Functions, symbols, deep nesting, lone surrogates: FAILURE with the reason."""
    result = run_action(script, None)
    assert (result.status, result.output) == ("FAILURE", None)
    assert reason in str(result.error)


def test_an_error_message_with_a_lone_surrogate_is_shown_escaped():
    r"""The message keeps the surrogate as the text \ud800, so it can be sent as UTF-8."""
    result = run_action("function main(c) { throw new Error('bad \\ud800 text'); }", None)
    assert (result.status, result.error) == ("FAILURE", "Error: bad \\ud800 text")
    assert result.error is not None
    result.error.encode("utf-8")


def test_an_input_with_a_lone_surrogate_is_a_failure_saying_so():
    """The input must be well-formed text; the script does not run."""
    result = run_action("function main(c) { return 1; }", {"name": "a\ud800"})
    assert result.status == "FAILURE"
    assert "the input holds a lone UTF-16 surrogate (\\ud800)" in str(result.error)


def test_a_huge_error_message_is_shortened():
    """A thrown message of 10 MB does not travel whole."""
    result = run_action("function main(c) { throw new Error('e'.repeat(1e7)); }", None)
    assert result.status == "FAILURE"
    assert len(str(result.error)) < 5000


# Issue 11, case 4: any valid name works as a dependency, even one JS objects treat specially.


@pytest.mark.parametrize("name", ["__proto__", "constructor", "toString", "hasOwnProperty"])
def test_a_dependency_named_like_an_object_property_can_be_called(name):
    """The dependency table has no prototype: `__proto__` is just a name."""
    dependencies = {name: ScriptUnit(f"function main(c) {{ return 'from {name}'; }}", ())}
    result = run_action(
        f"function main(c) {{ return c.call('{name}', null); }}",
        None,
        declared=(name,),
        dependencies=dependencies,
    )
    assert (result.status, result.output) == ("SUCCESS", f"from {name}")


@pytest.mark.parametrize("name", ["__proto__", "constructor", "toString"])
def test_an_undeclared_name_like_an_object_property_cannot_be_called(name):
    """`toString` and friends are not declared just because every object has them."""
    result = run_action(f"function main(c) {{ return c.call('{name}', null); }}", None)
    assert result.status == "FAILURE"
    assert "not a dependency" in str(result.error)


def test_a_process_with_more_than_1024_open_files_still_runs_scripts():
    """The answer is awaited with poll, which has no FD_SETSIZE limit as select has."""
    program = (
        "import os, resource\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))\n"
        "held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]\n"
        "from cxone_provider.emulator.sandbox import run_action\n"
        "print(run_action('function main(c) { return c.input + 1; }', 41).output)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert (ran.returncode, ran.stdout.strip()) == (0, "42"), ran.stderr


@pytest.mark.parametrize(
    "script",
    [
        'function main(c) { return c.call("x".repeat(1000000), 1); }',
        'function main(c) { throw new Error("y".repeat(1000000)); }',
        'function main(c) { throw {toString: () => "z".repeat(1000000)}; }',
        "function main(c) { return 1; }\nx " + "a" * 60000,
    ],
    ids=["call-name", "error", "thrown-object", "syntax-error"],
)
def test_every_answer_stays_small_whatever_the_script_makes_the_error_say(script):
    """Issue 20: a 1 MB call name made a 1 MB answer; errors are cut at MAX_ERROR_CHARS."""
    result = run_action(script, None)
    assert result.status == "FAILURE"
    assert len(str(result.error)) <= MAX_ERROR_CHARS + 1
    assert result.undeclared_call is None
    assert len(json.dumps(dataclasses.asdict(result))) < 8 * 1024
