"""Fixtures of the emulator's tests: they look at raw HTTP answers, not the client's view."""

from __future__ import annotations

import pytest


@pytest.fixture
def api(emulator):
    """A plain HTTP client of the emulator, with a token (overrides the `CxoneClient` one)."""
    with emulator.api() as client:
        yield client
