"""The resource's properties: their names, their wire format, and what the state records.

The wire format is defined here, next to the code that reads it: `test_input`,
`expected_output` and `test_output` travel as JSON text, because Pulumi's property model
drops nulls inside objects and turns every number into a float, which would change what the
sandbox test receives and what it is compared with. `Content` is what the API stores of an
action, normalized as the API treats it: `diff` compares it, `cxone diff` too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from cxone_provider.api.models import Action, ActionSpec, Script, Trigger, TriggerType

TYPE_TOKEN: Final = "pulumi-python:dynamic/dataaction:DataAction"
ACTION_TYPE: Final = "SCRIPT"
PROVIDER_KEY: Final = "__provider"
DEFAULT_TEST_INPUT: Final[Mapping[str, Any]] = {"testField": "validation_payload"}
DEFAULT_TRIGGER: Final = "MANUAL"

# Inputs that make up the action on the tenant, inputs that only steer its test, `adopt`
# (whether a create may take over an existing, identical action) and the hidden inputs the
# resource adds: {"project", "stack", "resource"} of the declaration, and which are secret.
CONTENT_INPUTS: Final = ("name", "description", "script", "dependencies", "enabled", "trigger_type")
TEST_INPUTS: Final = ("test_input", "expected_output", "on_test_failure")
ADOPT: Final = "adopt"
ORIGIN: Final = "origin"
SECRET_INPUTS: Final = "secret_inputs"
"""Hidden input: the names of the inputs whose values are secret (see deploy/secrets.py)."""
INPUTS: Final = (*CONTENT_INPUTS, *TEST_INPUTS, ADOPT, ORIGIN, SECRET_INPUTS)
OUTPUTS: Final = (
    "action_id",
    "version",
    "created_timestamp",
    "modified_timestamp",
    "type",
    "test_status",
    "test_passed",
    "test_output",
    "latency_ms",
)
JSON_INPUTS: Final = ("test_input", "expected_output")
"""The inputs that travel as JSON text."""


def default_description(name: str) -> str:
    """The description an action gets when its declaration gives none."""
    return f"Managed by Pulumi: {name}"


def json_text(value: Any) -> str:
    """JSON text of a test value, as stored in the state (compact, keys in the given order).

    Raises TypeError or ValueError for values JSON cannot represent (NaN, sets, objects).
    """
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def json_equal(left: Any, right: Any) -> bool:
    """Deep JSON equality: 1 equals 1.0 (JSON has one number type), true never equals 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    return type(left) is type(right) and left == right


def whole(number: Any) -> int | None:
    """A recorded integer (Pulumi hands numbers back as floats), or None."""
    return int(number) if isinstance(number, int | float) else None


@dataclass(frozen=True, slots=True)
class Content:
    """What the API stores of an action, normalized as the API treats it.

    Dependencies are a set: the contract gives their order no meaning and forbids repeats.
    """

    name: str
    description: str
    script: str
    dependencies: frozenset[str]
    enabled: bool
    trigger_type: str
    type: str = ACTION_TYPE

    @classmethod
    def of_action(cls, action: Action) -> Content:
        """The content of an action as the API returned it."""
        return cls(
            name=action.name,
            description=action.description,
            script=action.script.content,
            dependencies=frozenset(action.dependencies),
            enabled=action.enabled,
            trigger_type=action.trigger.type,
            type=action.type,
        )

    @classmethod
    def of_spec(cls, spec: ActionSpec) -> Content:
        """The content a request body asks for."""
        return cls(
            name=spec.name,
            description=spec.description,
            script=spec.script.content,
            dependencies=frozenset(spec.dependencies),
            enabled=spec.enabled,
            trigger_type=spec.trigger.type,
            type=spec.type,
        )

    @classmethod
    def of_properties(cls, props: Mapping[str, Any]) -> Content:
        """The content recorded in (or asked for by) resource properties, defaults applied."""
        name = str(props.get("name", ""))
        return cls(
            name=name,
            description=str(props.get("description", default_description(name))),
            script=str(props.get("script", "")),
            dependencies=frozenset(str(d) for d in props.get("dependencies") or ()),
            enabled=bool(props.get("enabled", True)),
            trigger_type=str(props.get("trigger_type", DEFAULT_TRIGGER)),
            type=str(props.get("type", ACTION_TYPE)),
        )

    def to_spec(self, dependency_order: list[str] | None = None) -> ActionSpec:
        """The spec that recreates this content, without re-checking it (the API accepted it)."""
        order = [d for d in dependency_order or () if d in self.dependencies]
        order += sorted(self.dependencies.difference(order))
        return ActionSpec.model_construct(
            name=self.name,
            description=self.description,
            type="SCRIPT",
            trigger=Trigger.model_construct(type=cast("TriggerType", self.trigger_type)),
            script=Script.model_construct(language="JavaScript", content=self.script),
            enabled=self.enabled,
            dependencies=tuple(order),
        )


def request_body(props: Mapping[str, Any]) -> dict[str, Any]:
    """The API request body that checked properties ask for (validated by `validate_spec`)."""
    name = props.get("name")
    return {
        "name": name,
        "description": props.get("description", default_description(str(name))),
        "script": {"content": props.get("script")},
        "trigger": {"type": props.get("trigger_type", DEFAULT_TRIGGER)},
        "enabled": props.get("enabled", True),
        "dependencies": list(props.get("dependencies") or ()),
    }


def recorded_action(id_: str, olds: Mapping[str, Any]) -> Action:
    """The action as the state records it (a test-only update makes no API call for it)."""
    old = Content.of_properties(olds)
    return Action(
        id=id_,
        name=old.name,
        description=old.description,
        type=old.type,
        trigger=Trigger.model_construct(type=cast("TriggerType", old.trigger_type)),
        script=Script.model_construct(language="JavaScript", content=old.script),
        enabled=old.enabled,
        dependencies=tuple(str(d) for d in olds.get("dependencies") or ()),
        version=int(olds.get("version", 0)),
        created_timestamp=int(olds.get("created_timestamp", 0)),
        modified_timestamp=int(olds.get("modified_timestamp", 0)),
    )


def origin_of(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """Where the action is declared: {"project", "stack", "resource"} (empty if unknown)."""
    origin = props.get(ORIGIN)
    return origin if isinstance(origin, Mapping) else {}


def stack_of(props: Mapping[str, Any]) -> str | None:
    """The stack that declares the action, if the properties say."""
    stack = origin_of(props).get("stack")
    return stack if isinstance(stack, str) else None


def resource_name_of(props: Mapping[str, Any]) -> str:
    """The Pulumi resource name of the declaration, for messages."""
    resource = origin_of(props).get("resource")
    return resource if isinstance(resource, str) else "<resource name>"
