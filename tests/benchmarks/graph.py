"""Benchmark: validate a 10,000-action graph with 30,000 dependency edges; target < 200 ms.

Run: python tests/benchmarks/graph.py [--actions N] [--edges M] [--repeat R]
Prints the best and median wall time of `validate_graph` over R runs (graph built fresh
each run, declarations built once outside the timing).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from cxone_provider.deploy.graph import Declaration, validate_graph

TARGET_MS = 200.0


def random_dag(actions: int, edges: int, seed: int = 4) -> list[Declaration]:
    """A DAG: each edge goes from a later-declared action to an earlier one, then shuffled."""
    rng = random.Random(seed)  # noqa: S311 -- a reproducible benchmark graph, not a secret
    names = [f"action_{index:05d}" for index in range(actions)]
    needs: list[set[str]] = [set() for _ in names]
    count = 0
    while count < edges:
        dependent = rng.randrange(1, actions)
        dependency = rng.randrange(dependent)
        if names[dependency] not in needs[dependent]:
            needs[dependent].add(names[dependency])
            count += 1
    declarations = [
        Declaration(name, tuple(sorted(deps))) for name, deps in zip(names, needs, strict=True)
    ]
    rng.shuffle(declarations)
    return declarations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    declarations = random_dag(args.actions, args.edges)
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        validated = validate_graph(declarations)
        timings.append((time.perf_counter() - started) * 1000)
    assert len(validated.order) == args.actions
    best, median = min(timings), statistics.median(timings)
    verdict = "within" if median < TARGET_MS else "OVER"
    print(
        f"validate_graph: {args.actions} actions, {args.edges} edges: best {best:.1f} ms, "
        f"median {median:.1f} ms over {args.repeat} runs ({verdict} the {TARGET_MS:.0f} ms target)"
    )
    summary = {"actions": args.actions, "edges": args.edges, "runs": args.repeat}
    print(json.dumps({**summary, "best_ms": round(best, 3), "median_ms": round(median, 3)}))


if __name__ == "__main__":
    main()
