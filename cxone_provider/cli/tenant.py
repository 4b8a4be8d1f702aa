"""Reading a tenant from the command line: its client, connected from a stack or the environment.

A command line should fail fast when the tenant is unreachable: a few attempts per call, and
the whole listing within the tenant's operation timeout.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Final, NamedTuple

from rich.progress import Progress

from cxone_provider.api.errors import ConfigurationError, DeadlineExceededError

if TYPE_CHECKING:
    from cxone_provider.api.client import CxoneClient
    from cxone_provider.api.models import Action
    from cxone_provider.cli.output import Output
    from cxone_provider.cli.project import StackConfig

CLI_MAX_ATTEMPTS: Final = 3
"""API attempts per call: a command line should fail fast when the tenant is unreachable."""


class Tenant(NamedTuple):
    """A client of a tenant, and the seconds a command may spend reading it."""

    client: CxoneClient
    timeout_s: float


def tenant_client(stack: StackConfig | None, command: str, base_url: str | None = None) -> Tenant:
    """A client of the tenant, connected from the stack's config, else the environment.

    A stack with a config file takes its secret from `CXONE_CLIENT_SECRET_<STACK>` when that
    is set, so one command can reach two tenants. `base_url` (a tenant given by its URL)
    replaces the stack's connection: credentials then come from the environment. `command`
    is what a person runs, for the fixes a configuration error gives. The timeout is
    cxone:operationTimeout (CXONE_OPERATION_TIMEOUT).
    """
    from cxone_provider.api.client import CxoneClient  # noqa: PLC0415 -- keeps `cxone emulator` fast
    from cxone_provider.deploy.config import load_settings  # noqa: PLC0415 -- idem
    from cxone_provider.deploy.settings import SettingsContext  # noqa: PLC0415 -- idem

    config = {"cxone:baseUrl": base_url} if base_url is not None else stack.values if stack else {}
    named = stack.name if stack is not None and stack.file is not None else None
    secret_variable = stack_secret_variable(named) if named is not None else None
    environ = dict(os.environ)
    if secret_variable is not None and secret_variable in environ:
        environ["CXONE_CLIENT_SECRET"] = environ[secret_variable]
    context = SettingsContext(command, stack.file if stack is not None else None)
    try:
        settings = load_settings(config, environ, context=context)
    except ConfigurationError as exc:
        message = f"reading the tenant needs its connection. {exc}"
        if secret_variable is not None:
            message += f"\nThe secret of stack {named!r} may also be in {secret_variable}."
        if stack is not None and stack.encrypted:
            message += (
                f"\n{', '.join(stack.encrypted)} is encrypted in {stack.file}, and only the "
                "Pulumi CLI can decrypt it: set its environment variable instead (e.g. "
                f"{secret_variable or 'CXONE_CLIENT_SECRET'})."
            )
        raise ConfigurationError(message) from None
    connection = settings.connection
    client = CxoneClient(
        connection.base_url,
        connection.client_id,
        connection.client_secret,
        max_attempts=CLI_MAX_ATTEMPTS,
    )
    return Tenant(client, settings.operation_timeout_s)


def stack_secret_variable(stack: str) -> str:
    """`CXONE_CLIENT_SECRET_<STACK>`: the stack's name in capitals, other characters as `_`."""
    return "CXONE_CLIENT_SECRET_" + "".join(
        c if c.isascii() and c.isalnum() else "_" for c in stack.upper()
    )


def read_tenant(
    output: Output, stack: StackConfig | None
) -> tuple[str, dict[str, tuple[str, ...]]]:
    """The tenant's base URL and its actions (name to dependencies)."""
    tenant = tenant_client(stack, f"cxone {output.command} --tenant")
    with tenant.client, output.progress() as progress:
        listed = list_actions(tenant, progress)
        return tenant.client.base_url, {a.name: tuple(a.dependencies) for a in listed}


def list_actions(tenant: Tenant, progress: Progress) -> list[Action]:
    """Every action of the tenant, counted on the progress display as the pages come.

    The whole listing ends within the tenant's timeout: a server that never stops paging, or
    never answers, cannot hang the command.
    """
    from cxone_provider.api.client import deadline  # noqa: PLC0415 -- keeps `cxone emulator` fast

    client, timeout_s = tenant
    task = progress.add_task(f"Reading the actions of {client.base_url}", total=None)
    listed: list[Action] = []
    try:
        with deadline(time.monotonic() + timeout_s):
            for action in client.list_actions():
                listed.append(action)
                progress.advance(task)
    except DeadlineExceededError as exc:
        msg = (
            f"reading the actions of {client.base_url} took longer than {timeout_s:g} s "
            f"({len(listed)} read; cxone:operationTimeout or CXONE_OPERATION_TIMEOUT sets the "
            f"limit); is the base URL a CXone API? The last step: {exc}"
        )
        raise DeadlineExceededError(msg) from None
    return listed
