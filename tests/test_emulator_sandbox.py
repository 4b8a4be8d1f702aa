"""POST /{id}/test over real HTTP: the stored script runs in the V8 sandbox."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest
from emulator_process import API_ACTIONS, action_body


@pytest.fixture
def api(emulator):
    with emulator.api() as client:
        yield client


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
    """while(true){} gives TIMEOUT after about 5 s; meanwhile other requests answer quickly."""
    action = create(api, "runaway", content="function main(c) { while (true) {} }")
    outcome: list[httpx.Response] = []
    runner = threading.Thread(target=lambda: outcome.append(run_test(api, action["id"])))
    started = time.monotonic()
    runner.start()
    time.sleep(0.3)
    slowest = 0.0
    with emulator.api() as other:
        for index in range(10):
            before = time.monotonic()
            assert other.get(f"{API_ACTIONS}/{action['id']}").status_code == 200
            if index == 0:
                created = other.post(API_ACTIONS, json=action_body("served_meanwhile"))
                assert created.status_code == 201
            slowest = max(slowest, time.monotonic() - before)
    assert runner.is_alive(), "the other requests were answered only after the runaway ended"
    runner.join()
    elapsed = time.monotonic() - started
    result = outcome[0].json()
    assert (outcome[0].status_code, result["status"]) == (200, "TIMEOUT")
    assert 4.9 <= elapsed < 8
    assert 4900 <= result["durationMs"] < 7000
    assert slowest < 1.0


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
