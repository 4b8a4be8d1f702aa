"""`cxone emulator` as a process: start, options, persistence, signals, control API."""

from __future__ import annotations

import concurrent.futures
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from emulator_process import API_ACTIONS, TOKEN_PATH, EmulatorProcess, PeakMemory, action_body


def listing_status(emulator: EmulatorProcess) -> int:
    """The status of a listing made with a fresh token of the emulator's default client."""
    with emulator.api() as api:
        return api.get(API_ACTIONS).status_code


def granted_scope(emulator: EmulatorProcess, client_id: str, secret: str) -> str:
    """The scope of a token issued to this client (the request must succeed)."""
    response = httpx.post(
        emulator.base_url + TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10.0,
    )
    assert response.status_code == 200, response.text
    scope: str = response.json()["scope"]
    return scope


def plain(rich_text: str) -> str:
    """A message printed in a rich box, as one line of words."""
    return " ".join(rich_text.translate(str.maketrans("", "", "│╭╮╰╯─")).split())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_emulator_cleanly(start_emulator, sig):
    """SIGTERM and SIGINT end the process with exit code 0 and no traceback."""
    emulator = start_emulator()
    with emulator.api() as api:
        assert api.get(API_ACTIONS).status_code == 200
    assert emulator.stop(sig) == 0
    output = "".join(emulator.output)
    assert "Traceback" not in output
    assert "ERROR" not in output


def test_the_default_client_and_its_secret_are_printed_at_start(start_emulator):
    """With no --client, demo / demo-secret are printed along with the address."""
    emulator = start_emulator()
    output = "".join(emulator.output)
    assert f"listening on http://127.0.0.1:{emulator.port}" in output
    assert "client id: demo" in output
    assert "client secret: demo-secret" in output


def test_configured_clients_are_printed_without_their_secrets(start_emulator):
    """Given --client, only the ids are printed."""
    emulator = start_emulator("--client", "ci-bot:hush-hush", "--client", "ops:also-secret")
    output = "".join(emulator.output)
    assert "ci-bot, ops" in output
    assert "hush-hush" not in output
    assert "also-secret" not in output
    assert listing_status(emulator) == 200


def test_actions_survive_a_restart_and_old_tokens_do_not(start_emulator):
    """The SQLite file keeps the actions; tokens live in memory, so clients fetch new ones."""
    emulator = start_emulator()
    api = emulator.api()
    created = api.post(API_ACTIONS, json=action_body("persistent")).json()
    emulator.restart()
    assert api.get(API_ACTIONS).status_code == 401
    api.close()
    with emulator.api() as fresh:
        assert fresh.get(f"{API_ACTIONS}/{created['id']}").json() == created
    assert emulator.db_path is not None
    assert emulator.db_path.exists()


def test_without_db_the_database_is_a_file_in_the_current_folder(tmp_path):
    """The default --db is .cxone-emulator.sqlite3 in the folder the emulator starts in."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cxone_provider", "emulator", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(2)]
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=15)
    assert process.returncode == 0
    expected = tmp_path / ".cxone-emulator.sqlite3"
    assert lines[1].strip() == f"database: {expected}"
    assert expected.exists()


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--fault-rate", "2"], "--fault-rate must be a fraction"),
        (["--client", "no-secret"], "no ':' between the client id and its secret"),
        (["--client", "a:b", "--client", "a:c"], "own id"),
        (["--rate-limit", "-1"], "--rate-limit must be >= 0"),
    ],
    ids=["fault-rate", "client", "duplicate-client", "rate-limit"],
)
def test_bad_options_are_refused_with_what_to_fix(args, complaint):
    """An invalid option ends the command with exit code 2 and says what is wrong."""
    completed = subprocess.run(
        [sys.executable, "-m", "cxone_provider", "emulator", "--db", ":memory:", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 2
    assert complaint in plain(completed.stderr)


def test_a_port_in_use_is_refused_with_what_to_do(tmp_path):
    """Listening on a taken port fails at once with a hint, not a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = subprocess.run(
            [sys.executable, "-m", "cxone_provider", "emulator", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            cwd=tmp_path,
        )
    assert completed.returncode == 2
    assert "choose another --port" in plain(completed.stderr)


def test_a_fresh_emulator_survives_concurrent_first_script_checks(start_emulator):
    """Regression: sixteen creates as the first requests used to abort V8 now and then."""
    emulator = start_emulator("--rate-limit", "0")
    token = emulator.token()

    def create(index: int) -> int:
        return httpx.post(
            emulator.base_url + API_ACTIONS,
            json=action_body(f"first_wave_{index}"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        assert list(pool.map(create, range(16))) == [201] * 16
    assert emulator.running


def test_stats_count_requests_by_route_template_and_status(emulator):
    """Counters by method, template and status, plus tokens, actions and writes."""
    with emulator.api() as api:
        created = api.post(API_ACTIONS, json=action_body("counted_one")).json()
        api.get(f"{API_ACTIONS}/{created['id']}")
        api.get(f"{API_ACTIONS}/missing")
        api.put(f"{API_ACTIONS}/{created['id']}", json=action_body("counted_one"))
    stats = emulator.stats()
    assert stats["requests"] == [
        {"method": "GET", "path": API_ACTIONS + "/{id}", "status": 200, "count": 1},
        {"method": "GET", "path": API_ACTIONS + "/{id}", "status": 404, "count": 1},
        {"method": "POST", "path": API_ACTIONS, "status": 201, "count": 1},
        {"method": "POST", "path": TOKEN_PATH, "status": 200, "count": 1},
        {"method": "PUT", "path": API_ACTIONS + "/{id}", "status": 200, "count": 1},
    ]
    assert stats["requests_total"] == 5
    assert stats["token_requests"] == 1
    assert (stats["actions"], stats["api_writes"]) == (1, 2)
    assert (stats["rate_limited"], stats["faults_injected"], stats["drops"]) == (0, 0, 0)


def test_stats_count_accepted_tcp_connections(emulator):
    """Each new connection counts once, however many requests it carries."""
    before = emulator.stats()["connections"]
    token = emulator.token()
    with httpx.Client(
        base_url=emulator.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as pooled:
        for _ in range(5):
            pooled.get(API_ACTIONS)
    for _ in range(3):
        httpx.get(emulator.base_url + API_ACTIONS, headers={"Authorization": f"Bearer {token}"})
    assert emulator.stats()["connections"] - before == 1 + 1 + 3


def test_reset_forgets_actions_keys_tokens_faults_and_counts(emulator):
    """After POST /_emulator/reset the emulator is as new, but the clients still work."""
    with emulator.api() as api:
        api.post(API_ACTIONS, json=action_body("to_forget"), headers={"Idempotency-Key": "k"})
        emulator.add_fault("GET", API_ACTIONS, status=503)
        emulator.reset()
        assert api.get(API_ACTIONS).status_code == 401
    stats = emulator.stats()
    assert (stats["actions"], stats["requests_total"], stats["token_requests"]) == (0, 1, 0)
    with emulator.api() as api:
        assert api.get(API_ACTIONS).json()["entities"] == []
        second = api.post(
            API_ACTIONS, json=action_body("other_body"), headers={"Idempotency-Key": "k"}
        )
        assert second.status_code == 201


def test_a_fault_on_an_unknown_path_is_refused(emulator):
    """Faults name a route template of the API; anything else is a 400 listing them."""
    response = httpx.post(
        emulator.base_url + "/_emulator/faults",
        json={"method": "GET", "path": "/api/v2/dataactions/actions/123", "status": 503},
    )
    assert response.status_code == 400
    assert "{id}" in response.json()["message"]


def test_a_fault_needs_a_status_or_drop(emulator):
    """A fault without an effect is refused."""
    response = httpx.post(
        emulator.base_url + "/_emulator/faults",
        json={"method": "GET", "path": API_ACTIONS},
    )
    assert response.status_code == 400


def test_the_emulator_process_reports_its_settings(emulator):
    """The session emulator runs with the fixture's documented defaults."""
    assert isinstance(emulator, EmulatorProcess)
    assert (emulator.client_id, emulator.client_secret) == ("demo", "demo-secret")
    assert emulator.db_path is None
    assert emulator.base_url == f"http://127.0.0.1:{emulator.port}"


# Issue 11, case 5: bodies are capped before they are read, on every route.

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_a_60_mib_token_request_with_wrong_credentials_is_refused_at_once(start_emulator):
    """401 before the body is read, /healthz stays quick, and the memory stays small."""
    emulator = start_emulator()
    body = b"grant_type=client_credentials&padding=" + b"a" * (60 * 2**20)
    with PeakMemory(emulator.pid) as memory:
        response = httpx.post(
            emulator.base_url + TOKEN_PATH,
            content=body,
            auth=("demo", "wrong-secret"),
            headers=FORM,
            timeout=30.0,
        )
        assert httpx.get(emulator.base_url + "/healthz", timeout=5.0).status_code == 200
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert memory.peak_bytes < 256 * 2**20


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_bodies_over_the_limit_are_413_on_every_route(start_emulator, chunked):
    """Token endpoint, API and control API refuse a 2 MiB body with 413, declared or not."""
    emulator = start_emulator()

    def body() -> bytes | Iterator[bytes]:
        data = b"x" * (2 * 2**20)
        return iter([data[: 2**20], data[2**20 :]]) if chunked else data

    token = httpx.post(
        emulator.base_url + TOKEN_PATH, content=body(), auth=("demo", "demo-secret"), headers=FORM
    )
    assert (token.status_code, token.json()["error"]) == (413, "invalid_request")
    with emulator.api() as api:
        for response in (
            api.post(API_ACTIONS, content=body()),
            api.post("/_emulator/faults", content=body()),
        ):
            assert response.status_code == 413, response.text
            assert response.json()["error"] == "PAYLOAD_TOO_LARGE"
        assert api.post(API_ACTIONS, json=action_body("fits_the_limit")).status_code == 201


# Issue 11, case 6: only requests addressed to the emulator, no cross-site control requests.


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example"])
def test_a_host_the_emulator_does_not_serve_is_misdirected(emulator, host):
    """A DNS-rebinding page sends its own name as Host: 421, on the control API and the API."""
    for method, path in (("POST", "/_emulator/reset"), ("GET", API_ACTIONS), ("GET", "/healthz")):
        response = httpx.request(method, emulator.base_url + path, headers={"Host": host})
        assert response.status_code == 421, (path, response.text)
        assert response.json()["error"] == "MISDIRECTED_REQUEST"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "api.localhost"])
def test_loopback_names_and_addresses_are_served(emulator, host):
    """The addresses and loopback names a user types work, with or without a port."""
    for value in (host, f"{host}:{emulator.port}"):
        response = httpx.get(emulator.base_url + "/healthz", headers={"Host": value})
        assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Content-Type": "text/plain", "Origin": "http://localhost:3000"},
    ],
    ids=["other-origin", "null-origin", "cross-site", "text-plain-post"],
)
def test_a_cross_origin_browser_request_cannot_drive_the_control_api(emulator, headers):
    """403 and the store is untouched; the same request from the page's own origin works."""
    with emulator.api() as api:
        assert api.post(API_ACTIONS, json=action_body("survivor")).status_code == 201
    response = httpx.post(emulator.base_url + "/_emulator/reset", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == "CROSS_ORIGIN_REQUEST"
    assert emulator.stats()["actions"] == 1
    same_origin = httpx.post(
        emulator.base_url + "/_emulator/reset", headers={"Origin": emulator.base_url}
    )
    assert same_origin.status_code == 204


def test_binding_beyond_loopback_warns_loudly_above_all_with_the_demo_client(start_emulator):
    """--host 0.0.0.0 prints a warning about the open control API and the public demo secret."""
    exposed = start_emulator("--host", "0.0.0.0")  # noqa: S104 -- the case under test
    output = "".join(exposed.output)
    assert "WARNING: the emulator listens on 0.0.0.0, beyond this machine" in output
    assert "WARNING: the demo client's secret (demo-secret) is public" in output
    own = start_emulator("--host", "0.0.0.0", "--client", "ops:long-secret")  # noqa: S104
    assert "beyond this machine" in "".join(own.output)
    assert "demo client" not in "".join(own.output)
    assert "WARNING" not in "".join(start_emulator().output)


# Issue 11, case 7: clients from the environment or a file, not the command line.


def test_clients_can_come_from_the_environment_and_stay_off_the_command_line(start_emulator):
    """CXONE_EMULATOR_CLIENTS holds clients separated by spaces; `ps` shows no secret."""
    emulator = start_emulator(
        env={"CXONE_EMULATOR_CLIENTS": "ci:env-secret ops:other-secret:DataActions.Read"},
        client=("ci", "env-secret"),
    )
    assert listing_status(emulator) == 200
    assert granted_scope(emulator, "ops", "other-secret") == "DataActions.Read"
    command_line = Path(f"/proc/{emulator.pid}/cmdline").read_bytes()
    assert b"env-secret" not in command_line
    assert "env-secret" not in "".join(emulator.output)


def test_clients_can_come_from_a_file(start_emulator, tmp_path):
    """--clients-file: one client per line, comments and blank lines ignored."""
    clients = tmp_path / "clients.txt"
    clients.write_text("# CI's client\nci:file-secret\n\nops:ops-secret:DataActions.Read\n")
    emulator = start_emulator("--clients-file", str(clients), client=("ci", "file-secret"))
    assert listing_status(emulator) == 200
    assert granted_scope(emulator, "ops", "ops-secret") == "DataActions.Read"
    assert b"file-secret" not in Path(f"/proc/{emulator.pid}/cmdline").read_bytes()
    with httpx.Client(base_url=emulator.base_url) as plain:
        refused = plain.post(
            TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=("demo", "demo-secret")
        )
    assert refused.status_code == 401


def test_a_clients_file_with_a_bad_line_is_refused_with_its_line(tmp_path):
    """The line number and the rule, never the secret."""
    clients = tmp_path / "clients.txt"
    clients.write_text("ci:good-secret\nops:bad secret!\n")
    ran = subprocess.run(
        [sys.executable, "-m", "cxone_provider", "emulator", "--clients-file", str(clients)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 2
    assert "line 2" in plain(ran.stderr)
    assert "bad secret" not in ran.stderr
