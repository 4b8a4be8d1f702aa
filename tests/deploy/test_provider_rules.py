"""The provider's rules called directly, in process: check's defaults, diff, the key, the verdict.

The gRPC tests (test_provider_check.py, test_provider_lifecycle.py) prove the same rules over
the engine protocol; these pin each rule down exactly and run in milliseconds.
"""

from __future__ import annotations

import pytest
from pulumi.output import Unknown

from cxone_provider.api.errors import Problem
from cxone_provider.api.models import TestResult, validate_spec
from cxone_provider.deploy.check import input_problems
from cxone_provider.deploy.create import idempotency_key
from cxone_provider.deploy.diff import diff_properties
from cxone_provider.deploy.properties import INPUTS, PROVIDER_KEY
from cxone_provider.deploy.testing import TestPlan, judge

UNKNOWN = Unknown()  # what the SDK hands the provider for a value unknown in a preview
SCRIPT = "function main(context) { return context.input; }"
ORIGIN = {"project": "cxone-tests", "stack": "test", "resource": "lead-score"}
DEFAULTS = {
    "description": "Managed by Pulumi: lead_score",
    "dependencies": [],
    "enabled": True,
    "trigger_type": "MANUAL",
    "test_input": '{"testField":"validation_payload"}',
}


# --- check: the defaults and the problems of a declaration ---


def test_a_bare_declaration_gets_every_default():
    """Only name and script: check fills description, dependencies, enabled, trigger, input."""
    news = {"name": "lead_score", "script": SCRIPT}
    inputs, problems = input_problems(news)
    assert problems == []
    assert inputs == {**news, **DEFAULTS}
    assert news == {"name": "lead_score", "script": SCRIPT}  # the engine's inputs are untouched


def test_given_values_are_never_replaced_by_defaults():
    """Every defaulted property keeps the value the declaration gave."""
    news = {
        "name": "lead_score",
        "script": SCRIPT,
        "description": "Scores a lead",
        "dependencies": ["base_enrichment"],
        "enabled": False,
        "trigger_type": "EVENT",
        "test_input": '{"score":1}',
    }
    inputs, problems = input_problems(news)
    assert problems == []
    assert inputs == news


@pytest.mark.parametrize("name", [UNKNOWN, 42])
def test_no_default_description_without_a_known_text_name(name):
    """An unknown name (preview) or a name that is not text gives no derived description."""
    inputs, _ = input_problems({"name": name, "script": SCRIPT})
    assert "description" not in inputs


def test_values_unknown_in_a_preview_are_not_checked_yet():
    """An unknown script or dependency is checked once known; the known rest is checked now."""
    news = {"name": "lead_score", "script": UNKNOWN, "dependencies": ["base", UNKNOWN]}
    assert input_problems(news)[1] == []
    news["trigger_type"] = UNKNOWN
    news["enabled"] = "sometimes"
    assert [problem.field for problem in input_problems(news)[1]] == ["enabled"]


def test_the_name_is_required_even_when_the_description_is_given():
    """No name: one failure on name, and the given description stays as it was."""
    inputs, problems = input_problems({"script": SCRIPT, "description": "Scores a lead"})
    assert problems == [Problem("name", "name is required")]
    assert inputs["description"] == "Scores a lead"


def test_an_unknown_property_is_named_with_the_properties_a_dataaction_takes():
    """An extra key fails on itself, listing every input; the provider's own key is allowed."""
    news = {"name": "lead_score", "script": SCRIPT, "colour": "red", PROVIDER_KEY: "p"}
    _, problems = input_problems(news)
    assert problems == [
        Problem("colour", f"unknown property 'colour'; a DataAction takes {', '.join(INPUTS)}")
    ]
    assert ", ".join(INPUTS) == (
        "name, description, script, dependencies, enabled, trigger_type, test_input, "
        "expected_output, on_test_failure, adopt, origin, secret_inputs"
    )


def test_problems_come_in_a_fixed_order_with_exact_messages():
    """Unknown properties first, then required ones, then content, then the test's."""
    _, problems = input_problems({"extra": 1, "trigger_type": "HOURLY", "on_test_failure": "skip"})
    assert [(p.field, p.message) for p in problems][:3] == [
        ("extra", f"unknown property 'extra'; a DataAction takes {', '.join(INPUTS)}"),
        ("name", "name is required"),
        ("script", "script is required"),
    ]
    assert [p.field for p in problems][3:] == ["trigger_type", "on_test_failure"]


@pytest.mark.parametrize("policy", ["fail", "warn", None])
def test_fail_warn_or_nothing_are_test_policies(policy):
    """on_test_failure takes 'fail', 'warn' or nothing (the stack's setting)."""
    _, problems = input_problems(
        {"name": "lead_score", "script": SCRIPT, "on_test_failure": policy}
    )
    assert problems == []


def test_another_test_policy_fails_and_says_which_to_use():
    """Any other policy fails on on_test_failure, naming the two and the stack's setting."""
    _, problems = input_problems({"name": "lead_score", "script": SCRIPT, "on_test_failure": "no"})
    assert problems == [
        Problem(
            "on_test_failure",
            "on_test_failure is 'no': use 'fail' or 'warn' (or leave it unset to use the "
            "stack's cxone:onTestFailure)",
        )
    ]


# --- diff: what the API would see change ---


def recorded(**fields):
    """Outputs as a create records them for a bare declaration, with `fields` changed."""
    inputs, _ = input_problems({"name": "lead_score", "script": SCRIPT, "origin": ORIGIN})
    return {**inputs, "action_id": "a-1", "version": 3, "type": "SCRIPT", **fields}


def declared(**fields):
    inputs, problems = input_problems(
        {"name": "lead_score", "script": SCRIPT, "origin": ORIGIN, **fields}
    )
    assert problems == []
    return inputs


def outcome(result):
    return result.changes, result.replaces, result.delete_before_replace


def test_the_same_declaration_is_no_change():
    """Its own recorded outputs against the same declaration: an explicit no-change."""
    assert outcome(diff_properties(recorded(), declared())) == (False, [], True)


def test_an_unchanged_test_policy_is_no_change():
    """on_test_failure set and unchanged is no diff; only a different policy is."""
    olds = recorded(on_test_failure="warn")
    assert outcome(diff_properties(olds, declared(on_test_failure="warn"))) == (False, [], True)
    assert outcome(diff_properties(olds, declared(on_test_failure="fail"))) == (None, [], True)
    assert outcome(diff_properties(olds, declared())) == (None, [], True)


@pytest.mark.parametrize(
    "change",
    [
        {"description": "Scores a lead"},
        {"script": "function main() { return 2; }"},
        {"dependencies": ["base_enrichment"]},
        {"enabled": False},
        {"trigger_type": "EVENT"},
        {"test_input": '{"score":1}'},
        {"expected_output": "null"},
        {"on_test_failure": "warn"},
    ],
)
def test_each_other_change_updates_in_place(change):
    """Any change but the name: changes unknown (the engine lists the keys), no replacement."""
    assert outcome(diff_properties(recorded(), declared(**change))) == (None, [], True)


@pytest.mark.parametrize(
    ("old", "new", "changed"),
    [
        ('{ "a" : [1, 2.0] }', '{"a":[1,2]}', False),
        ("null", "null", False),
        (None, None, False),
        ("null", None, True),
        (None, "null", True),
        ("not json", "not json", False),
        ("not json", "not json either", True),
        ('{"a":true}', '{"a":1}', True),
    ],
)
def test_expected_output_compares_as_json(old, new, changed):
    """JSON spacing and 2 vs 2.0 are no change; null vs not checked, and true vs 1, are.

    Text that is not JSON (never from check; only a hand-edited state) compares as text.
    """
    olds = {key: value for key, value in recorded(expected_output=old).items() if value is not None}
    news = {**declared(), "expected_output": new} if new is not None else declared()
    assert diff_properties(olds, news).changes is (None if changed else False)


def test_a_new_name_replaces_deleting_first():
    """Renaming is a replacement (names are unique per tenant): delete first."""
    assert outcome(diff_properties(recorded(), declared(name="lead_score_v2"))) == (
        True,
        ["name"],
        True,
    )


def test_a_remote_type_other_than_script_replaces():
    """A WORKFLOW on the tenant under the declared name: replaced by a SCRIPT."""
    olds = recorded(type="WORKFLOW")
    assert outcome(diff_properties(olds, declared())) == (True, ["type"], True)


def test_unknown_values_are_changes_and_an_unknown_name_replaces():
    """Preview: an unknown script or policy updates, an unknown name replaces."""
    for key in ("script", "description", "enabled", "test_input", "on_test_failure"):
        news = {**declared(), key: UNKNOWN}
        assert outcome(diff_properties(recorded(), news)) == (None, [], True)
    news = {**declared(), "name": UNKNOWN}
    assert outcome(diff_properties(recorded(), news)) == (True, ["name"], True)


def test_unknown_dependencies_replace_after_any_name_change():
    """Dependencies unknown as a whole replace; listed after a name that changes too."""
    news = {**declared(name="renamed"), "dependencies": UNKNOWN}
    assert outcome(diff_properties(recorded(), news)) == (True, ["name", "dependencies"], True)


def test_dependency_order_is_no_change():
    """The contract gives dependency order no meaning."""
    olds = recorded(dependencies=["a_one", "b_two"])
    assert diff_properties(olds, declared(dependencies=["b_two", "a_one"])).changes is False


# --- the create's Idempotency-Key ---


def spec(**fields):
    return validate_spec({"name": "lead_score", "script": {"content": SCRIPT}, **fields})


def test_the_key_of_a_declaration_never_changes_across_releases():
    """A rerun after a crash, maybe after an upgrade, must send the key the first run sent."""
    key = idempotency_key(spec(description="Scores a café lead"), {"origin": ORIGIN})
    assert key == "pulumi-cxone-63b622c1aeac4024c0ac77876f2159fc1f0417f09c9d511840b38afbbe46a568"


def test_the_key_is_the_same_for_the_same_declaration():
    """Same body and origin, origin keys in any order, other properties aside: the same key."""
    reordered = dict(reversed(ORIGIN.items()))
    first = idempotency_key(spec(), {"origin": ORIGIN})
    assert idempotency_key(spec(), {"origin": reordered, "test_input": '{"x":1}'}) == first
    assert first.startswith("pulumi-cxone-")
    assert len(first) == len("pulumi-cxone-") + 64


@pytest.mark.parametrize(
    "other",
    [
        {"description": "another"},
        {"script": {"content": "function main() { return 1; }"}},
        {"enabled": False},
        {"trigger": {"type": "EVENT"}},
        {"dependencies": ["base_enrichment"]},
    ],
)
def test_the_key_changes_with_the_body(other):
    """Any change of what is created gives another key: its answer is not replayed."""
    assert idempotency_key(spec(**other), {"origin": ORIGIN}) != idempotency_key(
        spec(), {"origin": ORIGIN}
    )


@pytest.mark.parametrize("where", ["project", "stack", "resource"])
def test_the_key_changes_with_where_it_is_declared(where):
    """Two declarations of identical content in other places never share a key."""
    moved = {**ORIGIN, where: "elsewhere"}
    assert idempotency_key(spec(), {"origin": moved}) != idempotency_key(spec(), {"origin": ORIGIN})


def test_each_salt_derives_another_key():
    """A stale answer's salt gives a new key; salts in another order give yet another."""
    props = {"origin": ORIGIN}
    keys = {
        idempotency_key(spec(), props),
        idempotency_key(spec(), props, "deleted", "a-1"),
        idempotency_key(spec(), props, "deleted", "a-2"),
        idempotency_key(spec(), props, "a-1", "deleted"),
        idempotency_key(spec(), props, "deleted"),
    }
    assert len(keys) == 5
    assert idempotency_key(spec(), props, "deleted", "a-1") == idempotency_key(
        spec(), props, "deleted", "a-1"
    )


# --- the verdict of a sandbox test ---


def plan(**props):
    return TestPlan.of_properties(props)


@pytest.mark.parametrize("policy", ["fail", "warn", None])
def test_a_successful_run_without_expected_output_passes(policy):
    """Ran fine, nothing expected: passed, whatever the policy (the policy acts afterwards)."""
    result = TestResult(status="SUCCESS", output={"anything": 1})
    verdict = judge(result, plan(on_test_failure=policy))
    assert (verdict.result, verdict.passed, verdict.reason) == (result, True, "passed")


def test_the_expected_output_compares_as_json():
    """2 equals 2.0; true does not equal 1."""
    assert judge(TestResult(status="SUCCESS", output=2.0), plan(expected_output="2")).passed
    verdict = judge(TestResult(status="SUCCESS", output=1), plan(expected_output="true"))
    assert (verdict.passed, verdict.reason) == (
        False,
        "the test returned 1 but expected_output is true",
    )
    assert verdict.failure_status == "OUTPUT_MISMATCH"


def test_expected_null_requires_null():
    """expected_output 'null' passes only a null result."""
    assert judge(TestResult(status="SUCCESS", output=None), plan(expected_output="null")).passed
    verdict = judge(TestResult(status="SUCCESS", output={}), plan(expected_output="null"))
    assert (verdict.passed, verdict.reason) == (
        False,
        "the test returned {} but expected_output is null",
    )


def test_a_long_mismatch_is_shown_cut_at_200_characters():
    """Both values are shown as JSON, each cut to 200 characters and an ellipsis."""
    long_text = "é" * 300
    verdict = judge(TestResult(status="SUCCESS", output=long_text), plan(expected_output='"x"'))
    shown = '"' + "é" * 199 + "…"
    assert verdict.reason == f'the test returned {shown} but expected_output is "x"'


@pytest.mark.parametrize("policy", ["fail", "warn"])
def test_a_failed_run_fails_with_the_sandbox_error(policy):
    """A FAILURE fails with the sandbox's message and status, whatever the policy."""
    result = TestResult(status="FAILURE", error="Error: lead has no phone")
    verdict = judge(result, plan(on_test_failure=policy))
    assert (verdict.passed, verdict.reason, verdict.failure_status) == (
        False,
        "Error: lead has no phone",
        "FAILURE",
    )


def test_a_timeout_without_an_error_says_how_the_test_ended():
    """A run that ends TIMEOUT with no message: the reason names the status."""
    verdict = judge(TestResult(status="TIMEOUT"), plan(expected_output="null"))
    assert (verdict.passed, verdict.reason, verdict.failure_status) == (
        False,
        "the test ended TIMEOUT",
        "TIMEOUT",
    )


def test_the_plan_reads_input_expectation_and_policy():
    """Defaults: the validation payload, nothing expected, the stack's policy."""
    default = plan()
    assert (default.input, default.expects_output, default.expected_output, default.policy) == (
        {"testField": "validation_payload"},
        False,
        None,
        None,
    )
    given = plan(test_input='{"a":1}', expected_output="null", on_test_failure="warn")
    assert (given.input, given.expects_output, given.expected_output, given.policy) == (
        {"a": 1},
        True,
        None,
        "warn",
    )
