"""Benchmark: `pulumi preview` of N deployed actions (Check and Diff each) makes no API call.

Run: python tests/benchmarks/preview.py [--actions 1000]
It deploys N actions (a dependency tree) to the emulator through the plugin, then previews
the same program, timing the preview and counting the API requests the emulator saw during
it. Last line: one JSON object with actions, preview_s, per_action_ms, api_requests, plan.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from action_trees import action_tree
from deployment import Deployment
from emulator_process import EmulatorProcess
from provider_server import ProviderServer, emulator_settings


def main() -> None:
    """Deploy, preview, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=1000)
    options = parser.parse_args()
    declarations = action_tree(options.actions)
    with tempfile.TemporaryDirectory(prefix="cxone-bench-") as folder:
        workdir = Path(folder)
        emulator = EmulatorProcess(("--rate-limit", "0"), db_path=workdir / "db", cwd=workdir)
        plugin = ProviderServer(workdir)
        try:
            plugin.configure(emulator_settings(emulator), secret_keys=("cxone:clientSecret",))
            deployed = Deployment(plugin, parallelism=16, stack="bench")
            deployed.apply(declarations)
            before = emulator.stats()["requests_total"]
            preview = Deployment(plugin, dict(deployed.state), parallelism=16, stack="bench")
            started = time.perf_counter()
            plan = preview.preview(declarations)
            elapsed = time.perf_counter() - started
            api_requests = emulator.stats()["requests_total"] - before
        finally:
            plugin.kill()
            emulator.stop()
    steps = Counter(plan.values())
    print(f"preview of {options.actions} deployed actions: {elapsed:.2f} s")
    print(f"  {1000 * elapsed / options.actions:.2f} ms per action, {api_requests} API requests")
    print(f"  plan: {dict(steps)}")
    result = {
        "actions": options.actions,
        "preview_s": round(elapsed, 3),
        "per_action_ms": round(1000 * elapsed / options.actions, 3),
        "api_requests": api_requests,
        "plan": dict(steps),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
