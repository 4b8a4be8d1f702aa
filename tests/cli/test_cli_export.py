"""`cxone export`: a tenant's actions as a program that validates clean and adopts them as is."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest
from cli_projects import ACTIONS, REPO, STACKS, cxone, deploy_example, emulator_env
from hypothesis import given, settings
from hypothesis import strategies as st
from paging_server import PagingServer, tenant_action
from provider_server import ForwardingMocks, ProviderServer
from stack_mocks import mocked_engine, run_stack_program

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.api.models import Action, validate_spec
from cxone_provider.cli.export_program import exportable, write_program
from cxone_provider.cli.preflight import preflight
from cxone_provider.cli.program import evaluate


def graph_of(validated):
    graph = validated.json["graph"]
    nodes = {(node["name"], node["kind"]) for node in graph["nodes"]}
    edges = {(edge["from"], edge["to"], tuple(edge["kinds"])) for edge in graph["edges"]}
    return nodes, edges


@pytest.fixture
def plugin(tmp_path, emulator):
    server = ProviderServer(tmp_path)
    server.configure(
        {
            "cxone:baseUrl": emulator.base_url,
            "cxone:clientId": emulator.client_id,
            "cxone:clientSecret": emulator.client_secret,
        },
        secret_keys=("cxone:clientSecret",),
    )
    yield server
    server.stop()


def test_exporting_the_deployed_example_round_trips(tmp_path, emulator, api, plugin):
    """Deploy, export, validate: no problem and the same graph; then adopt through the provider.

    Each declaration says adopt=True: its create takes over the action (same id), no write.
    """
    ids = deploy_example(api)
    out = tmp_path / "adopted"
    exported = cxone("export", "--out", out, "--json", env=emulator_env(emulator))
    assert exported.exit_code == 0, exported.stdout + exported.stderr
    answer = exported.json
    assert (answer["command"], answer["ok"], answer["source"]) == (
        "export",
        True,
        emulator.base_url,
    )
    assert {action["name"]: action["id"] for action in answer["actions"]} == ids
    assert answer["unmanaged"] == []
    for name in ACTIONS:
        assert (out / "actions" / f"{name}.js").read_bytes() == (
            STACKS / "actions" / f"{name}.js"
        ).read_bytes()

    validated = cxone("validate", out, "--json")
    assert validated.exit_code == 0, validated.stdout
    assert validated.json["problems"] == []
    original = cxone("validate", REPO, "--json")
    assert graph_of(validated) == graph_of(original)

    writes = emulator.stats()["api_writes"]
    mocks = ForwardingMocks(plugin)
    with mocked_engine(mocks=mocks):
        run_stack_program(out)
    assert {name: recorded.id for name, recorded in mocks.state.items()} == ids
    assert mocks.calls == {"Check": len(ACTIONS), "Create": len(ACTIONS)}
    assert emulator.stats()["api_writes"] == writes


def test_a_name_filter_exports_a_part_and_leaves_its_dependencies_unmanaged(
    tmp_path, emulator, api
):
    """--name-filter: matching actions only; their other dependencies stay tenant actions."""
    deploy_example(api)
    out = tmp_path / "scoring"
    ran = cxone(
        "export", "--out", out, "--name-filter", "^(lead|route)_", env=emulator_env(emulator)
    )
    assert ran.exit_code == 0
    assert f"Exported 2 of 7 actions from {emulator.base_url} to {out}" in ran.stdout
    assert "left unmanaged (dependencies not exported): base_enrichment, business_hours" in (
        ran.stdout
    )
    assert sorted(path.name for path in (out / "actions").iterdir()) == [
        "lead_score.js",
        "route_decision.js",
    ]
    validated = cxone("validate", out, "--json")
    assert validated.exit_code == 0, validated.stdout
    nodes, _ = graph_of(validated)
    assert nodes == {
        ("lead_score", "declared"),
        ("route_decision", "declared"),
        ("base_enrichment", "tenant"),
        ("business_hours", "tenant"),
    }
    with_tenant = cxone("validate", out, "--tenant", "--json", env=emulator_env(emulator))
    assert with_tenant.exit_code == 0


def test_scripts_keep_their_exact_bytes_even_with_windows_line_endings(tmp_path, emulator, api):
    """A script with CRLF line endings is written and read back byte for byte."""
    content = "// made on Windows\r\nfunction main(context) {\r\n  return context.input;\r\n}\r\n"
    created = api.create_action(
        validate_spec({"name": "crlf_echo", "script": {"content": content}}),
        idempotency_key=str(uuid.uuid4()),
    ).action
    out = tmp_path / "crlf"
    assert cxone("export", "--out", out, env=emulator_env(emulator)).exit_code == 0
    assert (out / "actions" / "crlf_echo.js").read_bytes() == content.encode()
    declarations = evaluate(out)
    assert declarations.find("crlf_echo").inputs["script"] == content
    assert preflight(declarations).findings == ()
    assert created.id not in (out / "__main__.py").read_text()
    assert "adopt=True" in (out / "__main__.py").read_text()


def test_an_earlier_export_is_not_overwritten_without_force(tmp_path, emulator, api):
    """A second export into the same folder: exit 2, unless --force."""
    deploy_example(api)
    out = tmp_path / "adopted"
    env = emulator_env(emulator)
    assert cxone("export", "--out", out, env=env).exit_code == 0
    again = cxone("export", "--out", out, env=env)
    assert again.exit_code == 2
    assert "already holds Pulumi.yaml" in again.stderr
    assert "--force" in again.stderr
    assert cxone("export", "--out", out, "--force", env=env).exit_code == 0


def test_a_bad_name_filter_and_a_missing_connection_are_usage_errors(tmp_path, emulator):
    """An invalid regular expression, or no credentials: exit 2 and what to fix."""
    bad = cxone(
        "export",
        "--out",
        tmp_path / "a",
        "--name-filter",
        "([",
        "--json",
        env=emulator_env(emulator),
    )
    assert bad.exit_code == 2
    assert "is not a regular expression" in bad.json["error"]["message"]
    unconnected = cxone("export", "--out", tmp_path / "b")
    assert unconnected.exit_code == 2
    assert "missing cxone:baseUrl" in unconnected.stderr


@pytest.mark.parametrize("paging", ["repeat", "endless"])
def test_an_export_from_a_server_that_pages_for_ever_ends_with_a_usage_error(tmp_path, paging):
    """Issue 11, case 14: a repeated cursor, or pages without end, stop export with exit 2."""
    server = PagingServer(paging)
    try:
        env = {
            "CXONE_BASE_URL": server.base_url,
            "CXONE_CLIENT_ID": "any",
            "CXONE_CLIENT_SECRET": "secret",
            "CXONE_OPERATION_TIMEOUT": "1",
        }
        ran = cxone("export", "--out", tmp_path / "out", "--json", env=env)
    finally:
        server.close()
    assert ran.exit_code == 2
    error = ran.json["error"]
    if paging == "repeat":
        assert error["type"] == "CxoneError"
        assert "gave the same nextCursor again" in error["message"]
    else:
        assert error["type"] == "DeadlineExceededError"
        assert "took longer than 1 s" in error["message"]
        assert "CXONE_OPERATION_TIMEOUT" in error["message"]


def test_credentials_and_query_of_the_base_url_are_never_written(tmp_path, emulator, api):
    """Issue 11, case 13: not in __main__.py, Pulumi.yaml, the --json output or the text."""
    deploy_example(api)
    host = emulator.base_url.removeprefix("http://")
    env = {
        **emulator_env(emulator),
        "CXONE_BASE_URL": f"http://leaky-user:leaky-pass@{host}/?apikey=leaky-query",
    }
    out = tmp_path / "adopted"
    ran = cxone("export", "--out", out, "--json", env=env)
    assert ran.exit_code == 0, ran.stderr
    assert ran.json["source"] == emulator.base_url
    text = cxone("export", "--out", tmp_path / "again", env=env)
    written = (
        "".join(path.read_text() for path in out.rglob("*") if path.is_file())
        + ran.stdout
        + text.stdout
        + text.stderr
    )
    for secret in ("leaky-user", "leaky-pass", "leaky-query"):
        assert secret not in written


HOSTILE_NAMES = ("../../escaped_by_name", "/var/absolute_name", "..", "a\\b", "ok\x1b[2Kname")


def hostile_tenant(*extra: dict) -> PagingServer:
    """A tenant whose action names are paths and terminal controls, beside one good action."""
    actions = [tenant_action(number, name) for number, name in enumerate(HOSTILE_NAMES, start=1)]
    actions.append(tenant_action(90, "good_one", description="fine\x1b]0;title\x07"))
    actions.append(tenant_action(91, "calls_bad", dependencies=["../../escaped_by_name"]))
    return PagingServer("fixed", [*actions, *extra])


def tenant_env(server: PagingServer) -> dict[str, str | None]:
    return {"CXONE_BASE_URL": server.base_url, "CXONE_CLIENT_ID": "id", "CXONE_CLIENT_SECRET": "s"}


def test_tenant_names_that_are_paths_are_skipped_and_nothing_is_written_outside(tmp_path):
    """Issue 20: `../../escaped_by_name` was written outside --out; now it is reported, skipped."""
    server = hostile_tenant()
    out = tmp_path / "deep" / "out"
    try:
        ran = cxone("export", "--out", out, env=tenant_env(server))
        as_json = cxone("export", "--out", tmp_path / "json", "--json", env=tenant_env(server))
    finally:
        server.close()
    assert ran.exit_code == 0, ran.stderr
    outside = [p for p in tmp_path.rglob("*") if out not in (p, *p.parents)]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in outside if p.is_file()) == [
        f"json/{name}"
        for name in (
            "Pulumi.yaml",
            "README.md",
            "__main__.py",
            "actions/good_one.js",
            "requirements.txt",
        )
    ]
    assert sorted(p.name for p in (out / "actions").iterdir()) == ["good_one.js"]
    program = (out / "__main__.py").read_text()
    assert "escaped_by_name" not in program
    assert "\x1b" not in program.replace("\\u001b", "")
    assert "\x1b" not in ran.stdout + ran.stderr
    assert "ok\\x1b[2Kname" in ran.stderr
    skipped = {item["name"] for item in as_json.json["skipped"]}
    assert skipped == {*HOSTILE_NAMES, "calls_bad"}


def test_an_export_never_writes_through_a_symlink(tmp_path):
    """A symlinked actions folder or script file in --out is refused, the target untouched."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "victim.txt"
    victim.write_text("keep me")
    linked_folder = tmp_path / "linked_folder"
    linked_folder.mkdir()
    (linked_folder / "actions").symlink_to(elsewhere, target_is_directory=True)
    linked_file = tmp_path / "linked_file"
    (linked_file / "actions").mkdir(parents=True)
    (linked_file / "actions" / "good_one.js").symlink_to(victim)
    server = hostile_tenant()
    try:
        runs = [
            cxone("export", "--out", out, "--force", env=tenant_env(server))
            for out in (linked_folder, linked_file)
        ]
    finally:
        server.close()
    for ran in runs:
        assert ran.exit_code == 2
        assert "leads outside" in ran.stderr
    assert victim.read_text() == "keep me"
    assert sorted(path.name for path in elsewhere.iterdir()) == ["victim.txt"]


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(
        st.text(alphabet=st.sampled_from("ab_-./\\\x00\x1b\x9b\n~:"), min_size=1, max_size=12),
        min_size=1,
        max_size=5,
        unique=True,
    )
)
def test_whatever_the_tenant_names_are_only_files_inside_out_are_written(names):
    """Fuzz: names of separators, dots and controls become files inside --out, or are skipped."""
    actions = [
        Action.model_validate(tenant_action(number, name)) for number, name in enumerate(names)
    ]
    kept, skipped = exportable(actions)
    assert {a.name for a in kept} | {s.name for s in skipped} == set(names)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        out = root / "a" / "out"
        if kept:
            write_program(kept, out, source="https://t.example", project="p")
        for path in root.rglob("*"):
            assert path == root / "a" or out in (path, *path.parents)
        written = sorted(p.name for p in (out / "actions").iterdir()) if kept else []
        assert written == sorted(f"{a.name}.js" for a in kept)


def test_writing_a_program_of_an_unchecked_name_is_refused(tmp_path):
    """write_program itself refuses a name that breaks the rule, should a caller skip the check."""
    action = Action.model_validate(tenant_action(1, "../outside"))
    with pytest.raises(ConfigurationError, match="refusing to write 1 actions"):
        write_program([action], tmp_path / "out", source="https://t.example", project="p")
    assert list(tmp_path.iterdir()) == []
