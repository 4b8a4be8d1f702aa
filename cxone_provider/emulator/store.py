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

import base64
import binascii
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
from cxone_provider.api.models import Action, ActionSpec, StoredScript, Trigger
from cxone_provider.emulator.exceptions import (
    ActionInUseError,
    DependencyCycleError,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    ImmutableFieldError,
    NameConflictError,
    NotFoundError,
    UnknownDependencyError,
    ValidationFailedError,
    VersionMismatchError,
)
from cxone_provider.emulator.sandbox import ScriptUnit

IDEMPOTENCY_TTL_MS: Final = 24 * 60 * 60 * 1000
MEMORY: Final = ":memory:"
_SQLITE_INTEGERS: Final = range(-(2**63), 2**63)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS actions (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL,
    type         TEXT NOT NULL,
    trigger_type TEXT NOT NULL,
    language     TEXT NOT NULL,
    content      TEXT NOT NULL,
    enabled      INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    created_ms   INTEGER NOT NULL,
    modified_ms  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_by_creation ON actions (created_ms, id);
CREATE TABLE IF NOT EXISTS dependencies (
    action_id  TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    depends_on TEXT NOT NULL REFERENCES actions (id) ON DELETE RESTRICT,
    PRIMARY KEY (action_id, position)
);
CREATE INDEX IF NOT EXISTS dependencies_by_target ON dependencies (depends_on);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    client_id    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    answer       TEXT,
    expires_ms   INTEGER NOT NULL,
    PRIMARY KEY (client_id, key)
);
"""

_ACTION_COLUMNS: Final = (
    "id, name, description, type, trigger_type, language, content, enabled, version, "
    "created_ms, modified_ms"
)


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
        self._db.executescript(_SCHEMA)
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
            dependency_ids = self._resolve_dependencies(db, spec.dependencies)
            db.execute(
                f"INSERT INTO actions ({_ACTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",  # noqa: S608 -- fixed column list
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
            self._write_dependencies(db, action_id, dependency_ids)
            return self._load(db, action_id)

    def get(self, action_id: str) -> Action:
        """The action with this id, or NotFoundError."""
        with self._transaction() as db:
            return self._load(db, action_id)

    def page(
        self, *, page_size: int = 100, cursor: str | None = None, name: str | None = None
    ) -> Page:
        """Actions ordered by creation time then id, `page_size` at a time after `cursor`."""
        after = _decode_cursor(cursor) if cursor else None
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
            actions = [self._load(db, row["id"]) for row in rows[:page_size]]
        next_cursor = None
        if len(rows) > page_size:
            last = actions[-1]
            next_cursor = _encode_cursor(last.created_timestamp, last.id)
        return Page(actions, next_cursor)

    def count(self) -> int:
        """How many actions are stored."""
        with self._transaction() as db:
            return int(db.execute("SELECT COUNT(*) FROM actions").fetchone()[0])

    def update(self, action_id: str, spec: ActionSpec, *, if_match: str | None = None) -> Action:
        """Replace an action's fields, version + 1; name and type stay, no cycle may close."""
        now = self._now_ms()
        with self._transaction() as db:
            current = self._load(db, action_id)
            check_immutable_fields(current, {"name": spec.name, "type": spec.type})
            if if_match is not None and not _matches_version(if_match, current.version):
                msg = (
                    f"If-Match {if_match} does not match the current version {current.version} "
                    f"of action {current.name!r}"
                )
                detail = {"expected": if_match, "current": current.version}
                raise VersionMismatchError(msg, [detail])
            dependency_ids = self._resolve_dependencies(db, spec.dependencies)
            cycle = find_cycle(self._dependency_graph(db), current.name, spec.dependencies)
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
            self._write_dependencies(db, action_id, dependency_ids)
            return self._load(db, action_id)

    def delete(self, action_id: str) -> None:
        """Remove an action no other action depends on."""
        with self._transaction() as db:
            current = self._load(db, action_id)
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
            action = self._load(db, action_id)
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
                dependencies = self._dependency_names(db, row["id"])
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

    # Helpers (called inside a transaction)

    def _load(self, db: sqlite3.Connection, action_id: str) -> Action:
        row = db.execute(
            f"SELECT {_ACTION_COLUMNS} FROM actions WHERE id = ?",  # noqa: S608 -- fixed columns
            (action_id,),
        ).fetchone()
        if row is None:
            msg = f"no action with id {action_id!r}"
            raise NotFoundError(msg)
        return Action(
            id=row["id"],
            name=row["name"],
            description=row["description"],
            type=row["type"],
            trigger=Trigger(type=row["trigger_type"]),
            script=StoredScript(language=row["language"], content=row["content"]),
            enabled=bool(row["enabled"]),
            dependencies=self._dependency_names(db, action_id),
            version=row["version"],
            created_timestamp=row["created_ms"],
            modified_timestamp=row["modified_ms"],
        )

    @staticmethod
    def _dependency_names(db: sqlite3.Connection, action_id: str) -> tuple[str, ...]:
        return tuple(
            row["name"]
            for row in db.execute(
                "SELECT a.name FROM dependencies d JOIN actions a ON a.id = d.depends_on "
                "WHERE d.action_id = ? ORDER BY d.position",
                (action_id,),
            )
        )

    @staticmethod
    def _resolve_dependencies(db: sqlite3.Connection, names: tuple[str, ...]) -> list[str]:
        # One parameter however many names: SQLite's limit on variables never shows.
        ids = {
            row["name"]: row["id"]
            for row in db.execute(
                "SELECT name, id FROM actions WHERE name IN (SELECT value FROM json_each(?))",
                (json.dumps(names),),
            )
        }
        missing = [name for name in names if name not in ids]
        if missing:
            msg = (
                f"unknown dependencies {', '.join(map(repr, missing))}: create them first, or "
                "remove them from dependencies"
            )
            raise UnknownDependencyError(msg, [{"dependency": name} for name in missing])
        return [ids[name] for name in names]

    @staticmethod
    def _write_dependencies(
        db: sqlite3.Connection, action_id: str, dependency_ids: list[str]
    ) -> None:
        db.executemany(
            "INSERT INTO dependencies (action_id, position, depends_on) VALUES (?, ?, ?)",
            [(action_id, position, target) for position, target in enumerate(dependency_ids)],
        )

    @staticmethod
    def _dependency_graph(db: sqlite3.Connection) -> dict[str, list[str]]:
        graph: dict[str, list[str]] = {}
        for row in db.execute(
            "SELECT a.name AS source, t.name AS target FROM dependencies d "
            "JOIN actions a ON a.id = d.action_id JOIN actions t ON t.id = d.depends_on "
            "ORDER BY a.name, d.position"
        ):
            graph.setdefault(row["source"], []).append(row["target"])
        return graph


def check_immutable_fields(current: Action, requested: Mapping[str, Any]) -> None:
    """Raise ImmutableFieldError when a request changes the name or type of an existing action."""
    changed = [
        (field_name, value)
        for field_name, value in requested.items()
        if field_name in {"name", "type"} and value != getattr(current, field_name)
    ]
    if changed:
        msg = ", ".join(
            f"{field_name} cannot change ({getattr(current, field_name)!r} -> {value!r}); "
            "create a new action instead"
            for field_name, value in changed
        )
        details = [
            {"field": field_name, "message": "cannot change after create"}
            for field_name, _ in changed
        ]
        raise ImmutableFieldError(msg, details)


def find_cycle(
    graph: Mapping[str, list[str]], name: str, new_dependencies: tuple[str, ...]
) -> list[str] | None:
    """The cycle `name -> ... -> name` that giving `name` these dependencies would close.

    `graph` maps each action to the names it depends on; the result repeats `name` at the
    end, or is None when the new dependencies close no cycle.
    """
    edges = {**graph, name: list(new_dependencies)}
    path = [name]
    on_path = {name}
    finished: set[str] = set()
    # One iterator over the targets of each node on the path: a depth-first walk without
    # recursion, so a chain of any length is walked in constant stack depth.
    targets = [iter(edges.get(name, []))]
    while targets:
        for target in targets[-1]:
            if target == name:
                return [*path, name]
            if target not in finished and target not in on_path:
                path.append(target)
                on_path.add(target)
                targets.append(iter(edges.get(target, [])))
                break
        else:
            targets.pop()
            done = path.pop()
            on_path.discard(done)
            finished.add(done)
    return None


def _matches_version(if_match: str, version: int) -> bool:
    """Whether an If-Match header value (`*`, or entity tags like `"3"`) names this version."""
    for tag in (part.strip() for part in if_match.split(",")):
        if tag == "*":
            return True
        bare = tag.removeprefix("W/").strip('"')
        if bare == str(version):
            return True
    return False


def _encode_cursor(created_ms: int, action_id: str) -> str:
    raw = json.dumps([created_ms, action_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise _bad_cursor() from exc
    match position:
        case [int(created_ms), str(action_id)] if created_ms in _SQLITE_INTEGERS:
            return created_ms, action_id
        case _:
            raise _bad_cursor()


def _bad_cursor() -> ValidationFailedError:
    msg = "cursor is not one this server gave out; pass the nextCursor of the previous page"
    return ValidationFailedError(msg, [{"field": "cursor", "message": msg}])
