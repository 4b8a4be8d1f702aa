"""Stacks deployed by earlier releases, taken over by today's code.

Each folder holds what a release left behind: its program, the `pulumi stack export` of its
state and the tenant's actions as the emulator's SQL; only the tenant's address is filled in
here. `stack_before_layers/` (commit 1e90158, before issue 14): a program that imports
`cxone_provider.catalog`, every provider pickled as `cxone_provider.provider`.
`stack_release_0_1/` (release 0.1.0, commit 2613b48, before issue 19): every provider stored
as a secret, a catalog and a plain DataAction.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from pulumi_cli import PulumiProject, pulumi_cli

from cxone_provider.deploy.properties import PROVIDER_KEY, TYPE_TOKEN

HERE = Path(__file__).resolve().parent
BEFORE_LAYERS = HERE / "stack_before_layers"
RELEASE_0_1 = HERE / "stack_release_0_1"
ADDRESS = "BASE_URL"


def restored(saved: Path, tmp_path: Path, start_emulator) -> tuple[PulumiProject, Any]:
    """The saved tenant in an emulator, the saved program, its state imported into `local`."""
    database = tmp_path / "tenant.sqlite3"
    with sqlite3.connect(database) as tenant:
        tenant.executescript((saved / "tenant.sql").read_text(encoding="utf-8"))
    tenant.close()
    emulator = start_emulator(db_path=database)
    root = tmp_path / "project"
    shutil.copytree(saved, root, ignore=shutil.ignore_patterns("*.json", "*.sql"))
    stack_file = root / "Pulumi.local.yaml"
    stack_file.write_text(stack_file.read_text().replace(ADDRESS, emulator.base_url))
    state = tmp_path / "state.json"
    state.write_text((saved / "state.json").read_text().replace(ADDRESS, emulator.base_url))
    project = PulumiProject(root, tmp_path / "pulumi", pulumi=pulumi_cli())
    project.run("stack", "init", "local")
    project.run("stack", "import", "--file", str(state))
    return project, emulator


def provider_pickles(project: PulumiProject) -> dict[str, Any]:
    """Each action's recorded `__provider` output, by name: a secret's envelope or the pickle."""
    exported = project.run("stack", "export", "--show-secrets").json()
    return {
        resource["outputs"]["name"]: resource["outputs"][PROVIDER_KEY]
        for resource in exported["deployment"]["resources"]
        if resource["type"] == TYPE_TOKEN
    }


def test_a_stack_deployed_before_the_layers_refreshes_previews_and_destroys_unchanged(
    tmp_path, start_emulator
):
    """Refresh and up change nothing, destroy deletes every action: the old state loads."""
    project, emulator = restored(BEFORE_LAYERS, tmp_path, start_emulator)
    ids = project.recorded_ids()
    assert sorted(ids) == ["caller_key", "normalize_phone"]

    project.run("refresh", "--yes", "--expect-no-changes")
    project.run("preview", "--expect-no-changes")
    project.up("--expect-no-changes")
    assert project.recorded_ids() == ids
    assert emulator.stats()["api_writes"] == 0

    secrets = [recorded["plaintext"] for recorded in provider_pickles(project).values()]
    pickles = [base64.b64decode(json.loads(secret)) for secret in secrets]
    assert len(pickles) == 2
    assert all(b"cxone_provider.provider\x94" in pickled for pickled in pickles)
    project.run("destroy", "--yes")  # each delete unpickles the old provider
    assert emulator.stats()["actions"] == 0


def test_a_stack_of_release_0_1_previews_refreshes_diffs_and_destroys_with_todays_provider(
    tmp_path, start_emulator
):
    """The secret provider pickles of 0.1.0 load; nothing changes; an edit still shows its diff."""
    project, emulator = restored(RELEASE_0_1, tmp_path, start_emulator)
    ids = project.recorded_ids()
    assert sorted(ids) == ["greeting", "lead_tier", "normalize_phone"]
    assert all(isinstance(recorded, dict) for recorded in provider_pickles(project).values())

    project.run("preview", "--expect-no-changes")
    project.run("refresh", "--yes", "--expect-no-changes")
    project.up("--expect-no-changes")
    assert project.recorded_ids() == ids
    assert emulator.stats()["api_writes"] == 0

    project.edit("__main__.py", '"Hello, "', '"Hi, "')
    project.edit("__main__.py", 'expected_output="Hello, world"', 'expected_output="Hi, world"')
    diff = project.run("preview", "--diff").output
    assert '- function main(context) { return "Hello, " + context.input.who; }' in diff
    assert '+ function main(context) { return "Hi, " + context.input.who; }' in diff
    project.up()
    pickles = provider_pickles(project)  # the update records today's plain pickle
    assert isinstance(pickles.pop("greeting"), str)
    assert all(isinstance(recorded, dict) for recorded in pickles.values())
    project.run("destroy", "--yes")
    assert emulator.stats()["actions"] == 0
