"""A stack deployed by the release before the layers (issue 14), taken over by today's code.

`stack_before_layers/` holds what that release (commit 1e90158) left behind: its program
(which imports `cxone_provider.catalog`, as `cxone export` wrote then), the `pulumi stack
export` of its state (every DataAction's provider pickled as `cxone_provider.provider`) and
the tenant's actions as the emulator's SQL. Only the tenant's address is filled in here.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
from pathlib import Path

from pulumi_cli import PulumiProject, pulumi_cli

from cxone_provider.deploy.properties import PROVIDER_KEY, TYPE_TOKEN

BEFORE_LAYERS = Path(__file__).resolve().parent / "stack_before_layers"
ADDRESS = "BASE_URL"


def test_a_stack_deployed_before_the_layers_refreshes_previews_and_destroys_unchanged(
    tmp_path, start_emulator
):
    """Refresh and up change nothing, destroy deletes every action: the old state loads."""
    database = tmp_path / "tenant.sqlite3"
    with sqlite3.connect(database) as tenant:
        tenant.executescript((BEFORE_LAYERS / "tenant.sql").read_text(encoding="utf-8"))
    tenant.close()
    emulator = start_emulator(db_path=database)
    root = tmp_path / "project"
    shutil.copytree(BEFORE_LAYERS, root, ignore=shutil.ignore_patterns("*.json", "*.sql"))
    stack_file = root / "Pulumi.local.yaml"
    stack_file.write_text(stack_file.read_text().replace(ADDRESS, emulator.base_url))
    state = tmp_path / "state.json"
    state.write_text((BEFORE_LAYERS / "state.json").read_text().replace(ADDRESS, emulator.base_url))
    project = PulumiProject(root, tmp_path / "pulumi", pulumi=pulumi_cli())
    project.run("stack", "init", "local")
    project.run("stack", "import", "--file", str(state))
    ids = project.recorded_ids()
    assert sorted(ids) == ["caller_key", "normalize_phone"]

    project.run("refresh", "--yes", "--expect-no-changes")
    project.run("preview", "--expect-no-changes")
    project.up("--expect-no-changes")
    assert project.recorded_ids() == ids
    assert emulator.stats()["api_writes"] == 0

    exported = project.run("stack", "export", "--show-secrets").json()  # the pickle is a secret
    secrets = [
        resource["outputs"][PROVIDER_KEY]["plaintext"]
        for resource in exported["deployment"]["resources"]
        if resource["type"] == TYPE_TOKEN
    ]
    pickles = [base64.b64decode(json.loads(secret)) for secret in secrets]
    assert len(pickles) == 2
    assert all(b"cxone_provider.provider\x94" in pickled for pickled in pickles)
    project.run("destroy", "--yes")  # each delete unpickles the old provider
    assert emulator.stats()["actions"] == 0
