"""Run one action locally, in the emulator's sandbox, with its declared dependencies: `cxone test`.

The script runs in `sandbox.run_action`, the same V8 sandbox behind the emulator's
`POST /{id}/test`; `context.call` reaches the scripts of the program's declared actions
(each with its own declared dependencies). The verdict is the provider's (`provider.judge`):
a run passes when it ends in SUCCESS and, when the declared `test_input` is used, returns
the declared `expected_output`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from pulumi.runtime.rpc import contains_unknowns

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.api.models import TestResult
from cxone_provider.api.textfiles import read_utf8
from cxone_provider.cli.program import Declarations, DeclaredAction
from cxone_provider.deploy.properties import DEFAULT_TEST_INPUT
from cxone_provider.deploy.testing import TestPlan, Verdict, judge
from cxone_provider.emulator.sandbox import ScriptUnit, run_action

__all__ = ["LocalRun", "Outcome", "for_action", "for_script", "parse_input", "run"]

InputSource = Literal["given", "declared", "default"]
LOCAL_ACTION_ID: Final = "local"


@dataclass(frozen=True, slots=True)
class LocalRun:
    """What to run: the script, its input, what it may call, and what it must return."""

    name: str | None
    script: str
    script_file: Path | None
    test_input: Any
    input_source: InputSource
    declared: tuple[str, ...]
    units: Mapping[str, ScriptUnit]
    unresolved: tuple[str, ...]
    """Dependencies with no script here (unmanaged tenant actions): calling them fails."""
    plan: TestPlan
    program_names: tuple[str, ...] | None
    """The actions the program declares; None when no program was given."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The sandbox's result and the verdict on it."""

    run: LocalRun
    verdict: Verdict
    undeclared_call: str | None = None
    """A name the script called without declaring it, which failed the run."""

    @property
    def compared(self) -> bool:
        """Whether the output was compared with a declared expected_output."""
        return self.run.plan.expects_output

    @property
    def matched(self) -> bool | None:
        """Whether the output was the expected one; None when it was not compared or failed."""
        result = self.verdict.result
        if not self.compared or result.status != "SUCCESS":
            return None
        return self.verdict.passed

    @property
    def hint(self) -> str | None:
        """What to do about a call the script may not make here."""
        name, local = self.undeclared_call, self.run
        if name is None:
            return None
        if local.program_names is None:
            return (
                f"the script calls {name!r}, which only a program declares: give it with "
                "--program (e.g. --program . in the project folder)"
            )
        if name not in local.program_names:
            return f"{name!r} is not declared in the program; declare it, or check the name"
        return f"add {name!r} to the dependencies of {local.name or 'this action'}"


def parse_input(text: str) -> Any:
    """The `--input` value: JSON text, or `@path` of a JSON file."""
    source = text
    if text.startswith("@"):
        try:
            source = read_utf8(Path(text[1:]))
        except ConfigurationError as exc:
            msg = f"--input {text!r}: {exc}"
            raise ConfigurationError(msg) from None
    try:
        return json.loads(source)
    except ValueError as exc:
        if source is text:
            msg = (
                f"--input is not valid JSON ({exc}); quote it for the shell, e.g. "
                "--input '{\"n\": 1}'"
            )
        else:
            msg = f"--input {text}: {text[1:]!r} is not valid JSON ({exc}); fix the file"
        raise ConfigurationError(msg) from None


def for_action(
    declarations: Declarations, action: DeclaredAction, given_input: Any | None = None
) -> LocalRun:
    """The run of a declared action: its script, its declared dependencies and its test."""
    dependencies = _declared_names(action)
    units, unresolved = _units(declarations, dependencies)
    source: InputSource
    if given_input is not None:
        plan, source = _uncompared(given_input), "given"
    else:
        plan = TestPlan.of_properties(action.inputs)
        source = "declared" if "test_input" in action.inputs else "default"
    return LocalRun(
        action.name,
        _script(action),
        action.script_file,
        plan.input,
        source,
        dependencies,
        units,
        unresolved,
        plan,
        tuple(declarations.names()),
    )


def for_script(
    path: Path, declarations: Declarations | None, given_input: Any | None = None
) -> LocalRun:
    """The run of a script file: as the declared action it belongs to, if any.

    A script no action declares may call every action of the program (if one is given).
    """
    if declarations is not None:
        resolved = path.resolve()
        for action in declarations.actions:
            if action.script_file is not None and action.script_file.resolve() == resolved:
                return for_action(declarations, action, given_input)
    script = read_utf8(path)
    callable_names = tuple(declarations.names()) if declarations is not None else ()
    units, unresolved = (
        _units(declarations, callable_names) if declarations is not None else ({}, ())
    )
    test_input = dict(DEFAULT_TEST_INPUT) if given_input is None else given_input
    return LocalRun(
        None,
        script,
        path,
        test_input,
        "default" if given_input is None else "given",
        callable_names,
        units,
        unresolved,
        _uncompared(test_input),
        tuple(declarations.names()) if declarations is not None else None,
    )


def run(local: LocalRun) -> Outcome:
    """Run it in the sandbox and judge the result as the provider does after a deployment."""
    result = run_action(
        local.script, local.test_input, declared=local.declared, dependencies=local.units
    )
    test_result = TestResult(
        status=result.status,
        output=result.output,
        error=result.error,
        duration_ms=result.duration_ms,
        action_id=LOCAL_ACTION_ID,
    )
    return Outcome(local, judge(test_result, local.plan), result.undeclared_call)


def _uncompared(test_input: Any) -> TestPlan:
    """A run on an input no expected_output was declared for: nothing to compare."""
    return TestPlan(test_input, expects_output=False, expected_output=None, policy=None)


def _script(action: DeclaredAction) -> str:
    script = action.inputs.get("script")
    if not isinstance(script, str) or contains_unknowns(script):
        msg = (
            f"the script of {action.name!r} is not known before a deployment (it is a Pulumi "
            "Output); give the script file instead: cxone test path/to/script.js"
        )
        raise ConfigurationError(msg)
    return script


def _declared_names(action: DeclaredAction) -> tuple[str, ...]:
    dependencies = action.inputs.get("dependencies") or []
    if isinstance(dependencies, str):
        return ()
    return tuple(name for name in dependencies if isinstance(name, str))


def _units(
    declarations: Declarations, roots: Sequence[str]
) -> tuple[dict[str, ScriptUnit], tuple[str, ...]]:
    """The scripts reachable from `roots`, each with what it may call; and the missing names."""
    units: dict[str, ScriptUnit] = {}
    unresolved: list[str] = []
    waiting = list(roots)
    while waiting:
        name = waiting.pop()
        if name in units or name in unresolved:
            continue
        action = declarations.find(name)
        script = action.inputs.get("script") if action is not None else None
        if action is None or not isinstance(script, str) or contains_unknowns(script):
            unresolved.append(name)
            continue
        calls = _declared_names(action)
        units[name] = ScriptUnit(script, calls)
        waiting.extend(calls)
    return units, tuple(sorted(unresolved))
