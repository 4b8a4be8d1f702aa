"""Benchmark: `cxone diff` of two tenants of 2,000 actions each with 100 differences.

Run: python tests/benchmarks/diff.py [--actions N] [--rate-limit R]
Two emulators are seeded (unthrottled) with N actions each, the right one with 100
differences: 20 actions only on the left, 20 only on the right, 30 scripts, 10 dependency
sets, 10 `enabled` and 10 descriptions changed (and 10 dependency lists only reordered,
which are no difference). Both are then restarted on the same database with the rate limit
under test (default: the emulator's own, 20 requests/s with a burst of 40) and measured:

- listing: both tenants read as `cxone diff` reads them (the CLI's client, both at once);
- compare: the two sides built, compared, and rendered as text, Markdown and JSON;
- command: `cxone diff LEFT_URL RIGHT_URL --json` end to end, in a fresh process.

The last line of the report is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from emulator_process import EmulatorProcess  # noqa: E402 -- after the path to the test helpers
from rich.console import Console  # noqa: E402

from cxone_provider.api.client import CxoneClient  # noqa: E402
from cxone_provider.api.models import Action, validate_spec  # noqa: E402
from cxone_provider.cli import comparison as diff  # noqa: E402
from cxone_provider.cli import comparison_output  # noqa: E402
from cxone_provider.cli.tenant import CLI_MAX_ATTEMPTS  # noqa: E402

EXPECTED_DIFFERENCES = 100
CHUNK = 100  # actions created at once; dependencies always point into earlier chunks
SEED_THREADS = 8


def script(index: int, variant: str = "") -> str:
    """About 1 KB of JavaScript, different for every action."""
    lines = [
        f"// Action {index}: normalizes and scores one record{variant}",
        "function main(context) {",
        "  const input = context.input || {};",
        f"  const weight = {index % 17 + 1};",
        "  const fields = Object.keys(input).sort();",
        "  let score = 0;",
        "  for (const field of fields) {",
        "    const value = String(input[field]).trim().toLowerCase();",
        "    score += value.length * weight;",
        "  }",
    ]
    lines += [f"  const step{k} = (score * {k + index % 7}) % 101;" for k in range(12)]
    lines += [
        f"  return {{ id: {index}, score, fields, steps: [step0, step5, step11] }};",
        "}",
        "",
    ]
    return "\n".join(lines)


def left_actions(count: int) -> dict[str, dict[str, Any]]:
    """The left tenant: `a_0000`... with up to two dependencies on earlier chunks."""
    bodies = {}
    for index in range(count):
        name = f"a_{index:04d}"
        dependencies = []
        if index >= CHUNK:
            dependencies = sorted({f"a_{index % CHUNK:04d}", f"a_{(index * 7) % CHUNK:04d}"})
        if 500 <= index < 510:  # reordered on the right
            dependencies = ["a_0000", "a_0001"]
        bodies[name] = {
            "name": name,
            "description": f"Action {index}",
            "script": {"content": script(index)},
            "dependencies": dependencies,
        }
    return bodies


def right_actions(left: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The right tenant: the left one with exactly 100 differences (and 10 reorderings)."""
    names = list(left)
    bodies = {name: json.loads(json.dumps(body)) for name, body in left.items()}
    for name in names[-20:]:  # only on the left: nothing depends on the last actions
        del bodies[name]
    for number in range(20):  # only on the right
        name = f"b_{number:04d}"
        bodies[name] = {"name": name, "script": {"content": script(10_000 + number)}}
    for name in names[100:130]:
        bodies[name]["script"]["content"] = script(int(name[2:]), " (changed)")
    for name in names[200:210]:
        bodies[name]["dependencies"] = [*bodies[name]["dependencies"][:1], "a_0099"]
    for name in names[300:310]:
        bodies[name]["enabled"] = False
    for name in names[400:410]:
        bodies[name]["description"] = "Changed by hand in the console"
    for name in names[500:510]:
        bodies[name]["dependencies"] = ["a_0001", "a_0000"]
    return bodies


def seed(emulator: EmulatorProcess, bodies: dict[str, dict[str, Any]]) -> None:
    """Create the actions, chunk by chunk, several at a time."""
    with CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as api:

        def create(body: dict[str, Any]) -> None:
            api.create_action(validate_spec(body), idempotency_key=str(uuid.uuid4()))

        items = list(bodies.values())
        with ThreadPoolExecutor(SEED_THREADS) as pool:
            for start in range(0, len(items), CHUNK):
                list(pool.map(create, items[start : start + CHUNK]))


def list_tenant(emulator: EmulatorProcess) -> list[Action]:
    """Every action, through the client the command line uses."""
    with CxoneClient(
        emulator.base_url,
        emulator.client_id,
        emulator.client_secret,
        max_attempts=CLI_MAX_ATTEMPTS,
    ) as api:
        return list(api.list_actions())


def run_command(left: EmulatorProcess, right: EmulatorProcess) -> tuple[float, dict[str, Any]]:
    """`cxone diff LEFT RIGHT --json` in a fresh process: wall time and its answer."""
    environment = {
        **os.environ,
        "CXONE_CLIENT_ID": left.client_id,
        "CXONE_CLIENT_SECRET": left.client_secret,
    }
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "cxone_provider", "diff", left.base_url, right.base_url, "--json"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 1:
        msg = f"cxone diff exited {completed.returncode}:\n{completed.stderr}"
        raise RuntimeError(msg)
    return wall, json.loads(completed.stdout)


def counted(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the emulator counted between two snapshots of its stats."""
    rows: dict[tuple[str, str, int], int] = {}
    for sign, stats in ((-1, before), (1, after)):
        for row in stats["requests"]:
            key = (row["method"], row["path"], row["status"])
            rows[key] = rows.get(key, 0) + sign * row["count"]
    return {
        "requests": sum(rows.values()),
        "http_429": after["rate_limited"] - before["rate_limited"],
        "api_writes": after["api_writes"] - before["api_writes"],
        "methods": {
            method for (method, path, _), count in rows.items() if count and "oauth" not in path
        },
    }


def measure(left: EmulatorProcess, right: EmulatorProcess) -> dict[str, Any]:
    """Listing, comparing and the whole command, against the two seeded tenants."""
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        listed_left, listed_right = pool.map(list_tenant, (left, right))
    listing = time.perf_counter() - started

    started = time.perf_counter()
    comparison = diff.compare(
        diff.tenant_side(listed_left, base_url=left.base_url, stack="left"),
        diff.tenant_side(listed_right, base_url=right.base_url, stack="right"),
    )
    comparison_output.print_text(comparison, Console(file=io.StringIO(), width=100))
    markdown = comparison_output.to_markdown(comparison)
    document = json.dumps(comparison_output.to_json(comparison))
    comparing = time.perf_counter() - started

    before = [left.stats(), right.stats()]
    command_wall, answer = run_command(left, right)
    during = [counted(*pair) for pair in zip(before, [left.stats(), right.stats()], strict=True)]
    assert comparison.differences == EXPECTED_DIFFERENCES, comparison.summary()
    assert answer["summary"]["differences"] == EXPECTED_DIFFERENCES, answer["summary"]
    return {
        "differences": comparison.differences,
        "summary": comparison.summary(),
        "listing_s": round(listing, 3),
        "compare_s": round(comparing, 3),
        "command_s": round(command_wall, 3),
        "requests": [tenant["requests"] for tenant in during],
        "http_429": [tenant["http_429"] for tenant in during],
        "api_methods": sorted(set().union(*(tenant["methods"] for tenant in during))),
        "api_writes": sum(tenant["api_writes"] for tenant in during),
        "markdown_chars": len(markdown),
        "json_bytes": len(document),
    }


def main() -> None:
    """Seed, restart with the rate limit, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=2000)
    parser.add_argument("--rate-limit", type=float, default=None, help="default: the emulator's")
    options = parser.parse_args()
    left_bodies = left_actions(options.actions)
    right_bodies = right_actions(left_bodies)

    with tempfile.TemporaryDirectory(prefix="cxone-bench-diff-") as folder:
        work = Path(folder)
        databases = (work / "left.sqlite3", work / "right.sqlite3")
        seeders = [
            EmulatorProcess(("--rate-limit", "0"), db_path=database, cwd=work)
            for database in databases
        ]
        try:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(seed, seeders, (left_bodies, right_bodies)))
        finally:
            for seeder in seeders:
                seeder.stop()
        limit = () if options.rate_limit is None else ("--rate-limit", str(options.rate_limit))
        left, right = (EmulatorProcess(limit, db_path=db, cwd=work) for db in databases)
        try:
            result = {"actions": options.actions, **measure(left, right)}
        finally:
            left.stop()
            right.stop()

    rate = "the emulator's default" if options.rate_limit is None else f"{options.rate_limit:g}"
    print(f"cxone diff: {options.actions} vs {options.actions} actions, rate limit {rate}")
    print(f"  {result.pop('summary')}")
    print(f"  listing both tenants (at once): {result['listing_s']:.2f} s")
    print(f"  compare and render (text, Markdown, JSON): {result['compare_s']:.3f} s")
    print(f"  `cxone diff URL URL --json`, a fresh process: {result['command_s']:.2f} s")
    print(
        f"  requests of the command per tenant: {result['requests']} (429s "
        f"{result['http_429']}), methods besides the token's: {', '.join(result['api_methods'])}, "
        f"API writes {result['api_writes']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
