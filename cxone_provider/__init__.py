"""cxone-provider: NICE CXone Data Actions as infrastructure as code (Pulumi), with an emulator.

Importing the package has no side effects and does not import Pulumi; the Pulumi names
(`DataAction`, `DataActionArgs`, `DataActionProvider`, `ActionCatalog`) load on first use.
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
    from cxone_provider.catalog import ActionCatalog
    from cxone_provider.provider import DataActionProvider
    from cxone_provider.resource import DataAction, DataActionArgs

__all__ = [
    "Action",
    "ActionCatalog",
    "ActionSpec",
    "ActionValidationError",
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
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
    "ActionCatalog": "cxone_provider.catalog",
    "DataAction": "cxone_provider.resource",
    "DataActionArgs": "cxone_provider.resource",
    "DataActionProvider": "cxone_provider.provider",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'cxone_provider' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)
