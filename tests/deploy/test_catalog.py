"""ActionCatalog: declarations in, the whole graph checked first, DataActions out in order."""

from __future__ import annotations

import uuid
from pathlib import Path

import pulumi
import pytest
from stack_mocks import run

from cxone_provider.api.client import CxoneClient
from cxone_provider.api.errors import ConfigurationError, DependencyCycleError, DependencyGraphError
from cxone_provider.api.models import ActionSpec, Script
from cxone_provider.deploy.catalog import ActionCatalog
from cxone_provider.deploy.resource import DataActionArgs

ECHO = "function main(context) { return context.input; }"


def lead_catalog() -> ActionCatalog:
    """Declared dependents first, so the order has to come from the graph."""
    catalog = ActionCatalog()
    catalog.add("route_decision", script=ECHO, dependencies=["lead_score", "business_hours"])
    catalog.add("lead_score", script=ECHO, dependencies=["normalize_phone"])
    catalog.add("business_hours", script=ECHO)
    catalog.add("normalize_phone", script=ECHO)
    return catalog


def test_register_creates_resources_dependencies_first(monitor):
    """Resources are constructed in the validated order, and reach the engine after their deps."""
    catalog = lead_catalog()
    registered: dict[str, object] = {}
    run(lambda: registered.update(catalog.register()))
    expected = ("business_hours", "normalize_phone", "lead_score", "route_decision")
    assert tuple(registered) == expected == catalog.validate().order
    names = monitor.action_names
    assert names.index("lead_score") < names.index("route_decision")
    assert names.index("normalize_phone") < names.index("lead_score")
    depends_on = {r.name: r.depends_on for r in monitor.registrations}
    assert depends_on == {
        "route_decision": {"lead_score", "business_hours"},
        "lead_score": {"normalize_phone"},
        "business_hours": set(),
        "normalize_phone": set(),
    }


def test_validate_and_declarations_need_no_pulumi_engine():
    """A tool can check a program's declarations without mocks, an engine or a network."""
    catalog = lead_catalog()
    assert catalog.validate().order[-1] == "route_decision"
    assert [d.name for d in catalog.declarations()] == [
        "route_decision",
        "lead_score",
        "business_hours",
        "normalize_phone",
    ]
    assert catalog.declarations()[0].dependencies == ["lead_score", "business_hours"]
    assert [args.name for args in catalog.actions][:2] == ["route_decision", "lead_score"]


def test_a_cycle_fails_register_before_any_resource_exists(monitor):
    """register() raises the cycle with its path and the engine never hears of any resource."""
    catalog = ActionCatalog()
    catalog.add("ok_first", script=ECHO)
    catalog.add("a_one", script=ECHO, dependencies=["b_two"])
    catalog.add("b_two", script=ECHO, dependencies=["a_one"])
    with pytest.raises(DependencyCycleError, match="a_one -> b_two -> a_one"):
        run(catalog.register)
    assert monitor.registrations == []


@pytest.mark.usefixtures("monitor")
def test_register_twice_is_refused():
    """A second register() would declare every resource again; it is an error instead."""
    catalog = lead_catalog()
    run(catalog.register)
    with pytest.raises(ConfigurationError, match="already called"):
        catalog.register()


def test_a_relative_script_path_is_read_from_base_dir(tmp_path):
    """Path scripts are read relative to base_dir, whatever the working directory."""
    (tmp_path / "actions").mkdir()
    (tmp_path / "actions" / "echo.js").write_text(ECHO, encoding="utf-8")
    catalog = ActionCatalog(base_dir=tmp_path)
    args = catalog.add("echo_action", script=Path("actions/echo.js"))
    assert args.script == ECHO


def test_a_missing_script_file_names_the_path_it_tried(tmp_path):
    """An unreadable script file is a ConfigurationError naming the action and the full path."""
    catalog = ActionCatalog(base_dir=tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        catalog.add("echo_action", script=Path("actions/missing.js"))
    assert "'echo_action'" in str(caught.value)
    assert str(tmp_path / "actions" / "missing.js") in str(caught.value)


def test_a_str_that_looks_like_a_file_name_asks_for_a_path():
    """`script="x.js"` is almost surely a path given as a str: say to wrap it in Path."""
    with pytest.raises(ConfigurationError, match=r"pass Path\('actions/echo.js'\)"):
        ActionCatalog().add("echo_action", script="actions/echo.js")


def test_data_action_args_are_declared_as_given():
    """A ready DataActionArgs is kept as it is."""
    args = DataActionArgs(name="echo_action", script=ECHO, dependencies=["other"])
    catalog = ActionCatalog()
    assert catalog.add(args) is args
    assert catalog.actions == (args,)


def test_args_and_fields_together_are_refused():
    """Fields next to a DataActionArgs would be silently ignored; they are refused instead."""
    args = DataActionArgs(name="echo_action", script=ECHO)
    with pytest.raises(ConfigurationError, match="also given: script, description"):
        ActionCatalog().add(args, script=ECHO, description="twice")  # type: ignore[call-overload]


def test_a_name_without_a_script_is_refused():
    """Every action needs a script."""
    with pytest.raises(ConfigurationError, match="give the script"):
        ActionCatalog().add("echo_action")  # type: ignore[call-overload]


@pytest.mark.usefixtures("monitor")
def test_output_dependencies_are_refused_because_the_graph_is_checked_first():
    """The graph is checked before any Output resolves, so names must be plain strings."""

    def program():
        late_name = pulumi.Output.from_input("normalize_phone")
        ActionCatalog().add(
            DataActionArgs(name="lead_score", script=ECHO, dependencies=[late_name])
        )

    with pytest.raises(ConfigurationError, match="plain strings, not Outputs"):
        run(program)


def test_a_string_as_dependencies_is_reported_by_the_graph():
    """dependencies="x" (a str, not a list) is caught, not iterated letter by letter."""
    catalog = ActionCatalog()
    catalog.add("lead_score", script=ECHO, dependencies="normalize_phone")  # type: ignore[arg-type]
    with pytest.raises(DependencyGraphError, match="not the string 'normalize_phone'"):
        catalog.validate()


def test_hand_written_depends_on_orders_without_being_a_dependency(monitor):
    """depends_on names become resource dependencies, but not script dependencies."""
    catalog = ActionCatalog()
    catalog.add("audit_trail", script=ECHO, depends_on=["lead_score"])
    catalog.add("lead_score", script=ECHO)
    registered = {}
    run(lambda: registered.update(catalog.register()))
    assert list(registered) == ["lead_score", "audit_trail"]
    assert {r.name: r.depends_on for r in monitor.registrations}["audit_trail"] == {"lead_score"}
    assert catalog.actions[0].dependencies == ()


def test_a_depends_on_that_contradicts_the_dependencies_fails_before_registration(monitor):
    """lead_score depends_on route_decision, which calls lead_score: reported, none registered."""
    catalog = ActionCatalog()
    catalog.add("route_decision", script=ECHO, dependencies=["lead_score"])
    catalog.add("lead_score", script=ECHO, depends_on=["route_decision"])
    with pytest.raises(DependencyGraphError) as caught:
        run(catalog.register)
    (problem,) = caught.value.problems
    assert problem.field == "lead_score.depends_on"
    assert "contradicts the declared dependencies" in problem.message
    assert monitor.registrations == []


def test_user_depends_on_resources_are_merged_with_the_dependency_resources(monitor):
    """opts.depends_on given to add() is kept, and the dependencies' resources are added to it."""
    catalog = ActionCatalog()
    catalog.add("normalize_phone", script=ECHO)

    def program():
        queue = pulumi.CustomResource("test:index:Queue", "callback_queue", {})
        catalog.add(
            "lead_score",
            script=ECHO,
            dependencies=["normalize_phone"],
            opts=pulumi.ResourceOptions(depends_on=[queue], protect=True),
        )
        catalog.register()

    run(program)
    depends_on = {r.name: r.depends_on for r in monitor.registrations}
    assert depends_on["lead_score"] == {"normalize_phone", "callback_queue"}


def test_tenant_action_names_satisfy_dependencies_without_a_resource(monitor):
    """A dependency on an unmanaged tenant action is sent as a name, with no resource to wait on."""
    catalog = ActionCatalog()
    catalog.include_tenant_actions(["crm_lookup"])
    catalog.add("lead_score", script=ECHO, dependencies=["crm_lookup"])
    run(catalog.register)
    (registration,) = monitor.registrations
    assert registration.depends_on == set()
    (state,) = [r.state for r in monitor.resources.values()]
    assert state["dependencies"] == ["crm_lookup"]


def test_without_tenant_actions_the_same_dependency_is_unknown():
    """Not including the tenant makes the name unknown, and the message says how to include it."""
    catalog = ActionCatalog()
    catalog.add("lead_score", script=ECHO, dependencies=["crm_lookup"])
    with pytest.raises(DependencyGraphError, match="include_tenant_actions"):
        catalog.validate()


def test_tenant_actions_listed_by_a_client_join_the_graph(emulator):
    """With a client, the tenant's actions and their dependencies are read from the API."""
    with CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as client:
        for name, dependencies in (("crm_lookup", ()), ("crm_sync", ("crm_lookup",))):
            spec = ActionSpec(name=name, script=Script(content=ECHO), dependencies=dependencies)
            client.create_action(spec, idempotency_key=str(uuid.uuid4()))
        catalog = ActionCatalog()
        catalog.include_tenant_actions(client)
    catalog.add("lead_score", script=ECHO, dependencies=["crm_sync"])
    validated = catalog.validate()
    assert validated.order == ("lead_score",)
    assert validated.graph.has_edge("crm_sync", "crm_lookup")

    catalog.add("crm_enrich", script=ECHO, dependencies=["crm_lookups"])
    with pytest.raises(DependencyGraphError, match="did you mean 'crm_lookup'"):
        catalog.validate()
