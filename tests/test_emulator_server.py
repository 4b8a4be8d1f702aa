"""`cxone emulator` as a process: start, options, persistence, signals, control API."""

from __future__ import annotations

import concurrent.futures
import signal
import socket
import subprocess
import sys

import httpx
import pytest
from emulator_process import API_ACTIONS, TOKEN_PATH, EmulatorProcess, action_body


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
    assert emulator.token()


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
        (["--client", "no-secret"], "client secret"),
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
