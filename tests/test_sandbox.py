"""The V8 sandbox on its own: input, context.call, limits, and what a script cannot reach."""

from __future__ import annotations

import pytest

from cxone_provider.sandbox import ScriptUnit, run_action


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
