"""The cross-cutting layers of the emulator, each a small pure-ASGI middleware.

From the outside in: dropped answers, counters, latency, injected faults, bearer
authentication, rate limiting; then the routes. Each layer touches only the API paths
(`/api/v2/...`): `/healthz`, `/_emulator/...` and the OpenAPI document pass straight
through, so tests can always observe and steer the emulator.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum
from typing import Final

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cxone_provider.emulator.backend import EmulatorBackend
from cxone_provider.emulator.exceptions import (
    EmulatorApiError,
    InjectedFaultError,
    InternalError,
    OAuthError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
)
from cxone_provider.emulator.paths import ACTION_WRITES, API_PREFIX, API_TEMPLATES, TOKEN
from cxone_provider.emulator.responses import error_response, oauth_error_response

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


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class _Layer:
    """A middleware that needs the backend; `applies` says which requests it handles."""

    def __init__(self, app: ASGIApp, backend: EmulatorBackend) -> None:
        self.app = app
        self.backend = backend

    @staticmethod
    def applies(scope: Scope) -> bool:
        return scope["type"] == "http" and route_of(scope).kind is not Kind.CONTROL


class DroppedAnswers(_Layer):
    """Commit a request, then close its connection without an answer (drop faults).

    A request is dropped when the fault layer marked it (a queued `drop` fault), or when
    it is a successful action write and the `--drop-rate` draw says so.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if not self.applies(scope):
            await self.app(scope, receive, send)
            return
        write = (scope["method"], route_of(scope).template) in ACTION_WRITES
        dropping = False

        async def drop_or_send(message: Message) -> None:
            nonlocal dropping
            if message["type"] == "http.response.start":
                succeeded = 200 <= message["status"] < 300  # noqa: PLR2004 -- 2xx
                dropping = bool(scope.get(DROP_KEY)) or (
                    write and succeeded and self.backend.faults.draw_drop()
                )
            if not dropping:
                await send(message)

        await self.app(scope, receive, drop_or_send)
        if dropping:
            self.backend.stats.count("drops")
            if not await self.backend.connections.abort(scope.get("client")):
                msg = (
                    "this answer was to be dropped, but its connection is unknown: drops need "
                    "the emulator's own server (`cxone emulator`)"
                )
                raise InternalError(msg)


class ObservedRequests(_Layer):
    """Count every API answer by method, route template and status (also dropped ones)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if not self.applies(scope):
            await self.app(scope, receive, send)
            return
        status = 500
        replayed = False

        async def observe(message: Message) -> None:
            nonlocal status, replayed
            if message["type"] == "http.response.start":
                status = message["status"]
                replayed = any(
                    key.lower() == b"idempotent-replayed" for key, _ in message.get("headers", ())
                )
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            self.backend.stats.record(
                scope["method"], route_of(scope).template, status, replayed=replayed
            )


class AddedLatency(_Layer):
    """Delay every API answer by `--latency-ms`, without blocking the event loop."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        latency_ms = self.backend.settings.latency_ms
        if latency_ms > 0 and self.applies(scope):
            await asyncio.sleep(latency_ms / 1000)
        await self.app(scope, receive, send)


class InjectedFaults(_Layer):
    """Answer queued and `--fault-rate` faults before anything else happens."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if not self.applies(scope):
            await self.app(scope, receive, send)
            return
        route = route_of(scope)
        fault = self.backend.faults.take(scope["method"], route.template)
        if fault is not None and fault.drop:
            scope[DROP_KEY] = True
        elif fault is not None and fault.hold_ms > 0:
            scope[HOLD_KEY] = fault.hold_ms / 1000
        elif fault is not None and fault.status is not None:
            self.backend.stats.count("faults_injected")
            if route.kind is Kind.TOKEN and fault.status in {400, 401}:
                response = oauth_error_response(
                    OAuthError(
                        fault.status,
                        "invalid_request" if fault.status == 400 else "invalid_client",  # noqa: PLR2004 -- Bad Request
                        "fault injected by the emulator",
                    )
                )
                response.headers.update(fault.headers)
            else:
                error = InjectedFaultError(fault.status, fault.code, fault.headers)
                response = error_response(error)
            await response(scope, receive, send)
            return
        elif route.kind is Kind.API and self.backend.faults.draw_fault():
            self.backend.stats.count("faults_injected")
            unavailable = UnavailableError("fault injected by the emulator (--fault-rate); retry")
            await error_response(unavailable)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BearerAuthentication(_Layer):
    """Let through only API calls with a valid, unexpired token of DataActions.ReadWrite."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if not self.applies(scope) or route_of(scope).kind is not Kind.API:
            await self.app(scope, receive, send)
            return
        try:
            scope[CLIENT_KEY] = self.backend.issuer.authenticate(_header(scope, b"authorization"))
        except EmulatorApiError as error:
            response = error_response(error)
            if isinstance(error, UnauthorizedError):
                response.headers["WWW-Authenticate"] = 'Bearer realm="cxone-emulator"'
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class RateLimiting(_Layer):
    """Spend a token of the client's bucket; 429 when empty; X-RateLimit-* on every answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        limiter = self.backend.limiter
        if not limiter.enabled or CLIENT_KEY not in scope or not self.applies(scope):
            await self.app(scope, receive, send)
            return
        quota = limiter.take(scope[CLIENT_KEY])
        headers = quota.headers()
        if not quota.allowed:
            msg = (
                f"more than {limiter.rate:g} requests per second (burst {limiter.burst}) from "
                f"this client; retry after {quota.retry_after_s} s"
            )
            retry_after = {"Retry-After": str(quota.retry_after_s)}
            await error_response(RateLimitedError(msg, headers={**headers, **retry_after}))(
                scope, receive, send
            )
            return
        encoded = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

        async def with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *encoded]
            await send(message)

        await self.app(scope, receive, with_quota)


# Outermost first; `install` adds them in this order.
LAYERS: Final = (
    DroppedAnswers,
    ObservedRequests,
    AddedLatency,
    InjectedFaults,
    BearerAuthentication,
    RateLimiting,
)
