"""`cxone diff` against two emulators, a program and an export: what differs, and nothing written.

The left tenant is the session's emulator (stack `staging`), the right one a second emulator
(stack `prod`) whose first OAuth client is `prodci` with its own secret, so that the two-stack
tests also prove that each stack takes its own secret (`CXONE_CLIENT_SECRET_<STACK>`).
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pytest
from cli_projects import ECHO, cxone, emulator_env, write_program
from emulator_process import EmulatorProcess
from provider_server import ForwardingMocks, ProviderServer, emulator_settings
from pulumi.runtime.settings import set_root_resource
from stack_mocks import run_stack_program

from cxone_provider.api.client import CxoneClient
from cxone_provider.api.models import validate_spec

TOKEN_PATH = "/api/v2/oauth/token"
PROD_CLIENT = ("prodci", "prod-secret")
NORMALIZE = "function main(context) {\n  return {value: String(context.input.value).trim()};\n}\n"
ENRICH = (
    "function main(context) {\n"
    '  const clean = context.call("normalize", context.input);\n'
    "  return {value: clean.value, size: clean.value.length};\n"
    "}\n"
)
SCORE = (
    "function main(context) {\n"
    '  const rich = context.call("enrich", context.input);\n'
    "  return {score: rich.size * 10};\n"
    "}\n"
)
# name, script, dependencies (in this order), description
BASELINE = (
    ("normalize", NORMALIZE, [], "Trims the value"),
    ("enrich", ENRICH, ["normalize"], "Adds the size"),
    ("score", SCORE, ["normalize", "enrich"], "Scores the value"),
)


@pytest.fixture(scope="module")
def prod_emulator(tmp_path_factory):
    """A second emulator for the module; its first client is `prodci`, `demo` also works."""
    client_id, secret = PROD_CLIENT
    process = EmulatorProcess(
        ("--client", f"{client_id}:{secret}", "--client", "demo:demo-secret"),
        cwd=tmp_path_factory.mktemp("prod-emulator"),
    )
    yield process
    process.stop()


@pytest.fixture
def prod(prod_emulator):
    """The second emulator, reset."""
    prod_emulator.reset()
    return prod_emulator


def client(emulator, client_id=None, secret=None):
    return CxoneClient(
        emulator.base_url, client_id or emulator.client_id, secret or emulator.client_secret
    )


def put(emulator, name, script=ECHO, dependencies=(), description="", **settings):
    """Create the action, or replace it (as someone in the console would)."""
    body = {
        "name": name,
        "script": {"content": script},
        "dependencies": list(dependencies),
        "description": description,
        "enabled": settings.get("enabled", True),
        "trigger": {"type": settings.get("trigger_type", "MANUAL")},
    }
    spec = validate_spec(body)
    with client(emulator) as api:
        existing = api.find_action(name)
        if existing is None:
            return api.create_action(spec, idempotency_key=str(uuid.uuid4())).action
        return api.update_action(existing.id, spec)


def remove(emulator, name):
    with client(emulator) as api:
        api.delete_action(api.find_action(name).id)


def seed(*emulators):
    for emulator in emulators:
        for name, script, dependencies, description in BASELINE:
            put(emulator, name, script, dependencies, description)


@dataclass
class Tenants:
    """The two tenants as stacks `staging` and `prod` of a project in the working directory."""

    staging: EmulatorProcess
    prod: EmulatorProcess
    project: Path
    env: dict

    def diff(self, *args):
        """`cxone diff --stack staging --stack prod ARGS`, typed in the project's folder."""
        return cxone("diff", "--stack", "staging", "--stack", "prod", *args, env=self.env)


@pytest.fixture
def tenants(tmp_path, emulator, prod, monkeypatch):
    project = write_program(tmp_path / "project", "# this project's program declares nothing\n")
    stack_file(project, "staging", emulator, emulator.client_id)
    stack_file(project, "prod", prod, PROD_CLIENT[0])
    monkeypatch.chdir(project)
    env = {
        "CXONE_CLIENT_SECRET_STAGING": emulator.client_secret,
        "CXONE_CLIENT_SECRET_PROD": PROD_CLIENT[1],
    }
    return Tenants(emulator, prod, project, env)


def stack_file(project, stack, emulator, client_id):
    (project / f"Pulumi.{stack}.yaml").write_text(
        f"config:\n  cxone:baseUrl: {emulator.base_url}\n  cxone:clientId: {client_id}\n",
        encoding="utf-8",
    )


def requests_between(before, after):
    """(method, route, status) -> count of the requests answered between two stats."""
    counts = Counter()
    for sign, stats in ((-1, before), (1, after)):
        for row in stats["requests"]:
            counts[row["method"], row["path"], row["status"]] += sign * row["count"]
    return +counts


# --- two tenants ---------------------------------------------------------------------------


def test_identical_tenants_exit_0(tenants):
    """The same actions on both tenants (ids and versions differ): no difference, exit 0."""
    seed(tenants.staging, tenants.prod)
    ran = tenants.diff()
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    assert "No differences (0 only in staging, 0 only in prod, 0 differ, 3 same)" in ran.stdout
    answer = tenants.diff("--json").json
    assert answer["ok"] is True
    assert answer["summary"] == {
        "differences": 0,
        "only_left": 0,
        "only_right": 0,
        "differs": 0,
        "same": 3,
    }
    assert [(a["name"], a["status"]) for a in answer["actions"]] == [
        ("enrich", "same"),
        ("normalize", "same"),
        ("score", "same"),
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda prod: put(prod, "extra", dependencies=["normalize"]),
            ("extra", "only_right", [], False),
            id="added",
        ),
        pytest.param(
            lambda prod: remove(prod, "score"), ("score", "only_left", [], False), id="removed"
        ),
        pytest.param(
            lambda prod: put(
                prod,
                "enrich",
                ENRICH.replace("* 10", "* 20").replace("size:", "len:"),
                ["normalize"],
                "Adds the size",
            ),
            ("enrich", "differs", ["script"], False),
            id="script",
        ),
        pytest.param(
            lambda prod: put(prod, "score", SCORE, ["enrich"], "Scores the value"),
            ("score", "differs", ["dependencies"], False),
            id="dependencies",
        ),
        pytest.param(
            lambda prod: put(prod, "score", SCORE, ["enrich", "normalize"], "Scores the value"),
            ("score", "same", [], True),
            id="order-only",
        ),
        pytest.param(
            lambda prod: put(prod, "enrich", ENRICH, ["normalize"], "Adds the size", enabled=False),
            ("enrich", "differs", ["enabled"], False),
            id="enabled",
        ),
        pytest.param(
            lambda prod: put(prod, "normalize", NORMALIZE, [], "Trims it", trigger_type="EVENT"),
            ("normalize", "differs", ["description", "trigger_type"], False),
            id="description-and-trigger",
        ),
    ],
)
def test_each_kind_of_difference_is_found(tenants, change, expected):
    """One change on prod: that action, its status and its fields; exit 1 unless order only."""
    seed(tenants.staging, tenants.prod)
    change(tenants.prod)
    ran = tenants.diff("--json")
    name, status, fields, order_only = expected
    assert ran.exit_code == (0 if status == "same" else 1), ran.stdout + ran.stderr
    answer = ran.json
    found = {a["name"]: (a["status"], a["fields"], a["order_only"]) for a in answer["actions"]}
    assert found.pop(name) == (status, fields, order_only)
    assert all(value == ("same", [], False) for value in found.values())
    assert answer["summary"]["differences"] == (0 if status == "same" else 1)
    assert answer["ok"] is (status == "same")


def test_an_ignored_description_is_no_difference(tenants):
    """--ignore description: a changed description alone leaves exit 0; the rest still counts."""
    seed(tenants.staging, tenants.prod)
    put(tenants.prod, "normalize", NORMALIZE, [], "Changed in the console")
    assert tenants.diff().exit_code == 1
    ignored = tenants.diff("--ignore", "description", "--json")
    assert ignored.exit_code == 0, ignored.stdout
    assert ignored.json["ignored"] == ["description"]
    assert ignored.json["actions"][1] == {
        "name": "normalize",
        "status": "same",
        "fields": [],
        "order_only": False,
        "unknown": [],
        "left": None,
        "right": None,
        "script_diff": None,
        "fields_diff": None,
    }
    put(tenants.prod, "normalize", NORMALIZE, [], "Changed in the console", enabled=False)
    still = tenants.diff("--ignore", "description", "--json")
    assert still.exit_code == 1
    assert still.json["actions"][1]["fields"] == ["enabled"]


def test_json_output_field_by_field(tenants):
    """The documented schema, every key: sides, summary, each action's content and diffs."""
    seed(tenants.staging, tenants.prod)
    changed = put(
        tenants.prod, "enrich", ENRICH.replace("size:", "length:"), ["normalize"], "Adds the size"
    )
    extra = put(tenants.prod, "extra", "function main(c) { return 1; }", ["score", "enrich"], "New")
    with client(tenants.staging) as api:
        staged = api.find_action("enrich")
    answer = tenants.diff("--json").json
    assert set(answer) == {
        "schema",
        "command",
        "ok",
        "left",
        "right",
        "ignored",
        "only",
        "unmatched",
        "unmanaged",
        "summary",
        "actions",
    }
    assert (answer["schema"], answer["command"], answer["ok"]) == (1, "diff", False)
    assert answer["left"] == {
        "kind": "tenant",
        "name": "staging",
        "label": f"tenant of stack staging ({tenants.staging.base_url})",
        "source": tenants.staging.base_url,
        "stack": "staging",
        "actions": 3,
        "unmanaged": [],
        "notes": [],
    }
    assert answer["right"]["label"] == f"tenant of stack prod ({tenants.prod.base_url})"
    assert answer["right"]["actions"] == 4
    assert (answer["ignored"], answer["only"], answer["unmatched"], answer["unmanaged"]) == (
        [],
        None,
        [],
        [],
    )
    assert answer["summary"] == {
        "differences": 2,
        "only_left": 0,
        "only_right": 1,
        "differs": 1,
        "same": 2,
    }
    enrich, extra_entry, normalize, score = answer["actions"]
    assert enrich == {
        "name": "enrich",
        "status": "differs",
        "fields": ["script"],
        "order_only": False,
        "unknown": [],
        "left": {
            "id": staged.id,
            "version": staged.version,
            "script": ENRICH,
            "dependencies": ["normalize"],
            "description": "Adds the size",
            "enabled": True,
            "trigger_type": "MANUAL",
            "type": "SCRIPT",
        },
        "right": {
            "id": changed.id,
            "version": changed.version,
            "script": ENRICH.replace("size:", "length:"),
            "dependencies": ["normalize"],
            "description": "Adds the size",
            "enabled": True,
            "trigger_type": "MANUAL",
            "type": "SCRIPT",
        },
        "script_diff": (
            "--- staging/enrich.js\n"
            "+++ prod/enrich.js\n"
            "@@ -1,4 +1,4 @@\n"
            " function main(context) {\n"
            '   const clean = context.call("normalize", context.input);\n'
            "-  return {value: clean.value, size: clean.value.length};\n"
            "+  return {value: clean.value, length: clean.value.length};\n"
            " }\n"
        ),
        "fields_diff": None,
    }
    assert extra_entry["status"] == "only_right"
    assert extra_entry["left"] is None
    assert extra_entry["right"]["id"] == extra.id
    assert extra_entry["right"]["dependencies"] == ["score", "enrich"]
    assert extra_entry["script_diff"] == (
        "--- /dev/null\n+++ prod/extra.js\n@@ -0,0 +1 @@\n+function main(c) { return 1; }\n"
    )
    assert extra_entry["fields_diff"] == (
        "--- /dev/null\n"
        "+++ prod/extra\n"
        "@@ -0,0 +1,5 @@\n"
        '+dependencies: ["score", "enrich"]\n'
        '+description: "New"\n'
        "+enabled: true\n"
        '+trigger_type: "MANUAL"\n'
        '+type: "SCRIPT"\n'
    )
    assert (normalize["status"], score["status"]) == ("same", "same")


def test_markdown_output_field_by_field(tenants):
    """A PR comment: the sides, the summary, a table row and a <details> block per difference."""
    seed(tenants.staging, tenants.prod)
    put(tenants.prod, "score", SCORE, ["normalize", "enrich"], "Scores the value", enabled=False)
    put(tenants.staging, "legacy")
    ran = tenants.diff("--format", "markdown")
    assert ran.exit_code == 1
    staging, prod = tenants.staging.base_url, tenants.prod.base_url
    assert ran.stdout == (
        "### cxone diff: `staging` → `prod`\n"
        "\n"
        "| side | what | actions |\n"
        "|---|---|---|\n"
        f"| left | tenant of stack staging ({staging}) | 4 |\n"
        f"| right | tenant of stack prod ({prod}) | 3 |\n"
        "\n"
        "**2 differences: 1 only in staging, 0 only in prod, 1 differ, 2 same**\n"
        "\n"
        "| action | status | fields |\n"
        "|---|---|---|\n"
        "| `legacy` | only in staging |  |\n"
        "| `score` | differs | enabled |\n"
        "\n"
        "<details>\n"
        "<summary><code>legacy</code>: only in staging</summary>\n"
        "\n"
        "```diff\n"
        "--- staging/legacy.js\n"
        "+++ /dev/null\n"
        "@@ -1 +0,0 @@\n"
        f"-{ECHO}\n"
        "```\n"
        "\n"
        "```diff\n"
        "--- staging/legacy\n"
        "+++ /dev/null\n"
        "@@ -1,5 +0,0 @@\n"
        "-dependencies: []\n"
        '-description: ""\n'
        "-enabled: true\n"
        '-trigger_type: "MANUAL"\n'
        '-type: "SCRIPT"\n'
        "```\n"
        "\n"
        "</details>\n"
        "\n"
        "<details>\n"
        "<summary><code>score</code>: differs in enabled</summary>\n"
        "\n"
        "```diff\n"
        "--- staging/score\n"
        "+++ prod/score\n"
        "@@ -1,5 +1,5 @@\n"
        ' dependencies: ["enrich", "normalize"]\n'
        ' description: "Scores the value"\n'
        "-enabled: true\n"
        "+enabled: false\n"
        ' trigger_type: "MANUAL"\n'
        ' type: "SCRIPT"\n'
        "```\n"
        "\n"
        "</details>\n"
    )


def test_text_output_is_coloured_only_on_a_terminal(tenants):
    """Piped: plain text with the summary table and the unified diff; on a terminal: colours."""
    seed(tenants.staging, tenants.prod)
    put(tenants.prod, "enrich", ENRICH.replace("size:", "length:"), ["normalize"], "Adds the size")
    plain = tenants.diff()
    assert plain.exit_code == 1
    assert "\x1b[" not in plain.stdout
    lines = [line.rstrip() for line in plain.stdout.splitlines()]
    assert lines[0] == f"left   tenant of stack staging ({tenants.staging.base_url}): 3 actions"
    assert lines[1] == f"right  tenant of stack prod ({tenants.prod.base_url}): 3 actions"
    assert re.fullmatch(r"enrich\s+│ differs\s+│ script", lines[4])
    assert lines[5] == "1 difference: 0 only in staging, 0 only in prod, 1 differ, 2 same"
    assert lines[6].startswith("enrich: differs in script ──")
    assert lines[7:] == [
        "--- staging/enrich.js",
        "+++ prod/enrich.js",
        "@@ -1,4 +1,4 @@",
        " function main(context) {",
        '   const clean = context.call("normalize", context.input);',
        "-  return {value: clean.value, size: clean.value.length};",
        "+  return {value: clean.value, length: clean.value.length};",
        " }",
    ]
    coloured = cxone(
        "diff", "--stack", "staging", "--stack", "prod", env={**tenants.env, "TTY_COMPATIBLE": "1"}
    )
    assert coloured.exit_code == 1
    assert "\x1b[" in coloured.stdout
    removed = next(line for line in coloured.stdout.splitlines() if "size: clean" in line)
    text = re.escape("-  return {value: clean.value, size: clean.value.length};")
    assert re.fullmatch(rf"\x1b\[[0-9;]+m{text}\x1b\[0m", removed), repr(removed)


def test_only_keeps_the_named_actions_and_patterns(tenants):
    """--only takes names and shell patterns, repeated or comma-separated; misses are noted."""
    seed(tenants.staging, tenants.prod)
    put(tenants.prod, "enrich", ENRICH, ["normalize"], "Changed")
    put(tenants.prod, "score", SCORE, ["normalize", "enrich"], "Changed")
    both = tenants.diff("--only", "sc*,norm*", "--only", "nothing", "--json").json
    assert [(a["name"], a["status"]) for a in both["actions"]] == [
        ("normalize", "same"),
        ("score", "differs"),
    ]
    assert (both["only"], both["unmatched"]) == (["sc*", "norm*", "nothing"], ["nothing"])
    same = tenants.diff("--only", "normalize")
    assert same.exit_code == 0
    assert "--only matched no action" not in same.stderr
    missing = tenants.diff("--only", "nothing")
    assert missing.exit_code == 0
    assert "note: --only matched no action: nothing" in missing.stderr


def test_the_emulators_receive_only_gets(tenants):
    """A diff of two tenants reads with GET (beside the token POST) and writes nothing."""
    seed(tenants.staging, tenants.prod)
    put(tenants.prod, "score", SCORE, ["normalize"], "Scores the value")
    before = [tenants.staging.stats(), tenants.prod.stats()]
    for args in ((), ("--json",), ("--format", "markdown")):
        assert tenants.diff(*args).exit_code == 1
    after = [tenants.staging.stats(), tenants.prod.stats()]
    for old, new in zip(before, after, strict=True):
        seen = requests_between(old, new)
        assert seen[("GET", "/api/v2/dataactions/actions", 200)] == 3
        assert {(method, path) for method, path, _ in seen} == {
            ("GET", "/api/v2/dataactions/actions"),
            ("POST", TOKEN_PATH),
        }
        assert new["api_writes"] == old["api_writes"]
        assert new["actions"] == old["actions"]


def test_each_stack_takes_its_own_secret(tenants):
    """Prod's client needs prod's secret: without CXONE_CLIENT_SECRET_PROD the diff fails (2)."""
    env = {
        "CXONE_CLIENT_SECRET_STAGING": tenants.staging.client_secret,
        "CXONE_CLIENT_SECRET": "demo-secret",
    }
    ran = cxone("diff", "--stack", "staging", "--stack", "prod", "--json", env=env)
    assert ran.exit_code == 2
    assert ran.json["error"]["type"] == "AuthenticationError"
    assert "demo-secret" not in ran.stdout + ran.stderr
    assert tenants.diff().exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "nothing to compare"),
        (("--stack", "staging", "--stack", "prod", "--stack", "dev"), "3 sides given"),
        (("--stack", "prdo"), "no Pulumi.prdo.yaml in"),
        (("--stack", "staging", "stack:staging"), "both sides are the tenant at http://127.0.0.1"),
        (("--stack", "prod", "--ignore", "colour"), "colour: not a compared field; use script"),
        (("--stack", "prod", "--json", "--format", "markdown"), "--json and --format markdown"),
    ],
)
def test_usage_errors_exit_2_and_say_what_to_do(tenants, args, message):
    """No side, three sides, an unknown stack, one tenant twice, a bad option: exit 2."""
    ran = cxone("diff", *args, env=tenants.env)
    assert ran.exit_code == 2
    assert message in " ".join((ran.stdout + ran.stderr).replace("│", " ").split())


def test_two_tenants_given_by_url(tenants):
    """Two URLs with CXONE_CLIENT_ID and CXONE_CLIENT_SECRET: sides named by host and port."""
    seed(tenants.staging, tenants.prod)
    remove(tenants.staging, "score")
    env = emulator_env(tenants.staging)
    answer = cxone("diff", tenants.staging.base_url, tenants.prod.base_url, "--json", env=env).json
    left_host = tenants.staging.base_url.removeprefix("http://")
    assert (answer["left"]["name"], answer["left"]["label"]) == (
        left_host,
        f"tenant {tenants.staging.base_url}",
    )
    assert [(a["name"], a["status"]) for a in answer["actions"] if a["status"] != "same"] == [
        ("score", "only_right")
    ]


# --- a program, an export --------------------------------------------------------------------

DRIFT_PROGRAM = f"""
from cxone_provider import ActionCatalog

catalog = ActionCatalog()
catalog.include_tenant_actions(["crm_lookup"])
catalog.add("normalize", script={NORMALIZE!r})                        # default description
catalog.add("enrich", script={ENRICH!r}, dependencies=["normalize"], description="Adds the size")
catalog.add("score", script={SCORE!r}, dependencies=["enrich", "normalize", "crm_lookup"],
            enabled=False, trigger_type="EVENT")
catalog.register()
"""


@pytest.fixture
def deploy(tmp_path):
    """`pulumi up` of a program folder through the real provider server, to an emulator."""
    plugins = []

    def run(folder, emulator, stack):
        plugin = ProviderServer(tmp_path)
        plugins.append(plugin)
        plugin.configure(emulator_settings(emulator), secret_keys=("cxone:clientSecret",))
        set_root_resource(None)
        pulumi.runtime.set_mocks(
            ForwardingMocks(plugin), project=folder.name, stack=stack, preview=False
        )
        run_stack_program(folder)
        plugin.stop()

    yield run
    for plugin in plugins:
        plugin.stop()


def test_the_program_against_its_tenant_finds_an_out_of_band_change(
    tmp_path, emulator, deploy, monkeypatch
):
    """Deployed by the provider: no drift (defaults, an unmanaged dependency); an edit: drift."""
    program = write_program(tmp_path / "drift", DRIFT_PROGRAM)
    stack_file(program, "prod", emulator, emulator.client_id)
    put(emulator, "crm_lookup")
    deploy(program, emulator, "prod")
    monkeypatch.chdir(program)
    env = {"CXONE_CLIENT_SECRET_PROD": emulator.client_secret}

    clean = cxone("diff", "--stack", "prod", env=env)
    assert clean.exit_code == 0, clean.stdout + clean.stderr
    answer = cxone("diff", "--stack", "prod", "--json", env=env).json
    assert answer["left"]["kind"] == "program"
    assert answer["left"]["label"] == "program __main__.py (stack prod)"
    assert answer["left"]["unmanaged"] == ["crm_lookup"]
    assert answer["unmanaged"] == ["crm_lookup"]
    assert answer["summary"] == {
        "differences": 0,
        "only_left": 0,
        "only_right": 0,
        "differs": 0,
        "same": 3,
    }

    with client(emulator) as api:
        score = api.find_action("score")
    put(
        emulator,
        "score",
        SCORE.replace("* 10", "* 11"),
        ["crm_lookup", "enrich", "normalize"],
        score.description,
        enabled=True,
        trigger_type="EVENT",
    )
    drift = cxone("diff", "--stack", "prod", "--json", env=env)
    assert drift.exit_code == 1
    (changed,) = [a for a in drift.json["actions"] if a["status"] != "same"]
    assert (changed["name"], changed["fields"]) == ("score", ["script", "enabled"])
    assert (
        "-  return {score: rich.size * 10};\n+  return {score: rich.size * 11};\n"
        in changed["script_diff"]
    )
    assert "-enabled: false\n+enabled: true\n" in changed["fields_diff"]


def test_values_known_only_after_a_deployment_are_not_compared(tmp_path, emulator):
    """A description made of another action's id is unknown to the program: not a difference."""
    program = write_program(
        tmp_path / "outputs",
        "from cxone_provider import DataAction, DataActionArgs\n"
        f"base = DataAction('base', DataActionArgs(name='normalize', script={NORMALIZE!r}))\n"
        f"DataAction('top', DataActionArgs(name='enrich', script={ENRICH!r},\n"
        "    dependencies=['normalize'],\n"
        "    description=base.action_id.apply(lambda i: f'after {i}')))\n",
    )
    put(emulator, "normalize", NORMALIZE, description="Managed by Pulumi: normalize")
    put(emulator, "enrich", ENRICH, ["normalize"], "after 1b2c")
    ran = cxone("diff", program, emulator.base_url, "--json", env=emulator_env(emulator))
    assert ran.exit_code == 0, ran.stdout
    enrich = ran.json["actions"][0]
    assert (enrich["name"], enrich["status"], enrich["unknown"]) == (
        "enrich",
        "same",
        ["description"],
    )
    put(emulator, "enrich", ENRICH, [], "after 1b2c")
    changed = cxone("diff", program, emulator.base_url, "--json", env=emulator_env(emulator))
    assert changed.exit_code == 1
    enrich = changed.json["actions"][0]
    assert (enrich["fields"], enrich["unknown"]) == (["dependencies"], ["description"])
    assert enrich["left"]["description"] is None
    assert "description" not in enrich["fields_diff"]


def test_a_program_that_raises_is_an_error_not_a_drift(tmp_path, emulator):
    """Half a program's declarations would show its tenant's actions as extra: exit 2 instead."""
    program = write_program(
        tmp_path / "broken",
        "from cxone_provider import ActionCatalog\n"
        "catalog = ActionCatalog()\n"
        f"catalog.add('normalize', script={NORMALIZE!r})\n"
        "raise RuntimeError('the settings service is down')\n",
    )
    seed(emulator)
    ran = cxone("diff", program, emulator.base_url, "--json", env=emulator_env(emulator))
    assert ran.exit_code == 2
    assert ran.json["error"]["type"] == "ProgramError"
    message = ran.json["error"]["message"]
    assert "raised RuntimeError at " in message
    assert "__main__.py:4: the settings service is down" in message


def test_a_duplicate_name_is_compared_once_with_a_note(tmp_path, emulator):
    """The catalog's own check fails on a duplicate: the first declaration is compared."""
    program = write_program(
        tmp_path / "twice",
        "from cxone_provider import ActionCatalog\n"
        "catalog = ActionCatalog()\n"
        f"catalog.add('normalize', script={NORMALIZE!r}, description='Trims the value')\n"
        "catalog.add('normalize', script='function main(c) { return 2; }')\n"
        "catalog.register()\n",
    )
    put(emulator, "normalize", NORMALIZE, [], "Trims the value")
    ran = cxone("diff", program, emulator.base_url, env=emulator_env(emulator))
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    notes = " ".join(ran.stderr.split())
    assert "'normalize' is declared more than once; the first declaration is compared" in notes
    assert "the program's own check failed (DependencyGraphError)" in notes


def test_an_export_folder_against_its_tenant(tmp_path, emulator):
    """Exported as is (a CRLF script included): no difference; then the tenant moves on."""
    seed(emulator)
    put(emulator, "windows", "function main(context) {\r\n  return 1;\r\n}\r\n", ["score"], "CRLF")
    env = emulator_env(emulator)
    assert cxone("export", "--out", tmp_path / "adopted", env=env).exit_code == 0
    same = cxone("diff", tmp_path / "adopted", emulator.base_url, env=env)
    assert same.exit_code == 0, same.stdout + same.stderr
    assert "No differences (0 only in program, 0 only in 127.0.0.1:" in same.stdout

    remove(emulator, "windows")
    put(emulator, "enrich", ENRICH, ["normalize"], "Adds the size", enabled=False)
    moved = cxone("diff", tmp_path / "adopted", emulator.base_url, "--json", env=env).json
    assert moved["left"]["kind"] == "program"
    assert moved["left"]["label"] == f"program {tmp_path / 'adopted' / '__main__.py'}"
    assert [
        (a["name"], a["status"], a["fields"]) for a in moved["actions"] if a["status"] != "same"
    ] == [
        ("enrich", "differs", ["enabled"]),
        ("windows", "only_left", []),
    ]
    assert (
        moved["actions"][-1]["left"]["script"] == "function main(context) {\r\n  return 1;\r\n}\r\n"
    )
