"""The audit log: append-only JSON lines, whole lines under concurrency, owner-only file."""

from __future__ import annotations

import json
import multiprocessing
import stat
import threading
from pathlib import Path

from cxone_provider.deploy.audit import AuditLog

WRITERS = 8
LINES_EACH = 50
# Long enough that a line split across writes would show up as a broken JSON line.
PADDING = "x" * 2000


def _write_lines(path: str, writer: int) -> None:
    log = AuditLog(Path(path))
    for number in range(LINES_EACH):
        log.append({"writer": writer, "number": number, "padding": PADDING})


def _assert_all_lines_whole(log: AuditLog, writers: int) -> None:
    raw = log.path.read_text(encoding="utf-8").splitlines()
    assert len(raw) == writers * LINES_EACH
    records = [json.loads(line) for line in raw]
    seen = {(r["writer"], r["number"]) for r in records}
    assert seen == {(w, n) for w in range(writers) for n in range(LINES_EACH)}
    for writer in range(writers):
        numbers = [r["number"] for r in records if r["writer"] == writer]
        assert numbers == sorted(numbers)  # append-only: each writer's lines stay in order


def test_each_record_is_one_json_line_with_a_timestamp_first(tmp_path):
    """A record becomes one line; its timestamp is ISO 8601 UTC and comes first."""
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append({"operation": "create", "action_id": "a1", "latency_ms": 3.5})
    log.append({"operation": "delete", "action_id": "a1"})
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert next(iter(first)) == "timestamp"
    assert first["timestamp"].endswith("Z")
    assert first["operation"] == "create"
    assert [r["operation"] for r in log.read()] == ["create", "delete"]


def test_the_file_is_readable_by_its_owner_only(tmp_path):
    """The log is created with mode 0600."""
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append({"operation": "create"})
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_concurrent_threads_never_interleave_lines(tmp_path):
    """Eight threads appending large records: every line parses, none lost."""
    path = tmp_path / "audit.jsonl"
    threads = [threading.Thread(target=_write_lines, args=(str(path), w)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _assert_all_lines_whole(AuditLog(path), WRITERS)


def test_concurrent_processes_never_interleave_lines(tmp_path):
    """Four processes appending to one file (O_APPEND): every line parses, none lost."""
    path = tmp_path / "audit.jsonl"
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_lines, args=(str(path), w)) for w in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    _assert_all_lines_whole(AuditLog(path), 4)


def test_existing_lines_are_kept(tmp_path):
    """A new AuditLog on an existing file appends; it never truncates."""
    path = tmp_path / "audit.jsonl"
    AuditLog(path).append({"operation": "create"})
    AuditLog(path).append({"operation": "update"})
    assert [r["operation"] for r in AuditLog(path).read()] == ["create", "update"]
