"""`cxone demo`: the example stack deployed to a local emulator with `pulumi up`, in one command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, NoReturn

import typer
from rich.table import Table
from rich.text import Text

from cxone_provider.cli.bundled import example_root
from cxone_provider.cli.output import (
    EXIT_OK,
    EXIT_PROBLEMS,
    JsonOption,
    Output,
    finding_line,
    picture_title,
)
from cxone_provider.cli.project import locate_project

if TYPE_CHECKING:
    from cxone_provider.cli.automation import Deployed
    from cxone_provider.cli.preflight import Report


EXAMPLES: Final = """Examples:

\b
  cxone demo                 # needs the Pulumi CLI (installed for you where possible)
  cxone demo --no-install --json
"""


def demo_command(
    program_dir: Annotated[
        Path | None,
        typer.Option(
            "--program",
            metavar="DIR",
            help="Project to deploy; default: the example stack that came with the package.",
            show_default=False,
        ),
    ] = None,
    install: Annotated[
        bool,
        typer.Option(
            "--install/--no-install",
            metavar="",
            help="Let the Pulumi Automation API install the Pulumi CLI when it is missing.",
        ),
    ] = True,
    install_timeout: Annotated[
        float,
        typer.Option(metavar="SECONDS", help="Seconds an install of the Pulumi CLI may take."),
    ] = 120.0,
    as_json: JsonOption = False,
) -> None:
    """Deploy the example stack to a local emulator with `pulumi up`, in one command.

    Checks the program first (as `cxone validate` does), then finds the Pulumi CLI, starts
    the emulator on a free port, runs `pulumi up` on a throwaway local file backend (stack
    `local`), prints the deployed actions with their test status and the graph, and stops
    the emulator. Exit code 1 when the program has problems or the deployment fails, 2 when
    the Pulumi CLI is missing and cannot be installed.
    """
    from cxone_provider.cli import automation as demo  # noqa: PLC0415 -- keeps `cxone emulator` fast
    from cxone_provider.cli.preflight import preflight  # noqa: PLC0415 -- idem
    from cxone_provider.cli.program import evaluate  # noqa: PLC0415 -- idem

    output = Output("demo", as_json=as_json)
    with output.errors():
        project = locate_project(program_dir if program_dir is not None else example_root())
        with output.progress() as progress:
            progress.add_task("Checking the program", total=None)
            report = preflight(evaluate(project.root), environ=os.environ)
        if not report.ok:
            _demo_problems(output, report)
        with output.progress() as progress:
            progress.add_task("Looking for the Pulumi CLI", total=None)
            found = demo.find_pulumi(install=install, install_timeout_s=install_timeout)
        if found.command is None:
            output.pulumi_missing(demo.install_advice(found.reason))
        total = len(report.declarations.actions)
        with demo.running_emulator() as base_url, output.progress() as progress:
            task = progress.add_task(f"pulumi up: {total} actions to {base_url}", total=total)
            deployed = demo.pulumi_up(
                project, base_url, found.command, on_action=lambda _name: progress.advance(task)
            )
    _print_demo(output, report, base_url, deployed)
    raise typer.Exit(EXIT_OK if deployed.error is None else EXIT_PROBLEMS)


def _demo_problems(output: Output, report: Report) -> NoReturn:
    if output.as_json:
        output.emit({"ok": False, "problems": [f.to_json(output.base) for f in report.findings]})
    else:
        output.err.print(Text("The program has problems; nothing was deployed:", style="bold red"))
        for finding in report.findings:
            output.err.print(finding_line(finding, output.base))
    raise typer.Exit(EXIT_PROBLEMS)


def _print_demo(output: Output, report: Report, base_url: str, deployed: Deployed) -> None:
    from cxone_provider.cli.render import text_tree  # noqa: PLC0415 -- keeps `cxone emulator` fast

    title = picture_title(report.declarations, report.picture)
    if output.as_json:
        output.emit(
            {
                "ok": deployed.error is None,
                "emulator": base_url,
                "actions": [
                    {"name": a.name, "id": a.id, "version": a.version, "test_status": a.test_status}
                    for a in deployed.actions
                ],
                "error": deployed.error,
                "graph": report.picture.to_json(),
            }
        )
        return
    if deployed.error is not None:
        output.err.print(Text("pulumi up failed: ", style="bold red") + Text(deployed.error))
        return
    table = Table(title=f"Deployed to the emulator at {base_url} (now stopped)")
    for column in ("action", "id", "version", "test"):
        table.add_column(column)
    for action in deployed.actions:
        style = "green" if action.test_status == "SUCCESS" else "bold red"
        table.add_row(
            action.name, action.id, str(action.version), Text(str(action.test_status), style=style)
        )
    output.out.print(table)
    output.out.print(text_tree(report.picture, title))
