"""The `cxone` command line: one entry point, one subcommand per job.

Output is for people by default (colour where the terminal has it) and for machines with
`--json`: one JSON object on stdout, `{"schema": 1, "command": ..., "ok": ..., ...}`, as
docs/cli.md documents. Exit codes: 0 ok, 1 problems found, 2 usage or connection error (click
already ends usage errors with 2), 130 interrupted. Notes and progress go to stderr, so that
stdout carries only the result (a drawing can be piped into a file). Help is plain text
(typer's rich help shows a type beside every flag and keeps the docstrings' line breaks).
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NamedTuple, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table
from rich.text import Text

from cxone_provider.api.errors import (
    ConfigurationError,
    CxoneError,
    DeadlineExceededError,
    ProgramError,
)

if TYPE_CHECKING:
    from cxone_provider.api.client import CxoneClient
    from cxone_provider.api.models import Action
    from cxone_provider.cli.automation import Deployed
    from cxone_provider.cli.comparison import ComparedField, Side, SideSpec
    from cxone_provider.cli.export_program import Export
    from cxone_provider.cli.localrun import Outcome
    from cxone_provider.cli.preflight import Finding, GraphPicture, Report
    from cxone_provider.cli.program import Declarations, StackConfig

SCHEMA: Final = 1
EXIT_OK: Final = 0
EXIT_PROBLEMS: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130
"""What shells report for a process ended by SIGINT (Ctrl-C)."""
CLI_MAX_ATTEMPTS: Final = 3
"""API attempts per call: a command line should fail fast when the tenant is unreachable."""

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


# --- shared options and output -------------------------------------------------------------

ProgramArgument = Annotated[
    Path,
    typer.Argument(
        metavar="PROGRAM_DIR",
        help="The Pulumi project folder (with Pulumi.yaml) or its program folder (__main__.py).",
        show_default="the current folder",
    ),
]


def _stack_option(what: str) -> Any:
    """The --stack option; `what` says what else its config is for in this command."""
    return typer.Option(
        "--stack",
        "-s",
        metavar="STACK",
        help=f"Stack whose config file (Pulumi.<stack>.yaml) the program sees{what}.",
        show_default=False,
    )


StackOption = Annotated[str | None, _stack_option("; its cxone:* settings also connect --tenant")]
ProgramStackOption = Annotated[str | None, _stack_option("")]

TenantOption = Annotated[
    bool,
    typer.Option(
        "--tenant",
        metavar="",
        help="Also read the tenant's (or emulator's) actions, for dependencies on actions the "
        "program does not manage. Connection: the stack's cxone:baseUrl/site, clientId and "
        "clientSecret, else CXONE_BASE_URL, CXONE_CLIENT_ID and CXONE_CLIENT_SECRET.",
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", metavar="", help="Print one JSON object (schema in docs/cli.md)."),
]


class _Output:
    """Where a command writes: rich text for people, or one JSON object for machines."""

    def __init__(self, command: str, *, as_json: bool) -> None:
        self.command = command
        self.as_json = as_json
        self.out = Console(soft_wrap=True, highlight=False)
        self.err = Console(stderr=True, soft_wrap=True, highlight=False)
        self.base = Path.cwd()

    def emit(self, payload: dict[str, Any]) -> None:
        """The `--json` answer; a lone surrogate in a string is written as its JSON escape."""
        document = {"schema": SCHEMA, "command": self.command, **payload}
        text = json.dumps(document, indent=2, ensure_ascii=False)
        typer.echo(text.encode("utf-8", "backslashreplace").decode("utf-8"))

    def note(self, message: str) -> None:
        """A remark for people, on stderr (never in --json mode)."""
        if not self.as_json:
            self.err.print(Text("note: ", style="bold yellow") + Text(message))

    def fail(self, error: CxoneError) -> NoReturn:
        """End the command with exit code 2: it could not do its job."""
        if self.as_json:
            self.emit({"ok": False, "error": {"type": type(error).__name__, "message": str(error)}})
        else:
            self.err.print(Text("error: ", style="bold red") + Text(str(error)))
        raise typer.Exit(EXIT_USAGE)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn the package's errors (configuration, program, connection, API) into exit 2."""
        try:
            yield
        except CxoneError as exc:
            self.fail(exc)

    @contextmanager
    def progress(self) -> Iterator[Progress]:
        """A progress display on stderr; off with --json and when stderr is not a terminal."""
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=self.err,
            transient=True,
            disable=self.as_json or not self.err.is_terminal,
        ) as progress:
            yield progress


def _evaluate(output: _Output, program_dir: Path, stack: str | None) -> Declarations:
    from cxone_provider.cli.program import evaluate  # noqa: PLC0415 -- keeps `cxone emulator` fast

    with output.progress() as progress:
        progress.add_task("Running the stack program under Pulumi's mocks", total=None)
        return evaluate(program_dir, stack)


class _Tenant(NamedTuple):
    """A client of a tenant, and the seconds a command may spend reading it."""

    client: CxoneClient
    timeout_s: float


def _client(stack: StackConfig | None, command: str, base_url: str | None = None) -> _Tenant:
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
    return _Tenant(client, settings.operation_timeout_s)


def stack_secret_variable(stack: str) -> str:
    """`CXONE_CLIENT_SECRET_<STACK>`: the stack's name in capitals, other characters as `_`."""
    return "CXONE_CLIENT_SECRET_" + "".join(
        c if c.isascii() and c.isalnum() else "_" for c in stack.upper()
    )


def _read_tenant(
    output: _Output, stack: StackConfig | None
) -> tuple[str, dict[str, tuple[str, ...]]]:
    """The tenant's base URL and its actions (name to dependencies)."""
    tenant = _client(stack, f"cxone {output.command} --tenant")
    with tenant.client, output.progress() as progress:
        listed = _list_actions(tenant, progress)
        return tenant.client.base_url, {a.name: tuple(a.dependencies) for a in listed}


def _list_actions(tenant: _Tenant, progress: Progress) -> list[Action]:
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


def _shown_path(path: Path, base: Path) -> str:
    from cxone_provider.cli.preflight import shown_path  # noqa: PLC0415 -- keeps `cxone emulator` fast

    return shown_path(path, base)


def _program_line(declarations: Declarations, base: Path) -> Text:
    where = _shown_path(declarations.project.main, base)
    count = len(declarations.actions)
    text = Text(declarations.project.name, style="bold")
    text.append(f": {count} action{'s' * (count != 1)} declared in {where}")
    if declarations.stack.file is not None:
        text.append(f" (stack {declarations.stack.name})")
    return text


def _finding_line(finding: Finding, base: Path) -> Text:
    text = Text("  ✘ ", style="bold red")
    if finding.file is not None:
        text.append(finding.where(base), style="bold")
        subject = ".".join(part for part in (finding.action, finding.field) if part)
        if subject:
            text.append(f" ({subject})")
    else:
        text.append(finding.where(base), style="bold")
    return text.append(f": {finding.message}")


def _picture_title(declarations: Declarations, picture: GraphPicture) -> str:
    """The project and what the picture shows: every box is counted once, by kind."""
    kinds = Counter(node.kind for node in picture.nodes)
    count = kinds["declared"]
    parts = [f"{count} action{'s' * (count != 1)}"]
    if kinds["tenant"]:
        parts.append(f"{kinds['tenant']} on the tenant only")
    if kinds["unknown"]:
        parts.append(f"{kinds['unknown']} unknown")
    return f"{declarations.project.name}: {', '.join(parts)}"


# --- validate ------------------------------------------------------------------------------

_VALIDATE_EXAMPLE: Final = """Examples:

\b
  cxone validate                      # the project in the current folder
  cxone validate stacks --stack dev   # with the dev stack's config
  cxone validate --tenant --json      # also resolve unmanaged actions on the tenant
"""


@app.command("validate", epilog=_VALIDATE_EXAMPLE)
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

    output = _Output("validate", as_json=as_json)
    tenant_url: str | None = None
    tenant_actions: dict[str, tuple[str, ...]] | None = None
    with output.errors():
        declarations = _evaluate(output, program_dir, stack)
        if tenant:
            tenant_url, tenant_actions = _read_tenant(output, declarations.stack)
        report = preflight(declarations, tenant_actions=tenant_actions, environ=os.environ)
    if as_json:
        output.emit(_report_json(report, output.base, tenant_url))
    else:
        _print_report(output, report, tenant_url)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_PROBLEMS)


def _declarations_json(declarations: Declarations, base: Path) -> dict[str, Any]:
    project = declarations.project
    return {
        "project": project.name,
        "main": _shown_path(project.main, base),
        "stack": declarations.stack.name if declarations.stack.file is not None else None,
        "actions": [
            {
                "name": action.name,
                "resource": action.resource,
                "dependencies": action.declaration.dependencies,
                "depends_on": list(action.declaration.depends_on),
                "script_file": _shown_path(action.script_file, base)
                if action.script_file
                else None,
                "declared_by": action.declared_by,
            }
            for action in declarations.actions
        ],
    }


def _report_json(report: Report, base: Path, tenant_url: str | None) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "program": _declarations_json(report.declarations, base),
        "tenant": None
        if tenant_url is None
        else {"base_url": tenant_url, "actions": len(report.tenant_actions)},
        "problems": [finding.to_json(base) for finding in report.findings],
        "graph": report.picture.to_json(),
    }


def _print_report(output: _Output, report: Report, tenant_url: str | None) -> None:
    console = output.out
    console.print(_program_line(report.declarations, output.base))
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
        console.print(_finding_line(finding, output.base))


# --- graph ---------------------------------------------------------------------------------


class GraphFormat(StrEnum):
    """The drawings `cxone graph` makes."""

    MERMAID = "mermaid"
    DOT = "dot"
    PNG = "png"
    TEXT = "text"


_GRAPH_EXAMPLE: Final = """Examples:

\b
  cxone graph > graph.mmd                          # Mermaid, for a pull request
  cxone graph stacks --format dot --out graph.dot  # then: dot -Tsvg graph.dot
  cxone graph --format png --out graph.png --tenant
"""


@app.command("graph", epilog=_GRAPH_EXAMPLE)
def graph_command(  # noqa: PLR0917 -- typer maps parameters to arguments and options
    program_dir: ProgramArgument = Path(),
    graph_format: Annotated[
        GraphFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            case_sensitive=False,
            help="mermaid, dot, png (needs --out) or text (a tree).",
        ),
    ] = GraphFormat.MERMAID,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help="File to write; default: stdout.",
            show_default=False,
        ),
    ] = None,
    stack: StackOption = None,
    tenant: TenantOption = False,
    as_json: JsonOption = False,
) -> None:
    """Draw the dependency graph of the declared actions (and of the tenant's with --tenant).

    An arrow points from an action to what it needs. Cycles and unknown dependencies are
    drawn in red; actions only on the tenant in grey. Exit code 1 when the graph has a
    problem (the drawing is still made) or when the program raised (then nothing is drawn:
    its declarations are incomplete).
    """
    from cxone_provider.cli.preflight import (  # noqa: PLC0415 -- keeps `cxone emulator` fast
        check_graph,
        with_program_failure,
    )

    output = _Output("graph", as_json=as_json)
    if graph_format is GraphFormat.PNG and out is None:
        message = "--format png writes a picture: give the file with --out graph.png"
        raise typer.BadParameter(message, param_hint="--out")
    tenant_url: str | None = None
    with output.errors():
        declarations = _evaluate(output, program_dir, stack)
        tenant_actions = None
        if tenant:
            tenant_url, tenant_actions = _read_tenant(output, declarations.stack)
        graph_findings, picture = check_graph(declarations, tenant_actions=tenant_actions)
        findings = with_program_failure(declarations, graph_findings)
        title = _picture_title(declarations, picture)
        drawing = None
        if declarations.failure is None or declarations.failure.repeats_a_check:
            drawing = _drawing(graph_format, picture, title)
            if out is not None:
                _write(out, drawing)
    if as_json:
        output.emit(
            {
                "ok": not findings,
                "format": graph_format.value,
                "out": str(out) if out is not None and drawing is not None else None,
                "content": drawing if out is None and isinstance(drawing, str) else None,
                "program": _declarations_json(declarations, output.base),
                "tenant": None if tenant_url is None else {"base_url": tenant_url},
                "graph": picture.to_json(),
                "problems": [finding.to_json(output.base) for finding in findings],
            }
        )
    else:
        if drawing is None:
            output.err.print(
                Text("✘ Nothing drawn: ", style="bold red")
                + Text("the program raised before declaring everything; fix it and run again.")
            )
        else:
            _print_drawing(output, picture, title, drawing, (graph_format, out))
        for finding in findings:
            output.err.print(_finding_line(finding, output.base))
    raise typer.Exit(EXIT_PROBLEMS if findings else EXIT_OK)


def _drawing(graph_format: GraphFormat, picture: GraphPicture, title: str) -> str | bytes:
    from cxone_provider.cli import render  # noqa: PLC0415 -- keeps `cxone emulator` fast

    if graph_format is GraphFormat.MERMAID:
        return render.render_mermaid(picture)
    if graph_format is GraphFormat.DOT:
        return render.render_dot(picture)
    if graph_format is GraphFormat.PNG:
        return render.render_png(picture, title)
    return render.render_text(picture, title)


def _write(out: Path, drawing: str | bytes) -> None:
    try:
        if isinstance(drawing, bytes):
            out.write_bytes(drawing)
        else:
            out.write_text(drawing, encoding="utf-8")
    except OSError as exc:
        msg = f"cannot write {str(out)!r}: {exc.strerror or exc}"
        raise ConfigurationError(msg) from None


def _print_drawing(
    output: _Output,
    picture: GraphPicture,
    title: str,
    drawing: str | bytes,
    where: tuple[GraphFormat, Path | None],
) -> None:
    from cxone_provider.cli.render import text_tree  # noqa: PLC0415 -- keeps `cxone emulator` fast

    graph_format, out = where
    if out is not None:
        nodes, edges = len(picture.nodes), len(picture.edges)
        output.err.print(f"Wrote the {graph_format} graph ({nodes} boxes, {edges} arrows) to {out}")
    elif graph_format is GraphFormat.TEXT and output.out.is_terminal:
        output.out.print(text_tree(picture, title))
    elif isinstance(drawing, str):
        typer.echo(drawing, nl=False)


# --- export --------------------------------------------------------------------------------

_EXPORT_EXAMPLE: Final = """Examples:

\b
  export CXONE_BASE_URL=https://acme.api.nicecxone.com CXONE_CLIENT_ID=...
  export CXONE_CLIENT_SECRET=...
  cxone export --out adopted                    # every action of the tenant
  cxone export --out crm --name-filter '^crm_'  # only the names that match
  cxone export --out adopted --stack dev        # connect with the dev stack's config
"""


@app.command("export", epilog=_EXPORT_EXAMPLE)
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
    Connection: the --stack's cxone:* config, else CXONE_BASE_URL, CXONE_CLIENT_ID,
    CXONE_CLIENT_SECRET.
    """
    from cxone_provider.cli import export_program as export  # noqa: PLC0415 -- keeps `cxone emulator` fast
    from cxone_provider.cli.program import (  # noqa: PLC0415 -- idem
        load_stack_config,
        locate_project,
    )

    output = _Output("export", as_json=as_json)
    with output.errors():
        earlier = export.existing_files(out)
        if earlier and not force:
            message = (
                f"{str(out)!r} already holds {', '.join(earlier)}; pass --force to overwrite "
                "them, or choose another --out"
            )
            raise ConfigurationError(message)
        stack_config = load_stack_config(locate_project(program_dir), stack) if stack else None
        tenant = _client(stack_config, "cxone export")
        client = tenant.client
        with client, output.progress() as progress:
            listed = _list_actions(tenant, progress)
            selected = export.select(listed, name_filter)
            if not selected:
                _nothing_to_export(output, listed, name_filter, client.base_url)
            writing = progress.add_task(f"Writing {out}", total=len(selected))
            written = export.write_program(
                selected,
                out,
                source=client.base_url,
                project=project_name or _project_name(out),
                on_written=lambda _name: progress.advance(writing),
            )
    if as_json:
        output.emit(
            {
                "ok": True,
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
                "requirement": written.requirement.line,
            }
        )
        return
    _print_export(output, written, len(listed), client.base_url)


_LISTED_NAMES: Final = 20


def _nothing_to_export(
    output: _Output, listed: list[Action], name_filter: str | None, source: str
) -> NoReturn:
    """Exit 1 without writing anything: an empty program adopts nothing."""
    if not listed:
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
                "error": {"type": "NothingToExport", "message": message},
            }
        )
    else:
        output.err.print(Text("✘ ", style="bold red") + Text(message))
    raise typer.Exit(EXIT_PROBLEMS)


def _project_name(out: Path) -> str:
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in out.resolve().name)
    return name.strip("-.") or "cxone-actions"


def _print_export(output: _Output, written: Export, listed: int, source: str) -> None:
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


# --- diff ----------------------------------------------------------------------------------


class DiffFormat(StrEnum):
    """How `cxone diff` prints its answer when it is not --json."""

    TEXT = "text"
    MARKDOWN = "markdown"


_DIFF_EXAMPLE: Final = """Examples:

\b
  cxone diff --stack prod                  # drift: the program against prod's tenant
  cxone diff --stack staging --stack prod  # a promotion: staging's tenant, then prod's
  cxone diff --stack staging --stack prod --format markdown > diff.md   # a PR comment
  cxone diff adopted --stack prod --ignore description   # an export folder, then prod
  cxone diff https://acme-dev.api.nicecxone.com stack:prod --only 'crm_*' --json
"""
_COMPARED_FIELDS: Final = "script, dependencies, description, enabled, trigger_type, type"
"""For --help, which is built before `cli.comparison` is imported (a test keeps it true)."""


@app.command("diff", epilog=_DIFF_EXAMPLE)
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
    diff_format: Annotated[
        DiffFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            case_sensitive=False,
            help="text for a terminal, markdown for a PR comment.",
        ),
    ] = DiffFormat.TEXT,
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
    CXONE_CLIENT_SECRET;

    - a URL (http:// or https://): a tenant, as CXONE_CLIENT_ID and CXONE_CLIENT_SECRET.

    Tenants are only read (GET requests, with the client's pacing and retries). Compared:
    what the API stores, normalized as `pulumi preview` normalizes it (dependencies as a
    set: a different order is shown, but is no difference).

    Exit codes: 0 no difference, 1 differences, 2 error.
    """
    from cxone_provider.cli import comparison as diff  # noqa: PLC0415 -- keeps `cxone emulator` fast

    ignored = _ignored_fields(ignore or [])
    if as_json and diff_format is not DiffFormat.TEXT:
        message = "--json and --format markdown are two answers: give one of them"
        raise typer.BadParameter(message, param_hint="--format")
    output = _Output("diff", as_json=as_json)
    with output.errors():
        specs = diff.parse_sides(sides or [], stack or [])
        left, right = _read_sides(output, specs, program_dir)
        names = [n.strip() for item in only for n in item.split(",") if n.strip()] if only else None
        comparison = diff.compare(left, right, ignore=ignored, only=names)
    for note in (*left.notes, *right.notes):
        output.note(note)
    if comparison.unmatched:
        output.note(f"--only matched no action: {', '.join(comparison.unmatched)}")
    if as_json:
        output.emit(diff.to_json(comparison))
    elif diff_format is DiffFormat.MARKDOWN:
        typer.echo(diff.to_markdown(comparison), nl=False)
    else:
        diff.print_text(comparison, output.out)
    raise typer.Exit(EXIT_OK if comparison.differences == 0 else EXIT_PROBLEMS)


def _ignored_fields(ignore: list[str]) -> list[ComparedField]:
    from cxone_provider.cli.comparison import ComparedField  # noqa: PLC0415 -- keeps `cxone emulator` fast

    known = [field.value for field in ComparedField]
    unknown = [field for field in ignore if field not in known]
    if unknown:
        message = f"{', '.join(unknown)}: not a compared field; use {', '.join(known)}"
        raise typer.BadParameter(message, param_hint="--ignore")
    return [ComparedField(field) for field in ignore]


def _read_sides(
    output: _Output, specs: tuple[SideSpec, SideSpec], program_dir: Path
) -> tuple[Side, Side]:
    """Both sides, read at the same time: a program runs while a tenant is listed.

    Every connection is resolved before anything is read, and two sides that are one tenant
    are refused (missing stack settings falling back to the same environment, say).
    """
    stacks = [spec.value for spec in specs if spec.kind == "stack"]
    program_stack = stacks[0] if len(stacks) == 1 else None
    clients: list[_Tenant | None] = []
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


def _side_client(spec: SideSpec, program_dir: Path) -> _Tenant | None:
    """The client of a tenant side (not yet connected); None for a program."""
    from cxone_provider.cli.program import load_stack_config, locate_project  # noqa: PLC0415 -- idem

    if spec.kind == "url":
        return _client(None, "cxone diff", base_url=spec.value)
    if spec.kind == "program":
        return None
    config = load_stack_config(locate_project(program_dir), spec.value)
    return _client(config, "cxone diff")


def _read_side(
    spec: SideSpec,
    tenant: _Tenant | None,
    *,
    progress: Progress,
    program: Path,
    program_stack: str | None,
    base: Path,
) -> Side:
    from cxone_provider.cli import comparison as diff  # noqa: PLC0415 -- keeps `cxone emulator` fast
    from cxone_provider.cli.program import evaluate  # noqa: PLC0415 -- idem

    if tenant is not None:
        listed = _list_actions(tenant, progress)
        stack = spec.value if spec.kind == "stack" else None
        return diff.tenant_side(listed, base_url=tenant.client.base_url, stack=stack)
    progress.add_task(f"Running the program in {program} under Pulumi's mocks", total=None)
    declarations = evaluate(program, program_stack)
    return diff.program_side(declarations, main=_shown_path(declarations.project.main, base))


# --- test ----------------------------------------------------------------------------------

_TEST_EXAMPLE: Final = """Examples:

\b
  cxone test lead_score                            # its test_input and expected_output
  cxone test lead_score --input '{"employees": 5}'  # another input (not compared)
  cxone test stacks/actions/normalize_phone.js --input @phone.json --program .
"""


@app.command("test", epilog=_TEST_EXAMPLE)
def local_test_command(
    script_or_name: Annotated[
        str,
        typer.Argument(
            metavar="SCRIPT_OR_NAME", help="A declared action's name, or a script file (.js)."
        ),
    ],
    input_text: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            metavar="JSON|@FILE",
            help="JSON input, or @file.json; default: the action's declared test_input.",
            show_default=False,
        ),
    ] = None,
    program_dir: Annotated[
        Path | None,
        typer.Option(
            "--program",
            "-p",
            metavar="DIR",
            help="Project whose declarations give the action, its dependencies and its test "
            "(default: the current folder for a name; none for a script file).",
            show_default=False,
        ),
    ] = None,
    stack: ProgramStackOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run one action locally in the emulator's sandbox: unit tests without a tenant.

    context.call reaches the program's declared actions (each with its own dependencies).
    Prints status, output, error and duration; exit code 1 when the run fails or, with the
    declared test_input, does not return the declared expected_output.
    """
    from cxone_provider.cli import localrun  # noqa: PLC0415 -- keeps `cxone emulator` fast

    output = _Output("test", as_json=as_json)
    with output.errors():
        given = localrun.parse_input(input_text) if input_text is not None else None
        script = Path(script_or_name)
        if script.is_file():
            declarations = (
                _evaluate(output, program_dir, stack) if program_dir is not None else None
            )
            local = localrun.for_script(script, declarations, given)
        else:
            declarations = _evaluate(output, program_dir or Path(), stack)
            action = declarations.find(script_or_name)
            if action is None:
                raise ProgramError(_no_such_action(script_or_name, declarations))
            local = localrun.for_action(declarations, action, given)
        if declarations is not None and declarations.failure is not None:
            output.note(
                f"{declarations.failure.describe()}; what it declared after that is missing"
            )
        with _ctrl_c_ends_at_once():
            outcome = localrun.run(local)
    if as_json:
        output.emit(_outcome_json(outcome, output.base))
    else:
        _print_outcome(output, outcome)
    raise typer.Exit(EXIT_OK if outcome.verdict.passed else EXIT_PROBLEMS)


def _no_such_action(name: str, declarations: Declarations) -> str:
    failure = declarations.failure
    if failure is not None and not failure.repeats_a_check:
        return (
            f"{name!r} is not declared: {failure.describe()}, so its declarations are "
            "incomplete; fix the program (`cxone validate` lists every problem) and run again"
        )
    names = declarations.names()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    declared = ", ".join(names) or "none"
    return (
        f"{name!r} is neither a script file nor an action declared in "
        f"{declarations.project.main}; {hint}declared: {declared}"
    )


def _outcome_json(outcome: Outcome, base: Path) -> dict[str, Any]:
    local, result = outcome.run, outcome.verdict.result
    return {
        "ok": outcome.verdict.passed,
        "action": local.name,
        "script_file": _shown_path(local.script_file, base) if local.script_file else None,
        "input": local.test_input,
        "input_source": local.input_source,
        "status": result.status,
        "output": result.output,
        "error": result.error,
        "duration_ms": result.duration_ms,
        "expected_output": {
            "compared": outcome.compared,
            "matched": outcome.matched,
            "value": local.plan.expected_output if outcome.compared else None,
        },
        "passed": outcome.verdict.passed,
        "reason": outcome.verdict.reason,
        "hint": outcome.hint,
        "unresolved_dependencies": list(local.unresolved),
    }


def _print_outcome(output: _Output, outcome: Outcome) -> None:
    local, result = outcome.run, outcome.verdict.result
    console = output.out
    subject = Text(local.name or "script", style="bold")
    if local.script_file is not None:
        subject.append(f" ({_shown_path(local.script_file, output.base)})")
    source = {"given": "--input", "declared": "its test_input", "default": "the default input"}
    subject.append(f" with {source[local.input_source]}")
    console.print(subject)
    status_style = "bold green" if result.status == "SUCCESS" else "bold red"
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    table.add_row("status", Text(result.status, style=status_style))
    table.add_row("duration", f"{result.duration_ms:.1f} ms")
    table.add_row("output", json.dumps(result.output, indent=2, ensure_ascii=False))
    table.add_row("error", Text(result.error or "none", style="red" if result.error else ""))
    table.add_row("expected", _expected_text(outcome))
    console.print(table)
    if local.unresolved:
        output.note(
            f"not declared in the program, so context.call cannot reach them here: "
            f"{', '.join(local.unresolved)}"
        )
    if outcome.verdict.passed:
        console.print(Text("✔ PASSED", style="bold green"))
    else:
        console.print(Text(f"✘ FAILED: {outcome.verdict.reason}", style="bold red"))
    if outcome.hint is not None:
        output.note(outcome.hint)


def _expected_text(outcome: Outcome) -> Text:
    if outcome.compared:
        if outcome.matched:
            return Text("matches the declared expected_output", style="green")
        if outcome.matched is False:
            return Text("does NOT match the declared expected_output", style="bold red")
        return Text("not compared: the run did not succeed")
    if outcome.run.input_source == "given":
        return Text("not compared: --input replaces the test_input that expected_output is for")
    return Text("none declared")


# --- demo ----------------------------------------------------------------------------------

_DEMO_EXAMPLE: Final = """Examples:

\b
  cxone demo                 # needs the Pulumi CLI (installed for you where possible)
  cxone demo --no-install --json
"""


@app.command("demo", epilog=_DEMO_EXAMPLE)
def demo_command(
    program_dir: Annotated[
        Path | None,
        typer.Option(
            "--program",
            metavar="DIR",
            help="Project to deploy; default: this repository's example stack.",
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
    from cxone_provider.cli.program import evaluate, locate_project  # noqa: PLC0415 -- idem

    output = _Output("demo", as_json=as_json)
    with output.errors():
        project = locate_project(program_dir if program_dir is not None else _example_project())
        with output.progress() as progress:
            progress.add_task("Checking the program", total=None)
            report = preflight(evaluate(project.root), environ=os.environ)
        if not report.ok:
            _demo_problems(output, report)
        with output.progress() as progress:
            progress.add_task("Looking for the Pulumi CLI", total=None)
            found = demo.find_pulumi(install=install, install_timeout_s=install_timeout)
        if found.command is None:
            _pulumi_missing(output, demo.install_advice(found.reason))
        total = len(report.declarations.actions)
        with demo.running_emulator() as base_url, output.progress() as progress:
            task = progress.add_task(f"pulumi up: {total} actions to {base_url}", total=total)
            deployed = demo.pulumi_up(
                project, base_url, found.command, on_action=lambda _name: progress.advance(task)
            )
    _print_demo(output, report, base_url, deployed)
    raise typer.Exit(EXIT_OK if deployed.error is None else EXIT_PROBLEMS)


def _example_project() -> Path:
    """The root of the checkout this package runs from (the example stack), else the cwd."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "Pulumi.yaml").is_file() else Path()


def _pulumi_missing(output: _Output, advice: str) -> NoReturn:
    if output.as_json:
        output.emit({"ok": False, "error": {"type": "PulumiCliMissing", "message": advice}})
    else:
        output.err.print(Text("error: ", style="bold red") + Text(advice))
    raise typer.Exit(EXIT_USAGE)


def _demo_problems(output: _Output, report: Report) -> NoReturn:
    if output.as_json:
        output.emit({"ok": False, "problems": [f.to_json(output.base) for f in report.findings]})
    else:
        output.err.print(Text("The program has problems; nothing was deployed:", style="bold red"))
        for finding in report.findings:
            output.err.print(_finding_line(finding, output.base))
    raise typer.Exit(EXIT_PROBLEMS)


def _print_demo(output: _Output, report: Report, base_url: str, deployed: Deployed) -> None:
    from cxone_provider.cli.render import text_tree  # noqa: PLC0415 -- keeps `cxone emulator` fast

    title = _picture_title(report.declarations, report.picture)
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


# --- emulator ------------------------------------------------------------------------------

_EMULATOR_EXAMPLE: Final = """Examples:

\b
  cxone emulator             # http://127.0.0.1:8765, demo / demo-secret
  cxone emulator --port 0 --db :memory: --latency-ms 20 --fault-rate 0.1 --seed 7
"""


@app.command(epilog=_EMULATOR_EXAMPLE)
def emulator(  # noqa: PLR0917 -- typer maps parameters to options, none is positional
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(metavar="PORT", help="Port to listen on; 0 picks a free one.")
    ] = 8765,
    db: Annotated[
        str,
        typer.Option(metavar="FILE", help="SQLite file of the actions (':memory:' keeps nothing)."),
    ] = ".cxone-emulator.sqlite3",
    client: Annotated[
        list[str] | None,
        typer.Option(
            "--client",
            metavar="ID:SECRET[:SCOPES]",
            envvar="CXONE_EMULATOR_CLIENTS",
            help="OAuth client ID:SECRET[:SCOPES] (repeatable; scopes comma-separated, default "
            "DataActions.ReadWrite). The command line is visible to every local user (ps): "
            "prefer CXONE_EMULATOR_CLIENTS (clients separated by spaces) or --clients-file. "
            "Without any: demo / demo-secret.",
            show_envvar=False,
        ),
    ] = None,
    clients_file: Annotated[
        Path | None,
        typer.Option(
            "--clients-file",
            metavar="FILE",
            help="File of OAuth clients, one ID:SECRET[:SCOPES] per line (# comments).",
            show_default=False,
        ),
    ] = None,
    token_ttl: Annotated[
        int, typer.Option(metavar="SECONDS", help="Seconds a token is valid.")
    ] = 3600,
    rate_limit: Annotated[
        float,
        typer.Option(
            metavar="RPS", help="Requests per second per OAuth client (token bucket); 0 = off."
        ),
    ] = 20.0,
    burst: Annotated[
        int | None,
        typer.Option(
            metavar="N", help="Token bucket size per OAuth client; by default 2 x --rate-limit."
        ),
    ] = None,
    latency_ms: Annotated[
        float, typer.Option(metavar="MS", help="Milliseconds added to every API answer.")
    ] = 0.0,
    fault_rate: Annotated[
        float,
        typer.Option(
            metavar="F", help="Fraction of API requests answered 503 before doing anything."
        ),
    ] = 0.0,
    drop_rate: Annotated[
        float,
        typer.Option(
            metavar="F", help="Fraction of successful action writes committed but never answered."
        ),
    ] = 0.0,
    seed: Annotated[
        int | None,
        typer.Option(metavar="N", help="Seed of the fault draws (reproducible runs)."),
    ] = None,
) -> None:
    """Run the local CXone emulator: the Data Actions API on a real HTTP server."""
    from cxone_provider.emulator.server import serve  # noqa: PLC0415 -- keeps other commands fast
    from cxone_provider.emulator.settings import (  # noqa: PLC0415 -- keeps other commands fast
        DEMO_CLIENT,
        EmulatorSettings,
        OAuthClient,
        clients_from_file,
    )

    try:
        clients = tuple(OAuthClient.parse(text) for text in client or ())
        if clients_file is not None:
            clients += clients_from_file(clients_file)
        settings = EmulatorSettings(
            host=host,
            port=port,
            db=db,
            clients=clients or (DEMO_CLIENT,),
            token_ttl_s=token_ttl,
            rate_limit=rate_limit,
            burst=burst,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            drop_rate=drop_rate,
            seed=seed,
        )
        serve(settings)
    except ConfigurationError as exc:
        _Output("emulator", as_json=False).fail(exc)


def _interrupted() -> NoReturn:
    """End the process at once after Ctrl-C, with one line and the shell's code for SIGINT."""
    sys.stderr.write("Interrupted.\n")
    _exit_now(EXIT_INTERRUPTED)


def _exit_now(code: int) -> NoReturn:
    """Flush the output and end the process without Python's shutdown.

    Whatever a command opened is closed by then. What remains are V8 isolates (mini-racer)
    that Python would finalize at shutdown, and finalizing one can deadlock: its engine
    thread calls back into Python, which no longer runs other threads then.
    """
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


@contextmanager
def _ctrl_c_ends_at_once() -> Iterator[None]:
    """While inside, Ctrl-C ends the process at once instead of unwinding.

    Unwinding would close the V8 engine under a running script; V8's late answer then
    lands in mini-racer's closed event loop and prints a dozen lines of noise.
    """
    previous = signal.signal(signal.SIGINT, lambda _signal, _frame: _interrupted())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def main() -> None:
    """Run the `cxone` command line, then end the process (see `_exit_now`).

    The client's retry notices (stamina's warnings) stay quiet: a command that runs out of
    attempts says why in its own error.
    """
    logging.getLogger("stamina").setLevel(logging.ERROR)
    try:
        app()
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            _interrupted()
        if isinstance(exc.code, str):
            sys.stderr.write(exc.code + "\n")
            _exit_now(EXIT_PROBLEMS)
        _exit_now(exc.code or EXIT_OK)
    _exit_now(EXIT_OK)
