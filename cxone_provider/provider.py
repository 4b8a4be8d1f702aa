"""`DataActionProvider`, the dynamic provider behind `DataAction`: check, diff and the API calls.

Pulumi dill-pickles this provider into the state and unpickles it, with today's code, in a
plugin process that serves every `DataAction` of the stack from four threads (see
`shared/pulumi-dynamic-providers.md`). So: the class stays at this import path, importing
this module has no side effects, the instance pickles to the same bytes every run and never
holds a secret, and each call keeps its state in local variables. The API client lives in a
process-wide cache keyed by the connection, so all resources share one connection pool and
one token.

The wire format of the resource's properties is defined here, next to the code that reads
it: `test_input`, `expected_output` and `test_output` travel as JSON text, because Pulumi's
property model drops nulls inside objects and turns every number into a float, which would
change what the sandbox test receives and what it is compared with.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime.rpc import contains_unknowns

from cxone_provider.audit import AuditLog
from cxone_provider.client import Created, CxoneClient, deadline
from cxone_provider.errors import (
    ActionValidationError,
    ApiError,
    ConfigurationError,
    ConflictError,
    CxoneError,
    DeadlineExceededError,
    NotFoundError,
    PreconditionFailedError,
    Problem,
    TestFailedError,
    TransportError,
)
from cxone_provider.models import (
    Action,
    ActionSpec,
    Script,
    TestResult,
    Trigger,
    TriggerType,
    validate_spec,
)
from cxone_provider.settings import (
    TEST_FAILURE_POLICIES,
    Connection,
    ProviderSettings,
    TestFailurePolicy,
    Webhook,
    load_settings,
)
from cxone_provider.webhook import EventType, WebhookEvent, WebhookSender

TYPE_TOKEN: Final = "pulumi-python:dynamic/dataaction:DataAction"
ACTION_TYPE: Final = "SCRIPT"
PROVIDER_KEY: Final = "__provider"
DEFAULT_TEST_INPUT: Final[Mapping[str, Any]] = {"testField": "validation_payload"}
DEFAULT_TRIGGER: Final = "MANUAL"

# Inputs that make up the action on the tenant, inputs that only steer its test, `adopt`
# (whether a create may take over an existing, identical action) and the hidden input the
# resource adds: {"project", "stack", "resource"} of the declaration.
CONTENT_INPUTS: Final = ("name", "description", "script", "dependencies", "enabled", "trigger_type")
TEST_INPUTS: Final = ("test_input", "expected_output", "on_test_failure")
ADOPT: Final = "adopt"
ORIGIN: Final = "origin"
INPUTS: Final = (*CONTENT_INPUTS, *TEST_INPUTS, ADOPT, ORIGIN)
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
_JSON_INPUTS: Final = ("test_input", "expected_output")
# Each round of a create either succeeds or learns that its key's answer is stale.
_MAX_CREATE_ROUNDS: Final = 8
_SHOWN_JSON_CHARS: Final = 200

logger = logging.getLogger(__name__)


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


# --- what the declaration asks for --------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class TestPlan:
    """How an action is tested after each change, and what happens when the test fails."""

    __test__ = False  # not a pytest test class, despite its name

    input: Any
    expects_output: bool
    expected_output: Any
    policy: TestFailurePolicy | None

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


def _origin(props: Mapping[str, Any]) -> Mapping[str, Any]:
    origin = props.get(ORIGIN)
    return origin if isinstance(origin, Mapping) else {}


def _stack(props: Mapping[str, Any]) -> str | None:
    stack = _origin(props).get("stack")
    return stack if isinstance(stack, str) else None


def _resource_name(props: Mapping[str, Any]) -> str:
    resource = _origin(props).get("resource")
    return resource if isinstance(resource, str) else "<resource name>"


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
        {"body": spec.to_api(), "origin": dict(_origin(props)), "salt": list(salt)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "pulumi-cxone-" + hashlib.sha256(canonical.encode()).hexdigest()


# --- check --------------------------------------------------------------------------------

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


def check_inputs(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[CheckFailure]]:
    """Apply the defaults and find every problem of a declaration, without any network call.

    Values still unknown during a preview are skipped (checked again when they are known).
    Returns the inputs to record and one failure per problem, on the property at fault.
    """
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
    if "description" not in news and isinstance(name, str) and "name" not in unknown:
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
    for prop in _JSON_INPUTS:
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


# --- diff ---------------------------------------------------------------------------------


def _same_json_text(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is None and new is None
    try:
        return json_equal(json.loads(old), json.loads(new))
    except (TypeError, ValueError):
        return bool(old == new)


def diff_properties(olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
    """Compare the recorded outputs with the checked inputs, as the API would see them.

    The SDK passes the engine only `changes`, `replaces` and `delete_before_replace` (no
    changed keys), so an in-place change is answered `changes=None`: the engine then diffs the
    inputs itself, lists the changed keys and applies the user's `replace_on_changes`. That
    only happens once this diff has found a change the API would see; no change is an explicit
    `False`, so dependency order or JSON spacing never shows as a diff. Values still unknown
    (preview, or the engine re-diffing dependents before a delete-before-replace) are changes.
    """
    unknown = {key for key, value in news.items() if contains_unknowns(value)}
    old = Content.of_properties(olds)
    new = Content.of_properties({k: v for k, v in news.items() if k not in unknown})
    name_known = "name" not in unknown
    replaces = []
    if not name_known or new.name != old.name:
        replaces.append("name")
    if old.type != ACTION_TYPE:
        replaces.append("type")
    if "dependencies" in unknown:
        # Asked when an action this one calls is deleted and recreated: the tenant refuses to
        # delete an action that is still called, so this one goes first and comes back after.
        replaces.append("dependencies")
    changed = [
        key
        for key in CONTENT_INPUTS[1:]
        if key in unknown or getattr(old, key) != getattr(new, key)
    ]
    changed += [
        key
        for key in _JSON_INPUTS
        if key in unknown or not _same_json_text(olds.get(key), news.get(key))
    ]
    if "on_test_failure" in unknown or olds.get("on_test_failure") != news.get("on_test_failure"):
        changed.append("on_test_failure")
    # Replacements delete first, as DataAction's resource option insists (see DataAction).
    if replaces:
        return DiffResult(changes=True, replaces=replaces, delete_before_replace=True)
    if changed:
        return DiffResult(changes=None, replaces=[], delete_before_replace=True)
    return DiffResult(changes=False, replaces=[], delete_before_replace=True)


# --- the process-wide clients -------------------------------------------------------------

_Shared = TypeVar("_Shared", CxoneClient, WebhookSender)
_SHARED: dict[Hashable, Any] = {}
_SHARED_LOCK = threading.Lock()


def _shared(key: Hashable, make: Callable[[], _Shared]) -> _Shared:
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is None:
            if not _SHARED:
                atexit.register(close_shared_clients)
            found = _SHARED[key] = make()
        return cast("_Shared", found)


def shared_client(connection: Connection) -> CxoneClient:
    """The one API client of this process for a connection (one pool, one token)."""
    return _shared(
        connection,
        lambda: CxoneClient(connection.base_url, connection.client_id, connection.client_secret),
    )


def _shared_webhook(webhook: Webhook) -> WebhookSender:
    return _shared(webhook, lambda: WebhookSender(webhook.url, webhook.secret))


def close_shared_clients() -> None:
    """Close every cached client (at exit, and between tests that change connections)."""
    with _SHARED_LOCK:
        clients = list(_SHARED.values())
        _SHARED.clear()
    for client in clients:
        client.close()


def _log_to_stderr() -> None:
    """Show this package's INFO and above on stderr, which the engine passes to the user.

    Only when nobody configured logging (the plugin process): a program or test runner that
    did keeps its own handlers and levels.
    """
    package = logging.getLogger("cxone_provider")
    if logging.getLogger().handlers or package.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("cxone-provider %(levelname)s: %(message)s"))
    package.addHandler(handler)
    package.setLevel(logging.INFO)


# --- one operation ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Call:
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

    def policy(self, plan: TestPlan) -> TestFailurePolicy:
        """The declaration's test-failure policy, else the stack's."""
        return plan.policy or self.settings.on_test_failure

    def notify(
        self, event: EventType, action_id: str, verdict: Verdict | None, latency_ms: float | None
    ) -> None:
        """Send the webhook event, if a webhook is configured; never raises."""
        if self.settings.webhook is None:
            return
        _shared_webhook(self.settings.webhook).send(
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


def _whole(number: Any) -> int | None:
    """A recorded integer (Pulumi hands numbers back as floats), or None."""
    return int(number) if isinstance(number, int | float) else None


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN_JSON_CHARS else text[:_SHOWN_JSON_CHARS] + "…"


def judge(result: TestResult, plan: TestPlan) -> Verdict:
    """Whether a sandbox result passes the plan: it ran fine and returned what was expected."""
    if result.status != "SUCCESS":
        reason = result.error or f"the test ended {result.status}"
        return Verdict(result, passed=False, reason=reason)
    if plan.expects_output and not json_equal(result.output, plan.expected_output):
        reason = (
            f"the test returned {_shown(result.output)} but expected_output is "
            f"{_shown(plan.expected_output)}"
        )
        return Verdict(result, passed=False, reason=reason)
    return Verdict(result, passed=True, reason="passed")


def _outputs(
    inputs: Mapping[str, Any],
    action: Action,
    verdict: Verdict | None,
    latency_ms: float | None,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The state to record: every input and what the API and the test said.

    Diff, update, delete and read get only these back, never the inputs (pulumi#9086).
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
        return outs
    outs.update(
        test_status=verdict.result.status,
        test_passed=verdict.passed,
        test_output=json_text(verdict.result.output),
        latency_ms=latency_ms,
    )
    return outs


def _dependents(error: ApiError) -> list[str]:
    names = []
    for detail in error.details:
        for key in ("name", "dependent", "action", "actionName", "id"):
            value = detail.get(key)
            if isinstance(value, str):
                names.append(value)
                break
        else:
            names.append(json.dumps(detail))
    return names


def _adoption_advice(name: str, resource: str) -> str:
    return (
        f"To manage the existing action with Pulumi, adopt it: give DataAction {resource!r} "
        "`adopt=True` (ActionCatalog.add(..., adopt=True)) with a declaration that matches the "
        "action (`cxone export` writes one) and run `pulumi up`. If you renamed the Pulumi "
        "resource of an action this stack already manages, add "
        "`opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name='<old resource name>')])` "
        f"instead. Or give the DataAction another name, or delete the existing {name!r} first."
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


class DataActionProvider(ResourceProvider):
    """The CRUD of `DataAction` against the CXone API; constructible with no arguments.

    Its pickled form is always the same few bytes and holds no setting: configuration comes
    from `configure` in the plugin process and stays out of the pickle.
    """

    _FORMAT: Final = 1

    def __init__(self) -> None:
        super().__init__()
        self._settings: ProviderSettings | None = None
        self._settings_error: str | None = None

    def __getstate__(self) -> dict[str, int]:
        return {"format": self._FORMAT}

    def __setstate__(self, state: Mapping[str, int]) -> None:
        self._settings = None
        self._settings_error = None

    def __repr__(self) -> str:
        return f"DataActionProvider(configured={self._settings is not None})"

    def configure(self, req: ConfigureRequest) -> None:
        """Read the stack config (and environment fallbacks) once, when the plugin loads us.

        Incomplete settings are remembered, not raised: `check` and `diff` need none, so a
        preview works offline and without credentials; the first API call reports them.
        """
        _log_to_stderr()
        try:
            self._settings = load_settings(req.config.get, os.environ)
        except ConfigurationError as exc:
            self._settings_error = str(exc)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the declaration offline: one CheckFailure per problem, on its property."""
        inputs, failures = check_inputs(news)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """No change when nothing the API keeps changed; a new name replaces; the rest updates."""
        return diff_properties(olds, news)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Create (or adopt our own earlier creation), test, report: all or nothing.

        With `adopt`, an identical existing action is taken over instead of created and its
        test only reported (nothing changed, so there is nothing to undo); a failed create
        deletes only what it made.
        """
        spec = validate_spec(self._body(props), action=props.get("name"))
        plan = TestPlan.of_properties(props)
        call = self._call("create", spec.name, props)
        started = time.perf_counter()
        created, taken_over = self._create_or_adopt(call, spec, props)
        latency_ms = _elapsed_ms(started)
        action = created.action
        operation = "adopt" if taken_over else "create"
        created_fields = {
            "version": action.version,
            "latency_ms": latency_ms,
            "attempt_count": created.attempts,
            "adopted": created.replayed,
        }
        try:
            verdict = self._test(call, action.id, plan)
        except BaseException as exc:
            outcome = "kept" if taken_over else self._roll_back_create(call, action.id)
            call.audit(
                operation,
                outcome,
                action.id,
                **created_fields,
                test_status=None,
                test_passed=None,
                error=type(exc).__name__,
            )
            raise
        audit = {
            **created_fields,
            "test_status": verdict.result.status,
            "test_passed": verdict.passed,
        }
        if not verdict.passed and call.policy(plan) == "fail" and not taken_over:
            outcome = self._roll_back_create(call, action.id)
            call.notify("ACTION_TEST_FAILED", action.id, verdict, latency_ms)
            call.audit(operation, outcome, action.id, **audit)
            raise TestFailedError(spec.name, verdict.failure_status, verdict.reason)
        if not verdict.passed:
            logger.warning(
                "Data Action %r: %s as %s although its test failed (%s): %s",
                spec.name,
                "adopted" if taken_over else "created",
                action.id,
                "adopting changes nothing" if taken_over else "on_test_failure=warn",
                verdict.reason,
            )
            call.notify("ACTION_TEST_FAILED", action.id, verdict, latency_ms)
        elif not taken_over:
            call.notify("ACTION_CREATED", action.id, verdict, latency_ms)
        call.audit(operation, "adopted" if taken_over else "created", action.id, **audit)
        return CreateResult(action.id, _outputs(props, action, verdict, latency_ms))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh from the API; an empty id when the action is gone.

        The engine's import Read (`import_`, `pulumi import`) sends no properties, and the SDK's
        server fails before it reaches this method (pulumi/pulumi#16175): adoption goes
        through create and the `adopt` input instead.
        """
        call = self._call("read", str(props.get("name") or id_), props)
        try:
            with call.step("reading the action") as api:
                action = api.get_action(id_)
        except NotFoundError:
            logger.info("Data Action %r (%s) no longer exists on the tenant", call.name, id_)
            return ReadResult(id_="", outs={})
        recorded: dict[str, Any] = {key: props[key] for key in INPUTS if key in props}
        recorded.setdefault("test_input", json_text(DEFAULT_TEST_INPUT))
        outs = _outputs(recorded, action, None, None, previous=props)
        inputs: dict[str, Any] = {key: outs[key] for key in INPUTS if key in outs}
        return ReadResult(id_=action.id, outs=outs, inputs=inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """PUT the new content on the recorded version, test it, restore it if the test fails."""
        spec = validate_spec(self._body(news), action=news.get("name"))
        plan = TestPlan.of_properties(news)
        call = self._call("update", spec.name, news)
        old = Content.of_properties(olds)
        content_changed = old != Content.of_properties(news)
        latency_ms: float | None = None
        if content_changed:
            started = time.perf_counter()
            action = self._put(call, id_, spec, old, olds.get("version"))
            latency_ms = _elapsed_ms(started)
        else:
            action = self._recorded_action(id_, olds)
        verdict = self._test(call, id_, plan)
        operation = "update" if content_changed else "test"
        audit = {
            "version": action.version,
            "latency_ms": latency_ms,
            "test_status": verdict.result.status,
            "test_passed": verdict.passed,
        }
        if not verdict.passed and call.policy(plan) == "fail":
            error = TestFailedError(spec.name, verdict.failure_status, verdict.reason)
            outcome = "rejected"
            if content_changed:
                outcome = self._restore(
                    call, id_, old, olds=olds, version=action.version, error=error
                )
            call.notify("ACTION_TEST_FAILED", id_, verdict, latency_ms)
            call.audit(operation, outcome, id_, **audit)
            raise error
        if not verdict.passed:
            logger.warning(
                "Data Action %r: updated although its test failed (on_test_failure=warn): %s",
                spec.name,
                verdict.reason,
            )
            call.notify("ACTION_TEST_FAILED", id_, verdict, latency_ms)
        elif content_changed:
            call.notify("ACTION_UPDATED", id_, verdict, latency_ms)
        call.audit(operation, "updated" if content_changed else "tested", id_, **audit)
        return UpdateResult(_outputs(news, action, verdict, latency_ms))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete the action; already gone counts as done; dependents block it with their names."""
        call = self._call("delete", str(props.get("name") or id_), props)
        started = time.perf_counter()
        try:
            with call.step("deleting the action") as api:
                deleted = api.delete_action(id_)
        except ConflictError as exc:
            if exc.code != "ACTION_IN_USE":
                raise
            dependents = _dependents(exc)
            msg = (
                f"Data Action {call.name!r} ({id_}) cannot be deleted: "
                f"{', '.join(map(repr, dependents)) or 'other actions'} still list it in their "
                "dependencies. Remove it from their dependencies (or delete them) in the same "
                "program, or delete them first"
            )
            raise exc.reworded(msg) from None
        latency_ms = _elapsed_ms(started)
        if deleted:
            call.notify("ACTION_DELETED", id_, None, latency_ms)
        else:
            logger.info("Data Action %r (%s) was already gone; nothing to delete", call.name, id_)
        call.audit(
            "delete",
            "deleted" if deleted else "already_gone",
            id_,
            version=_whole(props.get("version")),
            latency_ms=latency_ms,
        )

    # --- helpers (no state on self beyond the settings read by configure) ---

    def _call(self, verb: str, name: str, props: Mapping[str, Any]) -> _Call:
        settings = self._require_settings()
        return _Call(
            verb=verb,
            name=name,
            stack=_stack(props),
            settings=settings,
            client=shared_client(settings.connection),
            deadline=time.monotonic() + settings.operation_timeout_s,
        )

    def _require_settings(self) -> ProviderSettings:
        if self._settings is not None:
            return self._settings
        if self._settings_error is not None:
            raise ConfigurationError(self._settings_error)
        msg = (
            "DataActionProvider was used before configure(): the Pulumi engine configures it; "
            "a test that calls the provider directly must call configure() first"
        )
        raise ConfigurationError(msg)

    @staticmethod
    def _body(props: Mapping[str, Any]) -> dict[str, Any]:
        name = props.get("name")
        return {
            "name": name,
            "description": props.get("description", default_description(str(name))),
            "script": {"content": props.get("script")},
            "trigger": {"type": props.get("trigger_type", DEFAULT_TRIGGER)},
            "enabled": props.get("enabled", True),
            "dependencies": list(props.get("dependencies") or ()),
        }

    @staticmethod
    def _recorded_action(id_: str, olds: Mapping[str, Any]) -> Action:
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

    def _create_or_adopt(
        self, call: _Call, spec: ActionSpec, props: Mapping[str, Any]
    ) -> tuple[Created, bool]:
        """POST with a deterministic key; adopt a replay of our own creation, nothing else.

        With `adopt`, an existing action of the name is taken over instead (the second value
        is then True), if it already holds exactly the declared content: no write, and a
        failed create leaves it on the tenant. One that differs is an error.
        """
        key = idempotency_key(spec, props)
        wanted = Content.of_properties(props)
        with call.step("creating the action") as api:
            if props.get(ADOPT) is True:
                existing = api.find_action(spec.name)
                if existing is not None:
                    return _adopted(existing, wanted, _resource_name(props)), True
            for _ in range(_MAX_CREATE_ROUNDS):
                try:
                    created = api.create_action(spec, idempotency_key=key)
                except ConflictError as exc:
                    if exc.code != "NAME_CONFLICT":
                        raise
                    existing = api.find_action(spec.name)
                    if existing is None:
                        # The 409 was the replayed answer of an earlier run; the name is free now.
                        key = idempotency_key(spec, props, "name-conflict", exc.request_id or "")
                        continue
                    msg = (
                        f"Data Action {spec.name!r} already exists on the tenant (id "
                        f"{existing.id}) and this deployment did not create it, so it is not "
                        f"adopted. {_adoption_advice(spec.name, _resource_name(props))}"
                    )
                    raise exc.reworded(msg) from None
                if not created.replayed:
                    return created, False
                try:
                    current = api.get_action(created.action.id)
                except NotFoundError:
                    # Our earlier creation was deleted since (destroy, then up within the key's
                    # 24 h): derive a new key from the deleted id and create again.
                    key = idempotency_key(spec, props, "deleted", created.action.id)
                    continue
                if Content.of_action(current) != wanted:
                    msg = (
                        f"Data Action {spec.name!r}: an earlier run of this deployment created it "
                        f"as {current.id}, but it has been changed since, so it is not adopted. "
                        f"{_adoption_advice(spec.name, _resource_name(props))}"
                    )
                    raise CxoneError(msg)
                logger.info(
                    "Data Action %r: adopting %s, created by an earlier run that did not finish",
                    spec.name,
                    current.id,
                )
                return Created(current, replayed=True, attempts=created.attempts), False
        msg = (
            f"Data Action {spec.name!r}: the create kept getting stale replayed answers "
            f"after {_MAX_CREATE_ROUNDS} idempotency keys; run `pulumi up` again"
        )
        raise CxoneError(msg)

    def _test(self, call: _Call, action_id: str, plan: TestPlan) -> Verdict:
        with call.step("testing the action") as api:
            result = api.test_action(action_id, plan.input)
        return judge(result, plan)

    def _roll_back_create(self, call: _Call, action_id: str) -> str:
        """Delete what this create made, so a failed create leaves nothing behind.

        Runs outside the operation's deadline; returns the audit outcome.
        """
        try:
            call.client.delete_action(action_id)
        except CxoneError as exc:
            logger.exception(
                "Data Action %r: the create failed and deleting %s again failed too (%s); the "
                "next `pulumi up` adopts it, or delete it by hand",
                call.name,
                action_id,
                type(exc).__name__,
            )
            return "rollback_failed"
        logger.info(
            "Data Action %r: deleted %s again because the create failed", call.name, action_id
        )
        return "rolled_back"

    def _put(
        self, call: _Call, id_: str, spec: ActionSpec, old: Content, recorded_version: Any
    ) -> Action:
        """PUT on the recorded version; a moved version with unchanged content is no conflict.

        A 412 after the tenant already holds the new content means an earlier attempt of this
        PUT landed but its answer was lost; that is success.
        """
        if_match = _whole(recorded_version)
        with call.step("updating the action") as api:
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
                raise exc.reworded(msg) from None

    def _restore(
        self,
        call: _Call,
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
            call.client.update_action(id_, old.to_spec(order), if_match=version)
        except CxoneError as exc:
            error.add_note(
                f"Restoring the previous content of {call.name!r} failed ({exc}); the tenant "
                "keeps the new content, which failed its test. Run `pulumi refresh`, then fix "
                "the script and run `pulumi up`."
            )
            logger.exception("Data Action %r: restoring the previous content failed", call.name)
            return "restore_failed"
        logger.warning(
            "Data Action %r: the new content failed its test; the previous content is restored",
            call.name,
        )
        return "restored"
