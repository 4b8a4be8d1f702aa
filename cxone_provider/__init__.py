"""cxone-provider: NICE CXone Data Actions as infrastructure as code (Pulumi), with an emulator.

Importing the package has no side effects and does not import Pulumi nor httpx; the names
that need them (`DataAction`, `DataActionArgs`, `JSON_NULL`, `DataActionProvider`,
`ActionCatalog`, `CxoneClient`) load on first use. The code is in four layers: `api` (the API
as a library), `deploy` (the Pulumi side), `emulator` (a local API) and `cli` (the `cxone`
command); docs/development.md draws them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cxone_provider.api.errors import (
    ActionValidationError,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    CxoneError,
    DeadlineExceededError,
    DependencyCycleError,
    DependencyGraphError,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    Problem,
    RateLimitedError,
    ServerError,
    TestFailedError,
    TransportError,
    UnauthorizedError,
)
from cxone_provider.api.models import Action, ActionSpec, TestResult, validate_spec

if TYPE_CHECKING:
    from cxone_provider.api.client import CxoneClient
    from cxone_provider.deploy.catalog import ActionCatalog
    from cxone_provider.deploy.provider import DataActionProvider
    from cxone_provider.deploy.resource import JSON_NULL, DataAction, DataActionArgs

__all__ = [
    "JSON_NULL",
    "Action",
    "ActionCatalog",
    "ActionSpec",
    "ActionValidationError",
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "CxoneClient",
    "CxoneError",
    "DataAction",
    "DataActionArgs",
    "DataActionProvider",
    "DeadlineExceededError",
    "DependencyCycleError",
    "DependencyGraphError",
    "ForbiddenError",
    "NotFoundError",
    "PreconditionFailedError",
    "Problem",
    "RateLimitedError",
    "ServerError",
    "TestFailedError",
    "TestResult",
    "TransportError",
    "UnauthorizedError",
    "validate_spec",
]

_LAZY = {
    "ActionCatalog": "cxone_provider.deploy.catalog",
    "CxoneClient": "cxone_provider.api.client",
    "DataAction": "cxone_provider.deploy.resource",
    "DataActionArgs": "cxone_provider.deploy.resource",
    "DataActionProvider": "cxone_provider.deploy.provider",
    "JSON_NULL": "cxone_provider.deploy.resource",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'cxone_provider' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)
