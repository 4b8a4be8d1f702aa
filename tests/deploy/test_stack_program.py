"""The example stack `stacks/`: run under Pulumi's mocks, and its scripts run in the V8 sandbox."""

from __future__ import annotations

import pickle
import runpy
import shutil
from pathlib import Path

import pulumi
import pytest
import yaml
from stack_mocks import mocked_engine, run, run_stack_program

from cxone_provider.api.errors import ConfigurationError, DependencyCycleError, DependencyGraphError
from cxone_provider.api.models import validate_spec
from cxone_provider.deploy.catalog import ActionCatalog
from cxone_provider.deploy.resource import DataAction, DataActionArgs
from cxone_provider.emulator.sandbox import ScriptUnit, run_action

REPO = Path(__file__).resolve().parents[2]
STACKS = REPO / "stacks"
ECHO_SCRIPT = "function main(context) { return context.input; }"

EXPECTED_DEPENDENCIES = {
    "normalize_phone": set(),
    "normalize_email": set(),
    "base_enrichment": {"normalize_phone", "normalize_email"},
    "lead_score": {"base_enrichment"},
    "business_hours": set(),
    "crm_match_key": {"normalize_email", "normalize_phone"},
    "route_decision": {"lead_score", "business_hours"},
}


def example_catalog() -> ActionCatalog:
    """The example's declarations, without running its `__main__` block or any engine."""
    return runpy.run_path(str(STACKS / "__main__.py"), run_name="declarations")["build_catalog"]()


@pytest.fixture
def broken_stack(tmp_path):
    """A copy of `stacks/` whose `__main__.py` a test rewrites."""
    folder = tmp_path / "stacks"
    shutil.copytree(STACKS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    main = folder / "__main__.py"

    def rewrite(old: str, new: str) -> Path:
        source = main.read_text()
        assert source.count(old) == 1, old
        main.write_text(source.replace(old, new))
        return folder

    return rewrite


def test_the_stack_registers_every_action_after_its_dependencies(monitor):
    """Seven DataActions arrive at the engine, each after all of its dependencies."""
    run_stack_program(STACKS)
    names = monitor.action_names
    assert sorted(names) == sorted(EXPECTED_DEPENDENCIES)
    for name in names:
        for dependency in EXPECTED_DEPENDENCIES[name]:
            assert names.index(dependency) < names.index(name), (dependency, name)


def test_each_action_depends_on_exactly_the_resources_of_its_dependencies(monitor):
    """`depends_on` of each resource is the set of its declared dependencies, nothing else."""
    run_stack_program(STACKS)
    assert {r.name: set(r.depends_on) for r in monitor.registrations} == EXPECTED_DEPENDENCIES


@pytest.mark.usefixtures("monitor")
def test_the_stack_exports_id_version_and_test_status_of_each_action():
    """One export per action: its id, version and sandbox test status."""
    exported = run_stack_program(STACKS)
    assert exported == {
        name: {"id": f"id-{name}", "version": 1, "test_status": "SUCCESS"}
        for name in EXPECTED_DEPENDENCIES
    }


def test_a_cycle_in_the_program_fails_before_any_registration(monitor, broken_stack):
    """lead_score calling route_decision closes a loop: the error shows it, nothing registers."""
    folder = broken_stack(
        'dependencies=["base_enrichment"],', 'dependencies=["base_enrichment", "route_decision"],'
    )
    with pytest.raises(DependencyCycleError) as caught:
        run_stack_program(folder)
    assert caught.value.cycle == ["lead_score", "route_decision", "lead_score"]
    assert "dependency cycle lead_score -> route_decision -> lead_score" in str(caught.value)
    assert monitor.registrations == []


def test_an_unknown_dependency_in_the_program_fails_before_any_registration(monitor, broken_stack):
    """A misspelt dependency names the declaring action and the likely intended name."""
    folder = broken_stack(
        'dependencies=["normalize_phone", "normalize_email"],',
        'dependencies=["normalize_phone", "normalise_email"],',
    )
    with pytest.raises(DependencyGraphError) as caught:
        run_stack_program(folder)
    (problem,) = caught.value.problems
    assert problem.field == "base_enrichment.dependencies"
    assert "'normalise_email' is neither declared" in problem.message
    assert "did you mean 'normalize_email'?" in problem.message
    assert monitor.registrations == []


def test_every_declared_action_follows_the_api_rules():
    """Names, descriptions, scripts (checked by V8) and dependencies pass ActionSpec."""
    for args in example_catalog().actions:
        spec = validate_spec(
            {
                "name": args.name,
                "description": args.description,
                "script": {"content": args.script},
                "dependencies": list(args.dependencies),
            }
        )
        assert spec.name == args.name


def test_every_script_returns_its_expected_output_in_the_sandbox():
    """Each action's test input, run in V8 with its real dependencies, gives its expected output."""
    actions = example_catalog().actions
    units = {
        str(args.name): ScriptUnit(str(args.script), tuple(args.dependencies)) for args in actions
    }
    for args in actions:
        result = run_action(
            str(args.script),
            args.test_input,
            declared=tuple(args.dependencies),
            dependencies=units,
        )
        assert (args.name, result.status, result.error) == (args.name, "SUCCESS", None)
        assert result.output == args.expected_output, args.name


def test_the_project_file_points_pulumi_at_the_stack_folder():
    """Pulumi.yaml: python on PATH (no virtualenv option, pulumi#7061), stacks/ holds the rest."""
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["main"] == "stacks/"
    assert project["stackConfigDir"] == "stacks"
    assert project["runtime"]["name"] == "python"
    assert "virtualenv" not in project["runtime"].get("options", {})
    assert (STACKS / "__main__.py").is_file()
    assert (STACKS / "requirements.txt").read_text().splitlines()[-1] == "-e .."


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_real_tenant_stacks_hold_no_client_secret(stack):
    """The dev and prod stacks name a site and a client id, never the secret (set encrypted)."""
    config = yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert set(config) >= {"cxone:site", "cxone:clientId"}
    assert "cxone:clientSecret" not in config
    assert "pulumi config set --secret cxone:clientSecret" in (
        (STACKS / f"Pulumi.{stack}.yaml").read_text()
    )


def test_the_local_stack_targets_the_emulator_with_its_demo_credentials():
    """The local stack talks to the emulator on loopback with the emulator's demo client."""
    config = yaml.safe_load((STACKS / "Pulumi.local.yaml").read_text())["config"]
    assert config["cxone:baseUrl"] == "http://127.0.0.1:8765"
    assert config["cxone:clientId"] == "demo"
    assert config["cxone:clientSecret"] == "demo-secret"


@pytest.mark.timeout(300)
def test_a_program_of_2000_data_actions_registers(monitor):
    """Issue 11, case 12: the SDK's pickler patch no longer nests once per resource.

    Nested once per resource, the patches passed Python's recursion limit (1,000 frames)
    near the thousandth; 2,000 is twice past it.
    """

    def program() -> None:
        for index in range(2_000):
            args = DataActionArgs(name=f"action_{index}", script=ECHO_SCRIPT)
            DataAction(f"action-{index}", args)

    run(program)
    assert len(monitor.action_names) == 2_000


@pytest.mark.usefixtures("monitor")
def test_registering_a_data_action_leaves_the_pickler_as_it_was():
    """The methods `serialize_provider` patches are the original ones again afterwards."""
    pickler = vars(pickle._Pickler)  # noqa: SLF001 -- the class the SDK patches
    before = {name: pickler[name] for name in ("_batch_setitems", "save_dict")}
    run(lambda: DataAction("one", DataActionArgs(name="one_action", script=ECHO_SCRIPT)))
    assert {name: pickler[name] for name in before} == before


def test_a_data_action_refuses_create_before_delete_replacements():
    """delete_before_replace=False is refused with the reason; True is what every one gets."""
    with mocked_engine(), pytest.raises(ConfigurationError, match="unique per tenant"):
        DataAction(
            "x",
            DataActionArgs(name="x_action", script="function main(c) { return 1; }"),
            pulumi.ResourceOptions(delete_before_replace=False),
        )
