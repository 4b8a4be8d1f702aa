"""The emulator's state and rules: Data Actions and idempotency records in SQLite, no HTTP.

One `sqlite3` connection serves the whole process behind a lock, and every operation is one
`BEGIN IMMEDIATE` transaction, so concurrent requests cannot create two actions with one
name or break the dependency rules; the schema's UNIQUE and FOREIGN KEY constraints back
the explicit checks, which exist to give the contract's error details. A broken rule raises
the emulator error that fixes the contract's status and code.

Not emulated: tenants (one store is one tenant), and several emulator processes sharing
one database file while requests are in flight (idempotency records of a process that died
mid-request are released when the next one opens the file).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.api.models import Action, ActionSpec
from cxone_provider.emulator.exceptions import (
    ActionInUseError,
    DependencyCycleError,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    NameConflictError,
    VersionMismatchError,
)
from cxone_provider.emulator.queries import (
    ACTION_COLUMNS,
    SCHEMA,
    dependency_graph,
    dependency_names,
    load_action,
    resolve_dependencies,
    write_dependencies,
)
from cxone_provider.emulator.rules import (
    check_immutable_fields,
    decode_cursor,
    encode_cursor,
    find_cycle,
    matches_version,
)
from cxone_provider.emulator.sandbox import ScriptUnit

IDEMPOTENCY_TTL_MS: Final = 24 * 60 * 60 * 1000
MEMORY: Final = ":memory:"


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The answer an idempotent request got, kept so that a retry can be given it again."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the listing; `next_cursor` is None on the last page."""

    actions: list[Action]
    next_cursor: str | None


class ActionStore:
    """Data Actions and idempotency records of one emulated tenant, in one SQLite database."""

    def __init__(
        self, path: str | Path = MEMORY, *, clock: Callable[[], float] = time.time
    ) -> None:
        """Open (and create if needed) the database; `clock` returns seconds since the epoch."""
        self.path = str(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._set_up()
        except sqlite3.Error as exc:
            self._db.close()
            msg = (
                f"cannot use {self.path!r} as the emulator's database ({exc}): give a new "
                "file or one the emulator made before"
            )
            raise ConfigurationError(msg) from None

    def _set_up(self) -> None:
        """Create the schema if needed; forget requests that a stopped process left in flight."""
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA busy_timeout = 5000")
        if self.path != MEMORY:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(SCHEMA)
        with self._transaction() as db:
            db.execute(
                "DELETE FROM idempotency_keys WHERE state = 'in_flight' OR expires_ms <= ?",
                (self._now_ms(),),
            )

    def close(self) -> None:
        """Close the database; the store cannot be used afterwards."""
        with self._lock:
            self._db.close()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One serialized write transaction; a raised error rolls everything back."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # Actions

    def create(self, spec: ActionSpec) -> Action:
        """Store a new action at version 1; its dependencies must exist, its name must be free."""
        now = self._now_ms()
        action_id = str(uuid.uuid4())
        with self._transaction() as db:
            existing = db.execute("SELECT id FROM actions WHERE name = ?", (spec.name,)).fetchone()
            if existing is not None:
                msg = f"an action named {spec.name!r} already exists (id {existing['id']})"
                detail = {"field": "name", "name": spec.name, "id": existing["id"]}
                raise NameConflictError(msg, [detail])
            dependency_ids = resolve_dependencies(db, spec.dependencies)
            db.execute(
                f"INSERT INTO actions ({ACTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",  # noqa: S608 -- fixed column list
                (
                    action_id,
                    spec.name,
                    spec.description,
                    spec.type,
                    spec.trigger.type,
                    spec.script.language,
                    spec.script.content,
                    int(spec.enabled),
                    now,
                    now,
                ),
            )
            write_dependencies(db, action_id, dependency_ids)
            return load_action(db, action_id)

    def get(self, action_id: str) -> Action:
        """The action with this id, or NotFoundError."""
        with self._transaction() as db:
            return load_action(db, action_id)

    def page(
        self, *, page_size: int = 100, cursor: str | None = None, name: str | None = None
    ) -> Page:
        """Actions ordered by creation time then id, `page_size` at a time after `cursor`."""
        after = decode_cursor(cursor) if cursor else None
        conditions: list[str] = []
        parameters: list[int | str] = []
        if after is not None:
            conditions.append("(created_ms, id) > (?, ?)")
            parameters.extend(after)
        if name is not None:
            conditions.append("name = ?")
            parameters.append(name)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT id FROM actions {where} ORDER BY created_ms, id LIMIT ?",  # noqa: S608 -- fixed fragments
                (*parameters, page_size + 1),
            ).fetchall()
            actions = [load_action(db, row["id"]) for row in rows[:page_size]]
        next_cursor = None
        if len(rows) > page_size:
            last = actions[-1]
            next_cursor = encode_cursor(last.created_timestamp, last.id)
        return Page(actions, next_cursor)

    def count(self) -> int:
        """How many actions are stored."""
        with self._transaction() as db:
            return int(db.execute("SELECT COUNT(*) FROM actions").fetchone()[0])

    def update(self, action_id: str, spec: ActionSpec, *, if_match: str | None = None) -> Action:
        """Replace an action's fields, version + 1; name and type stay, no cycle may close."""
        now = self._now_ms()
        with self._transaction() as db:
            current = load_action(db, action_id)
            check_immutable_fields(current, {"name": spec.name, "type": spec.type})
            if if_match is not None and not matches_version(if_match, current.version):
                msg = (
                    f"If-Match {if_match} does not match the current version {current.version} "
                    f"of action {current.name!r}"
                )
                detail = {"expected": if_match, "current": current.version}
                raise VersionMismatchError(msg, [detail])
            dependency_ids = resolve_dependencies(db, spec.dependencies)
            cycle = find_cycle(dependency_graph(db), current.name, spec.dependencies)
            if cycle is not None:
                msg = f"this change would close the dependency cycle {' -> '.join(cycle)}"
                raise DependencyCycleError(msg, [{"cycle": cycle}])
            db.execute(
                "UPDATE actions SET description = ?, trigger_type = ?, language = ?, content = ?, "
                "enabled = ?, version = version + 1, modified_ms = ? WHERE id = ?",
                (
                    spec.description,
                    spec.trigger.type,
                    spec.script.language,
                    spec.script.content,
                    int(spec.enabled),
                    max(now, current.modified_timestamp),
                    action_id,
                ),
            )
            db.execute("DELETE FROM dependencies WHERE action_id = ?", (action_id,))
            write_dependencies(db, action_id, dependency_ids)
            return load_action(db, action_id)

    def delete(self, action_id: str) -> None:
        """Remove an action no other action depends on."""
        with self._transaction() as db:
            current = load_action(db, action_id)
            dependents = [
                row["name"]
                for row in db.execute(
                    "SELECT a.name FROM dependencies d JOIN actions a ON a.id = d.action_id "
                    "WHERE d.depends_on = ? ORDER BY a.name",
                    (action_id,),
                )
            ]
            if dependents:
                msg = (
                    f"action {current.name!r} is listed in the dependencies of "
                    f"{', '.join(map(repr, dependents))}"
                )
                raise ActionInUseError(msg, [{"dependent": name} for name in dependents])
            db.execute("DELETE FROM actions WHERE id = ?", (action_id,))

    def script_units(self, action_id: str) -> tuple[Action, dict[str, ScriptUnit]]:
        """An action and the scripts of every action it reaches through its dependencies."""
        with self._transaction() as db:
            action = load_action(db, action_id)
            units: dict[str, ScriptUnit] = {}
            pending = list(action.dependencies)
            while pending:
                name = pending.pop()
                if name in units:
                    continue
                row = db.execute(
                    "SELECT id, content FROM actions WHERE name = ?", (name,)
                ).fetchone()
                if row is None:
                    continue
                dependencies = dependency_names(db, row["id"])
                units[name] = ScriptUnit(row["content"], dependencies)
                pending.extend(dependencies)
        return action, units

    # Idempotency records

    def claim_key(self, client_id: str, key: str, request_hash: str) -> StoredAnswer | None:
        """Start acting on a keyed request: None to go ahead, or the answer to replay.

        Raises IdempotencyKeyReusedError for a different body, IdempotencyKeyInUseError while the
        first request with the key is still being processed.
        """
        now = self._now_ms()
        with self._transaction() as db:
            row = db.execute(
                "SELECT request_hash, state, answer, expires_ms FROM idempotency_keys "
                "WHERE client_id = ? AND key = ?",
                (client_id, key),
            ).fetchone()
            if row is not None and row["expires_ms"] > now:
                if row["request_hash"] != request_hash:
                    msg = (
                        "this Idempotency-Key was used before with a different request body; "
                        "use a new key for a new request"
                    )
                    raise IdempotencyKeyReusedError(msg)
                if row["state"] == "in_flight":
                    msg = "a request with this Idempotency-Key is still being processed"
                    raise IdempotencyKeyInUseError(msg)
                answer = json.loads(row["answer"])
                return StoredAnswer(answer["status"], answer["body"], answer["headers"])
            db.execute(
                "INSERT OR REPLACE INTO idempotency_keys "
                "(client_id, key, request_hash, state, answer, expires_ms) "
                "VALUES (?, ?, ?, 'in_flight', NULL, ?)",
                (client_id, key, request_hash, now + IDEMPOTENCY_TTL_MS),
            )
            return None

    def settle_key(self, client_id: str, key: str, answer: StoredAnswer) -> None:
        """Remember the answer of a claimed request for replays until the key expires."""
        stored = json.dumps(
            {"status": answer.status, "body": answer.body, "headers": dict(answer.headers)}
        )
        with self._transaction() as db:
            db.execute(
                "UPDATE idempotency_keys SET state = 'done', answer = ? "
                "WHERE client_id = ? AND key = ?",
                (stored, client_id, key),
            )

    def release_key(self, client_id: str, key: str) -> None:
        """Forget a claim whose request ended before acting, so that a retry is processed anew."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM idempotency_keys "
                "WHERE client_id = ? AND key = ? AND state = 'in_flight'",
                (client_id, key),
            )

    def reset(self) -> None:
        """Remove every action and idempotency record."""
        with self._transaction() as db:
            db.execute("DELETE FROM idempotency_keys")
            db.execute("DELETE FROM dependencies")
            db.execute("DELETE FROM actions")
