"""`cxone init`: a project of one's own that validates and tests as written, never overwriting.

The real engine's `pulumi up` of such a project, from an installed wheel, is in
tests/release/test_release.py.
"""

from __future__ import annotations

import re
import uuid

import yaml
from cli_projects import REPO, cxone, emulator_env

from cxone_provider.api.client import CxoneClient
from cxone_provider.api.models import validate_spec
from cxone_provider.cli.init import TEMPLATE, WRITTEN
from cxone_provider.deploy.properties import default_description


def test_init_writes_a_project_that_validates_and_passes_its_test(tmp_path):
    """Every file is written; `validate --stack local` and `test greet_caller` pass in it."""
    folder = tmp_path / "my-actions"
    ran = cxone("init", folder, "--json")
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    assert ran.json["project"] == "my-actions"
    assert sorted(ran.json["files"]) == sorted(WRITTEN)
    for path in WRITTEN:
        assert (folder / path).is_file(), path
    manifest = yaml.safe_load((folder / "Pulumi.yaml").read_text())
    assert manifest["name"] == "my-actions"
    assert "main" not in manifest  # the program at the root: plugin and program agree on .venv
    assert manifest["runtime"]["options"]["virtualenv"] == ".venv"
    local = yaml.safe_load((folder / "Pulumi.local.yaml").read_text())["config"]
    assert local["cxone:baseUrl"] == "http://127.0.0.1:8765"

    validated = cxone("validate", folder, "--stack", "local", "--json")
    assert validated.exit_code == 0, validated.stdout
    assert [a["name"] for a in validated.json["program"]["actions"]] == ["greet_caller"]
    tested = cxone("test", "greet_caller", "--program", folder, "--json")
    assert tested.exit_code == 0, tested.stdout
    assert tested.json["expected_output"]["matched"] is True


def test_init_overwrites_nothing_and_writes_nothing_when_a_file_is_in_the_way(tmp_path):
    """An existing Pulumi.yaml: exit 2, the file untouched, no other file written."""
    (tmp_path / "Pulumi.yaml").write_text("name: mine\n")
    ran = cxone("init", tmp_path)
    assert ran.exit_code == 2
    assert "already holds Pulumi.yaml" in ran.stderr
    assert (tmp_path / "Pulumi.yaml").read_text() == "name: mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.yaml"]


def test_init_accepts_a_folder_that_holds_only_its_virtualenv(tmp_path):
    """`python3 -m venv .venv` first, then `cxone init .`: the .venv is no obstacle."""
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    ran = cxone("init", tmp_path, "--name", "crm-actions")
    assert ran.exit_code == 0, ran.stderr
    assert yaml.safe_load((tmp_path / "Pulumi.yaml").read_text())["name"] == "crm-actions"
    assert "pip install -r requirements.txt" in ran.stdout  # this cxone is not that .venv's


def test_the_ci_workflow_of_the_guide_is_the_one_init_writes():
    """docs/provider.md shows .github/workflows/data-actions.yml of `cxone init`, verbatim."""
    guide = (REPO / "docs" / "provider.md").read_text()
    blocks = re.findall(r"^```yaml\n(.*?)^```$", guide, flags=re.MULTILINE | re.DOTALL)
    workflow = (TEMPLATE / "data-actions.yml").read_text()
    assert workflow in blocks


def test_export_names_the_actions_a_pulumi_stack_probably_manages(tmp_path, emulator):
    """An action with the description the provider gives is named in a note and in --json.

    The stacks' own record is read with the real engine in tests/engine/test_engine_adoption.py.
    """
    with CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as api:
        for name, description in (("greet_caller", None), ("by_hand", "Made in the console")):
            spec = validate_spec(
                {
                    "name": name,
                    "description": description or default_description(name),
                    "script": {"content": "function main(c) { return c.input; }"},
                }
            )
            api.create_action(spec, idempotency_key=str(uuid.uuid4()))
    out = tmp_path / "adopted"
    ran = cxone("export", "--out", out, env=emulator_env(emulator))
    assert ran.exit_code == 0, ran.stderr
    note = " ".join(ran.stderr.split())
    assert "1 of the exported actions are already managed by Pulumi" in note
    assert "greet_caller (the description Pulumi gives)" in note
    as_json = cxone("export", "--out", tmp_path / "again", "--json", env=emulator_env(emulator))
    assert as_json.json["managed_elsewhere"] == {"greet_caller": "the description Pulumi gives"}
