"""Benchmark: apply N actions through the plugin against the emulator, and compare to the floor.

Run: python tests/benchmarks/apply.py --actions 200 --latency-ms 20 --rate-limit 100
(`--rate-limit 0` is unlimited). It starts the emulator with that latency and rate limit,
starts its sandbox workers (`warm_up`), then drives Check and Create for N actions (a
dependency tree) through the SDK's dynamic-provider server with the engine's parallelism,
then replays the same HTTP calls with plain httpx at that parallelism (the measured floor),
then does the same job the naive way (one action at a time, a new HTTP client per request),
and prints a report whose last line is one JSON object: wall_s, floor_s, ratio, requests,
http_429, token_requests, connections, api_writes, replay_wall_s, and baseline_wall_s and
speedup for the naive run.

The floor is max(N*k/R, N*k*L/P): k API calls per action (create and test: 2), R the rate
limit, L the latency, P the calls in flight (the engine's parallelism, 16, which the provider
serves at once): no client can do better.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

import httpx  # noqa: E402 -- after the path to the test helpers
from action_trees import action_tree  # noqa: E402
from deployment import Deployment, walk  # noqa: E402
from emulator_process import EmulatorProcess  # noqa: E402
from provider_server import ProviderServer, emulator_settings  # noqa: E402

from cxone_provider.deploy.properties import DEFAULT_TEST_INPUT  # noqa: E402
from cxone_provider.deploy.resource import DataActionArgs  # noqa: E402
from cxone_provider.emulator.sandbox import PARALLEL_RUNS  # noqa: E402

API_CALLS_PER_ACTION = 2  # POST the action, POST its test
ENGINE_PARALLELISM = 16
ACTIONS = "/api/v2/dataactions/actions"


def floor_seconds(
    actions: int, latency_ms: float, rate_limit: float, concurrency: int = ENGINE_PARALLELISM
) -> float:
    """The least time any client needs: the rate limit's and the latency's bounds."""
    calls = actions * API_CALLS_PER_ACTION
    by_rate = calls / rate_limit if rate_limit > 0 else 0.0
    by_latency = calls * (latency_ms / 1000) / concurrency
    return max(by_rate, by_latency)


def provider_run(emulator: EmulatorProcess, workdir: Path, actions: int) -> dict[str, Any]:
    """Apply through the plugin as `pulumi up` would; the emulator's counters of that run."""
    plugin = ProviderServer(workdir)
    try:
        plugin.configure(emulator_settings(emulator), secret_keys=("cxone:clientSecret",))
        emulator.reset()
        deployment = Deployment(plugin, parallelism=ENGINE_PARALLELISM, stack="bench")
        started = time.perf_counter()
        deployment.apply(action_tree(actions))
        wall = time.perf_counter() - started
    finally:
        plugin.kill()
    return {"wall_s": wall, **emulator.stats()}


def naive_run(emulator: EmulatorProcess, actions: int) -> dict[str, Any]:
    """The seed's way: one action at a time, a new HTTP client (and connection) per request."""
    emulator.reset()
    started = time.perf_counter()
    token = httpx.post(
        emulator.base_url + "/api/v2/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(emulator.client_id, emulator.client_secret),
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for args in action_tree(actions).values():
        body = _body(args)
        created = _post_until_done(None, emulator.base_url + ACTIONS, body, headers)
        test_url = f"{emulator.base_url}{ACTIONS}/{created['id']}/test"
        _post_until_done(None, test_url, {"input": dict(DEFAULT_TEST_INPUT)}, headers)
    return {"wall_s": time.perf_counter() - started, **emulator.stats()}


def warm_up(emulator: EmulatorProcess) -> None:
    """Start the emulator's sandbox workers before anything is timed.

    The emulator starts a worker process for each of its first PARALLEL_RUNS test runs at once
    and keeps them: without this the first timed run pays those starts and the runs after it
    do not. A tenant is warm.
    """
    replay_run(emulator, 2 * PARALLEL_RUNS, 2 * PARALLEL_RUNS)


def replay_run(emulator: EmulatorProcess, actions: int, concurrency: int) -> dict[str, Any]:
    """The provider's HTTP calls and nothing else: the measured floor of an apply.

    One token, then each action's create and test, dependencies first and `concurrency` at a
    time over one keep-alive client, as the engine schedules them; no provider, no engine.
    """
    emulator.reset()
    started = time.perf_counter()
    with httpx.Client(base_url=emulator.base_url, timeout=30) as client:
        token = client.post(
            "/api/v2/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(emulator.client_id, emulator.client_secret),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        declarations = action_tree(actions)

        def create_and_test(name: str) -> None:
            args = declarations[name]
            created = _post_until_done(client, ACTIONS, _body(args), headers)
            test = {"input": dict(DEFAULT_TEST_INPUT)}
            _post_until_done(client, f"{ACTIONS}/{created['id']}/test", test, headers)

        waits_for = {name: tuple(args.dependencies) for name, args in declarations.items()}
        walk(waits_for, create_and_test, concurrency)
    return {"wall_s": time.perf_counter() - started, **emulator.stats()}


def _body(args: DataActionArgs) -> dict[str, Any]:
    return {
        "name": args.name,
        "description": f"Managed by Pulumi: {args.name}",
        "type": "SCRIPT",
        "trigger": {"type": "MANUAL"},
        "script": {"language": "JavaScript", "content": args.script},
        "enabled": True,
        "dependencies": list(args.dependencies),
    }


def _post_until_done(
    client: httpx.Client | None, url: str, body: dict[str, Any], headers: dict[str, str]
) -> Any:
    """POST until it is not rate limited; `client` None: a new connection for each request."""
    while True:
        if client is None:
            with httpx.Client(timeout=30) as fresh:
                response = fresh.post(url, json=body, headers=headers)
        else:
            response = client.post(url, json=body, headers=headers)
        if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
            time.sleep(float(response.headers.get("Retry-After", "1")))
            continue
        response.raise_for_status()
        return response.json()


def rate_limited(stats: dict[str, Any]) -> int:
    """429s sent in the run."""
    return int(stats["rate_limited"])


def main() -> None:
    """Run both, print the report and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rate-limit", type=float, default=100.0, help="requests/s; 0 = none")
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive run")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cxone-bench-") as folder:
        workdir = Path(folder)
        emulator = EmulatorProcess(
            ("--latency-ms", str(options.latency_ms), "--rate-limit", str(options.rate_limit)),
            db_path=workdir / "bench.sqlite3",
            cwd=workdir,
        )
        try:
            warm_up(emulator)
            ours = provider_run(emulator, workdir, options.actions)
            replay = replay_run(emulator, options.actions, ENGINE_PARALLELISM)
            naive = None if options.no_baseline else naive_run(emulator, options.actions)
        finally:
            emulator.stop()

    floor = floor_seconds(options.actions, options.latency_ms, options.rate_limit)
    requests = int(ours["requests_total"])
    result = {
        "wall_s": round(ours["wall_s"], 3),
        "floor_s": round(floor, 3),
        "ratio": round(ours["wall_s"] / floor, 3) if floor else None,
        "requests": requests,
        "http_429": rate_limited(ours),
        "token_requests": int(ours["token_requests"]),
        "connections": int(ours["connections"]),
        "api_writes": int(ours["api_writes"]),
        "replay_wall_s": round(replay["wall_s"], 3),
        "baseline_wall_s": round(naive["wall_s"], 3) if naive else None,
        "speedup": round(naive["wall_s"] / ours["wall_s"], 2) if naive else None,
    }
    rate = f"{options.rate_limit:g} req/s" if options.rate_limit > 0 else "unlimited"
    print(f"apply of {options.actions} actions, latency {options.latency_ms:g} ms, rate {rate}")
    print(f"  provider : {result['wall_s']:.2f} s (floor {floor:.2f} s, ratio {result['ratio']})")
    print(f"  replay   : {result['replay_wall_s']:.2f} s (the same HTTP calls, no provider)")
    print(
        f"  requests : {requests}, 429s {result['http_429']} "
        f"({100 * result['http_429'] / max(requests, 1):.1f}%), token requests "
        f"{result['token_requests']}, TCP connections {result['connections']}, "
        f"API writes {result['api_writes']}"
    )
    if naive:
        print(
            f"  naive    : {naive['wall_s']:.2f} s, {naive['connections']} connections, "
            f"{rate_limited(naive)} 429s; the provider is {result['speedup']}x faster"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
