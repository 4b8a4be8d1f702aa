"""The plugin serves as many DataAction calls at once as the engine sends (issue 19).

The SDK's provider server has a pool of four threads; the provider widens it from its first
call. Where the SDK runs its calls some other way, the provider keeps four with one warning.
"""

from __future__ import annotations

import logging
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from importlib.machinery import ModuleSpec

import pytest
from emulator_process import API_ACTIONS
from provider_server import ProviderServer, emulator_settings, inputs

from cxone_provider.deploy import concurrency
from cxone_provider.deploy.concurrency import PROVIDER_THREADS, widen_provider_pool
from cxone_provider.deploy.resource import DataActionArgs

ECHO = "function main(context) { return context.input; }"
WARNING = "cannot raise the Pulumi SDK's provider threads"
# Replaces CPython's ThreadPoolExecutor in a plugin process with a pool whose workers know
# nothing of their executor: what a future SDK or Python might do.
OTHER_POOL = """\
import concurrent.futures
import queue
import threading


class FixedPool(concurrent.futures.Executor):
    def __init__(self, max_workers=4, **_options):
        self._calls = queue.Queue()
        for _ in range(max_workers):
            threading.Thread(target=self._work, daemon=True).start()

    def _work(self):
        while True:
            future, fn, args, kwargs = self._calls.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:
                    future.set_exception(exc)

    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        self._calls.put((future, fn, args, kwargs))
        return future


concurrent.futures.ThreadPoolExecutor = FixedPool
"""


@pytest.fixture
def as_the_plugin(monkeypatch):
    """The test's process, seen as `python -m pulumi.dynamic` whose pool is not widened yet."""
    main = types.ModuleType("__main__")
    main.__spec__ = ModuleSpec("pulumi.dynamic.__main__", None)
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setattr(concurrency, "_widened_once", threading.Event())


@pytest.mark.usefixtures("as_the_plugin")
def test_the_pool_that_runs_the_first_call_takes_as_many_calls_as_are_sent():
    """From four workers to PROVIDER_THREADS: twelve calls that wait for each other all run.

    With four workers the barrier would break (BrokenBarrierError) instead.
    """
    together = threading.Barrier(12, timeout=30)
    with ThreadPoolExecutor(max_workers=4) as pool:
        pool.submit(widen_provider_pool).result()
        waits = [pool.submit(together.wait) for _ in range(12)]
        assert sorted(wait.result() for wait in waits) == list(range(12))
        assert pool._max_workers == PROVIDER_THREADS  # noqa: SLF001 -- what widening sets


def test_outside_the_plugin_no_pool_is_touched(monkeypatch):
    """A program, a test or the CLI calling the provider keeps its own threads as they are."""
    monkeypatch.setattr(concurrency, "_widened_once", threading.Event())
    with ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(widen_provider_pool).result()
        assert pool._max_workers == 2  # noqa: SLF001 -- what widening would set


@pytest.mark.usefixtures("as_the_plugin")
def test_a_call_from_an_unknown_kind_of_thread_warns_once_and_changes_nothing(caplog):
    """No executor to find: one warning naming the consequence, no error, then silence."""
    caplog.set_level(logging.WARNING, logger="cxone_provider.deploy.concurrency")
    plain = threading.Thread(target=lambda: [widen_provider_pool() for _ in range(3)])
    plain.start()
    plain.join()
    assert [record.getMessage() for record in caplog.records] == [
        (
            f"{WARNING} from 4 to {PROVIDER_THREADS} (this Python or Pulumi SDK runs them "
            "differently): DataActions deploy 4 at a time, whatever --parallel says"
        )
    ]


def create_at_once(plugin: ProviderServer, names: list[str]) -> list[str]:
    """Check and Create each name from its own thread, as the engine sends them; the ids."""

    def create(name: str) -> str:
        args = DataActionArgs(name=name, script=ECHO)
        return plugin.create(name, plugin.check(name, inputs(name, args)).inputs).id

    with ThreadPoolExecutor(len(names)) as engine:
        return list(engine.map(create, names))


def test_the_sdk_server_runs_more_than_four_creates_at_once(start_plugin, emulator):
    """Twelve creates held by the emulator: at least eight are in flight together."""
    plugin = start_plugin()
    names = [f"wide_{index:02d}" for index in range(12)]
    emulator.add_fault("POST", API_ACTIONS, count=len(names), hold_ms=60_000)
    creating = threading.Thread(target=create_at_once, args=(plugin, names))
    creating.start()
    emulator.wait_until(lambda stats: stats["requests_held"] >= 8, timeout_s=60)
    emulator.clear_faults()
    creating.join()
    assert emulator.stats()["actions"] == len(names)
    assert WARNING not in plugin.stderr()


def test_an_sdk_that_runs_calls_otherwise_keeps_four_at_once_with_one_warning(tmp_path, emulator):
    """A pool of another kind: every create succeeds, four at a time, and one warning says so."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(OTHER_POOL, encoding="utf-8")
    plugin = ProviderServer(tmp_path, env={"PYTHONPATH": str(site)})
    try:
        plugin.configure(emulator_settings(emulator), secret_keys=("cxone:clientSecret",))
        names = [f"four_{index:02d}" for index in range(8)]
        emulator.add_fault("POST", API_ACTIONS, count=len(names), hold_ms=1000)
        ids = create_at_once(plugin, names)
    finally:
        plugin.stop()
    assert len(set(ids)) == len(names)
    stats = emulator.stats()
    assert stats["peak_requests_in_flight"] == 4
    assert plugin.stderr().count(WARNING) == 1
