"""Changes to a deployed stack under the real engine.

Edits, renames, removals, failed tests, and the replacements the engine decides without
asking the provider (`--replace`, `--target-replace`, taints, `replace_on_changes`).
"""

from __future__ import annotations

import pytest
from cli_projects import ACTIONS

pytestmark = pytest.mark.engine

PROGRAM = "stacks/__main__.py"


def tenant(emulator) -> dict[str, dict]:
    """The tenant's actions by name."""
    with emulator.api() as api:
        listed = api.get("/api/v2/dataactions/actions", params={"pageSize": 500}).json()
    return {action["name"]: action for action in listed["entities"]}


def test_an_edited_script_updates_in_place_with_the_next_version(deployed_project, emulator):
    """Same id, version 2, the new script on the tenant, one PUT; the rest untouched."""
    project = deployed_project
    before = tenant(emulator)
    project.edit(
        "stacks/actions/business_hours.js",
        "const closeHour = input.closeHour === undefined ? 18 : input.closeHour;",
        "const closeHour = input.closeHour === undefined ? 19 : input.closeHour;",
    )
    preview = project.run("preview", "--json").json()
    [step] = [step for step in preview["steps"] if step["op"] != "same"]
    assert step["op"] == "update"
    assert step["diffReasons"] == ["script"]
    assert step["detailedDiff"]["script"]["kind"] == "update"

    project.up()
    after = tenant(emulator)
    assert after["business_hours"]["id"] == before["business_hours"]["id"]
    assert after["business_hours"]["version"] == 2
    assert "19 : input.closeHour" in after["business_hours"]["script"]["content"]
    assert {name: action["version"] for name, action in after.items()} == {
        **dict.fromkeys(ACTIONS, 1),
        "business_hours": 2,
    }
    assert project.outputs()["business_hours"]["version"] == 2


def test_renaming_an_action_that_others_call_keeps_the_callers(deployed_project, emulator):
    """business_hours -> office_hours: created, its caller updated in place, the old deleted."""
    project = deployed_project
    before = tenant(emulator)
    project.edit(PROGRAM, '"business_hours"', '"office_hours"', count=2)
    project.edit("stacks/actions/route_decision.js", '"business_hours"', '"office_hours"')

    project.up()
    after = tenant(emulator)
    assert "business_hours" not in after
    assert after["office_hours"]["id"] != before["business_hours"]["id"]
    assert after["route_decision"]["id"] == before["route_decision"]["id"]
    assert after["route_decision"]["dependencies"] == ["lead_score", "office_hours"]
    assert project.recorded_ids() == {name: action["id"] for name, action in after.items()}
    assert {output["test_status"] for output in project.outputs().values()} == {"SUCCESS"}


def test_a_removed_action_is_deleted_from_the_tenant(deployed_project, emulator):
    """crm_match_key out of the program: deleted from the tenant and the state."""
    project = deployed_project
    text = (project.root / PROGRAM).read_text()
    start = text.index('    catalog.add(\n        "crm_match_key"')
    end = text.index('    catalog.add(\n        "route_decision"')
    (project.root / PROGRAM).write_text(text[:start] + text[end:])

    project.up()
    assert sorted(tenant(emulator)) == sorted(set(ACTIONS) - {"crm_match_key"})
    assert sorted(project.recorded_ids()) == sorted(set(ACTIONS) - {"crm_match_key"})


NEW_ACTION = """
    catalog.add(
        "greeting",
        script="function main(context) { return 'Hello, ' + context.input.name; }",
        test_input={"name": "Dana"},
        expected_output="Hello, Dana!",
    )
    return catalog
"""


def test_a_new_action_failing_its_test_leaves_nothing_and_the_fix_deploys(
    deployed_project, emulator
):
    """The up fails with the verdict, leaves no `greeting`; after the fix, the next up makes it."""
    project = deployed_project
    project.edit(PROGRAM, "\n    return catalog\n", NEW_ACTION)

    failed = project.up(check=False)
    assert failed.returncode != 0
    assert "greeting" in failed.output
    assert "OUTPUT_MISMATCH" in failed.output
    assert '"Hello, Dana"' in failed.output
    assert "greeting" not in tenant(emulator)
    assert "greeting" not in project.recorded_ids()
    planned = project.run("preview", "--json").json()["steps"]
    assert [
        (step["op"], step["urn"].rsplit("::", 1)[1]) for step in planned if step["op"] != "same"
    ] == [("create", "greeting")]

    project.edit(PROGRAM, 'expected_output="Hello, Dana!"', 'expected_output="Hello, Dana"')
    project.up()
    assert tenant(emulator)["greeting"]["id"] == project.recorded_ids()["greeting"]
    project.run("preview", "--expect-no-changes")


@pytest.mark.parametrize("how", ["--replace", "--target-replace"])
def test_a_forced_replacement_deletes_first_and_records_the_new_action(
    deployed_project, emulator, how
):
    """The old action goes, a new one is recorded: it never adopts the action it replaces."""
    project = deployed_project
    before = tenant(emulator)
    project.up(how, project.urn("business_hours", "local"))
    after = tenant(emulator)
    assert after["business_hours"]["id"] != before["business_hours"]["id"]
    assert project.recorded_ids() == {name: action["id"] for name, action in after.items()}
    project.run("preview", "--expect-no-changes")


def test_replacing_an_action_replaces_the_actions_that_call_it(deployed_project, emulator):
    """business_hours and its caller route_decision are both recreated; nothing else changes."""
    project = deployed_project
    before = tenant(emulator)
    project.up("--replace", project.urn("business_hours", "local"))
    after = tenant(emulator)
    changed = {name for name in ACTIONS if after[name]["id"] != before[name]["id"]}
    assert changed == {"business_hours", "route_decision"}
    assert project.recorded_ids() == {name: action["id"] for name, action in after.items()}
    project.run("preview", "--expect-no-changes")


def test_a_tainted_action_is_replaced_by_the_next_up(deployed_project, emulator):
    """`pulumi state taint URN`, then up: a new id, state and tenant agree."""
    project = deployed_project
    before = tenant(emulator)
    project.run("state", "taint", project.urn("normalize_phone", "local"), "--yes")
    project.up()
    after = tenant(emulator)
    assert after["normalize_phone"]["id"] != before["normalize_phone"]["id"]
    assert project.recorded_ids() == {name: action["id"] for name, action in after.items()}


def test_replace_on_changes_is_honoured(deployed_project, emulator):
    """replace_on_changes=["script"]: a script edit replaces the action instead of updating."""
    project = deployed_project
    project.edit(
        PROGRAM,
        '        description="Whether the contact center is open at a given time",\n',
        '        description="Whether the contact center is open at a given time",\n'
        '        opts=pulumi.ResourceOptions(replace_on_changes=["script"]),\n',
    )
    project.up()
    before = tenant(emulator)
    project.edit(
        "stacks/actions/business_hours.js",
        "const openHour = input.openHour === undefined ? 8 : input.openHour;",
        "const openHour = input.openHour === undefined ? 7 : input.openHour;",
    )
    preview = project.run("preview", "--json").json()
    steps = {step["urn"].rsplit("::", 1)[1]: step for step in preview["steps"]}
    assert steps["business_hours"]["op"] == "replace"
    assert steps["business_hours"]["replaceReasons"] == ["script"]
    assert steps["route_decision"]["op"] == "replace"  # it calls business_hours
    project.up()
    after = tenant(emulator)
    assert after["business_hours"]["id"] != before["business_hours"]["id"]
    assert after["business_hours"]["version"] == 1
    assert project.recorded_ids() == {name: action["id"] for name, action in after.items()}
