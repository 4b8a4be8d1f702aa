"""Each benchmark runs at a small size and ends with its JSON line: the commands stay usable.

No timing is asserted (the figures depend on the machine): only that the report's last line
is one JSON object with the fields the docs name, and the counts the run must have made.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pulumi_cli import pulumi_cli

BENCHMARKS = Path(__file__).resolve().parent


def last_json_line(script: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a benchmark script; its last printed line, parsed."""
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_the_apply_benchmark_reports_the_provider_the_replay_and_the_naive_run():
    """apply.py: every action created once, through one token, and each run timed."""
    result = last_json_line("apply.py", "--actions", "8", "--latency-ms", "1")
    assert result["api_writes"] == 8
    assert result["requests"] == 17  # a token, then a create and a test per action
    assert result["token_requests"] == 1
    assert {"wall_s", "floor_s", "ratio", "replay_wall_s", "baseline_wall_s"} <= set(result)


@pytest.mark.engine
def test_the_engine_benchmark_reports_the_up_and_the_deployed_stack():
    """engine_apply.py: the up and the deployed stack, replay, harness, Pulumi's own floor."""
    pulumi = pulumi_cli()
    env = {**os.environ, "PATH": f"{Path(pulumi).parent}{os.pathsep}{os.environ['PATH']}"}
    result = last_json_line(
        "engine_apply.py",
        *("--actions", "4", "--latency-ms", "1", "--rate-limit", "0", "--parallel", "8"),
        *("--skip-checkpoints",),
        env=env,
    )
    assert result["api_writes"] == 4
    assert result["best_parallel"] == 8
    assert result["skip_checkpoints"] is True
    assert result["state_bytes_per_action"] == result["state_json_bytes_per_action"] > 0
    timed = ("wall_s", "replay_wall_s", "harness_wall_s", "preview_s", "noop_up_s")
    do_nothing = ("do_nothing_up_s", "do_nothing_preview_s", "do_nothing_noop_up_s")
    assert all(result[key] > 0 for key in (*timed, *do_nothing, "refresh_s", "destroy_s"))


def test_the_preview_graph_and_diff_benchmarks_end_with_their_json_line():
    """preview.py, graph.py and diff.py at a small size."""
    preview = last_json_line("preview.py", "--actions", "10")
    assert preview["plan"] == {"same": 10}
    assert preview["api_requests"] == 0
    graph = last_json_line("graph.py", "--actions", "50", "--edges", "100", "--repeat", "1")
    assert (graph["actions"], graph["edges"], graph["runs"]) == (50, 100, 1)
    diff = last_json_line("diff.py", "--actions", "600")  # its differences need 530
    assert diff["differences"] == 100


@pytest.mark.engine
def test_the_fleet_benchmark_reports_both_walls_and_their_ratio():
    """fleet.py at two stacks: both runs deployed every tenant and are timed."""
    pulumi = pulumi_cli()
    env = {**os.environ, "PATH": f"{Path(pulumi).parent}{os.pathsep}{os.environ['PATH']}"}
    result = last_json_line(
        "fleet.py", "--stacks", "2", "--latency-ms", "1", "--concurrency", "2", env=env
    )
    assert result["stacks"] == 2
    assert result["actions"] == 7
    assert {"fleet_wall_s", "sequential_wall_s", "ratio"} <= set(result)
