"""`cxone test`: one action in the emulator's sandbox; context.call reaches declared actions."""

from __future__ import annotations

import json

import pytest
from cli_projects import copy_project, cxone, edit, write_program


def test_a_declared_action_passes_its_declared_test(example):
    """lead_score with its test_input returns its expected_output, through two dependencies."""
    ran = cxone("test", "lead_score", "--program", example, "--json")
    assert ran.exit_code == 0
    answer = ran.json
    assert (answer["command"], answer["ok"], answer["passed"]) == ("test", True, True)
    assert answer["action"] == "lead_score"
    assert answer["input_source"] == "declared"
    assert answer["status"] == "SUCCESS"
    assert answer["output"]["grade"] == "C"
    assert answer["output"]["score"] == 48
    assert answer["error"] is None
    assert answer["duration_ms"] > 0
    assert answer["expected_output"]["compared"] is True
    assert answer["expected_output"]["matched"] is True
    assert answer["expected_output"]["value"] == answer["output"]
    assert answer["unresolved_dependencies"] == []


def test_the_human_report_shows_status_output_and_the_comparison(example):
    """Status, duration, output, error and the expected_output verdict, then PASSED."""
    ran = cxone("test", "route_decision", "--program", example)
    assert ran.exit_code == 0
    assert "route_decision (" in ran.stdout
    assert "with its test_input" in ran.stdout
    assert "status    SUCCESS" in ran.stdout
    assert '"queue": "enterprise_sales"' in ran.stdout
    assert "expected  matches the declared expected_output" in ran.stdout
    assert ran.stdout.rstrip().endswith("✔ PASSED")


def test_an_output_that_differs_from_the_declared_one_fails_and_says_so(tmp_path):
    """A wrong expected_output: SUCCESS in the sandbox, but the test fails with exit 1."""
    project = copy_project(tmp_path)
    edit(project / "stacks" / "__main__.py", '"score": 48,', '"score": 49,')
    ran = cxone("test", "lead_score", "--program", project)
    assert ran.exit_code == 1
    assert "status    SUCCESS" in ran.stdout
    assert "does NOT match the declared expected_output" in ran.stdout
    assert '✘ FAILED: the test returned {"score": 48' in ran.stdout
    as_json = cxone("test", "lead_score", "--program", project, "--json")
    assert as_json.exit_code == 1
    assert as_json.json["expected_output"] == {
        "compared": True,
        "matched": False,
        "value": {**as_json.json["output"], "score": 49},
    }


def test_a_given_input_replaces_the_test_input_and_is_not_compared(example):
    """--input: the output is whatever main returns; expected_output belongs to test_input."""
    lead = {"lead": {"employees": 5, "source": "web"}, "at": "2024-03-16T02:00:00Z"}
    ran = cxone(
        "test", "route_decision", "--program", example, "--input", json.dumps(lead), "--json"
    )
    assert ran.exit_code == 0
    assert ran.json["input_source"] == "given"
    assert ran.json["input"] == lead
    assert ran.json["output"]["grade"] == "D"
    assert ran.json["expected_output"] == {"compared": False, "matched": None, "value": None}


def test_the_input_can_come_from_a_file(example, tmp_path):
    """--input @file.json reads the JSON from the file."""
    payload = tmp_path / "phone.json"
    payload.write_text('{"phone": "020 7946 0958", "defaultCountryCode": "44"}')
    ran = cxone("test", "normalize_phone", "--program", example, "--input", f"@{payload}", "--json")
    assert ran.exit_code == 0
    assert ran.json["output"] == {"e164": "+442079460958", "valid": True, "countryCode": "44"}


def test_a_script_file_of_the_program_runs_as_its_action(example):
    """A declared script's path: its dependencies and declared test come from the program."""
    script = example / "stacks" / "actions" / "crm_match_key.js"
    ran = cxone("test", script, "--program", example, "--json")
    assert ran.exit_code == 0
    assert ran.json["action"] == "crm_match_key"
    assert ran.json["output"] == {"key": "phone:+442079460958", "matchedOn": "phone"}


def test_a_lone_script_file_runs_without_a_program(tmp_path):
    """A .js file and an input, nothing else: no dependencies, nothing compared."""
    script = tmp_path / "double.js"
    script.write_text("function main(context) { return context.input.n * 2; }\n")
    ran = cxone("test", script, "--input", '{"n": 21}', "--json")
    assert ran.exit_code == 0
    assert (ran.json["action"], ran.json["output"]) == (None, 42)


def test_a_script_that_throws_fails_with_its_error(tmp_path):
    """FAILURE with the script's own message: exit 1."""
    script = tmp_path / "strict.js"
    script.write_text(
        "function main(context) {\n"
        "  if (!context.input.email) { throw new Error('email is required'); }\n"
        "  return true;\n"
        "}\n"
    )
    ran = cxone("test", script, "--input", "{}")
    assert ran.exit_code == 1
    assert "status    FAILURE" in ran.stdout
    assert "Error: email is required" in ran.stdout
    assert "✘ FAILED: Error: email is required" in ran.stdout


def test_a_dependency_the_program_does_not_declare_cannot_be_called(tmp_path):
    """An unmanaged dependency has no script here: the call fails and a note says why."""
    program = write_program(
        tmp_path / "program",
        "from cxone_provider import ActionCatalog\n"
        "catalog = ActionCatalog()\n"
        "catalog.include_tenant_actions(['crm_lookup'])\n"
        "catalog.add('router', script='function main(context) { "
        "return context.call(\"crm_lookup\", {}); }', dependencies=['crm_lookup'])\n"
        "catalog.register()\n",
    )
    ran = cxone("test", "router", "--program", program)
    assert ran.exit_code == 1
    assert 'context.call("crm_lookup"): the dependency does not exist' in ran.stdout
    assert "not declared in the program, so context.call cannot reach them here: crm_lookup" in (
        ran.stderr
    )
    as_json = cxone("test", "router", "--program", program, "--json")
    assert as_json.json["status"] == "FAILURE"
    assert as_json.json["unresolved_dependencies"] == ["crm_lookup"]
    assert "the dependency does not exist" in as_json.json["error"]


def test_an_unknown_action_is_a_usage_error_with_a_suggestion(example):
    """A name nobody declares: exit 2, the closest declared name and the whole list."""
    ran = cxone("test", "lead_scor", "--program", example)
    assert ran.exit_code == 2
    assert "did you mean 'lead_score'?" in ran.stderr
    assert "declared: normalize_phone, normalize_email" in ran.stderr


def test_input_that_is_not_json_is_a_usage_error(example):
    """--input {oops}: exit 2, with how to quote it."""
    ran = cxone("test", "lead_score", "--program", example, "--input", "{oops}", "--json")
    assert ran.exit_code == 2
    assert ran.json["error"]["type"] == "ConfigurationError"
    assert "--input is not valid JSON" in ran.json["error"]["message"]


NOT_JSON = (
    "main(context) returned a {}, which is not JSON; return a JSON value "
    "(object, array, string, number, boolean or null)"
)
SURROGATE_OUTPUT = (
    "the output holds a lone UTF-16 surrogate (\\ud800), which is not Unicode text "
    "and cannot be sent as JSON; return well-formed strings"
)
SURROGATE_INPUT = (
    "the input holds a lone UTF-16 surrogate (\\ud800), which is not Unicode text; "
    "send well-formed strings"
)


@pytest.mark.parametrize(
    ("script", "given", "error"),
    [
        ("function main(context) { return function () {}; }", "{}", NOT_JSON.format("function")),
        ("function main(context) { return Symbol(); }", "{}", NOT_JSON.format("symbol")),
        ("function main(context) { return '\\ud800'; }", "{}", SURROGATE_OUTPUT),
        ("function main(context) { throw new Error('\\ud800'); }", "{}", "Error: \\ud800"),
        ("function main(context) { return context.input; }", '"\\ud800"', SURROGATE_INPUT),
    ],
    ids=["function", "symbol", "surrogate-output", "surrogate-error", "surrogate-input"],
)
def test_a_result_that_is_not_json_is_a_failure_in_valid_json(tmp_path, script, given, error):
    """Issue 11, case 3: --json stays one valid JSON object; the run is a FAILURE, exit 1."""
    path = tmp_path / "odd.js"
    path.write_text(script)
    ran = cxone("test", path, "--input", given, "--json")
    assert ran.exit_code == 1
    assert (ran.json["status"], ran.json["output"], ran.json["error"]) == ("FAILURE", None, error)


def test_a_script_file_that_is_not_utf8_is_a_usage_error_naming_it(tmp_path):
    """Issue 11, case 16: exit 2 and a message naming the file, in valid JSON with --json."""
    path = tmp_path / "latin1.js"
    path.write_bytes("function main(c) { return 'café'; }".encode("latin-1"))
    ran = cxone("test", path, "--json")
    assert ran.exit_code == 2
    assert ran.json["error"]["type"] == "ConfigurationError"
    assert f"{str(path)!r} is not UTF-8 text (byte 0xe9" in ran.json["error"]["message"]
    plain = cxone("test", path)
    assert plain.exit_code == 2
    assert "is not UTF-8 text" in plain.stderr
    assert "Traceback" not in plain.stderr + plain.stdout


def test_an_input_file_that_is_not_utf8_is_a_usage_error_naming_it(tmp_path):
    """Issue 11, case 16: --input @file that is not UTF-8: exit 2, the file named."""
    script = tmp_path / "echo.js"
    script.write_text("function main(c) { return c.input; }")
    data = tmp_path / "input.json"
    data.write_bytes(b'{"name": "\xff"}')
    ran = cxone("test", script, "--input", f"@{data}", "--json")
    assert ran.exit_code == 2
    assert (
        f"{str(data)!r} is not UTF-8 text (byte 0xff at offset 10)"
        in (ran.json["error"]["message"])
    )
