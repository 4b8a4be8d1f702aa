"""The append-only JSON-lines audit log: one whole line per change, across threads and processes.

Each line is encoded first, then written with a single `write` on a descriptor opened with
O_APPEND, under a lock shared by every writer of that path in the process. O_APPEND makes the
kernel position each write at the end of the file, so lines from concurrent processes do not
overwrite each other; the single write keeps a line from being interleaved with another.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

_FILE_MODE: Final = 0o600
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, threading.Lock())


def utc_timestamp() -> str:
    """Now, as an ISO 8601 UTC timestamp with milliseconds (`2024-05-01T12:00:00.000Z`)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuditLog:
    """Appends records to one file; the file is created on first use, readable by its owner only."""

    def __init__(self, path: Path) -> None:
        self.path = path.expanduser().absolute()
        self._lock = _lock_for(self.path)

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    def append(self, record: Mapping[str, Any]) -> None:
        """Write `record` as one JSON line, with a `timestamp` first unless it has one.

        Raises OSError when the file cannot be written; callers decide whether that matters.
        """
        line = {"timestamp": utc_timestamp(), **record}
        data = (json.dumps(line, ensure_ascii=False, allow_nan=False, default=str) + "\n").encode()
        with self._lock:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _FILE_MODE)
            try:
                written = os.write(descriptor, data)
                # A regular file only writes short when the disk is full; finish the line
                # rather than leave half of it for the next writer to append to.
                while written < len(data):
                    written += os.write(descriptor, data[written:])
            finally:
                os.close(descriptor)

    def read(self) -> list[dict[str, Any]]:
        """Every record so far, oldest first (for tests and `cxone` tooling)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as lines:
            return [json.loads(line) for line in lines if line.strip()]
