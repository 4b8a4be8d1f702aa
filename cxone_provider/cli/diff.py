"""`cxone diff`: two sets of Data Actions read (programs, exports, tenants) and compared.

The comparison and its renderings are `comparison` and `comparison_output`; this module
reads the sides, two at a time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.progress import Progress

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.cli.output import (
    EXIT_OK,
    EXIT_PROBLEMS,
    JsonOption,
    Output,
    ReportFormat,
    format_option,
    one_answer,
)
from cxone_provider.cli.project import load_stack_config, locate_project, shown_path
from cxone_provider.cli.tenant import Tenant, list_actions, tenant_client

if TYPE_CHECKING:
    from cxone_provider.cli.comparison import ComparedField, Side, SideSpec


EXAMPLES: Final = """Examples:

\b
  cxone diff --stack prod                  # drift: the program against prod's tenant
  cxone diff --stack staging --stack prod  # a promotion: staging's tenant, then prod's
  cxone diff --stack staging --stack prod --format markdown > diff.md   # a PR comment
  cxone diff adopted --stack prod --ignore description   # an export folder, then prod
  cxone diff https://acme-dev.api.nicecxone.com stack:prod --only 'crm_*' --json
"""
_COMPARED_FIELDS: Final = "script, dependencies, description, enabled, trigger_type, type"
"""For --help, which is built before `cli.comparison` is imported (a test keeps it true)."""


# Over 60 lines: typer reads the command's options from this signature; the body is short.
def diff_command(  # noqa: PLR0917 -- typer maps parameters to arguments and options
    sides: Annotated[
        list[str] | None,
        typer.Argument(
            help="At most two sides, each a folder (a stack program or a `cxone export` "
            "folder), a tenant's URL (http:// or https://), or stack:NAME (as --stack NAME).",
            metavar="SIDE",
            show_default=False,
        ),
    ] = None,
    stack: Annotated[
        list[str] | None,
        typer.Option(
            "--stack",
            "-s",
            metavar="NAME",
            help="A side: the tenant of the stack's Pulumi.NAME.yaml (repeatable; these sides "
            "come after the SIDE arguments).",
            show_default=False,
        ),
    ] = None,
    program_dir: Annotated[
        Path,
        typer.Option(
            "--program",
            "-p",
            metavar="DIR",
            help="The project whose stack files --stack reads, and the program compared when "
            "only one side is given.",
        ),
    ] = Path(),
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            metavar="FIELD",
            help=f"A field not to compare (repeatable): {_COMPARED_FIELDS}.",
            show_default=False,
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            metavar="NAMES",
            help="Compare only these actions: names or shell patterns such as 'crm_*' "
            "(repeatable, or comma-separated).",
            show_default=False,
        ),
    ] = None,
    diff_format: Annotated[ReportFormat, format_option("a PR comment")] = ReportFormat.TEXT,
    as_json: JsonOption = False,
) -> None:
    """Compare two sets of Data Actions and show what differs: drift, and what a promotion does.

    Sides: cxone diff [LEFT] [RIGHT] [--stack NAME]... takes the SIDE arguments,
    then each --stack, in that order, as LEFT and RIGHT. A lone side is RIGHT, and LEFT is
    the --program: `cxone diff --stack prod` compares the program with prod's tenant, `cxone
    diff --stack staging --stack prod` compares two tenants. A side is:

    - a folder: a stack program or a `cxone export` folder, run offline as `cxone validate`
    runs it; it sees the config of the stack it is compared with;

    - --stack NAME or stack:NAME: the tenant of Pulumi.NAME.yaml (in the --program's project):
    its cxone:baseUrl/site and cxone:clientId, else CXONE_BASE_URL and CXONE_CLIENT_ID; the
    secret from CXONE_CLIENT_SECRET_NAME (e.g. CXONE_CLIENT_SECRET_PROD), else
    CXONE_CLIENT_SECRET (a --secret value in the stack file is encrypted: only the Pulumi CLI
    can read it);

    - a URL (http:// or https://): a tenant, as CXONE_CLIENT_ID and CXONE_CLIENT_SECRET.

    Tenants are only read (GET requests, with the client's pacing and retries). Compared:
    what the API stores, normalized as `pulumi preview` normalizes it (dependencies as a
    set: a different order is shown, but is no difference).

    Exit codes: 0 no difference, 1 differences, 2 error.
    """
    from cxone_provider.cli import comparison, comparison_output  # noqa: PLC0415 -- keeps `cxone emulator` fast

    ignored = _ignored_fields(ignore or [])
    one_answer(as_json, diff_format)
    output = Output("diff", as_json=as_json)
    with output.errors():
        specs = comparison.parse_sides(sides or [], stack or [])
        left, right = _read_sides(output, specs, program_dir)
        names = [n.strip() for item in only for n in item.split(",") if n.strip()] if only else None
        compared = comparison.compare(left, right, ignore=ignored, only=names)
    for note in (*left.notes, *right.notes):
        output.note(note)
    if compared.unmatched:
        output.note(f"--only matched no action: {', '.join(compared.unmatched)}")
    if as_json:
        output.emit(comparison_output.to_json(compared))
    elif diff_format is ReportFormat.MARKDOWN:
        output.echo(comparison_output.to_markdown(compared))
    else:
        comparison_output.print_text(compared, output.out)
    raise typer.Exit(EXIT_OK if compared.differences == 0 else EXIT_PROBLEMS)


def _ignored_fields(ignore: list[str]) -> list[ComparedField]:
    from cxone_provider.cli.comparison import ComparedField  # noqa: PLC0415 -- keeps `cxone emulator` fast

    known = [field.value for field in ComparedField]
    unknown = [field for field in ignore if field not in known]
    if unknown:
        message = f"{', '.join(unknown)}: not a compared field; use {', '.join(known)}"
        raise typer.BadParameter(message, param_hint="--ignore")
    return [ComparedField(field) for field in ignore]


def _read_sides(
    output: Output, specs: tuple[SideSpec, SideSpec], program_dir: Path
) -> tuple[Side, Side]:
    """Both sides, read at the same time: a program runs while a tenant is listed.

    Every connection is resolved before anything is read, and two sides that are one tenant
    are refused (missing stack settings falling back to the same environment, say).
    """
    stacks = [spec.value for spec in specs if spec.kind == "stack"]
    program_stack = stacks[0] if len(stacks) == 1 else None
    clients: list[Tenant | None] = []
    try:
        clients.extend(_side_client(spec, program_dir) for spec in specs)
        tenants = [t.client.base_url.lower() for t in clients if t is not None]
        if len(tenants) == len(specs) and tenants[0] == tenants[1]:
            message = (
                f"both sides are the tenant at {tenants[0]}: give each stack its own "
                "cxone:baseUrl (or cxone:site) in its Pulumi.<stack>.yaml"
            )
            raise ConfigurationError(message)
        with output.progress() as progress, ThreadPoolExecutor(max_workers=2) as pool:
            futures = [
                pool.submit(
                    _read_side,
                    spec,
                    tenant,
                    progress=progress,
                    program=Path(spec.value) if spec.value else program_dir,
                    program_stack=program_stack,
                    base=output.base,
                )
                for spec, tenant in zip(specs, clients, strict=True)
            ]
            return futures[0].result(), futures[1].result()
    finally:
        for tenant in clients:
            if tenant is not None:
                tenant.client.close()


def _side_client(spec: SideSpec, program_dir: Path) -> Tenant | None:
    """The client of a tenant side (not yet connected); None for a program."""
    if spec.kind == "url":
        return tenant_client(None, "cxone diff", base_url=spec.value)
    if spec.kind == "program":
        return None
    config = load_stack_config(locate_project(program_dir), spec.value)
    return tenant_client(config, "cxone diff")


def _read_side(
    spec: SideSpec,
    tenant: Tenant | None,
    *,
    progress: Progress,
    program: Path,
    program_stack: str | None,
    base: Path,
) -> Side:
    from cxone_provider.cli import comparison  # noqa: PLC0415 -- keeps `cxone emulator` fast
    from cxone_provider.cli.program import evaluate  # noqa: PLC0415 -- idem

    if tenant is not None:
        listed = list_actions(tenant, progress)
        stack = spec.value if spec.kind == "stack" else None
        return comparison.tenant_side(listed, base_url=tenant.client.base_url, stack=stack)
    progress.add_task(f"Running the program in {program} under Pulumi's mocks", total=None)
    declarations = evaluate(program, program_stack)
    return comparison.program_side(declarations, main=shown_path(declarations.project.main, base))
