"""The CXone Data Actions API client: one pooled httpx.Client, OAuth, retries, idempotency.

Retry policy (the contract's table): connection errors, 5xx, 429 and 409
IDEMPOTENCY_KEY_IN_USE are retried with capped exponential backoff and jitter (stamina), and
a Retry-After header, in either form, replaces the computed backoff. Every other 4xx is final,
and so is a connection nobody accepts (refused, unknown host): waiting would not make the
base URL right. Each retry logs one WARNING that says what is retried (method, URL, action),
why, and when. A create's Idempotency-Key is chosen once per logical create and sent on every
attempt. Under a `deadline`, retrying stops where waiting would pass it
(DeadlineExceededError).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from importlib.metadata import version
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import httpx
import stamina
import stamina.instrumentation
from pydantic import ValidationError
from stamina.instrumentation import RetryDetails

from cxone_provider.api.auth import ClientCredentialsAuth
from cxone_provider.api.errors import (
    ApiError,
    ConfigurationError,
    ConflictError,
    CxoneError,
    DeadlineExceededError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from cxone_provider.api.models import Action, ActionPage, ActionSpec, TestResult
from cxone_provider.api.pacing import RatePacer
from cxone_provider.api.responses import api_error_from
from cxone_provider.api.urls import plain_http_problem, shown_url

ACTIONS_PATH: Final = "/api/v2/dataactions/actions"
DEFAULT_TIMEOUT_S: Final = 30.0
DEFAULT_MAX_ATTEMPTS: Final = 10
CONNECTION_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=64)
"""One client serves every thread of the provider (up to 64 calls at once): each keeps its
connection open between calls instead of reconnecting past httpx's default 20."""

logger = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", Action, ActionPage, TestResult)
_DEADLINE: ContextVar[float | None] = ContextVar("cxone_deadline", default=None)
# The request being retried in this thread ("POST <url> (Data Action 'x')") and its attempts.
_RETRYING: ContextVar[tuple[str, int] | None] = ContextVar("cxone_retrying", default=None)
_RETRY_LOG_LOCK = threading.Lock()
_retry_log_installed = False


@contextmanager
def deadline(at: float | None) -> Iterator[None]:
    """API calls in this block (this thread) end by `at`, a `time.monotonic()` instant.

    A call under a deadline starts no attempt and waits for no retry past it, and each
    request's timeout ends at it; it raises DeadlineExceededError instead. `None` lifts an
    outer deadline, for work that must finish anyway (rolling back a failed create).
    """
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


@dataclass(frozen=True, slots=True)
class Created:
    """A create's answer: the action, whether the server replayed it, how many attempts it took.

    `replayed` is True when the server answered from its record of the same Idempotency-Key.
    """

    action: Action
    replayed: bool
    attempts: int


@dataclass(frozen=True, slots=True)
class _Answer:
    response: httpx.Response
    attempts: int


def retry_delay(error: Exception) -> bool | float:
    """Backoff hook for stamina: False for final errors, else the Retry-After (if given)."""
    if isinstance(error, TransportError):
        return error.retryable
    retryable = isinstance(error, (RateLimitedError, ServerError)) or (
        isinstance(error, ConflictError) and error.code == "IDEMPOTENCY_KEY_IN_USE"
    )
    if not retryable:
        return False
    assert isinstance(error, ApiError)  # noqa: S101 -- narrowed by the checks above
    return error.retry_after if error.retry_after is not None else True


def retry_reason(error: Exception) -> str:
    """Why a request is retried, in a few words: no answer (and why), or the API's status."""
    if isinstance(error, TransportError):
        return f"no answer ({error.reason})"
    if isinstance(error, ApiError):
        reason = f"{error.status} {error.code}"
        if error.retry_after is not None:
            reason += f", Retry-After {error.retry_after:g} s"
        if error.request_id:
            reason += f" [request id {error.request_id}]"
        return reason
    return str(error) or type(error).__name__


def _log_retries(previous: tuple[stamina.instrumentation.RetryHook, ...]) -> Any:
    """A stamina hook: our retries get one line that says what, where, why; others go on."""

    def hook(details: RetryDetails) -> None:
        retrying = _RETRYING.get()
        if retrying is None:
            for other in previous:
                other(details)
            return
        what, attempts = retrying
        logger.warning(
            "%s: %s; retry %d of %d in %.1f s",
            what,
            retry_reason(details.caused_by),
            details.retry_num,
            attempts - 1,
            details.wait_for,
        )

    return hook


def _install_retry_log() -> None:
    """Route stamina's retry notices through `_log_retries` (once per process).

    stamina's own logging hook prints a bare "stamina.retry_scheduled" that names no request;
    retries of other code keep whatever hooks were configured before.
    """
    global _retry_log_installed  # noqa: PLW0603 -- stamina's hooks are process-wide too
    with _RETRY_LOG_LOCK:
        if _retry_log_installed:
            return
        previous = stamina.instrumentation.get_on_retry_hooks()
        stamina.instrumentation.set_on_retry_hooks([_log_retries(previous)])
        _retry_log_installed = True


@contextmanager
def retry_log(what: str, attempts: int) -> Iterator[None]:
    """Retries (stamina's) of the calls in this block log one WARNING line naming `what`.

    `what` says what is retried and where, without a secret ("POST <url> (Data Action 'x')");
    the line adds why (the error that caused the retry), the retry's number and its wait.
    """
    _install_retry_log()
    token = _RETRYING.set((what, attempts))
    try:
        yield
    finally:
        _RETRYING.reset(token)


@dataclass(slots=True)
class _Budget:
    """One call's time under a deadline: whether a retry still fits, and what ran out."""

    until: float
    exhausted: bool = False
    last_error: Exception | None = None

    def remaining(self) -> float:
        return self.until - time.monotonic()

    def retry_delay(self, error: Exception) -> bool | float:
        """`retry_delay`, but final when the wait would end past the deadline."""
        self.last_error = error
        wait = retry_delay(error)
        if wait is False:
            return False
        remaining = self.remaining()
        if remaining <= 0 or (wait is not True and wait >= remaining):
            self.exhausted = True
            return False
        return wait


class CxoneClient:
    """A thread-safe client of one tenant (or emulator); share one per process and close it.

    `transport` replaces the network (tests and the in-process emulator use it); all calls
    share one connection pool, one OAuth token and one pacer of the tenant's rate limit.
    `user:password@`, a query string and a fragment in `base_url` are dropped: the API
    needs none of them, and `base_url` appears in messages, logs and exported programs.
    Plain http is refused except to loopback (an emulator): credentials would go out in clear.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        insecure = plain_http_problem(base_url)
        if insecure is not None:
            raise ConfigurationError(insecure)
        self.base_url = shown_url(base_url).rstrip("/")
        self.auth = ClientCredentialsAuth(client_id, client_secret)
        self._max_attempts = max_attempts
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self.pacer = RatePacer()
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=self.auth,
            timeout=self._timeout,
            limits=CONNECTION_LIMITS,
            transport=transport,
            headers={
                "Accept": "application/json",
                "User-Agent": f"cxone-provider/{version('cxone-provider')}",
            },
        )

    def __repr__(self) -> str:
        return f"CxoneClient(base_url={self.base_url!r}, client_id={self.auth.client_id!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def create_action(self, spec: ActionSpec, *, idempotency_key: str) -> Created:
        """POST a new action; retries resend the same key, so the server creates it once."""
        answer = self._call(
            "POST", ACTIONS_PATH, json=spec.to_api(), headers={"Idempotency-Key": idempotency_key}
        )
        return Created(
            action=_parse(Action, answer.response),
            replayed=answer.response.headers.get("Idempotent-Replayed", "").lower() == "true",
            attempts=answer.attempts,
        )

    def get_action(self, action_id: str) -> Action:
        """The action with this id; NotFoundError when there is none."""
        return _parse(Action, self._call("GET", f"{ACTIONS_PATH}/{action_id}").response)

    def find_action(self, name: str) -> Action | None:
        """The action with this exact name, or None."""
        return next(self.list_actions(name=name, page_size=1), None)

    def list_actions(self, *, name: str | None = None, page_size: int = 100) -> Iterator[Action]:
        """Every action of the tenant (or those with `name`), following cursors page by page.

        A cursor the server gives twice would make the listing go round for ever: CxoneError.
        """
        params: dict[str, str | int] = {"pageSize": page_size}
        if name is not None:
            params["name"] = name
        seen: set[str] = set()
        while True:
            page = _parse(ActionPage, self._call("GET", ACTIONS_PATH, params=params).response)
            yield from page.entities
            if not page.next_cursor:
                return
            if page.next_cursor in seen:
                msg = (
                    f"GET {self.base_url}{ACTIONS_PATH} gave the same nextCursor again after "
                    f"{len(seen) + 1} pages, so the listing would never end; the server is not "
                    "following the CXone API (check the base URL)"
                )
                raise CxoneError(msg)
            seen.add(page.next_cursor)
            params["cursor"] = page.next_cursor

    def update_action(
        self, action_id: str, spec: ActionSpec, *, if_match: int | None = None
    ) -> Action:
        """PUT the full spec; with `if_match`, only if the stored version is still that one."""
        headers = {} if if_match is None else {"If-Match": f'"{if_match}"'}
        answer = self._call(
            "PUT", f"{ACTIONS_PATH}/{action_id}", json=spec.to_api(), headers=headers
        )
        return _parse(Action, answer.response)

    def delete_action(self, action_id: str) -> bool:
        """Delete the action; False when it was already gone, which counts as done."""
        try:
            self._call("DELETE", f"{ACTIONS_PATH}/{action_id}")
        except NotFoundError:
            return False
        return True

    def test_action(self, action_id: str, test_input: Any) -> TestResult:
        """Run the stored script in the sandbox; a failed test is a result, not an error."""
        answer = self._call("POST", f"{ACTIONS_PATH}/{action_id}/test", json={"input": test_input})
        return _parse(TestResult, answer.response)

    def build_request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Request:
        """A request to `path` of this client's base URL, with its default headers."""
        return self._http.build_request(
            method,
            path,
            json=json,
            params=params,
            headers=headers,
            timeout=timeout if timeout is not None else self._timeout,
        )

    def exchange(
        self, request: httpx.Request, *, authenticated: bool = True, paced: bool = True
    ) -> httpx.Response:
        """Send `request` once and return the answer as it is, errors included.

        For callers that judge the HTTP answer itself (`cxone conformance`): no retries and
        no error translation, but the client's OAuth flow (unless not `authenticated`), its
        pacing (unless not `paced`) and its connection pool. Only a missing answer raises
        (TransportError); so does a token request that fails (AuthenticationError, ApiError).
        """
        if paced:
            self.pacer.wait()
        try:
            response = self._http.send(
                request, auth=httpx.USE_CLIENT_DEFAULT if authenticated else None
            )
        except httpx.TransportError as exc:
            logger.debug("%s %s -> no answer: %s", request.method, request.url.path, exc)
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise TransportError(
                request.method,
                shown_url(str(request.url)),
                reason,
                retryable=not _nobody_there(exc),
            ) from None
        self.pacer.observe(response.headers)
        return response

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> _Answer:
        until = _DEADLINE.get()
        budget = None if until is None else _Budget(until)
        attempts = 0
        subject = json.get("name") if isinstance(json, Mapping) else None
        what = f"{method} {self.base_url}{path}" + (
            f" (Data Action {subject!r})" if isinstance(subject, str) else ""
        )
        try:
            with retry_log(what, self._max_attempts):
                for attempt in stamina.retry_context(
                    on=retry_delay if budget is None else budget.retry_delay,
                    attempts=self._max_attempts,
                    timeout=None,
                    wait_initial=0.2,
                    wait_max=10.0,
                    wait_jitter=0.5,
                ):
                    with attempt:
                        attempts = attempt.num
                        response = self._send_once(
                            method,
                            path,
                            attempt=attempts,
                            budget=budget,
                            json=json,
                            params=params,
                            headers=headers,
                        )
        except DeadlineExceededError:
            raise
        except CxoneError as exc:
            if budget is None or not budget.exhausted:
                raise
            msg = (
                f"{method} {self.base_url}{path}: the deadline passed after {attempts} "
                f"attempt(s), so retrying stopped; the last error: {exc}"
            )
            raise DeadlineExceededError(msg) from exc
        return _Answer(response, attempts)

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        attempt: int,
        budget: _Budget | None,
        json: Any,
        params: Mapping[str, str | int] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        self.pacer.wait()
        timeout = self._timeout
        if budget is not None:
            remaining = budget.remaining()
            if remaining <= 0:
                msg = (
                    f"{method} {self.base_url}{path}: the deadline passed before attempt "
                    f"{attempt} could start"
                )
                if budget.last_error is not None:
                    msg += f"; the last error: {budget.last_error}"
                raise DeadlineExceededError(msg) from budget.last_error
            if timeout.read is None or remaining < timeout.read:
                timeout = httpx.Timeout(remaining)
        started = time.perf_counter()
        request = self.build_request(
            method, path, json=json, params=params, headers=headers, timeout=timeout
        )
        response = self.exchange(request, paced=False)
        logger.debug(
            "%s %s -> %d (attempt %d, %.1f ms)",
            method,
            path,
            response.status_code,
            attempt,
            (time.perf_counter() - started) * 1000,
        )
        if response.is_error:
            raise api_error_from(response)
        return response


def _nobody_there(error: httpx.TransportError) -> bool:
    """Whether the connection was refused or the host is unknown: no wait would change that.

    A name server that fails for now (EAI_AGAIN) is worth a retry; so are timeouts, resets
    and connections closed mid-answer.
    """
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return True
        if isinstance(cause, socket.gaierror):
            return cause.errno != socket.EAI_AGAIN
        cause = cause.__cause__ or cause.__context__
    return False


def _parse(model: type[ModelT], response: httpx.Response) -> ModelT:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        request = response.request
        msg = (
            f"{request.method} {request.url.path} answered {response.status_code} with a body "
            f"that is not a valid {model.__name__} ({exc.error_count()} problem(s)); is the base "
            "URL a CXone API?"
        )
        raise CxoneError(msg) from None
