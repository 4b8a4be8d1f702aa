"""Rate limits, latency, injected faults and dropped answers, over real HTTP."""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import pytest
from emulator_process import API_ACTIONS, TOKEN_PATH, action_body

ACTION_TEMPLATE = API_ACTIONS + "/{id}"


def test_quick_requests_over_the_rate_limit_get_429_with_retry_after(start_emulator):
    """--rate-limit 5 (burst 10), clock frozen: requests 11 to 30 get 429 with Retry-After 1."""
    emulator = start_emulator("--rate-limit", "5")
    emulator.move_clock(frozen=True)
    with emulator.api() as api:
        responses = [api.get(API_ACTIONS) for _ in range(30)]
    assert [response.status_code for response in responses] == [200] * 10 + [429] * 20
    assert [response.headers["x-ratelimit-remaining"] for response in responses[:10]] == [
        str(remaining) for remaining in range(9, -1, -1)
    ]
    for response in responses[10:]:
        assert response.json()["error"] == "RATE_LIMITED"
        assert response.headers["retry-after"] == "1"
    assert emulator.stats()["rate_limited"] == 20


def test_the_bucket_refills_at_the_rate_and_each_client_has_its_own(start_emulator):
    """At 2/s, 0.4 s refills 0.8 of a request and 0.6 s a whole one; client b is untouched."""
    emulator = start_emulator(
        "--rate-limit", "2", "--burst", "2", "--client", "a:a-secret", "--client", "b:b-secret"
    )
    emulator.move_clock(frozen=True)
    with emulator.api() as first:
        statuses = [first.get(API_ACTIONS).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        token_b = emulator.token("b", "b-secret")
        other = httpx.get(
            emulator.base_url + API_ACTIONS,
            headers={"Authorization": f"Bearer {token_b}"},
            timeout=10,
        )
        assert other.status_code == 200
        emulator.move_clock(advance_s=0.4)
        assert first.get(API_ACTIONS).status_code == 429
        emulator.move_clock(advance_s=0.2)
        assert first.get(API_ACTIONS).status_code == 200


def test_every_api_answer_carries_the_rate_limit_headers(emulator):
    """X-RateLimit-Limit, -Remaining and -Reset on 2xx and 4xx answers alike."""
    emulator.move_clock(frozen=True)
    with emulator.api() as api:
        ok = api.get(API_ACTIONS)
        missing = api.get(API_ACTIONS + "/no-such-id")
    assert missing.status_code == 404
    for response, remaining in ((ok, "39"), (missing, "38")):
        assert response.headers["x-ratelimit-limit"] == "40"
        assert response.headers["x-ratelimit-remaining"] == remaining
        assert response.headers["x-ratelimit-reset"] == "1"


def test_latency_is_added_to_api_answers_without_blocking_others(start_emulator):
    """--latency-ms 400: each API answer takes 0.4 s, five at once still about 0.4 s."""
    emulator = start_emulator("--latency-ms", "400")
    token = emulator.token()
    url = emulator.base_url + API_ACTIONS

    def timed_get(_: int) -> float:
        started = time.monotonic()
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 200
        return time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        started = time.monotonic()
        durations = list(pool.map(timed_get, range(5)))
        elapsed = time.monotonic() - started
    assert min(durations) >= 0.4
    assert elapsed < 1.2
    started = time.monotonic()
    httpx.get(emulator.base_url + "/healthz", timeout=10)
    assert time.monotonic() - started < 0.4


def test_fault_rate_1_answers_every_api_request_503(start_emulator):
    """--fault-rate 1: UNAVAILABLE before anything happens; tokens and control still work."""
    emulator = start_emulator("--fault-rate", "1")
    with emulator.api() as api:
        response = api.post(API_ACTIONS, json=action_body("never_created"))
    assert (response.status_code, response.json()["error"]) == (503, "UNAVAILABLE")
    stats = emulator.stats()
    assert (stats["faults_injected"], stats["actions"]) == (1, 0)


def test_the_same_seed_gives_the_same_faults(start_emulator):
    """--fault-rate 0.5 --seed 7: the same requests meet the same faults after a restart."""
    emulator = start_emulator("--fault-rate", "0.5", "--seed", "7", "--rate-limit", "0")

    def statuses() -> list[int]:
        with emulator.api() as api:
            return [api.get(API_ACTIONS).status_code for _ in range(20)]

    first = statuses()
    assert set(first) == {200, 503}
    emulator.restart()
    assert statuses() == first


def test_queued_faults_answer_their_status_count_times_with_their_headers(emulator):
    """A queued 503 with Retry-After hits the next two matching requests only."""
    emulator.add_fault("POST", API_ACTIONS, status=503, count=2, headers={"Retry-After": "2"})
    with emulator.api() as api:
        responses = [api.post(API_ACTIONS, json=action_body("after_faults")) for _ in range(3)]
        other = api.get(API_ACTIONS)
    assert [response.status_code for response in responses] == [503, 503, 201]
    assert responses[0].json()["error"] == "UNAVAILABLE"
    assert responses[0].headers["retry-after"] == "2"
    assert other.status_code == 200
    assert emulator.stats()["faults_injected"] == 2


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "INTERNAL"),
        (502, "UNAVAILABLE"),
        (504, "UNAVAILABLE"),
        (429, "RATE_LIMITED"),
        (409, "IDEMPOTENCY_KEY_IN_USE"),
    ],
)
def test_a_status_fault_carries_the_contracts_code_for_it(emulator, status, code):
    """Each injected status comes with the code the contract gives it."""
    emulator.add_fault("GET", ACTION_TEMPLATE, status=status)
    with emulator.api() as api:
        response = api.get(API_ACTIONS + "/any-id")
    assert (response.status_code, response.json()["error"]) == (status, code)


def test_a_fault_may_name_its_code(emulator):
    """`code` picks another code of the same status, e.g. a 409 NAME_CONFLICT."""
    emulator.add_fault("POST", API_ACTIONS, status=409, code="NAME_CONFLICT")
    with emulator.api() as api:
        response = api.post(API_ACTIONS, json=action_body("named_fault"))
    assert response.json()["error"] == "NAME_CONFLICT"


def test_a_token_endpoint_fault_answers_like_the_token_endpoint(emulator):
    """A 401 fault on the token endpoint is an RFC 6749 invalid_client answer, once."""
    emulator.add_fault("POST", TOKEN_PATH, status=401)
    response = httpx.post(
        emulator.base_url + TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        auth=(emulator.client_id, emulator.client_secret),
        timeout=10,
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert response.json()["error_description"] == "fault injected by the emulator"
    with emulator.api() as api:
        assert api.get(API_ACTIONS).status_code == 200, "the next token request was not faulted"


def test_cleared_faults_no_longer_apply(emulator):
    """DELETE /_emulator/faults forgets queued faults."""
    emulator.add_fault("GET", API_ACTIONS, status=503, count=5)
    emulator.clear_faults()
    with emulator.api() as api:
        assert api.get(API_ACTIONS).status_code == 200


def test_a_reset_lets_a_held_create_go_on_at_once(emulator):
    """A create held for 60 s is counted in requests_held and ends when the emulator resets."""
    emulator.add_fault("POST", API_ACTIONS, hold_ms=60_000)
    headers = {"Idempotency-Key": "key-held"}
    with emulator.api() as api, concurrent.futures.ThreadPoolExecutor(1) as pool:
        created = pool.submit(api.post, API_ACTIONS, json=action_body("held"), headers=headers)
        emulator.wait_until(lambda stats: stats["requests_held"] == 1)
        emulator.reset()
        assert created.result(timeout=10).status_code == 201
    assert emulator.stats()["requests_held"] == 0


def test_a_drop_fault_commits_the_change_but_closes_the_connection(emulator):
    """The client sees the connection closed without an answer; the action exists."""
    emulator.add_fault("POST", API_ACTIONS, drop=True)
    with emulator.api() as api:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            api.post(API_ACTIONS, json=action_body("dropped_answer"))
        page = api.get(API_ACTIONS, params={"name": "dropped_answer"}).json()
    assert [entity["name"] for entity in page["entities"]] == ["dropped_answer"]
    stats = emulator.stats()
    assert (stats["drops"], stats["api_writes"]) == (1, 1)


def test_a_retry_after_a_dropped_answer_replays_the_first_answer(emulator):
    """With the same Idempotency-Key, the retry of a dropped create gets the created action."""
    emulator.add_fault("POST", API_ACTIONS, drop=True)
    headers = {"Idempotency-Key": "key-dropped"}
    with emulator.api() as api:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            api.post(API_ACTIONS, json=action_body("dropped_once"), headers=headers)
        retry = api.post(API_ACTIONS, json=action_body("dropped_once"), headers=headers)
    assert (retry.status_code, retry.headers["idempotent-replayed"]) == (201, "true")
    assert emulator.stats()["actions"] == 1


def test_drop_rate_1_commits_every_write_but_answers_none(start_emulator):
    """--drop-rate 1: creates, updates and deletes happen; their answers never come; reads do."""
    emulator = start_emulator("--drop-rate", "1.0")
    with emulator.api() as api:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            api.post(API_ACTIONS, json=action_body("written_unheard"))
        created = api.get(API_ACTIONS, params={"name": "written_unheard"}).json()["entities"][0]
        url = f"{API_ACTIONS}/{created['id']}"
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            api.put(url, json={**action_body("written_unheard"), "description": "changed"})
        assert api.get(url).json()["version"] == 2
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            api.delete(url)
        assert api.get(url).status_code == 404
    stats = emulator.stats()
    assert (stats["drops"], stats["api_writes"], stats["actions"]) == (3, 3, 0)
    assert "ERROR" not in "".join(emulator.output), "uvicorn noticed the dropped answers"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Injected": "a\r\nSet-Cookie: session=stolen"},
        {"X-Injected": "line\nbreak"},
        {"X-Bad\r\nName": "value"},
        {"X Space": "value"},
        {"X-Nul": "a\x00b"},
        {"X-Wide": "snowman \u2603"},
        {"Content-Length": "5"},
        {"Transfer-Encoding": "chunked"},
    ],
    ids=[
        "crlf-value",
        "lf-value",
        "crlf-name",
        "space-name",
        "nul",
        "non-latin1",
        "length",
        "chunked",
    ],
)
def test_fault_headers_that_would_break_the_answer_are_refused(emulator, headers):
    """Issue 11, case 11: 400 at queueing time; the API keeps answering normally."""
    response = httpx.post(
        emulator.base_url + "/_emulator/faults",
        json={"method": "GET", "path": API_ACTIONS, "status": 503, "headers": headers},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "VALIDATION_FAILED"
    with emulator.api() as api:
        assert api.get(API_ACTIONS).status_code == 200


def test_fault_headers_with_inner_spaces_and_latin1_are_sent(emulator):
    """Valid values travel as given, on the faulted answer."""
    emulator.add_fault(
        "GET", API_ACTIONS, status=503, headers={"Retry-After": "1", "X-Note": "caf\u00e9 au lait"}
    )
    with emulator.api() as api:
        response = api.get(API_ACTIONS)
    assert response.status_code == 503
    assert response.headers["X-Note"] == "caf\u00e9 au lait"
