"""The first hour of a new user (issue 12): mistakes never pass silently, no tracebacks.

Each test is one numbered item of the issue, tried as a person would: the command line
through typer's runner, or `cxone` in a subprocess where the process itself matters
(exit code, what reaches the terminal, signals).
"""

from __future__ import annotations

import importlib.metadata
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_projects import (
    ECHO,
    REPO,
    ROUTER,
    copy_project,
    cxone,
    deploy,
    emulator_env,
    write_program,
)
from packaging.requirements import Requirement

MISSPELT_SCRIPT = """
from cxone_provider import ActionCatalog

catalog = ActionCatalog()
catalog.add("lead_score", script=ACTIONS / "lead_scor.js")
catalog.register()
"""
RAISES_KEY_ERROR = """
from cxone_provider import ActionCatalog

settings = {}
catalog = ActionCatalog()
catalog.add("lead_score", script=settings["script"])
catalog.register()
"""


def cxone_process(*args: str | Path, cwd: Path | None = None, **kwargs) -> subprocess.Popen:
    """`cxone ARGS` as its own process (the installed entry point's code path, main())."""
    return subprocess.Popen(
        [sys.executable, "-c", "from cxone_provider.cli import main; main()", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def run_cxone(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    process = cxone_process(*args, cwd=cwd)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


# 1 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [MISSPELT_SCRIPT, RAISES_KEY_ERROR], ids=["path", "KeyError"])
def test_graph_of_a_program_that_raises_fails_as_validate_does(tmp_path, source):
    """No drawing of what a failed program happened to declare: exit 1 and the program's error."""
    source = "from pathlib import Path\nACTIONS = Path()\n" + source
    program = write_program(tmp_path / "program", source)
    failing_line = source.splitlines().index(next(s for s in source.splitlines() if "add(" in s))
    picture = tmp_path / "graph.png"
    ran = cxone("graph", program, "--format", "png", "--out", picture)
    assert ran.exit_code == 1
    assert not picture.exists()
    assert "the program raised" in ran.stderr
    as_json = cxone("graph", program, "--json")
    assert as_json.exit_code == 1
    assert as_json.json["ok"] is False
    assert as_json.json["content"] is None
    [problem] = as_json.json["problems"]
    assert problem["kind"] == "program"
    assert problem["line"] == failing_line + 1
    validated = cxone("validate", program, "--json")
    assert validated.exit_code == 1
    assert validated.json["problems"] == as_json.json["problems"]


# 2 ------------------------------------------------------------------------------------------


def test_an_unknown_stack_is_an_error_that_lists_the_stacks(tmp_path):
    """`--stack lcoal`: exit 2, the stacks that have a config file, the closest one first."""
    project = copy_project(tmp_path)
    ran = cxone("validate", project, "--stack", "lcoal")
    assert ran.exit_code == 2
    assert "no stack 'lcoal'" in ran.stderr
    assert "did you mean --stack local?" in ran.stderr
    assert "dev, local, prod" in ran.stderr


# 3 ------------------------------------------------------------------------------------------


def test_validate_names_a_misspelt_setting_and_the_closest_known_one(tmp_path):
    """`cxone:baseURL` is no setting: a problem at its line in the stack file, exit 1."""
    project = copy_project(tmp_path)
    (project / "stacks" / "Pulumi.ci.yaml").write_text(
        "config:\n  cxone:clientId: demo\n  cxone:baseURL: http://127.0.0.1:8765\n"
    )
    ran = cxone("validate", project, "--stack", "ci", "--json")
    assert ran.exit_code == 1
    [problem] = ran.json["problems"]
    assert problem["kind"] == "config"
    assert problem["field"] == "cxone:baseURL"
    assert problem["file"] == str(project / "stacks" / "Pulumi.ci.yaml")
    assert problem["line"] == 3
    assert "did you mean cxone:baseUrl?" in problem["message"]


def test_validate_checks_the_stack_settings_offline_without_tenant(tmp_path):
    """`cxone:onTestFailure: warning` fails validate although no tenant is read."""
    project = copy_project(tmp_path)
    (project / "stacks" / "Pulumi.ci.yaml").write_text("config:\n  cxone:onTestFailure: warning\n")
    ran = cxone("validate", project, "--stack", "ci")
    assert ran.exit_code == 1
    assert "Pulumi.ci.yaml:2" in ran.stdout
    assert "cxone:onTestFailure is 'warning': use 'fail' or 'warn'" in ran.stdout


def test_validate_flags_a_secret_looking_value_set_in_plain_text(tmp_path):
    """Issue 10: a webhook URL with a token, in plain text, reaches the state: exit 1, its line."""
    project = copy_project(tmp_path)
    (project / "stacks" / "Pulumi.ci.yaml").write_text(
        "config:\n  cxone:site: acme\n  cxone:webhookUrl: https://h.example.com/x?token=t0k3n\n"
    )
    ran = cxone("validate", project, "--stack", "ci")
    assert ran.exit_code == 1
    assert "Pulumi.ci.yaml:3" in ran.stdout
    assert "pulumi config set --secret cxone:webhookUrl" in ran.stdout
    assert "t0k3n" not in ran.stdout
    assert cxone("validate", project, "--stack", "local").exit_code == 0


# 4 ------------------------------------------------------------------------------------------


def test_an_export_that_matches_nothing_exits_1_and_lists_the_names(tmp_path, emulator):
    """Nothing matched is an error: exit 1, the tenant's names, nothing written."""
    deploy(emulator, ("crm_lookup", []), ("lead_router", ["crm_lookup"]))
    out = tmp_path / "adopted"
    ran = cxone("export", "--out", out, "--name-filter", "nomatch", env=emulator_env(emulator))
    assert ran.exit_code == 1
    assert "matches none of the 2 actions" in ran.stderr
    assert "crm_lookup, lead_router" in ran.stderr
    assert not out.exists()
    as_json = cxone(
        "export", "--out", out, "--name-filter", "x^", "--json", env=emulator_env(emulator)
    )
    assert as_json.exit_code == 1
    assert as_json.json["ok"] is False
    assert as_json.json["error"]["type"] == "NothingToExport"


# 5 ------------------------------------------------------------------------------------------


def test_demo_checks_the_program_before_looking_for_the_pulumi_cli(tmp_path):
    """A broken program is reported (exit 1) even where the Pulumi CLI is missing."""
    program = write_program(tmp_path / "broken", "raise KeyError('stage')\n")
    ran = cxone("demo", "--program", program, "--no-install", "--json", env={"PATH": ""})
    assert ran.exit_code == 1
    [problem] = ran.json["problems"]
    assert problem["kind"] == "program"
    assert "KeyError" in problem["message"]


# 6, 7 ----------------------------------------------------------------------------------------


@pytest.fixture
def not_a_database(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are notes, not a database\n" * 100)
    return path


@pytest.mark.parametrize(
    ("db", "complaint"),
    [
        ("missing/emulator.sqlite3", "does not exist"),
        ("notes.txt", "file is not a database"),
        (".", "is a folder"),
    ],
    ids=["missing-folder", "not-a-database", "a-folder"],
)
def test_a_bad_db_is_one_line_naming_the_file_and_the_fix(tmp_path, not_a_database, db, complaint):
    """--db in a missing folder, a non-database file or a folder: one line, exit 2."""
    assert not_a_database.parent == tmp_path
    ran = run_cxone("emulator", "--port", "0", "--db", db, cwd=tmp_path)
    assert ran.returncode == 2
    [line] = ran.stderr.splitlines()
    assert line.startswith("error: ")
    assert complaint in line
    assert repr(db) in line
    assert ran.stdout == ""


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_a_port_out_of_range_is_refused_naming_the_option(port):
    """--port outside 0-65535 is refused: it used to listen on port modulo 65536."""
    ran = run_cxone("emulator", "--db", ":memory:", "--port", port)
    assert ran.returncode == 2
    [line] = ran.stderr.splitlines()
    assert "--port must be between 0 and 65535" in line


def test_a_host_not_on_this_machine_names_host_not_port():
    """An address of no interface here (TEST-NET-1; nothing is sent) is a --host problem."""
    ran = run_cxone("emulator", "--db", ":memory:", "--port", "0", "--host", "192.0.2.1")
    assert ran.returncode == 2
    [line] = ran.stderr.splitlines()
    assert "--host '192.0.2.1' is not an address of this machine" in line
    assert "--port" not in line


# 8 ------------------------------------------------------------------------------------------


def v8_loaded(pid: int) -> bool:
    maps = Path(f"/proc/{pid}/maps")
    return maps.is_file() and "mini_racer" in maps.read_text(errors="replace")


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="needs /proc to see V8 load")
def test_ctrl_c_during_a_local_test_prints_one_line(tmp_path):
    """SIGINT while V8 runs a script: exit 130 and one line, not the JS engine's noise."""
    script = tmp_path / "spin.js"
    script.write_text("function main(context) { while (true) {} }\n")
    process = cxone_process(
        "test",
        script,
        cwd=tmp_path,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    while not v8_loaded(process.pid) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert v8_loaded(process.pid), "V8 was not running the script when SIGINT was to be sent"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert stderr.strip() == "Interrupted."
    assert stdout == ""


def test_a_client_that_hangs_up_mid_request_leaves_no_traceback(start_emulator):
    """A create whose body never arrives: counted as 499, nothing in the emulator's output."""
    emulator = start_emulator()
    token = emulator.token()
    with socket.create_connection(("127.0.0.1", emulator.port)) as client:
        client.sendall(
            b"POST /api/v2/dataactions/actions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {token}\r\n".encode()
            + b'Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"name": '
        )
        emulator.wait_until(lambda stats: stats["connections"] >= 2)
    emulator.wait_until(
        lambda stats: any(row["status"] == 499 for row in stats["requests"]), timeout_s=10
    )
    assert emulator.stop(signal.SIGTERM) == 0
    output = "".join(emulator.output)
    assert "Traceback" not in output
    assert "ERROR" not in output


# 9 ------------------------------------------------------------------------------------------


def test_a_python_syntax_error_is_placed_in_the_program(tmp_path):
    """Not at `<frozen importlib._bootstrap>`, but at the program's file, line and column."""
    program = write_program(tmp_path / "program", "x = 1\ndef broken(:\n    pass\n")
    ran = cxone("validate", program, "--json")
    assert ran.exit_code == 1
    [problem] = ran.json["problems"]
    assert problem["file"] == str(program / "__main__.py")
    assert (problem["line"], problem["column"]) == (2, 12)
    assert "SyntaxError" in problem["message"]


# 10 -----------------------------------------------------------------------------------------


def test_test_says_the_program_failed_and_why(tmp_path):
    """The action is missing because the program raised: say so, with the exception and line."""
    program = write_program(tmp_path / "program", RAISES_KEY_ERROR)
    ran = cxone("test", "lead_score", "--program", program)
    assert ran.exit_code == 2
    assert "the program raised KeyError" in ran.stderr
    assert "__main__.py:6" in ran.stderr
    assert "neither a script file" not in ran.stderr


# 11 -----------------------------------------------------------------------------------------


def test_test_keeps_the_line_and_column_of_a_js_syntax_error(tmp_path):
    """As validate and the API give it: V8's line and column of the script."""
    script = tmp_path / "broken.js"
    script.write_text("function main(context) {\n  return 1 +;\n}\n")
    ran = cxone("test", script, "--json")
    assert ran.exit_code == 1
    assert ran.json["status"] == "FAILURE"
    assert ran.json["error"] == "SyntaxError: Unexpected token ';' (line 2, column 13)"


# 12 -----------------------------------------------------------------------------------------


def test_test_of_a_file_that_calls_other_actions_suggests_program(tmp_path):
    """Without --program the file's context.call cannot resolve: the hint says what to add."""
    project = copy_project(tmp_path)
    script = project / "stacks" / "actions" / "lead_score.js"
    ran = cxone("test", script, "--json")
    assert ran.exit_code == 1
    assert "--program" in ran.json["hint"]
    with_program = cxone("test", script, "--program", project, "--json")
    assert with_program.exit_code == 0
    assert with_program.json["hint"] is None


# 13 -----------------------------------------------------------------------------------------


def test_settings_errors_of_export_name_the_environment_and_its_fix(tmp_path):
    """A value from CXONE_BASE_URL is named so; the fix is not `pulumi config set`."""
    ran = cxone(
        "export",
        "--out",
        tmp_path / "out",
        env={"CXONE_BASE_URL": "ftp://x", "CXONE_CLIENT_ID": "a", "CXONE_CLIENT_SECRET": "b"},
    )
    assert ran.exit_code == 2
    assert "CXONE_BASE_URL (environment variable) is 'ftp://x'" in ran.stderr
    missing = cxone("export", "--out", tmp_path / "out")
    assert missing.exit_code == 2
    assert "before running cxone export" in missing.stderr
    for pulumi_fix in ("pulumi config set", "before running pulumi"):
        assert pulumi_fix not in ran.stderr + missing.stderr


# 14 -----------------------------------------------------------------------------------------


def test_invalid_json_in_an_input_file_blames_the_file(tmp_path):
    """`--input @file` with bad JSON: fix the file, not the shell quoting."""
    (tmp_path / "lead.json").write_text("{employees: 5}")
    script = tmp_path / "echo.js"
    script.write_text(ECHO)
    ran = cxone("test", script, "--input", f"@{tmp_path / 'lead.json'}")
    assert ran.exit_code == 2
    assert "lead.json" in ran.stderr
    assert "fix the file" in ran.stderr
    assert "quote it for the shell" not in ran.stderr


# 15 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", ["validate", "graph", "diff", "export", "test", "demo", "emulator", "conformance"]
)
def test_help_shows_no_type_names(command):
    """No `--json <bool>` or `--client <list[str]>`: flags stand alone, values have a metavar."""
    ran = cxone(command, "--help")
    assert ran.exit_code == 0
    options = ran.stdout.split("Options:", 1)[1].split("Examples:", 1)[0]
    assert "--help" in options
    assert re.search(r"<(bool|str|int|float|path|list\[\w+\])>", options) is None


@pytest.mark.parametrize("command", ["test", "export"])
def test_stack_help_mentions_tenant_only_where_there_is_one(command):
    """`test` and `export` have no --tenant, so their --stack help does not mention it."""
    ran = cxone(command, "--help")
    assert "--tenant" not in ran.stdout


def test_help_paragraphs_are_reflowed_not_broken_where_the_docstring_was():
    """Within a paragraph no line is cut short where the source line ended."""
    ran = cxone("validate", "--help", env={"COLUMNS": "80"})
    description = ran.stdout.split("\n\n")[2]
    lines = description.splitlines()
    assert len(lines) > 1
    assert all(len(line) > 50 for line in lines[:-1]), description


def test_version_prints_the_package_version():
    """`cxone --version`: the version of the installed distribution, exit 0."""
    ran = cxone("--version")
    assert ran.exit_code == 0
    assert ran.stdout == f"cxone {importlib.metadata.version('cxone-provider')}\n"


def test_the_graph_format_is_accepted_in_any_case(tmp_path):
    """`--format PNG` is png."""
    project = copy_project(tmp_path)
    out = tmp_path / "graph.png"
    ran = cxone("graph", project, "--format", "PNG", "--out", out)
    assert ran.exit_code == 0
    assert out.read_bytes().startswith(b"\x89PNG")


# 16 -----------------------------------------------------------------------------------------


def test_the_picture_title_counts_every_box_it_draws(tmp_path, emulator):
    """One declared action and one on the tenant only: the title says both, two boxes."""
    deploy(emulator, ("crm_lookup", []))
    program = write_program(tmp_path / "program", ROUTER)
    ran = cxone("graph", program, "--tenant", "--format", "text", env=emulator_env(emulator))
    assert ran.exit_code == 0
    assert ran.stdout.splitlines()[0] == "program: 1 action, 1 on the tenant only"
    as_json = cxone("graph", program, "--tenant", "--json", env=emulator_env(emulator))
    assert len(as_json.json["graph"]["nodes"]) == 2


# 17 -----------------------------------------------------------------------------------------


def test_the_exported_project_installs_cxone_provider_from_this_checkout(tmp_path, emulator):
    """requirements.txt names where this cxone came from (an editable checkout here)."""
    deploy(emulator, ("crm_lookup", []))
    out = tmp_path / "adopted"
    ran = cxone("export", "--out", out, "--json", env=emulator_env(emulator))
    assert ran.exit_code == 0
    lines = [
        line
        for line in (out / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    [line] = lines
    requirement = Requirement(line)
    assert requirement.name == "cxone-provider"
    assert requirement.url == REPO.as_uri()
    assert ran.json["requirement"] == line
    readme = (out / "README.md").read_text()
    assert "pip install -r requirements.txt" in readme
    assert str(REPO) in readme
