"""The `cxone` command line: one entry point, one subcommand per job."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="cxone",
    help="Infrastructure as code for NICE CXone Data Actions.",
    no_args_is_help=True,
    add_completion=False,
)


def main() -> None:
    """Run the `cxone` command line."""
    app()
