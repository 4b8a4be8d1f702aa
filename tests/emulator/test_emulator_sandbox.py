"""POST /{id}/test over real HTTP: the stored script runs in the V8 sandbox."""

from __future__ import annotations

import json
import threading
import uuid

import httpx
import pytest
from emulator_process import API_ACTIONS, EmulatorProcess, PeakMemory, action_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def create(api: httpx.Client, name: str, *dependencies: str, content: str) -> dict:
    response = api.post(API_ACTIONS, json=action_body(name, *dependencies, content=content))
    assert response.status_code == 201, response.text
    return response.json()


def run_test(api: httpx.Client, action_id: str, test_input=None) -> httpx.Response:
    return api.post(f"{API_ACTIONS}/{action_id}/test", json={"input": test_input})


def test_a_passing_run_answers_the_output_and_which_version_ran(api):
    """200 SUCCESS with the output, no error, the duration, the action id and version."""
    action = create(api, "doubler", content="function main(c) { return c.input * 2; }")
    response = run_test(api, action["id"], 21)
    assert response.status_code == 200
    result = response.json()
    assert result["durationMs"] >= 0
    del result["durationMs"]
    assert result == {
        "status": "SUCCESS",
        "output": 42,
        "error": None,
        "actionId": action["id"],
        "version": 1,
    }


def test_a_throwing_script_is_a_200_with_failure_and_the_message(api):
    """A failed test is data, not an HTTP error."""
    action = create(api, "thrower", content="function main(c) { throw new Error('bad lead'); }")
    response = run_test(api, action["id"])
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["error"]) == ("FAILURE", "Error: bad lead")


def test_context_call_reaches_declared_dependencies_transitively(api):
    """The top action calls middle, middle calls leaf: each with its own declared names."""
    create(api, "leaf_score", content="function main(c) { return c.input + 1; }")
    create(
        api,
        "middle_score",
        "leaf_score",
        content="function main(c) { return c.call('leaf_score', c.input) * 10; }",
    )
    top = create(
        api,
        "top_score",
        "middle_score",
        content="function main(c) { return c.call('middle_score', c.input.n); }",
    )
    assert run_test(api, top["id"], {"n": 4}).json()["output"] == 50


def test_context_call_of_an_undeclared_action_fails(api):
    """An existing action that is not a declared dependency cannot be called."""
    create(api, "bystander", content="function main(c) { return 1; }")
    caller = create(api, "overreacher", content="function main(c) { return c.call('bystander'); }")
    result = run_test(api, caller["id"]).json()
    assert result["status"] == "FAILURE"
    assert "not a dependency" in result["error"]


def test_the_run_uses_the_stored_version(api):
    """After an update the test runs the new script and reports version 2."""
    action = create(api, "versioned_run", content="function main(c) { return 'v1'; }")
    api.put(
        f"{API_ACTIONS}/{action['id']}",
        json=action_body("versioned_run", content="function main(c) { return 'v2'; }"),
    )
    result = run_test(api, action["id"]).json()
    assert (result["output"], result["version"]) == ("v2", 2)


def test_a_memory_hog_is_a_failure_within_64_mib(api):
    """The 64 MiB memory limit stops the run: FAILURE naming the limit."""
    action = create(
        api,
        "memory_hog",
        content=(
            "function main(c) {\n"
            "  const hog = []; while (true) { hog.push(new Array(1e5).fill(1)); }\n"
            "}"
        ),
    )
    result = run_test(api, action["id"]).json()
    assert result["status"] == "FAILURE"
    assert "memory limit of 64 MiB" in result["error"]


def test_a_runaway_script_times_out_at_5_s_while_others_are_served(emulator, api):
    """while(true){} gives TIMEOUT after about 5 s; meanwhile other requests are answered."""
    action = create(api, "runaway", content="function main(c) { while (true) {} }")
    outcome: list[httpx.Response] = []
    runner = threading.Thread(target=lambda: outcome.append(run_test(api, action["id"])))
    runner.start()
    emulator.wait_until(lambda stats: stats["sandbox_runs"] == 1)
    with emulator.api() as other:
        for _ in range(10):
            assert other.get(f"{API_ACTIONS}/{action['id']}").status_code == 200
        created = other.post(API_ACTIONS, json=action_body("served_meanwhile"))
        assert created.status_code == 201
    assert emulator.stats()["sandbox_runs"] == 1, "the runaway ended before the others were served"
    runner.join()
    result = outcome[0].json()
    assert (outcome[0].status_code, result["status"]) == (200, "TIMEOUT")
    assert 4900 <= result["durationMs"] < 7000
    assert emulator.stats()["sandbox_runs"] == 0


def test_a_test_of_an_unknown_action_is_not_found(api):
    """404 NOT_FOUND for an id that does not exist."""
    response = run_test(api, str(uuid.uuid4()))
    assert (response.status_code, response.json()["error"]) == (404, "NOT_FOUND")


def test_test_runs_are_not_counted_as_writes(emulator, api):
    """api_writes counts changes only; the test run is still counted as a request."""
    action = create(api, "counted", content="function main(c) { return 1; }")
    run_test(api, action["id"])
    stats = emulator.stats()
    assert stats["api_writes"] == 1
    test_rows = [row for row in stats["requests"] if row["path"].endswith("/test")]
    assert test_rows == [
        {"method": "POST", "path": f"{API_ACTIONS}/{{id}}/test", "status": 200, "count": 1},
    ]


# Issue 11, case 1: the three memory bombs fail, and the emulator's memory stays bounded.

MEMORY_BOMBS = {
    "array_buffer_bomb": (
        "function main(c) { const bytes = new Uint8Array(new ArrayBuffer(2 ** 30));"
        " bytes.fill(1); return bytes.length; }"
    ),
    "wasm_memory_bomb": (
        "function main(c) { const memory = new WebAssembly.Memory({initial: 16384});"
        " new Uint8Array(memory.buffer).fill(1); return memory.buffer.byteLength; }"
    ),
    "string_bomb": "function main(c) { return 'x'.repeat(2 ** 28); }",
}
PEAK_MEMORY_LIMIT = 512 * 1024 * 1024


def test_memory_bombs_fail_and_the_emulator_stays_under_512_mib(start_emulator):
    """ArrayBuffer, WebAssembly and string bombs: FAILURE, and peak RSS of the tree < 512 MiB."""
    emulator = start_emulator()
    with emulator.api() as api:
        ids = [create(api, name, content=script)["id"] for name, script in MEMORY_BOMBS.items()]
        with PeakMemory(emulator.pid) as memory:
            for _ in range(2):
                for action_id in ids:
                    response = run_test(api, action_id)
                    assert response.status_code == 200
                    assert response.json()["status"] == "FAILURE"
            concurrently = [threading.Thread(target=run_test, args=(api, i)) for i in ids]
            for thread in concurrently:
                thread.start()
            for thread in concurrently:
                thread.join()
    assert len(memory.processes_seen) > 1, "the runs were expected in worker processes"
    assert 0 < memory.peak_bytes < PEAK_MEMORY_LIMIT, f"peak {memory.peak_bytes / 2**20:.0f} MiB"


# Issue 11, cases 2-4 over HTTP: odd results are a 200 FAILURE, odd names are just names.


@pytest.mark.parametrize(
    ("script", "test_input", "reason"),
    [
        ("function main(c) { return function () {}; }", None, "returned a function"),
        ("function main(c) { return Symbol(); }", None, "returned a symbol"),
        (
            "function main(c) { let a = []; for (let i = 0; i < 5000; i++) a = [a]; return a; }",
            None,
            "deeper than",
        ),
        ("function main(c) { return '\\ud800'; }", None, "lone UTF-16 surrogate"),
        ("function main(c) { throw new Error('\\ud800'); }", None, "Error: \\ud800"),
        ("function main(c) { return c.input; }", "\ud800", "lone UTF-16 surrogate"),
        (
            "function main(c) { JSON.stringify = () => '{'; throw new Error('broken'); }",
            None,
            "Error: broken",
        ),
    ],
    ids=[
        "function",
        "symbol",
        "deep",
        "surrogate-output",
        "surrogate-error",
        "surrogate-input",
        "forged-stringify",
    ],
)
def test_a_result_that_is_not_json_is_a_200_failure_saying_why(api, script, test_input, reason):
    """Functions, symbols, deep nesting and lone surrogates: 200, FAILURE, the reason."""
    action = create(api, "odd_result", content=script)
    response = post_test(api, action["id"], test_input)
    assert response.status_code == 200
    result = response.json()
    assert (result["status"], result["output"]) == ("FAILURE", None)
    assert reason in result["error"]


def test_an_action_named_proto_can_be_called_as_a_dependency(api):
    """`__proto__` passes the name rule, so it works as a dependency name too."""
    create(api, "__proto__", content="function main(c) { return 'from __proto__'; }")
    caller = create(
        api, "proto_caller", "__proto__", content="function main(c) { return c.call('__proto__'); }"
    )
    result = run_test(api, caller["id"]).json()
    assert (result["status"], result["output"]) == ("SUCCESS", "from __proto__")


def post_test(api: httpx.Client, action_id: str, test_input) -> httpx.Response:
    """POST /test with the input as JSON text; escapes keep lone surrogates sendable."""
    return api.post(
        f"{API_ACTIONS}/{action_id}/test",
        content=json.dumps({"input": test_input}).encode(),
        headers={"Content-Type": "application/json"},
    )


# Issue 11: a fuzz test over what main(context) returns or throws.

_ODD_VALUES = (
    "undefined",
    "null",
    "true",
    "NaN",
    "-Infinity",
    "-0",
    "10n",
    "Symbol('s')",
    "function () {}",
    "() => 1",
    "class {}",
    "new Date(NaN)",
    "new Date(0)",
    "/re/g",
    "new Map([[1, 2]])",
    "new Set([1])",
    "new Uint8Array(3)",
    "new ArrayBuffer(8)",
    "Promise.resolve(1)",
    "new Error('e')",
    "Object.create(null)",
    "globalThis",
    "JSON",
    "Math",
    "new Proxy({}, {get() { throw new Error('trap'); }})",
    "new Proxy([], {ownKeys() { return ['x']; }})",
    "({toJSON() { return undefined; }})",
    "({toJSON() { throw new Error('toJSON'); }})",
    "({get a() { throw new Error('getter'); }})",
    "({then: 1})",
    "({then() {}})",
    "'\\ud800'",
    "'\\udc00x\\ud83d'",
    "'x'.repeat(2 ** 21)",
    "'\\u2028'",
    "{toString() { throw 1; }}",
)
_SCALARS = st.one_of(
    st.sampled_from(_ODD_VALUES),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=20).map(json.dumps),
)
JS_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.dictionaries(st.text(max_size=8), children, max_size=4).map(
            lambda entries: (
                "({" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in entries.items()) + "})"
            )
        ),
        st.tuples(st.integers(1, 6000), children).map(lambda pair: f"nest({pair[0]}, {pair[1]})"),
    ),
    max_leaves=8,
)
JSON_INPUTS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
_NEST = (
    "function nest(depth, value) { for (let i = 0; i < depth; i++) value = [value]; return value; }"
)


@pytest.fixture(scope="module")
def fuzzed_emulator(tmp_path_factory):
    process = EmulatorProcess(["--rate-limit", "0"], cwd=tmp_path_factory.mktemp("fuzzed-emulator"))
    yield process
    process.stop()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=JS_VALUES, verb=st.sampled_from(["return", "throw"]), test_input=JSON_INPUTS)
def test_any_returned_or_thrown_value_is_a_200_verdict(fuzzed_emulator, value, verb, test_input):
    """Whatever main returns or throws, and whatever the input: 200 with a verdict, in time."""
    with fuzzed_emulator.api(timeout=20.0) as api:
        body = action_body("fuzzed", content=f"{_NEST}\nfunction main(c) {{ {verb} ({value}); }}")
        listed = api.get(API_ACTIONS, params={"name": "fuzzed"}).json()["entities"]
        if listed:
            response = api.put(f"{API_ACTIONS}/{listed[0]['id']}", json=body)
        else:
            response = api.post(API_ACTIONS, json=body)
        assert response.status_code in {200, 201}, response.text
        answer = post_test(api, response.json()["id"], test_input)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["status"] in {"SUCCESS", "FAILURE", "TIMEOUT"}
    assert (result["error"] is None) == (result["status"] == "SUCCESS")
