"""The `cxone` command line: one module per command, and what the commands share.

`application` builds the typer application (`app`) from the commands and runs it (`main`).
Each command lives in the module of its name (`init`, `validate`, `graph`, `export`, `diff`,
`test`, `demo`, `emulator`, `docs`), beside what it alone needs (`project_template/`,
`export_program`, `managed`, `comparison`, `comparison_output`, `localrun`, `automation`).
`bundled` finds what the wheel carries besides code (the example stack, the documents).
Shared by several: `output` (the answers for
people and for `--json`, exit codes, common options), `tenant` (reading a tenant), `project`,
`program` and `program_child` (a stack program and what it declares), `preflight` (the
checks of `cxone validate`), `render` (the graph's drawings) and `shutdown` (how the process
ends).

The top layer: it may import `cxone_provider.deploy`, `cxone_provider.emulator` and
`cxone_provider.api`; nothing imports it back (`lint-imports` checks this; see
pyproject.toml). `app` and `main` load on first use, so the program's child process does not
import typer; the `cxone` entry point is `cxone_provider.cli:main`.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name not in {"app", "main"}:
        msg = f"module 'cxone_provider.cli' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module("cxone_provider.cli.application"), name)
