"""`pulumi up` killed mid-apply (SIGKILL: a laptop closed, a CI runner lost) and what follows.

The killed CLI leaves its lock: the next command says so and names `pulumi cancel`. The
engine recorded each create it started as a pending operation; the next `pulumi up` reports
them and drops them from the state. The creates that had reached the tenant are then adopted
through their idempotency keys: no duplicate and no orphan.
"""

from __future__ import annotations

import os
import signal

import pytest
from cli_projects import ACTIONS
from emulator_process import API_ACTIONS
from pulumi_cli import (
    REPO,
    PulumiProject,
    kill_group,
    local_stack_on,
    processes_in,
    pulumi_cli,
    wait_for,
)

pytestmark = pytest.mark.engine


def tenant_names(emulator) -> list[str]:
    with emulator.api() as api:
        listed = api.get(API_ACTIONS, params={"pageSize": 500}).json()["entities"]
    return [action["name"] for action in listed]


def test_an_up_killed_mid_apply_converges_on_the_next_up(start_emulator, tmp_path):
    """SIGKILL after some creates: the lock, `pulumi cancel`, then an up that converges."""
    emulator = start_emulator("--latency-ms", "150")
    project = PulumiProject.copy_of(REPO, tmp_path, pulumi=pulumi_cli())
    local_stack_on(project, emulator.base_url)
    project.run("stack", "init", "local")

    running = project.start("up", "--yes", "--skip-preview", "--parallel", "2")
    wait_for(lambda: emulator.stats()["api_writes"] >= 3, timeout_s=60, what="three creates")
    kill_group(running, signal.SIGKILL)
    # Our language host and the program it ran notice the engine is gone and end; the SDK's
    # dynamic-provider server waits forever (no health check), so it is ended here.
    wait_for(
        lambda: (
            not any(
                "language_host.py" in command or "run_program.py" in command
                for command in processes_in(project.root).values()
            )
        ),
        timeout_s=15,
        what="the language host to end with its engine",
    )
    for pid in processes_in(project.root):
        os.kill(pid, signal.SIGKILL)
    made = tenant_names(emulator)
    assert 3 <= len(made) < len(ACTIONS)

    locked = project.up(check=False)
    assert locked.returncode != 0
    assert "pulumi cancel" in locked.output
    project.run("cancel", "--yes")
    rerun = project.up()
    assert "pending operations" in rerun.output
    names = tenant_names(emulator)
    assert sorted(names) == sorted(ACTIONS)
    assert project.recorded_ids() == {action: project.outputs()[action]["id"] for action in ACTIONS}
    project.run("preview", "--expect-no-changes")
