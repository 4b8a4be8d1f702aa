"""The `DataAction` Pulumi resource: typed arguments in, the deployed and tested action out.

    action = DataAction("lead-score", DataActionArgs(
        name="lead_score",
        script="function main(context) { return context.input.score * 2; }",
        test_input={"score": 21},
        expected_output=42,
    ))

`expected_output=None` (the default) means the test output is not compared. To require that
the test returns JSON null, pass `expected_output=JSON_NULL`. `JSON_NULL` also stands for null
anywhere inside `test_input` or `expected_output` (a plain None there works too); at the top
of `test_input`, None means "the default input".

The module keeps its annotations evaluated (no `from __future__ import annotations`): the SDK
reads DataAction's output types at every registration, and resolving them from strings cost
0.4 ms a resource.
"""

import contextlib
import pickle
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Self

import pulumi
import pulumi.dynamic

from cxone_provider.api.errors import ActionValidationError, ConfigurationError, Problem
from cxone_provider.deploy.properties import (
    ADOPT,
    DEFAULT_TEST_INPUT,
    ORIGIN,
    OUTPUTS,
    SECRET_INPUTS,
    json_text,
)
from cxone_provider.deploy.provider import DataActionProvider
from cxone_provider.deploy.secrets import holds_outputs, secret_inputs_of

__all__ = ["DEFAULT_TEST_INPUT", "JSON_NULL", "DataAction", "DataActionArgs", "registration"]


class _JsonNull:
    """The JSON value null, where None already means "not set"."""

    def __repr__(self) -> str:
        return "JSON_NULL"

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, _memo: dict[int, Any]) -> Self:
        return self


JSON_NULL: Final = _JsonNull()


def _default_test_input() -> dict[str, Any]:
    return dict(DEFAULT_TEST_INPUT)


@dataclass(frozen=True)
class DataActionArgs:
    """The declaration of one Data Action; every value may be a `pulumi.Input`.

    - `description`: None gives "Managed by Pulumi: <name>".
    - `dependencies`: names of other actions (declare them as DataActions too, and pass
      `their.name` so that Pulumi creates them first).
    - `test_input`: the input of the sandbox test run after each change.
    - `expected_output`: None: not compared; otherwise the test must return exactly this
      (deep JSON equality); `JSON_NULL` to require null.
    - `on_test_failure`: "fail" (undo the change and fail) or "warn" (keep it, log a
      warning); None: the stack's `cxone:onTestFailure`, default "fail".
    - `adopt`: when the tenant already has an action of this name, take it over instead of
      failing with NAME_CONFLICT, provided it holds exactly the declared content (the way to
      bring existing actions under Pulumi: the engine's `import_` cannot load a dynamic
      provider). Harmless once adopted.
    """

    name: pulumi.Input[str]
    script: pulumi.Input[str]
    description: pulumi.Input[str] | None = None
    dependencies: pulumi.Input[Sequence[pulumi.Input[str]]] = ()
    enabled: pulumi.Input[bool] = True
    trigger_type: pulumi.Input[str] = "MANUAL"
    test_input: Any = field(default_factory=_default_test_input)
    expected_output: Any = None
    on_test_failure: pulumi.Input[str] | None = None
    adopt: pulumi.Input[bool] = False


def _plain_json(value: Any) -> Any:
    """`value` with JSON_NULL replaced by None, ready for json_text."""
    if value is JSON_NULL:
        return None
    if isinstance(value, dict):
        return {key: _plain_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(item) for item in value]
    return value


def _encoder(resource_name: str, prop: str) -> Callable[[Any], str]:
    def encode(value: Any) -> str:
        try:
            return json_text(_plain_json(value))
        except (TypeError, ValueError) as exc:
            problem = Problem(
                prop,
                f"must be a JSON value (dicts, lists, str, int, float, bool, "
                f"None/JSON_NULL): {exc}",
            )
            raise ActionValidationError([problem], action=resource_name) from None

    return encode


def _json_input(value: Any, resource_name: str, prop: str) -> pulumi.Input[str]:
    """JSON text of a test value: encoded now when plain, once resolved when it holds Outputs."""
    encode = _encoder(resource_name, prop)
    if holds_outputs(value):
        encoded: pulumi.Output[str] = pulumi.Output.from_input(value).apply(encode)
        return encoded
    return encode(value)


def _dependencies(value: Any) -> Any:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return value


_SERIALIZING_PROVIDER = threading.Lock()
_PATCHED_PICKLER_METHODS: Final = ("_batch_setitems", "save_dict")


@contextlib.contextmanager
def _pickler_patches_undone() -> Iterator[None]:
    """Serialize one provider at a time, and undo the SDK's patches of the pickler afterwards.

    `pulumi.dynamic.serialize_provider` sorts dictionaries by replacing methods of
    `pickle._Pickler` with wrappers of the current ones, and never puts them back: each
    resource wraps them once more, until a program of ~1000 DataActions dies of
    RecursionError. Two threads serializing at once would wrap each other's patch too.
    """
    with _SERIALIZING_PROVIDER:
        saved = {name: vars(pickle._Pickler)[name] for name in _PATCHED_PICKLER_METHODS}  # noqa: SLF001 -- the class the SDK patches
        try:
            yield
        finally:
            for name, method in saved.items():
                setattr(pickle._Pickler, name, method)  # noqa: SLF001 -- see above


class DataAction(pulumi.dynamic.Resource, module="dataaction", name="DataAction"):
    """A Data Action on the tenant, kept equal to its declaration and tested after each change.

    Type token `pulumi-python:dynamic/dataaction:DataAction`. Outputs: the inputs, plus
    `action_id`, `version`, `created_timestamp`, `modified_timestamp`, `type`,
    `test_status` (the sandbox's SUCCESS, FAILURE or TIMEOUT), `test_passed`, `test_output`
    (JSON text) and `latency_ms` (of the last create or update call). In the outputs,
    `test_input` and `expected_output` are JSON text.

    Replacements always delete first (`delete_before_replace=True`; False is refused): names
    are unique per tenant, and the engine decides `pulumi up --replace`, taints and
    `replace_with` without asking the provider, so a create-first replacement could only
    fail or, through the idempotency key, take over the very action it replaces. The actions
    that call a replaced one are replaced with it when they name it through its `name` output
    (as ActionCatalog does). Renaming the resource together with the action (as ActionCatalog
    does) is no replacement: the new action is created before the old one is deleted.
    """

    name: pulumi.Output[str]
    script: pulumi.Output[str]
    description: pulumi.Output[str]
    dependencies: pulumi.Output[list[str]]
    enabled: pulumi.Output[bool]
    trigger_type: pulumi.Output[str]
    test_input: pulumi.Output[str]
    expected_output: pulumi.Output[str | None]
    on_test_failure: pulumi.Output[str | None]
    action_id: pulumi.Output[str]
    version: pulumi.Output[int]
    created_timestamp: pulumi.Output[int]
    modified_timestamp: pulumi.Output[int]
    type: pulumi.Output[str]
    test_status: pulumi.Output[str]
    test_passed: pulumi.Output[bool]
    test_output: pulumi.Output[str]
    latency_ms: pulumi.Output[float]

    def __init__(
        self,
        resource_name: str,
        args: DataActionArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = registration(
            resource_name, args, project=pulumi.get_project(), stack=pulumi.get_stack()
        )
        with _pickler_patches_undone():
            super().__init__(
                DataActionProvider(), resource_name, props, _deleting_first(resource_name, opts)
            )


def _deleting_first(
    resource_name: str, opts: pulumi.ResourceOptions | None
) -> pulumi.ResourceOptions:
    """`opts` with delete_before_replace=True; refuses False (see DataAction)."""
    if opts is not None and opts.delete_before_replace is False:
        msg = (
            f"DataAction {resource_name!r}: delete_before_replace=False cannot work: action "
            "names are unique per tenant, so a replacement must delete the old action first. "
            "Remove the option. To rename an action without recreating the actions that call "
            "it, rename its Pulumi resource too: the new one is created before the old one is "
            "deleted."
        )
        raise ConfigurationError(msg)
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True))


def registration(
    resource_name: str, args: DataActionArgs, *, project: str, stack: str
) -> dict[str, Any]:
    """The properties a DataAction registers: its inputs and a None for each output.

    Unset inputs are None (Pulumi drops them, `check` applies the defaults); test values are
    JSON text; `origin` records where the action is declared, for webhook events and
    idempotency keys. Tests use this to send exactly what a program would.
    """
    test_input = DEFAULT_TEST_INPUT if args.test_input is None else args.test_input
    expected = args.expected_output
    props: dict[str, Any] = {
        "name": args.name,
        "script": args.script,
        "description": args.description,
        "dependencies": _dependencies(args.dependencies),
        "enabled": args.enabled,
        "trigger_type": args.trigger_type,
        "test_input": _json_input(test_input, resource_name, "test_input"),
        "expected_output": None
        if expected is None
        else _json_input(expected, resource_name, "expected_output"),
        "on_test_failure": args.on_test_failure,
        ADOPT: args.adopt if args.adopt is not False else None,
        ORIGIN: {"project": project, "stack": stack, "resource": resource_name},
    }
    props[SECRET_INPUTS] = secret_inputs_of(props)
    props.update(dict.fromkeys(OUTPUTS))
    return props
