"""The repository's own project under the real `pulumi` CLI, exactly as the README runs it.

`Pulumi.yaml` at the top with `main: stacks/`, stack `local` from `stacks/Pulumi.local.yaml`
(only the emulator's port differs), the program and the dynamic provider in the Python on PATH
(an activated virtualenv). Each test starts from a fresh copy, a fresh file backend and a
reset emulator.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from cli_projects import ACTIONS
from pulumi_cli import REPO, PulumiProject, pulumi_cli

pytestmark = pytest.mark.engine


def api_writes(emulator) -> int:
    return int(emulator.stats()["api_writes"])


def test_quickstart_previews_deploys_and_then_changes_nothing(engine_project, emulator):
    """Init, preview (7 creates, no API call), up, outputs, then a second up with no write."""
    project = engine_project
    project.run("stack", "init", "local")

    preview = project.run("preview", "--json")
    steps = preview.json()["steps"]
    creates = [step["urn"].rsplit("::", 1)[1] for step in steps if step["op"] == "create"]
    assert sorted(creates) == sorted([*ACTIONS, "cxone-actions-local"])
    assert emulator.stats()["requests_total"] == 0
    assert f"the plan: + {len(creates)} to create" in (REPO / "README.md").read_text()

    project.up()
    outputs = project.outputs()
    assert sorted(outputs) == sorted(ACTIONS)
    assert {output["test_status"] for output in outputs.values()} == {"SUCCESS"}
    assert {output["version"] for output in outputs.values()} == {1}
    with emulator.api() as api:
        listed = api.get("/api/v2/dataactions/actions").json()["entities"]
    assert {action["name"]: action["id"] for action in listed} == {
        name: output["id"] for name, output in outputs.items()
    }

    writes = api_writes(emulator)
    again = project.run("up", "--yes", "--json")
    assert again.changes() == {"same": len(ACTIONS) + 1}
    assert api_writes(emulator) == writes
    project.run("preview", "--expect-no-changes")
    assert api_writes(emulator) == writes


def test_pulumi_install_installs_this_checkout_into_the_python_on_path(tmp_path):
    """`pulumi install`, no virtualenv: pip tools upgraded, then `-e ..` in the Python on PATH.

    As Pulumi's own language host does (issue 21): pip, setuptools and wheel first.
    """
    project = PulumiProject.copy_of(REPO, tmp_path, pulumi=pulumi_cli())
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, project.root / name)
    for folder in ("cxone_provider", "docs"):  # docs: the wheel carries them (force-include)
        shutil.copytree(
            REPO / folder, project.root / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # This test environment's packages, so that pip has nothing to download.
    (Path(site) / "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    project.extra_env = {
        "PULUMI_PYTHON_CMD": str(python),
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # pip reads this flag inverted: 0 turns isolation off
    }
    installed = project.run("install")
    assert "Updating pip, setuptools, and wheel" in installed.output
    [record] = Path(site).glob("cxone_provider-*.dist-info/direct_url.json")
    origin = json.loads(record.read_text())
    assert origin["url"] == project.root.as_uri()
    assert origin["dir_info"] == {"editable": True}
