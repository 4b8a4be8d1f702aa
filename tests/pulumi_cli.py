"""The real Pulumi CLI, driven as a user drives it, for the real-engine tests.

`PulumiProject` is a copy of a project folder with its own `PULUMI_HOME`, a file backend in a
temporary folder, a passphrase for secrets and update checks off; every `pulumi` command runs
there with this test run's Python first on PATH (the program and the dynamic provider run in
it, as in an activated virtualenv). `pulumi_cli()` finds the binary: missing, the tests skip
with one line that says how to get it, unless `CXONE_REQUIRE_PULUMI=1` (CI), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from provider_server import SETTINGS_ENV
from stack_files import strip_stack_init_keys

REPO = Path(__file__).resolve().parents[1]
TYPE_TOKEN = "pulumi-python:dynamic/dataaction:DataAction"
PASSPHRASE = "real-engine-tests"
COMMAND_TIMEOUT_S = 300.0
# Settings from the developer's environment must not reach the engine or the provider.
_CLEARED_ENV = (
    *SETTINGS_ENV,
    "PULUMI_ACCESS_TOKEN",
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "PULUMI_PYTHON_CMD",
    "VIRTUAL_ENV",
)


def pulumi_cli() -> str:
    """The `pulumi` binary on PATH; skips (or fails in CI) when there is none."""
    found = shutil.which("pulumi")
    if found is not None:
        return found
    advice = (
        "the Pulumi CLI is not on PATH: run scripts/install-pulumi and put the folder it "
        "prints on PATH"
    )
    if os.environ.get("CXONE_REQUIRE_PULUMI") == "1":
        pytest.fail(f"CXONE_REQUIRE_PULUMI=1 but {advice}")
    pytest.skip(advice)


@dataclass(frozen=True)
class Completed:
    """One finished `pulumi` command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """The standard output and error together, as a terminal shows them."""
        return self.stdout + self.stderr

    def json(self) -> Any:
        """The standard output as JSON (for `--json` commands that print one document)."""
        return json.loads(self.stdout)

    def json_documents(self) -> list[Any]:
        """Every JSON document on stdout (`up --json` prints the preview, then engine events)."""
        decoder = json.JSONDecoder()
        documents, position = [], 0
        text = self.stdout
        while position < len(text):
            if text[position].isspace():
                position += 1
                continue
            document, position = decoder.raw_decode(text, position)
            documents.append(document)
        return documents

    def changes(self) -> dict[str, int]:
        """The engine's own count of steps by kind (its summary event), e.g. {"same": 8}."""
        for document in reversed(self.json_documents()):
            if isinstance(document, dict) and "summaryEvent" in document:
                changes: dict[str, int] = document["summaryEvent"]["resourceChanges"]
                return changes
        if self.json_documents() and "changeSummary" in self.json_documents()[0]:
            summary: dict[str, int] = self.json_documents()[0]["changeSummary"]
            return summary
        msg = f"`pulumi {' '.join(self.args)}` printed no change summary:\n{self.output}"
        raise AssertionError(msg)


class PulumiCommandError(AssertionError):
    """A `pulumi` command that should have succeeded did not; shows what it printed."""


class PulumiProject:
    """A project folder and the environment every `pulumi` command of a test runs in."""

    def __init__(self, root: Path, state: Path, *, pulumi: str) -> None:
        self.root = root
        self.pulumi = pulumi
        self.home = state / "pulumi-home"
        self.backend = state / "backend"
        self.home.mkdir(parents=True, exist_ok=True)
        self.backend.mkdir(parents=True, exist_ok=True)
        self.extra_env: dict[str, str] = {}

    @classmethod
    def copy_of(cls, source: Path, folder: Path, *, pulumi: str) -> PulumiProject:
        """A copy of the project at `source` (Pulumi.yaml and its program folder).

        Its stack files lose what `pulumi stack init` wrote into the source (an
        `encryptionsalt` made with another passphrase): the copy's stacks are this test's.
        """
        root = folder / "project"
        root.mkdir(parents=True)
        shutil.copy2(source / "Pulumi.yaml", root / "Pulumi.yaml")
        for child in ("stacks",):
            if (source / child).is_dir():
                shutil.copytree(
                    source / child,
                    root / child,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".venv"),
                )
                strip_stack_init_keys(root / child)
        return cls(root, folder / "state", pulumi=pulumi)

    @property
    def env(self) -> dict[str, str]:
        """The environment of a user with the project's virtualenv activated."""
        env = {key: value for key, value in os.environ.items() if key not in _CLEARED_ENV}
        env.update(
            PATH=os.pathsep.join(
                [str(Path(sys.executable).parent), str(Path(self.pulumi).parent), env["PATH"]]
            ),
            PULUMI_HOME=str(self.home),
            PULUMI_BACKEND_URL=self.backend.as_uri(),
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            PYTHONUNBUFFERED="1",
            NO_COLOR="1",
        )
        env.update(self.extra_env)
        return env

    def run(
        self,
        *args: str,
        check: bool = True,
        stdin: str | None = None,
        timeout: float = COMMAND_TIMEOUT_S,
        cwd: Path | None = None,
    ) -> Completed:
        """Run `pulumi ARGS` in the project; with check, fail the test if it fails."""
        completed = subprocess.run(
            [self.pulumi, *args],
            cwd=cwd or self.root,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = Completed(tuple(args), completed.returncode, completed.stdout, completed.stderr)
        if check and result.returncode != 0:
            msg = f"`pulumi {' '.join(args)}` exited {result.returncode}:\n{result.output}"
            raise PulumiCommandError(msg)
        return result

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start `pulumi ARGS` in the background (in its own process group, to be killed)."""
        return self.start_command(self.pulumi, *args)

    def start_command(self, *command: str) -> subprocess.Popen[str]:
        """Start a command in the background in the project (its own process group)."""
        return subprocess.Popen(
            command,
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def cxone(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`cxone ARGS` in the project, in this Python, as a CI job runs it."""
        return subprocess.run(
            [sys.executable, "-m", "cxone_provider", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )

    def up(self, *args: str, check: bool = True) -> Completed:
        """`pulumi up --yes --skip-preview ARGS` (the preview is its own command in tests)."""
        return self.run("up", "--yes", "--skip-preview", *args, check=check)

    def outputs(self) -> dict[str, Any]:
        """`pulumi stack output --json`."""
        outputs: dict[str, Any] = self.run("stack", "output", "--json").json()
        return outputs

    def export(self) -> dict[str, Any]:
        """`pulumi stack export` (secrets stay encrypted)."""
        exported: dict[str, Any] = self.run("stack", "export").json()
        return exported

    def resources(self, type_token: str = TYPE_TOKEN) -> dict[str, dict[str, Any]]:
        """The state's resources of a type, by resource name."""
        resources = self.export()["deployment"].get("resources") or []
        return {
            resource["urn"].rsplit("::", 1)[1]: resource
            for resource in resources
            if resource["type"] == type_token
        }

    def recorded_ids(self) -> dict[str, str]:
        """The action ids the state records, by action name."""
        return {
            resource["outputs"]["name"]: resource["id"] for resource in self.resources().values()
        }

    def urn(self, resource_name: str, stack: str, project: str = "cxone-actions") -> str:
        """The URN of a DataAction of this project."""
        return f"urn:pulumi:{stack}::{project}::{TYPE_TOKEN}::{resource_name}"

    def edit(self, relative: str, old: str, new: str, *, count: int = 1) -> None:
        """Replace `old` by `new` in a file of the project, as a person edits it."""
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        found = text.count(old)
        if found != count:
            msg = f"{relative}: expected {count} occurrence(s) of {old!r}, found {found}"
            raise AssertionError(msg)
        path.write_text(text.replace(old, new), encoding="utf-8")

    def set_config(self, values: Mapping[str, str], *, secret: bool = False) -> None:
        """`pulumi config set [--secret] KEY VALUE` for each value."""
        for key, value in values.items():
            flags = ("--secret",) if secret else ()
            self.run("config", "set", *flags, key, value)


def kill_group(process: subprocess.Popen[str], sig: int = signal.SIGKILL) -> str:
    """Kill a started command and everything it started; return what it printed."""
    os.killpg(process.pid, sig)
    output, _ = process.communicate(timeout=30)
    return output


def processes_in(folder: Path) -> dict[int, str]:
    """The processes whose working folder is in `folder`: pid -> command line."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = (proc / "cwd").resolve(strict=True)
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, RuntimeError):
            continue
        if cwd.is_relative_to(folder.resolve()):
            found[int(proc.name)] = command
    return found


def wait_for(predicate: Any, *, timeout_s: float, what: str) -> None:
    """Poll `predicate()` until it holds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout_s:g} s waiting for {what}"
            raise AssertionError(msg)
        time.sleep(0.05)


def ci_stack(project: PulumiProject, emulator: Any, stack: str = "ci") -> None:
    """A stack file with the emulator's URL and client id; its secret only in the environment."""
    (project.root / "stacks" / f"Pulumi.{stack}.yaml").write_text(
        f"config:\n  cxone:baseUrl: {emulator.base_url}\n  cxone:clientId: {emulator.client_id}\n"
    )
    project.extra_env["CXONE_CLIENT_SECRET"] = emulator.client_secret


def local_stack_on(project: PulumiProject, base_url: str) -> None:
    """Point the project's `local` stack file at an emulator (the only change to it)."""
    local = project.root / "stacks" / "Pulumi.local.yaml"
    text = local.read_text(encoding="utf-8")
    local.write_text(text.replace("http://127.0.0.1:8765", base_url), encoding="utf-8")
