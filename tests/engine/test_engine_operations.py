"""What the engine owns beyond `up`, under the real engine.

Refresh and drift, destroy, rotated credentials, stack config and secrets, several stacks of
one program, a renamed resource, the audit log's path.
"""

from __future__ import annotations

import json

import pytest
from cli_projects import ACTIONS
from emulator_process import API_ACTIONS
from pulumi_cli import REPO, PulumiProject, ci_stack, local_stack_on, pulumi_cli

pytestmark = pytest.mark.engine

PROGRAM = "stacks/__main__.py"
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def tenant(emulator) -> dict[str, dict]:
    """The tenant's actions by name."""
    with emulator.api() as api:
        listed = api.get(API_ACTIONS, params={"pageSize": 500}).json()
    return {action["name"]: action for action in listed["entities"]}


def declared_script(project: PulumiProject, name: str) -> str:
    return (project.root / "stacks" / "actions" / f"{name}.js").read_text(encoding="utf-8")


def test_refresh_shows_drift_and_up_converges(deployed_project, emulator):
    """A console edit and a console delete: refresh records both, up restores the program's."""
    project = deployed_project
    actions = tenant(emulator)
    with emulator.api() as api:
        edited = {
            key: actions["business_hours"][key]
            for key in ("name", "type", "trigger", "enabled", "dependencies")
        }
        edited["description"] = "edited in the console"
        edited["script"] = {"language": "JavaScript", "content": "function main(c) { return 1; }"}
        api.put(f"{API_ACTIONS}/{actions['business_hours']['id']}", json=edited).raise_for_status()
        api.delete(f"{API_ACTIONS}/{actions['crm_match_key']['id']}").raise_for_status()

    refreshed = project.run("refresh", "--yes", "--json")
    assert refreshed.changes() == {"same": len(ACTIONS) - 1, "update": 1, "delete": 1}
    state = project.resources()
    assert "crm_match_key" not in state
    assert state["business_hours"]["outputs"]["description"] == "edited in the console"
    assert state["business_hours"]["inputs"]["script"] == "function main(c) { return 1; }"

    preview = project.run("preview", "--json").json()
    ops = {step["urn"].rsplit("::", 1)[1]: step["op"] for step in preview["steps"]}
    assert ops["business_hours"] == "update"
    assert ops["crm_match_key"] == "create"
    project.up()
    converged = tenant(emulator)
    assert sorted(converged) == sorted(ACTIONS)
    assert converged["business_hours"]["script"]["content"] == declared_script(
        project, "business_hours"
    )
    assert converged["business_hours"]["version"] == 3
    project.run("preview", "--expect-no-changes")


def test_destroy_removes_every_action_callers_first(deployed_project, emulator):
    """`pulumi destroy`: the tenant is empty (no ACTION_IN_USE), the stack has no resources."""
    project = deployed_project
    project.run("destroy", "--yes")
    assert tenant(emulator) == {}
    assert project.resources() == {}


def test_after_rotating_the_secret_refresh_and_destroy_need_run_program(start_emulator, tmp_path):
    """Refresh and destroy use the recorded secret (advice: --run-program), which fixes it."""
    emulator = start_emulator("--client", "demo:demo-secret")
    project = PulumiProject.copy_of(REPO, tmp_path, pulumi=pulumi_cli())
    local_stack_on(project, emulator.base_url)
    project.run("stack", "init", "local")
    project.up()

    emulator.cli_args = ("--client", "demo:rotated-secret")
    emulator.client_secret = "rotated-secret"
    emulator.restart()
    project.run("config", "set", "--secret", "cxone:clientSecret", "rotated-secret")

    for command in ("refresh", "destroy"):
        stale = project.run(command, "--yes", check=False)
        assert stale.returncode != 0
        assert "invalid_client" in stale.output
        assert "--run-program" in stale.output
        assert "rotated-secret" not in stale.output
    assert sorted(tenant(emulator)) == sorted(ACTIONS)

    project.run("refresh", "--yes", "--run-program")  # records the config of today
    project.run("destroy", "--yes")
    assert tenant(emulator) == {}


def test_two_stacks_of_one_program_keep_their_secrets_encrypted(start_emulator, tmp_path):
    """Two emulators, two clients, --secret: no secret in `stack export`, the backend or home."""
    local = start_emulator("--client", "local-client:local-secret-5e1f")
    staging = start_emulator("--client", "staging-client:staging-secret-9c3a")
    project = PulumiProject.copy_of(REPO, tmp_path, pulumi=pulumi_cli())
    (project.root / "stacks" / "Pulumi.local.yaml").unlink()
    secrets = {}
    for stack, emulator in (("local", local), ("staging", staging)):
        project.run("stack", "init", stack)
        project.set_config(
            {"cxone:baseUrl": emulator.base_url, "cxone:clientId": emulator.client_id}
        )
        project.set_config({"cxone:clientSecret": emulator.client_secret}, secret=True)
        secrets[stack] = emulator.client_secret
        stack_file = (project.root / "stacks" / f"Pulumi.{stack}.yaml").read_text()
        assert "cxone:clientSecret:\n    secure:" in stack_file
        assert emulator.client_secret not in stack_file
        project.up()
        assert sorted(tenant(emulator)) == sorted(ACTIONS)

    for stack in secrets:
        project.run("stack", "select", stack)
        exported = json.dumps(project.export())
        assert all(secret not in exported for secret in secrets.values())
    for path in [*project.backend.rglob("*"), *project.home.rglob("*")]:
        if path.is_file():
            text = path.read_bytes()
            assert all(secret.encode() not in text for secret in secrets.values()), path


def test_a_plain_text_config_value_is_plain_text_in_the_state(deployed_project):
    """What the README warns about: a value set without --secret is readable in the state."""
    project = deployed_project
    project.set_config({"cxone:webhookUrl": "https://hooks.example.com/cxone?token=t0k3n"})
    project.run("up", "--yes", "--skip-preview")
    assert "t0k3n" in json.dumps(project.export())


def test_renaming_a_resource_with_an_alias_changes_nothing(deployed_project, emulator):
    """A DataAction's Pulumi resource renamed with aliases: no create, no delete, no write."""
    project = deployed_project
    project.edit(
        "stacks/__main__.py",
        "    catalog = ActionCatalog(base_dir=Path(__file__).resolve().parent)\n",
        "    catalog = ActionCatalog(base_dir=Path(__file__).resolve().parent)\n"
        "    from cxone_provider import DataAction, DataActionArgs\n\n"
        '    DataAction("greeter", DataActionArgs(name="greeting", script="function main(c) '
        '{ return 1; }"))\n',
    )
    project.up()
    writes = emulator.stats()["api_writes"]
    project.edit(
        "stacks/__main__.py",
        'DataAction("greeter", DataActionArgs(name="greeting", script="function main(c) '
        '{ return 1; }"))',
        'DataAction("welcome", DataActionArgs(name="greeting", script="function main(c) '
        '{ return 1; }"), opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="greeter")]))',
    )
    renamed = project.run("up", "--yes", "--json")
    assert renamed.changes() == {"same": len(ACTIONS) + 2}
    assert emulator.stats()["api_writes"] == writes


def test_renaming_a_resource_without_an_alias_says_to_add_one(deployed_project, emulator):
    """Without aliases the engine creates a new resource: NAME_CONFLICT naming aliases."""
    project = deployed_project
    declaration = (
        'DataAction("{}", DataActionArgs(name="greeting", script="function main(c) '
        '{{ return 1; }}"))'
    )
    project.edit(
        "stacks/__main__.py",
        "    catalog = ActionCatalog(base_dir=Path(__file__).resolve().parent)\n",
        "    catalog = ActionCatalog(base_dir=Path(__file__).resolve().parent)\n"
        "    from cxone_provider import DataAction, DataActionArgs\n\n"
        f"    {declaration.format('greeter')}\n",
    )
    project.up()
    project.edit("stacks/__main__.py", declaration.format("greeter"), declaration.format("welcome"))
    failed = project.up(check=False)
    assert failed.returncode != 0
    assert "NAME_CONFLICT" in failed.output
    assert "aliases=[pulumi.Alias(name=" in failed.output
    assert list(tenant(emulator)).count("greeting") == 1


def test_a_relative_audit_log_is_written_under_the_project_root(engine_project):
    """cxone:auditLog audit/cxone.jsonl lands in <root>/audit/, not in stacks/audit/."""
    project = engine_project
    (project.root / "audit").mkdir()
    project.run("stack", "init", "local")
    project.set_config({"cxone:auditLog": "audit/cxone.jsonl"})
    project.up()
    lines = (project.root / "audit" / "cxone.jsonl").read_text().splitlines()
    assert len(lines) == len(ACTIONS)
    assert not (project.root / "stacks" / "audit").exists()


def test_the_pipeline_recipe_deploys_with_the_secret_from_the_environment(engine_project, emulator):
    """The README's pipeline steps: the secret only in CXONE_CLIENT_SECRET, never in config."""
    project = engine_project
    ci_stack(project, emulator)
    project.run("stack", "init", "ci")
    validated = project.cxone("validate", "--stack", "ci")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    project.run("preview", "--stack", "ci", "--diff")
    project.run("up", "--yes", "--stack", "ci")
    assert sorted(tenant(emulator)) == sorted(ACTIONS)
    assert emulator.client_secret not in json.dumps(project.export())


SECRET_PIN = "pin-8642-secret"
SECRET_PROGRAM = """
import pulumi
from cxone_provider import DataAction, DataActionArgs

pin = pulumi.Config().require_secret("pin")
ECHO = "function main(context) { return {echoed: context.input.pin}; }"
DataAction("pin_echo", DataActionArgs(name="pin_echo", script=ECHO,
                                      test_input=pin.apply(lambda p: {"pin": p})))
DataAction("pin_check", DataActionArgs(name="pin_check", script=ECHO,
                                       test_input=pin.apply(lambda p: {"pin": p}),
                                       expected_output={"echoed": "something else"},
                                       on_test_failure="warn"))
DataAction("plain_echo", DataActionArgs(name="plain_echo", script=ECHO,
                                        test_input={"pin": "public"}))
"""


def test_outputs_derived_from_a_secret_input_are_ciphertext_in_the_state(engine_project):
    """Issue 20: test_output of a secret test_input was plain text in the state and backups."""
    project = engine_project
    (project.root / "stacks" / "__main__.py").write_text(SECRET_PROGRAM)
    project.run("stack", "init", "local")
    project.set_config({"pin": SECRET_PIN}, secret=True)
    project.set_config({"cxone:auditLog": "audit.jsonl"})
    applied = project.up()
    resources = project.resources()
    for name in ("pin_echo", "pin_check"):
        outputs = resources[name]["outputs"]
        assert set(outputs["test_output"]) == {SECRET_SIG, "ciphertext"}, name
        assert set(outputs["test_input"]) == {SECRET_SIG, "ciphertext"}, name
        assert outputs["secret_inputs"] == ["test_input"]
    assert resources["pin_check"]["outputs"]["test_passed"] is False
    assert resources["plain_echo"]["outputs"]["test_output"] == '{"echoed":"public"}'
    assert "another value than expected_output" in applied.output
    assert SECRET_PIN not in applied.output
    assert SECRET_PIN not in json.dumps(project.export())
    assert SECRET_PIN not in (project.root / "audit.jsonl").read_text()
    for path in [*project.backend.rglob("*"), *project.home.rglob("*")]:
        if path.is_file():
            assert SECRET_PIN.encode() not in path.read_bytes(), path
