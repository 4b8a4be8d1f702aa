"""The checks of `cxone conformance`: every rule and endpoint of the API contract, in groups.

Each check names the provider behaviour that relies on what it checks (`relies`) and what
is unsafe on a tenant where it fails (`unsafe`). A check is a function of the `Probe`: it
sends its requests, judges the answers (`probe.expect`) and returns a short note when it
passes. Checks that write are skipped with `--read-only`; the others only send GET
requests (and token requests). `GROUPS` is the order they run and are shown in.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from threading import Event, Lock
from typing import Any, Final

import httpx

from cxone_provider.api.auth import REFRESH_MARGIN_S, SCOPE, TOKEN_PATH, ClientCredentialsAuth
from cxone_provider.api.client import ACTIONS_PATH
from cxone_provider.api.models import MAX_DESCRIPTION_CHARS, MAX_SCRIPT_BYTES
from cxone_provider.api.responses import retry_after_seconds
from cxone_provider.cli.conformance_probe import (
    MAX_WAIT_S,
    Answer,
    CheckEnded,
    Evidence,
    Probe,
    Verdict,
)

GROUPS: Final = (
    "auth",
    "crud",
    "validation",
    "names",
    "idempotency",
    "if-match",
    "dependencies",
    "sandbox",
    "pagination",
    "rate-limit",
    "errors",
)
DRAIN_THREADS: Final = 8
RATE_HEADERS: Final = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
_ERROR_KEYS: Final = {"error": str, "message": str, "details": list, "requestId": str}
_UNSAFE_RULE: Final = (
    "the tenant stores actions the contract forbids ({rule}): the provider's offline check "
    "and the tenant disagree, and actions other tools make there may not round-trip through "
    "`cxone export`"
)
_RELIES_RULE: Final = (
    "`pulumi preview` refuses this offline (ActionSpec), and the provider reports the "
    "tenant's {code} on the field it names"
)


@dataclass(frozen=True, slots=True)
class Check:
    """One check: what it proves, who relies on it, what is unsafe when it fails."""

    group: str
    name: str
    title: str
    relies: str
    unsafe: str
    run: Callable[[Probe], str | None]
    writes: bool = True

    @property
    def id(self) -> str:
        """`group.name`, as the report shows it."""
        return f"{self.group}.{self.name}"


# --- helpers ----------------------------------------------------------------------------------


def _etag(answer: Answer) -> str | None:
    value: str | None = answer.headers.get("ETag")
    return value


def _get(probe: Probe, action_id: str) -> Answer:
    return probe.send("GET", probe.action_path(action_id))


def _put(probe: Probe, action: dict[str, Any], **changes: Any) -> Answer:
    """PUT the action's own body with `changes` (`if_match` becomes the If-Match header)."""
    if_match = changes.pop("if_match", None)
    body: dict[str, Any] = {
        key: action[key]
        for key in ("name", "description", "type", "trigger", "script", "enabled", "dependencies")
        if key in action
    }
    body["script"] = {
        "language": action["script"].get("language", "JavaScript"),
        "content": action["script"]["content"],
    }
    body.update(changes)
    headers = {} if if_match is None else {"If-Match": f'"{if_match}"'}
    answer = probe.send("PUT", probe.action_path(action["id"]), json_body=body, headers=headers)
    probe.remember(answer)
    return answer


def _by_name(probe: Probe, name: str) -> Answer:
    return probe.send("GET", ACTIONS_PATH, params={"name": name, "pageSize": 10})


def _entities(answer: Answer) -> list[dict[str, Any]]:
    entities = answer.field("entities")
    return [e for e in entities if isinstance(e, dict)] if isinstance(entities, list) else []


def _listed_action(probe: Probe) -> dict[str, Any]:
    """An action of the tenant to read (--read-only), or the check is skipped."""
    answer = probe.send("GET", ACTIONS_PATH, params={"pageSize": 1})
    probe.expect(answer.status == 200, f"the listing answered {answer.status}", answer)  # noqa: PLR2004
    entities = _entities(answer)
    if not entities:
        probe.end(Verdict.SKIP, "the tenant has no action to read")
    return entities[0]


def _details_text(answer: Answer) -> str:
    return json.dumps(answer.field("details"), ensure_ascii=False)


def _test(probe: Probe, action_id: str, test_input: Any) -> Answer:
    return probe.send(
        "POST", probe.action_path(action_id, "/test"), json_body={"input": test_input}
    )


# --- auth -------------------------------------------------------------------------------------


def _token_url(probe: Probe) -> httpx.URL:
    return httpx.URL(probe.client.base_url)


def check_token(probe: Probe) -> str:
    """The client's own token request: a Bearer token, reusable, with the scope, not cached."""
    request = probe.client.auth.token_request(_token_url(probe))
    answer = probe.send("POST", TOKEN_PATH, request=request, authenticated=False)
    probe.expect(answer.status == 200, f"expected 200 with a token, got {answer.status}", answer)  # noqa: PLR2004
    token, kind = answer.field("access_token"), answer.field("token_type")
    expires_in, scope = answer.field("expires_in"), answer.field("scope")
    probe.expect(isinstance(token, str) and bool(token), "no access_token in the answer", answer)
    probe.expect(
        isinstance(kind, str) and kind.lower() == "bearer", f"token_type is {kind!r}", answer
    )
    probe.expect(
        isinstance(expires_in, int) and expires_in > REFRESH_MARGIN_S,
        f"expires_in is {expires_in!r}, not over the client's {REFRESH_MARGIN_S:g} s margin",
        answer,
    )
    probe.expect(isinstance(scope, str) and SCOPE in scope.split(), f"scope is {scope!r}", answer)
    cache = answer.headers.get("Cache-Control", "")
    probe.expect("no-store" in cache.lower(), f"Cache-Control is {cache!r}, not no-store", answer)
    return f"expires_in {expires_in} s"


def check_unknown_client(probe: Probe) -> None:
    """An unknown client id is 401 invalid_client with WWW-Authenticate: Basic."""
    stranger = ClientCredentialsAuth(f"cxconf-unknown-{uuid.uuid4().hex}", uuid.uuid4().hex)
    request = stranger.token_request(_token_url(probe))
    answer = probe.send("POST", TOKEN_PATH, request=request, authenticated=False)
    probe.expect(
        answer.status == 401 and answer.code == "invalid_client",  # noqa: PLR2004
        f"expected 401 invalid_client, got {answer.status} {answer.code}",
        answer,
    )
    challenge = answer.headers.get("WWW-Authenticate", "")
    probe.expect(
        challenge.lower().startswith("basic"),
        f"WWW-Authenticate is {challenge!r}, not Basic",
        answer,
    )


def check_token_request_errors(probe: Probe) -> None:
    """Another grant type is 400 unsupported_grant_type; an unknown scope 400 invalid_scope."""
    auth = probe.client.auth
    grant = probe.send(
        "POST",
        TOKEN_PATH,
        request=auth.token_request(_token_url(probe), grant_type="password"),
        authenticated=False,
    )
    probe.expect_error(grant, 400, "unsupported_grant_type")
    scope = probe.send(
        "POST",
        TOKEN_PATH,
        request=auth.token_request(_token_url(probe), scope="Cxconf.NoSuchScope"),
        authenticated=False,
    )
    probe.expect_error(scope, 400, "invalid_scope")


def check_bearer_required(probe: Probe) -> None:
    """No token, and a token the tenant does not know (expired, revoked): 401 UNAUTHORIZED."""
    params: dict[str, str | int] = {"pageSize": 1, "name": probe.name("none")}
    missing = probe.send("GET", ACTIONS_PATH, params=params, authenticated=False)
    probe.expect_error(missing, 401, "UNAUTHORIZED")
    refused = probe.send(
        "GET",
        ACTIONS_PATH,
        params=params,
        headers={"Authorization": "Bearer cxconf-not-a-token"},
        authenticated=False,
    )
    probe.expect_error(refused, 401, "UNAUTHORIZED")


# --- CRUD and ETag ----------------------------------------------------------------------------


def check_create(probe: Probe) -> str:
    """POST: 201, the resource at version 1 with its defaults, ETag "1"."""
    body = probe.body("crud")
    answer = probe.create(body)
    probe.expect(answer.status == 201, f"expected 201, got {answer.status}", answer)  # noqa: PLR2004
    action = answer.body
    probe.expect(isinstance(answer.field("id"), str), "the answer has no id", answer)
    probe.expect(action.get("version") == 1, f"version is {action.get('version')!r}", answer)
    probe.expect(_etag(answer) == '"1"', f'ETag is {_etag(answer)!r}, not "1"', answer)
    probe.expect(action.get("enabled") is True, "enabled does not default to true", answer)
    probe.expect(action.get("type") == "SCRIPT", f"type is {action.get('type')!r}", answer)
    for stamp in ("createdTimestamp", "modifiedTimestamp"):
        value = action.get(stamp)
        probe.expect(
            isinstance(value, int) and value > 10**12,
            f"{stamp} is {value!r}, not epoch milliseconds",
            answer,
        )
    probe.fixtures["crud"] = action
    return f"id {action['id']}"


def check_read(probe: Probe) -> str:
    """GET one action: 200, the resource, ETag "<version>"."""
    action = _listed_action(probe) if probe.read_only else probe.fixture("crud")
    answer = _get(probe, action["id"])
    probe.expect(answer.status == 200, f"expected 200, got {answer.status}", answer)  # noqa: PLR2004
    version = answer.field("version")
    probe.expect(answer.field("id") == action["id"], "the answer is another action", answer)
    probe.expect(
        _etag(answer) == f'"{version}"', f"ETag {_etag(answer)!r} is not version {version}", answer
    )
    return f"ETag {_etag(answer)}"


def check_update(probe: Probe) -> str:
    """PUT the full body: 200, version + 1 (and its ETag, if one is sent), the change stored."""
    action = probe.fixture("crud")
    answer = _put(probe, action, description=f"{probe.marker} (updated)")
    probe.expect(answer.status == 200, f"expected 200, got {answer.status}", answer)  # noqa: PLR2004
    version = action["version"] + 1
    probe.expect(
        answer.field("version") == version,
        f"version is {answer.field('version')!r}, not {version}",
        answer,
    )
    etag = _etag(answer)  # the contract promises no ETag on PUT: if one comes, it is right
    probe.expect(etag in {None, f'"{version}"'}, f"ETag is {etag!r}", answer)
    stored = _get(probe, action["id"])
    probe.expect(
        stored.field("description") == f"{probe.marker} (updated)",
        "the new description was not stored",
        answer,
        stored,
    )
    probe.refresh("crud")
    return f"version {version}"


def check_find_by_name(probe: Probe) -> str:
    """GET ?name=X lists exactly the action named X; a name no action has lists none."""
    action = _listed_action(probe) if probe.read_only else probe.fixture("crud")
    answer = _by_name(probe, action["name"])
    ids = [entity.get("id") for entity in _entities(answer)]
    probe.expect(ids == [action["id"]], f"?name= listed {ids}, not [{action['id']}]", answer)
    none = _by_name(probe, probe.name("nonexistent"))
    probe.expect(
        none.status == 200 and _entities(none) == [] and none.field("nextCursor") is None,  # noqa: PLR2004
        "a name no action has did not list an empty last page",
        none,
    )
    return "exact match only"


def check_delete(probe: Probe) -> None:
    """DELETE: 204; then GET and DELETE again are 404 NOT_FOUND."""
    action = probe.fixture("crud")
    path = probe.action_path(action["id"])
    deleted = probe.send("DELETE", path)
    probe.expect(deleted.status == 204, f"expected 204, got {deleted.status}", deleted)  # noqa: PLR2004
    probe.fixtures.pop("crud")
    probe.expect_error(_get(probe, action["id"]), 404, "NOT_FOUND")
    again = probe.send("DELETE", path)
    probe.expect_error(again, 404, "NOT_FOUND")


# --- validation -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    title: str
    field: str
    body: Callable[[Probe], dict[str, Any]]
    codes: tuple[str, ...] = ("VALIDATION_FAILED",)


def _long_description(probe: Probe) -> dict[str, Any]:
    marker = str(probe.marker)
    return probe.body("desc", description="x" * (MAX_DESCRIPTION_CHARS + 1 - len(marker)))


def _large_script(probe: Probe) -> dict[str, Any]:
    """Over 65536 bytes in UTF-8, but under 65536 characters: the limit is in bytes."""
    head = "function main(context) { return 1; }\n// "
    filler = "é" * ((MAX_SCRIPT_BYTES - len(head)) // 2 + 2)
    return probe.body("big", head + filler)


RULES: Final = (
    _Rule(
        "name_pattern",
        "a name with a space and '!' is refused",
        "name",
        lambda p: p.body("bad name!"),
    ),
    _Rule(
        "name_length",
        "a name of 65 characters is refused",
        "name",
        lambda p: p.body("x" * (65 - len(p.prefix))),
    ),
    _Rule(
        "description_length",
        "a description of 1025 characters is refused",
        "description",
        _long_description,
    ),
    _Rule(
        "type",
        'a type other than "SCRIPT" is refused',
        "type",
        lambda p: p.body("type", type="HTTP"),
    ),
    _Rule(
        "trigger_type",
        "a trigger type other than MANUAL, SCHEDULED, EVENT is refused",
        "trigger",
        lambda p: p.body("trigger", trigger={"type": "NEVER"}),
    ),
    _Rule(
        "script_language",
        'a language other than "JavaScript" is refused',
        "script",
        lambda p: {
            **p.body("lang"),
            "script": {"language": "Python", "content": "def main(c): pass"},
        },
    ),
    _Rule("script_size", "a script over 65536 bytes of UTF-8 is refused", "script", _large_script),
    _Rule(
        "enabled_type",
        "enabled that is not a boolean is refused",
        "enabled",
        lambda p: p.body("enabled", enabled="yes"),
    ),
)


def _rule_check(rule: _Rule) -> Callable[[Probe], str]:
    def run(probe: Probe) -> str:
        answer = probe.create(rule.body(probe))
        probe.expect_error(answer, 400, *rule.codes)
        fields = [d.get("field", "") for d in answer.field("details") or [] if isinstance(d, dict)]
        probe.expect(
            any(str(f).startswith(rule.field) for f in fields),
            f"details name {fields}, not {rule.field!r}",
            answer,
        )
        return f"400 {answer.code} on {rule.field}"

    return run


def check_syntax_error(probe: Probe) -> str:
    """A syntax error is 400 COMPILATION_FAILED with its line and column."""
    script = "function main(context) {\n  return 1 +;\n}"
    answer = probe.create(probe.body("syntax", script))
    probe.expect_error(answer, 400, "COMPILATION_FAILED")
    details = [d for d in answer.field("details") or [] if isinstance(d, dict)]
    probe.expect(
        any(d.get("line") == 2 and isinstance(d.get("column"), int) for d in details),  # noqa: PLR2004
        f"details {_details_text(answer)} give no line 2 with a column",
        answer,
    )
    return "line 2"


def check_main_required(probe: Probe) -> str:
    """A script without main(context) is refused (the contract does not fix the code)."""
    answer = probe.create(probe.body("nomain", "function helper(context) { return 1; }"))
    probe.expect_error(answer, 400, "COMPILATION_FAILED", "VALIDATION_FAILED")
    return f"400 {answer.code}"


def check_duplicate_dependencies(probe: Probe) -> str:
    """A dependency listed twice is refused."""
    base = probe.fixture("base")
    answer = probe.create(probe.body("dupdeps", dependencies=(base["name"], base["name"])))
    probe.expect_error(answer, 400, "VALIDATION_FAILED")
    return "400 VALIDATION_FAILED"


def check_self_dependency(probe: Probe) -> str:
    """An action that lists itself in dependencies is refused (PUT of an existing one)."""
    action = probe.fixture("selfdep")
    answer = _put(probe, action, dependencies=[action["name"]])
    probe.expect_error(answer, 400, "VALIDATION_FAILED")
    probe.refresh("selfdep")
    return "400 VALIDATION_FAILED"


# --- names and immutable fields ---------------------------------------------------------------


def check_name_conflict(probe: Probe) -> None:
    """A second action with a name that exists is 409 NAME_CONFLICT."""
    base = probe.fixture("base")
    answer = probe.create({**probe.body("base"), "name": base["name"]})
    probe.expect_error(answer, 409, "NAME_CONFLICT")


def check_immutable_name(probe: Probe) -> None:
    """A PUT with another name is 400 IMMUTABLE_FIELD, and the name stays."""
    action = probe.fixture("fixed")
    answer = _put(probe, action, name=probe.name("renamed"))
    probe.attempted.add(probe.name("renamed"))
    probe.refresh("fixed")
    probe.expect_error(answer, 400, "IMMUTABLE_FIELD")
    stored = _get(probe, action["id"])
    probe.expect(stored.field("name") == action["name"], "the name changed", stored)


def check_immutable_type(probe: Probe) -> None:
    """A PUT with another type is 400 IMMUTABLE_FIELD."""
    action = probe.fixture("fixed")
    answer = _put(probe, action, type="HTTP")
    probe.expect_error(answer, 400, "IMMUTABLE_FIELD")


# --- Idempotency-Key --------------------------------------------------------------------------


def _replayed(answer: Answer) -> bool:
    return str(answer.headers.get("Idempotent-Replayed", "")).lower() == "true"


def check_replay(probe: Probe) -> str:
    """The same key and body again: the first answer replayed, nothing created again."""
    key, body = str(uuid.uuid4()), probe.body("idem")
    first = probe.create(body, key=key)
    probe.expect(first.status == 201, f"expected 201, got {first.status}", first)  # noqa: PLR2004
    again = probe.create(body, key=key)
    probe.expect(
        again.status == 201 and again.field("id") == first.field("id"),  # noqa: PLR2004
        f"the same key and body gave {again.status} {again.code or again.field('id')}, not the "
        "first answer",
        again,
    )
    probe.expect(_replayed(again), "no Idempotent-Replayed: true on the replay", again)
    listed = _entities(_by_name(probe, body["name"]))
    probe.expect(len(listed) == 1, f"{len(listed)} actions named {body['name']}", again)
    return "replayed, one action"


def check_key_reused(probe: Probe) -> None:
    """The same key with another body is 422 IDEMPOTENCY_KEY_REUSED."""
    key, body = str(uuid.uuid4()), probe.body("reused")
    first = probe.create(body, key=key)
    probe.expect(first.status == 201, f"expected 201, got {first.status}", first)  # noqa: PLR2004
    other = {**body, "description": f"{probe.marker} (another body)"}
    probe.expect_error(probe.create(other, key=key), 422, "IDEMPOTENCY_KEY_REUSED")


def check_quoted_key(probe: Probe) -> None:
    """A key sent as a quoted structured-field string works as the bare key does."""
    key, body = f'"{uuid.uuid4()}"', probe.body("quoted")
    first = probe.create(body, key=key)
    probe.expect(first.status == 201, f"expected 201, got {first.status}", first)  # noqa: PLR2004
    again = probe.create(body, key=key)
    probe.expect(
        again.field("id") == first.field("id") and _replayed(again),
        "the quoted key was not replayed",
        again,
    )


def check_error_replayed(probe: Probe) -> None:
    """An error given after acting (NAME_CONFLICT) is replayed too."""
    base = probe.fixture("base")
    key, body = str(uuid.uuid4()), {**probe.body("base"), "name": base["name"]}
    first = probe.create(body, key=key)
    probe.expect_error(first, 409, "NAME_CONFLICT")
    again = probe.create(body, key=key)
    probe.expect_error(again, 409, "NAME_CONFLICT")
    probe.expect(_replayed(again), "no Idempotent-Replayed: true on the replayed error", again)


def check_refusal_not_remembered(probe: Probe) -> None:
    """A create refused by validation (400) is not remembered: the key is free for a retry."""
    key = str(uuid.uuid4())
    refused = probe.create(probe.body("retry bad"), key=key)
    probe.expect_error(refused, 400, "VALIDATION_FAILED")
    fixed = probe.create(probe.body("retry"), key=key)
    probe.expect(
        fixed.status == 201,  # noqa: PLR2004
        f"the key of a refused create gave {fixed.status} {fixed.code or ''} on its retry",
        fixed,
    )


def check_concurrent(probe: Probe) -> str:
    """Two creates with one key at once: one action; the other answer a replay or 409 IN_USE."""
    key, body = str(uuid.uuid4()), probe.body("race")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(probe.create, body, key=key, retry=False) for _ in range(2)]
        answers = [future.result() for future in futures]
    faulty = [a for a in answers if a.status == 429 or a.status >= 500]  # noqa: PLR2004
    if faulty:
        probe.end(Verdict.INCONCLUSIVE, f"a create was answered {faulty[0].status}: run again")
    ids = {a.field("id") for a in answers if a.status == 201}  # noqa: PLR2004
    probe.expect(len(ids) == 1, f"{len(ids)} actions were created", *answers)
    other = next((a for a in answers if not (a.status == 201 and not _replayed(a))), None)  # noqa: PLR2004
    if other is None:
        probe.end(Verdict.FAIL, "both answers say they created the action")
    if other.status == 409:  # noqa: PLR2004
        probe.expect_error(other, 409, "IDEMPOTENCY_KEY_IN_USE")
        probe.expect(
            retry_after_seconds(other.headers.get("Retry-After")) is not None,
            "409 IDEMPOTENCY_KEY_IN_USE without Retry-After",
            other,
        )
        return "409 IDEMPOTENCY_KEY_IN_USE for the second"
    probe.expect(
        other.status == 201 and _replayed(other),  # noqa: PLR2004
        f"the second answer is {other.status} {other.code or ''}",
        other,
    )
    return "the second was replayed"


# --- If-Match ---------------------------------------------------------------------------------


def check_if_match_current(probe: Probe) -> None:
    """A PUT with If-Match of the current version succeeds."""
    action = probe.fixture("locked")
    answer = _put(probe, action, if_match=action["version"])
    probe.expect(answer.status == 200, f"expected 200, got {answer.status}", answer)  # noqa: PLR2004
    probe.refresh("locked")


def check_if_match_stale(probe: Probe) -> None:
    """A PUT with If-Match of an older version is 412 VERSION_MISMATCH and changes nothing."""
    action = probe.fixture("locked")
    current = _put(probe, action, if_match=action["version"])
    probe.expect(current.status == 200, f"the first PUT answered {current.status}", current)  # noqa: PLR2004
    stale = _put(probe, action, if_match=action["version"], description=f"{probe.marker} (lost)")
    probe.expect_error(stale, 412, "VERSION_MISMATCH")
    stored = _get(probe, action["id"])
    probe.expect(
        stored.field("version") == current.field("version"), "the stale PUT changed it", stored
    )
    probe.refresh("locked")


# --- dependencies -----------------------------------------------------------------------------


def check_unknown_dependency(probe: Probe) -> None:
    """A dependency that does not exist is 400 UNKNOWN_DEPENDENCY, naming it (create, update)."""
    missing = probe.name("missing")
    created = probe.create(probe.body("orphan", dependencies=(missing,)))
    probe.expect_error(created, 400, "UNKNOWN_DEPENDENCY")
    probe.expect(missing in _details_text(created), f"details do not name {missing}", created)
    updated = _put(probe, probe.fixture("base"), dependencies=[missing])
    probe.refresh("base")
    probe.expect_error(updated, 400, "UNKNOWN_DEPENDENCY")


def _pair(probe: Probe) -> tuple[dict[str, Any], dict[str, Any]]:
    """`cyc_a`, and `cyc_b` that depends on it."""
    first = probe.fixture("cyc_a")
    return first, probe.fixture("cyc_b", dependencies=(first["name"],))


def check_cycle(probe: Probe) -> str:
    """An update that would close a cycle is 409 DEPENDENCY_CYCLE with the cycle's path."""
    first, second = _pair(probe)
    answer = _put(probe, first, dependencies=[second["name"]])
    probe.refresh("cyc_a")
    probe.expect_error(answer, 409, "DEPENDENCY_CYCLE")
    details = _details_text(answer)
    probe.expect(
        first["name"] in details and second["name"] in details,
        f"details {details} do not give the cycle's path",
        answer,
    )
    return "path in details"


def check_in_use(probe: Probe) -> None:
    """Deleting an action another lists is 409 ACTION_IN_USE naming it, and it stays."""
    first, second = _pair(probe)
    answer = probe.send("DELETE", probe.action_path(first["id"]))
    probe.expect_error(answer, 409, "ACTION_IN_USE")
    probe.expect(second["name"] in _details_text(answer), "details do not name the user", answer)
    stored = _get(probe, first["id"])
    probe.expect(stored.status == 200, "the action in use is gone", stored)  # noqa: PLR2004


# --- the sandbox ------------------------------------------------------------------------------


def _sandbox(probe: Probe, suffix: str, script: str, test_input: Any, **body: Any) -> Answer:
    action = probe.fixture(suffix, script=script, **body)
    answer = _test(probe, action["id"], test_input)
    probe.expect(answer.status == 200, f"the test answered {answer.status}", answer)  # noqa: PLR2004
    return answer


def check_sandbox_success(probe: Probe) -> None:
    """A script that returns: SUCCESS with its output, the action's id and version."""
    script = "function main(context) { return {doubled: context.input.n * 2}; }"
    answer = _sandbox(probe, "double", script, {"n": 21})
    probe.expect(answer.field("status") == "SUCCESS", f"status {answer.field('status')}", answer)
    probe.expect(answer.field("output") == {"doubled": 42}, "the output is wrong", answer)
    duration = answer.field("durationMs")
    probe.expect(isinstance(duration, (int, float)) and duration >= 0, "no durationMs", answer)
    action = probe.fixtures["double"]
    probe.expect(
        answer.field("actionId") == action["id"] and answer.field("version") == 1,
        "actionId or version is not the action's",
        answer,
    )


def check_sandbox_call(probe: Probe) -> None:
    """context.call runs a declared dependency and returns its result."""
    double = probe.fixture(
        "double", script="function main(context) { return {doubled: context.input.n * 2}; }"
    )
    script = (
        "function main(context) { return context.call("
        f"{json.dumps(double['name'])}, {{n: context.input.n + 1}}); }}"
    )
    answer = _sandbox(probe, "caller", script, {"n": 20}, dependencies=(double["name"],))
    probe.expect(answer.field("status") == "SUCCESS", f"status {answer.field('status')}", answer)
    probe.expect(answer.field("output") == {"doubled": 42}, "the output is wrong", answer)


def check_sandbox_failure(probe: Probe) -> None:
    """A script that throws: 200 FAILURE with the message."""
    script = 'function main(context) { throw new Error("cxconf deliberate failure"); }'
    answer = _sandbox(probe, "thrower", script, {})
    probe.expect(answer.field("status") == "FAILURE", f"status {answer.field('status')}", answer)
    probe.expect(
        "cxconf deliberate failure" in str(answer.field("error")), "the message is lost", answer
    )


def check_sandbox_undeclared(probe: Probe) -> None:
    """Calling an action not in dependencies (one that exists): FAILURE."""
    base = probe.fixture("base")
    script = f"function main(context) {{ return context.call({json.dumps(base['name'])}, 1); }}"
    answer = _sandbox(probe, "sneaky", script, {})
    probe.expect(answer.field("status") == "FAILURE", f"status {answer.field('status')}", answer)


def check_sandbox_timeout(probe: Probe) -> None:
    """A script that never ends: 200 TIMEOUT (after the 5 s limit)."""
    answer = _sandbox(probe, "spinner", "function main(context) { while (true) {} }", {})
    probe.expect(answer.field("status") == "TIMEOUT", f"status {answer.field('status')}", answer)


def check_sandbox_isolation(probe: Probe) -> None:
    """No network, modules or process in the sandbox."""
    names = ("fetch", "require", "process", "XMLHttpRequest")
    fields = ", ".join(f"{n}: typeof {n}" for n in names)
    answer = _sandbox(probe, "isolated", f"function main(context) {{ return {{{fields}}}; }}", {})
    output = answer.field("output")
    found = [n for n in names if not isinstance(output, dict) or output.get(n) != "undefined"]
    probe.expect(not found, f"the sandbox has {', '.join(found)}", answer)


def check_sandbox_missing(probe: Probe) -> None:
    """A test of an action that does not exist is 404 NOT_FOUND."""
    probe.expect_error(_test(probe, str(uuid.uuid4()), {}), 404, "NOT_FOUND")


# --- pagination -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Walk:
    entities: list[dict[str, Any]]
    problem: str | None
    answers: list[Answer]


def _walk(probe: Probe, page_size: int, max_pages: int) -> _Walk:
    """Follow nextCursor from the first page to the last; stop at a repeat."""
    entities: list[dict[str, Any]] = []
    answers: list[Answer] = []
    seen_ids: set[str] = set()
    cursors: set[str] = set()
    params: dict[str, str | int] = {"pageSize": page_size}
    for _page in range(max_pages):
        answer = probe.send("GET", ACTIONS_PATH, params=params)
        answers.append(answer)
        if answer.status != 200:  # noqa: PLR2004
            return _Walk(entities, f"a page answered {answer.status} {answer.code or ''}", answers)
        page = _entities(answer)
        if len(page) > page_size:
            return _Walk(entities, f"a page of pageSize={page_size} had {len(page)}", answers)
        for entity in page:
            if entity.get("id") in seen_ids:
                return _Walk(entities, f"action {entity.get('id')} came twice", answers)
            seen_ids.add(str(entity.get("id")))
            entities.append(entity)
        cursor = answer.field("nextCursor")
        if not cursor:
            return _Walk(entities, None, answers)
        if cursor in cursors:
            return _Walk(entities, "the same nextCursor came twice", answers)
        cursors.add(cursor)
        params["cursor"] = cursor
    return _Walk(entities, f"no last page after {max_pages} pages", answers)


def _order_problem(entities: list[dict[str, Any]]) -> str | None:
    """Where the listing is not in creation order; the order of ties (by id) is not judged."""
    for before, after in itertools.pairwise(entities):
        if (after.get("createdTimestamp") or 0) < (before.get("createdTimestamp") or 0):
            return f"{after.get('id')} comes after {before.get('id')} but was created first"
    return None


def check_walk(probe: Probe) -> str:
    """Small pages, cursor after cursor, to a last page: every action once, in creation order."""
    if not probe.read_only:
        for suffix in ("page_1", "page_2", "page_3"):
            probe.fixture(suffix)
    whole = _walk(probe, 500, max(3, probe.left // 4))
    probe.expect(whole.problem is None, f"pageSize=500: {whole.problem}", *whole.answers)
    total = len(whole.entities)
    if total < 2:  # noqa: PLR2004 -- pages need two actions
        probe.end(Verdict.SKIP, f"the tenant has {total} action(s): no pages to walk")
    size = min(500, max(1, -(-total // 10)))
    small = _walk(probe, size, -(-total // size) + 3)
    probe.expect(small.problem is None, f"pageSize={size}: {small.problem}", *small.answers)
    own = [e["id"] for e in whole.entities if str(e.get("name", "")).startswith(probe.prefix)]
    listed = {str(e.get("id")) for e in small.entities}
    missing = [i for i in own if i not in listed]
    probe.expect(not missing, f"pageSize={size} skipped {missing}", *small.answers)
    order = _order_problem(whole.entities)
    probe.expect(order is None, f"not in creation order: {order}", *whole.answers)
    return f"{total} actions, {len(small.answers)} pages of {size}"


def check_page_size(probe: Probe) -> None:
    """A pageSize of 0 or 501 is 400 VALIDATION_FAILED; without one, pages hold at most 100."""
    for size in (0, 501):
        answer = probe.send("GET", ACTIONS_PATH, params={"pageSize": size})
        probe.expect_error(answer, 400, "VALIDATION_FAILED")
    default = probe.send("GET", ACTIONS_PATH)
    count = len(_entities(default))
    probe.expect(
        default.status == 200 and count <= 100,  # noqa: PLR2004 -- the contract's default
        f"a page without pageSize answered {default.status} with {count} actions",
        default,
    )


# --- rate limiting ----------------------------------------------------------------------------


def _rate_headers_problem(answer: Answer) -> str | None:
    for name in RATE_HEADERS:
        value = answer.headers.get(name)
        if value is None or not value.strip().isdigit():
            return f"{name} is {value!r}"
    return None


def check_rate_headers(probe: Probe) -> str:
    """Answers carry X-RateLimit-Limit, -Remaining and -Reset (also a 429, if one was seen)."""
    answer = probe.send("GET", ACTIONS_PATH, params={"pageSize": 1, "name": probe.name("none")})
    problem = _rate_headers_problem(answer)
    probe.expect(problem is None, f"{problem} on a 200", answer)
    limited = probe.fixtures.get("429")
    if limited is not None:
        problem = _rate_headers_problem(limited["answer"])
        probe.expect(problem is None, f"{problem} on the 429", limited["answer"])
    return ", ".join(f"{name[12:]} {answer.headers.get(name)}" for name in RATE_HEADERS)


def check_retry_after(probe: Probe) -> str:
    """Past the bucket: 429 RATE_LIMITED with Retry-After; answered again after it."""
    params: dict[str, str | int] = {"pageSize": 1, "name": probe.name("none")}
    first = probe.send("GET", ACTIONS_PATH, params=params)
    remaining = first.headers.get("X-RateLimit-Remaining", "")
    limit = int(remaining) + 40 if remaining.strip().isdigit() else 150
    if limit > probe.left - 20:
        probe.end(
            Verdict.SKIP,
            f"reaching a 429 takes about {limit} requests, over what --max-requests leaves",
        )
    limited = _drain(probe, params, limit)
    if limited is None:
        probe.end(Verdict.INCONCLUSIVE, f"no 429 within {limit} requests")
    probe.fixtures["429"] = {"answer": limited}
    probe.expect_error(limited, 429, "RATE_LIMITED")
    wait = retry_after_seconds(limited.headers.get("Retry-After"))
    probe.expect(wait is not None, "no valid Retry-After on the 429", limited)
    time.sleep(min(wait or 0.0, MAX_WAIT_S))
    after = probe.send("GET", ACTIONS_PATH, params=params)
    probe.expect(after.status == 200, f"after Retry-After: {after.status}", after)  # noqa: PLR2004
    return f"Retry-After {limited.headers.get('Retry-After')}"


def _drain(probe: Probe, params: dict[str, str | int], limit: int) -> Answer | None:
    """GETs from several threads, unpaced, until a 429 or `limit` requests: the 429."""
    found: list[Answer] = []
    stop = Event()
    lock = Lock()
    count = [0]

    def worker() -> None:
        while not stop.is_set():
            with lock:
                if count[0] >= limit:
                    return
                count[0] += 1
            answer = probe.send(
                "GET", ACTIONS_PATH, params=params, retry=False, paced=False, record=False
            )
            if answer.status == 429:  # noqa: PLR2004
                with lock:
                    found.append(answer)
                stop.set()

    with ThreadPoolExecutor(max_workers=DRAIN_THREADS) as pool:
        for future in [pool.submit(worker) for _ in range(DRAIN_THREADS)]:
            future.result()
    probe.evidence.extend(answer.evidence for answer in found[:1])
    return found[0] if found else None


# --- the error body ---------------------------------------------------------------------------


def check_not_found(probe: Probe) -> None:
    """GET of an id that does not exist is 404 NOT_FOUND."""
    probe.expect_error(_get(probe, str(uuid.uuid4())), 404, "NOT_FOUND")


def check_error_shape(probe: Probe) -> str:
    """Every error answer of the run had {error, message, details, requestId}."""
    if not probe.error_answers:
        check_not_found(probe)
    for answer in probe.error_answers:
        body = answer.body if isinstance(answer.body, dict) else {}
        wrong = [k for k, kind in _ERROR_KEYS.items() if not isinstance(body.get(k), kind)]
        probe.expect(not wrong, f"{', '.join(wrong)} missing or of the wrong type", answer)
    return f"{len(probe.error_answers)} error answers"


# --- the suite --------------------------------------------------------------------------------

_CRASH_SAFE: Final = (
    "creates are not crash-safe on this tenant: a rerun after a crash may duplicate an action"
)


def _suite() -> tuple[Check, ...]:
    auth = (
        Check(
            "auth",
            "token",
            "the token request: a Bearer token with DataActions.ReadWrite, expires_in over 60 s, "
            "Cache-Control: no-store",
            "the OAuth flow (ClientCredentialsAuth) reuses one token until 60 s before it expires",
            "the provider cannot authenticate as the contract says, or asks for a token for "
            "every request",
            check_token,
            writes=False,
        ),
        Check(
            "auth",
            "unknown_client",
            "an unknown client id is 401 invalid_client with WWW-Authenticate: Basic",
            "a wrong client id or secret ends the run with AuthenticationError and its fix, "
            "without retries",
            "bad credentials may be retried or reported as a server fault",
            check_unknown_client,
            writes=False,
        ),
        Check(
            "auth",
            "token_errors",
            "another grant type is 400 unsupported_grant_type, an unknown scope 400 invalid_scope",
            "AuthenticationError says how to fix the OAuth application from the RFC 6749 code",
            "token errors come without the code that says what to fix",
            check_token_request_errors,
            writes=False,
        ),
        Check(
            "auth",
            "bearer",
            "no token, or one the tenant does not know (expired, revoked): 401 UNAUTHORIZED",
            "after a 401 the client fetches a new token once and sends the request again",
            "an expired token may not be noticed: calls fail instead of refreshing the token",
            check_bearer_required,
            writes=False,
        ),
    )
    crud = (
        Check(
            "crud",
            "create",
            'POST: 201, version 1, defaults (enabled, type), epoch-ms timestamps, ETag "1"',
            "create records the id and version from the answer",
            "the provider may record a wrong id or version after a create",
            check_create,
        ),
        Check(
            "crud",
            "read",
            'GET one action: 200 and ETag "<version>"',
            "refresh and diff read the stored action and its version",
            "`pulumi refresh` may record a wrong version, so the next update fails with 412",
            check_read,
            writes=False,
        ),
        Check(
            "crud",
            "update",
            "PUT: 200, version + 1 (an ETag, if sent, of it), the change stored",
            "update records the new version, the next If-Match uses it",
            "updates may not be stored, or the next locked update fails",
            check_update,
        ),
        Check(
            "crud",
            "find_by_name",
            "GET ?name=X: exactly the action named X; an unused name: an empty last page",
            "crash recovery and adoption find an action by its exact name (find_action)",
            "adopt=True and the recovery of a create cut short may pick the wrong action",
            check_find_by_name,
            writes=False,
        ),
        Check(
            "crud",
            "delete",
            "DELETE: 204, then GET and DELETE are 404 NOT_FOUND",
            "delete treats 404 as already deleted, so a retried or repeated destroy succeeds",
            "`pulumi destroy` may fail on an action already gone, or leave one behind",
            check_delete,
        ),
    )
    validation = (
        *(
            Check(
                "validation",
                rule.name,
                rule.title + f" ({' or '.join(rule.codes)})",
                _RELIES_RULE.format(code=rule.codes[0]),
                _UNSAFE_RULE.format(rule=rule.title),
                _rule_check(rule),
            )
            for rule in RULES
        ),
        Check(
            "validation",
            "syntax",
            "a syntax error is 400 COMPILATION_FAILED with its line and column",
            "a script error the tenant finds is shown at its line and column",
            "script errors found by the tenant come without a position, or are stored",
            check_syntax_error,
        ),
        Check(
            "validation",
            "main_required",
            "a script without main(context) is 400 (COMPILATION_FAILED or VALIDATION_FAILED)",
            _RELIES_RULE.format(code="refusal"),
            _UNSAFE_RULE.format(rule="a script without main(context)"),
            check_main_required,
        ),
        Check(
            "validation",
            "duplicate_dependencies",
            "a dependency listed twice is 400 VALIDATION_FAILED",
            _RELIES_RULE.format(code="VALIDATION_FAILED"),
            _UNSAFE_RULE.format(rule="a dependency listed twice"),
            check_duplicate_dependencies,
        ),
        Check(
            "validation",
            "self_dependency",
            "an action that lists itself is 400 VALIDATION_FAILED",
            _RELIES_RULE.format(code="VALIDATION_FAILED"),
            _UNSAFE_RULE.format(rule="an action depending on itself"),
            check_self_dependency,
        ),
    )
    names = (
        Check(
            "names",
            "conflict",
            "a second action with a name in use is 409 NAME_CONFLICT",
            "a create that meets NAME_CONFLICT says to adopt the action instead; names are "
            "unique, so find_action is exact",
            "two actions may share a name: adoption, recovery and dependencies by name are "
            "ambiguous",
            check_name_conflict,
        ),
        Check(
            "names",
            "immutable_name",
            "a PUT with another name is 400 IMMUTABLE_FIELD, and the name stays",
            "a rename is a replacement (diff), never an update",
            "a PUT may rename an action, so the state and the tenant disagree",
            check_immutable_name,
        ),
        Check(
            "names",
            "immutable_type",
            "a PUT with another type is 400 IMMUTABLE_FIELD",
            "a change of type is a replacement (diff), never an update",
            "a PUT may change the type of an action in place",
            check_immutable_type,
        ),
    )
    idempotency = (
        Check(
            "idempotency",
            "replay",
            "the same key and body: the first answer replayed (Idempotent-Replayed: true), one "
            "action",
            "every create sends an Idempotency-Key made once, and retries and reruns resend it",
            _CRASH_SAFE,
            check_replay,
        ),
        Check(
            "idempotency",
            "key_reused",
            "the same key with another body is 422 IDEMPOTENCY_KEY_REUSED",
            "a create's key depends on its body, so a changed declaration is a new create",
            "a reused key may be answered with another create's action",
            check_key_reused,
        ),
        Check(
            "idempotency",
            "quoted_key",
            'a key sent quoted ("…", the IETF draft\'s form) is replayed as the bare key',
            "the key may be sent bare or quoted (the contract accepts both)",
            "clients that quote the key, as the IETF draft writes it, are not crash-safe",
            check_quoted_key,
        ),
        Check(
            "idempotency",
            "error_replayed",
            "an error after acting (409 NAME_CONFLICT) is replayed with the same key",
            "a create retried after NAME_CONFLICT gets the same answer, not a second action",
            _CRASH_SAFE,
            check_error_replayed,
        ),
        Check(
            "idempotency",
            "refusal_not_remembered",
            "a create refused by validation (400) is not remembered: the same key works after",
            "a create refused before acting may be retried with the same key",
            "a fixed create with the same key may be refused with 422",
            check_refusal_not_remembered,
        ),
        Check(
            "idempotency",
            "concurrent",
            "two creates with one key at once: one action; the other is a replay or 409 "
            "IDEMPOTENCY_KEY_IN_USE with Retry-After",
            "a create retried while the first attempt is still running (a timeout) waits for it",
            _CRASH_SAFE + " (a retry after a timeout may create a second action)",
            check_concurrent,
        ),
    )
    if_match = (
        Check(
            "if-match",
            "current",
            'a PUT with If-Match: "<current version>" succeeds',
            "every update sends If-Match with the version in the state",
            "updates with If-Match may be refused: `pulumi up` cannot update anything",
            check_if_match_current,
        ),
        Check(
            "if-match",
            "stale",
            "a PUT with If-Match of an older version is 412 VERSION_MISMATCH, nothing changed",
            "an update never overwrites a change made outside Pulumi (optimistic locking)",
            "updates are not optimistically locked on this tenant: a change made in the console "
            "between refresh and up is silently overwritten (lost update)",
            check_if_match_stale,
        ),
    )
    dependencies = (
        Check(
            "dependencies",
            "unknown",
            "a dependency that does not exist is 400 UNKNOWN_DEPENDENCY (create, naming it; "
            "update)",
            "creates run dependencies first; the error names a dependency missing on the tenant",
            "an action may depend on nothing: it fails only when it runs",
            check_unknown_dependency,
        ),
        Check(
            "dependencies",
            "cycle",
            "an update closing a cycle is 409 DEPENDENCY_CYCLE with the path in details",
            "the graph check refuses cycles offline; the tenant's refusal names the path",
            "a cycle may be stored: running either action recurses until it times out",
            check_cycle,
        ),
        Check(
            "dependencies",
            "in_use",
            "deleting an action another one lists is 409 ACTION_IN_USE, naming the user",
            "destroy and replacements delete dependents first; ACTION_IN_USE stops a wrong order",
            "an action in use may be deleted: `pulumi destroy` or a replacement can break the "
            "actions that call it",
            check_in_use,
        ),
    )
    sandbox = (
        Check(
            "sandbox",
            "success",
            "a script that returns: 200 SUCCESS, its output, durationMs, the action's id and "
            "version",
            "every create and update is tested in the sandbox before it is kept",
            "`pulumi up` cannot tell a working action from a broken one",
            check_sandbox_success,
        ),
        Check(
            "sandbox",
            "dependency_call",
            "context.call of a declared dependency returns its result",
            "tests of actions that call others run them as the tenant does",
            "actions that call others fail their tests, and are rolled back",
            check_sandbox_call,
        ),
        Check(
            "sandbox",
            "failure",
            "a script that throws: 200 FAILURE with the message",
            "a failed test rolls the change back and shows the script's message",
            "broken actions may be kept, or their error hidden",
            check_sandbox_failure,
        ),
        Check(
            "sandbox",
            "undeclared_call",
            "context.call of an action not in dependencies: FAILURE",
            "dependencies declared in the program are the whole call graph (order, cycles)",
            "actions may call what they do not declare: create order and cycle checks miss it",
            check_sandbox_undeclared,
        ),
        Check(
            "sandbox",
            "timeout",
            "a script that never ends: 200 TIMEOUT after the time limit",
            "a runaway script's test ends, so `pulumi up` rolls back instead of hanging",
            "a test of a runaway script may hang `pulumi up` until its own deadline",
            check_sandbox_timeout,
        ),
        Check(
            "sandbox",
            "isolation",
            "no fetch, require, process or XMLHttpRequest in the sandbox",
            "a test has no side effects outside the tenant (tests run on every change)",
            "tests may reach the network: a test run could have side effects",
            check_sandbox_isolation,
        ),
        Check(
            "sandbox",
            "missing",
            "a test of an action that does not exist is 404 NOT_FOUND",
            "a test of an action deleted meanwhile is reported as gone",
            "a vanished action may look like a failed test",
            check_sandbox_missing,
        ),
    )
    pagination = (
        Check(
            "pagination",
            "walk",
            "cursor after cursor to a last page (nextCursor null): no repeats, nothing skipped, "
            "in creation order",
            "listings (cxone diff, export, validate --tenant, adoption) follow nextCursor to the "
            "end and stop at a repeated cursor",
            "listings may loop, repeat or skip actions: drift and adoption see a wrong tenant",
            check_walk,
            writes=False,
        ),
        Check(
            "pagination",
            "page_size",
            "pageSize 0 and 501 are 400 VALIDATION_FAILED (1 to 500); the default page holds "
            "at most 100",
            "the client asks for pages within 1 to 500",
            "out-of-range page sizes may be answered silently with other sizes",
            check_page_size,
            writes=False,
        ),
    )
    rate_limit = (
        Check(
            "rate-limit",
            "retry_after",
            "past the bucket: 429 RATE_LIMITED with Retry-After; answered again after waiting",
            "429s are retried after Retry-After (either form)",
            "rate-limited calls are retried blindly: `pulumi up --parallel` may fail with 429",
            check_retry_after,
            writes=False,
        ),
        Check(
            "rate-limit",
            "headers",
            "answers (and 429s) carry X-RateLimit-Limit, -Remaining and -Reset",
            "the pacer (RatePacer) spreads requests over the tenant's bucket from these headers",
            "without them every thread bursts until 429s: large stacks deploy slowly or fail",
            check_rate_headers,
            writes=False,
        ),
    )
    errors = (
        Check(
            "errors",
            "not_found",
            "GET of an id that does not exist is 404 NOT_FOUND",
            "refresh turns 404 into 'the action is gone' (removed from the state)",
            "a deleted action may not be noticed by `pulumi refresh`",
            check_not_found,
            writes=False,
        ),
        Check(
            "errors",
            "shape",
            'every error answer of the run is {"error", "message", "details", "requestId"}',
            "errors name the API code and request id; retries are chosen by code",
            "errors may be shown without their code or request id, and retried wrongly",
            check_error_shape,
            writes=False,
        ),
    )
    return (
        auth
        + crud
        + validation
        + names
        + idempotency
        + if_match
        + dependencies
        + sandbox
        + (pagination + rate_limit + errors)
    )


SUITE: Final = _suite()


@dataclass(frozen=True, slots=True)
class Outcome:
    """A check's verdict, why, and the requests that show it."""

    check: Check
    verdict: Verdict
    reason: str
    evidence: tuple[Evidence, ...]

    def to_json(self) -> dict[str, Any]:
        """The outcome in the `--json` answer."""
        return {
            "group": self.check.group,
            "check": self.check.name,
            "title": self.check.title,
            "result": self.verdict.value,
            "reason": self.reason,
            "relies": self.check.relies,
            "unsafe": self.check.unsafe if self.verdict is Verdict.FAIL else None,
            "evidence": [evidence.to_json() for evidence in self.evidence],
        }


def selected(groups: Sequence[str]) -> tuple[Check, ...]:
    """The checks of these groups (all when none is given), in the suite's order."""
    return tuple(check for check in SUITE if not groups or check.group in groups)


def run_checks(probe: Probe, checks: Sequence[Check]) -> Iterator[Outcome]:
    """Run the checks one by one; Ctrl-C (KeyboardInterrupt) goes through to the caller."""
    for check in checks:
        start = len(probe.evidence)
        if probe.read_only and check.writes:
            yield Outcome(check, Verdict.SKIP, "it writes: not run with --read-only", ())
            continue
        try:
            note = check.run(probe)
        except CheckEnded as ended:
            verdict, reason = ended.verdict, ended.reason
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            verdict = Verdict.FAIL
            reason = f"an answer lacks what the contract promises ({type(exc).__name__}: {exc})"
        else:
            verdict, reason = Verdict.PASS, note or ""
        yield Outcome(check, verdict, reason, tuple(probe.evidence[start:]))
