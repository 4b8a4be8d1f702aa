"""What a failed `pulumi up` prints, with the real engine: our message once, few frames (issue 21).

One small project and one stack go through every failure a user meets, one `pulumi up` each
(two at once where they can share one): a misspelt dependency (found by the preview, before
any API call), a failing sandbox test with a version changed outside Pulumi, a missing client
secret, an unreachable tenant; then a program whose catalog has a typo, under `preview`.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi_cli import Completed, PulumiProject, pulumi_cli

pytestmark = pytest.mark.engine

MAX_FRAMES = 6
ACTIONS = "/api/v2/dataactions/actions"
PROGRAM = """
from cxone_provider import DataAction, DataActionArgs

def action(name, script, expected, **more):
    return DataAction(name, DataActionArgs(
        name=name, script="function main(context) { " + script + " }",
        expected_output=expected, **more))

kept = action("kept", "return %(kept)s;", %(kept)s)
%(more)s
"""
NOISE = ("Task was destroyed but it is pending", "stamina", "Traceback (most recent call last)")


def write_program(project: PulumiProject, *, kept: int = 1, more: str = "") -> None:
    (project.root / "__main__.py").write_text(PROGRAM % {"kept": kept, "more": more})


def frames(completed: Completed) -> int:
    return len(re.findall(r'^\s*File "', completed.output, flags=re.MULTILINE))


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A port that refuses connections while in use: bound, never listening, held till the end.

    A port bound and released at once could be taken by another process (the suite starts
    emulators and plugins on ephemeral ports) before `pulumi up` connects to it.
    """
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


def assert_failed_briefly(
    completed: Completed, *messages: str, max_frames: int = MAX_FRAMES
) -> None:
    """Failed; each message once in the diagnostics; few frames; none of the old noise.

    The progress lines above the diagnostics show an error's first line (a check failure is
    one line): our provider's errors open with a headline for them.
    """
    assert completed.returncode != 0, completed.output
    diagnostics = completed.output.partition("Diagnostics:")[2]
    for message in messages:
        assert diagnostics.count(message) == 1, (message, completed.output)
    assert frames(completed) <= max_frames, completed.output
    noise = [text for text in NOISE[:2] if text in completed.output]
    assert noise == [], completed.output


@pytest.fixture
def project(tmp_path: Path, emulator) -> PulumiProject:
    """A one-action project of its own, on the emulator, deployed once."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.yaml").write_text(
        "name: errors\nruntime:\n  name: python\n  options:\n    toolchain: pip\n"
    )
    project = PulumiProject(root, tmp_path / "state", pulumi=pulumi_cli())
    project.run("stack", "init", "errors")
    project.set_config({"cxone:baseUrl": emulator.base_url, "cxone:clientId": emulator.client_id})
    project.set_config({"cxone:clientSecret": emulator.client_secret}, secret=True)
    write_program(project)
    project.up()
    return project


def test_failed_ups_print_our_message_once_and_few_frames(project, emulator):
    """Typo (in preview), failed test + VERSION_MISMATCH, missing secret, unreachable tenant."""
    write_program(project, more='action("typo", "return 1;", 1, dependencies=["kep"])')
    writes = emulator.stats()["api_writes"]
    typo = project.run("up", "--yes", check=False)
    assert_failed_briefly(typo, "unknown dependency 'kep'", max_frames=0)
    assert emulator.stats()["api_writes"] == writes  # caught by the preview's check

    with emulator.api() as api:
        [kept] = api.get(ACTIONS, params={"name": "kept"}).json()["entities"]
        body = {key: kept[key] for key in ("name", "script", "dependencies", "enabled", "trigger")}
        api.put(f"{ACTIONS}/{kept['id']}", json={**body, "description": "console"})
    write_program(project, kept=2, more='action("failing", "return 1;", 2)')
    failed = project.up(check=False)
    assert_failed_briefly(failed, "412 VERSION_MISMATCH", "sandbox test OUTPUT_MISMATCH")
    assert failed.output.count("pulumi refresh") == 1
    assert "PreconditionFailedError: the update of Data Action 'kept' failed:" in failed.output

    project.run("refresh", "--yes")
    project.run("config", "rm", "cxone:clientSecret")
    write_program(project, kept=3)
    unconfigured = project.up(check=False)
    assert_failed_briefly(unconfigured, "The cxone provider is not configured")

    project.set_config({"cxone:clientSecret": emulator.client_secret}, secret=True)
    with refusing_port() as port:
        project.set_config({"cxone:baseUrl": f"http://127.0.0.1:{port}"})
        unreachable = project.up(check=False)
    assert_failed_briefly(unreachable, "Connection refused")
    assert "retry" not in unreachable.output

    catalog = (
        "from cxone_provider import ActionCatalog\n"
        "catalog = ActionCatalog()\n"
        "catalog.add('a', script='function main(context) { return 1; }')\n"
        "catalog.add('b', script='function main(context) { return 1; }', dependencies=['aa'])\n"
        "catalog.register()\n"
    )
    (project.root / "__main__.py").write_text(catalog)
    graph = project.run("preview", check=False)
    assert_failed_briefly(graph, "'aa' is neither declared", max_frames=2)
    assert "run_program.py" not in graph.output
    assert "runpy" not in graph.output


def test_a_python_without_the_sdk_is_told_to_activate_the_virtualenv(tmp_path):
    """Issue 21: the message of a run outside the project's virtualenv says how to enter it."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: bare\nruntime: python\n")
    (root / "__main__.py").write_text("")
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    project = PulumiProject(root, tmp_path / "state", pulumi=pulumi_cli())
    project.extra_env = {"PULUMI_PYTHON_CMD": str(bare / "bin" / "python")}
    project.run("stack", "init", "bare")
    preview = project.run("preview", check=False)
    assert preview.returncode != 0
    assert "Activate the project's virtualenv" in preview.output
    assert "`. .venv/bin/activate`" in preview.output
