"""Idempotency-Key on POST over real HTTP: replay, 422, 409 in flight, scope, what is kept."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from emulator_process import API_ACTIONS, action_body


def post(api: httpx.Client, body: dict, key: str | None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post(API_ACTIONS, json=body, headers=headers)


def test_a_retry_with_the_same_key_and_body_replays_the_first_answer(emulator, api):
    """Same status, body and ETag, plus Idempotent-Replayed: true; one action, one write."""
    first = post(api, action_body("replayed"), "key-replay")
    again = post(api, action_body("replayed"), "key-replay")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    stats = emulator.stats()
    assert (stats["actions"], stats["api_writes"]) == (1, 1)


def test_a_quoted_key_is_the_same_key_as_the_bare_one(api):
    """The structured-field form "key" and the bare form name one key."""
    first = post(api, action_body("quoted"), "4a7c-key")
    again = post(api, action_body("quoted"), '"4a7c-key"')
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_error_answers_after_acting_are_replayed_too(api):
    """A NAME_CONFLICT is remembered: the retry gets the same 409 body, request id included."""
    post(api, action_body("taken"), None)
    first = post(api, action_body("taken"), "key-conflict")
    again = post(api, action_body("taken"), "key-conflict")
    assert first.status_code == again.status_code == 409
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


def test_the_same_key_with_a_different_body_is_idempotency_key_reused(api):
    """422 IDEMPOTENCY_KEY_REUSED; nothing else is created."""
    post(api, action_body("original_body"), "key-reuse")
    response = post(api, action_body("another_body"), "key-reuse")
    assert response.status_code == 422
    assert response.json()["error"] == "IDEMPOTENCY_KEY_REUSED"
    assert api.get(API_ACTIONS, params={"name": "another_body"}).json()["entities"] == []


def test_the_body_is_compared_as_json_not_as_bytes(api):
    """Key order and spacing do not make a different body."""
    first = api.post(
        API_ACTIONS,
        content=b'{"name": "same_json", "script": {"content": "function main(c) {}"}}',
        headers={"Idempotency-Key": "key-json", "Content-Type": "application/json"},
    )
    again = api.post(
        API_ACTIONS,
        content=b'{"script":{"content":"function main(c) {}"},"name":"same_json"}',
        headers={"Idempotency-Key": "key-json", "Content-Type": "application/json"},
    )
    assert first.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"


def test_a_key_still_in_flight_is_idempotency_key_in_use_with_retry_after(emulator, api):
    """409 IDEMPOTENCY_KEY_IN_USE with Retry-After: 1 while the first is processed."""
    emulator.add_fault("POST", API_ACTIONS, hold_ms=60_000)
    body = action_body("slow_to_process")
    answers: list[httpx.Response] = []
    first = threading.Thread(target=lambda: answers.append(post(api, body, "key-in-flight")))
    first.start()
    emulator.wait_until(lambda stats: stats["requests_held"] == 1)
    concurrent = post(api, body, "key-in-flight")
    emulator.clear_faults()  # lets the held create go on
    first.join(timeout=10)
    assert not first.is_alive(), "clearing the faults did not let the held create go on"
    assert concurrent.status_code == 409
    assert concurrent.json()["error"] == "IDEMPOTENCY_KEY_IN_USE"
    assert concurrent.headers["retry-after"] == "1"
    assert answers[0].status_code == 201
    assert emulator.stats()["requests_held"] == 0
    retried = post(api, body, "key-in-flight")
    assert retried.headers["idempotent-replayed"] == "true"
    assert retried.json() == answers[0].json()


def test_a_validation_failure_is_not_remembered(api):
    """A 400 from validation ends before acting: the same key with a fixed body creates."""
    broken = post(api, action_body("fixed_later", content="function main( {"), "key-fix")
    assert broken.status_code == 400
    fixed = post(api, action_body("fixed_later"), "key-fix")
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


def test_without_a_key_every_request_is_processed(api):
    """No key, no protection: the second identical create meets NAME_CONFLICT."""
    assert post(api, action_body("unprotected"), None).status_code == 201
    assert post(api, action_body("unprotected"), None).status_code == 409


@pytest.mark.parametrize("key", ["", '""', "k" * 256], ids=["empty", "empty-quoted", "too-long"])
def test_a_key_that_is_empty_or_over_255_characters_is_validation_failed(api, key):
    """The key must be 1 to 255 characters."""
    response = post(api, action_body("keyed"), key)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "Idempotency-Key"


def test_keys_are_scoped_to_the_oauth_client(start_emulator):
    """Another client's request with the same key is its own request, not a 422."""
    emulator = start_emulator("--client", "first:first-secret", "--client", "second:second-secret")
    url = emulator.base_url + API_ACTIONS
    for client_id, name in (("first", "from_first"), ("second", "from_second")):
        token = emulator.token(client_id, f"{client_id}-secret")
        response = httpx.post(
            url,
            json=action_body(name),
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "shared-key"},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        assert "idempotent-replayed" not in response.headers


@pytest.mark.parametrize("key", [None, "key-surrogate"], ids=["without-key", "with-key"])
def test_a_lone_surrogate_is_400_with_or_without_a_key(api, key):
    """Issue 20: with an Idempotency-Key the body's fingerprint failed as a 500 (retried)."""
    body = action_body("lone_surrogate")
    body["description"] = "half a pair: \ud800"
    text = json.dumps(body)  # ASCII, the surrogate as its escape: what a JSON client may send
    headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
    response = api.post(API_ACTIONS, content=text, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION_FAILED"
