"""The one exception tree of cxone-provider; every message says what failed and what to do.

    CxoneError
    ├── ConfigurationError          settings missing or malformed (lists the fixes)
    ├── ProgramError                a stack program could not be run to read its declarations
    ├── ActionValidationError       an action breaks the contract's rules (one Problem each)
    ├── DependencyGraphError        the declared actions do not form a valid graph
    │   └── DependencyCycleError    ... because of a cycle (carries the whole path)
    ├── TestFailedError             the sandbox test of an action did not pass
    ├── OperationFailedError        what the engine is given when a provider call fails
    ├── TransportError              no HTTP answer: reset, timed out (retryable); refused (final)
    ├── DeadlineExceededError       an operation's deadline passed before its API calls succeeded
    ├── AuthenticationError         the token endpoint refused the client id or secret
    ├── DeploymentError             a `pulumi` command run for the user failed (`cxone fleet`)
    │   └── StackMissingError       ... because the backend has no such stack
    └── ApiError                    the API answered with an error body
        ├── UnauthorizedError       401 UNAUTHORIZED
        ├── ForbiddenError          403 INSUFFICIENT_SCOPE
        ├── NotFoundError           404 NOT_FOUND
        ├── ConflictError           409 NAME_CONFLICT, DEPENDENCY_CYCLE, ACTION_IN_USE,
        │                               IDEMPOTENCY_KEY_IN_USE
        ├── PreconditionFailedError 412 VERSION_MISMATCH
        ├── RateLimitedError        429 RATE_LIMITED
        └── ServerError             5xx

Other libraries' exceptions are translated where they are caught (httpx in the client,
networkx in the graph module, pydantic in the models), so callers only ever see these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Self

MAX_SHOWN_NAMES: Final = 20


def shown_names(names: Sequence[str], separator: str = " -> ") -> str:
    """Names joined; a long list keeps its first and last ten around a count of the rest.

    A cycle through 100,000 actions would otherwise make a message of a megabyte: the path
    shown is capped, and the whole path stays on the error (`DependencyCycleError.cycles`).
    """
    if len(names) <= MAX_SHOWN_NAMES:
        return separator.join(names)
    half = MAX_SHOWN_NAMES // 2
    hidden = len(names) - 2 * half
    return separator.join([*names[:half], f"… {hidden} more …", *names[-half:]])


def shortened(text: str, limit: int) -> str:
    """`text` cut to `limit` characters and an ellipsis: quoted outside text stays small."""
    return text if len(text) <= limit else text[:limit] + "…"


class CxoneError(Exception):
    """Root of every error this package raises."""


class ConfigurationError(CxoneError):
    """The provider or client was given incomplete or malformed settings."""


class ProgramError(CxoneError):
    """A stack program could not be run to read its declarations: not found, or it never ended.

    A program that runs and raises is not this error: its exception is reported as a problem
    of the program, next to the problems of what it declared.
    """


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule: where it is (a field path, and a line/column in a script) and why."""

    field: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.field
        if self.line is not None:
            where += f" (line {self.line}, column {self.column})"
        return f"{where}: {self.message}"


class ActionValidationError(CxoneError, ValueError):
    """An action definition breaks the API's rules; raised before any network call."""

    def __init__(self, problems: list[Problem], *, action: str | None = None) -> None:
        self.problems = list(problems)
        self.action = action
        subject = f"Data Action {action!r}" if action else "Data Action"
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{subject} is invalid ({len(self.problems)} problem(s)):\n{lines}")


class DependencyGraphError(CxoneError):
    """The declared actions do not form a valid dependency graph."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            f"The Data Action dependency graph is invalid ({len(self.problems)} problem(s)):"
            f"\n{lines}\nNo resource was registered; fix the declarations and run again."
        )


class DependencyCycleError(DependencyGraphError):
    """Actions depend on each other in a loop; `cycle` is the path, first name repeated last.

    The graph module reports every problem at once: then `cycles` holds every cycle found
    (`cycle` is the first) and `problems` every problem of the graph, cycles included.
    """

    def __init__(
        self,
        cycle: list[str],
        *,
        cycles: Sequence[Sequence[str]] = (),
        problems: Sequence[Problem] = (),
    ) -> None:
        self.cycle = list(cycle)
        self.cycles = [list(path) for path in cycles] or [self.cycle]
        super().__init__(
            list(problems)
            or [
                Problem(
                    "dependencies",
                    f"dependency cycle {shown_names(self.cycle)}; "
                    "remove one of these dependencies to break it",
                )
            ]
        )


class TestFailedError(CxoneError):
    """The sandbox test of an action failed, timed out, or returned an unexpected output."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, action: str, status: str, reason: str) -> None:
        self.action = action
        self.status = status
        self.reason = reason
        super().__init__(
            f"Data Action {action!r}: sandbox test {status}: {reason}. Fix the script or its "
            "test_input/expected_output, or set on_test_failure='warn' to deploy anyway."
        )


class OperationFailedError(CxoneError):
    """A provider call failed; its cause is the error to read, and the engine shows it first.

    The SDK hands the engine `traceback.format_exc()` of what the provider raises, and that
    prints a cause before its effect: raised from our error stripped of its frames, the user
    reads our message first, then the few frames of the SDK's call, then this one short line
    (see `cxone_provider.deploy.failure`).
    """

    def __init__(self, verb: str, name: str) -> None:
        self.verb = verb
        self.name = name
        super().__init__(f"the {verb} of Data Action {name!r} failed: see the error above")


class TransportError(CxoneError):
    """The request got no HTTP answer (connection refused or reset, timeout).

    `retryable` is False when nothing listens there (connection refused, unknown host):
    waiting would not help, so the call fails at once.
    """

    def __init__(self, method: str, url: str, reason: str, *, retryable: bool = True) -> None:
        self.method = method
        self.url = url
        self.reason = reason
        self.retryable = retryable
        super().__init__(
            f"{method} {url} got no answer: {reason}. Check that the base URL is right and "
            "the service is reachable (for the emulator: is `cxone emulator` running?)."
        )


class DeadlineExceededError(CxoneError):
    """The deadline of the calls in progress passed before they succeeded: retrying stopped.

    Raised instead of waiting out another backoff or Retry-After that would end past it; the
    last error of the API (or of the connection) is the `__cause__`.
    """


class AuthenticationError(CxoneError):
    """The OAuth token endpoint refused to issue a token."""

    def __init__(self, status: int, code: str, description: str) -> None:
        self.status = status
        self.code = code
        hint = {
            "invalid_client": "check cxone:clientId and cxone:clientSecret (or CXONE_CLIENT_ID "
            "and CXONE_CLIENT_SECRET) against the OAuth application in the CXone admin console. "
            "`pulumi destroy` and `pulumi refresh` use the config recorded by the last "
            "`pulumi up`: after rotating the secret or moving the tenant, add --run-program to "
            "them (or run `pulumi up` first)",
            "invalid_scope": "the OAuth application must be granted the DataActions.ReadWrite "
            "scope",
        }.get(code, "check the OAuth application's settings in the CXone admin console")
        super().__init__(
            f"The token endpoint answered {status} {code}: {description or 'no description'}; "
            f"{hint}."
        )


_HINTS: dict[str, str] = {
    "UNAUTHORIZED": "the token was refused even after a refresh; check that the OAuth "
    "application is still active",
    "INSUFFICIENT_SCOPE": "the OAuth client needs the DataActions.ReadWrite scope; grant it in "
    "the CXone admin console",
    "NOT_FOUND": "the action no longer exists; run `pulumi refresh` to update the state",
    "NAME_CONFLICT": "adopt it (adopt=True on the DataAction, declared as "
    "`cxone export` writes it) or choose another name",
    "DEPENDENCY_CYCLE": "this change would close a dependency cycle; remove one dependency",
    "ACTION_IN_USE": "other actions still depend on this one; remove the dependency from them "
    "(or delete them) first. A replacement deletes first: the actions that call this one are "
    "replaced with it when their dependencies name it through its DataAction's `name` output "
    "(ActionCatalog does this)",
    "IDEMPOTENCY_KEY_IN_USE": "the same request is still being processed; retry shortly",
    "IDEMPOTENCY_KEY_REUSED": "an Idempotency-Key was reused with a different body; this is a "
    "client bug, please report it",
    "VERSION_MISMATCH": "the action was changed outside Pulumi; run `pulumi refresh`, then "
    "`pulumi up` again",
    "RATE_LIMITED": "the tenant's rate limit was exceeded and retries ran out; lower "
    "`pulumi up --parallel` or try again later",
    "COMPILATION_FAILED": "fix the script at the line and column given",
    "VALIDATION_FAILED": "fix the fields listed",
    "UNKNOWN_DEPENDENCY": "declare the dependency in this stack (pass its DataAction's `name`, "
    "so that Pulumi creates it first), correct its spelling, or remove it",
    "IMMUTABLE_FIELD": "name and type cannot change; replace the action instead",
}


class DeploymentError(CxoneError):
    """A `pulumi` command run through the Automation API failed; the message is its first error."""


class StackMissingError(DeploymentError):
    """The backend has no such stack (preview and refresh do not create one)."""


class ApiError(CxoneError):
    """The API answered with its error body; carries everything needed to act or report it."""

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
        fix: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details or [])
        self.request_id = request_id
        self.method = method
        self.path = path
        self.retry_after = retry_after
        self.fix = _HINTS.get(code, "") if fix is None else fix
        super().__init__(self._describe())

    def reworded(self, message: str, *, fix: str = "") -> Self:
        """The same error (class, status, code, details, request id) with a clearer message.

        `fix` replaces the code's usual advice; leave it empty when `message` says what to do,
        so that the fix is said once.
        """
        return type(self)(
            status=self.status,
            code=self.code,
            message=message,
            details=self.details,
            request_id=self.request_id,
            method=self.method,
            path=self.path,
            retry_after=self.retry_after,
            fix=fix,
        )

    def _describe(self) -> str:
        where = f" on {self.method} {self.path}" if self.method else ""
        text = f"CXone API {self.status} {self.code}{where}: {self.message}"
        if self.code == "COMPILATION_FAILED":
            text += "".join(
                f"\n  line {d.get('line')}, column {d.get('column')}: {d.get('message')}"
                for d in self.details
            )
        elif any(str(value) not in self.message for d in self.details for value in d.values()):
            text += f" (details: {self.details})"
        if self.fix:
            text += f". To fix: {self.fix}"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text


class UnauthorizedError(ApiError):
    """401: the bearer token was missing, malformed or expired."""


class ForbiddenError(ApiError):
    """403: the token lacks the DataActions.ReadWrite scope."""


class NotFoundError(ApiError):
    """404: no action with that id."""


class ConflictError(ApiError):
    """409: the name is taken, a cycle would close, the action is in use, or a key is busy."""


class PreconditionFailedError(ApiError):
    """412: If-Match named a version that is no longer current."""


class RateLimitedError(ApiError):
    """429: too many requests; `retry_after` says how long the server asks us to wait."""


class ServerError(ApiError):
    """5xx: the service failed or is unavailable; safe to retry."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    429: RateLimitedError,
}


def api_error_class(status: int) -> type[ApiError]:
    """The most specific ApiError subclass for an HTTP status."""
    if status >= 500:  # noqa: PLR2004 -- the 5xx class
        return ServerError
    return _BY_STATUS.get(status, ApiError)
