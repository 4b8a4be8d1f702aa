"""`cxone export`: a tenant's actions written as a stack program that adopts them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, NoReturn

import typer
from rich.text import Text

from cxone_provider.api.errors import ConfigurationError, ProgramError
from cxone_provider.cli.output import (
    EXIT_PROBLEMS,
    JsonOption,
    Output,
)
from cxone_provider.cli.project import folder_project_name, load_stack_config, locate_project
from cxone_provider.cli.tenant import list_actions, tenant_client

if TYPE_CHECKING:
    from cxone_provider.api.models import Action
    from cxone_provider.cli.export_program import Export, Skipped


EXAMPLES: Final = """Examples:

\b
  export CXONE_BASE_URL=https://acme.api.nicecxone.com CXONE_CLIENT_ID=...
  export CXONE_CLIENT_SECRET=...
  cxone export --out adopted                    # every action of the tenant
  cxone export --out crm --name-filter '^crm_'  # only the names that match
  cxone export --out adopted --stack dev        # connect with the dev stack's config
"""


# Over 60 lines: typer reads the command's options from this signature; the body is short.
def export_command(  # noqa: PLR0917 -- typer maps parameters to options
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Folder to write the program into.")
    ],
    name_filter: Annotated[
        str | None,
        typer.Option(
            "--name-filter",
            metavar="REGEX",
            help="Only actions whose name matches this regular expression (searched).",
            show_default=False,
        ),
    ] = None,
    project_name: Annotated[
        str | None,
        typer.Option(
            "--project-name",
            metavar="NAME",
            help="The exported project's name; default: the --out folder's name.",
            show_default=False,
        ),
    ] = None,
    stack: Annotated[
        str | None,
        typer.Option(
            "--stack",
            "-s",
            metavar="STACK",
            help="Stack whose config file (Pulumi.<stack>.yaml, in the --program project) "
            "connects to the tenant; default: the environment variables.",
            show_default=False,
        ),
    ] = None,
    program_dir: Annotated[
        Path,
        typer.Option(
            "--program",
            metavar="DIR",
            help="Project whose --stack config connects to the tenant.",
            show_default="the current folder",
        ),
    ] = Path(),
    force: Annotated[
        bool,
        typer.Option(
            "--force", metavar="", help="Overwrite the files of an earlier export in --out."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write a tenant's actions as a ready-to-run stack program that adopts them.

    One .js file per action and the declarations with their dependencies, each with
    adopt=True, so the first `pulumi up` adopts the actions instead of creating them.
    Connection: the --stack's cxone:baseUrl/site and clientId, else CXONE_BASE_URL and
    CXONE_CLIENT_ID; the secret from CXONE_CLIENT_SECRET (a --secret value in the stack file
    is encrypted: only the Pulumi CLI can read it).
    """
    from cxone_provider.cli import export_program as export  # noqa: PLC0415 -- keeps `cxone emulator` fast

    output = Output("export", as_json=as_json)
    with output.errors():
        earlier = export.existing_files(out)
        if earlier and not force:
            message = (
                f"{str(out)!r} already holds {', '.join(earlier)}; pass --force to overwrite "
                "them, or choose another --out"
            )
            raise ConfigurationError(message)
        stack_config = load_stack_config(locate_project(program_dir), stack) if stack else None
        tenant = tenant_client(stack_config, "cxone export")
        client = tenant.client
        with client, output.progress() as progress:
            listed = list_actions(tenant, progress)
            selected, skipped = export.exportable(export.select(listed, name_filter))
            for skip in skipped:
                output.note(f"skipped the action {skip.name!r}: {skip.reason}")
            if not selected:
                _nothing_to_export(output, listed, name_filter, client.base_url, skipped)
            writing = progress.add_task(f"Writing {out}", total=len(selected))
            written = export.write_program(
                selected,
                out,
                source=client.base_url,
                project=project_name or folder_project_name(out),
                on_written=lambda _name: progress.advance(writing),
            )
    managed = _managed_elsewhere(selected, program_dir)
    if managed:
        shown = ", ".join(f"{name} ({why})" for name, why in list(managed.items())[:_LISTED_NAMES])
        output.note(
            f"{len(managed)} of the exported actions are already managed by Pulumi: {shown}. "
            "Two stacks managing one action undo each other's changes: leave them out of "
            "this program (--name-filter), or remove them from the other stack first "
            "(`pulumi state delete`)"
        )
    if as_json:
        output.emit(
            {
                "ok": True,
                "managed_elsewhere": managed,
                "out": str(out),
                "source": client.base_url,
                "tenant_actions": len(listed),
                "actions": [
                    {
                        "name": a.name,
                        "id": a.id,
                        "file": a.file,
                        "dependencies": list(a.dependencies),
                    }
                    for a in written.actions
                ],
                "unmanaged": list(written.unmanaged),
                "skipped": [{"name": skip.name, "reason": skip.reason} for skip in skipped],
                "requirement": written.requirement.line,
            }
        )
        return
    _print_export(output, written, len(listed), client.base_url)


_LISTED_NAMES: Final = 20


def _nothing_to_export(
    output: Output,
    listed: list[Action],
    name_filter: str | None,
    source: str,
    skipped: list[Skipped],
) -> NoReturn:
    """Exit 1 without writing anything: an empty program adopts nothing."""
    if skipped:
        message = (
            f"every selected action was skipped ({len(skipped)}: see the notes); nothing was "
            "written"
        )
    elif not listed:
        message = f"the tenant at {source} has no actions: nothing to export"
    else:
        names = [action.name for action in listed]
        shown = ", ".join(names[:_LISTED_NAMES]) + (", …" if len(names) > _LISTED_NAMES else "")
        message = (
            f"--name-filter {name_filter!r} matches none of the {len(names)} actions of "
            f"{source} ({shown}); the filter is a regular expression searched in each name, "
            "e.g. '^crm_'. Nothing was written"
        )
    if output.as_json:
        output.emit(
            {
                "ok": False,
                "source": source,
                "tenant_actions": len(listed),
                "skipped": [{"name": skip.name, "reason": skip.reason} for skip in skipped],
                "error": {"type": "NothingToExport", "message": message},
            }
        )
    else:
        output.err.print(Text("✘ ", style="bold red") + Text(message))
    raise typer.Exit(EXIT_PROBLEMS)


def _managed_elsewhere(actions: list[Action], program_dir: Path) -> dict[str, str]:
    """What the --program project's stacks (or the provider's description) say is managed."""
    from cxone_provider.cli import managed  # noqa: PLC0415 -- keeps `cxone emulator` fast

    try:
        project = locate_project(program_dir)
    except ProgramError:
        project = None
    stack_ids = (
        managed.stack_action_ids(project.root)
        if project is not None and project.manifest is not None
        else {}
    )
    return managed.managed_elsewhere(actions, stack_ids)


def _print_export(output: Output, written: Export, listed: int, source: str) -> None:
    console = output.out
    count = len(written.actions)
    console.print(
        Text("✔ ", style="bold green")
        + Text(f"Exported {count} of {listed} actions from {source} to {written.out}")
    )
    if written.unmanaged:
        console.print(
            f"  left unmanaged (dependencies not exported): {', '.join(written.unmanaged)}"
        )
    console.print(f"  requirements.txt installs cxone-provider from {written.requirement.origin}")
    console.print(f"Next: see {written.out / 'README.md'} (set up, then `pulumi up` adopts them)")
