"""`cxone fleet`: one program, many stacks (a tenant each), previewed, deployed or compared at once.

The stacks are the project's stack config files; `fleet_run` runs them, the Automation API
(`automation.stack_operation`) drives the Pulumi CLI for each, and `fleet diff` compares
each tenant with the program as `cxone diff` does (`comparison`, `comparison_output`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.live import Live
from rich.table import Table
from rich.text import Text

from cxone_provider.api.errors import CxoneError, StackMissingError
from cxone_provider.cli.fleet_run import (
    Fleet,
    Outcome,
    Result,
    select_stacks,
    shard,
    unlock_advice,
)
from cxone_provider.cli.output import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    JsonOption,
    Output,
    ReportFormat,
    ShownConsole,
    format_option,
    one_answer,
)
from cxone_provider.cli.project import Project, load_stack_config, locate_project

if TYPE_CHECKING:
    from pulumi.automation import EngineEvent, PulumiCommand

    from cxone_provider.cli.fleet_run import Task

EXAMPLES: Final = """Examples:

\b
  cxone fleet preview                          # every stack of stacks/Pulumi.*.yaml
  cxone fleet up --stack 'brand-*' --yes --concurrency 8
  cxone fleet up --shard 2/4 --yes --json      # job 2 of a CI matrix of 4
  cxone fleet diff --format markdown > drift.md
"""
DEFAULT_CONCURRENCY: Final = 4
_LOG_WIDTH: Final = 1000
_SHARD: Final = re.compile(r"(?P<index>\d+)/(?P<count>\d+)")
_COLUMNS: Final = (
    "stack",
    "result",
    "created",
    "updated",
    "deleted",
    "unchanged",
    "duration",
    "error",
)
_STYLES: Final = {
    Result.SUCCEEDED: "green",
    Result.SAME: "green",
    Result.MISSING: "yellow",
    Result.DIFFERS: "bold yellow",
    Result.RUNNING: "cyan",
}


class Operation(StrEnum):
    """What the fleet does to each stack."""

    PREVIEW = "preview"
    UP = "up"
    REFRESH = "refresh"
    DIFF = "diff"


# Over 60 lines: typer reads the command's options from this signature; the body is short.
def fleet_command(  # noqa: PLR0917 -- typer maps parameters to arguments and options
    operation: Annotated[
        Operation,
        typer.Argument(
            metavar="OPERATION",
            help="preview, up, refresh (Pulumi's, on each stack) or diff (each tenant against "
            "the program, as `cxone diff`).",
            case_sensitive=False,
        ),
    ],
    stack: Annotated[
        list[str] | None,
        typer.Option(
            "--stack",
            "-s",
            metavar="NAME_OR_GLOB",
            help="Stacks to run: names or shell patterns such as 'brand-*' matched against the "
            "stack config files Pulumi.<stack>.yaml (repeatable); default: all of them.",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(metavar="N", min=1, help="Stacks run at once."),
    ] = DEFAULT_CONCURRENCY,
    shard_spec: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="I/N",
            help="Only job I of N (1 <= I <= N): every N-th selected stack in name order, so "
            "that the N jobs of a CI matrix cover each stack exactly once.",
            show_default=False,
        ),
    ] = None,
    program_dir: Annotated[
        Path,
        typer.Option("--program", "-p", metavar="DIR", help="The Pulumi project."),
    ] = Path(),
    report_format: Annotated[
        ReportFormat, format_option("a PR comment (for diff with each stack's comparison)")
    ] = ReportFormat.TEXT,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", metavar="", help="up and refresh without asking first."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Run one operation on many stacks of the project at once: one program, a tenant per stack.

    Each stack is its own `pulumi` process (Pulumi's Automation API), with its own tenant,
    OAuth client and rate limit; up to --concurrency run at once, and a failed stack never
    stops the others. `up` creates a stack the backend does not have; preview and refresh
    report it as missing. The backend and passphrase are the environment's, as for `pulumi`
    (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE); a stack's secret may come from
    CXONE_CLIENT_SECRET_<STACK>. diff reads the tenants only (no Pulumi CLI): each tenant
    against the program run with that stack's config.

    A live view on a terminal (plain lines otherwise), then a summary table: stack, result,
    created, updated, deleted, unchanged, duration, the error's first line. Ctrl-C cancels
    the running stacks as Pulumi does and starts no other; the summary names those left
    unfinished.

    Exit codes: 0 every stack succeeded (diff: none differs), 1 a stack failed, differs or
    was left unfinished, 2 usage error, 130 interrupted.
    """
    one_answer(as_json, report_format)
    output = Output(f"fleet {operation.value}", as_json=as_json)
    with output.errors():
        project = locate_project(program_dir)
        stacks = select_stacks(project.stacks(), stack or [])
    if shard_spec is not None:
        stacks = shard(stacks, *_parsed_shard(shard_spec))
    if operation in {Operation.UP, Operation.REFRESH} and not yes:
        _confirm(output, operation, stacks)
    task = (
        _diff_task(project)
        if operation is Operation.DIFF
        else _pulumi_task(output, project, operation)
    )
    with _live_view(output, stacks) as on_change:
        fleet = Fleet(concurrency, on_change)
        outcomes = fleet.run(stacks, task)
    _report(output, operation, outcomes, report_format)
    if fleet.interrupted.is_set():
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_PROBLEMS if any(o.result.bad for o in outcomes) else EXIT_OK)


def _parsed_shard(spec: str) -> tuple[int, int]:
    found = _SHARD.fullmatch(spec.strip())
    if found is None or not 1 <= int(found["index"]) <= int(found["count"]):
        message = f"{spec!r} is not a shard: give I/N with 1 <= I <= N, e.g. 2/4"
        raise typer.BadParameter(message, param_hint="--shard")
    return int(found["index"]), int(found["count"])


def _confirm(output: Output, operation: Operation, stacks: Sequence[str]) -> None:
    """Ask before changing stacks; without a terminal to ask on, --yes is needed."""
    question = f"{operation.value} {len(stacks)} stack(s): {', '.join(stacks)}?"
    if not sys.stdin.isatty() or output.as_json:
        message = f"{question} Give --yes to run it without a terminal to ask on"
        raise typer.BadParameter(message, param_hint="--yes")
    if not typer.confirm(question):
        raise typer.Exit(EXIT_USAGE)


def _pulumi_task(output: Output, project: Project, operation: Operation) -> Task:
    """One stack's `pulumi preview|up|refresh`, its steps counted as the engine reports them."""
    from cxone_provider.cli import automation  # noqa: PLC0415 -- keeps `cxone emulator` fast

    found = automation.find_pulumi(install=False, install_timeout_s=0)
    if found.command is None:
        output.pulumi_missing(automation.install_advice(found.reason, "cxone fleet"))
    pulumi: PulumiCommand = found.command
    with output.errors():
        automation.open_backend(project, pulumi)

    def run(outcome: Outcome, update: Callable[[Outcome], None]) -> Outcome:
        steps = [0]

        def on_event(event: EngineEvent) -> None:
            if event.res_outputs_event is not None:
                steps[0] += 1
                update(replace(outcome, result=Result.RUNNING, steps=steps[0]))

        try:
            changes = automation.stack_operation(
                project, outcome.stack, operation.value, pulumi, on_event=on_event
            )
        except StackMissingError as exc:
            return replace(outcome, result=Result.MISSING, error=str(exc))
        except CxoneError as exc:
            return replace(outcome, result=Result.FAILED, error=str(exc))
        return Outcome(
            outcome.stack,
            Result.SUCCEEDED,
            changes.created,
            changes.updated,
            changes.deleted,
            changes.unchanged,
            steps=steps[0],
        )

    return run


def _diff_task(project: Project) -> Task:
    """One stack's tenant compared with the program run with the stack's config."""
    from rich.progress import Progress  # noqa: PLC0415 -- keeps `cxone emulator` fast

    from cxone_provider.cli import comparison  # noqa: PLC0415 -- idem
    from cxone_provider.cli.comparison import Status  # noqa: PLC0415 -- idem
    from cxone_provider.cli.program import evaluate  # noqa: PLC0415 -- idem
    from cxone_provider.cli.tenant import list_actions, tenant_client  # noqa: PLC0415 -- idem

    def run(outcome: Outcome, _update: Callable[[Outcome], None]) -> Outcome:
        try:
            tenant = tenant_client(load_stack_config(project, outcome.stack), "cxone fleet diff")
            with tenant.client:
                listed = list_actions(tenant, Progress(disable=True))
            declarations = evaluate(project.root, outcome.stack)
        except CxoneError as exc:
            return replace(outcome, result=Result.FAILED, error=str(exc).partition("\n")[0])
        program = comparison.program_side(declarations, main=str(declarations.project.main))
        side = comparison.tenant_side(listed, base_url=tenant.client.base_url, stack=outcome.stack)
        compared = comparison.compare(program, side)
        return Outcome(
            outcome.stack,
            Result.SAME if compared.differences == 0 else Result.DIFFERS,
            created=compared.count(Status.ONLY_LEFT),
            updated=compared.count(Status.DIFFERS),
            deleted=compared.count(Status.ONLY_RIGHT),
            unchanged=compared.count(Status.SAME),
            comparison=compared,
        )

    return run


@contextmanager
def _live_view(output: Output, stacks: Sequence[str]) -> Iterator[Callable[[Outcome], None]]:
    """A line per stack that changes in place on a terminal; otherwise a line per change."""
    if output.as_json:
        yield lambda _outcome: None
        return
    if not output.err.is_terminal:

        def line(outcome: Outcome) -> None:
            if outcome.result is not Result.QUEUED and outcome.steps == 0:
                output.err.print(Text(f"{outcome.stack}: ") + _result_text(outcome))

        yield line
        return
    shown: dict[str, Outcome] = {stack: Outcome(stack) for stack in stacks}
    with Live(_table(shown.values(), live=True), console=output.err, transient=True) as live:

        def refresh(outcome: Outcome) -> None:
            shown[outcome.stack] = outcome
            live.update(_table(shown.values(), live=True), refresh=True)

        yield refresh


def _result_text(outcome: Outcome) -> Text:
    text = Text(outcome.result.value, style=_STYLES.get(outcome.result, "bold red"))
    if outcome.result not in {Result.QUEUED, Result.RUNNING, Result.NOT_STARTED}:
        text.append(f" in {outcome.duration_s:.1f} s", style="dim")
    if outcome.error:
        text.append(f": {outcome.error}")
    return text


def _table(outcomes: Iterable[Outcome], *, live: bool = False) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    if live:
        for column in ("stack", "result", "steps"):
            table.add_column(column)
        for outcome in outcomes:
            table.add_row(outcome.stack, _result_text(outcome), str(outcome.steps))
        return table
    for column in _COLUMNS:
        table.add_column(
            column,
            justify="right" if column in _COUNTS else "left",
            no_wrap=column != "error",
            overflow="fold",
        )
    for outcome in outcomes:
        stack, result, *rest = _row(outcome)
        table.add_row(stack, Text(result, style=_STYLES.get(outcome.result, "bold red")), *rest)
    return table


_COUNTS: Final = ("created", "updated", "deleted", "unchanged", "duration")


def _row(outcome: Outcome) -> list[str]:
    return [
        outcome.stack,
        outcome.result.value,
        str(outcome.created),
        str(outcome.updated),
        str(outcome.deleted),
        str(outcome.unchanged),
        f"{outcome.duration_s:.1f} s",
        outcome.error or "",
    ]


def _report(
    output: Output, operation: Operation, outcomes: Sequence[Outcome], report_format: ReportFormat
) -> None:
    """The summary (and for diff the differing stacks' comparisons) in the format asked."""
    from cxone_provider.cli import comparison_output  # noqa: PLC0415 -- keeps `cxone emulator` fast

    unfinished = [o.stack for o in outcomes if o.result in {Result.CANCELLED, Result.NOT_STARTED}]
    differing = [o for o in outcomes if o.comparison is not None and o.comparison.differences]
    if output.as_json:
        stacks = []
        for outcome in outcomes:
            entry = outcome.to_json()
            if outcome.comparison is not None:
                entry["comparison"] = comparison_output.to_json(outcome.comparison)
            stacks.append(entry)
        ok = not any(o.result.bad for o in outcomes)
        payload = {"ok": ok, "operation": operation.value, "stacks": stacks}
        output.emit({**payload, "unfinished": unfinished})
        return
    if report_format is ReportFormat.MARKDOWN:
        lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
        lines += [
            "| " + " | ".join(comparison_output.markdown_cell(c) for c in _row(o)) + " |"
            for o in outcomes
        ]
        output.echo("\n".join(lines) + "\n")
        for outcome in differing:
            assert outcome.comparison is not None  # noqa: S101 -- differing has comparisons
            markdown = comparison_output.to_markdown(outcome.comparison)
            output.echo(f"## {outcome.stack}\n\n{markdown}\n")
    else:
        for outcome in differing:
            assert outcome.comparison is not None  # noqa: S101 -- differing has comparisons
            output.out.rule(Text(f"stack {outcome.stack}", style="bold"), align="left")
            comparison_output.print_text(outcome.comparison, output.out)
        # In a log, each stack on one line: a long error is not folded into a narrow column.
        console = output.out
        if not console.is_terminal:
            console = ShownConsole(file=console.file, width=_LOG_WIDTH)
        console.print(_table(outcomes))
    if unfinished:
        output.note(unlock_advice(unfinished))
