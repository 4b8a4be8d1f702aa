"""Shared fixtures: the emulator, started as a user would start it, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_process import EmulatorProcess
from pulumi_cli import REPO, PulumiProject, pulumi_cli

StartEmulator = Callable[..., EmulatorProcess]


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


def local_stack_on(project: PulumiProject, base_url: str) -> None:
    """Point the project's `local` stack file at an emulator (the only change to it)."""
    local = project.root / "stacks" / "Pulumi.local.yaml"
    text = local.read_text(encoding="utf-8")
    local.write_text(text.replace("http://127.0.0.1:8765", base_url), encoding="utf-8")


@pytest.fixture
def engine_project(tmp_path: Path, emulator: EmulatorProcess) -> PulumiProject:
    """A copy of the repository's project, its `local` stack on the emulator; no stack yet.

    Needs the Pulumi CLI (skipped without it, unless CXONE_REQUIRE_PULUMI=1).
    """
    project = PulumiProject.copy_of(REPO, tmp_path, pulumi=pulumi_cli())
    local_stack_on(project, emulator.base_url)
    return project


@pytest.fixture
def deployed_project(engine_project: PulumiProject) -> PulumiProject:
    """`engine_project` after `pulumi stack init local` and a first `pulumi up`."""
    engine_project.run("stack", "init", "local")
    engine_project.up()
    return engine_project
