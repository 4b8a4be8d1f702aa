"""`create`: POST the action with a deterministic Idempotency-Key, test it; all or nothing.

A rerun after a crash sends the same key and adopts the first run's creation instead of
making a duplicate; `adopt=True` takes over an identical existing action instead of creating
one. A failed test deletes what this create made (policy `fail`), never what it adopted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Final

from pulumi.dynamic import CreateResult

from cxone_provider.api.client import Created, CxoneClient
from cxone_provider.api.errors import ConflictError, CxoneError, NotFoundError, TestFailedError
from cxone_provider.api.models import Action, ActionSpec
from cxone_provider.deploy.operation import Operation, elapsed_ms, state_outputs
from cxone_provider.deploy.properties import (
    ADOPT,
    CONTENT_INPUTS,
    Content,
    origin_of,
    resource_name_of,
)
from cxone_provider.deploy.testing import TestPlan, Verdict

# Each round of a create either succeeds or learns that its key's answer is stale.
_MAX_CREATE_ROUNDS: Final = 8

logger = logging.getLogger(__name__)


def idempotency_key(spec: ActionSpec, props: Mapping[str, Any], *salt: str) -> str:
    """The Idempotency-Key of a create: a hash of the body and of where it is declared.

    The same declaration with the same content gives the same key in every process, so a
    rerun after a crash gets the first run's answer replayed instead of a duplicate. The
    origin (project, stack, resource name) keeps two declarations of identical content from
    sharing a key, and `salt` derives the next key when a replayed answer is stale. A
    replacement's create repeats the key of the action it replaces, so replacements delete
    first (DataAction insists): the replayed id is then gone and a new key is derived.
    """
    canonical = json.dumps(
        {"body": spec.to_api(), "origin": dict(origin_of(props)), "salt": list(salt)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "pulumi-cxone-" + hashlib.sha256(canonical.encode()).hexdigest()


def create_action(operation: Operation, spec: ActionSpec, props: Mapping[str, Any]) -> CreateResult:
    """Create (or adopt our own earlier creation), test, report: all or nothing.

    With `adopt`, an identical existing action is taken over instead of created and its
    test only reported (nothing changed, so there is nothing to undo); a failed create
    deletes only what it made.
    """
    plan = TestPlan.of_properties(props)
    started = time.perf_counter()
    created, taken_over = _create_or_adopt(operation, spec, props)
    latency_ms = elapsed_ms(started)
    action = created.action
    verb = "adopt" if taken_over else "create"
    audit: dict[str, Any] = {
        "version": action.version,
        "latency_ms": latency_ms,
        "attempt_count": created.attempts,
        "adopted": created.replayed,
    }
    try:
        verdict = operation.test(action.id, plan)
    except BaseException as exc:
        outcome = "kept" if taken_over else _roll_back(operation, action.id, exc)
        failed = {"test_status": None, "test_passed": None, "error": type(exc).__name__}
        operation.audit(verb, outcome, action.id, **audit, **failed)
        raise
    audit.update(test_status=verdict.result.status, test_passed=verdict.passed)
    if not verdict.passed and operation.policy(plan) == "fail" and not taken_over:
        error = TestFailedError(spec.name, verdict.failure_status, verdict.reason)
        outcome = _roll_back(operation, action.id, error)
        operation.notify("ACTION_TEST_FAILED", action.id, verdict, latency_ms)
        operation.audit(verb, outcome, action.id, **audit)
        raise error
    _report(operation, action, verdict, latency_ms, taken_over=taken_over)
    operation.audit(verb, "adopted" if taken_over else "created", action.id, **audit)
    return CreateResult(action.id, state_outputs(props, action, verdict, latency_ms))


def _report(
    operation: Operation,
    action: Action,
    verdict: Verdict,
    latency_ms: float,
    *,
    taken_over: bool,
) -> None:
    """The webhook event of a create that stands, and a warning when its test failed."""
    if verdict.passed:
        if not taken_over:
            operation.notify("ACTION_CREATED", action.id, verdict, latency_ms)
        return
    logger.warning(
        "Data Action %r: %s as %s although its test failed (%s): %s",
        operation.name,
        "adopted" if taken_over else "created",
        action.id,
        "adopting changes nothing" if taken_over else "on_test_failure=warn",
        verdict.reason,
    )
    operation.notify("ACTION_TEST_FAILED", action.id, verdict, latency_ms)


def _create_or_adopt(
    operation: Operation, spec: ActionSpec, props: Mapping[str, Any]
) -> tuple[Created, bool]:
    """POST with a deterministic key; adopt a replay of our own creation, nothing else.

    With `adopt`, an existing action of the name is taken over instead (the second value
    is then True), if it already holds exactly the declared content: no write, and a
    failed create leaves it on the tenant. One that differs is an error.
    """
    key = idempotency_key(spec, props)
    with operation.step("creating the action") as api:
        if props.get(ADOPT) is True:
            existing = api.find_action(spec.name)
            if existing is not None:
                wanted = Content.of_properties(props)
                return _adopted(existing, wanted, resource_name_of(props)), True
        for _ in range(_MAX_CREATE_ROUNDS):
            answer = _create_round(api, spec, props, key)
            if isinstance(answer, Created):
                return answer, False
            key = answer
    msg = (
        f"Data Action {spec.name!r}: the create kept getting stale replayed answers "
        f"after {_MAX_CREATE_ROUNDS} idempotency keys; run `pulumi up` again"
    )
    raise CxoneError(msg)


def _create_round(
    api: CxoneClient, spec: ActionSpec, props: Mapping[str, Any], key: str
) -> Created | str:
    """One POST with `key`: the creation to keep, or the next key when the answer is stale."""
    try:
        created = api.create_action(spec, idempotency_key=key)
    except ConflictError as exc:
        if exc.code != "NAME_CONFLICT":
            raise
        existing = api.find_action(spec.name)
        if existing is None:
            # The 409 was the replayed answer of an earlier run; the name is free now.
            return idempotency_key(spec, props, "name-conflict", exc.request_id or "")
        msg = (
            f"Data Action {spec.name!r} already exists on the tenant (id {existing.id}), not "
            "created by this stack. "
            f"{_adoption_advice(resource_name_of(props))}"
        )
        raise exc.reworded(msg) from None
    if not created.replayed:
        return created
    try:
        current = api.get_action(created.action.id)
    except NotFoundError:
        # Our earlier creation was deleted since (destroy, then up within the key's 24 h):
        # derive a new key from the deleted id and create again.
        return idempotency_key(spec, props, "deleted", created.action.id)
    if Content.of_action(current) != Content.of_properties(props):
        msg = (
            f"Data Action {spec.name!r}: an earlier run of this deployment created it as "
            f"{current.id}, but it has been changed since, so it is not adopted. "
            f"{_adoption_advice(resource_name_of(props))}"
        )
        raise CxoneError(msg)
    logger.info(
        "Data Action %r: adopting %s, created by an earlier run that did not finish",
        spec.name,
        current.id,
    )
    return Created(current, replayed=True, attempts=created.attempts)


def _roll_back(operation: Operation, action_id: str, error: BaseException) -> str:
    """Delete what this create made, so a failed create leaves nothing behind.

    Runs outside the operation's deadline. When the delete fails too, `error` (why the create
    failed, which the user reads) gets a note saying what stays. Returns the audit outcome.
    """
    try:
        operation.client.delete_action(action_id)
    except CxoneError as exc:
        error.add_note(
            f"Deleting {action_id} again failed ({exc}), so the action stays on the tenant: "
            "the next `pulumi up` adopts it and tests it again, or delete it by hand."
        )
        logger.exception(
            "Data Action %r: the create failed and deleting %s again failed too (%s); the "
            "next `pulumi up` adopts it, or delete it by hand",
            operation.name,
            action_id,
            type(exc).__name__,
        )
        return "rollback_failed"
    logger.info(
        "Data Action %r: deleted %s again because the create failed", operation.name, action_id
    )
    return "rolled_back"


def _adoption_advice(resource: str) -> str:
    return (
        f"To fix: adopt it (`adopt=True` on DataAction {resource!r}, as `cxone export` declares "
        "it); if you renamed this stack's resource, add "
        "`aliases=[pulumi.Alias(name='<old name>')]` instead; or choose another name."
    )


def _adopted(existing: Action, wanted: Content, resource: str) -> Created:
    """Take over an existing action for `adopt`, only if it is what the declaration says."""
    found = Content.of_action(existing)
    differing = [
        key for key in ("type", *CONTENT_INPUTS) if getattr(found, key) != getattr(wanted, key)
    ]
    if differing:
        msg = (
            f"Data Action {wanted.name!r} exists on the tenant (id {existing.id}) but differs "
            f"from DataAction {resource!r} in {', '.join(differing)}, so adopt=True does not "
            "take it over: make the declaration match the action (`cxone export` writes one "
            "that does) and run `pulumi up` again; change it afterwards like any other."
        )
        raise CxoneError(msg)
    logger.info("Data Action %r: adopting the existing action %s", wanted.name, existing.id)
    return Created(existing, replayed=True, attempts=0)
