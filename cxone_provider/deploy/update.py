"""`update`: PUT the new content on the recorded version, test it, restore it if the test fails.

A change of the test alone (its input, expected output or policy) makes no write: the action
as recorded is tested again. Policy `fail` puts the previous content back after a failed test.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import UpdateResult

from cxone_provider.api.errors import CxoneError, PreconditionFailedError, TestFailedError
from cxone_provider.api.models import Action, ActionSpec
from cxone_provider.deploy.operation import Operation, elapsed_ms, state_outputs
from cxone_provider.deploy.properties import Content, recorded_action, whole
from cxone_provider.deploy.testing import TestPlan

logger = logging.getLogger(__name__)


def update_action(
    operation: Operation,
    id_: str,
    spec: ActionSpec,
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
) -> UpdateResult:
    """PUT the new content (if it changed), test, and keep or restore: all or nothing."""
    plan = TestPlan.of_properties(news)
    old = Content.of_properties(olds)
    content_changed = old != Content.of_properties(news)
    latency_ms: float | None = None
    if content_changed:
        started = time.perf_counter()
        action = _put(operation, id_, spec, old, olds.get("version"))
        latency_ms = elapsed_ms(started)
    else:
        action = recorded_action(id_, olds)
    verdict = operation.test(id_, plan)
    verb = "update" if content_changed else "test"
    audit = {
        "version": action.version,
        "latency_ms": latency_ms,
        "test_status": verdict.result.status,
        "test_passed": verdict.passed,
    }
    if not verdict.passed and operation.policy(plan) == "fail":
        error = TestFailedError(spec.name, verdict.failure_status, verdict.reason)
        outcome = "rejected"
        if content_changed:
            outcome = _restore(operation, id_, old, olds=olds, version=action.version, error=error)
        operation.notify("ACTION_TEST_FAILED", id_, verdict, latency_ms)
        operation.audit(verb, outcome, id_, **audit)
        raise error
    if not verdict.passed:
        logger.warning(
            "Data Action %r: updated although its test failed (on_test_failure=warn): %s",
            spec.name,
            verdict.reason,
        )
        operation.notify("ACTION_TEST_FAILED", id_, verdict, latency_ms)
    elif content_changed:
        operation.notify("ACTION_UPDATED", id_, verdict, latency_ms)
    operation.audit(verb, "updated" if content_changed else "tested", id_, **audit)
    return UpdateResult(state_outputs(news, action, verdict, latency_ms))


def _put(
    operation: Operation, id_: str, spec: ActionSpec, old: Content, recorded_version: Any
) -> Action:
    """PUT on the recorded version; a moved version with unchanged content is no conflict.

    A 412 after the tenant already holds the new content means an earlier attempt of this
    PUT landed but its answer was lost; that is success.
    """
    if_match = whole(recorded_version)
    with operation.step("updating the action") as api:
        try:
            return api.update_action(id_, spec, if_match=if_match)
        except PreconditionFailedError as exc:
            current = api.get_action(id_)
            remote = Content.of_action(current)
            if remote == Content.of_spec(spec):
                return current
            if remote == old:
                # Only the version moved (an earlier failed update restored the content).
                return api.update_action(id_, spec, if_match=current.version)
            msg = (
                f"Data Action {spec.name!r} ({id_}) was changed outside Pulumi: the state "
                f"records version {if_match}, the tenant has version {current.version} "
                "with other content"
            )
            fix = (
                "run `pulumi refresh` to record the tenant's version, then `pulumi up` to "
                "apply the declaration over it"
            )
            raise exc.reworded(msg, fix=fix) from None


def _restore(
    operation: Operation,
    id_: str,
    old: Content,
    *,
    olds: Mapping[str, Any],
    version: int,
    error: TestFailedError,
) -> str:
    """PUT the previous content back after a failed test; returns the audit outcome."""
    order = [str(d) for d in olds.get("dependencies") or ()]
    try:
        operation.client.update_action(id_, old.to_spec(order), if_match=version)
    except CxoneError as exc:
        error.add_note(
            f"Restoring the previous content of {operation.name!r} failed ({exc}); the tenant "
            "keeps the new content, which failed its test. Run `pulumi refresh`, then fix "
            "the script and run `pulumi up`."
        )
        logger.exception("Data Action %r: restoring the previous content failed", operation.name)
        return "restore_failed"
    logger.warning(
        "Data Action %r: the new content failed its test; the previous content is restored",
        operation.name,
    )
    return "restored"
