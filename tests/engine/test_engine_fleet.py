"""`cxone fleet` with the real engine: three stacks, three tenants, state in PostgreSQL (issue 22).

One project and three emulators (a tenant each, with its own OAuth client) serve the module:
a fleet up where one tenant refuses the credentials, a fleet diff before and after a change
behind Pulumi's back, and a Ctrl-C in the middle of a fleet up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from cli_projects import ACTIONS
from emulator_process import API_ACTIONS, EmulatorProcess
from pulumi_cli import REPO, PulumiProject, pulumi_cli

pytestmark = pytest.mark.engine

STACKS = ("t1", "t2", "t3")
FLEET_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def tenants(tmp_path_factory):
    """An emulator per stack, each with its own OAuth client."""
    started = {
        stack: EmulatorProcess(
            ["--client", f"client-{stack}:secret-{stack}"],
            cwd=tmp_path_factory.mktemp(f"tenant-{stack}"),
        )
        for stack in STACKS
    }
    yield started
    for emulator in started.values():
        emulator.stop()


@pytest.fixture(scope="module")
def fleet_project(tmp_path_factory, tenants, postgres):
    """The example project, stacks t1..t3 on their tenants (t2's secret wrong), on PostgreSQL."""
    project = PulumiProject.copy_of(REPO, tmp_path_factory.mktemp("fleet"), pulumi=pulumi_cli())
    for old in (project.root / "stacks").glob("Pulumi.*.yaml"):
        old.unlink()
    for stack, emulator in tenants.items():
        secret = "wrong-secret" if stack == "t2" else emulator.client_secret
        (project.root / "stacks" / f"Pulumi.{stack}.yaml").write_text(
            f"config:\n  cxone:baseUrl: {emulator.base_url}\n"
            f"  cxone:clientId: {emulator.client_id}\n  cxone:clientSecret: {secret}\n"
        )
    project.extra_env = {"PULUMI_BACKEND_URL": postgres.new_database()}
    return project


def fleet(project: PulumiProject, *args: str) -> subprocess.CompletedProcess[str]:
    """`cxone fleet ARGS` in the project, as a CI job runs it."""
    return project.cxone("fleet", *args)


def stacks_of(completed: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    return {entry["stack"]: entry for entry in json.loads(completed.stdout)["stacks"]}


def test_fleet_up_deploys_every_tenant_but_the_one_that_refuses_the_credentials(
    fleet_project, tenants
):
    """Two stacks created, the third failed with its tenant's answer; exit code 1."""
    completed = fleet(fleet_project, "up", "--yes", "--json")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    stacks = stacks_of(completed)
    assert {s: e["result"] for s, e in stacks.items()} == {
        "t1": "succeeded",
        "t2": "failed",
        "t3": "succeeded",
    }, completed.stdout
    assert stacks["t1"]["created"] == len(ACTIONS) + 1  # the actions and the stack itself
    assert "401" in stacks["t2"]["error"] or "credentials" in stacks["t2"]["error"]
    assert "wrong-secret" not in completed.stdout + completed.stderr
    assert [tenants[s].stats()["actions"] for s in STACKS] == [len(ACTIONS), 0, len(ACTIONS)]

    stacks_folder = fleet_project.root / "stacks"
    (stacks_folder / "Pulumi.t4.yaml").write_text((stacks_folder / "Pulumi.t1.yaml").read_text())
    text = fleet(fleet_project, "preview", "--stack", "t[134]")
    (stacks_folder / "Pulumi.t4.yaml").unlink()
    assert text.returncode == 0, text.stdout + text.stderr
    rows = {line.split()[0]: line for line in text.stdout.splitlines() if line.startswith("t")}
    assert sorted(rows) == ["t1", "t3", "t4"]
    assert "succeeded" in rows["t1"]
    assert "missing" in rows["t4"]
    assert "not in the backend: `cxone fleet up` creates it" in text.stdout


def test_a_backend_that_cannot_be_opened_is_one_error_before_any_stack(fleet_project):
    """PostgreSQL not listening: exit 2 with Pulumi's reason, once, and no stack run."""
    saved = dict(fleet_project.extra_env)
    fleet_project.extra_env["PULUMI_BACKEND_URL"] = "postgres://u@127.0.0.1:9/none?sslmode=disable"
    try:
        ran = fleet(fleet_project, "preview", "--json")
    finally:
        fleet_project.extra_env = saved
    assert ran.returncode == 2, ran.stdout + ran.stderr
    error = json.loads(ran.stdout)["error"]
    assert error["type"] == "DeploymentError"
    assert error["message"].startswith("the Pulumi backend cannot be opened: unable to open state")
    assert "connection refused" in error["message"]


def test_fleet_diff_exits_1_once_a_tenant_drifts_and_refresh_records_it(fleet_project, tenants):
    """Same tenants: 0; a script changed on t3's tenant: 1, t3 differs; refresh records it."""
    deployed = ("--stack", "t1", "--stack", "t3")
    same = fleet(fleet_project, "diff", *deployed, "--json")
    assert same.returncode == 0, same.stdout + same.stderr
    assert {e["result"] for e in stacks_of(same).values()} == {"same"}

    with tenants["t3"].api() as api:
        listed = api.get(API_ACTIONS, params={"pageSize": 500}).json()["entities"]
        action = next(a for a in listed if a["name"] == "business_hours")
        body = {key: action[key] for key in ("name", "script", "dependencies")}
        body["script"] = {"content": "function main(context) { return 0; }"}
        api.put(f"{API_ACTIONS}/{action['id']}", json=body).raise_for_status()

    drifted = fleet(fleet_project, "diff", *deployed, "--json")
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    stacks = stacks_of(drifted)
    assert (stacks["t1"]["result"], stacks["t3"]["result"]) == ("same", "differs")
    assert stacks["t3"]["updated"] == 1
    markdown = fleet(fleet_project, "diff", *deployed, "--format", "markdown")
    assert markdown.returncode == 1
    assert "## t3" in markdown.stdout
    assert "business_hours" in markdown.stdout

    refreshed = fleet(fleet_project, "refresh", "--stack", "t3", "--yes", "--json")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    assert stacks_of(refreshed)["t3"]["updated"] == 1  # the state records the drift


def test_ctrl_c_in_a_fleet_up_cancels_the_running_stack_and_starts_no_other(fleet_project, tenants):
    """SIGINT: exit 130, t1 cancelled as Pulumi cancels, t2 and t3 not started, t1 not locked."""
    fleet_project.edit("stacks/actions/normalize_phone.js", "E.164", "E.164 (fleet)")
    tenants["t1"].add_fault("PUT", API_ACTIONS + "/{id}", hold_ms=60_000)
    running = fleet_project.start_command(
        sys.executable, "-m", "cxone_provider", "fleet", "up", "--yes", "--concurrency", "1"
    )
    tenants["t1"].wait_until(lambda stats: stats["requests_held"] == 1, timeout_s=120)
    os.killpg(running.pid, signal.SIGINT)
    tenants["t1"].clear_faults()
    output, _ = running.communicate(timeout=FLEET_TIMEOUT_S)

    assert running.returncode == 130, output
    last = {line.partition(":")[0]: line for line in output.splitlines() if ": " in line}
    assert last["t1"].startswith(("t1: cancelled", "t1: succeeded")), output
    assert last["t2"] == "t2: not started", output
    assert last["t3"] == "t3: not started", output
    assert "pulumi cancel --stack NAME" in output
    fleet_project.run("up", "--yes", "--stack", "t1")  # not locked
    assert tenants["t1"].stats()["actions"] == len(ACTIONS)
