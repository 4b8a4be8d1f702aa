"""`cxone conformance`: check a tenant against everything the provider relies on.

The checks are `conformance_checks`, the requests and the run's actions `conformance_probe`,
the report `conformance_output`. This module reads the options, connects (as `cxone diff`
does, through `tenant`), says what it will do and asks, sweeps what interrupted runs left,
runs the checks, and deletes what it created: at the end, after a failure and after Ctrl-C.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, NoReturn

import typer

from cxone_provider.api.errors import (
    AuthenticationError,
    ConfigurationError,
    CxoneError,
    TransportError,
)
from cxone_provider.cli.output import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROBLEMS,
    JsonOption,
    Output,
    ReportFormat,
    format_option,
    one_answer,
)
from cxone_provider.cli.project import load_stack_config, locate_project
from cxone_provider.cli.tenant import Tenant, tenant_client

if TYPE_CHECKING:
    from cxone_provider.cli.conformance_checks import Check
    from cxone_provider.cli.conformance_output import Report
    from cxone_provider.cli.conformance_probe import Created, Probe

EXAMPLES: Final = """Examples:

\b
  cxone conformance --stack dev --read-only     # GET requests only: safe on production
  cxone conformance --stack staging --yes       # every check, on a non-production tenant
  cxone conformance http://127.0.0.1:8765 --only idempotency --only if-match
  cxone conformance --stack dev --format markdown > conformance.md   # a ticket to the vendor
"""
DEFAULT_MAX_REQUESTS: Final = 600
GROUP_NAMES: Final = (
    "auth, crud, validation, names, idempotency, if-match, dependencies, sandbox, "
    "pagination, rate-limit, errors"
)
"""For --help, built before `conformance_checks` is imported (a test keeps it true)."""
_PREFIX: Final = re.compile(r"[A-Za-z0-9_\-]{1,40}")


# Over 60 lines: typer reads the command's options from this signature; the body is short.
def conformance_command(  # noqa: PLR0917 -- typer maps parameters to arguments and options
    url: Annotated[
        str | None,
        typer.Argument(
            metavar="URL",
            help="The tenant's base URL (credentials from CXONE_CLIENT_ID and "
            "CXONE_CLIENT_SECRET), instead of --stack.",
            show_default=False,
        ),
    ] = None,
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack",
            "-s",
            metavar="NAME",
            help="The tenant of the stack's Pulumi.NAME.yaml (as `cxone diff --stack`).",
            show_default=False,
        ),
    ] = None,
    program_dir: Annotated[
        Path,
        typer.Option(
            "--program", "-p", metavar="DIR", help="The project whose stack files --stack reads."
        ),
    ] = Path(),
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only",
            metavar="",
            help="Send GET requests (and token requests) only: the checks that write are skipped.",
        ),
    ] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            metavar="GROUP",
            help=f"Run only these groups (repeatable, or comma-separated): {GROUP_NAMES}.",
            show_default=False,
        ),
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(
            "--prefix",
            metavar="P",
            help="Name every action the run creates P<suffix> (letters, digits, _ and -; at "
            "most 40).",
            show_default="cxconf_<8 random characters>_",
        ),
    ] = None,
    max_requests: Annotated[
        int,
        typer.Option(
            "--max-requests",
            metavar="N",
            min=1,
            help="Send at most N requests for the checks (deleting the run's actions may "
            "add a few).",
        ),
    ] = DEFAULT_MAX_REQUESTS,
    report_format: Annotated[
        ReportFormat, format_option("a ticket to the vendor")
    ] = ReportFormat.TEXT,
    as_json: JsonOption = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", metavar="", help="Do not ask before starting.")
    ] = False,
) -> None:
    """Check a tenant (or an emulator) against everything the provider relies on.

    Groups of checks: auth, CRUD and ETag, each validation rule of the contract,
    names and immutable fields, Idempotency-Key, If-Match, dependencies, the sandbox
    test, rate limiting, pagination and the error body. Each check names the provider
    behaviour that relies on it; each failure says what is unsafe on the tenant.

    Safe on production: it says what it will do and asks first (unless --yes); every
    action it creates is named with its prefix, carries a marker in its description and
    is deleted at the end, after a failure and after Ctrl-C; a later run first deletes
    what an interrupted run left (and only that). No other action is changed, tested or
    read by id; --read-only sends GET requests only.

    Exit codes: 0 no check failed, 1 a check failed (or the run was cut short, or left an
    action behind), 2 usage or connection error, 130 interrupted.
    """
    from cxone_provider.cli import conformance_checks  # noqa: PLC0415 -- keeps `cxone emulator` fast

    one_answer(as_json, report_format)
    groups = _groups(only or [])
    if prefix is not None and not _PREFIX.fullmatch(prefix):
        message = f"{prefix!r}: use 1 to 40 letters, digits, _ or -"
        raise typer.BadParameter(message, param_hint="--prefix")
    output = Output("conformance", as_json=as_json)
    with output.errors():
        tenant = _tenant(url, stack, program_dir)
    with tenant.client:
        report = _run(
            output,
            tenant,
            conformance_checks.selected(groups),
            prefix=prefix,
            read_only=read_only,
            max_requests=max_requests,
            yes=yes,
        )
    _show(output, report, report_format)
    if report.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_PROBLEMS)


def _groups(only: list[str]) -> list[str]:
    from cxone_provider.cli.conformance_checks import GROUPS  # noqa: PLC0415 -- keeps `cxone emulator` fast

    groups = [g.strip() for item in only for g in item.split(",") if g.strip()]
    unknown = [group for group in groups if group not in GROUPS]
    if unknown:
        message = f"{', '.join(unknown)}: not a group; use {', '.join(GROUPS)}"
        raise typer.BadParameter(message, param_hint="--only")
    return groups


def _tenant(url: str | None, stack: str | None, program_dir: Path) -> Tenant:
    if url is not None and stack is not None:
        message = "give the tenant once: a URL or --stack NAME"
        raise ConfigurationError(message)
    if url is not None:
        return tenant_client(None, "cxone conformance", base_url=url)
    config = load_stack_config(locate_project(program_dir), stack) if stack else None
    return tenant_client(config, "cxone conformance")


def _run(
    output: Output,
    tenant: Tenant,
    checks: tuple[Check, ...],
    *,
    prefix: str | None,
    read_only: bool,
    max_requests: int,
    yes: bool,
) -> Report:
    """Sweep, ask, run the checks, delete the run's actions; Ctrl-C ends the checks early."""
    from cxone_provider.cli.conformance_checks import run_checks  # noqa: PLC0415 -- idem
    from cxone_provider.cli.conformance_output import Report  # noqa: PLC0415 -- idem
    from cxone_provider.cli.conformance_probe import (  # noqa: PLC0415 -- idem
        Marker,
        Probe,
        delete_actions,
        random_prefix,
    )

    client = tenant.client
    run_prefix = prefix or random_prefix()
    probe = Probe(client, run_prefix, max_requests, read_only, Marker.new(run_prefix))
    report = Report(client.base_url, run_prefix, read_only, max_requests)
    with output.errors():
        stale, active = _leftovers(output, tenant, prefix)
    if active:
        report.notes.append(
            f"left alone, as their runs may still be going: {', '.join(sorted(active))}"
        )
    _confirm(output, _plan(probe, checks, stale), yes=yes)
    try:
        with _terminate_as_interrupt(), output.errors():
            if stale and not read_only:
                report.swept, left = delete_actions(client, stale)
                report.notes += [f"an interrupted run's action not deleted: {x}" for x in left]
            elif stale:
                report.notes.append(
                    f"{len(stale)} actions of interrupted runs are on the tenant; a run "
                    "without --read-only deletes them"
                )
            with output.progress() as progress:
                task = progress.add_task("Checking the tenant", total=len(checks))
                for outcome in run_checks(probe, checks):
                    report.outcomes.append(outcome)
                    progress.advance(task)
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        if not read_only:
            _clean_up(output, probe, report)
        report.requests = probe.requests
    return report


def _leftovers(
    output: Output, tenant: Tenant, prefix: str | None
) -> tuple[dict[str, Created], list[str]]:
    """What interrupted runs left, from one listing (which also proves the connection)."""
    from cxone_provider.cli.conformance_probe import leftovers  # noqa: PLC0415 -- idem
    from cxone_provider.cli.tenant import list_actions  # noqa: PLC0415 -- idem

    try:
        with output.progress() as progress:
            listed = list_actions(tenant, progress)
    except (AuthenticationError, TransportError):
        raise
    except CxoneError as exc:
        output.note(f"the tenant could not be listed, so no leftovers were looked for: {exc}")
        return {}, []
    return leftovers(listed, prefix, now_ms=int(time.time() * 1000))


def _plan(probe: Probe, checks: tuple[Check, ...], stale: dict[str, Created]) -> str:
    groups = sorted({check.group for check in checks})
    lines = [
        (
            f"cxone conformance will check {probe.client.base_url} "
            f"(OAuth client {probe.client.auth.client_id}): {len(checks)} checks of "
            f"{', '.join(groups)}."
        ),
        (
            "- It lists the tenant's actions (GET); it changes, tests or reads by id no action "
            "but its own."
        ),
    ]
    if probe.read_only:
        lines.append("- --read-only: it sends GET requests and token requests only.")
    else:
        lines.append(
            f"- It creates, changes, tests and deletes actions named {probe.prefix}*, and "
            "deletes them all at the end (also after a failure or Ctrl-C)."
        )
        if stale:
            names = ", ".join(sorted(created.name for created in stale.values()))
            lines.append(f"- It first deletes what interrupted runs left: {names}.")
    if any(check.id == "rate-limit.retry_after" for check in checks):
        lines.append(
            "- It spends the OAuth client's rate limit once, until a 429 (other work with "
            "this client slows down meanwhile)."
        )
    lines.append(f"- It sends at most {probe.max_requests} requests for the checks.")
    return "\n".join(lines)


def _confirm(output: Output, plan: str, *, yes: bool) -> None:
    """Show the plan (on stderr, also with --json when asking) and ask, unless `yes`."""
    if yes:
        output.note(plan)
        return
    output.err.print(plan, highlight=False, markup=False)
    try:
        confirmed = typer.confirm("Go on?", err=True)
    except typer.Abort:
        confirmed = False
    if not confirmed:
        output.fail(ConfigurationError("not confirmed: nothing was done (--yes does not ask)"))


def _clean_up(output: Output, probe: Probe, report: Report) -> None:
    """Delete the run's actions; a Ctrl-C during it leaves the rest to the next run's sweep."""
    try:
        report.deleted, report.left = probe.cleanup()
    except KeyboardInterrupt:
        report.interrupted = True
        report.left.append(f"the cleanup was interrupted: the next run deletes {probe.prefix}*")
    except CxoneError as exc:
        report.left.append(f"the cleanup failed ({exc}): the next run deletes {probe.prefix}*")
    if report.left:
        output.note("some actions of this run are still on the tenant; see the report")


def _show(output: Output, report: Report, report_format: ReportFormat) -> None:
    from cxone_provider.cli import conformance_output  # noqa: PLC0415 -- idem

    for note in report.notes:
        output.note(note)
    if output.as_json:
        output.emit(conformance_output.to_json(report))
    elif report_format is ReportFormat.MARKDOWN:
        output.echo(conformance_output.to_markdown(report))
    else:
        conformance_output.print_text(report, output.out)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the checks as Ctrl-C does, so that the run's actions are deleted."""

    def interrupt(_signal: int, _frame: object) -> NoReturn:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: nothing to install
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
