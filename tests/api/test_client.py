"""The API client against the real emulator over loopback: retries, idempotency, tokens, errors."""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import stamina
from paging_server import PagingServer

from cxone_provider import (
    ActionSpec,
    AuthenticationError,
    ConflictError,
    DeadlineExceededError,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    ServerError,
    TransportError,
    UnauthorizedError,
    validate_spec,
)
from cxone_provider.api.auth import ClientCredentialsAuth
from cxone_provider.api.client import ACTIONS_PATH, CxoneClient, deadline
from cxone_provider.api.errors import ApiError, ConfigurationError, CxoneError
from cxone_provider.api.models import Script

ACTION_PATH = ACTIONS_PATH + "/{id}"


class RecordingTransport(httpx.BaseTransport):
    """The real network transport, remembering each request it sends (nothing is faked)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.inner.handle_request(request)
        answer.read()
        self.answers.append(answer)
        return answer

    def close(self) -> None:
        self.inner.close()

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


def spec(name: str = "lead_score", dependencies: tuple[str, ...] = ()) -> ActionSpec:
    return validate_spec(
        {
            "name": name,
            "script": {"content": "function main(context) { return {seen: context.input}; }"},
            "dependencies": list(dependencies),
        }
    )


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def client(emulator, transport) -> Iterator[CxoneClient]:
    with CxoneClient(
        emulator.base_url, emulator.client_id, emulator.client_secret, transport=transport
    ) as api:
        yield api


@pytest.fixture
def no_backoff() -> Iterator[None]:
    """Retries happen at once; for tests about what is retried, not how long it waits."""
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


def test_create_get_update_delete_round_trip(client):
    """Each endpoint does what the contract says, versions growing by one per update."""
    created = client.create_action(spec(), idempotency_key="k-round-trip")
    assert not created.replayed
    assert created.attempts == 1
    action = client.get_action(created.action.id)
    assert action == created.action
    assert action.version == 1
    changed = spec().model_copy(update={"description": "now described"})
    updated = client.update_action(action.id, changed, if_match=1)
    assert (updated.version, updated.description) == (2, "now described")
    assert client.delete_action(action.id) is True
    with pytest.raises(NotFoundError):
        client.get_action(action.id)


def test_delete_of_a_missing_action_counts_as_done(client):
    """A 404 on DELETE returns False instead of raising."""
    assert client.delete_action("00000000-0000-0000-0000-000000000000") is False


def test_list_follows_cursors_across_pages(client, transport):
    """Listing with a small page size still yields every action, in creation order."""
    names = [f"action_{i}" for i in range(5)]
    for name in names:
        client.create_action(spec(name), idempotency_key=f"k-{name}")
    assert [a.name for a in client.list_actions(page_size=2)] == names
    assert len(transport.sent("GET", ACTIONS_PATH)) == 3


def test_find_by_name_returns_the_action_or_none(client):
    """find_action filters by exact name."""
    client.create_action(spec("base_transform"), idempotency_key="k-find")
    assert client.find_action("base_transform").name == "base_transform"
    assert client.find_action("base_transforms") is None


def test_429_with_retry_after_seconds_is_waited_out(emulator, client, transport):
    """A 429 with Retry-After: 1 makes the client wait about a second, then succeed."""
    emulator.add_fault("GET", ACTIONS_PATH, status=429, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert list(client.list_actions()) == []
    assert time.monotonic() - started >= 1.0
    assert len(transport.sent("GET", ACTIONS_PATH)) == 2


def test_503_with_an_http_date_retry_after_is_waited_out(emulator, client, transport):
    """Retry-After as an HTTP-date is honoured: the retry waits until that moment."""
    until = email.utils.formatdate(time.time() + 2, usegmt=True)
    emulator.add_fault("GET", ACTIONS_PATH, status=503, headers={"Retry-After": until})
    started = time.monotonic()
    list(client.list_actions())
    assert time.monotonic() - started >= 0.9  # the date has one-second resolution
    assert len(transport.sent("GET", ACTIONS_PATH)) == 2


@pytest.mark.usefixtures("no_backoff")
def test_three_503s_then_201_create_one_action_with_one_key(emulator, client, transport):
    """Retries of a create send the same Idempotency-Key, and exactly one action results."""
    emulator.add_fault("POST", ACTIONS_PATH, status=503, count=3)
    created = client.create_action(spec(), idempotency_key="k-503")
    posts = transport.sent("POST", ACTIONS_PATH)
    assert len(posts) == 4
    assert {p.headers["Idempotency-Key"] for p in posts} == {"k-503"}
    assert created.attempts == 4
    assert [a.name for a in client.list_actions()] == ["lead_score"]


@pytest.mark.usefixtures("no_backoff")
def test_dropped_answer_is_retried_and_replayed_without_a_duplicate(emulator, client):
    """When the server commits a create but the answer is lost, the retry gets the replay."""
    emulator.add_fault("POST", ACTIONS_PATH, drop=True)
    created = client.create_action(spec(), idempotency_key="k-drop")
    assert created.replayed is True
    assert created.attempts == 2
    assert [a.id for a in client.list_actions()] == [created.action.id]


@pytest.mark.usefixtures("no_backoff")
def test_400_is_not_retried(client, transport):
    """A rule broken on the server side fails at once, with the server's code and details."""
    broken = spec().model_copy(
        update={"script": Script.model_construct(language="JavaScript", content="function (")}
    )
    with pytest.raises(ApiError) as caught:
        client.create_action(broken, idempotency_key="k-400")
    assert (caught.value.status, caught.value.code) == (400, "COMPILATION_FAILED")
    assert caught.value.request_id == transport.answers[-1].json()["requestId"]
    assert len(transport.sent("POST", ACTIONS_PATH)) == 1


@pytest.mark.usefixtures("no_backoff")
def test_name_conflict_is_final_and_says_to_adopt(client, transport):
    """A second create of a taken name is a 409 NAME_CONFLICT, not retried."""
    client.create_action(spec(), idempotency_key="k-first")
    with pytest.raises(ConflictError) as caught:
        client.create_action(spec(), idempotency_key="k-second")
    assert caught.value.code == "NAME_CONFLICT"
    assert "adopt=True" in str(caught.value)
    assert len(transport.sent("POST", ACTIONS_PATH)) == 2


def test_stale_if_match_is_a_precondition_failure(client):
    """An update naming an old version fails with 412 and says to refresh."""
    action = client.create_action(spec(), idempotency_key="k-412").action
    client.update_action(action.id, spec(), if_match=1)
    with pytest.raises(PreconditionFailedError, match="pulumi refresh"):
        client.update_action(action.id, spec(), if_match=1)


def test_expired_token_is_refreshed_once_and_the_call_retried(emulator, client, transport):
    """After the server expires every token, one refresh and one retry make the call succeed."""
    list(client.list_actions())
    emulator.expire_tokens()
    list(client.list_actions())
    assert client.auth.token_requests == 2
    assert len(transport.sent("POST", "/api/v2/oauth/token")) == 2
    assert len(transport.sent("GET", ACTIONS_PATH)) == 3  # ok, 401, ok


def test_401_after_a_fresh_token_is_final(emulator, client):
    """A token refused twice raises UnauthorizedError instead of refreshing forever."""
    emulator.add_fault("GET", ACTIONS_PATH, status=401, count=2)
    with pytest.raises(UnauthorizedError):
        list(client.list_actions())
    assert client.auth.token_requests == 2


def test_twenty_threads_share_one_token_request(emulator):
    """Concurrent first calls wait for one token fetch instead of each fetching its own."""
    with CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as shared:
        barrier = threading.Barrier(20)
        errors: list[BaseException] = []

        def call() -> None:
            barrier.wait()
            try:
                list(shared.list_actions())
            except BaseException as error:  # noqa: BLE001 -- reported by the assertion below
                errors.append(error)

        threads = [threading.Thread(target=call) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert shared.auth.token_requests == 1
    assert emulator.stats()["token_requests"] == 1


def test_wrong_secret_says_to_check_the_credentials(emulator):
    """A refused client secret raises AuthenticationError naming the settings, never the secret."""
    api = CxoneClient(emulator.base_url, emulator.client_id, "not-the-secret")
    with api, pytest.raises(AuthenticationError) as caught:
        api.get_action("x")
    assert "cxone:clientSecret" in str(caught.value)
    assert "not-the-secret" not in str(caught.value)


def test_client_without_the_scope_is_told_which_scope_to_grant(start_emulator):
    """The client asks for DataActions.ReadWrite; a client not granted it learns so at once."""
    server = start_emulator("--client", "reader:reader-secret:DataActions.Read")
    api = CxoneClient(server.base_url, "reader", "reader-secret")
    with api, pytest.raises(AuthenticationError, match=r"granted the DataActions\.ReadWrite"):
        list(api.list_actions())


def test_403_names_the_scope_to_grant(emulator, client):
    """An API 403 (scope revoked after the token was issued) is final and names the scope."""
    emulator.add_fault("GET", ACTIONS_PATH, status=403)
    with pytest.raises(ForbiddenError, match=r"DataActions\.ReadWrite"):
        list(client.list_actions())


@pytest.mark.usefixtures("no_backoff")
def test_connection_refused_fails_at_once_without_retrying(transport, caplog):
    """Issue 21: nobody listening is no transient fault: one attempt, no retry, the URL named."""
    api = CxoneClient("http://127.0.0.1:9", "id", "secret", transport=transport)
    with (
        api,
        caplog.at_level(logging.WARNING, logger="cxone_provider"),
        pytest.raises(TransportError, match=r"127\.0\.0\.1:9.*Connection refused") as caught,
    ):
        api.get_action("x")
    assert caught.value.retryable is False
    assert len(transport.requests) == 1  # the token request, refused
    assert caplog.records == []


@pytest.mark.usefixtures("no_backoff")
def test_each_retry_logs_what_where_and_why(emulator, client, caplog):
    """Issue 21: one WARNING per retry names the request, its URL, the status and the wait."""
    emulator.add_fault("POST", ACTIONS_PATH, status=503, count=2)
    with caplog.at_level(logging.INFO):
        client.create_action(spec(), idempotency_key="k-logged")
    retries = [record.getMessage() for record in caplog.records if "retry" in record.getMessage()]
    assert len(retries) == 2
    for number, line in enumerate(retries, 1):
        assert line.startswith(
            f"POST {emulator.base_url}{ACTIONS_PATH} (Data Action 'lead_score'): 503 UNAVAILABLE "
            "[request id "
        ), line
        assert f"; retry {number} of 9 in " in line
    assert "stamina.retry_scheduled" not in caplog.text
    assert emulator.client_secret not in caplog.text


def test_requests_are_logged_without_secrets(emulator, client, caplog):
    """Debug logs show method, path, status and attempt, and never the token or the secret."""
    with caplog.at_level(logging.DEBUG, logger="cxone_provider"):
        list(client.list_actions())
    text = caplog.text
    assert f"GET {ACTIONS_PATH} -> 200 (attempt 1" in text
    assert "POST /api/v2/oauth/token -> 200" in text
    assert emulator.client_secret not in text
    assert "Bearer" not in text


def test_client_repr_hides_the_secret(emulator, client):
    """Neither the client nor its auth shows the secret in repr."""
    assert emulator.client_secret not in repr(client)
    assert emulator.client_secret not in repr(client.auth)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_token_is_reused_until_60_seconds_before_it_expires(start_emulator):
    """A 90 s token serves every request for 30 s; the next request after that refreshes it."""
    server = start_emulator("--token-ttl", "90")
    clock = FakeClock()
    auth = ClientCredentialsAuth(server.client_id, server.client_secret, clock=clock)
    with httpx.Client(base_url=server.base_url, auth=auth) as http:
        assert http.get(ACTIONS_PATH).status_code == 200
        clock.now += 29.0
        assert http.get(ACTIONS_PATH).status_code == 200
        assert auth.token_requests == 1
        clock.now += 2.0
        assert http.get(ACTIONS_PATH).status_code == 200
        assert auth.token_requests == 2
    assert server.stats()["token_requests"] == 2


# --- deadlines ---


def test_a_deadline_stops_a_retry_after_that_would_end_past_it(emulator, client, transport):
    """A 503 asking for 600 s with 30 s left: no wait, DeadlineExceededError caused by the 503."""
    assert list(client.list_actions()) == []  # the token first: the budget is the create's
    emulator.add_fault("POST", ACTIONS_PATH, status=503, headers={"Retry-After": "600"})
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError) as caught, deadline(started + 30.0):
        client.create_action(spec(), idempotency_key="k-deadline-503")
    assert time.monotonic() - started < 30.0  # it gave up at once, before the deadline
    assert isinstance(caught.value.__cause__, ServerError)
    assert f"POST {emulator.base_url}{ACTIONS_PATH}: the deadline passed after 1 attempt(s)" in (
        str(caught.value)
    )
    assert len(transport.sent("POST", ACTIONS_PATH)) == 1
    assert list(client.list_actions()) == []


def test_a_deadline_cuts_a_request_that_hangs_and_the_same_key_finds_its_action(emulator, client):
    """A create held 6 s with 2 s left times out; it lands anyway, and a retry adopts it."""
    assert list(client.list_actions()) == []  # the token first: the budget is the create's
    emulator.add_fault("POST", ACTIONS_PATH, hold_ms=6000)
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError) as caught, deadline(started + 2.0):
        client.create_action(spec(), idempotency_key="k-deadline-hold")
    assert time.monotonic() - started < 6.0  # cut by the deadline, not answered after the hold
    assert isinstance(caught.value.__cause__, TransportError)
    created = client.create_action(spec(), idempotency_key="k-deadline-hold")
    assert created.replayed is True
    assert [a.id for a in client.list_actions()] == [created.action.id]


def test_a_deadline_ends_backoff_retries_with_the_last_error(emulator, client, transport):
    """503s without Retry-After: backoff retries until the deadline, then the last 503."""
    assert list(client.list_actions()) == []  # the token first: the budget is the listing's
    emulator.add_fault("GET", ACTIONS_PATH, status=503, count=100)
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError) as caught, deadline(started + 3.0):
        list(client.list_actions())
    assert time.monotonic() - started < 3.0 + 10.0  # at most one backoff (capped at 10 s) late
    assert isinstance(caught.value.__cause__, ServerError)
    assert "the last error: " in str(caught.value)
    assert "503 UNAVAILABLE" in str(caught.value)
    assert 2 <= len(transport.sent("GET", ACTIONS_PATH)) - 1 < 10


def test_past_its_deadline_a_call_sends_nothing(client, transport):
    """An expired deadline fails the call before any request, the token's included."""
    with pytest.raises(DeadlineExceededError) as caught, deadline(time.monotonic() - 1):
        client.get_action("00000000-0000-0000-0000-000000000000")
    assert "the deadline passed before attempt 1 could start" in str(caught.value)
    assert transport.requests == []


def test_a_lifted_deadline_lets_a_rollback_finish(client):
    """deadline(None) inside an expired deadline: the call runs (a rollback must finish)."""
    created = client.create_action(spec(), idempotency_key="k-lifted")
    with deadline(time.monotonic() - 1), deadline(None):
        assert client.delete_action(created.action.id) is True


def test_a_server_that_repeats_a_cursor_ends_the_listing_with_an_error():
    """Issue 11, case 14: the second sight of a cursor stops the loop and says why."""
    server = PagingServer("repeat")
    try:
        with CxoneClient(server.base_url, "any", "secret") as looping:
            listed = []
            with pytest.raises(CxoneError, match="gave the same nextCursor again after 2 pages"):
                listed.extend(looping.list_actions())
    finally:
        server.close()
    assert len(listed) == 2
    assert server.pages_served == 2


def test_the_client_refuses_to_send_credentials_over_plain_http_beyond_loopback():
    """Issue 20: whatever builds it, a client never sends the secret unencrypted."""
    with pytest.raises(ConfigurationError, match=r"use https://acme\.api\.nicecxone\.com"):
        CxoneClient("http://acme.api.nicecxone.com", "id", "secret")
