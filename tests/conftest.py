"""Fixtures every level shares: the emulator, started as a user would start it, over real HTTP.

Each folder of tests has a conftest of its own for what only its tests share; the helper
modules beside this file (`emulator_process`, `provider_server`, `pulumi_cli`, ...) are on
`sys.path` through pytest's `pythonpath` setting (pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_process import EmulatorProcess
from skips import pytest_unconfigure

from cxone_provider.api.client import CxoneClient

StartEmulator = Callable[..., EmulatorProcess]
__all__ = ["pytest_unconfigure"]  # the one-line account of skipped tests, at the end


@pytest.fixture(scope="session")
def shared_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """One emulator for the whole session (default options, `--db :memory:`)."""
    process = EmulatorProcess(cwd=tmp_path_factory.mktemp("shared-emulator"))
    yield process
    process.stop()


@pytest.fixture
def emulator(shared_emulator: EmulatorProcess) -> EmulatorProcess:
    """The session's emulator, reset: no actions, keys, tokens, faults or counts."""
    if not shared_emulator.running:
        shared_emulator.start()
    shared_emulator.reset()
    return shared_emulator


@pytest.fixture
def start_emulator(tmp_path: Path) -> Iterator[StartEmulator]:
    """A factory of fresh emulator processes (own options, own SQLite file), stopped after."""
    started: list[EmulatorProcess] = []

    def start(*cli_args: str, db_path: Path | None = None, **options: Any) -> EmulatorProcess:
        database = db_path if db_path is not None else tmp_path / f"emulator-{len(started)}.sqlite3"
        process = EmulatorProcess(cli_args, db_path=database, cwd=tmp_path, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def api(emulator: EmulatorProcess) -> Iterator[CxoneClient]:
    """A client of the emulator, to look at (and change) the tenant behind Pulumi's back."""
    with CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as client:
        yield client
