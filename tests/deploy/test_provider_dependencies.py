"""Check finds a plain DataAction's unknown dependency, in preview (issue 21, item 6).

Known names are those of the stack's DataActions checked before (the documented way of
declaring a dependency orders it first) and the tenant's actions, listed once per plugin.
"""

from __future__ import annotations

from emulator_process import API_ACTIONS, action_body
from provider_server import ProviderServer, inputs

from cxone_provider.deploy.resource import DataActionArgs

SCRIPT = "function main(context) { return 1; }"


def declare(name: str, *dependencies: str) -> dict:
    return inputs(name, DataActionArgs(name=name, script=SCRIPT, dependencies=list(dependencies)))


def test_dependencies_on_earlier_declarations_or_the_tenant_pass_and_a_typo_fails(plugin, emulator):
    """Declared earlier, or on the tenant: no failure; a misspelt name: one, on dependencies."""
    with emulator.api() as api:
        api.post(API_ACTIONS, json=action_body("external")).raise_for_status()
    assert plugin.check("first", declare("first")).failures == []
    assert plugin.check("caller", declare("caller", "first", "external")).failures == []
    [(prop, reason)] = plugin.check("typo", declare("typo", "frist", "external")).failures
    assert prop == "dependencies"
    assert reason.startswith("unknown dependency 'frist': ")
    assert emulator.base_url in reason
    listings = emulator.stats()["requests_total"]
    assert plugin.check("again", declare("again", "frist")).failures != []
    assert emulator.stats()["requests_total"] == listings  # the tenant is listed once


def test_without_settings_an_undeclared_dependency_is_left_to_the_deployment(tmp_path, emulator):
    """A preview without credentials stays offline: nothing to compare with, no failure."""
    unconfigured = ProviderServer(tmp_path)
    try:
        unconfigured.configure({})
        assert unconfigured.check("typo", declare("typo", "frist")).failures == []
    finally:
        unconfigured.stop()
    assert emulator.stats()["requests_total"] == 0


def test_an_unreachable_tenant_leaves_the_lookup_to_the_deployment(start_plugin):
    """The tenant cannot be listed (nothing listens): no failure, the preview goes on."""
    plugin = start_plugin(baseUrl="http://127.0.0.1:9")
    assert plugin.check("typo", declare("typo", "frist")).failures == []
