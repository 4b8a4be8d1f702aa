"""Benchmark: `pulumi up` of N actions with the real engine, against the gRPC harness's apply.

Run: python tests/benchmarks/engine_apply.py --actions 200 --latency-ms 20 --rate-limit 100
(`--rate-limit 0` is unlimited; needs `pulumi` on PATH, see scripts/install-pulumi). It starts
the emulator with that latency and rate limit, writes a program declaring the same N actions
as tests/benchmarks/apply.py (a dependency tree, through ActionCatalog), and times
`pulumi up --yes --skip-preview --parallel P` on a fresh stack and a reset tenant for each P
of --parallel (default: 4 8 16 32 64). Then it applies the same actions through the gRPC
harness (as apply.py does) in the same run. The report's last line is one JSON object:
the best P's wall_s, floor_s, ratio and the emulator's counters of that run, harness_wall_s,
engine_overhead (wall_s / harness_wall_s), best_parallel and wall_s_by_parallel.
"""

from __future__ import annotations

import argparse
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

from apply import floor_seconds, provider_run  # noqa: E402 -- after the paths above
from emulator_process import EmulatorProcess  # noqa: E402

PROGRAM = """\
import sys

sys.path.insert(0, {tests!r})

from deployment import action_tree

from cxone_provider import ActionCatalog

catalog = ActionCatalog()
for args in action_tree({actions}).values():
    catalog.add(args)
catalog.register()
"""


def write_project(folder: Path, actions: int) -> None:
    """A Pulumi project whose program declares the benchmark's actions."""
    folder.mkdir(parents=True)
    (folder / "Pulumi.yaml").write_text(
        "name: cxone-bench\nruntime:\n  name: python\n  options:\n    toolchain: pip\n"
    )
    (folder / "__main__.py").write_text(PROGRAM.format(tests=str(TESTS), actions=actions))


def pulumi_up(
    folder: Path, emulator: EmulatorProcess, parallel: int, pulumi: str
) -> dict[str, Any]:
    """A fresh stack and a reset tenant, then a timed `pulumi up`; the emulator's counters."""
    state = folder / "state"
    shutil.rmtree(state, ignore_errors=True)
    (state / "backend").mkdir(parents=True)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PULUMI_HOME": str(state / "home"),
        "PULUMI_BACKEND_URL": (state / "backend").as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "benchmark",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }

    def run(*args: str) -> None:
        subprocess.run([pulumi, *args], cwd=folder, env=env, check=True, capture_output=True)

    run("stack", "init", "bench")
    for key, value in (
        ("cxone:baseUrl", emulator.base_url),
        ("cxone:clientId", emulator.client_id),
        ("cxone:clientSecret", emulator.client_secret),
    ):
        run("config", "set", key, value)
    emulator.reset()
    started = time.perf_counter()
    run("up", "--yes", "--skip-preview", "--parallel", str(parallel))
    return {"wall_s": time.perf_counter() - started, **emulator.stats()}


def main() -> None:
    """Time the engine at each parallelism, then the harness; print the report and JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rate-limit", type=float, default=100.0, help="requests/s; 0 = none")
    parser.add_argument("--parallel", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    options = parser.parse_args()
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        parser.exit(2, "pulumi is not on PATH: run scripts/install-pulumi first\n")

    with tempfile.TemporaryDirectory(prefix="cxone-engine-bench-") as scratch:
        workdir = Path(scratch)
        project = workdir / "project"
        write_project(project, options.actions)
        emulator = EmulatorProcess(
            ("--latency-ms", str(options.latency_ms), "--rate-limit", str(options.rate_limit)),
            db_path=workdir / "bench.sqlite3",
            cwd=workdir,
        )
        try:
            runs = {p: pulumi_up(project, emulator, p, pulumi) for p in options.parallel}
            harness = provider_run(emulator, workdir, options.actions)
        finally:
            emulator.stop()

    best = min(runs, key=lambda p: runs[p]["wall_s"])
    ours = runs[best]
    floor = floor_seconds(options.actions, options.latency_ms, options.rate_limit)
    result = {
        "wall_s": round(ours["wall_s"], 3),
        "floor_s": round(floor, 3),
        "ratio": round(ours["wall_s"] / floor, 3) if floor else None,
        "requests": int(ours["requests_total"]),
        "http_429": int(ours["rate_limited"]),
        "token_requests": int(ours["token_requests"]),
        "connections": int(ours["connections"]),
        "api_writes": int(ours["api_writes"]),
        "harness_wall_s": round(harness["wall_s"], 3),
        "engine_overhead": round(ours["wall_s"] / harness["wall_s"], 3),
        "best_parallel": best,
        "wall_s_by_parallel": {str(p): round(run["wall_s"], 3) for p, run in runs.items()},
    }
    rate = f"{options.rate_limit:g} req/s" if options.rate_limit > 0 else "unlimited"
    print(f"pulumi up of {options.actions} actions, latency {options.latency_ms:g} ms, rate {rate}")
    for parallel, run in runs.items():
        print(f"  --parallel {parallel:<3}: {run['wall_s']:.2f} s, {run['rate_limited']} 429s")
    print(f"  harness (gRPC, 16 at a time): {harness['wall_s']:.2f} s; floor {floor:.2f} s")
    print(f"  best: --parallel {best}, engine overhead {result['engine_overhead']}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
