"""The emulator as a user runs it: `python -m cxone_provider emulator` in a subprocess.

`EmulatorProcess` starts it on a free port (read back from what it prints), talks to its
control API (stats, reset, faults, token expiry, clock, broken behaviours) and stops it with
a signal. Tests use it through the `emulator` and `start_emulator` fixtures of conftest.py.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import httpx

API_ACTIONS = "/api/v2/dataactions/actions"
TOKEN_PATH = "/api/v2/oauth/token"
_LISTENING = re.compile(r"listening on (?P<url>http://\S+)")
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 15.0


class EmulatorProcess:
    """One `cxone emulator` subprocess and the handles tests need to drive it."""

    def __init__(
        self,
        cli_args: Sequence[str] = (),
        *,
        db_path: Path | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        client: tuple[str, str] | None = None,
    ) -> None:
        """Start it; `env` adds to the environment, `client` is the one tests use.

        `client` is needed when the first `--client` is not it (clients in `env` or a file).
        """
        self.cli_args = tuple(cli_args)
        self.db_path = db_path
        self.cwd = cwd
        self.env = dict(env or {})
        self.client_id, self.client_secret = client or _first_client(self.cli_args)
        self.port = 0
        self.base_url = ""
        self.output: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._control: httpx.Client | None = None
        self._drain: threading.Thread | None = None
        self.start()

    # Life cycle

    def start(self) -> None:
        """Start the process (on the last port if it ran before) and wait until it listens."""
        command = [
            sys.executable,
            "-m",
            "cxone_provider",
            "emulator",
            "--port",
            str(self.port),
            "--db",
            str(self.db_path) if self.db_path is not None else ":memory:",
            *self.cli_args,
        ]
        self.output = []
        self._process = subprocess.Popen(
            command,
            cwd=self.cwd,
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        url = self._wait_for_address()
        self.base_url = url
        self.port = int(url.rsplit(":", 1)[1])
        self._control = httpx.Client(base_url=url, timeout=10.0)
        self._control.get("/healthz").raise_for_status()

    def _wait_for_address(self) -> str:
        assert self._process is not None
        assert self._process.stdout is not None
        found: list[str] = []
        ready = threading.Event()
        stdout = self._process.stdout

        def drain() -> None:
            for line in stdout:
                self.output.append(line)
                match = _LISTENING.search(line)
                if match and not found:
                    found.append(match["url"])
                    ready.set()
            ready.set()

        self._drain = threading.Thread(target=drain, daemon=True, name="emulator-output")
        self._drain.start()
        if not ready.wait(_START_TIMEOUT_S) or not found:
            self._process.kill()
            self._process.wait()
            self._close_output()
            output = "".join(self.output)
            msg = f"the emulator did not start within {_START_TIMEOUT_S} s:\n{output}"
            raise RuntimeError(msg)
        return found[0]

    @property
    def pid(self) -> int:
        """The process id of the emulator."""
        assert self._process is not None
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send `sig`, wait for the process to end and return its exit code."""
        if self._control is not None:
            self._control.close()
            self._control = None
        process = self._process
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                self._close_output()
                msg = f"the emulator did not stop within {_STOP_TIMEOUT_S} s of signal {sig}"
                raise RuntimeError(msg) from None
        self._close_output()
        return process.returncode

    def _close_output(self) -> None:
        if self._drain is not None:
            self._drain.join(_STOP_TIMEOUT_S)
            self._drain = None
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()

    def restart(self) -> None:
        """Stop (SIGTERM) and start again on the same port with the same database."""
        self.stop()
        self.start()

    # Control API

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._control is None:
            msg = "the emulator is not running; start() it first"
            raise RuntimeError(msg)
        response = self._control.request(method, path, **kwargs)
        response.raise_for_status()
        return response

    def stats(self) -> dict[str, Any]:
        """GET /_emulator/stats."""
        stats: dict[str, Any] = self._call("GET", "/_emulator/stats").json()
        return stats

    def reset(self) -> None:
        """POST /_emulator/reset: no actions, keys, tokens, faults or counts."""
        self._call("POST", "/_emulator/reset")

    def add_fault(
        self,
        method: str,
        path: str,
        *,
        status: int | None = None,
        count: int = 1,
        headers: dict[str, str] | None = None,
        drop: bool = False,
        code: str | None = None,
        hold_ms: float = 0.0,
    ) -> None:
        """Queue a fault for the next `count` requests matching method and route template."""
        body: dict[str, Any] = {
            "method": method,
            "path": path,
            "status": status,
            "count": count,
            "headers": headers or {},
            "drop": drop,
            "code": code,
            "hold_ms": hold_ms,
        }
        self._call("POST", "/_emulator/faults", json=body)

    def clear_faults(self) -> None:
        """DELETE /_emulator/faults."""
        self._call("DELETE", "/_emulator/faults")

    def expire_tokens(self) -> None:
        """POST /_emulator/tokens/expire: the next API call with an old token gets 401."""
        self._call("POST", "/_emulator/tokens/expire")

    def move_clock(self, *, advance_s: float = 0.0, frozen: bool | None = None) -> dict[str, Any]:
        """POST /_emulator/clock: freeze (or resume) the clock, then advance it `advance_s`."""
        body: dict[str, Any] = {"advance_s": advance_s, "frozen": frozen}
        answer: dict[str, Any] = self._call("POST", "/_emulator/clock", json=body).json()
        return answer

    def break_behaviours(self, *behaviours: str) -> None:
        """POST /_emulator/broken: switch these behaviours of the contract off (none: all on)."""
        self._call("POST", "/_emulator/broken", json={"behaviours": list(behaviours)})

    # Conveniences for tests that speak plain HTTP

    def token(self, client_id: str | None = None, client_secret: str | None = None) -> str:
        """A fresh access token of the (default) client."""
        response = httpx.post(
            self.base_url + TOKEN_PATH,
            data={"grant_type": "client_credentials"},
            auth=(client_id or self.client_id, client_secret or self.client_secret),
            timeout=10.0,
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def api(self, *, timeout: float = 30.0) -> httpx.Client:
        """An httpx client on the base URL that sends a fresh bearer token."""
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=timeout,
        )

    def wait_until(self, predicate: Any, *, timeout_s: float = 5.0) -> dict[str, Any]:
        """Poll the stats until `predicate(stats)` holds (within `timeout_s`); return them."""
        deadline = time.monotonic() + timeout_s
        stats = self.stats()
        while not predicate(stats):
            if time.monotonic() > deadline:
                msg = f"the emulator's stats did not reach the expected state: {stats}"
                raise AssertionError(msg)
            time.sleep(0.02)
            stats = self.stats()
        return stats


class PeakMemory:
    """The peak resident memory of a process and all its descendants, sampled while inside.

    Every `interval_s` it reads each process's VmHWM (its own peak RSS, kept by the kernel)
    from /proc and adds up those of the processes alive at that moment; `peak_bytes` is the
    largest such sum. A sum of per-process peaks is never below the true total at any
    instant, so the figure errs on the high side; only a process that starts and ends
    between two samples could escape it.
    """

    def __init__(self, pid: int, *, interval_s: float = 0.002) -> None:
        self.root = pid
        self.interval_s = interval_s
        self.peak_bytes = 0
        self.processes_seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True, name="peak-memory")

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            total = sum(_peak_rss(pid) for pid in _process_tree(self.root, self.processes_seen))
            self.peak_bytes = max(self.peak_bytes, total)
            if self._stop.wait(self.interval_s):
                return


def _process_tree(root: int, seen: set[int]) -> list[int]:
    """`root` and every process below it (through /proc/<pid>/task/<tid>/children)."""
    tree, waiting = [], [root]
    while waiting:
        pid = waiting.pop()
        tree.append(pid)
        seen.add(pid)
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                waiting.extend(int(child) for child in children.read_text().split())
            except OSError:
                continue
    return tree


def _peak_rss(pid: int) -> int:
    """VmHWM of a process in bytes; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match[1]) * 1024 if match else 0


def action_body(
    name: str, *dependencies: str, content: str = "function main(context) { return context.input; }"
) -> dict[str, Any]:
    """A valid POST/PUT body for an action."""
    return {"name": name, "script": {"content": content}, "dependencies": list(dependencies)}


def _first_client(cli_args: Sequence[str]) -> tuple[str, str]:
    for flag, value in itertools.pairwise(cli_args):
        if flag == "--client":
            client_id, _, rest = value.partition(":")
            return client_id, rest.partition(":")[0]
    return "demo", "demo-secret"
