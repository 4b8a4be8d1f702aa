"""The emulator's error answers: each class fixes the contract's status and code.

These are what the emulated *server* answers, not what a client raises (those live in
`cxone_provider.api.errors`). The store raises them for broken rules, the HTTP layer renders
them as the contract's error body `{"error", "message", "details", "requestId"}`.

    EmulatorApiError
    ├── 400 ValidationFailedError, CompilationFailedError, UnknownDependencyError,
    │       ImmutableFieldError
    ├── 401 UnauthorizedError
    ├── 403 InsufficientScopeError, CrossOriginError
    ├── 404 NotFoundError, 405 MethodNotAllowedError
    ├── 409 NameConflictError, DependencyCycleError, ActionInUseError,
    │       IdempotencyKeyInUseError
    ├── 412 VersionMismatchError, 413 PayloadTooLargeError, 421 MisdirectedRequestError
    ├── 422 IdempotencyKeyReusedError
    ├── 429 RateLimitedError
    ├── 500 InternalError, 503 UnavailableError
    └── any InjectedFaultError  a fault queued through the control API or drawn by --fault-rate
    OAuthError                  the token endpoint's own RFC 6749 error answer
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class EmulatorApiError(Exception):
    """An error answer of the emulated API; subclasses fix `status` and `code`."""

    status: int = 500
    code: str = "INTERNAL"

    def __init__(
        self,
        message: str,
        details: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message
        self.details = [dict(detail) for detail in details]
        self.headers = dict(headers or {})
        super().__init__(f"{self.status} {self.code}: {message}")


class ValidationFailedError(EmulatorApiError):
    """A field breaks a rule of the contract; details are `[{"field", "message"}]`."""

    status = 400
    code = "VALIDATION_FAILED"


class CompilationFailedError(EmulatorApiError):
    """The script is not valid JavaScript; details are `[{"line", "column", "message"}]`."""

    status = 400
    code = "COMPILATION_FAILED"


class UnknownDependencyError(EmulatorApiError):
    """A listed dependency is not an action of the tenant; details are `[{"dependency"}]`."""

    status = 400
    code = "UNKNOWN_DEPENDENCY"


class ImmutableFieldError(EmulatorApiError):
    """An update tried to change `name` or `type`."""

    status = 400
    code = "IMMUTABLE_FIELD"


class UnauthorizedError(EmulatorApiError):
    """The bearer token is missing, malformed, unknown or expired."""

    status = 401
    code = "UNAUTHORIZED"


class InsufficientScopeError(EmulatorApiError):
    """The token was issued without the DataActions.ReadWrite scope."""

    status = 403
    code = "INSUFFICIENT_SCOPE"


class CrossOriginError(EmulatorApiError):
    """A browser request from another origin to the control API (not in the contract)."""

    status = 403
    code = "CROSS_ORIGIN_REQUEST"


class NotFoundError(EmulatorApiError):
    """No action with that id, or no such path."""

    status = 404
    code = "NOT_FOUND"


class MethodNotAllowedError(EmulatorApiError):
    """The path exists but not with this method (not in the contract's table; REST usage)."""

    status = 405
    code = "METHOD_NOT_ALLOWED"


class NameConflictError(EmulatorApiError):
    """Another action already has this name."""

    status = 409
    code = "NAME_CONFLICT"


class DependencyCycleError(EmulatorApiError):
    """The update would close a dependency cycle; details carry the cycle."""

    status = 409
    code = "DEPENDENCY_CYCLE"


class ActionInUseError(EmulatorApiError):
    """Other actions list this one in their dependencies; details name them."""

    status = 409
    code = "ACTION_IN_USE"


class IdempotencyKeyInUseError(EmulatorApiError):
    """A request with the same Idempotency-Key is still being processed; retry after 1 s."""

    status = 409
    code = "IDEMPOTENCY_KEY_IN_USE"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Retry-After": "1"})


class VersionMismatchError(EmulatorApiError):
    """If-Match named a version other than the current one."""

    status = 412
    code = "VERSION_MISMATCH"


class PayloadTooLargeError(EmulatorApiError):
    """The body is larger than the route accepts (not in the contract's table; HTTP usage)."""

    status = 413
    code = "PAYLOAD_TOO_LARGE"


class MisdirectedRequestError(EmulatorApiError):
    """The Host header names another server: a DNS-rebinding page, or a misconfigured proxy."""

    status = 421
    code = "MISDIRECTED_REQUEST"


class IdempotencyKeyReusedError(EmulatorApiError):
    """The Idempotency-Key was used before with a different body."""

    status = 422
    code = "IDEMPOTENCY_KEY_REUSED"


class RateLimitedError(EmulatorApiError):
    """The OAuth client's token bucket is empty."""

    status = 429
    code = "RATE_LIMITED"


class InternalError(EmulatorApiError):
    """The emulator failed; the answer of an injected 500 fault too."""

    status = 500
    code = "INTERNAL"


class UnavailableError(EmulatorApiError):
    """The service is unavailable: the answer of an injected 502, 503 or 504 fault."""

    status = 503
    code = "UNAVAILABLE"


class OAuthError(Exception):
    """An RFC 6749 §5.2 error of the token endpoint: `{"error", "error_description"}`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        self.status = status
        self.error = error
        self.description = description
        super().__init__(f"{status} {error}: {description}")


_CODE_BY_STATUS: dict[int, str] = {
    400: ValidationFailedError.code,
    401: UnauthorizedError.code,
    403: InsufficientScopeError.code,
    404: NotFoundError.code,
    409: IdempotencyKeyInUseError.code,
    412: VersionMismatchError.code,
    422: IdempotencyKeyReusedError.code,
    429: RateLimitedError.code,
    500: InternalError.code,
}


class InjectedFaultError(EmulatorApiError):
    """The answer of an injected fault: any status, with the contract's usual code for it."""

    def __init__(self, status: int, code: str | None, headers: Mapping[str, str]) -> None:
        self.status = status
        self.code = (
            code
            or _CODE_BY_STATUS.get(status)
            or (
                UnavailableError.code if status >= 500 else ValidationFailedError.code  # noqa: PLR2004 -- 5xx
            )
        )
        super().__init__(f"fault injected by the emulator: {status} {self.code}", headers=headers)
