"""The provider over the engine protocol against the running emulator: create to delete.

Each test starts the SDK's dynamic-provider server (`python -m pulumi.dynamic`) as the engine
does, configures it with stack config pointing at the emulator, and drives it over gRPC.
"""

from __future__ import annotations

import base64
import json
import threading
import time

import grpc
import pytest
from provider_server import (
    inputs,
    serialized_provider,
    to_struct,
    urn,
    verify_standard_webhook,
)
from pulumi.runtime.proto import provider_pb2

from cxone_provider.api.models import validate_spec
from cxone_provider.deploy.audit import AuditLog
from cxone_provider.deploy.properties import PROVIDER_KEY, TYPE_TOKEN
from cxone_provider.deploy.resource import JSON_NULL, DataActionArgs

ACTIONS = "/api/v2/dataactions/actions"
ECHO = "function main(context) { return context.input; }"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"webhook-key-of-32-bytes-exactly!").decode()


@pytest.fixture
def audit(tmp_path):
    return AuditLog(tmp_path / "audit.jsonl")


def declare(plugin, resource="lead-score", **fields):
    """Check a declaration as the engine does before a create or update; it must pass."""
    fields.setdefault("name", resource.replace("-", "_"))
    fields.setdefault("script", ECHO)
    checked = plugin.check(resource, inputs(resource, DataActionArgs(**fields)))
    assert checked.failures == []
    return checked.inputs


def create(plugin, resource="lead-score", **fields):
    return plugin.create(resource, declare(plugin, resource, **fields))


def failure_text(call, *args):
    with pytest.raises(grpc.RpcError) as caught:
        call(*args)
    return caught.value.details()


# --- the full lifecycle ---


def test_full_lifecycle_check_create_read_diff_update_diff_delete(plugin, api, emulator, audit):
    """Create, refresh, no-change diff, update, no-change diff, delete: the tenant follows."""
    news = declare(plugin, dependencies=[], test_input={"score": 21}, expected_output={"score": 21})
    created = plugin.create("lead-score", news)
    action = api.get_action(created.id)
    assert action.name == "lead_score"
    assert action.description == "Managed by Pulumi: lead_score"
    assert created.outputs["action_id"] == created.id
    assert created.outputs["version"] == 1
    assert created.outputs["test_status"] == "SUCCESS"
    assert created.outputs["test_passed"] is True
    assert json.loads(created.outputs["test_output"]) == {"score": 21}
    assert created.outputs["latency_ms"] > 0
    assert created.outputs["created_timestamp"] == action.created_timestamp

    refreshed = plugin.read("lead-score", created.id, properties=created.outputs)
    assert refreshed.id == created.id
    assert refreshed.outputs["script"] == ECHO
    assert plugin.diff("lead-score", created.id, refreshed.outputs, news).changes == (
        provider_pb2.DiffResponse.DIFF_NONE
    )

    new_script = "function main(context) { return {score: context.input.score * 2}; }"
    updated_news = declare(
        plugin, script=new_script, test_input={"score": 21}, expected_output={"score": 42}
    )
    assert plugin.diff("lead-score", created.id, refreshed.outputs, updated_news).changes == (
        provider_pb2.DiffResponse.DIFF_UNKNOWN
    )
    updated = plugin.update("lead-score", created.id, refreshed.outputs, updated_news)
    assert updated["version"] == 2
    assert api.get_action(created.id).script.content == new_script
    assert plugin.diff("lead-score", created.id, updated, updated_news).changes == (
        provider_pb2.DiffResponse.DIFF_NONE
    )

    plugin.delete("lead-score", created.id, updated)
    assert list(api.list_actions()) == []
    records = audit.read()
    assert [(r["operation"], r["outcome"]) for r in records] == [
        ("create", "created"),
        ("update", "updated"),
        ("delete", "deleted"),
    ]
    first = records[0]
    fields = (
        "timestamp",
        "operation",
        "action_id",
        "name",
        "latency_ms",
        "test_status",
        "test_passed",
        "attempt_count",
        "stack",
        "version",
    )
    assert set(fields) <= first.keys()
    assert {key: first[key] for key in fields if key not in {"timestamp", "latency_ms"}} == {
        "operation": "create",
        "action_id": created.id,
        "name": "lead_score",
        "test_status": "SUCCESS",
        "test_passed": True,
        "attempt_count": 1,
        "stack": "test",
        "version": 1,
    }
    assert emulator.stats()["api_writes"] == 3


def test_all_resources_share_one_client_and_one_token(plugin, emulator):
    """Four creates at once from the engine's four threads: one token request in total."""
    checked = [declare(plugin, f"action-{n}") for n in range(4)]
    futures = [
        plugin.stub.Create.future(
            provider_pb2.CreateRequest(
                urn=urn(f"action-{n}"), properties=to_struct(props), type=TYPE_TOKEN
            ),
            timeout=60,
        )
        for n, props in enumerate(checked)
    ]
    ids = {future.result().id for future in futures}
    assert len(ids) == 4
    assert emulator.stats()["token_requests"] == 1


# --- create: all or nothing ---


def test_a_failing_sandbox_test_leaves_no_action(plugin, api, audit):
    """The script throws: create fails with the test's message and the action is deleted."""
    script = "function main(context) { throw new Error('lead has no phone'); }"
    text = failure_text(plugin.create, "lead-score", declare(plugin, script=script))
    assert "TestFailedError" in text
    assert "sandbox test FAILURE" in text
    assert "lead has no phone" in text
    assert list(api.list_actions()) == []
    [record] = audit.read()
    assert (record["operation"], record["outcome"], record["test_passed"]) == (
        "create",
        "rolled_back",
        False,
    )


def test_an_unexpected_output_fails_the_create(plugin, api):
    """The test returns 1 where 2 is expected: the create fails and leaves nothing."""
    props = declare(plugin, script="function main() { return 1; }", expected_output=2)
    text = failure_text(plugin.create, "lead-score", props)
    assert "OUTPUT_MISMATCH" in text
    assert "the test returned 1 but expected_output is 2" in text
    assert list(api.list_actions()) == []


def test_expected_null_is_checked_as_null(plugin, api):
    """JSON_NULL requires a null result: null passes, {} fails."""
    created = create(
        plugin, "returns-null", script="function main() { return null; }", expected_output=JSON_NULL
    )
    assert created.outputs["test_passed"] is True
    assert created.outputs["test_output"] == "null"
    props = declare(
        plugin, "returns-object", script="function main() { return {}; }", expected_output=JSON_NULL
    )
    assert "expected_output is null" in failure_text(plugin.create, "returns-object", props)
    assert [a.name for a in api.list_actions()] == ["returns_null"]


def test_nulls_inside_test_values_survive_the_round_trip(plugin):
    """Pulumi drops nulls inside objects; JSON text keeps them, so this passes."""
    created = create(
        plugin,
        script=ECHO,
        test_input={"a": None, "b": [1, None]},
        expected_output={"a": None, "b": [1, None]},
    )
    assert created.outputs["test_passed"] is True
    assert json.loads(created.outputs["test_output"]) == {"a": None, "b": [1, None]}


def test_warn_policy_keeps_the_action_and_records_the_failure(plugin, api):
    """on_test_failure='warn': the create succeeds, the failure is in outputs and stderr."""
    script = "function main() { throw new Error('flaky upstream'); }"
    created = create(plugin, script=script, on_test_failure="warn")
    assert created.outputs["test_status"] == "FAILURE"
    assert created.outputs["test_passed"] is False
    assert api.get_action(created.id).name == "lead_score"
    assert (
        f"Data Action 'lead_score': created as {created.id} although its test failed "
        "(on_test_failure=warn): Error: flaky upstream"
    ) in plugin.stderr()


def test_warn_policy_from_stack_config(start_plugin, api):
    """cxone:onTestFailure=warn applies when the declaration sets no policy."""
    plugin = start_plugin(onTestFailure="warn")
    created = create(plugin, script="function main() { return 1; }", expected_output=2)
    assert (created.outputs["test_status"], created.outputs["test_passed"]) == ("SUCCESS", False)
    assert [a.id for a in api.list_actions()] == [created.id]


def test_a_create_past_its_deadline_leaves_nothing_behind(start_plugin, api, emulator):
    """A 503 asking for a wait past cxone:operationTimeout: the create gives up at once."""
    # The budget covers the token and a loaded machine's round trips; the wait asked is far past.
    plugin = start_plugin(operationTimeout="20")
    emulator.add_fault("POST", ACTIONS, status=503, count=1, headers={"Retry-After": "600"})
    started = time.monotonic()
    text = failure_text(plugin.create, "lead-score", declare(plugin))
    assert time.monotonic() - started < 20  # it gave up at once, before the deadline
    assert "did not finish within 20 s (cxone:operationTimeout) and gave up while creating" in (
        text
    )
    assert "may have taken effect" not in text
    assert list(api.list_actions()) == []


def test_a_test_past_the_deadline_rolls_the_create_back(start_plugin, api, emulator, audit):
    """The action is created, its test cannot run in time: the rollback deletes it anyway."""
    plugin = start_plugin(operationTimeout="20")  # the create fits on a loaded machine
    emulator.add_fault("POST", ACTIONS + "/{id}/test", status=503, headers={"Retry-After": "600"})
    text = failure_text(plugin.create, "lead-score", declare(plugin))
    assert "gave up while testing the action" in text
    assert emulator.stats()["api_writes"] == 2  # the create, and the rollback's delete
    assert list(api.list_actions()) == []
    [record] = audit.read()
    assert (record["operation"], record["outcome"], record["error"]) == (
        "create",
        "rolled_back",
        "DeadlineExceededError",
    )
    assert record["test_status"] is None


def test_a_create_that_hangs_past_its_deadline_is_adopted_by_the_rerun(start_plugin, api, emulator):
    """A POST that outlives cxone:operationTimeout: the create gives up in time.

    The action lands afterwards; the rerun finds it through its idempotency key and adopts it.
    """
    # 3 s get the POST to the emulator on a loaded machine; the hold outlasts them well.
    plugin = start_plugin(operationTimeout="3")
    emulator.add_fault("POST", ACTIONS, hold_ms=8000)
    started = time.monotonic()
    text = failure_text(plugin.create, "lead-score", declare(plugin))
    assert time.monotonic() - started < 8  # cut by the deadline, not answered after the hold
    assert "did not finish within 3 s (cxone:operationTimeout) and gave up while creating" in text
    assert "may have taken effect: the rerun finds it" in text
    landed = emulator.wait_until(lambda stats: stats["actions"] == 1)
    assert landed["actions"] == 1
    [orphan] = api.list_actions()
    rerun = create(start_plugin())
    assert rerun.id == orphan.id
    assert [a.id for a in api.list_actions()] == [orphan.id]


def test_an_existing_action_is_never_adopted_silently(plugin, api):
    """A same-named action this deployment did not create: error with its id and adopt."""
    existing = api.create_action(
        validate_spec({"name": "lead_score", "script": {"content": ECHO}}),
        idempotency_key="made-by-someone-else",
    ).action
    text = failure_text(plugin.create, "lead-score", declare(plugin))
    assert "NAME_CONFLICT" in text
    assert existing.id in text
    assert "aliases=[pulumi.Alias(name=" in text
    # Issue 21: the fix is said once, and the message fits on a few lines (it was ~900 chars).
    assert text.count("adopt=True") == 1
    message = text.partition("\n\nThe above exception")[0]
    assert len(message) < 550, message
    assert [a.id for a in api.list_actions()] == [existing.id]
    assert api.get_action(existing.id).version == 1


def test_create_again_after_a_destroy_makes_a_new_action(plugin, api):
    """Same inputs within the key's 24 h: the replayed id is gone, so a new one is made."""
    first = create(plugin)
    plugin.delete("lead-score", first.id, first.outputs)
    second = create(plugin)
    assert second.id != first.id
    assert [a.id for a in api.list_actions()] == [second.id]
    plugin.delete("lead-score", second.id, second.outputs)
    again = create(plugin)  # two replayed answers point at deleted actions before a new key
    assert again.id not in {first.id, second.id}
    assert [a.id for a in api.list_actions()] == [again.id]


def test_crash_after_the_create_was_committed_is_adopted_on_rerun(
    start_plugin, api, emulator, audit
):
    """SIGKILL the plugin after the emulator committed the create but before any answer.

    The rerun sends the same Idempotency-Key, gets the first answer replayed, checks the
    action is identical, and adopts it: exactly one action, and the create succeeds.
    """
    emulator.add_fault("POST", ACTIONS, drop=True, count=100)
    first = start_plugin()
    props = declare(first)
    pending = first.stub.Create.future(
        provider_pb2.CreateRequest(
            urn=urn("lead-score"), properties=to_struct(props), type=TYPE_TOKEN
        ),
        timeout=120,
    )
    emulator.wait_until(lambda stats: stats["actions"] == 1, timeout_s=30)
    first.kill()
    assert pending.exception() is not None  # the engine never heard back
    emulator.clear_faults()

    rerun = start_plugin()
    created = rerun.create("lead-score", props)
    actions = list(api.list_actions())
    assert [a.id for a in actions] == [created.id]
    assert created.outputs["test_passed"] is True
    [record] = audit.read()
    assert record["adopted"] is True
    assert record["action_id"] == created.id


# --- read and import ---


def test_read_of_a_vanished_action_returns_an_empty_id(plugin, api):
    """Refresh after an out-of-band delete: empty id, so Pulumi drops it from the state."""
    created = create(plugin)
    api.delete_action(created.id)
    refreshed = plugin.read("lead-score", created.id, properties=created.outputs)
    assert refreshed.id == ""
    assert refreshed.outputs == {PROVIDER_KEY: created.outputs[PROVIDER_KEY]}


def test_refresh_shows_drift(plugin, api):
    """A change made in the console appears in the refreshed outputs, and diffs as a change."""
    news = declare(plugin)
    created = plugin.create("lead-score", news)
    drifted = validate_spec(
        {"name": "lead_score", "description": "edited in the console", "script": {"content": ECHO}}
    )
    api.update_action(created.id, drifted)
    refreshed = plugin.read("lead-score", created.id, properties=created.outputs)
    assert refreshed.outputs["description"] == "edited in the console"
    assert refreshed.outputs["version"] == 2
    assert refreshed.inputs["description"] == "edited in the console"
    assert plugin.diff("lead-score", created.id, refreshed.outputs, news).changes == (
        provider_pb2.DiffResponse.DIFF_UNKNOWN
    )


def console_action(api, **fields):
    body = {"name": "lead_score", "description": "Scores a lead", "script": {"content": ECHO}}
    return api.create_action(
        validate_spec({**body, **fields}), idempotency_key="made-in-the-console"
    ).action


def test_adopt_takes_over_an_identical_action_without_writing(plugin, api, emulator, audit):
    """adopt=True and a declaration equal to the action: its id, no POST or PUT, then tested."""
    existing = console_action(api)
    writes = emulator.stats()["api_writes"]
    news = declare(plugin, description="Scores a lead", adopt=True, test_input={"x": 1})
    adopted = plugin.create("lead-score", news)
    assert adopted.id == existing.id
    assert adopted.outputs["version"] == 1
    assert adopted.outputs["test_status"] == "SUCCESS"
    assert emulator.stats()["api_writes"] == writes
    assert [a.id for a in api.list_actions()] == [existing.id]
    assert [(r["operation"], r["outcome"]) for r in audit.read()] == [("adopt", "adopted")]
    assert plugin.diff("lead-score", existing.id, adopted.outputs, news).changes == (
        provider_pb2.DiffResponse.DIFF_NONE
    )


def test_adopt_refuses_an_action_that_differs_and_names_the_fields(plugin, api, emulator):
    """adopt=True against other content: an error naming script and description, no write."""
    existing = console_action(api, script={"content": "function main(c) { return 1; }"})
    writes = emulator.stats()["api_writes"]
    text = failure_text(plugin.create, "lead-score", declare(plugin, adopt=True))
    assert "differs from DataAction 'lead-score' in description, script" in text
    assert "cxone export" in text
    assert emulator.stats()["api_writes"] == writes
    assert api.get_action(existing.id).version == 1


def test_adopt_creates_an_action_that_does_not_exist(plugin, api):
    """adopt=True with nothing to adopt is an ordinary create."""
    created = plugin.create("lead-score", declare(plugin, adopt=True))
    assert [a.id for a in api.list_actions()] == [created.id]


def test_an_adopted_action_failing_its_test_is_adopted_with_the_verdict(plugin, api, audit):
    """Adopting changes nothing, so a failed test is reported (test_passed false), not undone."""
    existing = console_action(api)
    news = declare(plugin, description="Scores a lead", adopt=True, expected_output={"no": 1})
    adopted = plugin.create("lead-score", news)
    assert adopted.id == existing.id
    assert adopted.outputs["test_passed"] is False
    assert [a.id for a in api.list_actions()] == [existing.id]
    assert [(r["operation"], r["outcome"], r["test_passed"]) for r in audit.read()] == [
        ("adopt", "adopted", False)
    ]


# --- update ---


def test_update_after_an_out_of_band_change_says_to_refresh(plugin, api):
    """If-Match on the recorded version: a console edit gives a 412 that says what to do."""
    created = create(plugin)
    api.update_action(
        created.id,
        validate_spec(
            {"name": "lead_score", "description": "console", "script": {"content": ECHO}}
        ),
    )
    news = declare(plugin, script="function main() { return 3; }")
    text = failure_text(plugin.update, "lead-score", created.id, created.outputs, news)
    assert "VERSION_MISMATCH" in text
    assert "changed outside Pulumi" in text
    assert "pulumi refresh" in text
    assert api.get_action(created.id).description == "console"

    refreshed = plugin.read("lead-score", created.id, properties=created.outputs)
    updated = plugin.update("lead-score", created.id, refreshed.outputs, news)
    assert updated["version"] == 3


def test_an_update_whose_answer_was_lost_succeeds_on_retry(plugin, api, emulator):
    """The tenant commits a PUT whose answer never arrives: the retry still succeeds.

    The retry meets a 412 on the old version, finds its own content already there, and
    succeeds without a second write.
    """
    created = create(plugin)
    news = declare(plugin, script="function main() { return 3; }")
    writes = emulator.stats()["api_writes"]
    emulator.add_fault("PUT", ACTIONS + "/{id}", drop=True)
    updated = plugin.update("lead-score", created.id, created.outputs, news)
    assert updated["version"] == 2
    assert updated["test_output"] == "3"
    assert api.get_action(created.id).script.content == "function main() { return 3; }"
    assert emulator.stats()["api_writes"] == writes + 1


def test_update_with_a_failing_test_restores_the_previous_content(plugin, api, audit):
    """The new script fails its test: the old one is put back, and the error says why."""
    created = create(plugin)
    broken = declare(plugin, script="function main() { throw new Error('bad rollout'); }")
    text = failure_text(plugin.update, "lead-score", created.id, created.outputs, broken)
    assert "bad rollout" in text
    assert api.get_action(created.id).script.content == ECHO
    assert audit.read()[-1]["outcome"] == "restored"

    # The state still records version 1; the restore moved the tenant to version 3 with the
    # recorded content. That is not a conflict: the next update goes through.
    fixed = declare(plugin, script="function main(context) { return context.input; } // v2")
    updated = plugin.update("lead-score", created.id, created.outputs, fixed)
    assert updated["version"] == 4


def test_a_test_only_change_retests_without_writing(plugin, emulator):
    """Changing only test_input/expected_output: the test runs again, the API is not written."""
    created = create(plugin, test_input={"a": 1}, expected_output={"a": 1})
    writes = emulator.stats()["api_writes"]
    news = declare(plugin, test_input={"a": 2}, expected_output={"a": 2})
    updated = plugin.update("lead-score", created.id, created.outputs, news)
    assert emulator.stats()["api_writes"] == writes
    assert updated["version"] == 1
    assert json.loads(updated["test_output"]) == {"a": 2}
    failing = declare(plugin, test_input={"a": 2}, expected_output={"a": 3})
    assert "expected_output" in failure_text(
        plugin.update, "lead-score", created.id, updated, failing
    )


# --- delete ---


def test_delete_of_a_vanished_action_succeeds(plugin, api, audit):
    """404 on delete is done: no error, and the audit says it was already gone."""
    created = create(plugin)
    api.delete_action(created.id)
    plugin.delete("lead-score", created.id, created.outputs)
    assert audit.read()[-1]["outcome"] == "already_gone"


def test_delete_of_an_action_in_use_names_its_dependents(plugin, api):
    """ACTION_IN_USE becomes an error that names the actions that still depend on it."""
    base = create(plugin, "base-enrichment", name="base_enrichment")
    create(plugin, "lead-score", dependencies=["base_enrichment"])
    text = failure_text(plugin.delete, "base-enrichment", base.id, base.outputs)
    assert "ACTION_IN_USE" in text
    assert "'lead_score' still list it in their dependencies" in text
    assert api.get_action(base.id).name == "base_enrichment"


# --- secrets and webhooks ---


def test_the_client_secret_appears_nowhere(tmp_path, start_emulator, start_plugin, receiver):
    """Not in the pickled provider, outputs, audit log, plugin stderr or any error text."""
    secret = "Very-Secret-Client-Secret-42"
    tenant = start_emulator("--client", f"ops:{secret}")
    plugin = start_plugin(
        baseUrl=tenant.base_url,
        clientId="ops",
        clientSecret=secret,
        webhookUrl=receiver.url,
        webhookSecret=WEBHOOK_SECRET,
    )
    created = create(plugin)
    throwing = declare(plugin, "bad", name="bad_one", script="function main() { throw 1; }")
    errors = [
        failure_text(plugin.create, "bad", throwing),
        failure_text(
            plugin.update,
            "lead-score",
            created.id,
            created.outputs,
            declare(plugin, script="function main() { throw 2; }"),
        ),
    ]
    wrong = start_plugin(baseUrl=tenant.base_url, clientId="ops", clientSecret=secret + "-wrong")
    errors.append(failure_text(wrong.create, "lead-score", declare(plugin)))
    assert "invalid_client" in errors[2]
    plugin.delete("lead-score", created.id, created.outputs)
    texts = [
        *errors,
        base64.b64decode(serialized_provider()).decode("latin-1"),
        json.dumps(created.outputs),
        (tmp_path / "audit.jsonl").read_text(),
        plugin.stderr(),
        wrong.stderr(),
        *(body.decode() for _, body in receiver.requests),
    ]
    for text in texts:
        assert secret not in text
        assert WEBHOOK_SECRET not in text


def test_webhook_events_are_signed_for_create_update_and_delete(start_plugin, receiver):
    """Each change sends its event, signed; the receiver verifies every one."""
    plugin = start_plugin(webhookUrl=receiver.url, webhookSecret=WEBHOOK_SECRET)
    created = create(plugin)
    updated = plugin.update(
        "lead-score", created.id, created.outputs, declare(plugin, description="v2")
    )
    plugin.delete("lead-score", created.id, updated)
    events = receiver.events()
    assert [e["event"] for e in events] == ["ACTION_CREATED", "ACTION_UPDATED", "ACTION_DELETED"]
    assert all(e["action_id"] == created.id and e["stack"] == "test" for e in events)
    assert events[0]["test_status"] == "SUCCESS"
    assert all(verify_standard_webhook(WEBHOOK_SECRET, h, b) for h, b in receiver.requests)


def test_a_failing_or_hanging_webhook_never_fails_the_deployment(start_plugin, api, receiver):
    """500s until retries run out, then a 6 s hang (over the 5 s limit): both creates succeed."""
    receiver.answers = [500, 500, 500, 6.0]
    plugin = start_plugin(webhookUrl=receiver.url, webhookSecret=WEBHOOK_SECRET)
    create(plugin, "first")
    started = time.monotonic()
    create(plugin, "second")
    assert time.monotonic() - started >= 5.0  # the hang was waited out, then retried
    assert sorted(a.name for a in api.list_actions()) == ["first", "second"]
    assert "was not delivered" in plugin.stderr()
    assert len(receiver.requests) == 5


def test_a_test_failure_event_is_sent_when_the_create_is_rolled_back(start_plugin, receiver):
    """A create whose test fails sends ACTION_TEST_FAILED with the sandbox's status."""
    plugin = start_plugin(webhookUrl=receiver.url)
    props = declare(plugin, script="function main() { throw new Error('no'); }")
    assert "sandbox test FAILURE" in failure_text(plugin.create, "lead-score", props)
    [event] = receiver.events()
    assert (event["event"], event["test_status"]) == ("ACTION_TEST_FAILED", "FAILURE")


def test_engine_threads_do_not_share_call_state(plugin, api):
    """Creates and a failing create interleaved on the engine's threads: each gets its own."""
    results = {}

    def run(resource, script):
        try:
            results[resource] = create(plugin, resource, script=script).id
        except grpc.RpcError as exc:
            results[resource] = exc.details()

    threads = [threading.Thread(target=run, args=(f"ok-{n}", ECHO)) for n in range(3)] + [
        threading.Thread(target=run, args=("broken", "function main() { throw 7; }"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "TestFailedError" in results["broken"]
    assert {a.name for a in api.list_actions()} == {"ok_0", "ok_1", "ok_2"}
