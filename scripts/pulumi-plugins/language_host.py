"""A Pulumi language host for Python programs, for CLIs built from Pulumi's Go modules.

Pulumi's own host (`pulumi-language-python`, a Go program) is not served by the Go module
proxy, so `scripts/install-pulumi` installs this one beside a CLI it builds. The engine starts
it with the engine's address as the last argument and reads the port from its first stdout
line. It implements what `pulumi preview/up/destroy/refresh/install/about` ask of a Python
host, with the same rules as Pulumi's:

- the program runs in a fresh Python process (`run_program.py`), in the program's folder;
- the interpreter is `<virtualenv>/bin/python` when Pulumi.yaml sets `virtualenv` (a relative
  path is resolved against the project's root, the folder of Pulumi.yaml), else
  `PULUMI_PYTHON_CMD`, else `python3` on PATH;
- `pulumi install` creates that virtualenv if needed, upgrades pip, setuptools and wheel in
  the Python it uses (the virtualenv's, or the one on PATH without one) and installs the
  program folder's `requirements.txt` into it.

It declares no plugins for the engine to download: dynamic providers need none.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from pulumi.runtime.proto import (
    LanguageRuntimeServicer,
    add_LanguageRuntimeServicer_to_server,
    language_pb2,
    plugin_pb2,
)

VERSION = "3.276.0"
RUNNER = Path(__file__).with_name("run_program.py")
# run_program.py exits with this code after reporting the program's error to the engine.
BAIL_EXIT_CODE = 32


class PythonInterpreterError(Exception):
    """The Python named by Pulumi.yaml's `virtualenv` option does not exist."""


def runtime_options(info: language_pb2.ProgramInfo) -> dict[str, Any]:
    """Pulumi.yaml's `runtime.options`, as the engine sends them."""
    return json_format.MessageToDict(info.options) if info.HasField("options") else {}


def virtualenv_path(info: language_pb2.ProgramInfo) -> Path | None:
    """The virtualenv Pulumi.yaml names, resolved against the project's root."""
    option = runtime_options(info).get("virtualenv")
    if not option:
        return None
    path = Path(option)
    return path if path.is_absolute() else Path(info.root_directory) / path


def interpreter(info: language_pb2.ProgramInfo) -> str:
    """The Python that runs the program."""
    venv = virtualenv_path(info)
    if venv is None:
        return os.environ.get("PULUMI_PYTHON_CMD") or shutil.which("python3") or "python"
    python = venv / "bin" / "python"
    if not python.exists():
        state = "does not exist" if not venv.exists() else "is not a virtual environment"
        msg = (
            f"The 'virtualenv' option in Pulumi.yaml is set to {str(venv)!r}, which {state}. "
            "Run `pulumi install` to create it, or create it yourself:\n"
            f"    1. python3 -m venv {venv}\n"
            f"    2. {python} -m pip install --upgrade pip setuptools wheel\n"
            f"    3. {python} -m pip install -r requirements.txt"
        )
        raise PythonInterpreterError(msg)
    return str(python)


def venv_environment(info: language_pb2.ProgramInfo) -> dict[str, str]:
    """The environment of the program's process: the virtualenv first on PATH, if any."""
    env = dict(os.environ)
    venv = virtualenv_path(info)
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.pop("PYTHONHOME", None)
    return env


class PythonLanguageHost(LanguageRuntimeServicer):  # type: ignore[misc]
    """The LanguageRuntime service: one Python process per program run."""

    def __init__(self, engine_address: str) -> None:
        self._engine_address = engine_address
        self._running: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def stop_programs(self) -> None:
        """End the programs still running (the engine is gone)."""
        with self._lock:
            for program in self._running:
                program.kill()

    def Handshake(self, request: Any, context: Any) -> Any:  # noqa: N802 -- gRPC method name
        """Nothing to negotiate: the program's folders come with each request."""
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request: Any, context: Any) -> Any:  # noqa: N802
        """The Pulumi version this host stands in for."""
        return plugin_pb2.PluginInfo(version=VERSION)

    def GetRequiredPlugins(self, request: Any, context: Any) -> Any:  # noqa: N802
        """No plugin to download (dynamic providers come with the SDK)."""
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request: Any, context: Any) -> Any:  # noqa: N802
        """No package to download (dynamic providers come with the SDK)."""
        return language_pb2.GetRequiredPackagesResponse()

    def Run(self, request: Any, context: Any) -> Any:  # noqa: N802
        """Run the program in its own Python process until it has registered everything."""
        try:
            python = interpreter(request.info)
        except PythonInterpreterError as exc:
            return language_pb2.RunResponse(error=str(exc))
        program = Path(request.info.program_directory) / (request.info.entry_point or ".")
        run = {
            "program": str(program),
            "pwd": request.pwd,
            "root_directory": request.info.root_directory,
            "project": request.project,
            "stack": request.stack,
            "organization": request.organization,
            "monitor_address": request.monitor_address,
            "engine_address": self._engine_address,
            "dry_run": request.dryRun,
            "parallel": request.parallel,
            "config": dict(request.config),
            "config_secret_keys": list(request.configSecretKeys),
        }
        program = subprocess.Popen(  # noqa: S603 -- the interpreter Pulumi.yaml names
            [python, "-u", str(RUNNER)],
            stdin=subprocess.PIPE,
            cwd=request.pwd,
            env=venv_environment(request.info),
        )
        with self._lock:
            self._running.add(program)
        try:
            program.communicate(json.dumps(run).encode())
        finally:
            with self._lock:
                self._running.discard(program)
        if program.returncode == 0:
            return language_pb2.RunResponse()
        if program.returncode == BAIL_EXIT_CODE:
            return language_pb2.RunResponse(bail=True)
        return language_pb2.RunResponse(
            error=f"the Python program exited with code {program.returncode} ({python})"
        )

    def InstallDependencies(self, request: Any, context: Any) -> Iterator[Any]:  # noqa: N802
        """`pulumi install`, as Pulumi's host does it: virtualenv, pip tools, requirements.txt.

        The virtualenv is created when Pulumi.yaml names one that does not exist; pip,
        setuptools and wheel are upgraded in the Python used, virtualenv or not.
        """
        info = request.info
        venv = virtualenv_path(info)
        folder = Path(info.program_directory or request.directory)
        steps: list[tuple[str, list[str]]] = []
        base = os.environ.get("PULUMI_PYTHON_CMD") or shutil.which("python3") or "python"
        python = base
        if venv is not None:
            python = str(venv / "bin" / "python")
            if not Path(python).exists():
                steps.append(("Creating virtual environment", [base, "-m", "venv", str(venv)]))
        upgrade = [python, "-m", "pip", "install", "--upgrade", "pip", "setuptools", "wheel"]
        steps.append(("Updating pip, setuptools, and wheel", upgrade))
        if (folder / "requirements.txt").exists():
            install = [python, "-m", "pip", "install", "-r", "requirements.txt"]
            steps.append(("Installing dependencies", install))
        yield language_pb2.InstallDependenciesResponse(stdout=b"Installing dependencies...\n\n")
        for title, step in steps:
            yield language_pb2.InstallDependenciesResponse(
                stdout=f"{title}...\n$ {' '.join(step)}\n".encode()
            )
            completed = subprocess.run(step, cwd=folder, capture_output=True, check=False)  # noqa: S603
            yield language_pb2.InstallDependenciesResponse(
                stdout=completed.stdout, stderr=completed.stderr
            )
            if completed.returncode != 0:
                context.abort(
                    grpc.StatusCode.UNKNOWN,
                    f"`{' '.join(step)}` failed with exit code {completed.returncode}",
                )
        yield language_pb2.InstallDependenciesResponse(
            stdout=b"Finished installing dependencies\n\n"
        )

    def About(self, request: Any, context: Any) -> Any:  # noqa: N802
        """The program's interpreter and its version."""
        python = interpreter(request.info)
        version = subprocess.run(  # noqa: S603
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return language_pb2.AboutResponse(executable=python, version=version)

    def GetProgramDependencies(self, request: Any, context: Any) -> Any:  # noqa: N802
        """The distributions installed in the program's interpreter (`pulumi about`)."""
        python = interpreter(request.info)
        listed = subprocess.run(  # noqa: S603
            [python, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
            capture_output=True,
            text=True,
            check=False,
        )
        packages = json.loads(listed.stdout or "[]")
        return language_pb2.GetProgramDependenciesResponse(
            dependencies=[
                language_pb2.DependencyInfo(name=package["name"], version=package["version"])
                for package in packages
            ]
        )

    def Cancel(self, request: Any, context: Any) -> Any:  # noqa: N802
        """A running program ends with the engine's monitor; nothing to stop here."""
        from google.protobuf import empty_pb2  # noqa: PLC0415 -- only this method needs it

        return empty_pb2.Empty()


def watch_engine(host: PythonLanguageHost, server: grpc.Server) -> None:
    """Stop when the engine that started us is gone (killed, not ended with SIGINT)."""
    engine = os.getppid()
    while os.getppid() == engine:
        time.sleep(1)
    host.stop_programs()
    server.stop(grace=None)


def main() -> None:
    """Serve on a free loopback port, announced on stdout, until the engine ends us."""
    engine_address = sys.argv[-1] if len(sys.argv) > 1 else ""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    host = PythonLanguageHost(engine_address)
    add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    # The engine ends its plugins with SIGINT: stop serving, without a traceback.
    signal.signal(signal.SIGINT, lambda _signum, _frame: server.stop(grace=None))
    threading.Thread(target=watch_engine, args=(host, server), daemon=True).start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
