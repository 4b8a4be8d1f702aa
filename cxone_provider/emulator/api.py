"""The contract's endpoints: parse the request, call the backend, serialize the answer.

No state lives here. Bodies are read as raw JSON and checked with the package's own
`ActionSpec` (the V8 script check included) in strict mode, off the event loop; test runs
go to the sandbox, also off the event loop, so a runaway script holds up nobody else.
"""

from __future__ import annotations

import hashlib
import json
from functools import partial
from typing import Annotated, Any, Final
from urllib.parse import parse_qs

import anyio
from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from cxone_provider.api.models import Action, ActionPage, ActionSpec, TestResult, problems_of
from cxone_provider.emulator import openapi
from cxone_provider.emulator.backend import EmulatorBackend
from cxone_provider.emulator.dependencies import Backend
from cxone_provider.emulator.exceptions import (
    CompilationFailedError,
    EmulatorApiError,
    ValidationFailedError,
)
from cxone_provider.emulator.paths import ACTION, ACTION_TEST, ACTIONS, TOKEN
from cxone_provider.emulator.responses import (
    action_answer,
    error_answer,
    json_response,
    send,
)
from cxone_provider.emulator.rules import check_immutable_fields
from cxone_provider.emulator.sandbox import run_action
from cxone_provider.emulator.scope import CLIENT_KEY, HOLD_KEY
from cxone_provider.emulator.store import StoredAnswer

MAX_IDEMPOTENCY_KEY: Final = 255

router = APIRouter()


ActionId = Annotated[str, Path(alias="id", description="The action's id")]


@router.post(
    TOKEN,
    operation_id="issueToken",
    tags=["OAuth"],
    summary="Issue a bearer token (client credentials)",
    responses=openapi.token_answers(),
    openapi_extra=openapi.TOKEN_BODY,
)
async def issue_token(request: Request, backend: Backend) -> Response:
    """RFC 6749 §4.4: grant_type in the form; the client was authenticated (Basic) before."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    token = backend.issuer.issue(
        request.scope[CLIENT_KEY],
        grant_type=form.get("grant_type", [None])[0],
        scope=form.get("scope", [None])[0],
    )
    body = {
        "access_token": token.access_token,
        "token_type": "Bearer",
        "expires_in": token.expires_in,
        "scope": token.scope,
    }
    return json_response(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.post(
    ACTIONS,
    operation_id="createAction",
    status_code=201,
    tags=["Data Actions"],
    summary="Create an action",
    responses=openapi.answers(201, Action, [400, 409, 422], etag=True, links=openapi.ACTION_LINKS),
    openapi_extra={**openapi.json_body("ActionSpec"), **openapi.BEARER},
)
async def create_action(
    request: Request,
    backend: Backend,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="At most 255 characters, bare or quoted"),
    ] = None,
) -> Response:
    """Create an action; with an Idempotency-Key, a retry gets the first answer again."""
    body = await _json_object(request)
    if idempotency_key is None:
        spec = await _validated(body)
        return send(action_answer(backend.store.create(spec), 201))
    key = _idempotency_key(idempotency_key)
    client_id: str = request.scope[CLIENT_KEY]
    replay = backend.store.claim_key(client_id, key, _fingerprint(body))
    if replay is not None:
        return send(replay, replayed=True)
    settled = False
    try:
        await _held(request, backend)
        spec = await _validated(body)  # a 400 here is not remembered: the claim is released
        answer = _created(backend, spec)
        backend.store.settle_key(client_id, key, answer)
        settled = True
    finally:
        if not settled:
            backend.store.release_key(client_id, key)
    return send(answer)


@router.get(
    ACTIONS,
    operation_id="listActions",
    tags=["Data Actions"],
    summary="List actions",
    responses=openapi.answers(200, ActionPage, [400]),
    openapi_extra=openapi.BEARER,
)
async def list_actions(
    backend: Backend,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="nextCursor of the previous page")] = None,
    name: Annotated[str | None, Query(description="Only the action with this exact name")] = None,
) -> Response:
    """Actions ordered by creation time then id, one page at a time."""
    page = backend.store.page(page_size=page_size, cursor=cursor or None, name=name)
    entities = [action.to_api() for action in page.actions]
    return json_response(200, {"entities": entities, "nextCursor": page.next_cursor})


@router.get(
    ACTION,
    operation_id="getAction",
    tags=["Data Actions"],
    summary="Read an action",
    responses=openapi.answers(200, Action, [404], etag=True, links=openapi.ACTION_LINKS),
    openapi_extra=openapi.BEARER,
)
async def get_action(action_id: ActionId, backend: Backend) -> Response:
    """One action, with its version as ETag."""
    return send(action_answer(backend.store.get(action_id), 200))


@router.put(
    ACTION,
    operation_id="updateAction",
    tags=["Data Actions"],
    summary="Replace an action",
    responses=openapi.answers(200, Action, [400, 404, 409, 412], etag=True),
    openapi_extra={**openapi.json_body("ActionSpec"), **openapi.BEARER},
)
async def update_action(
    action_id: ActionId,
    request: Request,
    backend: Backend,
    if_match: Annotated[
        str | None, Header(alias="If-Match", description='The version to replace: "<version>"')
    ] = None,
) -> Response:
    """Replace every field but name and type; the version grows by one."""
    body = await _json_object(request)
    await _held(request, backend)
    current = backend.store.get(action_id)
    requested: dict[str, Any] = {key: body[key] for key in ("name", "type") if key in body}
    check_immutable_fields(current, requested)
    spec = await _validated(body)
    return send(action_answer(backend.store.update(action_id, spec, if_match=if_match), 200))


@router.delete(
    ACTION,
    operation_id="deleteAction",
    status_code=204,
    tags=["Data Actions"],
    summary="Delete an action",
    responses=openapi.answers(204, None, [404, 409]),
    openapi_extra=openapi.BEARER,
)
async def delete_action(action_id: ActionId, request: Request, backend: Backend) -> Response:
    """Delete an action no other action depends on."""
    await _held(request, backend)
    backend.store.delete(action_id)
    return send(StoredAnswer(204, None))


@router.post(
    ACTION_TEST,
    operation_id="testAction",
    tags=["Data Actions"],
    summary="Run an action in the sandbox",
    responses=openapi.answers(200, TestResult, [400, 404]),
    openapi_extra={**openapi.json_body("TestRequest"), **openapi.BEARER},
)
async def test_action(action_id: ActionId, request: Request, backend: Backend) -> Response:
    """Run main(context) of the stored script; a failed run is a 200 with status FAILURE."""
    body = await _json_object(request)
    action, units = backend.store.script_units(action_id)
    settings = backend.settings
    run = partial(
        run_action,
        action.script.content,
        body.get("input"),
        declared=action.dependencies,
        dependencies=units,
        timeout_s=settings.sandbox_timeout_s,
        max_memory_bytes=settings.sandbox_memory_bytes,
    )
    result = await anyio.to_thread.run_sync(run, limiter=backend.sandbox_slots)
    return json_response(
        200,
        {
            "status": result.status,
            "output": result.output,
            "error": result.error,
            "durationMs": result.duration_ms,
            "actionId": action.id,
            "version": action.version,
        },
    )


async def _held(request: Request, backend: EmulatorBackend) -> None:
    """Wait before acting while a queued `hold_ms` fault holds this write."""
    hold_s: float | None = request.scope.get(HOLD_KEY)
    if hold_s is not None:
        await backend.faults.hold(hold_s)


def _created(backend: EmulatorBackend, spec: ActionSpec) -> StoredAnswer:
    """The answer to a create that got as far as acting: the action, or the rule it broke."""
    try:
        return action_answer(backend.store.create(spec), 201)
    except EmulatorApiError as error:
        return error_answer(error)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        msg = f"the body is not valid JSON ({exc}); send a JSON object"
        raise ValidationFailedError(msg, [{"field": "body", "message": msg}]) from None
    if not isinstance(data, dict):
        msg = f"the body is a JSON {type(data).__name__}; send a JSON object"
        raise ValidationFailedError(msg, [{"field": "body", "message": msg}])
    return data


def _reject_constant(constant: str) -> Any:
    msg = f"{constant} is not JSON"
    raise ValueError(msg)


async def _validated(body: dict[str, Any]) -> ActionSpec:
    """The body as an ActionSpec; the V8 check runs in a worker thread."""
    return await anyio.to_thread.run_sync(_spec_from, body)


def _spec_from(body: dict[str, Any]) -> ActionSpec:
    """Check the body as the service would: JSON types are not coerced (0 is no boolean)."""
    try:
        return ActionSpec.model_validate_json(json.dumps(body), strict=True)
    except ValidationError as exc:
        problems = problems_of(exc)
    if all(problem.line is not None for problem in problems):
        details = [
            {"line": problem.line, "column": problem.column, "message": problem.message}
            for problem in problems
        ]
        msg = "the script does not compile: " + "; ".join(
            f"line {problem.line}, column {problem.column}: {problem.message}"
            for problem in problems
        )
        raise CompilationFailedError(msg, details)
    details = [{"field": problem.field, "message": str(problem)} for problem in problems]
    msg = f"the action breaks {len(problems)} rule(s): " + "; ".join(map(str, problems))
    raise ValidationFailedError(msg, details)


def _idempotency_key(header: str) -> str:
    """The key of an Idempotency-Key header, bare or as a quoted structured-field string."""
    key = header.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':  # noqa: PLR2004 -- the two quotes
        key = key[1:-1]
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        msg = f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters (a UUID is best)"
        raise ValidationFailedError(msg, [{"field": "Idempotency-Key", "message": msg}])
    return key


def _fingerprint(body: dict[str, Any]) -> str:
    """The same for two bodies with the same JSON content, whatever their key order.

    ASCII JSON, so that any string, a lone surrogate included, has a form to hash: a body
    the rules refuse must get their 400, never a 500 from here.
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
