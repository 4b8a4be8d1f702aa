"""Run Pulumi programs in-process under `pulumi.runtime.set_mocks`, recording what they register.

The mock monitor is the SDK's own, subclassed to keep each RegisterResource request in
arrival order with the URNs it depends on (MockResourceArgs does not carry `depends_on`), and
to close the event loops the SDK opens and leaks in its executor threads. `ActionMocks`
answers a DataAction as a successful create would; other mocks can be passed in instead.

    with mocked_engine() as monitor:
        exports = run_stack_program(Path("stacks"))
    monitor.registrations   # [Registration(name, type, depends_on), ...]
"""

from __future__ import annotations

import asyncio
import runpy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.settings import get_root_resource, reset_options, set_root_resource

DATA_ACTION = "pulumi-python:dynamic/dataaction:DataAction"


@dataclass(frozen=True)
class Registration:
    """One RegisterResource request: the resource's name, type and the names it depends on."""

    name: str
    type: str
    depends_on: frozenset[str]


class ActionMocks(Mocks):
    """Answers a DataAction registration as a successful create would."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == DATA_ACTION:
            outputs |= {"action_id": f"id-{args.name}", "version": 1, "test_status": "SUCCESS"}
        return f"{args.name}-id", outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], None]:
        msg = f"unexpected invoke {args.token}: these programs call no provider function"
        raise AssertionError(msg)


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, keeping every registration (the stack itself excluded) in order."""

    def __init__(self, mocks: Mocks | None = None) -> None:
        super().__init__(mocks or ActionMocks())
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 -- the gRPC method's name
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    request.name,
                    request.type,
                    frozenset(urn.rsplit("::", 1)[-1] for urn in request.dependencies),
                )
            )
        try:
            return super().RegisterResource(request)
        finally:
            _close_worker_loop()

    @property
    def action_names(self) -> list[str]:
        """The DataActions registered, in the order the monitor received them."""
        return [r.name for r in self.registrations if r.type == DATA_ACTION]


@contextmanager
def mocked_engine(
    *, mocks: Mocks | None = None, stack: str = "local"
) -> Iterator[RecordingMonitor]:
    """A fresh mock engine, root stack and event loop for one test; all released after it.

    The thread's previous event loop is put back afterwards, so tests that run after this
    one find asyncio as they would have without it.
    """
    previous = _current_loop()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = RecordingMonitor(mocks)
    set_root_resource(None)
    pulumi.runtime.set_mocks(
        monitor.mocks, project="cxone-actions", stack=stack, preview=False, monitor=monitor
    )
    try:
        yield monitor
    finally:
        reset_options(project="project", stack="stack")
        _close(loop)
        asyncio.set_event_loop(previous)


def _current_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:  # set to None by an earlier asyncio.run(): no current loop
        return None


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Close the test's loop, cancelling what it left pending first, as `asyncio.run` does.

    (Say, the root stack's registration when the test ran no program.)
    """
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


def _close_worker_loop() -> None:
    """Close the event loop the SDK's mock monitor opened in this executor thread.

    The monitor opens one per worker thread and never closes it; left to the garbage
    collector, the loop fails (an unraisable error under pytest) in some later test.
    """
    if threading.current_thread() is threading.main_thread():
        return
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:  # no loop in this thread
        return
    asyncio.set_event_loop(None)
    loop.close()


def run(program: Callable[[], object]) -> dict[str, Any]:
    """Run `program` as the engine would: wait for every registration, re-raise its error.

    Returns the stack's exports, resolved.
    """
    exported: dict[str, Any] = {}

    @pulumi.runtime.test
    def body() -> pulumi.Output[None]:
        program()
        root = get_root_resource()
        outputs = dict(root.outputs) if root is not None else {}
        return pulumi.Output.from_input(outputs).apply(exported.update)

    body()
    return exported


def run_stack_program(folder: Path) -> dict[str, Any]:
    """Run a stack folder's `__main__.py` as Pulumi does (`runpy.run_path`, as `__main__`)."""
    return run(lambda: runpy.run_path(str(folder), run_name="__main__"))
