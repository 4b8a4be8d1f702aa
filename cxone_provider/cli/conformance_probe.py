"""The engine of `cxone conformance`: raw requests with evidence, a budget, and the run's actions.

A `Probe` sends the checks' requests through the tenant's `CxoneClient` (its OAuth flow,
pacing and connection pool) with `CxoneClient.exchange`, so that every status code and
header can be judged, and keeps what a report may show of each answer (`Evidence`: never
a token or a secret). It retries what the contract says to retry (no answer, 5xx, 429 after
Retry-After, 409 IDEMPOTENCY_KEY_IN_USE); an answer that follows a lost attempt or a 5xx may
be the echo of work already done, so a check that fails on one is *inconclusive*, never a
false failure. Every action the run creates is named with its prefix and carries a marker
in its description (`Marker`): the run deletes them at the end, and a later run deletes
what an interrupted one left, and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, NoReturn

from cxone_provider.api.client import ACTIONS_PATH
from cxone_provider.api.errors import (
    ApiError,
    AuthenticationError,
    CxoneError,
    TransportError,
)
from cxone_provider.api.responses import retry_after_seconds

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import httpx

    from cxone_provider.api.client import CxoneClient
    from cxone_provider.api.models import Action

FAMILY: Final = "cxconf_"
"""Every default prefix starts with it: `cxconf_<8 random characters>_`."""
STALE_AFTER_S: Final = 3600.0
"""A run of another machine (or of a process still alive) is left alone for this long."""
MAX_ATTEMPTS: Final = 4
MAX_WAIT_S: Final = 30.0
EXCERPT_CHARS: Final = 160
_SECRET_KEYS: Final = frozenset({"access_token", "refresh_token", "id_token", "client_secret"})
_MARKER: Final = re.compile(
    r"^cxone conformance run (?P<run>[a-z0-9]+): prefix=(?P<prefix>\S+) host=(?P<host>[0-9a-f]+) "
    r"pid=(?P<pid>[0-9]+) started=(?P<started>[0-9]+)\b"
)


class Verdict(StrEnum):
    """A check's outcome."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    INCONCLUSIVE = "inconclusive"


class CheckEnded(Exception):  # noqa: N818 -- a signal of the runner, not an error
    """Ends a check early with a verdict other than a pass."""

    def __init__(self, verdict: Verdict, reason: str) -> None:
        self.verdict = verdict
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One request and its answer as a report shows it: never a token or a secret."""

    method: str
    path: str
    status: int | None
    excerpt: str

    def __str__(self) -> str:
        return f"{self.request()} {self.excerpt}".rstrip()

    def request(self) -> str:
        """The request and the answer's status, without the body."""
        status = "no answer" if self.status is None else str(self.status)
        return f"{self.method} {self.path} → {status}"

    def to_json(self) -> dict[str, Any]:
        """The evidence in the `--json` answer."""
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "excerpt": self.excerpt,
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer to judge; `uncertain` when an earlier attempt may have acted."""

    status: int
    headers: httpx.Headers
    body: Any
    evidence: Evidence
    uncertain: bool

    @property
    def code(self) -> str | None:
        """The error code of an error body (`error`), else None."""
        return self.body.get("error") if isinstance(self.body, dict) else None

    def field(self, name: str) -> Any:
        """A field of a JSON object body, else None."""
        return self.body.get(name) if isinstance(self.body, dict) else None


@dataclass(frozen=True, slots=True)
class Marker:
    """What the description of every action of a run starts with: who made it, and when.

    A later run deletes an action only when its name starts with the marker's prefix and the
    run that made it is over: its process is gone (same machine), or it started more than
    STALE_AFTER_S ago.
    """

    run: str
    prefix: str
    host: str
    pid: int
    started_ms: int

    @classmethod
    def new(cls, prefix: str) -> Marker:
        """The marker of a run starting now in this process."""
        return cls(uuid.uuid4().hex[:12], prefix, _host(), os.getpid(), int(time.time() * 1000))

    @classmethod
    def parse(cls, description: str) -> Marker | None:
        """The marker a description starts with, or None."""
        match = _MARKER.match(description)
        if match is None:
            return None
        return cls(
            match["run"],
            match["prefix"],
            match["host"],
            int(match["pid"]),
            int(match["started"]),
        )

    def __str__(self) -> str:
        return (
            f"cxone conformance run {self.run}: prefix={self.prefix} host={self.host} "
            f"pid={self.pid} started={self.started_ms}; deleted when the run ends"
        )

    def over(self, now_ms: int) -> bool:
        """Whether the run that wrote this marker has ended (or is old enough to be)."""
        if now_ms - self.started_ms > STALE_AFTER_S * 1000:
            return True
        return self.host == _host() and not _alive(self.pid)


def _host() -> str:
    """The machine, as a short digest (a description should not name the machine)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def random_prefix() -> str:
    """A fresh prefix of the default family: `cxconf_<8 characters>_`."""
    return f"{FAMILY}{uuid.uuid4().hex[:8]}_"


@dataclass(slots=True)
class Created:
    """An action the run made: its id and the dependencies it was last given."""

    name: str
    dependencies: tuple[str, ...] = ()


@dataclass(slots=True)
class Probe:
    """The run's requests: sent, retried, counted against the budget, kept as evidence."""

    client: CxoneClient
    prefix: str
    max_requests: int
    read_only: bool
    marker: Marker
    evidence: list[Evidence] = field(default_factory=list)
    error_answers: list[Answer] = field(default_factory=list)
    created: dict[str, Created] = field(default_factory=dict)
    attempted: set[str] = field(default_factory=set)
    fixtures: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: int = 0
    budget_applies: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- budget ------------------------------------------------------------------------------

    @property
    def requests(self) -> int:
        """Requests sent so far, token requests included."""
        return self.sent + self.client.auth.token_requests

    @property
    def left(self) -> int:
        """Requests the budget still allows."""
        return max(0, self.max_requests - self.requests)

    def _spend(self) -> None:
        if self.budget_applies and self.requests >= self.max_requests:
            self.end(
                Verdict.SKIP,
                f"the request budget ran out (--max-requests {self.max_requests})",
            )

    # -- verdicts ----------------------------------------------------------------------------

    @staticmethod
    def end(verdict: Verdict, reason: str) -> NoReturn:
        """End the check at once with this verdict."""
        raise CheckEnded(verdict, reason)

    def expect(self, condition: bool, reason: str, *answers: Answer) -> None:
        """Fail the check with `reason` unless `condition`; inconclusive after a lost attempt."""
        if condition:
            return
        if any(answer.uncertain for answer in answers):
            self.end(
                Verdict.INCONCLUSIVE,
                f"{reason}, but an earlier attempt got no answer or a 5xx and may have acted; "
                "run again",
            )
        self.end(Verdict.FAIL, reason)

    def expect_error(self, answer: Answer, status: int, *codes: str) -> None:
        """The answer is `status` with one of `codes` (the contract's error body)."""
        wanted = " or ".join(codes)
        self.expect(
            answer.status == status and answer.code in codes,
            f"expected {status} {wanted}, got {answer.status} {answer.code or ''}".rstrip(),
            answer,
        )

    # -- requests ----------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        request: httpx.Request | None = None,
        retry: bool = True,
        paced: bool = True,
        record: bool = True,
    ) -> Answer:
        """One call, retried as the contract says when `retry`; its answer is kept as evidence.

        No conclusive answer after MAX_ATTEMPTS ends the check as inconclusive. Without
        `record`, the answer is not added to the evidence (the many requests of a drain).
        """
        if self.read_only and method != "GET" and request is None:
            msg = f"conformance bug: {method} {path} in --read-only"
            raise CxoneError(msg)
        uncertain = False
        last = ""
        attempts = MAX_ATTEMPTS if retry else 1
        for attempt in range(attempts):
            self._spend()
            built = request or self.client.build_request(
                method, path, json=json_body, params=params, headers=headers
            )
            with self._lock:
                self.sent += 1
            try:
                response = self.client.exchange(built, authenticated=authenticated, paced=paced)
            except TransportError as exc:
                uncertain, last, wait = True, f"no answer ({exc})", 0.25 * 2**attempt
            except AuthenticationError:
                raise  # the credentials were refused: the whole run ends
            except ApiError as exc:  # the token request got a 429 or a 5xx
                last = f"the token request failed: {exc.status} {exc.code}"
                wait = min(exc.retry_after or 1.0, MAX_WAIT_S)
            else:
                answer = self._answer(built, response, uncertain=uncertain, record=record)
                retry_wait = _retry_wait(answer, attempt) if retry else None
                if retry_wait is None:
                    return answer
                uncertain = uncertain or answer.status >= 500  # noqa: PLR2004 -- 5xx
                last, wait = f"{answer.status} {answer.code or ''}".rstrip(), retry_wait
            if attempt < attempts - 1:
                time.sleep(wait)
        evidence = Evidence(method, _shown_path(path, params), None, last)
        self.evidence.append(evidence)
        return self.end(Verdict.INCONCLUSIVE, f"no conclusive answer to {method} {path}: {last}")

    def _answer(
        self, request: httpx.Request, response: httpx.Response, *, uncertain: bool, record: bool
    ) -> Answer:
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        path = request.url.raw_path.decode("ascii", "replace")
        evidence = Evidence(
            request.method, path, response.status_code, excerpt(body, response.text)
        )
        if record:
            self.evidence.append(evidence)
        answer = Answer(response.status_code, response.headers, body, evidence, uncertain)
        if response.status_code >= 400 and request.url.path.startswith(ACTIONS_PATH):  # noqa: PLR2004 -- errors
            self.error_answers.append(answer)
        return answer

    # -- the run's actions -------------------------------------------------------------------

    def name(self, suffix: str) -> str:
        """An action name of this run."""
        return f"{self.prefix}{suffix}"

    def body(
        self,
        suffix: str,
        script: str = "function main(context) { return context.input; }",
        *,
        dependencies: tuple[str, ...] = (),
        description: str = "",
        **fields: Any,
    ) -> dict[str, Any]:
        """A create or update body of an action of this run (its description has the marker)."""
        return {
            "name": self.name(suffix),
            "description": f"{self.marker}{description}",
            "script": {"language": "JavaScript", "content": script},
            "dependencies": list(dependencies),
            **fields,
        }

    def create(self, body: dict[str, Any], *, key: str | None = None, **options: Any) -> Answer:
        """POST an action with an Idempotency-Key; whatever the tenant creates is remembered."""
        name = body.get("name")
        if isinstance(name, str):
            self.attempted.add(name)
        headers = {"Idempotency-Key": key or str(uuid.uuid4()), **options.pop("headers", {})}
        answer = self.send("POST", ACTIONS_PATH, json_body=body, headers=headers, **options)
        self.remember(answer)
        return answer

    def remember(self, answer: Answer) -> None:
        """Keep an action the tenant answered with (created or updated) for the cleanup."""
        if answer.status in {200, 201} and isinstance(answer.field("id"), str):
            dependencies = answer.field("dependencies") or ()
            self.created[answer.body["id"]] = Created(
                str(answer.field("name")), tuple(map(str, dependencies))
            )

    def fixture(self, suffix: str, **body: Any) -> dict[str, Any]:
        """An action of this run that checks share, created once; inconclusive if it cannot be."""
        if suffix not in self.fixtures:
            answer = self.create(self.body(suffix, **body))
            if answer.status != 201 or not isinstance(answer.field("id"), str):  # noqa: PLR2004 -- Created
                self.end(
                    Verdict.INCONCLUSIVE,
                    f"the action this check needs could not be created: {answer.evidence}",
                )
            self.fixtures[suffix] = answer.body
        return self.fixtures[suffix]

    def refresh(self, suffix: str) -> None:
        """Read a fixture again after a check changed it; forget it once it is gone."""
        action = self.fixtures.get(suffix)
        if action is None:
            return
        answer = self.send("GET", self.action_path(action["id"]))
        if answer.status == 200:  # noqa: PLR2004 -- OK
            self.fixtures[suffix] = answer.body
        else:
            self.fixtures.pop(suffix)

    def action_path(self, action_id: str, tail: str = "") -> str:
        """The path of one action (and of its `/test`)."""
        return f"{ACTIONS_PATH}/{action_id}{tail}"

    # -- cleanup -----------------------------------------------------------------------------

    def cleanup(self) -> tuple[list[str], list[str]]:
        """Delete every action of this run (outside the budget); (deleted, left with why)."""
        self.budget_applies = False
        self._find_unanswered()
        return delete_actions(self.client, self.created)

    def _find_unanswered(self) -> None:
        """Actions whose create got no answer: found by name, if the marker says they are ours."""
        known = {created.name for created in self.created.values()}
        for name in sorted(self.attempted - known):
            try:
                action = self.client.find_action(name)
            except CxoneError:
                continue
            if action is not None and action.description.startswith(str(self.marker)):
                self.created[action.id] = Created(action.name, action.dependencies)


def leftovers(
    actions: Iterable[Action], prefix: str | None, *, now_ms: int
) -> tuple[dict[str, Created], list[str]]:
    """The actions interrupted runs left (to delete), and those of runs that may still go on.

    An action is a run's only when its description starts with a `Marker` and its name with
    the marker's prefix, and that prefix is of the default family (`cxconf_`) or the
    `--prefix` given: nothing else is ever touched.
    """
    stale: dict[str, Created] = {}
    active: list[str] = []
    for action in actions:
        marker = Marker.parse(action.description)
        if marker is None or not action.name.startswith(marker.prefix):
            continue
        if not (marker.prefix.startswith(FAMILY) or marker.prefix == prefix):
            continue
        if marker.over(now_ms):
            stale[action.id] = Created(action.name, action.dependencies)
        else:
            active.append(action.name)
    return stale, active


def delete_actions(
    client: CxoneClient, created: Mapping[str, Created]
) -> tuple[list[str], list[str]]:
    """Delete these actions, dependents first; (deleted, left with why), as `name (id)`.

    A tenant that says 204 without deleting is found out by the GET after each DELETE, and
    asked again in the next round (five rounds at most).
    """
    deleted: list[str] = []
    left: dict[str, str] = {}
    for _round in range(5):
        pending = [i for i in created if i not in deleted]
        if not pending:
            break
        for action_id in _dependents_first(pending, created):
            reason = _delete(client, action_id)
            if reason is None:
                deleted.append(action_id)
                left.pop(action_id, None)
            else:
                left[action_id] = reason
    names = [f"{created[i].name} ({i})" for i in deleted]
    return names, [f"{created[i].name} ({i}): {why}" for i, why in left.items()]


def _delete(client: CxoneClient, action_id: str) -> str | None:
    """None once the action is gone (checked with a GET), else why it is not."""
    try:
        client.delete_action(action_id)
        client.get_action(action_id)
    except ApiError as exc:
        if exc.status == 404:  # noqa: PLR2004 -- gone, as wanted
            return None
        return f"{exc.status} {exc.code}"
    except CxoneError as exc:
        return str(exc)
    return "still there after its DELETE was answered"


def _dependents_first(pending: list[str], created: Mapping[str, Created]) -> list[str]:
    """The pending actions, each after every pending action that lists it in dependencies."""
    ordered: list[str] = []

    def visit(action_id: str, path: tuple[str, ...]) -> None:
        if action_id in ordered or action_id in path:
            return
        for other in pending:
            if created[action_id].name in created[other].dependencies:
                visit(other, (*path, action_id))
        ordered.append(action_id)

    for action_id in pending:
        visit(action_id, ())
    return ordered


def _retry_wait(answer: Answer, attempt: int) -> float | None:
    """Seconds to wait before retrying this answer, or None when it is to be judged.

    Retry-After when the answer gives it, else a backoff from 0.25 s doubling per attempt.
    """
    status = answer.status
    busy = status == 409 and answer.code == "IDEMPOTENCY_KEY_IN_USE"  # noqa: PLR2004 -- Conflict
    if status != 429 and status < 500 and not busy:  # noqa: PLR2004 -- retryable statuses
        return None
    after = retry_after_seconds(answer.headers.get("Retry-After"))
    return min(after if after is not None else 0.25 * 2**attempt, MAX_WAIT_S)


def excerpt(body: Any, text: str = "") -> str:
    """A short, secret-free rendering of an answer's body for a report."""
    if isinstance(body, dict) and isinstance(body.get("entities"), list):
        shown: Any = {
            "entities": f"[{len(body['entities'])} actions]",
            **{k: v for k, v in body.items() if k != "entities"},
        }
    elif isinstance(body, dict):
        shown = {k: "***" if k in _SECRET_KEYS else v for k, v in body.items()}
    elif body is None:
        return " ".join(text.split())[:EXCERPT_CHARS]
    else:
        shown = body
    rendered = json.dumps(shown, ensure_ascii=False, separators=(",", ":"))
    if len(rendered) > EXCERPT_CHARS:
        rendered = rendered[: EXCERPT_CHARS - 1] + "…"
    return rendered


def _shown_path(path: str, params: Mapping[str, str | int] | None) -> str:
    if not params:
        return path
    return path + "?" + "&".join(f"{k}={v}" for k, v in params.items())
