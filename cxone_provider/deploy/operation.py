"""One create, read, update or delete of one action: its client, its deadline, its reports.

Each call of the provider keeps its state in an `Operation` of its own (the plugin serves the
stack's actions from several threads). The API calls of each step end by the operation's
deadline; the webhook event and the audit line it sends never fail it; `state_outputs` is what
it records in the state.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cxone_provider.api.client import CxoneClient, deadline
from cxone_provider.api.errors import DeadlineExceededError, TransportError
from cxone_provider.api.models import Action
from cxone_provider.deploy.audit import AuditLog
from cxone_provider.deploy.clients import shared_webhook
from cxone_provider.deploy.properties import PROVIDER_KEY, json_text
from cxone_provider.deploy.secrets import with_derived_secrets
from cxone_provider.deploy.settings import ProviderSettings, TestFailurePolicy
from cxone_provider.deploy.testing import TestPlan, Verdict, judge
from cxone_provider.deploy.webhook import EventType, WebhookEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Operation:
    """One create, read, update or delete of one action: what it needs, and its deadline."""

    verb: str
    name: str
    stack: str | None
    settings: ProviderSettings
    client: CxoneClient
    deadline: float

    @contextmanager
    def step(self, step: str) -> Iterator[CxoneClient]:
        """The client, for the API calls of `step`, which must end by the operation's deadline.

        Past the deadline, the step does not start, and a call in it stops retrying (its
        last error is the cause). Rollbacks run outside any step: they finish regardless.
        """
        if time.monotonic() > self.deadline:
            raise DeadlineExceededError(self._late(f"stopped before {step}"))
        try:
            with deadline(self.deadline):
                yield self.client
        except DeadlineExceededError as exc:
            unanswered = isinstance(exc.__cause__, TransportError)
            raise DeadlineExceededError(self._late(f"gave up while {step}", unanswered)) from exc

    def _late(self, where: str, unanswered: bool = False) -> str:
        """Why the operation stopped; a last request that got no answer may have landed."""
        maybe = (
            " Its last request got no answer, so it may have taken effect: the rerun finds "
            "it (a create is adopted through its idempotency key)."
            if unanswered
            else ""
        )
        return (
            f"Data Action {self.name!r}: the {self.verb} did not finish within "
            f"{self.settings.operation_timeout_s:g} s (cxone:operationTimeout) and {where}; "
            f"the API is slow or unreachable.{maybe} Run `pulumi up` again (it resumes "
            "safely) or raise cxone:operationTimeout."
        )

    def test(self, action_id: str, plan: TestPlan) -> Verdict:
        """Run the action's sandbox test, within the deadline, and judge it."""
        with self.step("testing the action") as api:
            result = api.test_action(action_id, plan.input)
        return judge(result, plan)

    def policy(self, plan: TestPlan) -> TestFailurePolicy:
        """The declaration's test-failure policy, else the stack's."""
        return plan.policy or self.settings.on_test_failure

    def notify(
        self, event: EventType, action_id: str, verdict: Verdict | None, latency_ms: float | None
    ) -> None:
        """Send the webhook event, if a webhook is configured; never raises."""
        if self.settings.webhook is None:
            return
        shared_webhook(self.settings.webhook).send(
            WebhookEvent(
                event=event,
                action_id=action_id,
                name=self.name,
                test_status=verdict.result.status if verdict else None,
                latency_ms=latency_ms,
                stack=self.stack,
                timestamp=int(time.time() * 1000),
            )
        )

    def audit(self, operation: str, outcome: str, action_id: str, **fields: Any) -> None:
        """Append the audit line, if an audit log is configured; a failure is logged, not raised.

        The change has been made by then: failing the operation would make Pulumi forget it.
        """
        if self.settings.audit_log is None:
            return
        record = {
            "operation": operation,
            "outcome": outcome,
            "action_id": action_id,
            "name": self.name,
            "stack": self.stack,
            **fields,
        }
        try:
            AuditLog(self.settings.audit_log).append(record)
        except (OSError, TypeError, ValueError) as exc:
            logger.exception(
                "Data Action %r: could not append to the audit log %s (%s); the record was: %s",
                self.name,
                self.settings.audit_log,
                type(exc).__name__,
                json.dumps(record),
            )


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started` (a `time.perf_counter()`), to a tenth."""
    return round((time.perf_counter() - started) * 1000, 1)


def state_outputs(
    inputs: Mapping[str, Any],
    action: Action,
    verdict: Verdict | None,
    latency_ms: float | None,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The state to record: every input and what the API and the test said.

    Diff, update, delete and read get only these back, never the inputs (pulumi#9086).
    Outputs derived from a secret input are secrets (`with_derived_secrets`).
    """
    outs = {key: value for key, value in inputs.items() if key != PROVIDER_KEY}
    declared = [str(d) for d in outs.get("dependencies") or ()]
    same_set = frozenset(declared) == frozenset(action.dependencies)
    outs.update(
        name=action.name,
        description=action.description,
        script=action.script.content,
        dependencies=declared if same_set else list(action.dependencies),
        enabled=action.enabled,
        trigger_type=action.trigger.type,
        type=action.type,
        action_id=action.id,
        version=action.version,
        created_timestamp=action.created_timestamp,
        modified_timestamp=action.modified_timestamp,
    )
    previous = previous or {}
    if verdict is None:
        for key in ("test_status", "test_passed", "test_output", "latency_ms"):
            if key in previous:
                outs[key] = previous[key]
        return with_derived_secrets(outs)
    outs.update(
        test_status=verdict.result.status,
        test_passed=verdict.passed,
        test_output=json_text(verdict.result.output),
        latency_ms=latency_ms,
    )
    return with_derived_secrets(outs)
