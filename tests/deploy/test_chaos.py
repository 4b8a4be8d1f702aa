"""Deployments keep their promises when the API throttles, fails, drops answers and the plugin dies.

Each test drives the real plugin process over gRPC with the engine's parallelism (see
deployment.py) against an emulator injecting faults from a fixed seed, so runs repeat.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter

import pytest
from action_trees import action_tree
from deployment import Deployment
from provider_server import ProviderServer, WebhookReceiver, emulator_settings

from cxone_provider.api.client import CxoneClient

CHAOS = ("--fault-rate", "0.2", "--drop-rate", "0.1", "--rate-limit", "50", "--seed", "20261124")


@pytest.fixture
def start_plugin(tmp_path):
    """Start plugins configured for a given emulator (not the session's); killed at teardown."""
    plugins: list[ProviderServer] = []

    def start(emulator, **overrides: str) -> ProviderServer:
        plugin = ProviderServer(tmp_path)
        plugin.configure(
            emulator_settings(emulator, auditLog=str(tmp_path / "audit.jsonl"), **overrides),
            secret_keys=("cxone:clientSecret",),
        )
        plugins.append(plugin)
        return plugin

    yield start
    for plugin in plugins:
        plugin.stop()


def tenant_actions(emulator) -> list:
    with CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as api:
        return list(api.list_actions(page_size=500))


def assert_converged(emulator, deployment: Deployment, count: int) -> None:
    """Exactly `count` actions, no duplicate name, each in the state, each tested."""
    actions = tenant_actions(emulator)
    names = Counter(action.name for action in actions)
    assert len(actions) == count
    assert max(names.values()) == 1
    assert {a.id for a in actions} == {r.id for r in deployment.state.values()}
    statuses = Counter(r.outputs["test_status"] for r in deployment.state.values())
    assert statuses == {"SUCCESS": count}


def test_200_actions_converge_under_faults_drops_and_throttling(start_emulator, start_plugin):
    """Apply 200 actions through 503s, lost answers and a 50 req/s limit.

    No duplicate, every action tested, a second apply writes nothing, destroy leaves nothing.
    """
    emulator = start_emulator(*CHAOS)
    plugin = start_plugin(emulator)
    declarations = action_tree(200)

    deployment = Deployment(plugin, parallelism=8)
    deployment.apply(declarations)
    assert_converged(emulator, deployment, 200)
    stats = emulator.stats()
    assert stats["faults_injected"] > 0
    assert stats["drops"] > 0

    again = Deployment(plugin, dict(deployment.state), parallelism=8)
    again.apply(declarations)
    assert again.counts.calls == {"Check": 200, "Diff": 200}
    assert emulator.stats()["api_writes"] == stats["api_writes"]

    again.destroy()
    assert again.state == {}
    assert tenant_actions(emulator) == []


def test_a_failing_and_hanging_webhook_never_fails_a_deployment(start_emulator, start_plugin):
    """A receiver that answers 500 or hangs past the 5 s timeout costs warnings, not failures."""
    emulator = start_emulator("--rate-limit", "0")
    receiver = WebhookReceiver(answers=[500, 7.0] * 3)
    try:
        plugin = start_plugin(emulator, webhookUrl=receiver.url)
        deployment = Deployment(plugin, parallelism=8)
        deployment.apply(action_tree(30))
        assert_converged(emulator, deployment, 30)
        deployment.destroy()
        assert tenant_actions(emulator) == []
        assert "was not delivered" in plugin.stderr()
    finally:
        receiver.close()


def test_killed_plugins_converge_without_duplicates_orphans_or_torn_audit_lines(
    start_emulator, start_plugin, tmp_path
):
    """SIGKILL the plugin at random moments of a 100-action apply, rerun until done."""
    emulator = start_emulator("--latency-ms", "5", "--rate-limit", "0")
    declarations = action_tree(100)
    state: dict = {}
    chance = random.Random(1124)  # noqa: S311 -- reproducible kill times, not cryptography
    interrupted = 0
    for _ in range(4):
        plugin = start_plugin(emulator)
        killer = threading.Timer(chance.uniform(0.3, 1.2), plugin.kill)
        killer.start()
        deployment = Deployment(plugin, state, parallelism=8)
        try:
            deployment.apply(declarations)
        except Exception:  # noqa: BLE001 -- the plugin was killed under the deployment
            interrupted += 1
        killer.cancel()
        plugin.kill()
    assert interrupted >= 2  # the kills really landed mid-deployment
    final = Deployment(start_plugin(emulator), state, parallelism=8)
    final.apply(declarations)
    assert_converged(emulator, final, 100)

    lines = (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # every line whole: each one parses
    created = {
        r["action_id"] for r in records if r["operation"] == "create" and r["outcome"] == "created"
    }
    assert created >= {r.id for r in final.state.values()}
