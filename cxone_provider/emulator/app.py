"""The emulator's ASGI app: the routes, the middleware layers and the error answers."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from cxone_provider.emulator import api, control
from cxone_provider.emulator.backend import EmulatorBackend
from cxone_provider.emulator.exceptions import (
    EmulatorApiError,
    InternalError,
    MethodNotAllowedError,
    NotFoundError,
    OAuthError,
    ValidationFailedError,
)
from cxone_provider.emulator.middleware import LAYERS
from cxone_provider.emulator.openapi import contract_openapi
from cxone_provider.emulator.responses import error_response, oauth_error_response
from cxone_provider.emulator.scope import route_of

_log = logging.getLogger(__name__)
DESCRIPTION = (
    "The NICE CXone Data Actions API as the local emulator of cxone-provider serves it: "
    "OAuth 2.0 client credentials, the actions resource with idempotent creates, and the "
    "V8 sandbox behind `POST /{id}/test`."
)


def create_app(backend: EmulatorBackend) -> FastAPI:
    """An app serving the contract from `backend`; it keeps no state of its own."""
    app = FastAPI(
        title="CXone Data Actions API (cxone-provider emulator)",
        version="2.0",
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.backend = backend
    app.include_router(api.router)
    app.include_router(control.router)
    app.add_exception_handler(EmulatorApiError, _api_error)
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    for layer in reversed(LAYERS):  # add_middleware puts the last one added outermost
        app.add_middleware(layer, backend=backend)
    app.openapi = lambda: contract_openapi(app)  # type: ignore[method-assign]
    return app


async def _api_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, EmulatorApiError)  # noqa: S101 -- registered for this class
    return error_response(error)


async def _oauth_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, OAuthError)  # noqa: S101 -- registered for this class
    return oauth_error_response(error)


async def _invalid_request(_: Request, error: Exception) -> Response:
    """FastAPI's checks of query, path and header parameters, as VALIDATION_FAILED."""
    assert isinstance(error, RequestValidationError)  # noqa: S101 -- registered for this class
    details = [
        {
            "field": ".".join(str(part) for part in item["loc"][1:]) or str(item["loc"][0]),
            "message": item["msg"],
        }
        for item in error.errors()
    ]
    message = "; ".join(f"{detail['field']}: {detail['message']}" for detail in details)
    return error_response(ValidationFailedError(message or "the request is invalid", details))


async def _http_error(request: Request, error: Exception) -> Response:
    """The router's own 404 and 405, with the contract's error body."""
    assert isinstance(error, HTTPException)  # noqa: S101 -- registered for this class
    if error.status_code == 404:  # noqa: PLR2004 -- Not Found
        return error_response(NotFoundError(f"no route {request.url.path}"))
    if error.status_code == 405:  # noqa: PLR2004 -- Method Not Allowed
        allowed = _allowed_methods(request) or (error.headers or {}).get("Allow", "")
        msg = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
        response = error_response(MethodNotAllowedError(msg))
        response.headers["Allow"] = allowed
        return response
    if error.status_code >= 500:  # noqa: PLR2004 -- 5xx
        return error_response(InternalError(str(error.detail)))
    return error_response(ValidationFailedError(str(error.detail)))


def _allowed_methods(request: Request) -> str:
    """Every method the OpenAPI document gives the request's path (the router names one route's)."""
    template = route_of(request.scope).template
    operations = contract_openapi(request.app)["paths"].get(template, {})
    return ", ".join(sorted(method.upper() for method in operations))


async def _unexpected(request: Request, error: Exception) -> Response:
    """A bug of the emulator: answer 500 INTERNAL with the contract's body, and log it."""
    if isinstance(error, EmulatorApiError):
        return error_response(error)
    _log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return error_response(InternalError(f"the emulator failed: {type(error).__name__}"))
