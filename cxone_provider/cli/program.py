"""Read a stack program's Data Action declarations by running it without the Pulumi engine.

`cxone validate`, `graph` and `test` need what a program declares, not a deployment. The
program runs as Pulumi runs it (its folder as working directory and on `sys.path`, its
`__main__.py` as `__main__`, the stack's config in `PULUMI_CONFIG`) but under
`pulumi.runtime.set_mocks`, so nothing reaches an engine, and in a child Python process
(`program_child`), so its imports, working directory and Pulumi's global state stay out of
the command. The child writes what the program declared as JSON for the parent.

Values that are Pulumi Outputs are not known before a deployment; they come back as
`pulumi.output.UNKNOWN` and the checks skip them, as `pulumi preview` does.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from pulumi.output import UNKNOWN

from cxone_provider.api.errors import Problem, ProgramError
from cxone_provider.cli.project import Project, StackConfig, load_stack_config, locate_project
from cxone_provider.deploy.graph import Declaration

__all__ = [
    "UNKNOWN_MARKER",
    "Declarations",
    "DeclaredAction",
    "DeclaredBy",
    "ProgramFailure",
    "SourceLocation",
    "evaluate",
]

EVALUATION_TIMEOUT_S: Final = 300.0
UNKNOWN_MARKER: Final = "__cxone_unknown__"
"""How the child writes a value not known before a deployment."""
_SHOWN_OUTPUT_CHARS: Final = 2000
# Environment variables a program run here never sees: credentials (see program_environment).
_WITHHELD: Final = (
    "CXONE_CLIENT_SECRET",
    "CXONE_WEBHOOK_SECRET",
    "PULUMI_ACCESS_TOKEN",
    "PULUMI_CONFIG_PASSPHRASE",
)

DeclaredBy = Literal["catalog", "resource"]


@dataclass(frozen=True, slots=True)
class DeclaredAction:
    """One action a program declared: what DataAction would register, and where it came from.

    `inputs` are the registered inputs as `provider.check_inputs` takes them (unset ones left
    out). `problems` are the ones found while encoding them (a test value JSON cannot hold).
    """

    index: int
    resource: str
    declaration: Declaration
    inputs: dict[str, Any]
    script_file: Path | None
    declared_by: DeclaredBy
    problems: tuple[Problem, ...] = ()

    @property
    def name(self) -> str:
        """The action's name on the tenant."""
        return self.declaration.name


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A place in the program's source: file, 1-based line and, when known, column."""

    file: str
    line: int
    column: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")


@dataclass(frozen=True, slots=True)
class ProgramFailure:
    """The program raised: the exception, the program's own frames, and what it printed.

    For a SyntaxError the last frame is the place of the error itself (Python reports it
    from its import machinery, which is not the program's), and `column` its column.
    """

    exception: str
    message: str
    frames: tuple[tuple[str, int, str], ...]
    output: str
    repeats_a_check: bool
    """The exception is a catalog's own check (graph or action rules), which the checks of
    `cxone validate` repeat, each problem on its own."""
    column: int | None = None

    @property
    def location(self) -> SourceLocation | None:
        """The innermost place in the program's own files."""
        if not self.frames:
            return None
        file, line, _ = self.frames[-1]
        return SourceLocation(file, line, self.column)

    def describe(self) -> str:
        """One line: what the program raised, and where."""
        where = f" at {self.location}" if self.location else ""
        return f"the program raised {self.exception}{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Declarations:
    """Everything a program declared, and how its run ended."""

    project: Project
    stack: StackConfig
    actions: tuple[DeclaredAction, ...]
    tenant_actions: dict[str, tuple[str, ...]]
    failure: ProgramFailure | None

    def find(self, name: str) -> DeclaredAction | None:
        """The first action declared with this name."""
        return next((action for action in self.actions if action.name == name), None)

    def names(self) -> list[str]:
        """The declared names, each once, in declaration order."""
        return list(dict.fromkeys(action.name for action in self.actions))


def evaluate(
    path: str | Path, stack: str | None = None, *, timeout_s: float = EVALUATION_TIMEOUT_S
) -> Declarations:
    """Run the program at `path` under Pulumi's mocks in a child process; what it declared.

    Raises ProgramError when the program cannot be found or run; an exception of the program
    itself is returned as `failure`, with everything declared before it.
    """
    project = locate_project(path)
    config = load_stack_config(project, stack)
    with tempfile.TemporaryDirectory(prefix="cxone-declarations-") as scratch:
        result_file = Path(scratch) / "declarations.json"
        command = [
            sys.executable,
            "-m",
            "cxone_provider.cli.program_child",
            str(project.main),
            "--project",
            project.name,
            "--stack",
            config.name,
            "--result",
            str(result_file),
        ]
        environment = {
            **program_environment(os.environ),
            "PULUMI_CONFIG": json.dumps(config.values),
        }
        captured = Path(scratch) / "output.txt"
        with captured.open("wb") as output_file:
            # Output goes to a file and the wait is for the process, not for the end of its
            # output: a child the program leaves running cannot hold the command up. The
            # program gets a process group of its own, ended whole once it is done.
            process = subprocess.Popen(  # noqa: S603 -- our own module, run by this Python
                command,
                cwd=project.program_dir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=output_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                returncode = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                returncode = None
            finally:
                _end_process_group(process)
        output = captured.read_text(encoding="utf-8", errors="replace")
        if returncode is None:
            msg = (
                f"the program {str(project.main)!r} did not finish within {timeout_s:g} s; a "
                "stack program should only declare resources (look for loops or network calls)"
            )
            raise ProgramError(msg)
        if not result_file.is_file():
            msg = (
                f"the program {str(project.main)!r} could not be run (exit code "
                f"{returncode}):\n{_tail(output)}"
            )
            raise ProgramError(msg)
        found = json.loads(result_file.read_text(encoding="utf-8"))
    return _declarations(project, config, found, output)


def program_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment a program is run in here: ours, less the credentials it cannot need.

    Run under mocks, a program reaches no tenant and no backend, yet `cxone diff <folder>`
    may run a folder somebody else wrote (an export under review) while the tenants'
    secrets are set: CXONE_CLIENT_SECRET*, CXONE_WEBHOOK_SECRET and Pulumi's token and
    passphrase stay out of its reach.
    """
    return {key: value for key, value in environ.items() if not key.startswith(_WITHHELD)}


def _end_process_group(process: subprocess.Popen[bytes]) -> None:
    """Kill what is left of the program's process group (children it left behind), reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(text: str) -> str:
    return text if len(text) <= _SHOWN_OUTPUT_CHARS else "…" + text[-_SHOWN_OUTPUT_CHARS:]


def _declarations(
    project: Project, config: StackConfig, found: Mapping[str, Any], output: str
) -> Declarations:
    actions = tuple(
        DeclaredAction(
            index=index,
            resource=item["resource"],
            declaration=Declaration(item["name"], item["dependencies"], tuple(item["depends_on"])),
            inputs={key: _known(value) for key, value in item["inputs"].items()},
            script_file=Path(item["script_file"]) if item["script_file"] else None,
            declared_by=item["declared_by"],
            problems=tuple(Problem(**problem) for problem in item["problems"]),
        )
        for index, item in enumerate(found["actions"])
    )
    failure = found["failure"]
    return Declarations(
        project=project,
        stack=config,
        actions=actions,
        tenant_actions={name: tuple(deps) for name, deps in found["tenant_actions"].items()},
        failure=None
        if failure is None
        else ProgramFailure(
            exception=failure["exception"],
            message=failure["message"],
            frames=tuple((file, line, code) for file, line, code in failure["frames"]),
            output=_tail(output),
            repeats_a_check=failure["repeats_a_check"],
            column=failure["column"],
        ),
    )


def _known(value: Any) -> Any:
    """A decoded input: the marker of an unknown value becomes Pulumi's UNKNOWN."""
    if isinstance(value, dict):
        if value.keys() == {UNKNOWN_MARKER}:
            return UNKNOWN
        return {key: _known(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_known(item) for item in value]
    return value
