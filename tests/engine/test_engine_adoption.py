"""Bringing existing actions under Pulumi with the real engine: `cxone export`, then `pulumi up`.

The engine's own import (`pulumi import`, the `import_` option) cannot load a dynamic provider
(pulumi/pulumi#16175); these tests also keep the README's word on that true.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_projects import ACTIONS, cxone, deploy_example, emulator_env
from pulumi_cli import TYPE_TOKEN, PulumiProject, pulumi_cli

from cxone_provider.api.client import CxoneClient

pytestmark = pytest.mark.engine


@pytest.fixture
def console_built(emulator):
    """The example's seven actions, made outside Pulumi; name -> id."""
    with CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as api:
        return deploy_example(api)


def exported_project(tmp_path: Path, emulator) -> PulumiProject:
    """`cxone export` of the tenant, set up as its README says (a .venv, a stack, config)."""
    out = tmp_path / "exported"
    ran = cxone("export", "--out", out, env=emulator_env(emulator))
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    (out / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    project = PulumiProject(out, tmp_path / "state", pulumi=pulumi_cli())
    project.run("stack", "init", "dev")
    project.set_config({"cxone:baseUrl": emulator.base_url, "cxone:clientId": emulator.client_id})
    project.set_config({"cxone:clientSecret": emulator.client_secret}, secret=True)
    return project


def test_an_exported_tenant_is_adopted_by_the_first_up_without_a_write(
    tmp_path, emulator, console_built
):
    """Every action recorded with its existing id; no POST or PUT; then nothing to change.

    A second export from that project names every action as managed by its stack `dev`.
    """
    project = exported_project(tmp_path, emulator)
    writes = emulator.stats()["api_writes"]
    project.up()
    assert emulator.stats()["api_writes"] == writes
    recorded = {
        resource["outputs"]["name"]: resource["id"] for resource in project.resources().values()
    }
    assert recorded == console_built
    assert sorted(project.outputs()) == sorted(ACTIONS)
    project.run("preview", "--expect-no-changes")

    again = cxone(
        "export",
        "--out",
        tmp_path / "again",
        "--program",
        project.root,
        "--json",
        env={**emulator_env(emulator), **project.env},
    )
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.json["managed_elsewhere"] == dict.fromkeys(ACTIONS, "stack dev")


def test_pulumi_import_cannot_load_the_dynamic_provider(tmp_path, emulator, console_built):
    """`pulumi import TYPE NAME ID` fails in the SDK (KeyError '__provider'); nothing changes."""
    project = exported_project(tmp_path, emulator)
    writes = emulator.stats()["api_writes"]
    imported = project.run(
        "import",
        TYPE_TOKEN,
        "normalize_phone",
        console_built["normalize_phone"],
        "--yes",
        check=False,
    )
    assert imported.returncode != 0
    assert "KeyError: '__provider'" in imported.output
    assert project.resources() == {}
    assert emulator.stats()["api_writes"] == writes


def test_the_import_option_cannot_load_the_dynamic_provider(tmp_path, emulator, console_built):
    """`opts=ResourceOptions(import_=id)` fails the same way; adopt=True is the way instead."""
    project = exported_project(tmp_path, emulator)
    program = project.root / "__main__.py"
    text = program.read_text()
    program.write_text(
        text.replace(
            '        "normalize_phone",\n',
            '        "normalize_phone",\n'
            f'        opts=pulumi.ResourceOptions(import_="{console_built["normalize_phone"]}"),\n',
            1,
        )
    )
    failed = project.up(check=False)
    assert failed.returncode != 0
    assert "KeyError: '__provider'" in failed.output
