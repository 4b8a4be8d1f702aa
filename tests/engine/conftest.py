"""Fixtures of the real-engine tests: a copy of the repository's project, deployed or not.

They need the Pulumi CLI (skipped without it, unless CXONE_REQUIRE_PULUMI=1); the
shared-state tests also PostgreSQL's server (`postgres`, one cluster for the session).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_process import EmulatorProcess
from postgres_cluster import PostgresCluster
from pulumi_cli import REPO, PulumiProject, local_stack_on, pulumi_cli


@pytest.fixture
def engine_project(tmp_path: Path, emulator: EmulatorProcess) -> PulumiProject:
    """A copy of the repository's project, its `local` stack on the emulator; no stack yet."""
    project = PulumiProject.copy_of(REPO, tmp_path, pulumi=pulumi_cli())
    local_stack_on(project, emulator.base_url)
    return project


@pytest.fixture
def deployed_project(engine_project: PulumiProject) -> PulumiProject:
    """`engine_project` after `pulumi stack init local` and a first `pulumi up`."""
    engine_project.run("stack", "init", "local")
    engine_project.up()
    return engine_project


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the session's shared-state tests (a database per test)."""
    cluster = PostgresCluster()
    yield cluster
    cluster.stop()
