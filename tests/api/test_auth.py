"""The OAuth flow on its own: the token request, its errors, expiry and refreshes racing a 401."""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import stamina
from token_server import TokenServer

from cxone_provider.api import auth as auth_module
from cxone_provider.api.auth import TOKEN_PATH, ClientCredentialsAuth
from cxone_provider.api.client import ACTIONS_PATH, CxoneClient
from cxone_provider.api.errors import (
    AuthenticationError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
)


class FakeClock:
    """Stands still unless a test moves it, or moves `tick` seconds at every reading."""

    def __init__(self, tick: float = 0.0) -> None:
        self.now = 1_000.0
        self.tick = tick

    def __call__(self) -> float:
        now = self.now
        self.now += self.tick
        return now


class Exchange:
    """Every request an httpx.Client sends and every answer it gets, bodies read."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response] = []

    def hooks(self) -> dict[str, list]:
        return {"request": [self.requests.append], "response": [self._answer]}

    def _answer(self, response: httpx.Response) -> None:
        response.read()
        self.answers.append(response)

    def to(self, path: str) -> list[httpx.Response]:
        return [a for a in self.answers if a.request.url.path == path]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def auth(emulator, clock) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(emulator.client_id, emulator.client_secret, clock=clock)


@pytest.fixture
def exchange() -> Exchange:
    return Exchange()


@pytest.fixture
def http(emulator, auth, exchange) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, auth=auth, event_hooks=exchange.hooks()) as c:
        yield c


def bearer_of(request: httpx.Request) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


# --- the token request ---


def test_the_token_request_follows_the_contract(emulator, http, exchange):
    """POST, form body with grant and scope, Basic credentials, JSON asked for, no API query."""
    assert http.get(ACTIONS_PATH, params={"pageSize": 2}).status_code == 200
    token_request = exchange.requests[0]
    assert (token_request.method, str(token_request.url)) == (
        "POST",
        emulator.base_url + TOKEN_PATH,
    )
    assert parse_qs(token_request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["DataActions.ReadWrite"],
    }
    basic = base64.b64encode(f"{emulator.client_id}:{emulator.client_secret}".encode()).decode()
    assert token_request.headers["Authorization"] == f"Basic {basic}"
    assert token_request.headers["Accept"] == "application/json"
    issued = exchange.to(TOKEN_PATH)[0].json()["access_token"]
    assert bearer_of(exchange.requests[1]) == issued


def test_id_and_secret_are_form_encoded_before_basic_encoding():
    """RFC 6749 §2.3.1: a space and a colon in the secret are sent as + and %3A."""
    with TokenServer(401, b"{}") as server:
        auth = ClientCredentialsAuth("my id", "se:cret&1")
        exchange = Exchange()
        with (
            httpx.Client(base_url=server.base_url, auth=auth, event_hooks=exchange.hooks()) as c,
            pytest.raises(AuthenticationError),
        ):
            c.get(ACTIONS_PATH)
    expected = base64.b64encode(b"my+id:se%3Acret%261").decode("ascii")
    assert exchange.requests[0].headers["Authorization"] == f"Basic {expected}"


def test_the_token_request_is_logged_with_its_status_and_duration(http, clock, caplog):
    """One debug line per token request: path, status and the milliseconds it took."""
    clock.tick = 0.25
    with caplog.at_level(logging.DEBUG, logger=auth_module.__name__):
        http.get(ACTIONS_PATH)
    lines = [r.getMessage() for r in caplog.records if r.name == auth_module.__name__]
    assert lines == [f"POST {TOKEN_PATH} -> 200 (token request, 250.0 ms)"]


def test_repr_names_the_client_and_nothing_secret(emulator, auth):
    """The auth's repr shows the client id only."""
    assert repr(auth) == f"ClientCredentialsAuth(client_id={emulator.client_id!r})"


def test_a_failed_refresh_never_shows_the_token_in_traceback_locals(emulator, http, exchange):
    """A crash report that prints local variables (rich, sentry) shows no token of the flow."""
    http.get(ACTIONS_PATH)
    token = exchange.to(TOKEN_PATH)[0].json()["access_token"]
    emulator.add_fault("GET", ACTIONS_PATH, status=401)
    emulator.add_fault("POST", TOKEN_PATH, status=503)
    with pytest.raises(ServerError) as caught:
        http.get(ACTIONS_PATH)
    auth_frames = [
        frame
        for frame, _ in traceback.walk_tb(caught.value.__traceback__)
        if Path(frame.f_code.co_filename).name == Path(auth_module.__file__).name
    ]
    shown = [repr(value) for frame in auth_frames for value in frame.f_locals.values()]
    assert any("_Token(reusable_until=" in text for text in shown)  # the old token is a local
    assert not [text for text in shown if token in text]


# --- errors of the token endpoint ---


def test_a_429_from_the_token_endpoint_is_rate_limited_with_its_retry_after(
    emulator, http, exchange, auth
):
    """The token endpoint's 429 is a RateLimitedError (retryable) with the server's delay."""
    emulator.add_fault("POST", TOKEN_PATH, status=429, headers={"Retry-After": "7"})
    with pytest.raises(RateLimitedError) as caught:
        http.get(ACTIONS_PATH)
    body = exchange.to(TOKEN_PATH)[0].json()
    error = caught.value
    assert (error.status, error.code, error.request_id) == (429, body["error"], body["requestId"])
    assert error.retry_after == 7.0
    assert auth.token_requests == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_from_the_token_endpoint_is_a_server_error(emulator, http, exchange, status):
    """A 5xx of the token endpoint is a ServerError with the server's code and request id."""
    emulator.add_fault("POST", TOKEN_PATH, status=status)
    with pytest.raises(ServerError) as caught:
        http.get(ACTIONS_PATH)
    body = exchange.to(TOKEN_PATH)[0].json()
    error = caught.value
    assert (error.status, error.code, error.request_id) == (
        status,
        body["error"],
        body["requestId"],
    )
    assert [r.url.path for r in exchange.requests] == [TOKEN_PATH]


@pytest.mark.parametrize(("status", "code"), [(400, "invalid_request"), (401, "invalid_client")])
def test_a_refused_token_request_is_an_authentication_error(emulator, http, status, code):
    """400 and 401 of the token endpoint are final: the OAuth error code and description."""
    emulator.add_fault("POST", TOKEN_PATH, status=status)
    with pytest.raises(AuthenticationError) as caught:
        http.get(ACTIONS_PATH)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert f"answered {status} {code}: fault injected by the emulator;" in str(caught.value)


def test_after_a_token_error_the_next_call_fetches_a_token_again(emulator, http, auth):
    """A failed token request leaves no token behind: the next call asks again and succeeds."""
    emulator.add_fault("POST", TOKEN_PATH, status=503)
    with pytest.raises(ServerError):
        http.get(ACTIONS_PATH)
    assert http.get(ACTIONS_PATH).status_code == 200
    assert auth.token_requests == 2
    assert emulator.stats()["token_requests"] == 2


def test_a_5xx_and_a_429_from_the_token_endpoint_are_retried_by_the_client(emulator):
    """The client retries a call whose token request failed with 503, then 429."""
    emulator.add_fault("POST", TOKEN_PATH, status=503)
    emulator.add_fault("POST", TOKEN_PATH, status=429, headers={"Retry-After": "0"})
    with (
        stamina.set_testing(True, attempts=5),
        CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as client,
    ):
        assert list(client.list_actions()) == []
        assert client.auth.token_requests == 3


@pytest.mark.parametrize(
    ("status", "body", "content_type", "code", "description"),
    [
        (401, b"<html>denied</html>", "text/html", "invalid_client", "no description"),
        (401, b'["invalid_client"]', "application/json", "invalid_client", "no description"),
        (400, b"{}", "application/json", "invalid_client", "no description"),
        (
            401,
            b'{"error": "invalid_scope", "error_description": "no grant"}',
            "application/json",
            "invalid_scope",
            "no grant",
        ),
    ],
    ids=["html", "json-list", "empty-object", "oauth-error"],
)
def test_a_refusal_in_any_body_says_what_the_server_said(
    status, body, content_type, code, description
):
    """A 400/401 whose body is not the contract's still gives AuthenticationError, no crash."""
    with TokenServer(status, body, content_type=content_type) as server:
        auth = ClientCredentialsAuth("id", "secret")
        with (
            httpx.Client(base_url=server.base_url, auth=auth) as c,
            pytest.raises(AuthenticationError) as caught,
        ):
            c.get(ACTIONS_PATH)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert f"The token endpoint answered {status} {code}: {description};" in str(caught.value)


def test_a_200_without_a_token_is_an_authentication_error():
    """A 200 whose body is no token (a proxy's login page) says so instead of crashing."""
    with TokenServer(200, b"<html>sign in</html>", content_type="text/html") as server:
        auth = ClientCredentialsAuth("id", "secret")
        with (
            httpx.Client(base_url=server.base_url, auth=auth) as c,
            pytest.raises(AuthenticationError) as caught,
        ):
            c.get(ACTIONS_PATH)
    assert (caught.value.status, caught.value.code) == (200, "invalid_response")
    assert str(caught.value).startswith(
        "The token endpoint answered 200 invalid_response: the token endpoint answered 200 "
        "without a valid token body;"
    )
    assert caught.value.__cause__ is None


# --- expiry ---


def test_a_token_is_reused_until_exactly_60_seconds_before_it_expires(http, clock, exchange, auth):
    """With expires_in 3600, the token serves until 3540 s after it was asked for, not at 3540."""
    http.get(ACTIONS_PATH)
    expires_in = exchange.to(TOKEN_PATH)[0].json()["expires_in"]
    clock.now += expires_in - 60 - 0.001
    http.get(ACTIONS_PATH)
    assert auth.token_requests == 1
    clock.now += 0.001
    http.get(ACTIONS_PATH)
    assert auth.token_requests == 2


def test_a_token_shorter_lived_than_the_margin_still_serves_its_request(start_emulator):
    """A 30 s token is used for the request it was fetched for, and refreshed for the next."""
    server = start_emulator("--token-ttl", "30")
    auth = ClientCredentialsAuth(server.client_id, server.client_secret, clock=FakeClock())
    with httpx.Client(base_url=server.base_url, auth=auth) as c:
        assert c.get(ACTIONS_PATH).status_code == 200
        assert c.get(ACTIONS_PATH).status_code == 200
    assert auth.token_requests == 2


# --- a 401 racing another thread's refresh (two flows interleaved step by step) ---


def test_a_401_after_another_flow_refreshed_retries_with_its_token(emulator, auth):
    """Flow A's 401 arrives after flow B refreshed: A retries with B's token, fetching none."""
    with (
        httpx.Client(base_url=emulator.base_url) as wire,
        httpx.Client(base_url=emulator.base_url, auth=auth) as other,
    ):
        flow_a = auth.sync_auth_flow(wire.build_request("GET", ACTIONS_PATH))
        token_request = next(flow_a)
        api_request = flow_a.send(wire.send(token_request))
        emulator.expire_tokens()
        refreshed = other.get(ACTIONS_PATH)  # flow B: 401 with the old token, refresh, 200
        assert refreshed.status_code == 200
        assert auth.token_requests == 2
        retried = flow_a.send(wire.send(api_request))  # A's own 401
        assert retried.url.path == ACTIONS_PATH
        assert bearer_of(retried) == bearer_of(refreshed.request)
        assert wire.send(retried).status_code == 200
    assert auth.token_requests == 2
    assert emulator.stats()["token_requests"] == 2


def test_a_401_after_another_flows_refresh_failed_fetches_a_token(emulator, auth):
    """When B's refresh failed and left no token, A's 401 fetches one itself and retries."""
    with (
        httpx.Client(base_url=emulator.base_url) as wire,
        httpx.Client(base_url=emulator.base_url, auth=auth) as other,
    ):
        flow_a = auth.sync_auth_flow(wire.build_request("GET", ACTIONS_PATH))
        api_request = flow_a.send(wire.send(next(flow_a)))
        emulator.expire_tokens()
        emulator.add_fault("POST", TOKEN_PATH, status=503)
        with pytest.raises(ServerError):
            other.get(ACTIONS_PATH)  # flow B: 401, its refresh gets a 503
        token_request = flow_a.send(wire.send(api_request))  # A's 401
        assert (token_request.method, token_request.url.path) == ("POST", TOKEN_PATH)
        issued = wire.send(token_request)
        retried = flow_a.send(issued)
        assert bearer_of(retried) == issued.json()["access_token"]
        assert wire.send(retried).status_code == 200
    assert auth.token_requests == 3


def test_a_second_401_with_a_fresh_token_is_final(emulator, http, auth):
    """A request refused again after its refresh raises instead of refreshing for ever."""
    emulator.add_fault("GET", ACTIONS_PATH, status=401, count=2)
    response = http.get(ACTIONS_PATH)
    assert response.status_code == 401
    assert auth.token_requests == 2
    with CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as client:
        emulator.add_fault("GET", ACTIONS_PATH, status=401, count=2)
        with pytest.raises(UnauthorizedError):
            list(client.list_actions())


def test_async_use_is_refused_with_a_message(auth):
    """The Pulumi provider runs in threads: an async client gets NotImplementedError, saying so."""
    with pytest.raises(NotImplementedError) as caught:
        auth.auth_flow(httpx.Request("GET", "http://127.0.0.1" + ACTIONS_PATH))
    assert str(caught.value) == "ClientCredentialsAuth supports httpx.Client only"
