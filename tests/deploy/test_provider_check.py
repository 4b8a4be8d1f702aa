"""Check and Diff over the engine protocol: offline, one failure per problem, explicit diffs.

The plugin process here is configured with no settings at all, as in a `pulumi preview` on a
machine without credentials: Check and Diff must work regardless, and make no network call.
"""

from __future__ import annotations

import base64

import dill
import grpc
import pytest
from provider_server import ProviderServer, inputs
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from cxone_provider.api import javascript
from cxone_provider.api.errors import ActionValidationError, OperationFailedError
from cxone_provider.api.models import MAX_SCRIPT_BYTES, NAME_RULE, validate_spec
from cxone_provider.deploy.check import check_inputs
from cxone_provider.deploy.properties import request_body
from cxone_provider.deploy.provider import DataActionProvider
from cxone_provider.deploy.resource import JSON_NULL, DataActionArgs

SCRIPT = "function main(context) { return context.input; }"
SECRET = "pickle-must-not-hold-this-secret"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    plugin = ProviderServer(tmp_path_factory.mktemp("plugin"))
    plugin.configure({})
    yield plugin
    plugin.stop()


def declared(**fields):
    fields.setdefault("name", "lead_score")
    fields.setdefault("script", SCRIPT)
    return inputs("lead-score", DataActionArgs(**fields))


def recorded(server, **fields):
    """Outputs as a create would have recorded them for these declared fields."""
    checked = server.check("lead-score", declared(**fields))
    assert checked.failures == []
    return {
        **checked.inputs,
        "action_id": "a-1",
        "version": 3,
        "type": "SCRIPT",
        "created_timestamp": 1,
        "modified_timestamp": 2,
        "test_status": "SUCCESS",
        "test_passed": True,
    }


# --- the provider object ---


def test_serialized_provider_is_identical_every_time_and_holds_no_setting():
    """Two serializations match byte for byte; a configured provider pickles the same."""
    first = serialize_provider(DataActionProvider())
    configured = DataActionProvider()
    configured.configure(
        ConfigureRequest(
            Config(
                {
                    "cxone:baseUrl": "http://127.0.0.1:9",
                    "cxone:clientId": "demo",
                    "cxone:clientSecret": SECRET,
                },
                "p",
            )
        )
    )
    assert serialize_provider(DataActionProvider()) == first
    assert serialize_provider(configured) == first
    pickled = base64.b64decode(first)
    assert SECRET.encode() not in pickled
    assert b"cxone_provider.deploy.provider" in pickled  # by reference, not by value


def test_unpickled_provider_needs_configure_and_then_works():
    """Round-trip through dill: check needs no settings, API calls explain configure."""
    pickled = base64.b64decode(serialize_provider(DataActionProvider()))
    provider = dill.loads(pickled)  # noqa: S301 -- our own bytes, as the plugin loads them
    assert provider.check({}, declared()).failures == []
    with pytest.raises(OperationFailedError) as caught:
        provider.delete("a-1", {"name": "lead_score"})
    assert "before configure" in str(caught.value.__cause__)


def test_missing_settings_fail_the_first_api_call_with_every_fix(server):
    """Configured with nothing: Create fails with one error listing keys and commands."""
    checked = server.check("lead-score", declared())
    with pytest.raises(grpc.RpcError) as caught:
        server.create("lead-score", checked.inputs)
    details = caught.value.details()
    assert "ConfigurationError" in details
    for key in ("cxone:baseUrl", "cxone:clientId", "cxone:clientSecret"):
        assert f"missing {key}" in details
    assert "pulumi config set --secret cxone:clientSecret" in details


# --- check ---


def test_valid_declaration_passes_and_gets_the_defaults(server):
    """No failures; description, trigger, enabled and test input are filled in."""
    checked = server.check("lead-score", declared())
    assert checked.failures == []
    assert checked.inputs["description"] == "Managed by Pulumi: lead_score"
    assert checked.inputs["enabled"] is True
    assert checked.inputs["trigger_type"] == "MANUAL"
    assert checked.inputs["dependencies"] == []
    assert checked.inputs["test_input"] == '{"testField":"validation_payload"}'
    assert checked.inputs["origin"] == {
        "project": "cxone-tests",
        "stack": "test",
        "resource": "lead-score",
    }


@pytest.mark.parametrize("name", ["ab", "has space", "x" * 65, "semi;colon", "émoji"])
def test_bad_names_fail_on_name(server, name):
    """A name outside ^[a-zA-Z0-9_-]{3,64}$ gives exactly one failure, on `name`."""
    checked = server.check("lead-score", declared(name=name))
    assert [prop for prop, _ in checked.failures] == ["name"]
    assert "not a valid action name" in checked.failures[0][1]


def test_oversize_script_fails_on_script(server):
    """A script over 65536 UTF-8 bytes fails on `script`, with its size."""
    body = "// é\n" * (MAX_SCRIPT_BYTES // 6 + 1)
    checked = server.check("lead-score", declared(script=body + SCRIPT))
    assert [prop for prop, _ in checked.failures] == ["script"]
    assert "over the limit of 65536 bytes" in checked.failures[0][1]


def test_broken_script_fails_with_line_and_column(server):
    """A syntax error is reported on `script` with its line and column."""
    script = "function main(context) {\n  return context.input +;\n}"
    checked = server.check("lead-score", declared(script=script))
    assert checked.failures == [("script", "line 2, column 25: SyntaxError: Unexpected token ';'")]


def test_script_without_main_fails(server):
    """Valid JavaScript that defines no main(context) is refused on `script`."""
    checked = server.check("lead-score", declared(script="const x = 1;"))
    assert [prop for prop, _ in checked.failures] == ["script"]
    assert "main(context)" in checked.failures[0][1]


def test_every_problem_is_reported_at_once_on_its_property(server):
    """Seven problems, seven failures, each on the right property."""
    props = declared(
        name="x",
        script="function main( {",
        description="d" * 1025,
        trigger_type="HOURLY",
        dependencies=["dup_name", "dup_name"],
        on_test_failure="ignore",
    )
    props["extra"] = 1
    checked = server.check("lead-score", props)
    assert sorted(prop for prop, _ in checked.failures) == [
        "dependencies",
        "description",
        "extra",
        "name",
        "on_test_failure",
        "script",
        "trigger_type",
    ]
    reasons = dict(checked.failures)
    assert "listed twice" in reasons["dependencies"]
    assert "unknown property 'extra'" in reasons["extra"]


def test_self_dependency_fails_on_dependencies(server):
    """An action cannot depend on itself."""
    checked = server.check("lead-score", declared(dependencies=["lead_score"]))
    assert checked.failures == [
        (
            "dependencies",
            "'lead_score' lists itself in dependencies; an action cannot depend on itself",
        )
    ]


def test_bad_dependency_name_fails_with_its_position(server):
    """A malformed dependency name is reported on `dependencies`, with its index."""
    checked = server.check("lead-score", declared(dependencies=["base_enrichment", "no way"]))
    assert checked.failures == [
        (
            "dependencies",
            f"dependencies[1]: 'no way' is not a valid action name: use {NAME_RULE}",
        )
    ]


def test_missing_name_and_script_are_required(server):
    """Without name and script there is one failure each, saying it is required."""
    props = declared()
    del props["name"], props["script"]
    checked = server.check("lead-score", props)
    assert sorted(checked.failures) == [
        ("name", "name is required"),
        ("script", "script is required"),
    ]


def test_test_values_must_be_json_text(server):
    """Raw (non-DataAction) inputs with a dict test_input or broken JSON are refused."""
    props = declared()
    props["test_input"] = {"a": 1}
    props["expected_output"] = "{not json"
    checked = server.check("lead-score", props)
    assert sorted(prop for prop, _ in checked.failures) == ["expected_output", "test_input"]


def test_unknown_values_in_preview_are_skipped_not_failed(server):
    """Unknown script and dependency values pass; a known bad name is still reported."""
    props = declared(name="bad name")
    props["script"] = rpc.UNKNOWN
    props["dependencies"] = ["base_enrichment", rpc.UNKNOWN]
    props["test_input"] = rpc.UNKNOWN
    checked = server.check("lead-score", props)
    assert [prop for prop, _ in checked.failures] == ["name"]


def test_unknown_name_leaves_the_description_default_for_later(server):
    """With the name unknown, check cannot derive the default description, and does not fail."""
    props = declared()
    props["name"] = rpc.UNKNOWN
    checked = server.check("lead-score", props)
    assert checked.failures == []
    assert "description" not in checked.inputs


def test_expected_json_null_is_distinct_from_not_checked():
    """JSON_NULL gives expected_output 'null'; None leaves it out."""
    assert declared(expected_output=JSON_NULL)["expected_output"] == "null"
    assert "expected_output" not in declared(expected_output=None)
    assert declared(test_input={"a": None, "b": [JSON_NULL]})["test_input"] == (
        '{"a":null,"b":[null]}'
    )


# --- diff ---


def diff(server, olds, **fields):
    news = server.check("lead-score", declared(**fields)).inputs
    return server.diff("lead-score", "a-1", olds, news)


def test_nothing_changed_is_no_diff(server):
    """The same declaration against its recorded outputs: DIFF_NONE."""
    olds = recorded(server, dependencies=["base_enrichment", "business_hours"])
    response = diff(server, olds, dependencies=["base_enrichment", "business_hours"])
    assert response.changes == provider_pb2.DiffResponse.DIFF_NONE
    assert list(response.replaces) == []


def test_what_the_api_ignores_is_no_diff(server):
    """Dependency order, an explicit default description, JSON spacing and the origin."""
    olds = recorded(server, dependencies=["normalize_phone", "normalize_email"])
    olds["test_input"] = '{ "testField" : "validation_payload" }'
    olds["origin"] = {"project": "cxone-tests", "stack": "renamed", "resource": "lead-score"}
    response = diff(
        server,
        olds,
        dependencies=["normalize_email", "normalize_phone"],
        description="Managed by Pulumi: lead_score",
    )
    assert response.changes == provider_pb2.DiffResponse.DIFF_NONE


@pytest.mark.parametrize(
    "change",
    [
        {"script": "function main(context) { return 2; }"},
        {"description": "Scores a lead"},
        {"dependencies": ["base_enrichment"]},
        {"enabled": False},
        {"trigger_type": "EVENT"},
        {"test_input": {"score": 1}},
        {"expected_output": 42},
        {"expected_output": JSON_NULL},
        {"on_test_failure": "warn"},
    ],
)
def test_other_changes_update_in_place(server, change):
    """Everything but the name updates in place; the engine diffs the inputs to list the keys."""
    response = diff(server, recorded(server), **change)
    assert response.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN
    assert list(response.replaces) == []


def test_a_new_name_replaces_deleting_first(server):
    """Renaming replaces the action, deleting first like every replacement (see DataAction)."""
    response = diff(server, recorded(server), name="lead_score_v2")
    assert response.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(response.replaces) == ["name"]
    assert response.deleteBeforeReplace is True


def test_a_type_drift_replaces_deleting_first(server):
    """A remote type other than SCRIPT replaces under the same name: delete before create."""
    olds = recorded(server)
    olds["type"] = "WORKFLOW"
    response = diff(server, olds)
    assert list(response.replaces) == ["type"]
    assert response.deleteBeforeReplace is True


def test_unknown_values_in_preview_show_as_changes(server):
    """An unknown script may change: an update; an unknown name may change: replace."""
    olds = recorded(server)
    news = server.check("lead-score", declared()).inputs
    news["script"] = rpc.UNKNOWN
    assert server.diff("lead-score", "a-1", olds, news).changes == (
        provider_pb2.DiffResponse.DIFF_UNKNOWN
    )
    news["name"] = rpc.UNKNOWN
    assert list(server.diff("lead-score", "a-1", olds, news).replaces) == ["name"]


def test_unknown_dependencies_replace_the_action_deleting_first(server):
    """Dependencies unknown as a whole (as the engine re-diffs callers): replace, delete first."""
    olds = recorded(server, dependencies=["base_enrichment"])
    news = server.check("lead-score", declared(dependencies=["base_enrichment"])).inputs
    news["dependencies"] = rpc.UNKNOWN
    response = server.diff("lead-score", "a-1", olds, news)
    assert response.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(response.replaces) == ["dependencies"]
    assert response.deleteBeforeReplace is True


def test_a_test_input_that_is_not_json_fails_at_declaration():
    """A set is no JSON value: DataActionArgs refuses it when the resource is declared."""
    with pytest.raises(ActionValidationError) as caught:
        declared(test_input={"tags": {"a", "b"}})
    assert [problem.field for problem in caught.value.problems] == ["test_input"]
    assert "lead-score" in str(caught.value)


def compiles_counted(monkeypatch) -> list[str]:
    """Every script V8 is asked to compile from now on (the syntax verdicts start empty)."""
    compiled: list[str] = []
    compile_error = javascript._compile_error  # noqa: SLF001 -- the V8 call behind the cache

    def counting(body: str):
        compiled.append(body)
        return compile_error(body)

    monkeypatch.setattr(javascript, "_compile_error", counting)
    javascript._first_problem.cache_clear()  # noqa: SLF001 -- the cache under test
    return compiled


def test_a_script_is_compiled_once_for_its_check_and_its_create(monkeypatch):
    """Check, then Create's validation of the same script: one V8 compile (issue 19)."""
    compiled = compiles_counted(monkeypatch)
    script = "function main(context) { return 19; }"
    inputs_, failures = check_inputs(declared(script=script))
    validate_spec(request_body(inputs_), action="lead_score")
    assert failures == []
    assert len(compiled) == 3  # the three compiles of one check (see api/javascript.py)
    assert compiled[0] == script


def test_the_deployed_script_is_not_compiled_again_in_a_preview(monkeypatch):
    """Check with the state's inputs: their script is trusted, a changed one is compiled."""
    compiled = compiles_counted(monkeypatch)
    deployed = declared(script="function main(context) { return 1; }")
    assert check_inputs(declared(script=deployed["script"]), deployed)[1] == []
    assert compiled == []
    changed = "function main(context) { return 2 +; }"
    failures = check_inputs(declared(script=changed), deployed)[1]
    assert compiled == [changed]  # its first compile finds the error
    assert [failure.property for failure in failures] == ["script"]
