"""Read a stack program's Data Action declarations by running it without the Pulumi engine.

`cxone validate`, `graph` and `test` need what a program declares, not a deployment. The
program runs as Pulumi runs it (its folder as working directory and on `sys.path`, its
`__main__.py` as `__main__`, the stack's config in `PULUMI_CONFIG`) but under
`pulumi.runtime.set_mocks`, so nothing reaches an engine, and in a child Python process, so
its imports, working directory and Pulumi's global state stay out of the command. The child
collects every `ActionCatalog` the program registers (`catalog.collecting_catalogs`, taken
before the catalog checks its graph, so a broken program still yields every declaration) and
every `DataAction` declared directly, and writes them as JSON for the parent.

Values that are Pulumi Outputs are not known before a deployment; they come back as
`pulumi.output.UNKNOWN` and the checks skip them, as `pulumi preview` does.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import inspect
import json
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import pulumi
import yaml
from pulumi.output import UNKNOWN, Unknown
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from cxone_provider.api.errors import (
    ActionValidationError,
    ConfigurationError,
    CxoneError,
    DependencyGraphError,
    Problem,
    ProgramError,
)
from cxone_provider.api.textfiles import read_utf8
from cxone_provider.deploy.catalog import collecting_catalogs
from cxone_provider.deploy.graph import Declaration
from cxone_provider.deploy.properties import INPUTS, ORIGIN, TYPE_TOKEN
from cxone_provider.deploy.resource import DataActionArgs, registration
from cxone_provider.deploy.settings import PROJECT_FILES

__all__ = [
    "DEFAULT_STACK",
    "Declarations",
    "DeclaredAction",
    "ProgramFailure",
    "Project",
    "SourceLocation",
    "StackConfig",
    "evaluate",
    "load_stack_config",
    "locate_project",
]

DEFAULT_STACK: Final = "validate"
EVALUATION_TIMEOUT_S: Final = 300.0
_UNKNOWN_MARKER: Final = "__cxone_unknown__"
_SHOWN_OUTPUT_CHARS: Final = 2000

DeclaredBy = Literal["catalog", "resource"]


@dataclass(frozen=True, slots=True)
class Project:
    """Where a Pulumi project's program and its stack config files are."""

    name: str
    root: Path
    program_dir: Path
    config_dir: Path
    manifest: Path | None

    @property
    def main(self) -> Path:
        """The file Pulumi runs."""
        return self.program_dir / "__main__.py"

    def stack_file(self, stack: str) -> Path | None:
        """The stack's config file, if there is one."""
        for suffix in (".yaml", ".yml"):
            path = self.config_dir / f"Pulumi.{stack}{suffix}"
            if path.is_file():
                return path
        return None

    def stacks(self) -> list[str]:
        """The stacks that have a config file."""
        return sorted(
            path.name.removeprefix("Pulumi.").rsplit(".", 1)[0]
            for path in self.config_dir.glob("Pulumi.*.y*ml")
        )


@dataclass(frozen=True, slots=True)
class StackConfig:
    """A stack's config as the engine hands it to a program: namespaced keys, string values.

    `encrypted` are the keys whose values only the Pulumi CLI can decrypt; they are left out.
    """

    name: str
    values: dict[str, str]
    encrypted: tuple[str, ...] = ()
    file: Path | None = None
    lines: Mapping[str, int] = field(default_factory=dict)
    """The line of each key in the file (1-based), to point at a setting's problem."""

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key of the config, the encrypted ones included."""
        return (*self.values, *self.encrypted)


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


def locate_project(path: str | Path) -> Project:
    """The project whose program is at `path`: a project folder (with Pulumi.yaml) or its `main`.

    Without a Pulumi.yaml in `path` or above it naming `path` as `main`, the folder is a
    program of its own (project name: the folder's name, stack config files beside it).
    """
    given = Path(path).resolve()
    if given.is_file() and given.name == "__main__.py":
        given = given.parent
    if not given.is_dir():
        msg = f"{str(path)!r} is not a folder; give the folder of a Pulumi project or program"
        raise ProgramError(msg)
    manifest = _manifest(given)
    if manifest is not None:
        project = _project(manifest)
    else:
        project = next(
            (
                found
                for folder in given.parents
                if (candidate := _manifest(folder)) is not None
                and (found := _project(candidate)).program_dir == given
            ),
            Project(given.name, given, given, given, None),
        )
    if not project.main.is_file():
        msg = (
            f"no __main__.py in {str(project.program_dir)!r}: cxone reads Python stack programs "
            "(Pulumi.yaml `main` names the folder of their __main__.py)"
        )
        raise ProgramError(msg)
    return project


def _manifest(folder: Path) -> Path | None:
    return next((folder / n for n in PROJECT_FILES if (folder / n).is_file()), None)


def _project(manifest: Path) -> Project:
    data = _read_yaml(manifest)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        msg = f"{str(manifest)!r} has no project `name`; add one (e.g. `name: cxone-actions`)"
        raise ProgramError(msg)
    root = manifest.parent
    main = data.get("main")
    config_dir = data.get("stackConfigDir")
    program_dir = (root / main).resolve() if isinstance(main, str) else root
    if program_dir.suffix == ".py":
        program_dir = program_dir.parent
    return Project(
        name=name,
        root=root,
        program_dir=program_dir,
        config_dir=(root / config_dir).resolve() if isinstance(config_dir, str) else root,
        manifest=manifest,
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(read_utf8(path))
    except ConfigurationError as exc:
        raise ProgramError(str(exc)) from None
    except yaml.YAMLError as exc:
        msg = f"cannot read {str(path)!r}: {exc}; fix the file"
        raise ProgramError(msg) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        msg = f"{str(path)!r} is not a YAML mapping; fix the file"
        raise ProgramError(msg)
    return data


def load_stack_config(project: Project, stack: str | None) -> StackConfig:
    """The stack's config from `Pulumi.<stack>.yaml`, as the engine would pass it.

    Keys get the project's namespace when they have none; values become strings (structured
    ones JSON text). Secrets stay encrypted in the file without the Pulumi CLI and are left
    out: settings that need them fall back to their environment variables.
    """
    if stack is None:
        return StackConfig(DEFAULT_STACK, {})
    file = project.stack_file(stack)
    if file is None:
        raise ProgramError(_unknown_stack(project, stack))
    config = _read_yaml(file).get("config") or {}
    if not isinstance(config, dict):
        msg = f"`config` in {str(file)!r} is not a mapping of keys to values; fix the file"
        raise ProgramError(msg)
    values: dict[str, str] = {}
    encrypted: list[str] = []
    for raw_key, value in config.items():
        key = str(raw_key) if ":" in str(raw_key) else f"{project.name}:{raw_key}"
        if _holds_secret(value):
            encrypted.append(key)
        elif isinstance(value, str):
            values[key] = value
        else:
            values[key] = json.dumps(value)
    return StackConfig(stack, values, tuple(encrypted), file, _key_lines(file, project.name))


def _key_lines(file: Path, project: str) -> dict[str, int]:
    """The line of each key under `config:` (namespaced as in `load_stack_config`)."""
    document = yaml.compose(file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    lines: dict[str, int] = {}
    if not isinstance(document, yaml.MappingNode):
        return lines
    for key, value in document.value:
        if key.value == "config" and isinstance(value, yaml.MappingNode):
            for item, _ in value.value:
                name = str(item.value)
                lines[name if ":" in name else f"{project}:{name}"] = item.start_mark.line + 1
    return lines


def _unknown_stack(project: Project, stack: str) -> str:
    """No config file for `stack`: the stacks there are, the closest first."""
    stacks = project.stacks()
    close = difflib.get_close_matches(stack, stacks, n=1)
    hint = f"did you mean --stack {close[0]}? " if close else ""
    there = f"the stacks there: {', '.join(stacks)}" if stacks else "there is none"
    return (
        f"no stack {stack!r}: no Pulumi.{stack}.yaml in {str(project.config_dir)!r}; {hint}"
        f"{there} (a stack without a config file needs no --stack)"
    )


def _holds_secret(value: Any) -> bool:
    if isinstance(value, dict):
        return "secure" in value or any(_holds_secret(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_secret(item) for item in value)
    return False


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
            "cxone_provider.cli.program",
            str(project.main),
            "--project",
            project.name,
            "--stack",
            config.name,
            "--result",
            str(result_file),
        ]
        environment = {**os.environ, "PULUMI_CONFIG": json.dumps(config.values)}
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
        if value.keys() == {_UNKNOWN_MARKER}:
            return UNKNOWN
        return {key: _known(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_known(item) for item in value]
    return value


# --- the child process -------------------------------------------------------------------


def _collect(main: Path, project: str, stack: str) -> dict[str, Any]:
    """Run the program under mocks; every declaration it made, and its exception if any."""
    mocks = _DeclarationMocks()
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=True)
    failure: dict[str, Any] | None = None
    with collecting_catalogs() as catalogs:
        try:
            _run_program(main)
        except SystemExit as exc:
            if exc.code not in {0, None}:
                failure = _failure(exc, main.parent)
        except Exception as exc:  # noqa: BLE001 -- whatever the program raises is reported
            failure = _failure(exc, main.parent)
    actions: list[dict[str, Any]] = []
    tenant_actions: dict[str, list[str]] = {}
    for catalog in catalogs:
        tenant_actions.update({name: list(deps) for name, deps in catalog.tenant_actions.items()})
        for args, declaration, script_file in zip(
            catalog.actions, catalog.declarations(), catalog.script_files, strict=True
        ):
            actions.append(
                _catalog_action(args, declaration, script_file, project=project, stack=stack)
            )
    from_catalogs = {action["resource"] for action in actions}
    actions += [
        _resource_action(resource, inputs)
        for resource, inputs in mocks.data_actions
        if resource not in from_catalogs
    ]
    return {"actions": actions, "tenant_actions": tenant_actions, "failure": failure}


def _run_program(main: Path) -> None:
    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # waits for every registration
    def program() -> None:
        runpy.run_path(str(main.parent), run_name="__main__")

    program()


def _catalog_action(
    args: DataActionArgs,
    declaration: Declaration,
    script_file: Path | None,
    *,
    project: str,
    stack: str,
) -> dict[str, Any]:
    problems: list[Problem] = []
    try:
        props = registration(declaration.name, args, project=project, stack=stack)
    except ActionValidationError as exc:
        problems = exc.problems
        props = {
            key: getattr(args, key)
            for key in ("name", "script", "description", "dependencies", "enabled")
        } | {"trigger_type": args.trigger_type, "on_test_failure": args.on_test_failure}
    return _action(
        declaration.name,
        declaration,
        props,
        script_file=script_file,
        declared_by="catalog",
        problems=problems,
    )


def _resource_action(resource: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs.get("name")
    dependencies = inputs.get("dependencies") or []
    declaration = Declaration(name if isinstance(name, str) else resource, dependencies)
    return _action(resource, declaration, inputs, script_file=None, declared_by="resource")


def _action(
    resource: str,
    declaration: Declaration,
    props: Mapping[str, Any],
    *,
    script_file: Path | None,
    declared_by: DeclaredBy,
    problems: Sequence[Problem] = (),
) -> dict[str, Any]:
    dependencies = declaration.dependencies
    return {
        "resource": resource,
        "name": declaration.name,
        "dependencies": dependencies if isinstance(dependencies, str) else list(dependencies),
        "depends_on": list(declaration.depends_on),
        "inputs": {
            key: _plain(value)
            for key, value in props.items()
            if key in INPUTS and key != ORIGIN and value is not None
        },
        "script_file": str(script_file.resolve()) if script_file is not None else None,
        "declared_by": declared_by,
        "problems": [
            {"field": p.field, "message": p.message, "line": p.line, "column": p.column}
            for p in problems
        ],
    }


def _plain(value: Any) -> Any:
    """A JSON value for an input: Outputs and unknown values become the marker.

    The mocks resolve an output that is not known before a deployment to `Unknown`.
    """
    if isinstance(value, pulumi.Output | Unknown) or inspect.isawaitable(value):
        return {_UNKNOWN_MARKER: True}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def _failure(exc: BaseException, program_dir: Path) -> dict[str, Any]:
    inside = program_dir.resolve()
    frames = [
        [frame.filename, frame.lineno or 0, (frame.line or "").strip()]
        for frame in traceback.extract_tb(exc.__traceback__)
        if _in_program(frame.filename, inside)
    ]
    column = None
    message = str(exc) if not isinstance(exc, SystemExit) else f"exit code {exc.code}"
    if isinstance(exc, SyntaxError):
        message = exc.msg
        if exc.filename and _in_program(exc.filename, inside):
            frames.append([exc.filename, exc.lineno or 0, (exc.text or "").strip()])
            column = exc.offset
    return {
        "exception": type(exc).__name__,
        "message": message,
        "frames": frames,
        "column": column,
        "repeats_a_check": isinstance(exc, DependencyGraphError | ActionValidationError),
    }


def _in_program(filename: str, program_dir: Path) -> bool:
    """Whether a traceback's file is the program's own (not `<frozen ...>`, not a library)."""
    path = Path(filename)
    return path.is_absolute() and path.is_file() and path.resolve().is_relative_to(program_dir)


class _DeclarationMocks(Mocks):
    """Answers every registration; records the DataActions (resource name, inputs)."""

    def __init__(self) -> None:
        self.data_actions: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == TYPE_TOKEN:
            self.data_actions.append((args.name, dict(args.inputs)))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], None]:  # noqa: ARG002 -- invokes answer nothing
        return {}, None


def main(argv: Sequence[str] | None = None) -> None:
    """The child process: run one program, write its declarations as JSON to `--result`."""
    parser = argparse.ArgumentParser(prog="python -m cxone_provider.cli.program")
    parser.add_argument("main", type=Path)
    parser.add_argument("--project", required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--result", type=Path, required=True)
    options = parser.parse_args(argv)
    sys.path.insert(0, str(options.main.parent))
    try:
        found = _collect(options.main, options.project, options.stack)
    except CxoneError as exc:
        sys.exit(f"cxone: cannot read the program's declarations: {exc}")
    options.result.write_text(json.dumps(found), encoding="utf-8")


if __name__ == "__main__":
    main()
