"""Shared state in PostgreSQL, as CI runners share it (issue 22), with the real engine.

docs/provider.md's pipeline recipe (validate, preview, up) on `PULUMI_BACKEND_URL=postgres://`,
and two `pulumi up` of one stack at once: the second fails on the first one's lock.
"""

from __future__ import annotations

import pytest
from cli_projects import ACTIONS
from emulator_process import API_ACTIONS
from pulumi_cli import ci_stack

pytestmark = pytest.mark.engine


def test_the_pipeline_recipe_on_postgresql_and_a_racing_up_fails_on_the_lock(
    engine_project, emulator, postgres
):
    """Validate, preview, up on PostgreSQL; an up racing it is refused; both rerun cleanly."""
    project = engine_project
    ci_stack(project, emulator)
    project.extra_env["PULUMI_BACKEND_URL"] = postgres.new_database()
    validated = project.cxone("validate", "--stack", "ci")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    project.run("stack", "init", "ci")
    project.run("preview", "--stack", "ci", "--diff")

    emulator.add_fault("POST", API_ACTIONS, hold_ms=60_000)
    first = project.start("up", "--yes", "--stack", "ci")
    emulator.wait_until(lambda stats: stats["requests_held"] == 1, timeout_s=120)
    second = project.run("up", "--yes", "--stack", "ci", check=False)
    emulator.clear_faults()
    output, _ = first.communicate(timeout=120)

    assert first.returncode == 0, output
    assert second.returncode != 0
    assert "the stack is currently locked by 1 lock(s)" in second.output
    assert "pulumi cancel" in second.output
    assert emulator.stats()["actions"] == len(ACTIONS)  # the refused up created nothing
    assert sorted(project.run("stack", "output", "--json", "--stack", "ci").json()) == sorted(
        ACTIONS
    )
    for _runner in ("first", "second"):
        rerun = project.run("up", "--yes", "--stack", "ci", "--json")
        assert rerun.changes() == {"same": len(ACTIONS) + 1}
    assert emulator.stats()["actions"] == len(ACTIONS)
