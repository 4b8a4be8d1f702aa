"""The control API for tests and benchmarks (no auth, not in the OpenAPI document).

GET /healthz, GET /_emulator/stats, POST /_emulator/reset, POST and DELETE
/_emulator/faults, POST /_emulator/tokens/expire, POST /_emulator/clock, POST
/_emulator/broken.
"""

from __future__ import annotations

import re
from typing import Any, Final

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.responses import Response

from cxone_provider.emulator.broken import Behaviour
from cxone_provider.emulator.dependencies import Backend
from cxone_provider.emulator.exceptions import ValidationFailedError
from cxone_provider.emulator.faults import Fault
from cxone_provider.emulator.paths import API_TEMPLATES
from cxone_provider.emulator.responses import json_response

router = APIRouter(include_in_schema=False)

_HEADER_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# The server sets these to frame the answer; a second, different one would break it.
_FRAMING_HEADERS: Final = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "trailer", "te"}
)
_HEADER_VALUE: Final = re.compile(r"(?:[\x21-\x7e\x80-\xff](?:[ \t]*[\x21-\x7e\x80-\xff])*)?")


class FaultRequest(BaseModel):
    """A fault to queue: an error `status` at once, `drop` after committing, or `hold_ms`."""

    model_config = ConfigDict(extra="forbid")

    method: str
    path: str
    status: int | None = Field(default=None, ge=400, le=599)
    code: str | None = None
    count: int = Field(default=1, ge=1)
    headers: dict[str, str] = Field(default_factory=dict)
    drop: bool = False
    hold_ms: float = Field(default=0.0, ge=0, le=60_000)

    @field_validator("method")
    @classmethod
    def _upper(cls, method: str) -> str:
        return method.upper()

    @field_validator("headers")
    @classmethod
    def _sendable(cls, headers: dict[str, str]) -> dict[str, str]:
        """Headers HTTP/1.1 can carry (RFC 9110 §5): no CR, LF or NUL can split the answer."""
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name):
                msg = (
                    f"header name {name!r} is not an HTTP token (letters, digits, !#$%&'*+-.^_`|~)"
                )
                raise ValueError(msg)
            if name.lower() in _FRAMING_HEADERS:
                msg = f"header {name!r} frames the answer itself and cannot be injected"
                raise ValueError(msg)
            if not _HEADER_VALUE.fullmatch(value):
                msg = (
                    f"the value of header {name!r} must be visible Latin-1 characters, spaces "
                    "and tabs inside (no CR, LF or other control characters)"
                )
                raise ValueError(msg)
        return headers

    @model_validator(mode="after")
    def _one_effect(self) -> FaultRequest:
        if sum((self.status is not None, self.drop, self.hold_ms > 0)) != 1:
            msg = (
                'give one of "status" (answer it at once), "drop": true (commit, no answer) '
                'or "hold_ms" (keep a create in flight that long)'
            )
            raise ValueError(msg)
        return self


class ClockRequest(BaseModel):
    """Move the emulator's clock forward `advance_s`; stop it (`frozen`) or let it run."""

    model_config = ConfigDict(extra="forbid")

    advance_s: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    frozen: bool | None = None


class BrokenRequest(BaseModel):
    """The behaviours of the contract to switch off (every other one is switched back on)."""

    model_config = ConfigDict(extra="forbid")

    behaviours: list[Behaviour]


@router.get("/healthz")
async def health() -> Response:
    """The emulator is up."""
    return json_response(200, {"status": "ok"})


@router.get("/_emulator/stats")
async def stats(backend: Backend) -> Response:
    """Every counter, see `Stats`."""
    return json_response(200, backend.stats_snapshot())


@router.post("/_emulator/reset", status_code=204)
async def reset(backend: Backend) -> Response:
    """No actions, idempotency records, tokens, faults or counts; the clients stay."""
    backend.reset()
    return Response(status_code=204)


@router.post("/_emulator/faults", status_code=201)
async def queue_fault(fault: FaultRequest, backend: Backend) -> Response:
    """Queue a fault for the next `count` requests matching method and route template."""
    if fault.path not in API_TEMPLATES:
        msg = f"path {fault.path!r} is not a route template of the API; use one of {API_TEMPLATES}"
        raise ValidationFailedError(msg, [{"field": "path", "message": msg}])
    backend.faults.queue(
        Fault(
            fault.method,
            fault.path,
            fault.status,
            fault.code,
            fault.headers,
            fault.drop,
            fault.hold_ms,
        ),
        fault.count,
    )
    body: dict[str, Any] = fault.model_dump()
    return json_response(201, body)


@router.delete("/_emulator/faults", status_code=204)
async def clear_faults(backend: Backend) -> Response:
    """Forget every queued fault."""
    backend.faults.clear()
    return Response(status_code=204)


@router.post("/_emulator/tokens/expire", status_code=204)
async def expire_tokens(backend: Backend) -> Response:
    """Expire every token issued so far: the next API call with one of them gets 401."""
    backend.issuer.expire_all()
    return Response(status_code=204)


@router.post("/_emulator/clock")
async def move_clock(change: ClockRequest, backend: Backend) -> Response:
    """Freeze or resume the clock of token lifetimes and rate limits, then advance it."""
    clock = backend.clock
    if change.frozen is True:
        clock.freeze()
    elif change.frozen is False:
        clock.resume()
    clock.advance(change.advance_s)
    return json_response(200, {"frozen": clock.frozen, "advanced_s": clock.advanced_s})


@router.post("/_emulator/broken")
async def break_behaviours(change: BrokenRequest, backend: Backend) -> Response:
    """Switch these behaviours off, for the negative controls of `cxone conformance`."""
    backend.broken.set(change.behaviours)
    return json_response(200, {"behaviours": backend.broken.listed()})
