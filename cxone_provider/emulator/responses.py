"""How the emulator's answers look on the wire: resources, ETags and the error bodies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from cxone_provider.api.models import Action
from cxone_provider.emulator.exceptions import EmulatorApiError, OAuthError
from cxone_provider.emulator.store import StoredAnswer

JSON_TYPE = "application/json"


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A compact UTF-8 JSON answer; a lone surrogate in a string goes out as its escape."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    content = text.encode("utf-8", "backslashreplace")
    return Response(content, status_code=status, headers=dict(headers or {}), media_type=JSON_TYPE)


def etag(version: int) -> str:
    """The strong entity tag of an action version: `"<version>"`."""
    return f'"{version}"'


def action_answer(action: Action, status: int) -> StoredAnswer:
    """An action as the API answers it, with its ETag."""
    return StoredAnswer(status, action.to_api(), {"ETag": etag(action.version)})


def error_body(error: EmulatorApiError) -> dict[str, Any]:
    """The contract's error body, with a fresh request id."""
    return {
        "error": error.code,
        "message": error.message,
        "details": error.details,
        "requestId": str(uuid.uuid4()),
    }


def error_answer(error: EmulatorApiError) -> StoredAnswer:
    """An error of the API as an answer that can be sent, or remembered for a replay."""
    return StoredAnswer(error.status, error_body(error), error.headers)


def send(answer: StoredAnswer, *, replayed: bool = False) -> Response:
    """Turn a (possibly remembered) answer into a response; 204 has no body."""
    headers = dict(answer.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    if answer.status == 204:  # noqa: PLR2004 -- No Content
        return Response(status_code=204, headers=headers)
    return json_response(answer.status, answer.body, headers)


def error_response(error: EmulatorApiError) -> Response:
    """The response for an error of the API."""
    return send(error_answer(error))


def oauth_error_response(error: OAuthError) -> Response:
    """The token endpoint's RFC 6749 error answer; 401 asks for Basic authentication."""
    headers = {"Cache-Control": "no-store"}
    if error.status == 401:  # noqa: PLR2004 -- Unauthorized
        headers["WWW-Authenticate"] = 'Basic realm="cxone-emulator"'
    return json_response(
        error.status, {"error": error.error, "error_description": error.description}, headers
    )
