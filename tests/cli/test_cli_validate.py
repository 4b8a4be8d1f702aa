"""`cxone validate`: the example passes; broken copies fail with every problem in one run."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_projects import (
    ACTIONS,
    CYCLE,
    DIRECT_ROUTER,
    ECHO,
    EXAMPLE_EDGES,
    REPO,
    ROUTER,
    add_cycle,
    add_oversize_script,
    add_syntax_error,
    add_typo,
    copy_project,
    cxone,
    deploy,
    emulator_env,
    write_program,
)

from cxone_provider.api.errors import ProgramError
from cxone_provider.cli.program import EVALUATION_TIMEOUT_S, evaluate


def problems_of(ran):
    assert ran.json["schema"] == 1
    assert ran.json["command"] == "validate"
    return ran.json["problems"]


def test_the_example_stack_validates_clean_as_a_user_runs_it():
    """`python -m cxone_provider validate` in the repository: exit 0, no problem, the order."""
    completed = subprocess.run(
        [sys.executable, "-m", "cxone_provider", "validate"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "cxone-actions: 7 actions declared in stacks/__main__.py" in completed.stdout
    assert "✔ No problems. Creation order: normalize_phone, normalize_email, base_enrichment" in (
        completed.stdout
    )


def test_the_json_report_of_the_example_lists_actions_graph_and_order(tmp_path):
    """--json: every action with its script file, the 7 edges, the creation order, no problem."""
    project = copy_project(tmp_path)
    ran = cxone("validate", project, "--stack", "local", "--json")
    assert ran.exit_code == 0
    report = ran.json
    assert report["ok"] is True
    assert problems_of(ran) == []
    assert report["program"]["project"] == "cxone-actions"
    assert report["program"]["stack"] == "local"
    assert [action["name"] for action in report["program"]["actions"]] == list(ACTIONS)
    assert report["program"]["actions"][0]["script_file"] == str(
        project / "stacks" / "actions" / "normalize_phone.js"
    )
    edges = {(edge["from"], edge["to"]) for edge in report["graph"]["edges"]}
    assert edges == EXAMPLE_EDGES
    assert report["graph"]["order"].index("base_enrichment") < report["graph"]["order"].index(
        "lead_score"
    )
    assert report["tenant"] is None


def test_a_cycle_is_reported_with_its_whole_path(tmp_path):
    """A dependency loop: exit 1, one graph problem naming the path."""
    project = copy_project(tmp_path)
    add_cycle(project)
    ran = cxone("validate", project, "--json")
    assert ran.exit_code == 1
    [problem] = problems_of(ran)
    assert problem["kind"] == "graph"
    assert problem["action"] == "normalize_phone"
    assert problem["field"] == "dependencies"
    assert f"dependency cycle {CYCLE}" in problem["message"]
    assert ran.json["graph"]["cycles"] == [CYCLE.split(" -> ")]


def test_a_typo_in_a_dependency_is_reported_with_the_name_it_resembles(tmp_path):
    """`busines_hours` is unknown; the report suggests 'business_hours'."""
    project = copy_project(tmp_path)
    add_typo(project)
    ran = cxone("validate", project, "--json")
    assert ran.exit_code == 1
    [problem] = problems_of(ran)
    assert (problem["action"], problem["field"]) == ("route_decision", "dependencies")
    assert "'busines_hours' is neither declared" in problem["message"]
    assert "did you mean 'business_hours'?" in problem["message"]


def test_a_70_kb_script_is_reported_on_its_file(tmp_path):
    """A script over 64 KiB: the file, the size and the limit."""
    project = copy_project(tmp_path)
    script = add_oversize_script(project)
    size = len(script.read_bytes())
    ran = cxone("validate", project, "--json")
    assert ran.exit_code == 1
    [problem] = problems_of(ran)
    assert problem["action"] == "business_hours"
    assert problem["field"] == "script"
    assert problem["file"] == str(script)
    assert (
        f"the script is {size} bytes in UTF-8, over the limit of 65536 bytes"
        in (problem["message"])
    )


def test_a_syntax_error_is_reported_at_its_file_line_and_column(tmp_path):
    """V8's SyntaxError, placed in the .js file the action reads."""
    project = copy_project(tmp_path)
    where = add_syntax_error(project)
    ran = cxone("validate", project, "--json")
    assert ran.exit_code == 1
    [problem] = problems_of(ran)
    assert problem == {
        "kind": "action",
        "action": "lead_score",
        "field": "script",
        "message": "SyntaxError: Unexpected token ';'",
        "file": str(where.file),
        "line": where.line,
        "column": where.column,
    }


@pytest.fixture(scope="module")
def broken_four_ways(tmp_path_factory):
    """One copy with a cycle, a typo, a 70 KB script and a syntax error; validated twice."""
    project = copy_project(tmp_path_factory.mktemp("four-ways"))
    add_cycle(project)
    add_typo(project)
    oversize = add_oversize_script(project)
    syntax = add_syntax_error(project)
    return {
        "human": cxone("validate", project),
        "json": cxone("validate", project, "--json"),
        "oversize": oversize,
        "syntax": syntax,
    }


def test_every_problem_of_a_copy_broken_four_ways_is_in_one_json_report(broken_four_ways):
    """One run, four problems: the syntax error, the size, the cycle, the typo."""
    ran = broken_four_ways["json"]
    assert ran.exit_code == 1
    assert ran.json["ok"] is False
    problems = problems_of(ran)
    assert len(problems) == 4
    syntax = broken_four_ways["syntax"]
    assert problems[0]["file"] == str(syntax.file)
    assert (problems[0]["line"], problems[0]["column"]) == (syntax.line, syntax.column)
    assert problems[1]["file"] == str(broken_four_ways["oversize"])
    assert "over the limit of 65536 bytes" in problems[1]["message"]
    assert f"dependency cycle {CYCLE}" in problems[2]["message"]
    assert "did you mean 'business_hours'?" in problems[3]["message"]


def test_every_problem_of_a_copy_broken_four_ways_is_printed_in_one_run(broken_four_ways):
    """The human report: a count, then one line per problem, each saying where."""
    ran = broken_four_ways["human"]
    assert ran.exit_code == 1
    lines = ran.stdout.splitlines()
    assert "✘ 4 problems:" in lines
    syntax = broken_four_ways["syntax"]
    assert (
        f"  ✘ {syntax.file}:{syntax.line}:{syntax.column} (lead_score.script): "
        "SyntaxError: Unexpected token ';'"
    ) in lines
    assert any(
        line.startswith(f"  ✘ {broken_four_ways['oversize']} (business_hours.script): the script")
        for line in lines
    )
    assert any(
        line.startswith(f"  ✘ normalize_phone.dependencies: dependency cycle {CYCLE}")
        for line in lines
    )
    assert any(
        line.startswith("  ✘ route_decision.dependencies: 'busines_hours'") for line in lines
    )


def test_a_syntax_error_of_a_script_given_as_a_string_keeps_its_line_and_column(tmp_path):
    """Issue 21: `open(...).read()` loses the file, not the position (as preview gives it)."""
    script = "function main(context) {\n  let total = 1;\n  let score = total +;\n  return 1;\n}\n"
    program = write_program(
        tmp_path / "program",
        """
from pathlib import Path
from cxone_provider import DataAction, DataActionArgs

HERE = Path(__file__).resolve().parent
DataAction("my-action", DataActionArgs(name="my_action", script=open(HERE / "my_action.js").read()))
""",
        {"my_action.js": script},
    )
    ran = cxone("validate", program)
    assert ran.exit_code == 1
    assert "  ✘ my_action.script (line 3, column 22): SyntaxError: Unexpected token ';'" in (
        ran.stdout.splitlines()
    )
    assert "return 1" not in ran.stdout


def test_bad_names_duplicates_and_contradictory_depends_on_are_reported_together(tmp_path):
    """The rules of single actions and of the graph, all in one run."""
    program = write_program(
        tmp_path / "program",
        f"""
from cxone_provider import ActionCatalog

ECHO = {ECHO!r}
catalog = ActionCatalog()
catalog.add("lead score!", script=ECHO)
catalog.add("normalize", script=ECHO)
catalog.add("normalize", script=ECHO)
catalog.add("scorer", script=ECHO, dependencies=["normalize"], depends_on=["router"])
catalog.add("enricher", script=ECHO, dependencies=["scorer"])
catalog.add("router", script=ECHO, dependencies=["enricher"], depends_on=["router"])
catalog.register()
""",
    )
    ran = cxone("validate", program, "--json")
    assert ran.exit_code == 1
    problems = problems_of(ran)
    messages = {(p["kind"], p["action"], p["field"]): p["message"] for p in problems}
    assert len(messages) == len(problems) == 4
    assert "is not a valid action name" in messages["action", "lead score!", "name"]
    assert "declared 2 times (declarations #2, #3)" in messages["graph", "normalize", None]
    assert "'router' names the action itself" in messages["graph", "router", "depends_on"]
    assert (
        "'scorer' has depends_on 'router', but 'router' depends on 'scorer' through its "
        "declared dependencies (router -> enricher -> scorer)"
    ) in messages["graph", "scorer", "depends_on"]


def test_a_program_that_raises_is_reported_at_its_line(tmp_path):
    """An exception of the program itself: where it was raised, with its message."""
    program = write_program(
        tmp_path / "program",
        "from cxone_provider import ActionCatalog\n"
        "catalog = ActionCatalog()\n"
        "settings = {}\n"
        "catalog.add('echo', script=settings['script'])\n",
    )
    ran = cxone("validate", program, "--json")
    assert ran.exit_code == 1
    [problem] = problems_of(ran)
    assert problem["kind"] == "program"
    assert problem["message"] == "the program raised KeyError: 'script'"
    assert problem["file"] == str(program / "__main__.py")
    assert problem["line"] == 4


def test_a_missing_script_file_is_reported_as_a_problem_of_the_program(tmp_path):
    """The catalog cannot read a script: the program's error says which file."""
    project = copy_project(tmp_path)
    (project / "stacks" / "actions" / "crm_match_key.js").unlink()
    ran = cxone("validate", project)
    assert ran.exit_code == 1
    assert "the program raised ConfigurationError: ActionCatalog.add('crm_match_key')" in (
        ran.stdout
    )


def test_the_stack_config_reaches_the_program(tmp_path):
    """--stack: the program reads Pulumi.<stack>.yaml (project-namespaced keys too)."""
    program = write_program(
        tmp_path / "program",
        f"""
import pulumi
from cxone_provider import ActionCatalog

config = pulumi.Config()
catalog = ActionCatalog()
catalog.add(config.require("prefix") + "_echo", script={ECHO!r})
catalog.add("policy_" + pulumi.Config("cxone").require("onTestFailure"), script={ECHO!r})
catalog.register()
""",
    )
    (program / "Pulumi.ci.yaml").write_text(
        "config:\n  program:prefix: team_a\n  cxone:onTestFailure: warn\n  cxone:clientSecret:\n"
        "    secure: v1:AAAABBBB\n"
    )
    ran = cxone("validate", program, "--stack", "ci", "--json")
    assert ran.exit_code == 0, ran.stdout
    assert [a["name"] for a in ran.json["program"]["actions"]] == ["team_a_echo", "policy_warn"]
    without = cxone("validate", program, "--json")
    assert without.exit_code == 1
    [problem] = problems_of(without)
    assert problem["kind"] == "program"
    assert "prefix" in problem["message"]


def test_data_actions_declared_without_a_catalog_are_checked_too(tmp_path):
    """DataAction resources made directly: their inputs and dependencies, Outputs resolved."""
    program = write_program(
        tmp_path / "program",
        f"""
from cxone_provider import DataAction, DataActionArgs

base = DataAction("base", DataActionArgs(name="base_transform", script={ECHO!r}))
DataAction("score", DataActionArgs(name="lead_score", script="function main(context) {{",
                                   dependencies=[base.name, "missing_one"]))
""",
    )
    ran = cxone("validate", program, "--json")
    assert ran.exit_code == 1
    declared = {a["name"]: a for a in ran.json["program"]["actions"]}
    assert declared["lead_score"]["declared_by"] == "resource"
    assert declared["lead_score"]["dependencies"] == ["base_transform", "missing_one"]
    kinds = sorted((p["kind"], p["action"], p["field"]) for p in problems_of(ran))
    assert kinds == [("action", "lead_score", "script"), ("graph", "lead_score", "dependencies")]


def test_a_value_known_only_after_a_deployment_is_not_checked(tmp_path):
    """A script made from another action's id is unknown offline: no false syntax error.

    Regression (issue 13): the unknown value reached the checks as the text of its repr.
    """
    program = write_program(
        tmp_path / "program",
        f"""
from cxone_provider import DataAction, DataActionArgs

base = DataAction("base", DataActionArgs(name="base_transform", script={ECHO!r}))
DataAction("score", DataActionArgs(
    name="lead_score",
    script=base.action_id.apply(lambda i: "function main(c) {{ return " + repr(i) + "; }}"),
))
""",
    )
    ran = cxone("validate", program, "--json")
    assert ran.exit_code == 0, ran.stdout
    assert problems_of(ran) == []


def test_a_folder_without_a_program_is_a_usage_error(tmp_path):
    """No __main__.py: exit 2 and what cxone expects."""
    ran = cxone("validate", tmp_path)
    assert ran.exit_code == 2
    assert "no __main__.py in" in ran.stderr
    as_json = cxone("validate", tmp_path, "--json")
    assert as_json.exit_code == 2
    assert as_json.json["ok"] is False
    assert as_json.json["error"]["type"] == "ProgramError"


def test_an_unknown_option_is_a_usage_error():
    """A usage error (click's) ends with exit code 2."""
    ran = cxone("validate", "--no-such-option")
    assert ran.exit_code == 2
    assert "No such option" in ran.stderr


def test_tenant_resolves_dependencies_on_unmanaged_actions(tmp_path, emulator):
    """A DataAction needing an action only the tenant has: unknown offline, fine with --tenant."""
    deploy(emulator, ("crm_lookup", []), ("crm_sync", ["crm_lookup"]))
    program = write_program(tmp_path / "program", DIRECT_ROUTER)
    offline = cxone("validate", program, "--json")
    assert offline.exit_code == 1
    assert "'crm_lookup' is neither declared" in problems_of(offline)[0]["message"]
    online = cxone("validate", program, "--tenant", "--json", env=emulator_env(emulator))
    assert online.exit_code == 0, online.stdout
    assert online.json["tenant"] == {"base_url": emulator.base_url, "actions": 2}
    kinds = {node["name"]: node["kind"] for node in online.json["graph"]["nodes"]}
    assert kinds == {"lead_router": "declared", "crm_lookup": "tenant", "crm_sync": "tenant"}
    human = cxone("validate", program, "--tenant", env=emulator_env(emulator))
    assert human.exit_code == 0
    assert f"read 2 actions from {emulator.base_url}" in human.stdout


def test_tenant_checks_that_included_unmanaged_actions_exist(tmp_path, emulator):
    """A name the catalog includes as a tenant action: assumed offline, verified with --tenant."""
    program = write_program(tmp_path / "program", ROUTER)
    assert cxone("validate", program).exit_code == 0
    deploy(emulator, ("business_hours", []))
    missing = cxone("validate", program, "--tenant", "--json", env=emulator_env(emulator))
    assert missing.exit_code == 1
    [problem] = problems_of(missing)
    assert (
        "'crm_lookup' is neither declared in this program nor an existing action on the "
        in (problem["message"])
    )
    deploy(emulator, ("crm_lookup", []))
    found = cxone("validate", program, "--tenant", "--json", env=emulator_env(emulator))
    assert found.exit_code == 0, found.stdout


def test_tenant_finds_a_cycle_through_an_unmanaged_action(tmp_path, emulator):
    """lead_router -> crm_lookup (tenant) -> lead_router: the cycle names the unmanaged one."""
    deploy(emulator, ("lead_router", []), ("crm_lookup", ["lead_router"]))
    program = write_program(tmp_path / "program", ROUTER)
    ran = cxone("validate", program, "--tenant", "--json", env=emulator_env(emulator))
    assert ran.exit_code == 1
    [problem] = problems_of(ran)
    assert "dependency cycle lead_router -> crm_lookup -> lead_router" in problem["message"]
    assert "(unmanaged on the tenant: crm_lookup)" in problem["message"]


def test_an_unreachable_tenant_is_a_connection_error(tmp_path):
    """Nothing listens at the base URL: exit 2, the request and what to check."""
    program = write_program(tmp_path / "program", ROUTER)
    env = {
        "CXONE_BASE_URL": "http://127.0.0.1:9",
        "CXONE_CLIENT_ID": "demo",
        "CXONE_CLIENT_SECRET": "demo-secret",
    }
    ran = cxone("validate", program, "--tenant", "--json", env=env)
    assert ran.exit_code == 2
    assert ran.json["error"]["type"] == "TransportError"
    assert "got no answer" in ran.json["error"]["message"]


def test_tenant_without_credentials_says_what_to_set(tmp_path):
    """No connection settings: exit 2, the config keys and environment variables."""
    program = write_program(tmp_path / "program", ROUTER)
    ran = cxone("validate", program, "--tenant")
    assert ran.exit_code == 2
    assert "missing cxone:clientId" in ran.stderr
    assert "CXONE_CLIENT_SECRET" in ran.stderr


@pytest.mark.parametrize(
    "command", ["validate", "graph", "diff", "export", "test", "demo", "emulator", "conformance"]
)
def test_the_help_of_each_subcommand_shows_an_example(command):
    """`cxone COMMAND --help`: exit 0 and at least one example of the command."""
    ran = cxone(command, "--help")
    assert ran.exit_code == 0
    assert "Examples" in ran.stdout
    assert f"cxone {command}" in ran.stdout.split("Examples", 1)[1]


def test_a_script_file_that_is_not_utf8_is_a_problem_at_the_line_that_reads_it(tmp_path):
    """Issue 11, case 16: the problem names the file and the program's line, not codecs."""
    project = copy_project(tmp_path)
    script = project / "stacks" / "actions" / "crm_match_key.js"
    script.write_bytes(b"function main(c) { return '\xff'; }")
    ran = cxone("validate", project, "--json")
    assert ran.exit_code == 1
    (problem,) = [p for p in ran.json["problems"] if p["kind"] == "program"]
    assert problem["file"] == str(project / "stacks" / "__main__.py")
    assert "crm_match_key.js' is not UTF-8 text (byte 0xff" in problem["message"]


def _ended(pid: int, *, within_s: float = 10.0) -> bool:
    """Whether the process is gone (or a zombie) within `within_s`: SIGKILL lands a bit later."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


LINGERING = """
import subprocess, sys
from pathlib import Path
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
Path({pid_file!r}).write_text(str(child.pid))
from cxone_provider import ActionCatalog
catalog = ActionCatalog()
catalog.add("echo", script={echo!r})
catalog.register()
"""


def test_a_child_the_program_leaves_running_does_not_hold_validate_up(tmp_path):
    """Issue 11, case 17: the child keeps stdout open; validate answers and ends the child."""
    pid_file = tmp_path / "child.pid"
    program = write_program(
        tmp_path / "program", LINGERING.format(pid_file=str(pid_file), echo=ECHO)
    )
    ran = cxone("validate", program, "--json")
    assert ran.exit_code == 0, ran.stdout
    assert [action["name"] for action in ran.json["program"]["actions"]] == ["echo"]
    assert _ended(int(pid_file.read_text()))


def test_a_program_past_its_time_is_ended_with_its_children(tmp_path):
    """Issue 11, case 17: the timeout ends the whole process group and says so."""
    pid_file = tmp_path / "child.pid"
    program = write_program(
        tmp_path / "program",
        LINGERING.format(pid_file=str(pid_file), echo=ECHO) + "import time\ntime.sleep(600)\n",
    )
    # 5 s leave a loaded machine (or a coverage run) the time to start the program's child.
    with pytest.raises(ProgramError, match="did not finish within 5 s"):
        evaluate(program, timeout_s=5)
    assert _ended(int(pid_file.read_text()))


def test_the_help_of_validate_says_it_runs_the_program_and_for_how_long():
    """Issue 11, case 17: `cxone validate --help` warns that the program's code runs."""
    text = " ".join(cxone("validate", "--help").stdout.split())
    assert "Runs the program's own code" in text
    assert f"for at most {EVALUATION_TIMEOUT_S:g} s" in text


def test_plain_http_and_nested_plaintext_secrets_in_the_stack_are_problems(tmp_path):
    """Issue 20: `cxone validate --stack` reports an http baseUrl and secrets inside values."""
    program = write_program(
        tmp_path / "program",
        f"""
from cxone_provider import ActionCatalog

catalog = ActionCatalog()
catalog.add("plain_echo", script={ECHO!r})
catalog.register()
""",
    )
    (program / "Pulumi.ci.yaml").write_text(
        "config:\n  cxone:baseUrl: http://acme.api.nicecxone.com\n  cxone:clientId: ci\n"
        "  program:database:\n    host: db\n    password: hunter2-value\n"
        "  program:dbPwd: other-value\n"
    )
    ran = cxone("validate", program, "--stack", "ci", "--json")
    assert ran.exit_code == 1
    by_field = {problem["field"]: problem["message"] for problem in problems_of(ran)}
    assert "use https://acme.api.nicecxone.com" in by_field["cxone:baseUrl"]
    assert by_field["program:database"].startswith("program:database (at password) looks secret")
    assert "program:dbPwd" in by_field
    assert "hunter2-value" not in ran.stdout
    assert "other-value" not in ran.stdout


def test_a_program_run_by_the_cli_never_sees_the_tenant_credentials(tmp_path):
    """Issue 20: `cxone diff <folder>` ran somebody's folder with CXONE_CLIENT_SECRET* set."""
    program = write_program(
        tmp_path / "program",
        f"""
import os
from cxone_provider import ActionCatalog

seen = sorted(key for key in os.environ if "SECRET" in key or key.startswith("PULUMI_ACC"))
if seen:
    raise RuntimeError("the program saw " + ", ".join(seen))
catalog = ActionCatalog()
catalog.add("plain_echo", script={ECHO!r})
catalog.register()
""",
    )
    secrets = {
        "CXONE_CLIENT_SECRET": "a",
        "CXONE_CLIENT_SECRET_PROD": "b",
        "CXONE_WEBHOOK_SECRET": "whsec_" + base64.b64encode(bytes(32)).decode(),
        "PULUMI_ACCESS_TOKEN": "d",
    }
    ran = cxone("validate", program, env=secrets)
    assert ran.exit_code == 0, ran.stdout + ran.stderr
