"""The Pulumi CLI driven through the Automation API: for `cxone demo` and `cxone fleet`.

`cxone demo`'s steps: find the Pulumi CLI (on PATH, else installed by the Automation API
within a time limit, where the network allows); start the emulator on a free port (`cxone
emulator` in a child process, stopped whatever happens); copy the program to a scratch folder with a
Pulumi.yaml that runs it with this Python; `pulumi up` the stack `local` on a file backend
in that folder (its own PULUMI_HOME, a throwaway passphrase), the emulator's address and
demo credentials as stack config; read the stack's outputs. Nothing outside the scratch
folder is written, except a Pulumi CLI the Automation API may install under ~/.pulumi.

`cxone fleet` runs one operation on one stack of the project in place (`stack_operation`):
the backend, the passphrase and PULUMI_HOME are the user's own, as for `pulumi up`.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from pulumi.automation import (
    CommandError,
    ConfigValue,
    EngineEvent,
    InvalidVersionError,
    LocalWorkspace,
    LocalWorkspaceOptions,
    OpMap,
    ProjectRuntimeInfo,
    ProjectSettings,
    PulumiCommand,
    Stack,
    StackNotFoundError,
    create_or_select_stack,
    create_stack,
    select_stack,
)

from cxone_provider.api.errors import (
    ConfigurationError,
    DeploymentError,
    OperationFailedError,
    StackMissingError,
)
from cxone_provider.cli.project import Project
from cxone_provider.cli.tenant import stack_secret_variable
from cxone_provider.deploy.properties import TYPE_TOKEN
from cxone_provider.emulator.settings import DEMO_CLIENT

__all__ = [
    "DEFAULT_INSTALL_TIMEOUT_S",
    "Deployed",
    "DeployedAction",
    "PulumiLookup",
    "StackChanges",
    "find_pulumi",
    "first_error_line",
    "install_advice",
    "open_backend",
    "pulumi_up",
    "running_emulator",
    "stack_operation",
]

DEFAULT_INSTALL_TIMEOUT_S: Final = 120.0
STACK: Final = "local"
_EMULATOR_START_TIMEOUT_S: Final = 30.0
_EMULATOR_STOP_TIMEOUT_S: Final = 15.0
_LISTENING: Final = re.compile(r"listening on (?P<url>http://\S+)")
_DEMO_PASSPHRASE: Final = "cxone-demo"  # encrypts the demo's throwaway state, nothing else
_RAISED: Final = re.compile(
    r"(?:error:\s*)?(?:[\w.]+\.)?(?P<type>\w+(?:Error|Exception)): (?P<message>.+)"
)
_SAID: Final = re.compile(r"\berror:\s*(?P<message>.*\S)?", re.IGNORECASE)
_CONSEQUENCES: Final = ("update failed", "Traceback", "Resource monitor has terminated")


@dataclass(frozen=True, slots=True)
class PulumiLookup:
    """The Pulumi CLI found (or installed), or why there is none."""

    command: PulumiCommand | None
    reason: str


def find_pulumi(*, install: bool, install_timeout_s: float) -> PulumiLookup:
    """The Pulumi CLI on PATH, or one the Automation API installs within the time limit.

    The install runs in a child process so that the limit holds even when a download hangs.
    """
    if shutil.which("pulumi") is not None:
        return _usable(None, "found on PATH")
    root = Path.home() / ".pulumi" / "versions" / _sdk_version()
    if (root / "bin" / "pulumi").is_file():
        found = _usable(root, f"found in {root}")
        if found.command is not None:
            return found
    if not install:
        return PulumiLookup(None, "`pulumi` is not on PATH and installing it was not allowed")
    failure = _install(root, install_timeout_s)
    if failure is not None:
        return PulumiLookup(None, f"`pulumi` is not on PATH and installing it {failure}")
    return _usable(root, f"installed in {root}")


def _usable(root: Path | None, how: str) -> PulumiLookup:
    """The CLI at `root` (None: on PATH) if it runs and is recent enough for the SDK."""
    try:
        return PulumiLookup(PulumiCommand(root=str(root) if root else None), how)
    except (InvalidVersionError, OSError, subprocess.CalledProcessError) as exc:
        where = "on PATH" if root is None else f"in {root}"
        return PulumiLookup(None, f"the Pulumi CLI {where} cannot be used ({exc})")


_INSTALL: Final = (
    "import sys; from pulumi.automation import PulumiCommand; "
    "PulumiCommand.install(root=sys.argv[1])"
)


def _install(root: Path, timeout_s: float) -> str | None:
    """Install the CLI into `root` with the Automation API; None, or how it failed."""
    try:
        completed = subprocess.run(  # noqa: S603 -- this Python, the SDK's own installer
            [sys.executable, "-c", _INSTALL, str(root)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"did not finish within {timeout_s:g} s"
    if completed.returncode == 0:
        return None
    lines = (completed.stderr or completed.stdout).strip().splitlines()
    return f"failed ({lines[-1] if lines else f'exit code {completed.returncode}'})"


def _sdk_version() -> str:
    """The Pulumi SDK's version: the CLI version the Automation API installs by default."""
    return metadata.version("pulumi")


def install_advice(reason: str, command: str = "cxone demo") -> str:
    """The one paragraph that says the Pulumi CLI is missing and how to install it."""
    return (
        f"{command} deploys with `pulumi up`, which needs the Pulumi CLI: {reason}. Install "
        "it with `curl -fsSL https://get.pulumi.com | sh` (Linux, macOS), `brew install "
        "pulumi/tap/pulumi` (macOS) or `winget install pulumi` (Windows), see "
        "https://www.pulumi.com/docs/install/ (where those downloads are blocked, "
        "`scripts/install-pulumi` in a checkout of cxone-provider builds it from Pulumi's Go "
        "modules), open a new shell so that `pulumi` is on PATH, "
        f"and run `{command}` again. Everything else works without it: `cxone emulator`, "
        "`cxone validate`, `cxone graph`, `cxone test` and `cxone export`."
    )


@contextmanager
def running_emulator() -> Iterator[str]:
    """`cxone emulator` on a free port with an in-memory store; its base URL. Stopped after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cxone_provider", "emulator", "--port", "0", "--db", ":memory:"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield _address(process)
    finally:
        process.terminate()
        try:
            process.wait(_EMULATOR_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _address(process: subprocess.Popen[str]) -> str:
    """The URL the emulator prints once it listens; its output keeps being drained after."""
    lines: queue.Queue[str | None] = queue.Queue()
    stdout = process.stdout
    if stdout is None:  # Popen was given stdout=PIPE
        msg = "the emulator's output cannot be read"
        raise ConfigurationError(msg)

    def drain() -> None:
        for line in stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, name="cxone-demo-emulator", daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=_EMULATOR_START_TIMEOUT_S)
        except queue.Empty:
            line = None
        if line is None:
            output = "".join(seen).strip() or "(no output)"
            msg = f"the emulator did not start within {_EMULATOR_START_TIMEOUT_S:g} s: {output}"
            raise ConfigurationError(msg)
        seen.append(line)
        found = _LISTENING.search(line)
        if found:
            return found["url"]


@dataclass(frozen=True, slots=True)
class DeployedAction:
    """One action of the stack's outputs: its id, version and sandbox test status."""

    name: str
    id: str
    version: int | None
    test_status: str | None


@dataclass(frozen=True, slots=True)
class Deployed:
    """How `pulumi up` ended: the deployed actions, or the error and the engine's output."""

    actions: tuple[DeployedAction, ...]
    error: str | None = None


def pulumi_up(
    project: Project,
    base_url: str,
    pulumi: PulumiCommand,
    *,
    on_action: Callable[[str], None] | None = None,
) -> Deployed:
    """Deploy a copy of the project's program to `base_url` as stack `local`, on a file backend."""
    with tempfile.TemporaryDirectory(prefix="cxone-demo-") as scratch_dir:
        scratch = Path(scratch_dir)
        work = scratch / "program"
        shutil.copytree(
            project.program_dir,
            work,
            ignore=shutil.ignore_patterns("__pycache__", "Pulumi.*", ".venv"),
        )
        (scratch / "home").mkdir()
        (scratch / "state").mkdir()
        environment = {
            "PULUMI_BACKEND_URL": (scratch / "state").as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": _DEMO_PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
        options: dict[str, Any] = {"toolchain": "pip"}
        if sys.prefix != sys.base_prefix:
            options["virtualenv"] = sys.prefix
        else:
            environment["PULUMI_PYTHON_CMD"] = sys.executable
        settings = ProjectSettings(
            name=project.name,
            runtime=ProjectRuntimeInfo("python", options),
            description="cxone demo: the example stack on a local emulator",
        )
        workspace = LocalWorkspaceOptions(
            pulumi_home=str(scratch / "home"),
            env_vars=environment,
            project_settings=settings,
            secrets_provider="passphrase",
            pulumi_command=pulumi,
        )
        try:
            stack = create_stack(STACK, work_dir=str(work), opts=workspace)
            stack.set_all_config(
                {
                    "cxone:baseUrl": ConfigValue(base_url),
                    "cxone:clientId": ConfigValue(DEMO_CLIENT.client_id),
                    "cxone:clientSecret": ConfigValue(DEMO_CLIENT.secret, secret=True),
                    "cxone:onTestFailure": ConfigValue("fail"),
                }
            )
            result = stack.up(color="never", on_event=_action_events(on_action))
        except CommandError as exc:
            return Deployed((), error=str(exc).strip())
    return Deployed(_deployed(result.outputs))


def _action_events(on_action: Callable[[str], None] | None) -> Callable[[EngineEvent], None]:
    def on_event(event: EngineEvent) -> None:
        outputs = event.res_outputs_event
        if on_action is not None and outputs is not None and outputs.metadata.type == TYPE_TOKEN:
            on_action(outputs.metadata.urn.rsplit("::", 1)[-1])

    return on_event


def _deployed(outputs: Any) -> tuple[DeployedAction, ...]:
    actions = []
    for name, output in outputs.items():
        value = output.value
        if isinstance(value, dict) and "id" in value:
            version = value.get("version")
            actions.append(
                DeployedAction(
                    name,
                    str(value["id"]),
                    int(version) if isinstance(version, int | float) else None,
                    value.get("test_status"),
                )
            )
    return tuple(actions)


@dataclass(frozen=True, slots=True)
class StackChanges:
    """The engine's count of steps by kind, as the fleet's summary shows them."""

    created: int
    updated: int
    deleted: int
    unchanged: int

    @classmethod
    def of(cls, summary: OpMap | None) -> StackChanges:
        """From the engine's summary; a replacement counts as an update."""
        counts: dict[str, int] = {str(kind): count for kind, count in (summary or {}).items()}
        return cls(
            created=counts.get("create", 0),
            updated=counts.get("update", 0) + counts.get("replace", 0),
            deleted=counts.get("delete", 0),
            unchanged=counts.get("same", 0),
        )


def first_error_line(text: str) -> str:
    """The line of a failure a person needs first.

    A traceback's exception (the provider's error, which says what to do; a failed provider
    call shows it first as a headline ending in ":" and the message on the next line, and its
    `OperationFailedError` only points back at it), else Pulumi's first `error:` line that is
    not a consequence of another, else the last line.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        raised = _RAISED.match(line)
        if raised and raised["type"] != OperationFailedError.__name__:
            message = raised["message"]
            if message.endswith(":") and index + 1 < len(lines):
                message = f"{message} {lines[index + 1]}"
            return f"{raised['type']}: {message}"
    for line in lines:
        said = _SAID.search(line)
        if said and said["message"] and not said["message"].startswith(_CONSEQUENCES):
            return said["message"]
    return lines[-1] if lines else "failed without a message"


def open_backend(project: Project, pulumi: PulumiCommand) -> None:
    """List the project's stacks once, before stacks run at once: the backend is ready for them.

    Pulumi's PostgreSQL backend creates its table at the first use, and several `pulumi`
    processes doing that at the same moment collide (`duplicate key value violates unique
    constraint "pg_type_typname_nsp_index"`). A backend that cannot be opened (a wrong URL, no
    login) fails here once, with Pulumi's reason.
    """
    workspace = LocalWorkspace(work_dir=str(project.root), **_fleet_options(pulumi, None))
    try:
        workspace.list_stacks()
    except CommandError as exc:
        msg = f"the Pulumi backend cannot be opened: {first_error_line(str(exc))}"
        raise DeploymentError(msg) from None


def _fleet_options(pulumi: PulumiCommand, stack_name: str | None) -> dict[str, Any]:
    """The workspace of a fleet's stack: this Python first on PATH, the stack's own secret."""
    environment = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    secret = os.environ.get(stack_secret_variable(stack_name)) if stack_name else None
    if secret is not None:
        environment["CXONE_CLIENT_SECRET"] = secret
    return {"env_vars": environment, "pulumi_command": pulumi}


def stack_operation(
    project: Project,
    stack_name: str,
    operation: str,
    pulumi: PulumiCommand,
    *,
    on_event: Callable[[EngineEvent], None],
) -> StackChanges:
    """`pulumi preview|up|refresh` of one stack of the project, in the project's folder.

    `up` creates a stack the backend does not have; preview and refresh raise
    StackMissingError. A failed command raises DeploymentError with its first error. The
    program and the provider run in this Python (first on PATH, as in an activated
    virtualenv); the stack's secret comes from `CXONE_CLIENT_SECRET_<STACK>` when that is
    set, so each stack of a fleet reaches its own tenant with its own OAuth client.
    """
    options = LocalWorkspaceOptions(**_fleet_options(pulumi, stack_name))
    work_dir = str(project.root)
    stack: Stack
    try:
        if operation == "up":
            stack = create_or_select_stack(stack_name, work_dir=work_dir, opts=options)
            done = stack.up(color="never", on_event=on_event)
            return StackChanges.of(done.summary.resource_changes)
        try:
            stack = select_stack(stack_name, work_dir=work_dir, opts=options)
        except StackNotFoundError:
            msg = f"stack {stack_name!r} is not in the backend: `cxone fleet up` creates it"
            raise StackMissingError(msg) from None
        if operation == "preview":
            return StackChanges.of(stack.preview(color="never", on_event=on_event).change_summary)
        refreshed = stack.refresh(color="never", on_event=on_event)
        return StackChanges.of(refreshed.summary.resource_changes)
    except CommandError as exc:
        raise DeploymentError(first_error_line(str(exc))) from None
