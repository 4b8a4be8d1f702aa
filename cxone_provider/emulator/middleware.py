"""The cross-cutting layers of the emulator, each a small pure-ASGI middleware.

From the outside in: trusted hosts and origins, dropped answers, counters, latency, injected
faults, client authentication (Basic on the token endpoint, Bearer on the API), the
behaviours tests switched off (`broken`), rate limiting, body limits; then the routes. So
the client is known and counted before a byte of the body is read. The host check and the
body limit guard every path; the other layers touch only the API paths (`/api/v2/...`):
`/healthz`, `/_emulator/...` and the OpenAPI document pass straight through, so tests can
always observe and steer the emulator.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cxone_provider.api.models import MAX_DESCRIPTION_CHARS
from cxone_provider.emulator.backend import EmulatorBackend
from cxone_provider.emulator.broken import Behaviour
from cxone_provider.emulator.exceptions import (
    CrossOriginError,
    EmulatorApiError,
    InjectedFaultError,
    InternalError,
    MisdirectedRequestError,
    OAuthError,
    PayloadTooLargeError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
)
from cxone_provider.emulator.oauth import basic_credentials
from cxone_provider.emulator.paths import ACTION, ACTION_WRITES, ACTIONS
from cxone_provider.emulator.responses import error_response, oauth_error_response
from cxone_provider.emulator.scope import (
    CLIENT_KEY,
    DROP_KEY,
    HOLD_KEY,
    Kind,
    header,
    route_of,
)

MAX_TOKEN_BODY_BYTES: Final = 4 * 1024
# The largest valid action body is under 1 MiB: a 64 KiB script whose every character is
# JSON-escaped six times over, 1000 dependency names of 64 characters, the description.
MAX_API_BODY_BYTES: Final = 1024 * 1024
MAX_CONTROL_BODY_BYTES: Final = 64 * 1024


def _send_error(error: EmulatorApiError | OAuthError) -> Response:
    if isinstance(error, OAuthError):
        return oauth_error_response(error)
    return error_response(error)


class _Layer:
    """A middleware that needs the backend; `applies` says which requests it handles."""

    def __init__(self, app: ASGIApp, backend: EmulatorBackend) -> None:
        self.app = app
        self.backend = backend

    @staticmethod
    def applies(scope: Scope) -> bool:
        return scope["type"] == "http" and route_of(scope).kind is not Kind.CONTROL


class TrustedHosts(_Layer):
    """Serve only requests addressed to this emulator; no cross-site browser control request.

    A web page the user visits can make the browser talk to the emulator: through a DNS name
    it rebinds to 127.0.0.1 (the Host header is then that name), or with a cross-origin POST
    (Origin names the page's site). So the Host must be an IP address, a loopback name, this
    machine's name or the name the emulator was started on (421 otherwise), and a control
    request that a browser marks as coming from another origin is refused (403).
    """

    def __init__(self, app: ASGIApp, backend: EmulatorBackend) -> None:
        super().__init__(app, backend)
        self._names = {backend.settings.host.lower().rstrip("."), socket.gethostname().lower()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = header(scope, b"host")
        error: EmulatorApiError | None = None
        if host is not None and not self._trusted(host):
            msg = (
                f"this emulator does not serve the host {host!r}; use its address (for example "
                "http://127.0.0.1:PORT) or a loopback name"
            )
            error = MisdirectedRequestError(msg, [{"field": "Host", "message": msg}])
        elif route_of(scope).kind is Kind.CONTROL and _cross_origin(scope, host):
            msg = "the control API does not answer requests a browser sends from another origin"
            error = CrossOriginError(msg, [{"field": "Origin", "message": msg}])
        if error is not None:
            await error_response(error)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _trusted(self, host: str) -> bool:
        name = _host_name(host)
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return name == "localhost" or name.endswith(".localhost") or name in self._names
        return True  # an address: a rebinding page can only send its own name


def _host_name(host: str) -> str:
    """The name or address of a Host header, without the port and the brackets of IPv6."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _cross_origin(scope: Scope, host: str | None) -> bool:
    """Whether a browser says the request comes from a page of another origin."""
    fetch_site = header(scope, b"sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() not in {"same-origin", "none"}:
        return True
    origin = header(scope, b"origin")
    if origin is None:
        return False
    return urlsplit(origin.strip()).netloc.lower() != (host or "").strip().lower()


CLIENT_CLOSED_REQUEST: Final = 499
"""The status counted for a request whose client went away first (nginx's convention)."""


class LimitedBodies(_Layer):
    """Refuse a body larger than its route takes (413) before reading more than that.

    A declared Content-Length over the limit is refused at once; otherwise the body is read
    here, chunk by chunk, and handed on whole only if it stays within the limit. A client that
    hangs up before its body is whole gets 499: nothing was done for it, the server drops the
    answer on the closed connection, and the request is counted, not logged as an error.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = route_of(scope).kind
        limit = _BODY_LIMITS[kind]
        declared = header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _send_error(_too_large(kind, limit))(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await Response(status_code=CLIENT_CLOSED_REQUEST)(scope, receive, send)
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_error(_too_large(kind, limit))(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replaying(whole, receive), send)


_BODY_LIMITS: Final = {
    Kind.TOKEN: MAX_TOKEN_BODY_BYTES,
    Kind.API: MAX_API_BODY_BYTES,
    Kind.CONTROL: MAX_CONTROL_BODY_BYTES,
}


def _too_large(kind: Kind, limit: int) -> EmulatorApiError | OAuthError:
    msg = f"the body is larger than the {limit} bytes this endpoint takes"
    if kind is Kind.TOKEN:
        return OAuthError(413, "invalid_request", msg)
    return PayloadTooLargeError(msg, [{"field": "body", "message": msg}])


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
    """Count every API answer by method, route template and status (also dropped ones).

    And how many API requests were being answered at once, at the most: what a client's
    concurrency really was.
    """

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

        self.backend.stats.enter()
        try:
            await self.app(scope, receive, observe)
        finally:
            self.backend.stats.leave()
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


class ClientAuthentication(_Layer):
    """Know the OAuth client before the body is read: Basic for tokens, Bearer on the API.

    The API takes only a valid, unexpired token with the DataActions.ReadWrite scope.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        kind = route_of(scope).kind
        if not self.applies(scope) or kind is Kind.CONTROL:
            await self.app(scope, receive, send)
            return
        authorization = header(scope, b"authorization")
        try:
            if kind is Kind.TOKEN:
                client_id, secret = basic_credentials(authorization)
                scope[CLIENT_KEY] = self.backend.issuer.authenticate_client(client_id, secret)
            else:
                scope[CLIENT_KEY] = self.backend.issuer.authenticate(authorization)
        except (EmulatorApiError, OAuthError) as error:
            response = _send_error(error)
            if isinstance(error, UnauthorizedError):
                response.headers["WWW-Authenticate"] = 'Bearer realm="cxone-emulator"'
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class RateLimiting(_Layer):
    """Spend a token of the client's bucket; 429 when empty; X-RateLimit-* on every answer.

    Token requests spend from a bucket of their own, of the same size and rate.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        token = route_of(scope).kind is Kind.TOKEN
        limiter = self.backend.token_limiter if token else self.backend.limiter
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
            retry_after = {**headers, "Retry-After": str(quota.retry_after_s)}
            if token:
                response = oauth_error_response(OAuthError(429, "slow_down", msg))
                response.headers.update(retry_after)
            else:
                response = error_response(RateLimitedError(msg, headers=retry_after))
            await response(scope, receive, send)
            return
        encoded = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

        async def with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *encoded]
            await send(message)

        await self.app(scope, receive, with_quota)


class SwitchedOffBehaviours(_Layer):
    """Break the promises a test switched off (`broken.Behaviour`), on the way in and out.

    Test-only, for the negative controls of `cxone conformance`: it drops the headers the
    routes would honour (Idempotency-Key, If-Match), the cursor of a listing, cuts long
    descriptions before the rules see them, answers an ACTION_IN_USE refusal with 204 and
    takes the X-RateLimit-* headers off the answers. With nothing switched off (always,
    outside tests) it only passes the request on.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        broken = self.backend.broken
        if not self.applies(scope) or not broken.listed():
            await self.app(scope, receive, send)
            return
        route = (scope["method"], route_of(scope).template)
        dropped = set()
        if broken.off(Behaviour.IDEMPOTENCY):
            dropped.add(b"idempotency-key")
        if broken.off(Behaviour.IF_MATCH):
            dropped.add(b"if-match")
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() not in dropped]
        if broken.off(Behaviour.PAGINATION) and route == ("GET", ACTIONS):
            query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            kept = [(name, value) for name, value in query if name != "cursor"]
            scope["query_string"] = urlencode(kept).encode("latin-1")
        if broken.off(Behaviour.DESCRIPTION_LIMIT) and route in {
            ("POST", ACTIONS),
            ("PUT", ACTION),
        }:
            receive = await _with_short_description(scope, receive)
        if broken.off(Behaviour.DELETE_IN_USE) and route == ("DELETE", ACTION):
            send = _in_use_as_deleted(send)
        if broken.off(Behaviour.RATE_LIMIT_HEADERS):
            send = _without_rate_limit_headers(send)
        await self.app(scope, receive, send)


async def _with_short_description(scope: Scope, receive: Receive) -> Receive:
    """The request's body (up to the API's limit) with its description cut to the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left: hand that on
            return _replaying(message, receive)
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if not message.get("more_body", False) or size > MAX_API_BODY_BYTES:
            break
    more = bool(message.get("more_body", False))  # too large: LimitedBodies refuses it
    body = b"".join(chunks) if more else _cut_description(scope, b"".join(chunks))
    return _replaying({"type": "http.request", "body": body, "more_body": more}, receive)


def _cut_description(scope: Scope, body: bytes) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or not isinstance(data.get("description"), str):
        return body
    data["description"] = data["description"][:MAX_DESCRIPTION_CHARS]
    cut = json.dumps(data).encode()
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
    scope["headers"] = [*headers, (b"content-length", str(len(cut)).encode())]
    return cut


def _replaying(first: Message, receive: Receive) -> Receive:
    """A receive that gives `first`, then what `receive` gives."""
    handed = False

    async def replay() -> Message:
        nonlocal handed
        if handed:
            return await receive()
        handed = True
        return first

    return replay


def _in_use_as_deleted(send: Send) -> Send:
    """A DELETE's 409 (ACTION_IN_USE, the only conflict of a DELETE) answered as 204."""
    conflict = False

    async def lying(message: Message) -> None:
        nonlocal conflict
        if message["type"] == "http.response.start" and message["status"] == 409:  # noqa: PLR2004 -- Conflict
            conflict = True
            await send({"type": "http.response.start", "status": 204, "headers": []})
        elif conflict and message["type"] == "http.response.body":
            await send({"type": "http.response.body", "body": b""})
        else:
            await send(message)

    return lying


def _without_rate_limit_headers(send: Send) -> Send:
    async def stripped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [
                (k, v)
                for k, v in message.get("headers", ())
                if not k.lower().startswith(b"x-ratelimit-")
            ]
        await send(message)

    return stripped


# Outermost first; `install` adds them in this order.
LAYERS: Final = (
    TrustedHosts,
    DroppedAnswers,
    ObservedRequests,
    AddedLatency,
    InjectedFaults,
    ClientAuthentication,
    SwitchedOffBehaviours,
    RateLimiting,
    LimitedBodies,
)
