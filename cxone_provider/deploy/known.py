"""Which action names a `dependencies` list may use, as far as `check` can know it in a preview.

A plain `DataAction` (no `ActionCatalog`) whose dependency is misspelt would pass `check` and
fail at `pulumi up` with UNKNOWN_DEPENDENCY. `check` knows two sources of names without the
program's help:

- the stack's own declarations: the plugin process checks every DataAction of the stack,
  and a dependency declared the documented way (its DataAction's `name` output, or
  `depends_on`) is registered, hence checked, before the action that calls it;
- the tenant's actions, listed once per plugin process (one GET per page), only when a
  dependency is not among the stack's names, and only when the stack's settings are complete:
  a preview without credentials or network skips this check (with one warning) instead of
  failing.

A name found in neither is a check failure on `dependencies`, in preview and in up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi.dynamic import CheckFailure
from pulumi.runtime.rpc import contains_unknowns

from cxone_provider.api.client import deadline
from cxone_provider.api.errors import CxoneError
from cxone_provider.deploy.clients import shared_client
from cxone_provider.deploy.properties import origin_of
from cxone_provider.deploy.settings import Connection, ProviderSettings

logger = logging.getLogger(__name__)

_LOCK = threading.Lock()
_DECLARED: dict[tuple[str, str], set[str]] = {}
_TENANT: dict[Connection, frozenset[str] | None] = {}


def dependency_failures(
    inputs: Mapping[str, Any], settings: ProviderSettings | None
) -> list[CheckFailure]:
    """Record this declaration's name; one failure naming each dependency nobody declares."""
    stack = _stack_key(inputs)
    name = inputs.get("name")
    with _LOCK:
        declared = _DECLARED.setdefault(stack, set())
        if isinstance(name, str):
            declared.add(name)
        wanted = _plain_names(inputs.get("dependencies"))
        missing = [needed for needed in wanted if needed not in declared]
    if not missing or settings is None:
        return []
    tenant = _tenant_names(settings)
    if tenant is None:
        return []
    unknown = [needed for needed in missing if needed not in tenant]
    if not unknown:
        return []
    listed = ", ".join(map(repr, unknown))
    reason = (
        f"unknown dependenc{'ies' if len(unknown) > 1 else 'y'} {listed}: neither a DataAction "
        f"of this stack registered before this one nor the tenant "
        f"({settings.connection.base_url}) has that name. Correct the spelling, or declare "
        "its DataAction first and pass its `name` output here (or use depends_on)"
    )
    return [CheckFailure("dependencies", reason)]


def _stack_key(inputs: Mapping[str, Any]) -> tuple[str, str]:
    origin = origin_of(inputs)
    return str(origin.get("project", "")), str(origin.get("stack", ""))


def _plain_names(dependencies: Any) -> list[str]:
    """The dependencies known now; unknown ones (a preview's) are checked when they are known."""
    if not isinstance(dependencies, Sequence) or isinstance(dependencies, str):
        return []
    return [name for name in dependencies if isinstance(name, str) and not contains_unknowns(name)]


def _tenant_names(settings: ProviderSettings) -> frozenset[str] | None:
    """The tenant's action names, listed once per process; None when they cannot be read."""
    connection = settings.connection
    with _LOCK:
        if connection in _TENANT:
            return _TENANT[connection]
        try:
            with deadline(time.monotonic() + settings.operation_timeout_s):
                names = frozenset(
                    action.name for action in shared_client(connection).list_actions()
                )
        except CxoneError as exc:
            logger.warning(
                "dependencies not declared in this stack were not checked against the tenant, "
                "which could not be listed: %s",
                exc,
            )
            names = None
        _TENANT[connection] = names
        return names
