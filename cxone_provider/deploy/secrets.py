"""Which outputs are secret: those derived from a secret input, beyond what the engine marks.

The engine marks an output secret only when the input of the same name was secret (and it
sends the provider every input decrypted, so the provider cannot tell which were). Two
outputs are derived from other inputs: `test_output`, what the script returned for the test
input, and `description`, which defaults to a text made of the name. So the resource adds
the hidden input `secret_inputs`, the names of its inputs whose values are secret, worked
out in the program where secrecy is known, and the provider wraps each derived output as a
secret when an input it derives from is listed. Messages that would quote the test's values
(a failed test's error, an output that differs from expected_output) leave them out then.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Final

import pulumi
from pulumi.runtime.rpc import wrap_rpc_secret

from cxone_provider.deploy.properties import SECRET_INPUTS, default_description

TEST_VALUE_INPUTS: Final = ("script", "test_input", "expected_output")
"""The inputs a test's output and its messages are made of."""
DERIVED_OUTPUTS: Final[Mapping[str, tuple[str, ...]]] = {
    "test_output": ("script", "test_input"),
    "description": ("name",),
}
"""Each derived output and the inputs it is made of."""


def secret_inputs_of(inputs: Mapping[str, Any]) -> pulumi.Output[list[str] | None] | None:
    """The value of SECRET_INPUTS for a resource's inputs (None when no input holds Outputs).

    Only an Output can be secret; its secrecy is known once it resolves, even in a preview
    whose values are still unknown.
    """
    candidates = {
        key: value for key, value in inputs.items() if holds_outputs(value) and key != SECRET_INPUTS
    }
    if not candidates:
        return None

    async def secret_names() -> list[str] | None:
        names = [key for key, value in sorted(candidates.items()) if await _holds_secret(value)]
        return names or None

    return pulumi.Output.from_input(secret_names())


async def _holds_secret(value: Any) -> bool:
    """Whether a value is, or holds, a secret Output (asked of each Output it holds).

    Asking each Output spares the Output.all that `Output.from_input` would build around a
    list of them, once per resource: a large program registers faster.
    """
    if isinstance(value, pulumi.Output):
        return await value.is_secret()
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return False  # a plain awaitable is no Output, so never a secret
    for item in items:
        if await _holds_secret(item):
            return True
    return False


def secret_names(props: Mapping[str, Any]) -> frozenset[str]:
    """The input names SECRET_INPUTS lists in recorded properties (empty when absent)."""
    listed = props.get(SECRET_INPUTS)
    if not isinstance(listed, list | tuple):
        return frozenset()
    return frozenset(str(name) for name in listed)


def hides_test_values(props: Mapping[str, Any]) -> bool:
    """Whether messages must leave out the test's values: what they are made of is secret."""
    return not secret_names(props).isdisjoint(TEST_VALUE_INPUTS)


def with_derived_secrets(outs: Mapping[str, Any]) -> dict[str, Any]:
    """`outs` with each output derived from a secret input wrapped as a secret.

    A description is derived from the name only when it is the default made of it.
    """
    secret = secret_names(outs)
    wrapped = dict(outs)
    for output, sources in DERIVED_OUTPUTS.items():
        if output not in wrapped or secret.isdisjoint(sources):
            continue
        if output == "description" and wrapped[output] != default_description(
            str(outs.get("name"))
        ):
            continue
        wrapped[output] = wrap_rpc_secret(wrapped[output])
    return wrapped


def holds_outputs(value: Any) -> bool:
    """Whether a value is, or holds anywhere (keys too), an Output or another awaitable."""
    if isinstance(value, pulumi.Output) or inspect.isawaitable(value):
        return True
    if isinstance(value, dict):
        return any(holds_outputs(key) or holds_outputs(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(holds_outputs(item) for item in value)
    return False
