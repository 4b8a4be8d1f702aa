"""A throwaway PostgreSQL cluster on a free loopback port: Pulumi's shared state backend in tests.

Debian's server binaries are not on PATH (`/usr/lib/postgresql/<version>/bin`), and the
server refuses to run as root: as root the cluster belongs to the `postgres` user and every
command runs through `runuser`. Without the server, the tests skip with one line saying how
to get it, unless CXONE_REQUIRE_PULUMI=1 (CI), where they fail.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

_SERVER_USER = "postgres"
_counter = itertools.count()


def postgres_bin() -> Path:
    """The newest installed server's bin folder; skips (fails in CI) when there is none."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    advice = "PostgreSQL's server is not installed: `apt-get install postgresql`"
    if os.environ.get("CXONE_REQUIRE_PULUMI") == "1":
        pytest.fail(f"CXONE_REQUIRE_PULUMI=1 but {advice}")
    pytest.skip(advice)


class PostgresCluster:
    """initdb, pg_ctl start on 127.0.0.1 and a free port; `stop()` removes everything."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="cxone-postgres-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, _SERVER_USER)
        self.folder.chmod(0o700)
        self.data = self.folder / "data"
        self.port = _free_port()
        self.user = _SERVER_USER if self.as_root else os.environ.get("USER", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.user, "--no-sync")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
        log = str(self.folder / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", log, "-o", options, "start")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", _SERVER_USER, "--", *command]
        completed = subprocess.run(
            command, cwd=self.folder, capture_output=True, text=True, timeout=60, check=False
        )
        if completed.returncode != 0:
            msg = f"`{' '.join(command)}` exited {completed.returncode}:\n{completed.stderr}"
            raise RuntimeError(msg)

    def new_database(self) -> str:
        """A fresh, empty database; its `postgres://` URL for PULUMI_BACKEND_URL."""
        name = f"pulumi_{next(_counter)}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{name}?sslmode=disable"

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
