"""The `cxone` application: the commands wired into one typer app, and `main`, which runs it.

Each command is a plain function in the module of its name; this module only registers them
(with their examples as epilogs). Help is plain text (typer's rich help shows a type beside
every flag and keeps the docstrings' line breaks).
"""

from __future__ import annotations

import logging
import sys
from importlib import metadata
from typing import Annotated

import typer

from cxone_provider.cli import (
    conformance,
    demo,
    diff,
    emulator,
    export,
    graph,
    test,
    validate,
)
from cxone_provider.cli.output import EXIT_INTERRUPTED, EXIT_OK, EXIT_PROBLEMS
from cxone_provider.cli.shutdown import exit_now, interrupted

app = typer.Typer(
    name="cxone",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"cxone {metadata.version('cxone-provider')}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def cxone(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            metavar="",
            is_eager=True,
            callback=_print_version,
            help="Print the version of cxone-provider and exit.",
        ),
    ] = False,
) -> None:
    """Infrastructure as code for NICE CXone Data Actions.

    Commands that need no Pulumi CLI: emulator, validate, graph, test, export. The demo
    deploys the example stack with `pulumi up`. Documentation: README.md and docs/.
    """


app.command("validate", epilog=validate.EXAMPLES)(validate.validate_command)
app.command("graph", epilog=graph.EXAMPLES)(graph.graph_command)
app.command("export", epilog=export.EXAMPLES)(export.export_command)
app.command("diff", epilog=diff.EXAMPLES)(diff.diff_command)
app.command("test", epilog=test.EXAMPLES)(test.local_test_command)
app.command("conformance", epilog=conformance.EXAMPLES)(conformance.conformance_command)
app.command("demo", epilog=demo.EXAMPLES)(demo.demo_command)
app.command("emulator", epilog=emulator.EXAMPLES)(emulator.emulator)


def main() -> None:
    """Run the `cxone` command line, then end the process (see `shutdown.exit_now`).

    The client's retry notices (stamina's warnings) stay quiet: a command that runs out of
    attempts says why in its own error.
    """
    logging.getLogger("stamina").setLevel(logging.ERROR)
    try:
        app()
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            interrupted()
        if isinstance(exc.code, str):
            sys.stderr.write(exc.code + "\n")
            exit_now(EXIT_PROBLEMS)
        exit_now(exc.code or EXIT_OK)
    exit_now(EXIT_OK)
