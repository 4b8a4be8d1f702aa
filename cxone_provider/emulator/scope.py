"""What the emulator's layers learn of a request and keep in its ASGI scope.

The route template (as the stats and faults name it) is matched once; the client, once
authenticated; whether to drop the answer and how long to hold it, once drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from starlette.routing import compile_path
from starlette.types import Scope

from cxone_provider.emulator.paths import API_PREFIX, API_TEMPLATES, TOKEN

# Keys this package adds to the ASGI scope of a request.
ROUTE_KEY: Final = "cxone.route"
CLIENT_KEY: Final = "cxone.client"
DROP_KEY: Final = "cxone.drop"
HOLD_KEY: Final = "cxone.hold_s"
UNMATCHED: Final = "(unmatched)"


class Kind(Enum):
    """Which part of the emulator a request is for."""

    API = "api"
    TOKEN = "token"
    CONTROL = "control"


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """A request's route template (as the stats and faults name it) and its kind."""

    template: str
    kind: Kind


_TEMPLATE_PATTERNS: Final = tuple(
    (compile_path(template)[0], template) for template in API_TEMPLATES
)


def route_of(scope: Scope) -> RouteInfo:
    """The route template of a request, matched once and kept in the scope."""
    route = scope.get(ROUTE_KEY)
    if isinstance(route, RouteInfo):
        return route
    path: str = scope["path"]
    template = next(
        (template for pattern, template in _TEMPLATE_PATTERNS if pattern.match(path)), UNMATCHED
    )
    if template == TOKEN:
        kind = Kind.TOKEN
    elif path.startswith(API_PREFIX):
        kind = Kind.API
    else:
        kind = Kind.CONTROL
    route = RouteInfo(template, kind)
    scope[ROUTE_KEY] = route
    return route


def header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (latin-1, as HTTP carries it), or None."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
