"""`cxone conformance` against the emulator: it passes, leaves the tenant as found, and fails.

The negative controls switch one promise of the contract off in the emulator
(`POST /_emulator/broken`) and expect exactly the checks that rely on it to fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from cli_projects import ECHO, cxone, emulator_env
from emulator_process import action_body

from cxone_provider.api.client import CxoneClient
from cxone_provider.api.models import validate_spec
from cxone_provider.cli.conformance import GROUP_NAMES
from cxone_provider.cli.conformance_checks import GROUPS, SUITE
from cxone_provider.cli.conformance_probe import FAMILY, Marker

TOKEN_ROUTE = "/api/v2/oauth/token"


def tenant_snapshot(emulator):
    """Every action of the tenant as (id, name, version, modifiedTimestamp)."""
    with CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as api:
        return sorted((a.id, a.name, a.version, a.modified_timestamp) for a in api.list_actions())


def seed_tenant(emulator):
    """Two actions another team made, one of them updated once."""
    with CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as api:
        base = api.create_action(validate_spec(action_body("team_base")), idempotency_key="k1")
        api.create_action(
            validate_spec(action_body("team_user", "team_base")), idempotency_key="k2"
        )
        changed = {**action_body("team_base"), "description": "changed once"}
        api.update_action(base.action.id, validate_spec(changed), if_match=1)


def conformance(emulator, *args, input_text=None):
    return cxone(
        "conformance", emulator.base_url, *args, env=emulator_env(emulator), input_text=input_text
    )


def verdicts(ran):
    return {f"{c['group']}.{c['check']}": c["result"] for c in ran.json["checks"]}


def test_conformance_passes_every_check_and_leaves_the_tenant_as_it_found_it(emulator):
    """Every check passes on the emulator; same actions, same versions after; no secret shown."""
    seed_tenant(emulator)
    before = tenant_snapshot(emulator)
    ran = conformance(emulator, "--yes", "--json")
    assert ran.exit_code == 0, ran.stdout
    results = verdicts(ran)
    assert set(results.values()) == {"pass"}, {k: v for k, v in results.items() if v != "pass"}
    assert {check.split(".")[0] for check in results} == set(GROUPS)
    assert len(results) == len(SUITE)
    assert ran.json["ok"] is True
    assert ran.json["cleanup"]["left"] == []
    assert ran.json["cleanup"]["deleted"]
    assert tenant_snapshot(emulator) == before
    assert emulator.client_secret not in ran.stdout
    assert "cxe_" not in ran.stdout  # the emulator's access tokens
    assert ran.json["requests"] <= 600


def test_read_only_sends_no_write_and_skips_the_checks_that_write(emulator):
    """--read-only: only GET requests (and token requests) reach the emulator; nothing written."""
    seed_tenant(emulator)
    before = tenant_snapshot(emulator)
    writes_before = emulator.stats()["api_writes"]
    ran = conformance(emulator, "--read-only", "--yes", "--json")
    assert ran.exit_code == 0, ran.stdout
    stats = emulator.stats()
    assert stats["api_writes"] == writes_before
    methods = {
        (r["method"], r["path"])
        for r in stats["requests"]
        if r["path"] != TOKEN_ROUTE and r["method"] != "GET"
    }
    # The only non-GET requests are the seeding's, made before the run.
    assert methods <= {
        ("POST", "/api/v2/dataactions/actions"),
        ("PUT", "/api/v2/dataactions/actions/{id}"),
    }
    seeded = sum(
        r["count"]
        for r in stats["requests"]
        if r["method"] in {"POST", "PUT", "DELETE"} and r["path"] != TOKEN_ROUTE
    )
    assert seeded == 3
    results = verdicts(ran)
    writing = {check.id for check in SUITE if check.writes}
    assert {results[c] for c in writing} == {"skip"}
    assert {v for c, v in results.items() if c not in writing} == {"pass"}
    assert tenant_snapshot(emulator) == before


# behaviour switched off, the groups run, the checks that must fail (and no other)
NEGATIVE_CONTROLS = [
    (
        "idempotency",
        "idempotency",
        {
            "idempotency.replay",
            "idempotency.key_reused",
            "idempotency.quoted_key",
            "idempotency.error_replayed",
            "idempotency.concurrent",
        },
    ),
    ("if-match", "if-match", {"if-match.stale"}),
    ("delete-in-use", "dependencies", {"dependencies.in_use"}),
    ("rate-limit-headers", "rate-limit", {"rate-limit.headers"}),
    ("pagination", "pagination", {"pagination.walk"}),
    ("description-limit", "validation", {"validation.description_length"}),
]


@pytest.mark.parametrize(
    ("behaviour", "groups", "failing"), NEGATIVE_CONTROLS, ids=[c[0] for c in NEGATIVE_CONTROLS]
)
def test_a_broken_behaviour_fails_exactly_its_checks(emulator, behaviour, groups, failing):
    """Each negative control fails exactly the checks that rely on it; the run still cleans up."""
    emulator.break_behaviours(behaviour)
    ran = conformance(emulator, "--yes", "--json", "--only", groups)
    assert ran.exit_code == 1, ran.stdout
    results = verdicts(ran)
    assert {c for c, v in results.items() if v == "fail"} == failing
    assert {v for c, v in results.items() if c not in failing} == {"pass"}
    for check in ran.json["checks"]:
        if check["result"] == "fail":
            assert check["unsafe"]
            assert check["evidence"]
    emulator.break_behaviours()
    assert tenant_snapshot(emulator) == []


def test_a_failure_says_what_is_unsafe_in_text_and_markdown(emulator):
    """The text and Markdown reports name the failed check, what is unsafe, and the evidence."""
    emulator.break_behaviours("if-match")
    text = conformance(emulator, "--yes", "--only", "if-match")
    markdown = conformance(emulator, "--yes", "--only", "if-match", "--format", "markdown")
    assert text.exit_code == markdown.exit_code == 1
    assert "✘ if-match.stale: expected 412 VERSION_MISMATCH, got 200" in text.stdout
    assert "silently overwritten (lost update)" in text.stdout
    assert "| if-match | `stale` | fail |" in markdown.stdout
    assert "- **unsafe:** updates are not optimistically locked on this tenant" in markdown.stdout
    assert "```http\nPUT /api/v2/dataactions/actions/" in markdown.stdout


def test_faults_and_latency_give_retries_or_inconclusive_never_a_failure(start_emulator):
    """With latency, 503s and dropped answers, no check fails, and the tenant ends empty."""
    noisy = start_emulator(
        "--latency-ms", "5", "--fault-rate", "0.1", "--drop-rate", "0.15", "--seed", "23"
    )
    ran = conformance(noisy, "--yes", "--json")
    results = verdicts(ran)
    assert "fail" not in results.values(), ran.stdout
    assert ran.exit_code == 0
    assert results["idempotency.replay"] in {"pass", "inconclusive"}
    assert noisy.stats()["faults_injected"] > 0
    assert noisy.stats()["drops"] > 0
    assert tenant_snapshot(noisy) == []


def test_a_create_whose_answers_were_all_lost_is_inconclusive_and_still_deleted(emulator):
    """Four dropped answers: the check cannot judge, and the cleanup finds the action by name."""
    emulator.add_fault("POST", "/api/v2/dataactions/actions", drop=True, count=4)
    ran = conformance(emulator, "--yes", "--json", "--only", "crud")
    results = verdicts(ran)
    assert results["crud.create"] == "inconclusive"
    assert "fail" not in results.values()
    assert any("_crud (" in deleted for deleted in ran.json["cleanup"]["deleted"])
    assert tenant_snapshot(emulator) == []


def test_a_tenant_that_keeps_failing_gives_inconclusive_not_a_failure(emulator):
    """503 on every attempt: the check is inconclusive, with the last answer as evidence."""
    template = "/api/v2/dataactions/actions/{id}"
    emulator.add_fault("GET", template, status=503, count=4, headers={"Retry-After": "0"})
    ran = conformance(emulator, "--yes", "--json", "--only", "errors")
    check = ran.json["checks"][0]
    assert (check["check"], check["result"]) == ("not_found", "inconclusive")
    assert check["reason"].startswith("no conclusive answer to GET")
    assert check["evidence"][-1]["status"] is None
    assert ran.exit_code == 0


def test_the_next_run_sweeps_an_interrupted_runs_actions_and_nothing_else(emulator):
    """Leftovers of a dead run are deleted first; other actions (even cxconf_ ones) stay."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    this_host, now_ms = Marker.new("x").host, int(time.time() * 1000)
    dead = Marker("run1", "cxconf_dead0001_", this_host, ended.pid, now_ms)
    alive = Marker("run2", "cxconf_live0001_", this_host, os.getpid(), now_ms)
    foreign = Marker("run3", "team_", this_host, ended.pid, now_ms)
    declared = [
        ("cxconf_dead0001_base", (), f"{dead}"),
        ("cxconf_dead0001_user", ("cxconf_dead0001_base",), f"{dead} (user)"),
        ("cxconf_live0001_base", (), f"{alive}"),
        ("cxconf_manual", (), "made by hand"),
        ("team_thing", (), f"{foreign}"),
        ("cxconf_dead0001_forged", (), "no marker here"),
    ]
    with CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as api:
        for name, dependencies, description in declared:
            spec = validate_spec(
                {
                    "name": name,
                    "description": description,
                    "script": {"content": ECHO},
                    "dependencies": list(dependencies),
                }
            )
            api.create_action(spec, idempotency_key=name)
    ran = conformance(emulator, "--yes", "--json", "--only", "errors")
    assert ran.exit_code == 0, ran.stdout
    assert sorted(s.split(" ")[0] for s in ran.json["swept"]) == [
        "cxconf_dead0001_base",
        "cxconf_dead0001_user",
    ]
    assert any("cxconf_live0001_base" in note for note in ran.json["notes"])
    names = sorted(name for _, name, _, _ in tenant_snapshot(emulator))
    assert names == [
        "cxconf_dead0001_forged",
        "cxconf_live0001_base",
        "cxconf_manual",
        "team_thing",
    ]


def test_ctrl_c_ends_the_run_and_deletes_its_actions(emulator, tmp_path):
    """SIGINT in the middle of the sandbox checks: exit 130, and the run's actions are gone."""
    seed_tenant(emulator)
    before = tenant_snapshot(emulator)
    env = {**os.environ, **{k: v for k, v in emulator_env(emulator).items() if v is not None}}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cxone_provider",
            "conformance",
            emulator.base_url,
            "--yes",
            "--only",
            "sandbox",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    emulator.wait_until(lambda stats: stats["sandbox_runs"] >= 1, timeout_s=30)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stdout
    assert tenant_snapshot(emulator) == before


def test_the_request_budget_bounds_the_run(emulator):
    """--max-requests: checks past the budget are skipped with why; the cleanup still runs."""
    ran = conformance(emulator, "--yes", "--json", "--max-requests", "12")
    assert ran.exit_code == 0, ran.stdout
    skipped = [c for c in ran.json["checks"] if c["result"] == "skip"]
    assert skipped
    assert all("--max-requests 12" in c["reason"] for c in skipped)
    assert tenant_snapshot(emulator) == []


@pytest.mark.parametrize("answer", ["n\n", ""], ids=["no", "no terminal"])
def test_it_asks_first_and_does_nothing_when_told_no(emulator, answer):
    """Without --yes it shows its plan (even with --json) and asks; no: exit 2, nothing written."""
    ran = conformance(emulator, "--json", input_text=answer)
    assert ran.exit_code == 2
    assert "deletes them all at the end" in ran.stderr
    assert "not confirmed: nothing was done" in ran.stdout
    assert emulator.stats()["api_writes"] == 0


def test_a_stack_names_the_tenant_and_its_own_secret(emulator, tmp_path):
    """--stack reads Pulumi.NAME.yaml's baseUrl and clientId, the secret from its variable."""
    (tmp_path / "Pulumi.yaml").write_text("name: checked\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "Pulumi.mine.yaml").write_text(
        f"config:\n  cxone:baseUrl: {emulator.base_url}\n  cxone:clientId: {emulator.client_id}\n"
    )
    env = {"CXONE_CLIENT_SECRET_MINE": emulator.client_secret}
    ran = cxone(
        "conformance",
        "--stack",
        "mine",
        "--program",
        tmp_path,
        "--yes",
        "--json",
        "--only",
        "errors",
        env=env,
    )
    assert ran.exit_code == 0, ran.stdout
    assert ran.json["tenant"] == emulator.base_url


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--only", "bogus"), "bogus: not a group"),
        (("--json", "--format", "markdown"), "two answers"),
        (("--prefix", "bad prefix"), "use 1 to 40 letters"),
        (("--stack", "dev"), "give the tenant once"),
    ],
)
def test_usage_errors_exit_2(emulator, args, message):
    """Bad options are refused with exit 2 and what to fix."""
    ran = conformance(emulator, "--yes", *args)
    assert ran.exit_code == 2
    assert message in ran.stderr


def test_refused_credentials_exit_2(emulator):
    """A wrong secret ends the run before any check, with exit 2 and the fix."""
    env = {**emulator_env(emulator), "CXONE_CLIENT_SECRET": "wrong-secret"}
    ran = cxone("conformance", emulator.base_url, "--yes", env=env)
    assert ran.exit_code == 2
    assert "invalid_client" in ran.stderr
    assert emulator.stats()["api_writes"] == 0


def test_the_help_lists_every_group():
    """GROUP_NAMES (for --help, built before the checks load) is the suite's groups."""
    assert GROUP_NAMES.split(", ") == list(GROUPS)
    assert FAMILY == "cxconf_"


def test_an_unreachable_tenant_exits_2_before_any_check():
    """No answer at the URL: exit 2 naming the URL and what to check; nothing asked, nothing run."""
    env = {"CXONE_CLIENT_ID": "someone", "CXONE_CLIENT_SECRET": "something"}
    ran = cxone("conformance", "http://127.0.0.1:1", "--yes", env=env)
    assert ran.exit_code == 2
    assert "http://127.0.0.1:1/api/v2/dataactions/actions got no answer" in ran.stderr
