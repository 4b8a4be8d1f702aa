"""The store's SQL: its schema, and the queries its transactions run (each takes the connection).

Called only inside `ActionStore`'s transactions, which serialize them.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Final

from cxone_provider.api.models import Action, StoredScript, Trigger
from cxone_provider.emulator.exceptions import NotFoundError, UnknownDependencyError

SCHEMA: Final = """
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

ACTION_COLUMNS: Final = (
    "id, name, description, type, trigger_type, language, content, enabled, version, "
    "created_ms, modified_ms"
)


def load_action(db: sqlite3.Connection, action_id: str) -> Action:
    """The stored action with this id (NotFoundError if there is none)."""
    row = db.execute(
        f"SELECT {ACTION_COLUMNS} FROM actions WHERE id = ?",  # noqa: S608 -- fixed columns
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
        dependencies=dependency_names(db, action_id),
        version=row["version"],
        created_timestamp=row["created_ms"],
        modified_timestamp=row["modified_ms"],
    )


def dependency_names(db: sqlite3.Connection, action_id: str) -> tuple[str, ...]:
    """The names an action depends on, in its order."""
    return tuple(
        row["name"]
        for row in db.execute(
            "SELECT a.name FROM dependencies d JOIN actions a ON a.id = d.depends_on "
            "WHERE d.action_id = ? ORDER BY d.position",
            (action_id,),
        )
    )


def resolve_dependencies(db: sqlite3.Connection, names: tuple[str, ...]) -> list[str]:
    """The ids of these names, in order; UnknownDependencyError names the missing ones."""
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
            f"unknown dependencies {', '.join(map(repr, missing))}: the tenant has no action "
            "of these names"
        )
        raise UnknownDependencyError(msg, [{"dependency": name} for name in missing])
    return [ids[name] for name in names]


def write_dependencies(db: sqlite3.Connection, action_id: str, dependency_ids: list[str]) -> None:
    """Record an action's dependencies, in their order."""
    db.executemany(
        "INSERT INTO dependencies (action_id, position, depends_on) VALUES (?, ?, ?)",
        [(action_id, position, target) for position, target in enumerate(dependency_ids)],
    )


def dependency_graph(db: sqlite3.Connection) -> dict[str, list[str]]:
    """Every action's name to the names it depends on."""
    graph: dict[str, list[str]] = {}
    for row in db.execute(
        "SELECT a.name AS source, t.name AS target FROM dependencies d "
        "JOIN actions a ON a.id = d.action_id JOIN actions t ON t.id = d.depends_on "
        "ORDER BY a.name, d.position"
    ):
        graph.setdefault(row["source"], []).append(row["target"])
    return graph
