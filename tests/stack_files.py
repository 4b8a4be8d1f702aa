"""Stack files as the repository tracks them, whatever `pulumi stack init` added in the checkout.

`pulumi stack init` writes the stack's `encryptionsalt` (or, for other secrets providers,
`encryptedkey` and `secretsprovider`) into `Pulumi.<stack>.yaml`: after the README's
quickstart the tracked `stacks/Pulumi.local.yaml` holds a salt made with the reader's
passphrase, which no test knows. Copies of the project that tests run are normalized here,
so no test depends on the state of the working tree's stack files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

STACK_INIT_KEYS: Final = ("encryptionsalt", "encryptedkey", "secretsprovider")
_PREFIXES: Final = tuple(f"{key}:" for key in STACK_INIT_KEYS)


def strip_stack_init_keys(folder: Path) -> list[Path]:
    """Remove those top-level keys from the folder's stack files; the files that had any."""
    changed = []
    for path in sorted(folder.glob("Pulumi.*.y*ml")):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [
            line for line in lines if not line.startswith(tuple(f"{k}:" for k in STACK_INIT_KEYS))
        ]
        if kept != lines:
            path.write_text("".join(kept), encoding="utf-8")
            changed.append(path)
    return changed
