"""`cxone demo`: the deployment with the real Pulumi CLI, and everything around it.

Without the CLI: the missing CLI is detected quickly (an install attempt is bounded), reported
in one paragraph with the install commands, exit code 2. The emulator the demo starts listens
on a free port and is gone afterwards.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cli_projects import ACTIONS, REPO, cxone
from pulumi_cli import pulumi_cli

from cxone_provider.cli import automation as demo

INSTALL_COMMANDS = (
    "curl -fsSL https://get.pulumi.com | sh",
    "brew install pulumi/tap/pulumi",
    "winget install pulumi",
)


@pytest.fixture
def no_pulumi_env(tmp_path):
    """PATH without pulumi, a fresh HOME, and HTTPS through a closed port (no download)."""
    empty = tmp_path / "bin"
    empty.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    closed = "http://127.0.0.1:9"
    return {
        "PATH": str(empty),
        "HOME": str(home),
        "https_proxy": closed,
        "HTTPS_PROXY": closed,
        "no_proxy": "",
        "NO_PROXY": "",
    }


def test_a_missing_pulumi_cli_is_one_paragraph_with_the_install_command(no_pulumi_env):
    """`python -m cxone_provider demo` without pulumi: the install attempt fails fast, exit 2."""
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "cxone_provider", "demo"],
        env={**os.environ, **no_pulumi_env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    assert time.monotonic() - started < 60
    assert completed.stdout == ""
    paragraph = completed.stderr.strip()
    assert "\n" not in paragraph
    assert paragraph.startswith(
        "error: cxone demo deploys with `pulumi up`, which needs the Pulumi CLI"
    )
    assert "`pulumi` is not on PATH and installing it failed" in paragraph
    for command in INSTALL_COMMANDS:
        assert command in paragraph
    assert not (Path(no_pulumi_env["HOME"]) / ".pulumi").exists()


def test_without_installing_the_json_answer_names_the_missing_cli(no_pulumi_env):
    """--no-install --json: exit 2, error type PulumiCliMissing, the same advice."""
    ran = cxone("demo", "--no-install", "--json", env=no_pulumi_env)
    assert ran.exit_code == 2
    assert ran.json["command"] == "demo"
    assert ran.json["ok"] is False
    assert ran.json["error"]["type"] == "PulumiCliMissing"
    message = ran.json["error"]["message"]
    assert "`pulumi` is not on PATH and installing it was not allowed" in message
    for command in INSTALL_COMMANDS:
        assert command in message


def test_an_install_that_takes_too_long_is_abandoned(no_pulumi_env, monkeypatch):
    """The install runs under a time limit: past it, the lookup gives up and says so."""
    for key, value in no_pulumi_env.items():
        monkeypatch.setenv(key, value)
    found = demo.find_pulumi(install=True, install_timeout_s=0.05)
    assert found.command is None
    assert found.reason == "`pulumi` is not on PATH and installing it did not finish within 0.05 s"


def test_the_demo_emulator_listens_on_a_free_port_and_is_stopped_after():
    """running_emulator: a healthy emulator inside the block, nothing listening after it."""
    with demo.running_emulator() as base_url:
        port = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", base_url)
        assert port is not None, base_url
        assert 1 <= int(port[1]) <= 65535
        assert httpx.get(f"{base_url}/healthz", timeout=5).json() == {"status": "ok"}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/healthz", timeout=5)


@pytest.mark.engine
def test_the_demo_deploys_the_example_with_the_real_engine(tmp_path):
    """`cxone demo --json` with the Pulumi CLI: seven actions, each tested, exit 0."""
    pulumi = pulumi_cli()
    completed = subprocess.run(
        [sys.executable, "-m", "cxone_provider", "demo", "--json", "--program", str(REPO)],
        env={**os.environ, "PATH": f"{Path(pulumi).parent}{os.pathsep}{os.environ['PATH']}"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    answer = json.loads(completed.stdout)
    assert answer["ok"] is True
    assert sorted(action["name"] for action in answer["actions"]) == sorted(ACTIONS)
    assert {action["test_status"] for action in answer["actions"]} == {"SUCCESS"}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{answer['emulator']}/healthz", timeout=5)


def test_the_demo_section_names_the_tests_that_run_its_deployment():
    """docs/cli.md no longer says the deployment step was never run: tests run it."""
    section = (
        (REPO / "docs" / "cli.md").read_text().split("## `cxone demo`", 1)[1].split("\n## ")[0]
    )
    assert "has not been run" not in section
    assert "tests/cli/test_cli_demo.py" in section
    assert "tests/release/test_release.py" in section
