"""`pulumi up` killed mid-apply (SIGKILL: a laptop closed, a CI runner lost) and what follows.

The killed CLI leaves its lock: the next command says so and names `pulumi cancel`. The
engine recorded each create it started as a pending operation; the next `pulumi up` reports
them and drops them from the state. The creates that had reached the tenant are then adopted
through their idempotency keys: no duplicate and no orphan.

With `PULUMI_SKIP_CHECKPOINTS=true` (what docs/reliability.md recommends for large stacks) the
engine writes the state only when a command ends, so a killed command records nothing of
its run: rerunning the same program must converge all the same, for creates, updates and
deletes alike.
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

API_ACTION = API_ACTIONS + "/{id}"


def tenant_names(emulator) -> list[str]:
    with emulator.api() as api:
        listed = api.get(API_ACTIONS, params={"pageSize": 500}).json()["entities"]
    return [action["name"] for action in listed]


def tenant_actions(emulator) -> dict[str, dict]:
    with emulator.api() as api:
        listed = api.get(API_ACTIONS, params={"pageSize": 500}).json()["entities"]
    return {action["name"]: action for action in listed}


def kill_mid_command(
    project: PulumiProject, emulator, *args: str, writes: int, write: tuple[str, str] | None = None
) -> None:
    """Start `pulumi ARGS`, SIGKILL it once the tenant saw `writes` writes, end its plugins.

    With `write` (method, route template), the writes that follow are held until the CLI is
    dead and then land: the run is cut midway however slow the kill, and what was in flight
    reaches the tenant with no one to hear the answer.
    """
    before = emulator.stats()["api_writes"]
    running = project.start(*args, "--yes", "--skip-preview", "--parallel", "2")
    wait_for(
        lambda: emulator.stats()["api_writes"] >= before + writes,
        timeout_s=60,
        what=f"{writes} writes",
    )
    if write is not None:
        emulator.add_fault(*write, count=len(ACTIONS), hold_ms=60_000)
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
    emulator.clear_faults()


def assert_state_is_the_tenant(project: PulumiProject, emulator) -> None:
    """Every recorded action exists with the recorded id and version, and nothing else does."""
    tenant = tenant_actions(emulator)
    recorded = {
        resource["outputs"]["name"]: (resource["id"], resource["outputs"]["version"])
        for resource in project.resources().values()
    }
    assert recorded == {name: (a["id"], a["version"]) for name, a in tenant.items()}


def test_an_up_killed_mid_apply_converges_on_the_next_up(start_emulator, tmp_path):
    """SIGKILL after some creates: the lock, `pulumi cancel`, then an up that converges."""
    emulator = start_emulator("--latency-ms", "150")
    project = PulumiProject.copy_of(REPO, tmp_path, pulumi=pulumi_cli())
    local_stack_on(project, emulator.base_url)
    project.run("stack", "init", "local")

    kill_mid_command(project, emulator, "up", writes=3)
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


def test_without_checkpoints_killed_creates_updates_and_deletes_converge_on_a_rerun(
    start_emulator, tmp_path
):
    """PULUMI_SKIP_CHECKPOINTS: each command killed midway, rerun: the tenant is the state."""
    emulator = start_emulator("--latency-ms", "150")
    project = PulumiProject.copy_of(REPO, tmp_path, pulumi=pulumi_cli())
    project.extra_env["PULUMI_SKIP_CHECKPOINTS"] = "true"
    local_stack_on(project, emulator.base_url)
    project.run("stack", "init", "local")

    kill_mid_command(project, emulator, "up", writes=3, write=("POST", API_ACTIONS))
    assert 3 <= len(tenant_actions(emulator)) < len(ACTIONS)
    assert project.resources() == {}  # the killed run recorded nothing
    project.run("cancel", "--yes")
    project.up()
    assert sorted(tenant_actions(emulator)) == sorted(ACTIONS)  # adopted, not duplicated
    assert_state_is_the_tenant(project, emulator)

    for script in (project.root / "stacks" / "actions").glob("*.js"):
        script.write_text(script.read_text(encoding="utf-8") + "// v2\n", encoding="utf-8")
    kill_mid_command(project, emulator, "up", writes=2, write=("PUT", API_ACTION))
    assert 2 <= sum(a["version"] == 2 for a in tenant_actions(emulator).values()) < len(ACTIONS)
    project.run("cancel", "--yes")
    project.up()
    updated = tenant_actions(emulator)
    assert {
        name: action["script"]["content"].endswith("// v2\n") for name, action in updated.items()
    } == dict.fromkeys(ACTIONS, True)  # no lost update
    assert {action["version"] for action in updated.values()} == {2}
    assert_state_is_the_tenant(project, emulator)
    project.run("preview", "--expect-no-changes")

    kill_mid_command(project, emulator, "destroy", writes=2, write=("DELETE", API_ACTION))
    assert 0 < len(tenant_actions(emulator)) <= len(ACTIONS) - 2
    project.run("cancel", "--yes")
    project.run("destroy", "--yes", "--skip-preview")
    assert tenant_actions(emulator) == {}
    assert project.resources() == {}
