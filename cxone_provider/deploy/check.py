"""`check`: a declaration's every problem, found offline, on the property at fault.

The engine calls it before every diff (in a preview too); `cxone validate` calls
`input_problems` to place each problem itself (a script's file, line and column).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from pulumi.dynamic import CheckFailure
from pulumi.runtime.rpc import contains_unknowns

from cxone_provider.api.errors import ActionValidationError, Problem
from cxone_provider.api.javascript import trust_deployed_script
from cxone_provider.api.models import validate_spec
from cxone_provider.deploy.properties import (
    ADOPT,
    DEFAULT_TEST_INPUT,
    DEFAULT_TRIGGER,
    INPUTS,
    JSON_INPUTS,
    ORIGIN,
    PROVIDER_KEY,
    default_description,
    json_text,
)
from cxone_provider.deploy.settings import TEST_FAILURE_POLICIES

_PROPERTY_OF_FIELD: Final = {
    "name": "name",
    "description": "description",
    "script": "script",
    "trigger": "trigger_type",
    "enabled": "enabled",
    "dependencies": "dependencies",
}


def _on_property(problem: Problem, unknown: set[str]) -> Problem | None:
    """A model's problem moved onto the input property at fault (None: that one is unknown)."""
    root, _, rest = problem.field.partition(".")
    prop = _PROPERTY_OF_FIELD.get(root, problem.field)
    if prop in unknown:
        return None
    message = problem.message
    if problem.line is None and prop == "dependencies" and rest.isdigit():
        message = f"dependencies[{rest}]: {message}"
    return Problem(prop, message, problem.line, problem.column)


def check_inputs(
    news: Mapping[str, Any], olds: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[CheckFailure]]:
    """Apply the defaults and find every problem of a declaration, without any network call.

    Values still unknown during a preview are skipped (checked again when they are known).
    `olds`, the inputs the state recorded, were checked when they were deployed: their script
    is not compiled again (a preview of a large stack compiles only what changed).
    Returns the inputs to record and one failure per problem, on the property at fault.
    """
    deployed = (olds or {}).get("script")
    if isinstance(deployed, str):
        trust_deployed_script(deployed)
    inputs, problems = input_problems(news)
    return inputs, [CheckFailure(problem.field, _reason(problem)) for problem in problems]


def _reason(problem: Problem) -> str:
    """A CheckFailure's text: a script's line and column lead, as compilers put them."""
    if problem.line is None:
        return problem.message
    return f"line {problem.line}, column {problem.column}: {problem.message}"


def input_problems(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """`check_inputs` with each problem as a Problem: its property, and a script's line/column.

    For tools that place a problem themselves (`cxone validate` points at the script's file).
    """
    unknown = {key for key, value in news.items() if contains_unknowns(value)}
    inputs = dict(news)
    name = news.get("name")
    if "description" not in news and isinstance(name, str):  # an unknown name is no str
        inputs["description"] = default_description(name)
    inputs.setdefault("dependencies", [])
    inputs.setdefault("enabled", True)
    inputs.setdefault("trigger_type", DEFAULT_TRIGGER)
    inputs.setdefault("test_input", json_text(DEFAULT_TEST_INPUT))

    problems = [
        Problem(key, f"unknown property {key!r}; a DataAction takes {', '.join(INPUTS)}")
        for key in news
        if key not in INPUTS and key != PROVIDER_KEY
    ]
    problems += [
        Problem(key, f"{key} is required") for key in ("name", "script") if key not in news
    ]
    problems += _content_problems(inputs, unknown)
    problems += _test_problems(inputs, unknown)
    return inputs, problems


def _content_problems(inputs: Mapping[str, Any], unknown: set[str]) -> list[Problem]:
    body: dict[str, Any] = {}
    simple = {"name": "name", "description": "description", "enabled": "enabled"}
    for prop, field in simple.items():
        if prop in inputs and prop not in unknown:
            body[field] = inputs[prop]
    if "script" in inputs and "script" not in unknown:
        body["script"] = {"content": inputs["script"]}
    if "trigger_type" not in unknown:
        body["trigger"] = {"type": inputs["trigger_type"]}
    dependencies = inputs["dependencies"]
    if isinstance(dependencies, list):
        body["dependencies"] = [d for d in dependencies if not contains_unknowns(d)]
    elif "dependencies" not in unknown:
        return [Problem("dependencies", "dependencies must be a list of action names")]
    try:
        validate_spec(body)
    except ActionValidationError as exc:
        skipped = unknown | {key for key in ("name", "script") if key not in inputs}
        return [f for f in (_on_property(p, skipped) for p in exc.problems) if f is not None]
    return []


def _test_problems(inputs: Mapping[str, Any], unknown: set[str]) -> list[Problem]:
    problems = []
    for prop in JSON_INPUTS:
        if prop not in inputs or prop in unknown:
            continue
        value = inputs[prop]
        if not isinstance(value, str):
            problems.append(
                Problem(
                    prop, f"{prop} must be JSON text on the wire; DataActionArgs encodes it for you"
                )
            )
            continue
        try:
            json.loads(value, parse_constant=_reject_constant)
        except ValueError as exc:
            problems.append(Problem(prop, f"{prop} is not valid JSON: {exc}"))
    policy = inputs.get("on_test_failure")
    policy_known = "on_test_failure" not in unknown
    if policy_known and policy is not None and policy not in TEST_FAILURE_POLICIES:
        problems.append(
            Problem(
                "on_test_failure",
                f"on_test_failure is {policy!r}: use 'fail' or 'warn' (or leave "
                "it unset to use the stack's cxone:onTestFailure)",
            )
        )
    origin = inputs.get(ORIGIN)
    if ORIGIN not in unknown and origin is not None and not isinstance(origin, Mapping):
        problems.append(Problem(ORIGIN, "origin is set by DataAction; do not set it"))
    adopt = inputs.get(ADOPT)
    if ADOPT not in unknown and adopt is not None and not isinstance(adopt, bool):
        problems.append(Problem(ADOPT, f"adopt is {adopt!r}: use True or False"))
    return problems


def _reject_constant(constant: str) -> Any:
    msg = f"{constant} is not a JSON value"
    raise ValueError(msg)
