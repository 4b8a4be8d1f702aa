"""The `cxone` application: the commands wired into one typer app, and `main`, which runs it.

Each command is a plain function in the module of its name; this module only registers them
(with their examples as epilogs). Help is plain text (typer's rich help shows a type beside
every flag and keeps the docstrings' line breaks).
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable
from importlib import metadata
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand

from cxone_provider.cli import (
    conformance,
    demo,
    diff,
    docs,
    emulator,
    export,
    fleet,
    graph,
    init,
    test,
    validate,
)
from cxone_provider.cli.output import EXIT_INTERRUPTED, EXIT_OK, EXIT_PROBLEMS
from cxone_provider.cli.shutdown import exit_now, interrupted


class _PlainArgument(TyperArgument):
    """An argument shown by its metavar alone: no `<str>` beside it, no `{...}` around it."""

    def display_type(self, ctx: Any) -> str:  # noqa: ARG002 -- typer's signature
        """No type: the metavar and the help say what the argument is."""
        return ""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required:
            name = f"[{name}]"
        return f"{name}..." if self.nargs != 1 else name


class _Command(TyperCommand):
    """A command whose arguments are shown as `_PlainArgument`s.

    `typer.Argument` takes no parameter class, so the command re-classes the arguments typer
    built (same state, two display methods differ).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument:
                param.__class__ = _PlainArgument


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

    Commands that need no Pulumi CLI: init, validate, graph, test, diff, export, conformance,
    emulator, docs. The demo deploys the example stack with `pulumi up`; fleet runs Pulumi on many
    stacks at once (its diff needs no Pulumi CLI). Documentation: `cxone docs`
    (it came with the package).
    """


def _register(name: str, command: Callable[..., Any], examples: str) -> None:
    """Add a command; its summary in `cxone --help` is its docstring's whole first line."""
    summary = inspect.getdoc(command) or ""
    app.command(name, cls=_Command, epilog=examples, short_help=summary.partition("\n")[0])(command)


_register("init", init.init_command, init.EXAMPLES)
_register("validate", validate.validate_command, validate.EXAMPLES)
_register("graph", graph.graph_command, graph.EXAMPLES)
_register("test", test.local_test_command, test.EXAMPLES)
_register("diff", diff.diff_command, diff.EXAMPLES)
_register("export", export.export_command, export.EXAMPLES)
_register("conformance", conformance.conformance_command, conformance.EXAMPLES)
_register("demo", demo.demo_command, demo.EXAMPLES)
_register("fleet", fleet.fleet_command, fleet.EXAMPLES)
_register("emulator", emulator.emulator, emulator.EXAMPLES)
_register("docs", docs.docs_command, docs.EXAMPLES)


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
