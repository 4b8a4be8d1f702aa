"""Which tenant actions Pulumi stacks already manage: what `cxone export` warns about.

The tenant records no owner. Two traces tell that a deployment manages an action: the state
of the stacks of the project `cxone export` runs in (read with the Pulumi CLI, as the user is
logged in: `pulumi stack ls`, then `pulumi stack export`, which needs no passphrase), and the
description the provider gives an action declared without one. Both are best effort: without
the CLI, a project or a readable state, only the description speaks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from cxone_provider.api.models import Action
from cxone_provider.deploy.properties import TYPE_TOKEN, default_description

__all__ = ["managed_elsewhere", "stack_action_ids"]

_PULUMI_TIMEOUT_S: Final = 60.0


def stack_action_ids(project_root: Path) -> dict[str, str]:
    """Action id -> the stack of the project whose state records it; {} when unreadable."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        return {}
    listed = _pulumi_json(pulumi, project_root, "stack", "ls", "--json")
    found: dict[str, str] = {}
    for stack in listed if isinstance(listed, list) else []:
        name = stack.get("name") if isinstance(stack, dict) else None
        if not isinstance(name, str):
            continue
        exported = _pulumi_json(pulumi, project_root, "stack", "export", "--stack", name)
        deployment = exported.get("deployment") if isinstance(exported, dict) else None
        resources = (deployment or {}).get("resources") or []
        for resource in resources:
            if resource.get("type") == TYPE_TOKEN and resource.get("id"):
                found[str(resource["id"])] = name
    return found


def _pulumi_json(pulumi: str, cwd: Path, *args: str) -> Any:
    """A `pulumi` command's JSON answer in the project's folder; None when it fails."""
    try:
        completed = subprocess.run(  # noqa: S603 -- the pulumi on PATH, fixed arguments
            [pulumi, *args],
            cwd=cwd,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            capture_output=True,
            text=True,
            timeout=_PULUMI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None
    try:
        return json.loads(completed.stdout)
    except json.JSONDecodeError:
        return None


def managed_elsewhere(actions: Iterable[Action], stack_ids: Mapping[str, str]) -> dict[str, str]:
    """Action name -> why a Pulumi stack already manages it (its stack, or its description)."""
    found: dict[str, str] = {}
    for action in actions:
        if action.id in stack_ids:
            found[action.name] = f"stack {stack_ids[action.id]}"
        elif action.description == default_description(action.name):
            found[action.name] = "the description Pulumi gives"
    return found
