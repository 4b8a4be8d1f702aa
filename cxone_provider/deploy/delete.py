"""`delete`: delete one action; already gone counts as done, dependents block it by name."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from cxone_provider.api.errors import ApiError, ConflictError
from cxone_provider.deploy.operation import Operation, elapsed_ms
from cxone_provider.deploy.properties import whole

logger = logging.getLogger(__name__)


def delete_action(operation: Operation, id_: str, props: Mapping[str, Any]) -> None:
    """Delete the action; an ACTION_IN_USE conflict names the actions that still call it."""
    started = time.perf_counter()
    try:
        with operation.step("deleting the action") as api:
            deleted = api.delete_action(id_)
    except ConflictError as exc:
        if exc.code != "ACTION_IN_USE":
            raise
        dependents = _dependents(exc)
        msg = (
            f"Data Action {operation.name!r} ({id_}) cannot be deleted: "
            f"{', '.join(map(repr, dependents)) or 'other actions'} still list it in their "
            "dependencies. Remove it from their dependencies (or delete them) in the same "
            "program, or delete them first"
        )
        raise exc.reworded(msg) from None
    latency_ms = elapsed_ms(started)
    if deleted:
        operation.notify("ACTION_DELETED", id_, None, latency_ms)
    else:
        logger.info("Data Action %r (%s) was already gone; nothing to delete", operation.name, id_)
    operation.audit(
        "delete",
        "deleted" if deleted else "already_gone",
        id_,
        version=whole(props.get("version")),
        latency_ms=latency_ms,
    )


def _dependents(error: ApiError) -> list[str]:
    names = []
    for detail in error.details:
        for key in ("name", "dependent", "action", "actionName", "id"):
            value = detail.get(key)
            if isinstance(value, str):
                names.append(value)
                break
        else:
            names.append(json.dumps(detail))
    return names
