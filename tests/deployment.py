"""The engine's scheduling of a deployment, for chaos tests and benchmarks, over the real plugin.

The Pulumi engine runs a resource's steps as soon as the resources it depends on are done,
several at a time (`pulumi up --parallel`), and records each finished step in the state at
once, so that a crash loses only what was in flight. `Deployment` does the same against a
`ProviderServer`: `apply` walks the graph dependencies first (Check, then Create, or Diff and
Update), `destroy` walks it dependents first (Delete). The declarations come from
action_trees.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from provider_server import ProviderServer, Recorded, engine_updates, inputs

from cxone_provider.deploy.resource import DataActionArgs


@dataclass
class StepCounts:
    """How many of each engine call a deployment made."""

    calls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, call: str) -> None:
        with self._lock:
            self.calls[call] = self.calls.get(call, 0) + 1


class Deployment:
    """Applies and destroys declarations through one plugin, keeping the engine's state."""

    def __init__(
        self,
        plugin: ProviderServer,
        state: dict[str, Recorded] | None = None,
        *,
        parallelism: int = 8,
        stack: str = "chaos",
    ) -> None:
        self.plugin = plugin
        self.state: dict[str, Recorded] = state if state is not None else {}
        self.parallelism = parallelism
        self.stack = stack
        self.counts = StepCounts()
        self._lock = threading.Lock()

    def apply(self, declarations: Mapping[str, DataActionArgs]) -> None:
        """Make every declared action exist as declared; dependencies go first."""
        waits_for = {name: tuple(args.dependencies) for name, args in declarations.items()}
        walk(waits_for, lambda name: self._apply_one(name, declarations[name]), self.parallelism)

    def preview(self, declarations: Mapping[str, DataActionArgs]) -> dict[str, str]:
        """Do what `pulumi preview` does: Check every action, Diff the recorded ones.

        Nothing is changed; returns each action's planned step: create, update, replace, same.
        """
        plan: dict[str, str] = {}

        def step(name: str) -> None:
            news = inputs(name, declarations[name], stack=self.stack)
            prior = self.state.get(name)
            self.counts.add("Check")
            checked = self.plugin.check(name, news, prior.inputs if prior else None)
            if prior is None:
                plan[name] = "create"
                return
            self.counts.add("Diff")
            diff = self.plugin.diff(name, prior.id, prior.outputs, checked.inputs)
            if diff.replaces:
                plan[name] = "replace"
            elif engine_updates(diff, prior.inputs, checked.inputs):
                plan[name] = "update"
            else:
                plan[name] = "same"

        walk(dict.fromkeys(declarations, ()), step, self.parallelism)
        return plan

    def destroy(self) -> None:
        """Delete every recorded action; dependents go first."""
        dependents: dict[str, list[str]] = {name: [] for name in self.state}
        for name, recorded in self.state.items():
            for dependency in recorded.outputs.get("dependencies") or []:
                if dependency in dependents:
                    dependents[dependency].append(name)
        walk({n: tuple(d) for n, d in dependents.items()}, self._delete_one, self.parallelism)

    def _apply_one(self, name: str, args: DataActionArgs) -> None:
        news = inputs(name, args, stack=self.stack)
        prior = self.state.get(name)
        self.counts.add("Check")
        checked = self.plugin.check(name, news, prior.inputs if prior else None)
        if checked.failures:
            msg = f"{name}: check failed: {checked.failures}"
            raise AssertionError(msg)
        if prior is None:
            self.counts.add("Create")
            created = self.plugin.create(name, checked.inputs)
            recorded = Recorded(created.id, checked.inputs, created.outputs)
        else:
            self.counts.add("Diff")
            diff = self.plugin.diff(name, prior.id, prior.outputs, checked.inputs)
            outputs = prior.outputs
            if engine_updates(diff, prior.inputs, checked.inputs):
                self.counts.add("Update")
                outputs = self.plugin.update(name, prior.id, prior.outputs, checked.inputs)
            recorded = Recorded(prior.id, checked.inputs, outputs)
        with self._lock:
            self.state[name] = recorded

    def _delete_one(self, name: str) -> None:
        recorded = self.state[name]
        self.counts.add("Delete")
        self.plugin.delete(name, recorded.id, recorded.outputs)
        with self._lock:
            del self.state[name]


def walk(
    waits_for: Mapping[str, tuple[str, ...]], step: Callable[[str], Any], parallelism: int
) -> None:
    """Run `step` for every name as soon as all the names it waits for are done, in parallel.

    As the engine does: each step starts when its last dependency finishes, not when a whole
    wave of steps has; the first step that raises ends the walk.
    """
    pending = {name: {w for w in wanted if w in waits_for} for name, wanted in waits_for.items()}
    running: dict[Future[Any], str] = {}
    with ThreadPoolExecutor(parallelism) as pool:
        while pending or running:
            ready = [name for name, wanted in pending.items() if not wanted]
            for name in ready:
                del pending[name]
                running[pool.submit(step, name)] = name
            if not running:
                msg = f"these steps wait for each other: {sorted(pending)}"
                raise AssertionError(msg)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                finished = running.pop(future)
                future.result()
                for wanted in pending.values():
                    wanted.discard(finished)
