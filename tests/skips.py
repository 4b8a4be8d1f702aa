"""The suite's last line when tests were skipped: how many, and why, in one line.

pytest's own summary (`-ra`) gives one line per skipped test, scrolled far above the end; a
first run without the Pulumi CLI skips dozens. `tests/conftest.py` uses this hook
(`pytest_unconfigure`, which runs after pytest's own last line).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

SHOWN_REASONS: Final = 3


def skip_summary(reasons: list[str]) -> str | None:
    """`N tests skipped: n1 because R1; n2 because R2 ...`, the commonest reasons first."""
    if not reasons:
        return None
    counted = Counter(reasons).most_common()
    parts = [f"{count} because {reason}" for reason, count in counted[:SHOWN_REASONS]]
    others = sum(count for _, count in counted[SHOWN_REASONS:])
    if others:
        parts.append(f"{others} for other reasons (pytest -rs lists them)")
    noun = "test" if len(reasons) == 1 else "tests"
    return f"{len(reasons)} {noun} skipped: " + "; ".join(parts)


def pytest_unconfigure(config: Any) -> None:
    """Write `skip_summary` of the run as its very last line (after pytest's own count)."""
    terminalreporter = config.pluginmanager.get_plugin("terminalreporter")
    if terminalreporter is None:
        return
    reasons = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons.append(reason.removeprefix("Skipped: "))
    line = skip_summary(reasons)
    if line is not None:
        terminalreporter.write_line(line, yellow=True, bold=True)
