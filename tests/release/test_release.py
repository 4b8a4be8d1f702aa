"""The release: what a user gets from the wheel alone, in a virtualenv outside the repository.

The wheel and the sdist build offline and pass `twine check`; the wheel, installed into a
fresh virtualenv, gives a working `cxone` and `DataAction`, and from that virtualenv alone a
user starts a project (`cxone init`), checks it (`cxone validate`), runs `cxone demo` and
deploys the project with `pulumi up` (issue 21). The virtualenv gets the wheel's
dependencies from PyPI (about 20 s on two cores, the module's main cost); the engine test
adds about 12 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from pulumi_cli import REPO, PulumiProject, pulumi_cli

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
INSTALL_TIMEOUT_S = 600


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    completed = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, f"{args} exited {completed.returncode}:\n" + (
        completed.stdout + completed.stderr
    )
    return completed


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """`python -m build --no-isolation`: the sdist, then the wheel built from it, offline."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, REPO, cwd=out)
    return out


@pytest.fixture(scope="module")
def project_venv(dist, tmp_path_factory) -> Path:
    """A fresh virtualenv at <project>/.venv, outside the repository, with only the wheel."""
    project = tmp_path_factory.mktemp("user") / "my-actions"
    venv = project / ".venv"
    run(sys.executable, "-m", "venv", venv, cwd=project.parent)
    (wheel,) = dist.glob("*.whl")
    run(
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        wheel,
        cwd=project.parent,
        timeout=INSTALL_TIMEOUT_S,
    )
    return venv


def user_env(venv: Path, home: Path, *extra: str) -> dict[str, str]:
    """A shell with the virtualenv activated; nothing of the repository's on PATH."""
    ours = Path(sys.executable).parent
    path = [p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != ours]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXONE_", "PULUMI_"))}
    env.pop("PYTHONPATH", None)
    env |= {
        "PATH": os.pathsep.join([str(venv / "bin"), *extra, *path]),
        "HOME": str(home),
        "VIRTUAL_ENV": str(venv),
        "NO_COLOR": "1",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    return env


@pytest.mark.timeout(INSTALL_TIMEOUT_S + 120)
def test_the_wheel_and_sdist_pass_twine_and_the_wheel_works_where_it_is_installed(
    dist, project_venv
):
    """`twine check` passes; the wheel carries the example and the docs; cxone and DataAction."""
    pytest.importorskip("twine", reason="twine is a dev dependency: pip install -e '.[dev]'")
    run(sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir()), cwd=dist)
    (wheel,) = dist.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for carried in (
        "cxone_provider/bundled/stacks/__main__.py",
        "cxone_provider/bundled/docs/provider.md",
        "cxone_provider/bundled/docs/CHANGELOG.md",
        "cxone_provider/cli/project_template/__main__.py",
    ):
        assert carried in names

    home = project_venv.parent.parent
    env = user_env(project_venv, home)
    bin_dir = project_venv / "bin"
    version = run(bin_dir / "cxone", "--version", cwd=home, env=env)
    assert version.stdout == f"cxone {VERSION}\n"
    imported = run(
        bin_dir / "python",
        "-c",
        "import cxone_provider as c; from cxone_provider import DataAction, "
        "DataActionArgs; print(c.__file__, DataAction.__name__)",
        cwd=home,
        env=env,
    )
    location, name = imported.stdout.split()
    assert Path(location).is_relative_to(project_venv)
    assert name == "DataAction"
    helped = run(bin_dir / "cxone", "--help", cwd=home, env=env)
    assert "`cxone docs`" in helped.stdout
    assert "README.md and docs/" not in helped.stdout
    guide = run(bin_dir / "cxone", "docs", "provider", cwd=home, env=env)
    assert guide.stdout.startswith("# The provider")


@pytest.mark.engine
@pytest.mark.timeout(INSTALL_TIMEOUT_S + 600)
def test_from_the_wheel_alone_init_validate_demo_and_pulumi_up_work(
    project_venv, emulator, tmp_path
):
    """`cxone init` beside its .venv, validate, demo, then `pulumi up` of the new project."""
    pulumi = pulumi_cli()
    project = project_venv.parent
    home = project.parent
    env = user_env(project_venv, home, str(Path(pulumi).parent))
    cxone = project_venv / "bin" / "cxone"

    initialized = run(cxone, "init", project, "--json", cwd=home, env=env)
    assert json.loads(initialized.stdout)["venv_ready"] is True  # cxone runs from its .venv
    validated = run(cxone, "validate", "--stack", "local", "--json", cwd=project, env=env)
    assert json.loads(validated.stdout)["ok"] is True
    demo = run(cxone, "demo", "--no-install", "--json", cwd=home, env=env, timeout=600)
    answer = json.loads(demo.stdout)
    assert answer["ok"] is True, answer
    assert {a["test_status"] for a in answer["actions"]} == {"SUCCESS"}
    assert len(answer["actions"]) == 7

    local = project / "Pulumi.local.yaml"
    local.write_text(local.read_text().replace("http://127.0.0.1:8765", emulator.base_url))
    deployment = PulumiProject(project, tmp_path / "state", pulumi=pulumi)
    deployment.extra_env["PATH"] = env["PATH"]
    deployment.run("stack", "init", "local")
    deployment.up()
    outputs = deployment.outputs()
    assert outputs["greet_caller"]["test_status"] == "SUCCESS"
    with emulator.api() as api:
        listed = api.get("/api/v2/dataactions/actions").json()["entities"]
    assert [action["name"] for action in listed] == ["greet_caller"]
