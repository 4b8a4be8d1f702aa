"""The sandbox test after each change: its plan, read from the properties, and its verdict.

`cxone test` judges a local run with the same `judge`, so a test passes or fails there
exactly as it would in `pulumi up`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cxone_provider.api.errors import shortened
from cxone_provider.api.models import TestResult
from cxone_provider.deploy.properties import DEFAULT_TEST_INPUT, json_equal
from cxone_provider.deploy.secrets import hides_test_values
from cxone_provider.deploy.settings import TEST_FAILURE_POLICIES, TestFailurePolicy

_SHOWN_JSON_CHARS: Final = 200
_HIDDEN: Final = (
    "its values and messages are not shown because the script, test_input or expected_output "
    "is secret (try it with plain values through `cxone test`)"
)


@dataclass(frozen=True, slots=True)
class TestPlan:
    """How an action is tested after each change, and what happens when the test fails."""

    __test__ = False  # not a pytest test class, despite its name

    input: Any
    expects_output: bool
    expected_output: Any
    policy: TestFailurePolicy | None
    hides_values: bool = False
    """The test's values come from secret inputs: messages leave them (and errors) out."""

    @classmethod
    def of_properties(cls, props: Mapping[str, Any]) -> TestPlan:
        """The plan in checked inputs (JSON text already validated by `check`)."""
        raw_input = props.get("test_input")
        raw_expected = props.get("expected_output")
        policy = props.get("on_test_failure")
        return cls(
            input=json.loads(raw_input) if isinstance(raw_input, str) else dict(DEFAULT_TEST_INPUT),
            expects_output=isinstance(raw_expected, str),
            expected_output=json.loads(raw_expected) if isinstance(raw_expected, str) else None,
            policy=policy if policy in TEST_FAILURE_POLICIES else None,
            hides_values=hides_test_values(props),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one sandbox test against the plan."""

    result: TestResult
    passed: bool
    reason: str

    @property
    def failure_status(self) -> str:
        """The status named in errors: the sandbox's, or OUTPUT_MISMATCH when it ran fine."""
        return "OUTPUT_MISMATCH" if self.result.status == "SUCCESS" else self.result.status


def judge(result: TestResult, plan: TestPlan) -> Verdict:
    """Whether a sandbox result passes the plan: it ran fine and returned what was expected."""
    if result.status != "SUCCESS":
        reason = result.error or f"the test ended {result.status}"
        if plan.hides_values:
            reason = f"the test ended {result.status}; {_HIDDEN}"
        return Verdict(result, passed=False, reason=reason)
    if plan.expects_output and not json_equal(result.output, plan.expected_output):
        reason = (
            f"the test returned {_shown(result.output)} but expected_output is "
            f"{_shown(plan.expected_output)}"
        )
        if plan.hides_values:
            reason = f"the test returned another value than expected_output; {_HIDDEN}"
        return Verdict(result, passed=False, reason=reason)
    return Verdict(result, passed=True, reason="passed")


def _shown(value: Any) -> str:
    return shortened(json.dumps(value, ensure_ascii=False), _SHOWN_JSON_CHARS)
