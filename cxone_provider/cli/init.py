"""`cxone init`: a new project of Data Actions that validates and deploys as it is written.

The files come from `project_template/` (package data, so a wheel installed anywhere has
them): `Pulumi.yaml` with the program at the root (the program and the provider plugin both
run there, so both resolve the `.venv` it names), one example action with its sandbox test,
the `local` stack on the emulator, `.gitignore`, the CI workflow of docs/provider.md, and a
`requirements.txt` that installs cxone-provider from where the running one came from. An
existing file is never overwritten: the command writes nothing and says which files are in
the way.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.text import Text

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.cli.output import JsonOption, Output
from cxone_provider.cli.project import folder_project_name

EXAMPLES: Final = """Examples:

\b
  cxone init my-actions              # a new folder
  cxone init                         # the current folder (an existing .venv is fine)
  cxone init my-actions --name crm-actions
"""

TEMPLATE: Final = Path(__file__).resolve().parent / "project_template"
VENV: Final = ".venv"


@dataclass(frozen=True, slots=True)
class TemplateFile:
    """One file of a new project: where it goes, and the template file it comes from."""

    path: str
    source: str
    substituted: bool = False
    """Whether `{project}` in it is replaced by the project's name."""


FILES: Final = (
    TemplateFile("Pulumi.yaml", "Pulumi.yaml", substituted=True),
    TemplateFile("__main__.py", "__main__.py"),
    TemplateFile("actions/greet_caller.js", "actions/greet_caller.js"),
    TemplateFile("Pulumi.local.yaml", "Pulumi.local.yaml"),
    TemplateFile(".gitignore", "gitignore"),
    TemplateFile(".github/workflows/data-actions.yml", "data-actions.yml"),
)
REQUIREMENTS: Final = "requirements.txt"
"""Written from the running cxone-provider's origin, not from a template."""
WRITTEN: Final = (*(file.path for file in FILES), REQUIREMENTS)


def init_command(
    folder: Annotated[
        Path,
        typer.Argument(
            metavar="FOLDER",
            help="Where to write the project (created if missing).",
            show_default="the current folder",
        ),
    ] = Path(),
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="The Pulumi project's name; default: the folder's name.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Start a project of your own: a program with one tested action, stacks and CI.

    Writes Pulumi.yaml (the program at the root, run in its .venv), __main__.py declaring
    one action with its sandbox test, actions/greet_caller.js, the local stack on the
    emulator (Pulumi.local.yaml), requirements.txt, .gitignore and a GitHub Actions workflow.
    Refuses to overwrite any file (exit code 2, nothing written).
    """
    from cxone_provider.cli import export_program  # noqa: PLC0415 -- keeps `cxone emulator` fast

    output = Output("init", as_json=as_json)
    project = name or folder_project_name(folder)
    with output.errors():
        in_the_way = [path for path in WRITTEN if (folder / path).exists()]
        if in_the_way:
            msg = (
                f"{str(folder)!r} already holds {', '.join(in_the_way)}: cxone init overwrites "
                "nothing; choose an empty or new folder, or move those files away"
            )
            raise ConfigurationError(msg)
        requirement = export_program.provider_requirement()
        try:
            for file in FILES:
                text = (TEMPLATE / file.source).read_text(encoding="utf-8")
                if file.substituted:
                    text = text.replace("{project}", project)
                _write(folder / file.path, text)
            _write(folder / REQUIREMENTS, export_program.requirements_text(requirement))
        except OSError as exc:
            msg = f"cannot write the project into {str(folder)!r}: {exc.strerror or exc}"
            raise ConfigurationError(msg) from None
    ready = _runs_in_its_venv(folder)
    if as_json:
        output.emit(
            {
                "ok": True,
                "folder": str(folder),
                "project": project,
                "files": list(WRITTEN),
                "requirement": requirement.line,
                "venv_ready": ready,
            }
        )
        return
    _print_next_steps(output, folder, project, ready=ready)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as file:  # "x": never replaces a file
        file.write(text)


def _runs_in_its_venv(folder: Path) -> bool:
    """Whether this cxone runs from the project's own .venv, the one Pulumi.yaml names."""
    return Path(sys.prefix).resolve() == (folder / VENV).resolve()


def _print_next_steps(output: Output, folder: Path, project: str, *, ready: bool) -> None:
    console = output.out
    console.print(
        Text("✔ ", style="bold green") + Text(f"Wrote the project {project} into {folder}:")
    )
    for path in WRITTEN:
        console.print(f"  {path}")
    steps = [f"cd {folder}"] if folder.resolve() != Path.cwd() else []
    if not ready:
        steps.append(
            f"python3 -m venv {VENV} && {VENV}/bin/pip install -r requirements.txt"
            "   # Pulumi runs the program in .venv"
        )
    steps += [
        "cxone validate                      # offline, every problem at once",
        "cxone emulator &                    # the local CXone API the local stack points at",
        "pulumi stack init local             # adds its encryptionsalt to Pulumi.local.yaml",
        "pulumi up                           # creates greet_caller and runs its test",
    ]
    console.print("Next:")
    for step in steps:
        console.print(f"  {step}")
    console.print("The guide to such a project: `cxone docs provider`.")
