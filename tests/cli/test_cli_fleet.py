"""`cxone fleet` without the engine: stack selection, CI shards, usage errors, the views.

The fleet's runs with the real Pulumi CLI, PostgreSQL and emulators are in
tests/engine/test_engine_fleet.py.
"""

from __future__ import annotations

import io

from cli_projects import cxone
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from cxone_provider.cli.automation import first_error_line
from cxone_provider.cli.fleet import _live_view
from cxone_provider.cli.fleet_run import (
    Fleet,
    Outcome,
    Result,
    select_stacks,
    shard,
)
from cxone_provider.cli.output import Output

STACK_NAMES = st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), unique=True)


@given(stacks=STACK_NAMES, count=st.integers(min_value=1, max_value=6))
def test_the_shards_of_a_ci_matrix_cover_each_stack_exactly_once(stacks, count):
    """Jobs 1..N together run every stack once, whatever order the stacks are listed in."""
    covered = [
        s for index in range(1, count + 1) for s in shard(list(reversed(stacks)), index, count)
    ]
    assert sorted(covered) == sorted(stacks)
    assert shard(stacks, 1, count) == shard(sorted(stacks), 1, count)


def test_stacks_are_selected_by_name_and_shell_pattern():
    """Names and globs, each stack once, sorted; no pattern selects all."""
    available = ["brand-b", "brand-a", "prod", "dev"]
    assert select_stacks(available, ["brand-*", "dev", "brand-a"]) == ["brand-a", "brand-b", "dev"]
    assert select_stacks(available, []) == ["brand-a", "brand-b", "dev", "prod"]


def test_a_stack_without_a_config_file_is_a_usage_error(example):
    """Exit 2, naming the pattern and the stacks there are."""
    ran = cxone("fleet", "preview", "--stack", "staging", "--program", example)
    assert ran.exit_code == 2
    assert "--stack staging: no stack config file matches (stacks: dev, local, prod)" in ran.stderr


def test_a_malformed_shard_is_a_usage_error(example):
    """3/2 and x are not shards: exit 2 with the form to use."""
    for spec in ("3/2", "x", "0/2"):
        ran = cxone("fleet", "diff", "--shard", spec, "--program", example)
        assert ran.exit_code == 2, spec
        assert "give I/N with 1 <= I <= N" in ran.stderr


def test_up_without_a_terminal_to_ask_on_needs_yes(example):
    """Nothing runs: exit 2, saying to give --yes."""
    ran = cxone("fleet", "up", "--stack", "local", "--program", example)
    assert ran.exit_code == 2
    assert "Give --yes" in ran.stderr


def test_the_first_error_line_is_the_providers_exception_else_pulumis_error():
    """A traceback's last exception wins; else the first `error:` that is not a consequence."""
    traceback = (
        "error: update failed\n    error: Traceback (most recent call last):\n"
        '      File "x.py", line 1\n'
        "    cxone_provider.api.errors.AuthenticationError: The token endpoint answered 401\n"
    )
    assert first_error_line(traceback) == "AuthenticationError: The token endpoint answered 401"
    locked = "Updating (ci):\nerror: update failed\nerror: the stack is currently locked"
    assert first_error_line(locked) == "the stack is currently locked"
    assert first_error_line("Error: unable to open state database") == (
        "unable to open state database"
    )
    assert first_error_line("\n") == "failed without a message"


def test_a_failed_provider_call_is_summed_up_by_its_headline_and_message():
    """The cause's headline and message, not the OperationFailedError that points at them."""
    failed = (
        "  pulumi-python:dynamic/dataaction:DataAction (lead_score):\n"
        "    error: cxone_provider.api.errors.AuthenticationError: the create of Data Action "
        "'lead_score' failed:\n"
        "    The token endpoint answered 401 invalid_client: unknown client id\n"
        "    The above exception was the direct cause of the following exception:\n"
        "    Traceback (most recent call last):\n"
        "    cxone_provider.api.errors.OperationFailedError: the create of Data Action "
        "'lead_score' failed: see the error above\n"
    )
    assert first_error_line(failed) == (
        "AuthenticationError: the create of Data Action 'lead_score' failed: The token "
        "endpoint answered 401 invalid_client: unknown client id"
    )


def test_a_terminal_shows_a_line_per_stack_as_it_changes():
    """The live view draws every stack, its result and its steps."""
    output = Output("fleet up", as_json=False)
    screen = io.StringIO()
    output.err = Console(file=screen, force_terminal=True, width=100)

    def task(outcome: Outcome, update) -> Outcome:
        update(Outcome(outcome.stack, Result.RUNNING, steps=3))
        if outcome.stack == "b":
            return Outcome(outcome.stack, Result.FAILED, error="refused")
        return Outcome(outcome.stack, Result.SUCCEEDED, created=2)

    with _live_view(output, ["a", "b"]) as on_change:
        outcomes = Fleet(2, on_change).run(["a", "b"], task)
    assert [o.result for o in outcomes] == [Result.SUCCEEDED, Result.FAILED]
    drawn = screen.getvalue()
    assert "running" in drawn
    assert "refused" in drawn


def test_without_the_pulumi_cli_the_json_answer_names_it_and_how_to_install_it(example, tmp_path):
    """Preview on a PATH without pulumi: exit 2, PulumiCliMissing, the advice names the fleet."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "home").mkdir()
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path / "home")}
    ran = cxone("fleet", "preview", "--json", "--program", example, env=env)
    assert ran.exit_code == 2
    assert ran.json["command"] == "fleet preview"
    assert ran.json["error"]["type"] == "PulumiCliMissing"
    assert ran.json["error"]["message"].startswith("cxone fleet deploys with `pulumi up`")
