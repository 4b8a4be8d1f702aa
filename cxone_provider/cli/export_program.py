"""`cxone export`: a tenant's actions as a ready-to-run stack program that adopts them.

The program written is the shape of the example stack: `Pulumi.yaml`, `requirements.txt`
(cxone-provider from where the running one came from), a `README.md` saying how to set it
up, `__main__.py` declaring every action on an `ActionCatalog` (description, dependencies,
enabled, trigger exactly as on the tenant), and one `actions/<name>.js` per action holding
its script byte for byte. Each declaration says `adopt=True`, so the first `pulumi up` takes
over the existing actions instead of creating new ones, without writing to them (and fails
for any declaration that differs from the tenant). Dependencies on actions left out by a name
filter are declared as unmanaged tenant actions.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

import yaml

from cxone_provider.api.errors import ConfigurationError, DependencyGraphError
from cxone_provider.api.models import NAME_PATTERN, NAME_RULE, Action
from cxone_provider.deploy.graph import Declaration, validate_graph

__all__ = [
    "ACTIONS_DIR",
    "Export",
    "ExportedAction",
    "Requirement",
    "Skipped",
    "existing_files",
    "exportable",
    "provider_requirement",
    "requirements_text",
    "select",
    "write_program",
]

ACTIONS_DIR: Final = "actions"
DISTRIBUTION: Final = "cxone-provider"
_WRITTEN: Final = ("Pulumi.yaml", "requirements.txt", "README.md", "__main__.py", ACTIONS_DIR)
_NAME: Final = re.compile(NAME_PATTERN)


@dataclass(frozen=True, slots=True)
class Skipped:
    """An action not exported, and why: its name (or a dependency's) breaks the API's rule."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class ExportedAction:
    """One action written: its name and id on the tenant, and its script's file."""

    name: str
    id: str
    file: str
    dependencies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Export:
    """What was written where."""

    out: Path
    actions: tuple[ExportedAction, ...]
    unmanaged: tuple[str, ...]
    """Dependencies of exported actions that were not exported (left unmanaged)."""
    requirement: Requirement
    """How requirements.txt installs cxone-provider."""


def select(actions: Iterable[Action], name_filter: str | None) -> list[Action]:
    """The actions whose name matches `name_filter` (a regular expression, searched)."""
    if name_filter is None:
        return list(actions)
    try:
        pattern = re.compile(name_filter)
    except re.error as exc:
        msg = f"--name-filter {name_filter!r} is not a regular expression: {exc}"
        raise ConfigurationError(msg) from None
    return [action for action in actions if pattern.search(action.name)]


def exportable(actions: Iterable[Action]) -> tuple[list[Action], list[Skipped]]:
    """The actions whose names may become files and code, and the others with the reason.

    A tenant's names become file names (`actions/<name>.js`) and string literals in the
    program; only a name that passes the API's own rule (letters, digits, `_`, `-`) can be
    trusted with that. An action with such a name, or depending on one, is skipped.
    """
    kept: list[Action] = []
    skipped: list[Skipped] = []
    for action in actions:
        bad = [name for name in action.dependencies if not _NAME.fullmatch(name)]
        if not _NAME.fullmatch(action.name):
            skipped.append(Skipped(action.name, f"its name breaks the API's rule ({NAME_RULE})"))
        elif bad:
            reason = (
                f"{len(bad)} of its dependencies have names that break the API's rule ({NAME_RULE})"
            )
            skipped.append(Skipped(action.name, reason))
        else:
            kept.append(action)
    return kept, skipped


def write_program(
    actions: Sequence[Action],
    out: Path,
    *,
    source: str,
    project: str,
    on_written: Callable[[str], None] | None = None,
) -> Export:
    """Write the program of `actions` into `out` (created if needed); dependencies first.

    `source` names where the actions come from (the base URL), for the program's docstring.
    """
    try:
        return _write(actions, out, source=source, project=project, on_written=on_written)
    except OSError as exc:
        msg = f"cannot write the program into {str(out)!r}: {exc.strerror or exc} ({exc.filename})"
        raise ConfigurationError(msg) from None


def _write(
    actions: Sequence[Action],
    out: Path,
    *,
    source: str,
    project: str,
    on_written: Callable[[str], None] | None,
) -> Export:
    exported = {action.name for action in actions}
    unmanaged = sorted({name for action in actions for name in action.dependencies} - exported)
    ordered = _dependencies_first(actions, unmanaged)
    _, skipped = exportable(ordered)
    if skipped:
        msg = f"refusing to write {len(skipped)} actions: {skipped[0].reason}; skip them first"
        raise ConfigurationError(msg)
    out.mkdir(parents=True, exist_ok=True)
    (out / ACTIONS_DIR).mkdir(exist_ok=True)
    files = _file_names([action.name for action in ordered])
    written: list[ExportedAction] = []
    for action in ordered:
        file = f"{ACTIONS_DIR}/{files[action.name]}"
        _write_inside(out, file, action.script.content)
        written.append(ExportedAction(action.name, action.id, file, tuple(action.dependencies)))
        if on_written is not None:
            on_written(action.name)
    _write_inside(out, "__main__.py", _program(ordered, files, unmanaged, source))
    manifest = {
        "name": project,
        "description": f"Data Actions exported from {source} by cxone export",
        "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}},
    }
    _write_inside(out, "Pulumi.yaml", yaml.safe_dump(manifest, sort_keys=False))
    requirement = provider_requirement()
    _write_inside(out, "requirements.txt", requirements_text(requirement))
    _write_inside(out, "README.md", _readme(project, source, len(written), requirement))
    return Export(out, tuple(written), tuple(unmanaged), requirement)


def _write_inside(out: Path, relative: str, text: str) -> None:
    """Write `out/relative`, refusing any path or symlink that leads outside `out`.

    The folder it goes into must resolve inside `out`, and the file itself is never
    followed if it is a symlink (O_NOFOLLOW): an earlier export or a hostile tenant cannot
    make this write anywhere else.
    """
    target = out / relative
    folder = out.resolve()
    parent = target.parent.resolve()
    if (parent != folder and folder not in parent.parents) or target.is_symlink():
        msg = (
            f"refusing to write {relative!r}: it leads outside {str(out)!r} (a symlink?); "
            "remove it or choose another --out"
        )
        raise ConfigurationError(msg)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    with os.fdopen(os.open(target, flags, 0o644), "w", encoding="utf-8", newline="") as file:
        file.write(text)


def existing_files(out: Path) -> list[str]:
    """The files of an earlier export that writing into `out` would replace."""
    return [name for name in _WRITTEN if (out / name).exists()]


def _dependencies_first(actions: Sequence[Action], unmanaged: Sequence[str]) -> list[Action]:
    """The actions in creation order (ties: the tenant's order); as listed if that fails."""
    declarations = [Declaration(action.name, action.dependencies) for action in actions]
    try:
        order = validate_graph(declarations, tenant_actions=unmanaged).order
    except DependencyGraphError:  # a tenant never holds a cycle; keep its order if one does
        return list(actions)
    by_name = {action.name: action for action in actions}
    return [by_name[name] for name in order]


def _file_names(names: Sequence[str]) -> dict[str, str]:
    """`<name>.js`, made unique where file systems ignore case (`.2` never occurs in a name)."""
    files: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        candidate, number = f"{name}.js", 1
        while candidate.lower() in taken:
            number += 1
            candidate = f"{name}.{number}.js"
        taken.add(candidate.lower())
        files[name] = candidate
    return files


@dataclass(frozen=True, slots=True)
class Requirement:
    """The line that installs cxone-provider in the exported project, and where it points."""

    line: str
    origin: str


def provider_requirement() -> Requirement:
    """cxone-provider from where the running one was installed (PEP 610's direct_url.json).

    The package is on no registry: a name and version alone would not install. A checkout
    (editable or not), an archive or a repository is named by its URL; only an install
    without such a record (from an index) is pinned to its version.
    """
    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return Requirement(DISTRIBUTION, "your package index (cxone-provider is not installed)")
    recorded = distribution.read_text("direct_url.json")
    if recorded is None:
        version = distribution.version
        return Requirement(f"{DISTRIBUTION}=={version}", f"version {version} of your package index")
    direct = json.loads(recorded)
    url = direct["url"]
    if "vcs_info" in direct:
        vcs = direct["vcs_info"]
        commit = vcs.get("commit_id", "")
        line = f"{DISTRIBUTION} @ {vcs['vcs']}+{url}" + (f"@{commit}" if commit else "")
        return Requirement(line, f"the repository {url}" + (f" at {commit}" if commit else ""))
    if "dir_info" in direct:
        return Requirement(f"{DISTRIBUTION} @ {url}", f"the folder {_local_path(url)}")
    return Requirement(f"{DISTRIBUTION} @ {url}", f"the archive {url}")


def _local_path(url: str) -> str:
    parts = urlsplit(url)
    return unquote(parts.path) if parts.scheme == "file" else url


def requirements_text(requirement: Requirement) -> str:
    """requirements.txt of a project that `cxone` writes: cxone-provider, and where it is from."""
    return (
        f"# cxone-provider, from {requirement.origin}: where the `cxone` that wrote this\n"
        "# project came from (the package is on no registry yet). Point it elsewhere if you\n"
        "# move that folder.\n"
        f"{requirement.line}\n"
    )


def _readme(project: str, source: str, count: int, requirement: Requirement) -> str:
    return f"""# {project}

{count} Data Actions exported from {source} by `cxone export`, as a Pulumi stack program
that adopts them: `__main__.py` declares each action as it is on the tenant, with
`adopt=True`, and `actions/` holds the scripts byte for byte.

## Set up

```sh
python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
```

`requirements.txt` installs cxone-provider from {requirement.origin}, where the `cxone` that
wrote this project came from: the package is on no registry yet. Change that line if the
folder moves or you install cxone-provider another way.

## Adopt the actions

```sh
pulumi stack init dev
pulumi config set cxone:baseUrl {source}
pulumi config set cxone:clientId <client id>
pulumi config set --secret cxone:clientSecret
pulumi up
```

The first `pulumi up` takes over every action instead of creating it (nothing is written
to them) and fails for any declaration that differs from the tenant. Edit them afterwards
like any other. `cxone validate` checks the program without deploying it. Adopt here only
actions that no other Pulumi stack manages: two stacks managing one action undo each other's
changes (`cxone export` named those it found managed).
"""


def _text(value: str) -> str:
    """A Python string literal (JSON's escapes are Python's)."""
    return json.dumps(value, ensure_ascii=False)


# Over 60 lines: the program's text, one line of it per line here, in the order it is read.
def _program(
    actions: Sequence[Action], files: dict[str, str], unmanaged: Sequence[str], source: str
) -> str:
    exact = any("\r" in action.script.content for action in actions)
    lines = [
        f'"""Data Actions exported from {source} by `cxone export` ({len(actions)} actions).',
        "",
        "The first `pulumi up` adopts them: each declaration says `adopt=True`, so the existing",
        "action is taken over instead of created (nothing is written to it), and the up fails",
        "for any declaration that differs from the tenant. Edit them afterwards like any other.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from pathlib import Path",
        "",
        "import pulumi",
        "",
        "from cxone_provider import ActionCatalog",
        "",
        "HERE = Path(__file__).resolve().parent",
        f"ACTIONS = Path({_text(ACTIONS_DIR)})",
        "",
    ]
    if exact:
        lines += [
            "",
            "def exact_source(file: str) -> str:",
            '    """A script with its line endings kept (`\\r\\n` included), as on the tenant."""',
            '    with (HERE / ACTIONS / file).open(encoding="utf-8", newline="") as script:',
            "        return script.read()",
            "",
        ]
    lines += [
        "",
        "def build_catalog() -> ActionCatalog:",
        '    """Declare every exported action as it is on the tenant."""',
        "    catalog = ActionCatalog(base_dir=HERE)",
    ]
    if unmanaged:
        names = ", ".join(_text(name) for name in unmanaged)
        lines += [
            "    # Dependencies that were not exported: they stay on the tenant, unmanaged.",
            f"    catalog.include_tenant_actions([{names}])",
        ]
    for action in actions:
        lines += _declaration(action, files[action.name])
    lines += [
        "    return catalog",
        "",
        "",
        'if __name__ == "__main__":',
        "    for name, action in build_catalog().register().items():",
        "        pulumi.export(",
        "            name,",
        (
            '            {"id": action.action_id, "version": action.version, '
            '"test_status": action.test_status},'
        ),
        "        )",
        "",
    ]
    return "\n".join(lines)


def _declaration(action: Action, file: str) -> list[str]:
    if "\r" in action.script.content:
        script = f"exact_source({_text(file)})"
    else:
        script = f"ACTIONS / {_text(file)}"
    lines = [
        "    catalog.add(",
        f"        {_text(action.name)},",
        f"        script={script},",
        f"        description={_text(action.description)},",
    ]
    if action.dependencies:
        names = ", ".join(_text(name) for name in action.dependencies)
        lines.append(f"        dependencies=[{names}],")
    if not action.enabled:
        lines.append("        enabled=False,")
    if action.trigger.type != "MANUAL":
        lines.append(f"        trigger_type={_text(action.trigger.type)},")
    lines += ["        adopt=True,", "    )"]
    return lines
