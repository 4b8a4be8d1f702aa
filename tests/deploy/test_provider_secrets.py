"""Secrets through the provider: outputs derived from a secret input are secret too (issue 20).

The program runs under mocks that forward each registration to a real provider server, and
unwrap secrets first, as the engine does for a provider that does not accept them.
"""

from __future__ import annotations

import json

import pulumi
import pytest
from provider_server import ForwardingMocks, ProviderServer, emulator_settings
from pulumi.runtime import rpc
from pulumi.runtime.settings import set_root_resource
from stack_mocks import mocked_engine, run

from cxone_provider import DataAction, DataActionArgs
from cxone_provider.deploy.diff import diff_properties
from cxone_provider.deploy.secrets import secret_inputs_of, with_derived_secrets

PIN = "pin-4321-very-secret"
ECHO_PIN = "function main(context) { return {echoed: context.input.pin}; }"
THROW_PIN = "function main(context) { throw new Error('bad pin ' + context.input.pin); }"


@pytest.fixture
def deployed(tmp_path, emulator, receiver):
    """A stack with a secret test input, applied through the provider (audit log, webhook)."""
    plugin = ProviderServer(tmp_path)
    plugin.configure(
        emulator_settings(
            emulator, auditLog=str(tmp_path / "audit.jsonl"), webhookUrl=receiver.url
        ),
        secret_keys=("cxone:clientSecret",),
    )
    mocks = ForwardingMocks(plugin)
    set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project="cxone-actions", stack="local", preview=False)

    def program() -> None:
        secret_input = pulumi.Output.secret({"pin": PIN})
        DataAction(
            "secret_echo",
            DataActionArgs(name="secret_echo", script=ECHO_PIN, test_input=secret_input),
        )
        DataAction(
            "secret_mismatch",
            DataActionArgs(
                name="secret_mismatch",
                script=ECHO_PIN,
                test_input=secret_input,
                expected_output={"echoed": "something else"},
                on_test_failure="warn",
            ),
        )
        DataAction(
            "secret_throw",
            DataActionArgs(
                name="secret_throw",
                script=THROW_PIN,
                test_input=secret_input,
                on_test_failure="warn",
            ),
        )
        DataAction(
            "plain_echo",
            DataActionArgs(name="plain_echo", script=ECHO_PIN, test_input={"pin": "public"}),
        )

    try:
        run(program)
    finally:
        plugin.stop()
    return mocks, plugin, tmp_path / "audit.jsonl", receiver


def test_the_output_of_a_secret_test_input_is_a_secret(deployed):
    """Issue 20: test_output, what the script returned for a secret input, was plain text."""
    mocks, _, _, _ = deployed
    recorded = mocks.state["secret_echo"]
    assert recorded.inputs["secret_inputs"] == ["test_input"]
    assert rpc.is_rpc_secret(recorded.outputs["test_output"])
    assert rpc.unwrap_rpc_secret(recorded.outputs["test_output"]) == json.dumps(
        {"echoed": PIN}, separators=(",", ":")
    )
    plain = mocks.state["plain_echo"]
    assert "secret_inputs" not in plain.inputs
    assert plain.outputs["test_output"] == '{"echoed":"public"}'


def test_no_message_log_audit_line_or_webhook_repeats_a_secret_test_value(deployed):
    """A mismatch and a throw are reported without the values; audit and webhook hold none."""
    mocks, plugin, audit, receiver = deployed
    assert mocks.state["secret_mismatch"].outputs["test_passed"] is False
    assert mocks.state["secret_throw"].outputs["test_status"] == "FAILURE"
    logged = plugin.stderr()
    assert "secret_mismatch" in logged
    assert "another value than expected_output" in logged
    assert "test ended FAILURE; its values and messages are not shown" in logged
    events = json.dumps(receiver.events())
    assert "ACTION_TEST_FAILED" in events
    for text in (logged, audit.read_text(), events):
        assert PIN not in text


def test_a_description_made_of_a_secret_name_is_secret():
    """The default description derives from the name; a given one does not."""
    outs = {"name": "n_1", "description": "Managed by Pulumi: n_1", "secret_inputs": ["name"]}
    assert rpc.is_rpc_secret(with_derived_secrets(outs)["description"])
    given = {**outs, "description": "mine"}
    assert with_derived_secrets(given)["description"] == "mine"
    assert (
        with_derived_secrets({**outs, "secret_inputs": None})["description"] == outs["description"]
    )


def test_an_input_that_turns_secret_updates_so_its_output_is_recorded_as_a_secret():
    """A stack deployed before: the test runs again (no API write) to record test_output secret."""
    olds = {"name": "n_1", "script": ECHO_PIN, "test_input": '{"pin":"x"}', "version": 1}
    news = {**olds, "secret_inputs": ["test_input"]}
    assert diff_properties(olds, news).changes is None
    assert diff_properties(news, news).changes is False


def test_a_secret_held_inside_a_plain_value_is_listed_and_plain_outputs_are_not():
    """secret_inputs names an input with a secret anywhere inside it, and nothing else."""

    def program() -> None:
        inputs = {
            "test_input": {"pin": pulumi.Output.secret(PIN)},
            "dependencies": [pulumi.Output.from_input("base_enrichment")],
            "expected_output": {"nested": [{"secret": pulumi.Output.secret("x")}]},
            "name": "plain",
        }
        pulumi.export("secret_inputs", secret_inputs_of(inputs))

    with mocked_engine():
        exports = run(program)
    assert exports["secret_inputs"] == ["expected_output", "test_input"]
