"""Copies of the example project for the CLI tests, intact or broken the ways a pipeline meets.

Each copy is a whole project (`Pulumi.yaml` with `main: stacks/`, the program, its scripts
and stack files) in a temporary folder; the break functions edit it as a person would and
return what the report must point at.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from stack_files import strip_stack_init_keys
from typer.testing import CliRunner

from cxone_provider.api.client import CxoneClient
from cxone_provider.api.models import validate_spec
from cxone_provider.cli import app

REPO = Path(__file__).resolve().parents[1]
STACKS = REPO / "stacks"
ACTIONS = (
    "normalize_phone",
    "normalize_email",
    "base_enrichment",
    "lead_score",
    "business_hours",
    "crm_match_key",
    "route_decision",
)
EXAMPLE_EDGES = {
    ("base_enrichment", "normalize_phone"),
    ("base_enrichment", "normalize_email"),
    ("lead_score", "base_enrichment"),
    ("crm_match_key", "normalize_email"),
    ("crm_match_key", "normalize_phone"),
    ("route_decision", "lead_score"),
    ("route_decision", "business_hours"),
}
CYCLE = "normalize_phone -> route_decision -> lead_score -> base_enrichment -> normalize_phone"
OVERSIZE_BYTES = 70 * 1024
ECHO = "function main(context) { return context.input; }"
# Settings from the developer's environment must not reach the command under test; nor their
# Pulumi backend (`cxone export` reads the state of the project's stacks): an empty one.
CLEARED_ENV = {
    "CXONE_BASE_URL": None,
    "CXONE_SITE": None,
    "CXONE_CLIENT_ID": None,
    "CXONE_CLIENT_SECRET": None,
    "PULUMI_BACKEND_URL": Path(tempfile.mkdtemp(prefix="cxone-tests-backend-")).as_uri(),
    "PULUMI_ACCESS_TOKEN": None,
}


def copy_project(tmp_path: Path, name: str = "project") -> Path:
    """A copy of the example project (Pulumi.yaml at its root, the program in stacks/)."""
    project = tmp_path / name
    project.mkdir()
    shutil.copy(REPO / "Pulumi.yaml", project / "Pulumi.yaml")
    shutil.copytree(STACKS, project / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
    strip_stack_init_keys(project / "stacks")
    return project


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in a file."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def add_cycle(project: Path) -> None:
    """normalize_phone depends on route_decision, which depends on it through three actions."""
    edit(
        project / "stacks" / "__main__.py",
        '        script=ACTIONS / "normalize_phone.js",\n',
        '        script=ACTIONS / "normalize_phone.js",\n'
        '        dependencies=["route_decision"],\n',
    )


def add_typo(project: Path) -> None:
    """route_decision depends on `busines_hours` (one s missing)."""
    edit(
        project / "stacks" / "__main__.py",
        'dependencies=["lead_score", "business_hours"]',
        'dependencies=["lead_score", "busines_hours"]',
    )


def add_oversize_script(project: Path) -> Path:
    """business_hours.js grows past 64 KiB with a 70 KB comment; returns the file."""
    script = project / "stacks" / "actions" / "business_hours.js"
    with script.open("a", encoding="utf-8") as file:
        file.write("\n// " + "x" * OVERSIZE_BYTES + "\n")
    return script


@dataclass(frozen=True)
class Location:
    """Where a syntax error is: the file, and its 1-based line and column."""

    file: Path
    line: int
    column: int


def add_syntax_error(project: Path) -> Location:
    """`let score = 0 +;` in lead_score.js: V8 stops at the `;`."""
    script = project / "stacks" / "actions" / "lead_score.js"
    edit(script, "let score = 0;", "let score = 0 +;")
    lines = script.read_text(encoding="utf-8").splitlines()
    line = next(number for number, text in enumerate(lines, 1) if "let score = 0 +;" in text)
    return Location(script, line, lines[line - 1].index("+;") + 2)


def write_program(folder: Path, source: str, scripts: dict[str, str] | None = None) -> Path:
    """A program folder of its own (no Pulumi.yaml) with this __main__.py and scripts."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__main__.py").write_text(source, encoding="utf-8")
    for name, content in (scripts or {}).items():
        (folder / name).write_text(content, encoding="utf-8")
    return folder


@dataclass(frozen=True)
class Ran:
    """One command's exit code, stdout, stderr, and stdout parsed when it is JSON."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:
        return json.loads(self.stdout)


def cxone(
    *args: str | Path, env: dict[str, str | None] | None = None, input_text: str | None = None
) -> Ran:
    """Run `cxone ARGS` in-process through typer's runner, as a user types it (`input_text`)."""
    result = CliRunner().invoke(
        app,
        [str(arg) for arg in args],
        env={**CLEARED_ENV, **(env or {})},
        input=input_text,
        catch_exceptions=False,
    )
    return Ran(result.exit_code, result.stdout, result.stderr)


def emulator_env(emulator) -> dict[str, str | None]:
    """The connection settings of a test emulator, as CI would inject them."""
    return {
        "CXONE_BASE_URL": emulator.base_url,
        "CXONE_CLIENT_ID": emulator.client_id,
        "CXONE_CLIENT_SECRET": emulator.client_secret,
    }


def deploy(emulator, *declarations: tuple[str, list[str]]) -> None:
    """Actions created on the emulator as another team would have: (name, dependencies)."""
    with CxoneClient(emulator.base_url, emulator.client_id, emulator.client_secret) as api:
        for name, dependencies in declarations:
            spec = validate_spec(
                {"name": name, "script": {"content": ECHO}, "dependencies": dependencies}
            )
            api.create_action(spec, idempotency_key=str(uuid.uuid4()))


# A program with one action that needs `crm_lookup`, an action it does not manage.
ROUTER = f"""
from cxone_provider import ActionCatalog

catalog = ActionCatalog()
catalog.include_tenant_actions(["crm_lookup"])
catalog.add("lead_router", script={ECHO!r}, dependencies=["crm_lookup"])
catalog.register()
"""
# The same, declared as a DataAction without a catalog (nothing marks crm_lookup as unmanaged).
DIRECT_ROUTER = f"""
from cxone_provider import DataAction, DataActionArgs

DataAction("router", DataActionArgs(name="lead_router", script={ECHO!r},
                                    dependencies=["crm_lookup"]))
"""


def deploy_example(api: CxoneClient) -> dict[str, str]:
    """The example stack's actions on the tenant, created outside Pulumi, dependencies first.

    Returns name -> id. What a team that built its actions in the console has.
    """
    from cxone_provider.cli.preflight import preflight  # noqa: PLC0415 -- heavy, tests that need it
    from cxone_provider.cli.program import evaluate  # noqa: PLC0415
    from cxone_provider.deploy.check import check_inputs  # noqa: PLC0415

    declarations = evaluate(REPO)
    ids = {}
    for name in preflight(declarations).picture.order:
        inputs, failures = check_inputs(declarations.find(name).inputs)
        assert failures == []
        spec = validate_spec(
            {
                "name": name,
                "description": inputs["description"],
                "script": {"content": inputs["script"]},
                "dependencies": inputs["dependencies"],
                "enabled": inputs["enabled"],
                "trigger": {"type": inputs["trigger_type"]},
            }
        )
        ids[name] = api.create_action(spec, idempotency_key=str(uuid.uuid4())).action.id
    return ids
