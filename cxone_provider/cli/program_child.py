"""The child process of `program.evaluate`: run one stack program under Pulumi's mocks.

It collects every `ActionCatalog` the program registers (`catalog.collecting_catalogs`,
taken before the catalog checks its graph, so a broken program still yields every
declaration) and every `DataAction` declared directly, and writes them as JSON to the file
`--result` names. Run as `python -m cxone_provider.cli.program_child MAIN --project NAME
--stack NAME --result FILE`, in the program's folder.
"""

from __future__ import annotations

import argparse
import inspect
import json
import runpy
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
from pulumi.output import Unknown
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from cxone_provider.api.errors import (
    ActionValidationError,
    CxoneError,
    DependencyGraphError,
    Problem,
)
from cxone_provider.cli.program import UNKNOWN_MARKER, DeclaredBy
from cxone_provider.deploy.catalog import collecting_catalogs
from cxone_provider.deploy.graph import Declaration
from cxone_provider.deploy.properties import INPUTS, ORIGIN, TYPE_TOKEN
from cxone_provider.deploy.resource import DataActionArgs, registration


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
        return {UNKNOWN_MARKER: True}
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
    parser = argparse.ArgumentParser(prog="python -m cxone_provider.cli.program_child")
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
