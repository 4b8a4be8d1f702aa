"""`read`: refresh one action from the API; an action gone from the tenant leaves the state."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import ReadResult

from cxone_provider.api.errors import NotFoundError
from cxone_provider.deploy.operation import Operation, state_outputs
from cxone_provider.deploy.properties import DEFAULT_TEST_INPUT, INPUTS, json_text

logger = logging.getLogger(__name__)


def read_action(operation: Operation, id_: str, props: Mapping[str, Any]) -> ReadResult:
    """The action as the tenant has it now, with the recorded inputs; an empty id when gone.

    A refresh runs no test: the recorded test outputs are kept.
    """
    try:
        with operation.step("reading the action") as api:
            action = api.get_action(id_)
    except NotFoundError:
        logger.info("Data Action %r (%s) no longer exists on the tenant", operation.name, id_)
        return ReadResult(id_="", outs={})
    recorded: dict[str, Any] = {key: props[key] for key in INPUTS if key in props}
    recorded.setdefault("test_input", json_text(DEFAULT_TEST_INPUT))
    outs = state_outputs(recorded, action, None, None, previous=props)
    inputs: dict[str, Any] = {key: outs[key] for key in INPUTS if key in outs}
    return ReadResult(id_=action.id, outs=outs, inputs=inputs)
