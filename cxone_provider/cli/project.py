"""A Pulumi project on disk: where its program and stack files are, and a stack's config.

What `cxone` reads of a project without the Pulumi CLI: `Pulumi.yaml` (name, `main`,
`stackConfigDir`) and `Pulumi.<stack>.yaml` (its config as the engine would hand it to the
program; encrypted values are left out: only the Pulumi CLI can decrypt them).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from cxone_provider.api.errors import ConfigurationError, ProgramError
from cxone_provider.api.textfiles import read_utf8
from cxone_provider.deploy.settings import PROJECT_FILES

__all__ = [
    "DEFAULT_STACK",
    "Project",
    "StackConfig",
    "folder_project_name",
    "load_stack_config",
    "locate_project",
    "shown_path",
]

DEFAULT_STACK: Final = "validate"


def folder_project_name(folder: Path) -> str:
    """A Pulumi project name made from a folder's name (what `cxone init` and `export` write)."""
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in folder.resolve().name)
    return name.strip("-.") or "cxone-actions"


def shown_path(path: Path, base: Path | None) -> str:
    """A path relative to `base` (the working directory) when it is inside it."""
    if base is not None and path.is_relative_to(base):
        return str(path.relative_to(base))
    return str(path)


@dataclass(frozen=True, slots=True)
class Project:
    """Where a Pulumi project's program and its stack config files are."""

    name: str
    root: Path
    program_dir: Path
    config_dir: Path
    manifest: Path | None

    @property
    def main(self) -> Path:
        """The file Pulumi runs."""
        return self.program_dir / "__main__.py"

    def stack_file(self, stack: str) -> Path | None:
        """The stack's config file, if there is one."""
        for suffix in (".yaml", ".yml"):
            path = self.config_dir / f"Pulumi.{stack}{suffix}"
            if path.is_file():
                return path
        return None

    def stacks(self) -> list[str]:
        """The stacks that have a config file."""
        return sorted(
            path.name.removeprefix("Pulumi.").rsplit(".", 1)[0]
            for path in self.config_dir.glob("Pulumi.*.y*ml")
        )


@dataclass(frozen=True, slots=True)
class StackConfig:
    """A stack's config as the engine hands it to a program: namespaced keys, string values.

    `encrypted` are the keys whose values only the Pulumi CLI can decrypt; they are left out.
    """

    name: str
    values: dict[str, str]
    encrypted: tuple[str, ...] = ()
    file: Path | None = None
    lines: Mapping[str, int] = field(default_factory=dict)
    """The line of each key in the file (1-based), to point at a setting's problem."""

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key of the config, the encrypted ones included."""
        return (*self.values, *self.encrypted)


def locate_project(path: str | Path) -> Project:
    """The project whose program is at `path`: a project folder (with Pulumi.yaml) or its `main`.

    Without a Pulumi.yaml in `path` or above it naming `path` as `main`, the folder is a
    program of its own (project name: the folder's name, stack config files beside it).
    """
    given = Path(path).resolve()
    if given.is_file() and given.name == "__main__.py":
        given = given.parent
    if not given.is_dir():
        msg = f"{str(path)!r} is not a folder; give the folder of a Pulumi project or program"
        raise ProgramError(msg)
    manifest = _manifest(given)
    if manifest is not None:
        project = _project(manifest)
    else:
        project = next(
            (
                found
                for folder in given.parents
                if (candidate := _manifest(folder)) is not None
                and (found := _project(candidate)).program_dir == given
            ),
            Project(given.name, given, given, given, None),
        )
    if not project.main.is_file():
        msg = (
            f"no __main__.py in {str(project.program_dir)!r}: cxone reads Python stack programs "
            "(Pulumi.yaml `main` names the folder of their __main__.py)"
        )
        raise ProgramError(msg)
    return project


def _manifest(folder: Path) -> Path | None:
    return next((folder / n for n in PROJECT_FILES if (folder / n).is_file()), None)


def _project(manifest: Path) -> Project:
    data = _read_yaml(manifest)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        msg = f"{str(manifest)!r} has no project `name`; add one (e.g. `name: cxone-actions`)"
        raise ProgramError(msg)
    root = manifest.parent
    main = data.get("main")
    config_dir = data.get("stackConfigDir")
    program_dir = (root / main).resolve() if isinstance(main, str) else root
    if program_dir.suffix == ".py":
        program_dir = program_dir.parent
    return Project(
        name=name,
        root=root,
        program_dir=program_dir,
        config_dir=(root / config_dir).resolve() if isinstance(config_dir, str) else root,
        manifest=manifest,
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(read_utf8(path))
    except ConfigurationError as exc:
        raise ProgramError(str(exc)) from None
    except yaml.YAMLError as exc:
        msg = f"cannot read {str(path)!r}: {exc}; fix the file"
        raise ProgramError(msg) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        msg = f"{str(path)!r} is not a YAML mapping; fix the file"
        raise ProgramError(msg)
    return data


def load_stack_config(project: Project, stack: str | None) -> StackConfig:
    """The stack's config from `Pulumi.<stack>.yaml`, as the engine would pass it.

    Keys get the project's namespace when they have none; values become strings (structured
    ones JSON text). Secrets stay encrypted in the file without the Pulumi CLI and are left
    out: settings that need them fall back to their environment variables.
    """
    if stack is None:
        return StackConfig(DEFAULT_STACK, {})
    file = project.stack_file(stack)
    if file is None:
        raise ProgramError(_unknown_stack(project, stack))
    config = _read_yaml(file).get("config") or {}
    if not isinstance(config, dict):
        msg = f"`config` in {str(file)!r} is not a mapping of keys to values; fix the file"
        raise ProgramError(msg)
    values: dict[str, str] = {}
    encrypted: list[str] = []
    for raw_key, value in config.items():
        key = str(raw_key) if ":" in str(raw_key) else f"{project.name}:{raw_key}"
        if _holds_secret(value):
            encrypted.append(key)
        elif isinstance(value, str):
            values[key] = value
        else:
            values[key] = json.dumps(value)
    return StackConfig(stack, values, tuple(encrypted), file, _key_lines(file, project.name))


def _key_lines(file: Path, project: str) -> dict[str, int]:
    """The line of each key under `config:` (namespaced as in `load_stack_config`)."""
    document = yaml.compose(file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    lines: dict[str, int] = {}
    if not isinstance(document, yaml.MappingNode):
        return lines
    for key, value in document.value:
        if key.value == "config" and isinstance(value, yaml.MappingNode):
            for item, _ in value.value:
                name = str(item.value)
                lines[name if ":" in name else f"{project}:{name}"] = item.start_mark.line + 1
    return lines


def _unknown_stack(project: Project, stack: str) -> str:
    """No config file for `stack`: the stacks there are, the closest first."""
    stacks = project.stacks()
    close = difflib.get_close_matches(stack, stacks, n=1)
    hint = f"did you mean --stack {close[0]}? " if close else ""
    there = f"the stacks there: {', '.join(stacks)}" if stacks else "there is none"
    return (
        f"no stack {stack!r}: no Pulumi.{stack}.yaml in {str(project.config_dir)!r}; {hint}"
        f"{there} (a stack without a config file needs no --stack)"
    )


def _holds_secret(value: Any) -> bool:
    if isinstance(value, dict):
        return "secure" in value or any(_holds_secret(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_secret(item) for item in value)
    return False
