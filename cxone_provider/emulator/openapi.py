"""The OpenAPI description of the contract: bodies, answers, errors and security schemes.

FastAPI generates the document from the routes; this module supplies what it cannot infer:
the bodies the routes read themselves (so that the contract's error answers, not
FastAPI's, describe bad input), every error answer with the contract's error body, and the
OAuth security schemes. Schemathesis fuzzes the emulator against this document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from cxone_provider.api.models import (
    MAX_SCRIPT_BYTES,
    NAME_PATTERN,
    ActionSpec,
    ApiErrorBody,
    TokenResponse,
)

_REF: Final = "#/components/schemas/"
BEARER: Final[dict[str, Any]] = {"security": [{"bearerAuth": []}]}

_ERROR_MEANINGS: Final = {
    400: "VALIDATION_FAILED, COMPILATION_FAILED, UNKNOWN_DEPENDENCY or IMMUTABLE_FIELD",
    401: "UNAUTHORIZED: the bearer token is missing, malformed or expired",
    403: "INSUFFICIENT_SCOPE: the token lacks DataActions.ReadWrite",
    404: "NOT_FOUND: no action with this id",
    409: "NAME_CONFLICT, DEPENDENCY_CYCLE, ACTION_IN_USE or IDEMPOTENCY_KEY_IN_USE",
    412: "VERSION_MISMATCH: If-Match does not name the current version",
    422: "IDEMPOTENCY_KEY_REUSED: the key was used with a different body",
    429: "RATE_LIMITED: the client's token bucket is empty",
    503: "UNAVAILABLE: an injected fault (--fault-rate); retry with backoff",
}


class TestRequest(BaseModel):
    """The body of `POST /{id}/test`."""

    __test__ = False  # not a pytest test class, despite its name
    model_config = ConfigDict(extra="allow")

    input: Any = Field(default=None, description="Passed to main(context) as context.input.")


class OAuthErrorBody(BaseModel):
    """The token endpoint's RFC 6749 §5.2 error body."""

    error: str
    error_description: str = ""


class TokenRequest(BaseModel):
    """The token request's form fields (client id and secret go in HTTP Basic auth)."""

    grant_type: str = Field(description="client_credentials")
    scope: str | None = Field(default=None, description="DataActions.ReadWrite")


def json_body(schema_name: str) -> dict[str, Any]:
    """An `openapi_extra` request body of a component schema, sent as JSON."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF + schema_name}}},
        }
    }


# The operations an action's id leads to, for clients and for stateful fuzzing.
ACTION_LINKS: Final[dict[str, Any]] = {
    link: {"operationId": operation, "parameters": {"id": "$response.body#/id"}}
    for link, operation in (
        ("GetAction", "getAction"),
        ("UpdateAction", "updateAction"),
        ("DeleteAction", "deleteAction"),
        ("TestAction", "testAction"),
    )
}

_ACTION_EXAMPLE: Final = {
    "name": "lead_enrichment_v2",
    "description": "Scores a lead",
    "type": "SCRIPT",
    "trigger": {"type": "MANUAL"},
    "script": {
        "language": "JavaScript",
        "content": "function main(context) { return {score: 1, lead: context.input}; }",
    },
    "enabled": True,
    "dependencies": [],
}


def answers(
    success: int,
    model: type[BaseModel] | None,
    errors: Iterable[int],
    *,
    etag: bool = False,
    links: dict[str, Any] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """The `responses` of an API route: its success answer and its error answers."""
    ok: dict[str, Any] = {"description": "Success"}
    if model is not None:
        ok["model"] = model
    if links:
        ok["links"] = links
    if etag:
        ok["headers"] = {
            "ETag": {
                "description": 'The version as an entity tag: "<version>"',
                "required": True,
                "schema": {"type": "string"},
            },
        }
    documented: dict[int | str, dict[str, Any]] = {success: ok}
    for status in sorted({*errors, 401, 403, 429, 503}):
        documented[status] = {"model": ApiErrorBody, "description": _ERROR_MEANINGS[status]}
    documented[429]["headers"] = {
        "Retry-After": {
            "description": "Seconds to wait",
            "required": True,
            "schema": {"type": "string"},
        },
    }
    documented["default"] = {
        "model": ApiErrorBody,
        "description": "Any other error answer (e.g. an injected fault)",
    }
    return documented


def token_answers() -> dict[int | str, dict[str, Any]]:
    """The `responses` of the token endpoint."""
    return {
        200: {"model": TokenResponse, "description": "A bearer token (Cache-Control: no-store)"},
        400: {
            "model": OAuthErrorBody,
            "description": "invalid_request, unsupported_grant_type or invalid_scope",
        },
        401: {"model": OAuthErrorBody, "description": "invalid_client: unknown id or wrong secret"},
        "default": {"model": ApiErrorBody, "description": "An injected fault"},
    }


TOKEN_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": {"$ref": _REF + "TokenRequest"}},
        },
    },
    "security": [{"basicAuth": []}],
}


def _request_schemas() -> dict[str, Any]:
    """ActionSpec (with the patterns its validators enforce), TestRequest and TokenRequest."""
    schemas: dict[str, Any] = {}
    spec = ActionSpec.model_json_schema(by_alias=True, ref_template=_REF + "ActionSpec{model}")
    for name, definition in spec.pop("$defs", {}).items():
        schemas[f"ActionSpec{name}"] = definition
    properties = spec["properties"]
    properties["name"]["pattern"] = NAME_PATTERN
    properties["dependencies"]["items"]["pattern"] = NAME_PATTERN
    properties["dependencies"]["uniqueItems"] = True
    content = schemas["ActionSpecScript"]["properties"]["content"]
    content["description"] = (
        f"JavaScript (ES2020) defining main(context); at most {MAX_SCRIPT_BYTES} bytes in UTF-8"
    )
    spec["examples"] = [_ACTION_EXAMPLE]
    schemas["ActionSpec"] = spec
    for model in (TestRequest, TokenRequest):
        schemas[model.__name__] = model.model_json_schema(by_alias=True)
    schemas["TestRequest"]["examples"] = [{"input": {"leadId": 42}}]
    schemas["TokenRequest"]["examples"] = [{"grant_type": "client_credentials"}]
    return schemas


def contract_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of the emulated API (built once, then cached on the app)."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = document.setdefault("components", {})
        components.setdefault("schemas", {}).update(_request_schemas())
        components["securitySchemes"] = {
            "bearerAuth": {"type": "http", "scheme": "bearer"},
            "basicAuth": {"type": "http", "scheme": "basic"},
        }
        app.openapi_schema = document
    return app.openapi_schema
