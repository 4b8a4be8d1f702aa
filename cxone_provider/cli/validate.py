"""`cxone validate`: every problem of a stack program's declarations, before a deployment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import typer
from rich.text import Text

from cxone_provider.cli.output import (
    EXIT_OK,
    EXIT_PROBLEMS,
    JsonOption,
    Output,
    ProgramArgument,
    StackOption,
    TenantOption,
    declarations_json,
    evaluate_program,
    finding_line,
    program_line,
)
from cxone_provider.cli.tenant import read_tenant

if TYPE_CHECKING:
    from cxone_provider.cli.preflight import Report


EXAMPLES: Final = """Examples:

\b
  cxone validate                      # the project in the current folder
  cxone validate stacks --stack dev   # with the dev stack's config
  cxone validate --tenant --json      # also resolve unmanaged actions on the tenant
"""


def validate_command(
    program_dir: ProgramArgument = Path(),
    stack: StackOption = None,
    tenant: TenantOption = False,
    as_json: JsonOption = False,
) -> None:
    """Check a stack program's declared actions before deploying: every problem at once.

    Runs the program's own code (its __main__.py, as `pulumi up` would, but under Pulumi's
    mocks: no Pulumi CLI, no credentials) in a child process for at most 300 s, and ends
    whatever it leaves running; then the provider's own check on each action (names, sizes,
    V8 syntax with file, line and column) and the graph check on all of them (duplicate
    names, unknown dependencies, cycles with their path, contradictory depends_on). Exit
    code 1 when there is any problem.
    """
    from cxone_provider.cli.preflight import preflight  # noqa: PLC0415 -- keeps `cxone emulator` fast

    output = Output("validate", as_json=as_json)
    tenant_url: str | None = None
    tenant_actions: dict[str, tuple[str, ...]] | None = None
    with output.errors():
        declarations = evaluate_program(output, program_dir, stack)
        if tenant:
            tenant_url, tenant_actions = read_tenant(output, declarations.stack)
        report = preflight(declarations, tenant_actions=tenant_actions, environ=os.environ)
    if as_json:
        output.emit(_report_json(report, output.base, tenant_url))
    else:
        _print_report(output, report, tenant_url)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_PROBLEMS)


def _report_json(report: Report, base: Path, tenant_url: str | None) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "program": declarations_json(report.declarations, base),
        "tenant": None
        if tenant_url is None
        else {"base_url": tenant_url, "actions": len(report.tenant_actions)},
        "problems": [finding.to_json(base) for finding in report.findings],
        "graph": report.picture.to_json(),
    }


def _print_report(output: Output, report: Report, tenant_url: str | None) -> None:
    console = output.out
    console.print(program_line(report.declarations, output.base))
    if tenant_url is not None:
        console.print(f"  read {len(report.tenant_actions)} actions from {tenant_url}")
    if report.ok:
        order = report.picture.order or ()
        console.print(
            Text("✔ No problems. ", style="bold green")
            + Text(f"Creation order: {', '.join(order)}" if order else "Nothing to deploy.")
        )
        return
    count = len(report.findings)
    console.print(Text(f"✘ {count} problem{'s' * (count != 1)}:", style="bold red"))
    for finding in report.findings:
        console.print(finding_line(finding, output.base))
