"""Fixtures of the Pulumi side's tests: provider servers on the emulator, webhooks, mocks."""

from __future__ import annotations

import pytest
from provider_server import ProviderServer, WebhookReceiver, emulator_settings
from stack_mocks import mocked_engine


@pytest.fixture
def start_plugin(tmp_path, emulator):
    """Start provider servers configured for the emulator (plus overrides); stopped after."""
    servers = []

    def start(**overrides):
        server = ProviderServer(tmp_path)
        config = emulator_settings(
            emulator, **{"auditLog": str(tmp_path / "audit.jsonl"), **overrides}
        )
        server.configure(config, secret_keys=("cxone:clientSecret", "cxone:webhookSecret"))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def plugin(start_plugin):
    """One provider server configured for the emulator."""
    return start_plugin()


@pytest.fixture
def receiver():
    """A webhook endpoint on loopback (answers 200 unless told otherwise)."""
    hook = WebhookReceiver()
    yield hook
    hook.close()


@pytest.fixture
def monitor():
    """A mocked Pulumi engine for one test, recording registrations."""
    with mocked_engine() as recording:
        yield recording
