"""The provider's rare failure paths over the engine protocol, against the emulator's faults.

For each: the error says what happened and what to do, and the tenant keeps nothing half-made.
Faults are queued through the emulator's control API, so every run meets the same ones.
"""

from __future__ import annotations

import shutil

import grpc
import pytest
from provider_server import inputs

from cxone_provider.api.models import validate_spec
from cxone_provider.deploy.audit import AuditLog
from cxone_provider.deploy.create import idempotency_key
from cxone_provider.deploy.properties import request_body
from cxone_provider.deploy.resource import DataActionArgs

ACTIONS = "/api/v2/dataactions/actions"
ECHO = "function main(context) { return context.input; }"
THROWS = "function main() { throw new Error('bad rollout'); }"


@pytest.fixture
def audit(tmp_path):
    return AuditLog(tmp_path / "audit.jsonl")


def declare(plugin, **fields):
    fields.setdefault("name", "lead_score")
    fields.setdefault("script", ECHO)
    checked = plugin.check("lead-score", inputs("lead-score", DataActionArgs(**fields)))
    assert checked.failures == []
    return checked.inputs


def failure_text(call, *args):
    with pytest.raises(grpc.RpcError) as caught:
        call(*args)
    return caught.value.details()


# --- create ---


def test_a_create_that_runs_out_of_fresh_keys_stops_and_says_to_rerun(plugin, api, emulator):
    """Eight stale answers in a row (a 409 NAME_CONFLICT for a name that is free): no action."""
    emulator.add_fault("POST", ACTIONS, status=409, code="NAME_CONFLICT", count=8)
    props = declare(plugin)
    text = failure_text(plugin.create, "lead-score", props)
    assert (
        "Data Action 'lead_score': the create kept getting stale replayed answers after 8 "
        "idempotency keys; run `pulumi up` again"
    ) in text
    assert emulator.stats()["faults_injected"] == 8
    assert list(api.list_actions()) == []
    rerun = plugin.create("lead-score", props)
    assert [a.id for a in api.list_actions()] == [rerun.id]


def test_a_conflict_other_than_the_name_is_reported_as_the_api_said(plugin, api, emulator):
    """A 409 DEPENDENCY_CYCLE on the create is no stale answer: raised at once, nothing made."""
    emulator.add_fault("POST", ACTIONS, status=409, code="DEPENDENCY_CYCLE")
    text = failure_text(plugin.create, "lead-score", declare(plugin))
    assert "ConflictError" in text
    assert "409 DEPENDENCY_CYCLE" in text
    assert "stale replayed answers" not in text
    assert emulator.stats()["faults_injected"] == 1
    assert list(api.list_actions()) == []


def test_an_earlier_creation_changed_since_is_not_adopted(plugin, api):
    """A crashed run's creation, edited before the rerun: the rerun refuses it and says how."""
    props = declare(plugin)
    spec = validate_spec(request_body(props))
    earlier = api.create_action(spec, idempotency_key=idempotency_key(spec, props)).action
    edited = validate_spec({**request_body(props), "description": "edited in the console"})
    api.update_action(earlier.id, edited)
    text = failure_text(plugin.create, "lead-score", props)
    assert (
        f"Data Action 'lead_score': an earlier run of this deployment created it as "
        f"{earlier.id}, but it has been changed since, so it is not adopted."
    ) in text
    assert "adopt it (`adopt=True` on DataAction 'lead-score'" in text
    [action] = api.list_actions()
    assert (action.id, action.version, action.description) == (
        earlier.id,
        2,
        "edited in the console",
    )


def test_a_failed_rollback_says_what_stays_and_the_rerun_removes_it(plugin, api, emulator, audit):
    """The test fails and deleting the action again fails: the error names it; a rerun cleans up."""
    emulator.add_fault("DELETE", ACTIONS + "/{id}", status=409, code="ACTION_IN_USE")
    props = declare(plugin, script=THROWS)
    text = failure_text(plugin.create, "lead-score", props)
    [left] = api.list_actions()
    assert "TestFailedError" in text
    assert "bad rollout" in text
    assert f"Deleting {left.id} again failed" in text
    assert "the next `pulumi up` adopts it and tests it again, or delete it by hand" in text
    assert [(r["operation"], r["outcome"], r["action_id"]) for r in audit.read()] == [
        ("create", "rollback_failed", left.id)
    ]

    text = failure_text(plugin.create, "lead-score", props)
    assert "bad rollout" in text
    assert "again failed" not in text
    assert list(api.list_actions()) == []
    assert [(r["outcome"], r["adopted"]) for r in audit.read()] == [
        ("rollback_failed", False),
        ("rolled_back", True),
    ]


# --- update ---


def test_a_failed_restore_keeps_the_new_content_and_says_to_refresh(plugin, api, emulator, audit):
    """The new script fails its test and putting the old one back fails: the error says so."""
    created = plugin.create("lead-score", declare(plugin))
    emulator.add_fault("PUT", ACTIONS + "/{id}", hold_ms=1)  # the update itself goes through
    emulator.add_fault("PUT", ACTIONS + "/{id}", status=412, code="VERSION_MISMATCH")
    broken = declare(plugin, script=THROWS)
    text = failure_text(plugin.update, "lead-score", created.id, created.outputs, broken)
    assert "bad rollout" in text
    assert "Restoring the previous content of 'lead_score' failed" in text
    assert "the tenant keeps the new content, which failed its test. Run `pulumi refresh`" in text
    action = api.get_action(created.id)
    assert (action.script.content, action.version) == (THROWS, 2)
    assert [(r["operation"], r["outcome"]) for r in audit.read()][-1] == (
        "update",
        "restore_failed",
    )
    refreshed = plugin.read("lead-score", created.id, properties=created.outputs)
    assert (refreshed.outputs["script"], refreshed.outputs["version"]) == (THROWS, 2)


def test_the_warn_policy_keeps_an_update_whose_test_fails(plugin, api, audit):
    """on_test_failure='warn': the new content stays, the failure is recorded and logged."""
    created = plugin.create("lead-score", declare(plugin))
    news = declare(plugin, script=THROWS, on_test_failure="warn")
    updated = plugin.update("lead-score", created.id, created.outputs, news)
    assert (updated["version"], updated["test_status"], updated["test_passed"]) == (
        2,
        "FAILURE",
        False,
    )
    assert api.get_action(created.id).script.content == THROWS
    assert (
        "Data Action 'lead_score': updated although its test failed (on_test_failure=warn): "
        "Error: bad rollout"
    ) in plugin.stderr()
    assert [(r["operation"], r["outcome"], r["test_passed"]) for r in audit.read()][-1] == (
        "update",
        "updated",
        False,
    )


# --- the audit log ---


def test_an_audit_log_that_cannot_be_written_never_fails_a_change(start_plugin, api, tmp_path):
    """Its directory vanishes mid-deployment: the change stands, stderr holds the record."""
    logs = tmp_path / "logs"
    logs.mkdir()
    plugin = start_plugin(auditLog=str(logs / "audit.jsonl"))
    first = plugin.create("lead-score", declare(plugin))  # the plugin reads its settings here
    shutil.rmtree(logs)
    second = plugin.create("other", declare(plugin, name="other_action"))
    assert {a.id for a in api.list_actions()} == {first.id, second.id}
    stderr = plugin.stderr()
    assert "Data Action 'other_action': could not append to the audit log" in stderr
    assert "(FileNotFoundError); the record was: " in stderr
    assert f'"operation": "create", "outcome": "created", "action_id": "{second.id}"' in stderr
