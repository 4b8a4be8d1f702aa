"""Past the SDK's four provider threads, so that `pulumi up --parallel N` means N for DataAction.

The Python SDK's dynamic-provider server (`python -m pulumi.dynamic`) serves the engine from a
`grpc.server(ThreadPoolExecutor(max_workers=4))` started before any of our code is imported:
whatever `--parallel` says, at most four creates, updates or deletes run at once, and each
spends most of its time waiting for the tenant. The engine already bounds the steps in flight
(`--parallel`) and the client paces every thread by the tenant's rate limit, so the pool needs
no bound of its own: `widen_provider_pool` raises it from the first call that reaches the
provider (`configure`, which the SDK runs on one of the pool's threads).

What this relies on, in CPython's `concurrent.futures.thread` (3.11 to 3.14): a worker thread
is started with a weak reference to its executor as its first argument; `submit` starts a new
worker while fewer than `_max_workers` exist and `_idle_semaphore` has no idle worker to
give. Calls queued behind a full pool are counted as idle workers once they are picked up,
so widening also starts a worker for each call waiting in `_work_queue` and counts afresh.
Where any of it does not hold (another Python, another SDK), nothing changes and one warning
says so: deployments work as before, four calls at a time.
"""

from __future__ import annotations

import logging
import sys
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Final

__all__ = ["PROVIDER_THREADS", "widen_provider_pool"]

logger = logging.getLogger(__name__)

PROVIDER_THREADS: Final = 64
"""Calls the plugin serves at once: above any `--parallel` that helps against one tenant."""

_PLUGIN_MODULE: Final = "pulumi.dynamic.__main__"
_widened_once = threading.Event()


def widen_provider_pool(threads: int = PROVIDER_THREADS) -> None:
    """Let the plugin's gRPC server run `threads` calls at once; once per process.

    Only inside the SDK's plugin process (`python -m pulumi.dynamic`): a program, a test or
    the command line calling the provider directly keeps its threads as they are.
    """
    if _widened_once.is_set() or not _in_provider_plugin():
        return
    _widened_once.set()
    executor = _executor_of(threading.current_thread())
    if executor is None or not _widen(executor, threads):
        logger.warning(
            "cannot raise the Pulumi SDK's provider threads from 4 to %d (this Python or "
            "Pulumi SDK runs them differently): DataActions deploy 4 at a time, whatever "
            "--parallel says",
            threads,
        )


def _widen(executor: ThreadPoolExecutor, threads: int) -> bool:
    """Raise the pool's bound and start a worker for each waiting call; False if it cannot."""
    # Private members of CPython's ThreadPoolExecutor: see the module docstring.
    try:
        executor._max_workers = max(executor._max_workers, threads)  # noqa: SLF001
        executor._idle_semaphore = threading.Semaphore(0)  # noqa: SLF001
        for _ in range(executor._work_queue.qsize()):  # noqa: SLF001
            executor._adjust_thread_count()  # noqa: SLF001
    except (AttributeError, TypeError):
        return False
    return True


def _in_provider_plugin() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", None) == _PLUGIN_MODULE


def _executor_of(thread: threading.Thread) -> ThreadPoolExecutor | None:
    """The pool `thread` works for, when it is a worker of a CPython ThreadPoolExecutor."""
    arguments = getattr(thread, "_args", None)
    if not arguments or not isinstance(arguments[0], weakref.ReferenceType):
        return None
    executor = arguments[0]()
    if not isinstance(executor, ThreadPoolExecutor):
        return None
    if not isinstance(getattr(executor, "_max_workers", None), int):
        return None
    return executor
