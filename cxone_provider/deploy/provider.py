"""`DataActionProvider`, the dynamic provider behind `DataAction`: what the engine talks to.

Pulumi dill-pickles this provider into the state and unpickles it, with today's code, in a
plugin process that serves every `DataAction` of the stack from a pool of threads (see
docs/provider.md, "Under the Pulumi engine"). So: importing this module has no side effects, the
instance pickles to the same bytes every run and never holds a secret (so it is stored in
plain text, see `serialize_as_secret_always`), and each call keeps its state in an
`Operation` of its own. States written before issue 14 name the class
`cxone_provider.provider.DataActionProvider`, an alias kept for them.

The class only dispatches: `check`, `diff`, `create`, `read`, `update` and `delete` each have
a module of their name in this package; `failure` shapes what the user reads when one fails.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, Final

from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.api.models import validate_spec
from cxone_provider.deploy.check import check_inputs
from cxone_provider.deploy.clients import shared_client
from cxone_provider.deploy.concurrency import widen_provider_pool
from cxone_provider.deploy.config import load_settings
from cxone_provider.deploy.create import create_action
from cxone_provider.deploy.delete import delete_action
from cxone_provider.deploy.diff import diff_properties
from cxone_provider.deploy.failure import reported
from cxone_provider.deploy.known import dependency_failures
from cxone_provider.deploy.operation import Operation
from cxone_provider.deploy.properties import request_body, stack_of
from cxone_provider.deploy.read import read_action
from cxone_provider.deploy.secrets import with_derived_secrets
from cxone_provider.deploy.settings import ProviderSettings
from cxone_provider.deploy.update import update_action

__all__ = ["DataActionProvider"]


class DataActionProvider(ResourceProvider):
    """The CRUD of `DataAction` against the CXone API; constructible with no arguments.

    Its pickled form is always the same few bytes and holds no setting: configuration comes
    from `configure` in the plugin process and stays out of the pickle.
    """

    _FORMAT: Final = 1
    serialize_as_secret_always = False
    """The pickle holds no secret: the SDK need not encrypt it into every resource's state.

    Pulumi makes `__provider` a secret unless a provider says this; an encrypted copy in the
    inputs and the outputs of each resource cost every checkpoint two encryptions per
    action. A pickle that captured a secret Output would still be made a secret.
    """

    def __init__(self) -> None:
        super().__init__()
        self._settings: ProviderSettings | None = None
        self._settings_error: str | None = None

    def __getstate__(self) -> dict[str, int]:
        return {"format": self._FORMAT}

    def __setstate__(self, state: Mapping[str, int]) -> None:
        self._settings = None
        self._settings_error = None

    def __repr__(self) -> str:
        return f"DataActionProvider(configured={self._settings is not None})"

    def configure(self, req: ConfigureRequest) -> None:
        """Read the stack config (and environment fallbacks) once, when the plugin loads us.

        Incomplete settings are remembered, not raised: `check` and `diff` need none, so a
        preview works offline and without credentials; the first API call reports them.
        """
        _log_to_stderr()
        widen_provider_pool()
        try:
            self._settings = load_settings(req.config.get, os.environ)
        except ConfigurationError as exc:
            self._settings_error = str(exc)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the declaration: one CheckFailure per problem, on its property.

        Offline, except for dependencies that no DataAction of the stack declares: those are
        looked up on the tenant, once per process (see `known`).
        """
        inputs, failures = check_inputs(news, olds)
        failures += dependency_failures(inputs, self._settings)
        return CheckResult(with_derived_secrets(inputs), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """No change when nothing the API keeps changed; a new name replaces; the rest updates."""
        return diff_properties(olds, news)

    @reported("create")
    def create(self, props: dict[str, Any]) -> CreateResult:
        """Create (or adopt), test, report: all or nothing (see `create_action`)."""
        spec = validate_spec(request_body(props), action=props.get("name"))
        return create_action(self._operation("create", spec.name, props), spec, props)

    @reported("read")
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh from the API; an empty id when the action is gone.

        The engine's import Read (`import_`, `pulumi import`) sends no properties, and the SDK's
        server fails before it reaches this method (pulumi/pulumi#16175): adoption goes
        through create and the `adopt` input instead.
        """
        operation = self._operation("read", str(props.get("name") or id_), props)
        return read_action(operation, id_, props)

    @reported("update")
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """PUT the new content on the recorded version, test it, restore it if the test fails."""
        spec = validate_spec(request_body(news), action=news.get("name"))
        operation = self._operation("update", spec.name, news)
        return update_action(operation, id_, spec, olds, news)

    @reported("delete")
    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete the action; already gone counts as done; dependents block it with their names."""
        delete_action(self._operation("delete", str(props.get("name") or id_), props), id_, props)

    def _operation(self, verb: str, name: str, props: Mapping[str, Any]) -> Operation:
        settings = self._require_settings()
        return Operation(
            verb=verb,
            name=name,
            stack=stack_of(props),
            settings=settings,
            client=shared_client(settings.connection),
            deadline=time.monotonic() + settings.operation_timeout_s,
        )

    def _require_settings(self) -> ProviderSettings:
        if self._settings is not None:
            return self._settings
        if self._settings_error is not None:
            raise ConfigurationError(self._settings_error)
        msg = (
            "DataActionProvider was used before configure(): the Pulumi engine configures it; "
            "a test that calls the provider directly must call configure() first"
        )
        raise ConfigurationError(msg)


def _log_to_stderr() -> None:
    """Show this package's INFO and above on stderr, which the engine passes to the user.

    Only when nobody configured logging (the plugin process): a program or test runner that
    did keeps its own handlers and levels.
    """
    package = logging.getLogger("cxone_provider")
    if logging.getLogger().handlers or package.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("cxone-provider %(levelname)s: %(message)s"))
    package.addHandler(handler)
    package.setLevel(logging.INFO)
