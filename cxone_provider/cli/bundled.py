"""What the package carries besides code: the example stack and the documentation.

One copy of each lives at the top of the repository (`Pulumi.yaml` and `stacks/`,
`README.md`, `docs/`); the wheel carries them inside the package, under `bundled/`
(pyproject.toml's `force-include`). A checkout, editable install included, reads them where
they are; an installed wheel reads its own copy, wherever it is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["BUNDLED", "CHECKOUT", "documents_root", "example_root"]

CHECKOUT: Final = Path(__file__).resolve().parents[2]
"""The repository's root, when the package runs from a checkout."""
BUNDLED: Final = Path(__file__).resolve().parents[1] / "bundled"
"""The copy a wheel carries (absent in a checkout)."""


def _root() -> Path:
    """The wheel's copy when there is one, else the checkout."""
    return BUNDLED if BUNDLED.is_dir() else CHECKOUT


def example_root() -> Path:
    """The example project's folder: its Pulumi.yaml, with the program in stacks/."""
    return _root()


def documents_root() -> Path:
    """The folder of README.md and docs/."""
    return _root()
