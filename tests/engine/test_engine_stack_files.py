"""The suite does not depend on the working tree's stack files (issue 21, item 8).

The README's quickstart runs `pulumi stack init local` in the checkout, which writes an
`encryptionsalt` made with the reader's passphrase into the tracked
`stacks/Pulumi.local.yaml`; the tests' copies of the project must not inherit it.
"""

from __future__ import annotations

import pytest
from cli_projects import copy_project
from pulumi_cli import REPO, PulumiProject, pulumi_cli


@pytest.mark.engine
def test_a_salt_the_quickstart_left_in_the_checkout_does_not_reach_a_test(tmp_path):
    """A checkout after the quickstart (its salt, another passphrase): the copy still encrypts."""
    reader = PulumiProject.copy_of(REPO, tmp_path / "reader", pulumi=pulumi_cli())
    reader.extra_env["PULUMI_CONFIG_PASSPHRASE"] = "the reader's own passphrase"
    reader.run("stack", "init", "local")
    assert "encryptionsalt:" in (reader.root / "stacks" / "Pulumi.local.yaml").read_text()

    project = PulumiProject.copy_of(reader.root, tmp_path / "test", pulumi=pulumi_cli())
    project.run("stack", "init", "local")
    project.run("config", "set", "--secret", "cxone:clientSecret", "demo-secret")
    assert "demo-secret" not in (project.root / "stacks" / "Pulumi.local.yaml").read_text()
    assert project.run("config", "get", "cxone:clientSecret").stdout.strip() == "demo-secret"


def test_the_command_line_tests_copy_the_stack_files_without_a_salt(tmp_path, monkeypatch):
    """`cli_projects.copy_project` normalizes the copy the same way."""
    reader = tmp_path / "reader"
    reader.mkdir()
    checkout = copy_project(reader)
    local = checkout / "stacks" / "Pulumi.local.yaml"
    local.write_text("encryptionsalt: v1:abc:def\n" + local.read_text())
    monkeypatch.setattr("cli_projects.REPO", checkout)
    monkeypatch.setattr("cli_projects.STACKS", checkout / "stacks")
    copied = copy_project(tmp_path)
    text = (copied / "stacks" / "Pulumi.local.yaml").read_text()
    assert "encryptionsalt" not in text
    assert "cxone:baseUrl" in text
