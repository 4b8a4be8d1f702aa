"""The emulator's rules that need no database: immutable fields, cycles, versions, cursors.

Each broken rule raises the emulator error that fixes the contract's status and code.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Final

from cxone_provider.api.models import Action
from cxone_provider.emulator.exceptions import ImmutableFieldError, ValidationFailedError

_SQLITE_INTEGERS: Final = range(-(2**63), 2**63)


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


def matches_version(if_match: str, version: int) -> bool:
    """Whether an If-Match header value (`*`, or entity tags like `"3"`) names this version."""
    for tag in (part.strip() for part in if_match.split(",")):
        if tag == "*":
            return True
        bare = tag.removeprefix("W/").strip('"')
        if bare == str(version):
            return True
    return False


def encode_cursor(created_ms: int, action_id: str) -> str:
    """The listing's opaque cursor: the position after this action."""
    raw = json.dumps([created_ms, action_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The position a cursor names; ValidationFailedError if this server did not give it out."""
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
