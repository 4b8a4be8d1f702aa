"""Benchmark: `cxone fleet up --concurrency C` of N stacks against the same N `pulumi up` in turn.

Run: python tests/benchmarks/fleet.py --stacks 8 --latency-ms 50 --concurrency 4 (needs
`pulumi` on PATH, see scripts/install-pulumi). It starts an emulator per stack (a tenant
each, that latency on every answer), copies the example project with a stack file per
tenant, then on a fresh file backend and reset tenants times `pulumi stack init` and
`pulumi up --yes --skip-preview` of each stack one after another, and on another fresh
backend and reset tenants `cxone fleet up --yes --concurrency C` of all of them. Every run
must deploy the example's actions on every tenant. The report's last line is one JSON
object: fleet_wall_s, sequential_wall_s, ratio (fleet / sequential), the CPU seconds each
way took in the processes it started (`pulumi`, its plugins, the program, the provider,
`cxone`; not the emulators), cpus, load_average_1m (at the end: was the machine quiet?),
stacks, concurrency, latency_ms and actions (per tenant). The CPU figures bound the ratio:
the fleet cannot beat fleet_cpu_s / cpus.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
TESTS = BENCHMARKS.parent
sys.path[:0] = [str(TESTS)]

from cli_projects import ACTIONS  # noqa: E402 -- after the path above
from emulator_process import EmulatorProcess  # noqa: E402
from pulumi_cli import REPO, PulumiProject  # noqa: E402
from stack_files import strip_stack_init_keys  # noqa: E402


def fleet_project(folder: Path, pulumi: str, tenants: dict[str, EmulatorProcess]) -> PulumiProject:
    """The example project with one stack file per tenant (and no other stack)."""
    project = PulumiProject.copy_of(REPO, folder, pulumi=pulumi)
    stacks = project.root / "stacks"
    for old in stacks.glob("Pulumi.*.yaml"):
        old.unlink()
    for stack, emulator in tenants.items():
        (stacks / f"Pulumi.{stack}.yaml").write_text(
            f"config:\n  cxone:baseUrl: {emulator.base_url}\n"
            f"  cxone:clientId: {emulator.client_id}\n"
            f"  cxone:clientSecret: {emulator.client_secret}\n"
        )
    return project


def fresh(project: PulumiProject, tenants: dict[str, EmulatorProcess], backend: Path) -> None:
    """Empty tenants, an empty backend, stack files as the repository has them."""
    for emulator in tenants.values():
        emulator.reset()
    backend.mkdir(parents=True)
    project.extra_env = {"PULUMI_BACKEND_URL": backend.as_uri()}
    strip_stack_init_keys(project.root / "stacks")


def deployed(tenants: dict[str, EmulatorProcess]) -> None:
    """Fail the benchmark unless every tenant has the example's actions."""
    counts = {stack: emulator.stats()["actions"] for stack, emulator in tenants.items()}
    if set(counts.values()) != {len(ACTIONS)}:
        msg = f"not every tenant has the {len(ACTIONS)} actions: {counts}"
        raise SystemExit(msg)


def children_cpu_s() -> float:
    """CPU seconds of the ended child processes (and theirs), user and system."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sequential_run(project: PulumiProject, tenants: dict[str, EmulatorProcess]) -> float:
    """Each stack's `pulumi stack init` and `pulumi up`, one after another; the wall time."""
    started = time.perf_counter()
    for stack in tenants:
        project.run("stack", "init", stack)
        project.run("up", "--yes", "--skip-preview", "--stack", stack)
    return time.perf_counter() - started


def fleet_run(project: PulumiProject, concurrency: int) -> float:
    """`cxone fleet up` of every stack; the wall time."""
    command = [sys.executable, "-m", "cxone_provider", "fleet", "up", "--yes", "--json"]
    started = time.perf_counter()
    completed = subprocess.run(
        [*command, "--concurrency", str(concurrency)],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        msg = f"cxone fleet up exited {completed.returncode}:\n{completed.stdout}{completed.stderr}"
        raise SystemExit(msg)
    return wall


def main() -> None:
    """Run both ways on fresh backends and tenants; print the figures, JSON last."""
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--stacks", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise SystemExit("the Pulumi CLI is not on PATH: see scripts/install-pulumi")
    with tempfile.TemporaryDirectory(prefix="cxone-fleet-bench-") as scratch:
        folder = Path(scratch)
        tenants = {
            f"s{index:02d}": EmulatorProcess(["--latency-ms", str(args.latency_ms)], cwd=folder)
            for index in range(1, args.stacks + 1)
        }
        try:
            project = fleet_project(folder / "work", pulumi, tenants)
            fresh(project, tenants, folder / "sequential-backend")
            cpu = children_cpu_s()
            sequential_wall = sequential_run(project, tenants)
            sequential_cpu, cpu = children_cpu_s() - cpu, children_cpu_s()
            deployed(tenants)
            fresh(project, tenants, folder / "fleet-backend")
            cpu = children_cpu_s()
            fleet_wall = fleet_run(project, args.concurrency)
            fleet_cpu = children_cpu_s() - cpu
            deployed(tenants)
        finally:
            for emulator in tenants.values():
                emulator.stop()
    result = {
        "fleet_wall_s": round(fleet_wall, 3),
        "sequential_wall_s": round(sequential_wall, 3),
        "ratio": round(fleet_wall / sequential_wall, 3),
        "sequential_cpu_s": round(sequential_cpu, 3),
        "fleet_cpu_s": round(fleet_cpu, 3),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "stacks": args.stacks,
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "actions": len(ACTIONS),
    }
    print(
        f"{args.stacks} stacks, {len(ACTIONS)} actions each, {args.latency_ms:g} ms latency: "
        f"one after another {sequential_wall:.1f} s, cxone fleet up --concurrency "
        f"{args.concurrency} {fleet_wall:.1f} s"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
