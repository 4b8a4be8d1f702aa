"""What every command shares: its answer for people or for `--json`, exit codes, common options.

Output is for people by default (colour where the terminal has it) and for machines with
`--json`: one JSON object on stdout, `{"schema": 1, "command": ..., "ok": ..., ...}`, as
docs/cli.md documents. Exit codes: 0 ok, 1 problems found, 2 usage or connection error (click
already ends usage errors with 2), 130 interrupted. Notes and progress go to stderr, so that
stdout carries only the result (a drawing can be piped into a file).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn

import typer
from rich.console import Console, ConsoleOptions, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.segment import Segment
from rich.text import Text

from cxone_provider.api.errors import CxoneError
from cxone_provider.cli.project import shown_path

if TYPE_CHECKING:
    from cxone_provider.cli.preflight import Finding, GraphPicture
    from cxone_provider.cli.program import Declarations

SCHEMA: Final = 1
EXIT_OK: Final = 0
EXIT_PROBLEMS: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130
"""What shells report for a process ended by SIGINT (Ctrl-C)."""

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
        "program does not manage. Connection: the stack's cxone:baseUrl/site and clientId, "
        "else CXONE_BASE_URL and CXONE_CLIENT_ID; the secret from CXONE_CLIENT_SECRET (a "
        "--secret value in the stack file is encrypted: only the Pulumi CLI can read it).",
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", metavar="", help="Print one JSON object (schema in docs/cli.md)."),
]


class ReportFormat(StrEnum):
    """How a report (`cxone diff`, `cxone conformance`, `cxone fleet`) prints when not --json."""

    TEXT = "text"
    MARKDOWN = "markdown"


# C0 and C1 control characters and DEL, but newline and tab: what a terminal would act on.
_CONTROL: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# C1 characters, which JSON leaves unescaped (it escapes C0 itself).
_C1: Final = re.compile("[\x7f-\x9f]")


def shown_text(text: str) -> str:
    r"""`text` with every control character but newline and tab written as `\xNN`.

    Tenants and programs supply names, descriptions, scripts and messages; a terminal would
    act on the controls among them (`\x1b[2K` erases the line it is on, `\r` overwrites
    it), so every printed character of theirs goes through here.
    """
    return _CONTROL.sub(lambda match: f"\\x{ord(match[0]):02x}", text)


class ShownConsole(Console):
    """A rich Console whose every printed text goes through `shown_text`; no markup.

    Rich renders every renderable (text, tables, trees, progress) through `render`, so this
    one place covers all of them; rich's own styling travels in control segments and stays.
    Markup is off: text in square brackets is shown as it is, never taken for a style.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, highlight=False, **options)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        """The segments of `renderable`, their text with control characters escaped."""
        for segment in super().render(renderable, options):
            if segment.control or not _CONTROL.search(segment.text):
                yield segment
            else:
                yield Segment(shown_text(segment.text), segment.style)


def one_answer(as_json: bool, report_format: ReportFormat) -> None:
    """Refuse --json with --format markdown: a command prints one answer."""
    if as_json and report_format is not ReportFormat.TEXT:
        message = "--json and --format markdown are two answers: give one of them"
        raise typer.BadParameter(message, param_hint="--format")


def format_option(markdown_for: str) -> Any:
    """The --format option of a report; `markdown_for` says where its Markdown goes."""
    return typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        case_sensitive=False,
        help=f"text for a terminal, markdown for {markdown_for}.",
    )


class Output:
    """Where a command writes: rich text for people, or one JSON object for machines.

    Everything goes through `out`, `err`, `emit` or `echo`, which show control characters
    as escapes (see `shown_text`).
    """

    def __init__(self, command: str, *, as_json: bool) -> None:
        self.command = command
        self.as_json = as_json
        self.out = ShownConsole(soft_wrap=True)
        self.err = ShownConsole(stderr=True, soft_wrap=True)
        self.base = Path.cwd()

    def emit(self, payload: dict[str, Any]) -> None:
        """The `--json` answer; lone surrogates and C1 controls are written as JSON escapes."""
        document = {"schema": SCHEMA, "command": self.command, **payload}
        text = json.dumps(document, indent=2, ensure_ascii=False)
        text = _C1.sub(lambda match: f"\\u{ord(match[0]):04x}", text)
        typer.echo(text.encode("utf-8", "backslashreplace").decode("utf-8"))

    def echo(self, text: str) -> None:
        """Plain text on stdout (Markdown, Mermaid, DOT), its control characters escaped."""
        typer.echo(shown_text(text), nl=False)

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

    def pulumi_missing(self, advice: str) -> NoReturn:
        """End a command that needs the Pulumi CLI without one: exit 2, with the advice."""
        if self.as_json:
            self.emit({"ok": False, "error": {"type": "PulumiCliMissing", "message": advice}})
        else:
            self.err.print(Text("error: ", style="bold red") + Text(advice))
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


def evaluate_program(output: Output, program_dir: Path, stack: str | None) -> Declarations:
    """What the program declares (`program.evaluate`), with a progress display meanwhile."""
    from cxone_provider.cli.program import evaluate  # noqa: PLC0415 -- keeps `cxone emulator` fast

    with output.progress() as progress:
        progress.add_task("Running the stack program under Pulumi's mocks", total=None)
        return evaluate(program_dir, stack)


def program_line(declarations: Declarations, base: Path) -> Text:
    """The project, how many actions it declares where, and its stack."""
    where = shown_path(declarations.project.main, base)
    count = len(declarations.actions)
    text = Text(declarations.project.name, style="bold")
    text.append(f": {count} action{'s' * (count != 1)} declared in {where}")
    if declarations.stack.file is not None:
        text.append(f" (stack {declarations.stack.name})")
    return text


def finding_line(finding: Finding, base: Path) -> Text:
    """One problem: where it is (file:line:column, or the action's property), and what."""
    text = Text("  ✘ ", style="bold red")
    if finding.file is not None:
        text.append(finding.where(base), style="bold")
        subject = ".".join(part for part in (finding.action, finding.field) if part)
        if subject:
            text.append(f" ({subject})")
    else:
        text.append(finding.where(base), style="bold")
    return text.append(f": {finding.message}")


def picture_title(declarations: Declarations, picture: GraphPicture) -> str:
    """The project and what the picture shows: every box is counted once, by kind."""
    kinds = Counter(node.kind for node in picture.nodes)
    count = kinds["declared"]
    parts = [f"{count} action{'s' * (count != 1)}"]
    if kinds["tenant"]:
        parts.append(f"{kinds['tenant']} on the tenant only")
    if kinds["unknown"]:
        parts.append(f"{kinds['unknown']} unknown")
    return f"{declarations.project.name}: {', '.join(parts)}"


def declarations_json(declarations: Declarations, base: Path) -> dict[str, Any]:
    """The program and its declared actions in the documented `--json` shape."""
    project = declarations.project
    return {
        "project": project.name,
        "main": shown_path(project.main, base),
        "stack": declarations.stack.name if declarations.stack.file is not None else None,
        "actions": [
            {
                "name": action.name,
                "resource": action.resource,
                "dependencies": action.declaration.dependencies,
                "depends_on": list(action.declaration.depends_on),
                "script_file": shown_path(action.script_file, base) if action.script_file else None,
                "declared_by": action.declared_by,
            }
            for action in declarations.actions
        ],
    }
