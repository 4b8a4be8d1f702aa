"""The emulator's OAuth over real HTTP: the token endpoint's answers, 401 and 403 on the API."""

from __future__ import annotations

import base64
import re
import uuid

import httpx
import pytest
from emulator_process import API_ACTIONS, TOKEN_PATH, EmulatorProcess

from cxone_provider.emulator.oauth import TokenIssuer
from cxone_provider.emulator.settings import OAuthClient

READ_ONLY = "DataActions.Read"


@pytest.fixture(scope="module")
def clients_emulator(tmp_path_factory: pytest.TempPathFactory):
    """An emulator with a full client, a read-only one, an odd-named one and 1 s tokens."""
    process = EmulatorProcess(
        [
            "--client",
            "demo:demo-secret",
            "--client",
            f"reader:reader-secret:{READ_ONLY}",
            "--client",
            "svc.ops-1~x:s3cr3t_~.-:DataActions.ReadWrite,DataActions.Read",
            "--token-ttl",
            "1",
        ],
        cwd=tmp_path_factory.mktemp("clients-emulator"),
    )
    yield process
    process.stop()


def request_token(emulator: EmulatorProcess, **kwargs) -> httpx.Response:
    kwargs.setdefault("data", {"grant_type": "client_credentials"})
    return httpx.post(emulator.base_url + TOKEN_PATH, timeout=10.0, **kwargs)


def assert_api_error(response: httpx.Response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "details", "requestId"}
    assert (body["error"], body["message"]) == (code, message)
    assert uuid.UUID(body["requestId"]).version == 4


def test_client_credentials_get_a_bearer_token(emulator):
    """200 with token type, lifetime, scope, and Cache-Control: no-store."""
    response = request_token(emulator, auth=("demo", "demo-secret"))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "DataActions.ReadWrite"
    assert re.fullmatch(r"cxe_[A-Za-z0-9_-]{43}", body["access_token"])
    assert response.headers["cache-control"] == "no-store"
    accepted = httpx.get(
        emulator.base_url + API_ACTIONS,
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=10.0,
    )
    assert accepted.status_code == 200


@pytest.mark.parametrize(
    "auth", [("demo", "wrong-secret"), ("nobody", "demo-secret")], ids=["secret", "id"]
)
def test_a_wrong_id_or_secret_is_invalid_client(emulator, auth):
    """401 invalid_client with WWW-Authenticate: Basic."""
    response = request_token(emulator, auth=auth)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"] == 'Basic realm="cxone-emulator"'


def test_credentials_outside_basic_auth_are_invalid_client(emulator):
    """The client must authenticate with HTTP Basic."""
    response = request_token(
        emulator,
        data={
            "grant_type": "client_credentials",
            "client_id": "demo",
            "client_secret": "demo-secret",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_another_grant_type_is_unsupported(emulator):
    """400 unsupported_grant_type for anything but client_credentials."""
    response = request_token(
        emulator, auth=("demo", "demo-secret"), data={"grant_type": "password"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_a_scope_the_client_lacks_is_invalid_scope(clients_emulator):
    """400 invalid_scope when the requested scope was not granted to the client."""
    response = request_token(
        clients_emulator,
        auth=("reader", "reader-secret"),
        data={"grant_type": "client_credentials", "scope": "DataActions.ReadWrite"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_basic_credentials_are_form_urldecoded(clients_emulator):
    """Id and secret are form-urlencoded before Basic encoding (RFC 6749 §2.3.1)."""
    encoded = "svc.ops-1%7Ex:s3cr3t_%7E.-"
    header = "Basic " + base64.b64encode(encoded.encode()).decode()
    response = request_token(clients_emulator, headers={"Authorization": header})
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "DataActions.Read DataActions.ReadWrite"


EXPIRED_TOKEN = "the access token has expired; request a new one"
SEND_A_BEARER_TOKEN = "send Authorization: Bearer <access_token> from POST /api/v2/oauth/token"
UNKNOWN_TOKEN = "the access token is unknown; request a new one"


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, SEND_A_BEARER_TOKEN),
        ("Bearer", SEND_A_BEARER_TOKEN),
        ("Bearer  x", UNKNOWN_TOKEN),
        ("Basic ZGVtbzpkZW1vLXNlY3JldA==", SEND_A_BEARER_TOKEN),
        ("Bearer not-a-token", UNKNOWN_TOKEN),
    ],
    ids=["missing", "empty", "spaced", "basic", "unknown"],
)
def test_api_calls_without_a_valid_token_are_unauthorized(emulator, authorization, message):
    """401 UNAUTHORIZED, with the contract's error body and WWW-Authenticate: Bearer."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = httpx.get(emulator.base_url + API_ACTIONS, headers=headers, timeout=10.0)
    assert_api_error(response, 401, "UNAUTHORIZED", message)
    assert response.headers["www-authenticate"] == 'Bearer realm="cxone-emulator"'


def test_a_token_without_the_read_write_scope_is_insufficient_scope(clients_emulator):
    """403 INSUFFICIENT_SCOPE for a token of DataActions.Read only."""
    token = clients_emulator.token("reader", "reader-secret")
    response = httpx.get(
        clients_emulator.base_url + API_ACTIONS,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10.0,
    )
    message = "the access token lacks the DataActions.ReadWrite scope"
    assert_api_error(response, 403, "INSUFFICIENT_SCOPE", message)


def test_expired_tokens_are_unauthorized_until_a_new_one_is_fetched(emulator):
    """After the control API expires every token, the old one gets 401 and a new one works."""
    with emulator.api() as api:
        assert api.get(API_ACTIONS).status_code == 200
        emulator.expire_tokens()
        assert_api_error(api.get(API_ACTIONS), 401, "UNAUTHORIZED", EXPIRED_TOKEN)
    with emulator.api() as fresh:
        assert fresh.get(API_ACTIONS).status_code == 200


@pytest.fixture
def frozen_clients_emulator(clients_emulator: EmulatorProcess):
    """The module's emulator with its clock stopped for one test, running again after."""
    clients_emulator.move_clock(frozen=True)
    yield clients_emulator
    clients_emulator.move_clock(frozen=False)


def test_tokens_last_as_long_as_token_ttl_says(frozen_clients_emulator):
    """With --token-ttl 1, expires_in is 1: the token works at 0.999 s, is refused at 1.001 s."""
    emulator = frozen_clients_emulator
    response = request_token(emulator, auth=("demo", "demo-secret"))
    assert response.json()["expires_in"] == 1
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    url = emulator.base_url + API_ACTIONS
    emulator.move_clock(advance_s=0.999)
    assert httpx.get(url, headers=headers, timeout=10.0).status_code == 200
    emulator.move_clock(advance_s=0.002)
    expired = httpx.get(url, headers=headers, timeout=10.0)
    assert_api_error(expired, 401, "UNAUTHORIZED", EXPIRED_TOKEN)


def test_health_and_control_endpoints_need_no_token(emulator):
    """GET /healthz answers 200 {"status": "ok"} without auth."""
    response = httpx.get(emulator.base_url + "/healthz", timeout=10.0)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


# Issue 11, case 10: token requests are rate-limited per client; old tokens go without a sweep.


def test_token_requests_are_rate_limited_per_client(start_emulator):
    """Past the burst a client gets 429 slow_down with Retry-After; another client does not."""
    emulator = start_emulator(
        "--rate-limit", "1", "--burst", "3", "--client", "a:a-secret", "--client", "b:b-secret"
    )
    emulator.move_clock(frozen=True)
    statuses = [request_token(emulator, auth=("a", "a-secret")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = request_token(emulator, auth=("a", "a-secret"))
    assert limited.json()["error"] == "slow_down"
    assert limited.headers["Retry-After"] == "1"
    assert request_token(emulator, auth=("b", "b-secret")).status_code == 200
    with httpx.Client(base_url=emulator.base_url) as client:
        token = request_token(emulator, auth=("b", "b-secret")).json()["access_token"]
        answer = client.get(API_ACTIONS, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, "token requests do not spend the bucket of API calls"


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_expired_tokens_are_forgotten_as_new_ones_are_issued():
    """The kept tokens stay near what one lifetime holds, however many were ever issued."""
    clock = Clock()
    issuer = TokenIssuer([OAuthClient("demo", "demo-secret")], ttl_s=60, clock=clock)
    for _ in range(3000):
        issuer.issue("demo", grant_type="client_credentials", scope=None)
        clock.now += 1.0
    assert len(issuer) <= 61 + 64
    fresh = issuer.issue("demo", grant_type="client_credentials", scope=None)
    assert issuer.authenticate(f"Bearer {fresh.access_token}") == "demo"


def test_expiring_all_tokens_lets_the_next_issues_forget_them():
    """After the control API expired every token, issuing new ones shrinks what is kept."""
    clock = Clock()
    issuer = TokenIssuer([OAuthClient("demo", "demo-secret")], ttl_s=3600, clock=clock)
    for _ in range(500):
        issuer.issue("demo", grant_type="client_credentials", scope=None)
    issuer.expire_all()
    for _ in range(20):
        issuer.issue("demo", grant_type="client_credentials", scope=None)
    assert len(issuer) == 20
