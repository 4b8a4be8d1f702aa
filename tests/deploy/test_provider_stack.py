"""The whole example stack, applied to the emulator through the real provider server.

The program in `stacks/` runs under `pulumi.runtime.set_mocks`; the mocks forward each
DataAction registration to a `python -m pulumi.dynamic` server as the engine would (Check,
then Create, or Diff and Update only when needed), and keep the state between deployments.
"""

from __future__ import annotations

import shutil

import pulumi
import pytest
from cli_projects import ACTIONS as EXAMPLE_ACTIONS
from cli_projects import STACKS
from provider_server import ForwardingMocks, ProviderServer, emulator_settings
from pulumi.runtime.settings import set_root_resource
from stack_mocks import run_stack_program

ACTIONS = set(EXAMPLE_ACTIONS)


@pytest.fixture
def deploy(tmp_path, emulator):
    """Run `pulumi up` of a stack folder against the emulator: a new plugin process each time."""
    plugins = []

    def run(folder, state=None):
        plugin = ProviderServer(tmp_path)
        plugins.append(plugin)
        plugin.configure(
            emulator_settings(emulator, onTestFailure="fail"), secret_keys=("cxone:clientSecret",)
        )
        mocks = ForwardingMocks(plugin, state)
        set_root_resource(None)
        pulumi.runtime.set_mocks(mocks, project="cxone-actions", stack="local", preview=False)
        exports = run_stack_program(folder)
        plugin.stop()  # `pulumi up` ends its plugin; the next deployment starts a new one
        return mocks, exports

    yield run
    for plugin in plugins:
        plugin.stop()


def test_the_example_stack_applies_then_reapplies_with_no_api_writes(deploy, emulator):
    """First up: seven creates, each tested. Second up: seven diffs, no update, no write."""
    first, exports = deploy(STACKS)
    assert first.calls == {"Check": 7, "Create": 7}
    assert set(exports) == ACTIONS
    assert all(export["test_status"] == "SUCCESS" for export in exports.values())
    assert all(first.state[name].outputs["test_passed"] for name in ACTIONS)
    stats = emulator.stats()
    assert stats["actions"] == 7
    assert stats["api_writes"] == 7

    second, again = deploy(STACKS, first.state)
    assert second.calls == {"Check": 7, "Diff": 7}
    assert emulator.stats()["api_writes"] == 7
    assert {name: e["id"] for name, e in again.items()} == {
        name: e["id"] for name, e in exports.items()
    }


def test_a_changed_script_updates_only_that_action(deploy, emulator, tmp_path):
    """Edit one script: one Update (one API write), the six others diff clean."""
    first, _ = deploy(STACKS)
    edited = tmp_path / "stack"
    shutil.copytree(STACKS, edited)
    script = edited / "actions" / "business_hours.js"
    script.write_text(script.read_text() + "\n// reviewed\n")

    second, exports = deploy(edited, first.state)
    assert second.calls == {"Check": 7, "Diff": 7, "Update": 1}
    assert emulator.stats()["api_writes"] == 8
    assert exports["business_hours"]["version"] == 2
    assert second.state["business_hours"].outputs["script"].endswith("// reviewed\n")


def test_outputs_of_other_actions_can_feed_dependencies_and_test_input(deploy, tmp_path):
    """`dependencies=[base.name]` and Outputs inside test_input resolve before the create."""
    program = tmp_path / "outputs-stack"
    program.mkdir()
    (program / "__main__.py").write_text(
        "import pulumi\n"
        "from cxone_provider import DataAction, DataActionArgs\n"
        "base = DataAction('base', DataActionArgs(name='base_action',\n"
        "    script='function main(context) { return context.input.n + 1; }',\n"
        "    test_input={'n': 1}, expected_output=2))\n"
        "user = DataAction('user', DataActionArgs(name='user_action',\n"
        "    script='function main(c) { return c.call(c.input.dep, {n: 41}); }',\n"
        "    dependencies=[base.name], test_input={'dep': base.name}, expected_output=42))\n"
        "pulumi.export('user', user.test_output)\n"
    )
    mocks, exports = deploy(program)
    assert mocks.calls == {"Check": 2, "Create": 2}
    assert exports == {"user": "42"}
    recorded = mocks.state["user"].outputs
    assert recorded["dependencies"] == ["base_action"]
    assert recorded["test_input"] == '{"dep":"base_action"}'
