"""Benchmark: `pulumi up` of N actions with the real engine, against the gRPC harness's apply.

Run: python tests/benchmarks/engine_apply.py --actions 200 --latency-ms 20 --rate-limit 100
(`--rate-limit 0` is unlimited; needs `pulumi` on PATH, see scripts/install-pulumi). It starts
the emulator with that latency and rate limit (and its sandbox workers, see apply.py's warm_up),
writes a program declaring the same N actions as tests/benchmarks/apply.py (a dependency tree,
through ActionCatalog), and times `pulumi up --yes --skip-preview --parallel P` on a fresh stack
and a reset tenant for each P of --parallel (default: 4 8 16 32 64). On the stack the last P
deployed it then times `pulumi preview`, a no-op `pulumi up`, `pulumi refresh` and `pulumi
destroy`, and measures the checkpoint file. Then it replays the same HTTP calls with plain httpx
at the best P (apply.py's replay: the measured floor) and applies the actions through the gRPC
harness (as apply.py does), in the same run. Last, Pulumi's own floor: a dynamic provider that
does nothing, registered with the same properties in the same tree, is deployed at the best P
(up, preview, no-op up). The report's last line is one JSON object: the best P's wall_s, the
analytic floor_s at that P and ratio, replay_wall_s and replay_ratio, the emulator's counters of
that run, harness_wall_s, engine_overhead (wall_s / harness_wall_s), best_parallel,
wall_s_by_parallel, preview_s, noop_up_s, refresh_s, destroy_s, state_bytes_per_action (the
file, compressed if the backend compresses it), state_json_bytes_per_action (its JSON),
do_nothing_up_s, do_nothing_preview_s, do_nothing_noop_up_s and skip_checkpoints
(`--skip-checkpoints` runs every command with PULUMI_SKIP_CHECKPOINTS=true). The file backend's
own options (PULUMI_DIY_BACKEND_ZSTD, PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS, ...) pass
through the environment and are reported as backend_settings.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
TESTS = BENCHMARKS.parent
sys.path[:0] = [str(TESTS), str(BENCHMARKS)]

from apply import floor_seconds, provider_run, replay_run, warm_up  # noqa: E402 -- after the paths above
from emulator_process import EmulatorProcess  # noqa: E402

PROGRAM = """\
import sys

sys.path.insert(0, {tests!r})

from action_trees import action_tree

from cxone_provider import ActionCatalog

catalog = ActionCatalog()
for args in action_tree({actions}).values():
    catalog.add(args)
catalog.register()
"""

# Pulumi's own cost: a dynamic provider that does nothing, registered with exactly the
# properties a DataAction registers (`registration`), in the same dependency tree. The provider
# lives in a module of the project, so its pickle is a reference, as DataActionProvider's is.
DO_NOTHING_PROVIDER = """\
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ResourceProvider

DEPLOYED = {
    "version": 1, "created_timestamp": 0, "modified_timestamp": 0, "type": "SCRIPT",
    "test_status": "SUCCESS", "test_passed": True, "test_output": "{}", "latency_ms": 1.0,
}


class DoNothing(ResourceProvider):
    serialize_as_secret_always = False

    def check(self, olds, news):
        return CheckResult(news, [])

    def diff(self, id_, olds, news):
        return DiffResult(changes=False)

    def create(self, props):
        return CreateResult(props["name"], {**props, **DEPLOYED, "action_id": props["name"]})
"""

DO_NOTHING_PROGRAM = """\
import dataclasses
import sys

sys.path.insert(0, {tests!r})

import pulumi
import pulumi.dynamic
from action_trees import action_tree
from do_nothing import DoNothing

from cxone_provider import DataAction
from cxone_provider.deploy.resource import _pickler_patches_undone, registration


class Shaped(pulumi.dynamic.Resource, module="dataaction", name="Shaped"):
    __annotations__ = dict(DataAction.__annotations__)  # the same output types to resolve


project, stack = pulumi.get_project(), pulumi.get_stack()
made = {{}}
for name, args in action_tree({actions}).items():
    args = dataclasses.replace(args, dependencies=[made[d].name for d in args.dependencies])
    props = registration(name, args, project=project, stack=stack)
    with _pickler_patches_undone():  # as DataAction does: the SDK's pickler patch nests
        made[name] = Shaped(DoNothing(), name, props)
"""


# The file backend's own options, taken from the environment and reported with the figures.
BACKEND_SETTINGS = (
    "PULUMI_DIY_BACKEND_GZIP",
    "PULUMI_DIY_BACKEND_ZSTD",
    "PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS",
    "PULUMI_PARALLEL_DIFF",
)


def write_project(folder: Path, actions: int, *, do_nothing: bool = False) -> None:
    """A Pulumi project whose program declares the benchmark's actions (or their shapes)."""
    folder.mkdir(parents=True)
    (folder / "Pulumi.yaml").write_text(
        "name: cxone-bench\nruntime:\n  name: python\n  options:\n    toolchain: pip\n"
    )
    program = DO_NOTHING_PROGRAM if do_nothing else PROGRAM
    (folder / "__main__.py").write_text(program.format(tests=str(TESTS), actions=actions))
    if do_nothing:
        (folder / "do_nothing.py").write_text(DO_NOTHING_PROVIDER)


class BenchStack:
    """The benchmark's stack `bench` on a file backend of its own; each command timed."""

    def __init__(self, folder: Path, pulumi: str, *, skip_checkpoints: bool) -> None:
        self.folder = folder
        self.pulumi = pulumi
        self.state = folder / "state"
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PULUMI_HOME": str(self.state / "home"),
            "PULUMI_BACKEND_URL": (self.state / "backend").as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": "benchmark",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
        if skip_checkpoints:
            self.env["PULUMI_SKIP_CHECKPOINTS"] = "true"

    def run(self, *args: str) -> float:
        """Run one `pulumi` command; its wall time."""
        started = time.perf_counter()
        completed = subprocess.run(
            [self.pulumi, *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            msg = f"pulumi {' '.join(args)} failed:\n{completed.stdout}{completed.stderr}"
            raise SystemExit(msg)
        return time.perf_counter() - started

    def init(self, emulator: EmulatorProcess) -> None:
        """A fresh stack whose config points at the emulator."""
        shutil.rmtree(self.state, ignore_errors=True)
        (self.state / "backend").mkdir(parents=True)
        self.run("stack", "init", "bench")
        for key, value in (
            ("cxone:baseUrl", emulator.base_url),
            ("cxone:clientId", emulator.client_id),
            ("cxone:clientSecret", emulator.client_secret),
        ):
            self.run("config", "set", key, value)

    def checkpoint_sizes(self) -> tuple[int, int | None]:
        """The stack's state file in the backend: its size, and its JSON's size uncompressed.

        The JSON's size is None for a zstd file (the standard library cannot read one).
        """
        stacks = self.state / "backend" / ".pulumi" / "stacks"
        (checkpoint,) = [
            found
            for pattern in ("bench.json", "bench.json.gz", "bench.json.zst")
            for found in stacks.rglob(pattern)
        ]
        stored = checkpoint.read_bytes()
        if checkpoint.suffix == ".gz":
            return len(stored), len(gzip.decompress(stored))
        if checkpoint.suffix == ".zst":
            return len(stored), None
        return len(stored), len(stored)


def pulumi_up(stack: BenchStack, emulator: EmulatorProcess, parallel: int) -> dict[str, Any]:
    """A fresh stack and a reset tenant, then a timed `pulumi up`; the emulator's counters."""
    stack.init(emulator)
    emulator.reset()
    wall = stack.run("up", "--yes", "--skip-preview", "--parallel", str(parallel))
    return {"wall_s": wall, **emulator.stats()}


def deployed_stack_times(stack: BenchStack, parallel: int, actions: int) -> dict[str, float | None]:
    """What a deployed stack costs afterwards: preview, a no-op up, refresh, its size, destroy."""
    parallelism = ("--parallel", str(parallel))
    times: dict[str, float | None] = {
        "preview_s": stack.run("preview", *parallelism),
        "noop_up_s": stack.run("up", "--yes", "--skip-preview", *parallelism),
        "refresh_s": stack.run("refresh", "--yes", "--skip-preview", *parallelism),
    }
    stored, uncompressed = stack.checkpoint_sizes()
    times["state_bytes_per_action"] = stored / actions
    times["state_json_bytes_per_action"] = uncompressed / actions if uncompressed else None
    times["destroy_s"] = stack.run("destroy", "--yes", "--skip-preview", *parallelism)
    return times


def do_nothing_times(
    workdir: Path, pulumi: str, emulator: EmulatorProcess, options: argparse.Namespace, best: int
) -> dict[str, float]:
    """Pulumi's own cost for the same shapes: up, preview and a no-op up of DO_NOTHING_PROGRAM."""
    project = workdir / "do-nothing"
    write_project(project, options.actions, do_nothing=True)
    stack = BenchStack(project, pulumi, skip_checkpoints=options.skip_checkpoints)
    stack.init(emulator)
    parallelism = ("--parallel", str(best))
    return {
        "do_nothing_up_s": stack.run("up", "--yes", "--skip-preview", *parallelism),
        "do_nothing_preview_s": stack.run("preview", *parallelism),
        "do_nothing_noop_up_s": stack.run("up", "--yes", "--skip-preview", *parallelism),
    }


def main() -> None:
    """Time the engine at each parallelism, then the deployed stack, the replay and the harness."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rate-limit", type=float, default=100.0, help="requests/s; 0 = none")
    parser.add_argument("--parallel", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    parser.add_argument(
        "--skip-checkpoints",
        action="store_true",
        help="run pulumi with PULUMI_SKIP_CHECKPOINTS=true (one state write per command)",
    )
    parser.add_argument("--no-harness", action="store_true", help="skip the gRPC harness run")
    options = parser.parse_args()
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        parser.exit(2, "pulumi is not on PATH: run scripts/install-pulumi first\n")

    with tempfile.TemporaryDirectory(prefix="cxone-engine-bench-") as scratch:
        workdir = Path(scratch)
        project = workdir / "project"
        write_project(project, options.actions)
        stack = BenchStack(project, pulumi, skip_checkpoints=options.skip_checkpoints)
        emulator = EmulatorProcess(
            ("--latency-ms", str(options.latency_ms), "--rate-limit", str(options.rate_limit)),
            db_path=workdir / "bench.sqlite3",
            cwd=workdir,
        )
        try:
            warm_up(emulator)
            runs = {p: pulumi_up(stack, emulator, p) for p in options.parallel}
            last = options.parallel[-1]
            afterwards = deployed_stack_times(stack, last, options.actions)
            best = min(runs, key=lambda p: runs[p]["wall_s"])
            replay = replay_run(emulator, options.actions, best)
            harness = (
                None if options.no_harness else provider_run(emulator, workdir, options.actions)
            )
            floor_of_pulumi = do_nothing_times(workdir, pulumi, emulator, options, best)
        finally:
            emulator.stop()

    ours = runs[best]
    floor = floor_seconds(options.actions, options.latency_ms, options.rate_limit, best)
    harness_wall = round(harness["wall_s"], 3) if harness else None
    result = {
        "wall_s": round(ours["wall_s"], 3),
        "floor_s": round(floor, 3),
        "ratio": round(ours["wall_s"] / floor, 3) if floor else None,
        "replay_wall_s": round(replay["wall_s"], 3),
        "replay_ratio": round(ours["wall_s"] / replay["wall_s"], 3),
        "requests": int(ours["requests_total"]),
        "http_429": int(ours["rate_limited"]),
        "token_requests": int(ours["token_requests"]),
        "connections": int(ours["connections"]),
        "api_writes": int(ours["api_writes"]),
        "harness_wall_s": harness_wall,
        "engine_overhead": round(ours["wall_s"] / harness["wall_s"], 3) if harness else None,
        "best_parallel": best,
        "wall_s_by_parallel": {str(p): round(run["wall_s"], 3) for p, run in runs.items()},
        **{key: None if value is None else round(value, 3) for key, value in afterwards.items()},
        **{key: round(value, 3) for key, value in floor_of_pulumi.items()},
        "skip_checkpoints": options.skip_checkpoints,
        "backend_settings": {key: os.environ[key] for key in BACKEND_SETTINGS if key in os.environ},
    }
    rate = f"{options.rate_limit:g} req/s" if options.rate_limit > 0 else "unlimited"
    print(f"pulumi up of {options.actions} actions, latency {options.latency_ms:g} ms, rate {rate}")
    for parallel, run in runs.items():
        print(f"  --parallel {parallel:<3}: {run['wall_s']:.2f} s, {run['rate_limited']} 429s")
    print(f"  replay (httpx, {best} at a time): {replay['wall_s']:.2f} s; floor {floor:.2f} s")
    if harness:
        print(f"  harness (gRPC, 16 at a time): {harness['wall_s']:.2f} s")
    print(
        f"  deployed (--parallel {last}): preview {afterwards['preview_s']:.2f} s, no-op up "
        f"{afterwards['noop_up_s']:.2f} s, refresh {afterwards['refresh_s']:.2f} s, destroy "
        f"{afterwards['destroy_s']:.2f} s, {afterwards['state_bytes_per_action']:.0f} state "
        "bytes per action"
    )
    print(
        f"  a do-nothing provider of the same shapes: up {floor_of_pulumi['do_nothing_up_s']:.2f} "
        f"s, preview {floor_of_pulumi['do_nothing_preview_s']:.2f} s, no-op up "
        f"{floor_of_pulumi['do_nothing_noop_up_s']:.2f} s"
    )
    print(f"  best: --parallel {best}, engine overhead {result['engine_overhead']}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
