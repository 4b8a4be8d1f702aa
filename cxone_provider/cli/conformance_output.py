"""What `cxone conformance` shows: a table on a console, Markdown for a ticket, `--json`.

Every form has the same content: each check's group, name, result and evidence (requests
and answers, never a secret), and for each failure what is unsafe on the tenant.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from cxone_provider.api.client import ACTIONS_PATH
from cxone_provider.cli.comparison_output import markdown_cell, markdown_code
from cxone_provider.cli.conformance_probe import Verdict

if TYPE_CHECKING:
    from rich.console import Console

    from cxone_provider.cli.conformance_checks import Outcome

_STYLES = {
    Verdict.PASS: "green",
    Verdict.FAIL: "bold red",
    Verdict.SKIP: "dim",
    Verdict.INCONCLUSIVE: "yellow",
}


@dataclass(slots=True)
class Report:
    """A run: the tenant, the outcomes, and what was created, swept and deleted."""

    tenant: str
    prefix: str
    read_only: bool
    max_requests: int
    outcomes: list[Outcome] = field(default_factory=list)
    requests: int = 0
    swept: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def counts(self) -> Counter[Verdict]:
        """How many checks ended with each verdict."""
        return Counter(outcome.verdict for outcome in self.outcomes)

    @property
    def ok(self) -> bool:
        """No check failed, nothing was left behind, and the run was not interrupted."""
        return not self.counts[Verdict.FAIL] and not self.left and not self.interrupted

    def summary(self) -> str:
        """One sentence: the verdicts, the requests, the actions created and deleted."""
        counts = self.counts
        parts = [f"{counts[verdict]} {verdict.value}" for verdict in Verdict]
        text = f"{', '.join(parts)}; {self.requests} requests"
        if not self.read_only:
            text += f"; {len(self.deleted)} actions of the run deleted"
        if self.left:
            text += f", {len(self.left)} left on the tenant"
        if self.interrupted:
            text += "; interrupted"
        return text


def _mode(report: Report) -> str:
    return "read-only" if report.read_only else f"prefix {report.prefix}"


def _last_evidence(outcome: Outcome, *, short: bool = False) -> str:
    if not outcome.evidence:
        return ""
    last = outcome.evidence[-1]
    return last.request().replace(ACTIONS_PATH, "…") if short else str(last)


# --- JSON -------------------------------------------------------------------------------------


def to_json(report: Report) -> dict[str, Any]:
    """The report in the documented `--json` shape (beside `schema` and `command`)."""
    return {
        "ok": report.ok,
        "tenant": report.tenant,
        "read_only": report.read_only,
        "prefix": report.prefix,
        "max_requests": report.max_requests,
        "requests": report.requests,
        "interrupted": report.interrupted,
        "summary": {verdict.value: report.counts[verdict] for verdict in Verdict},
        "checks": [outcome.to_json() for outcome in report.outcomes],
        "swept": report.swept,
        "cleanup": {"deleted": report.deleted, "left": report.left},
        "notes": report.notes,
    }


# --- Markdown ---------------------------------------------------------------------------------


def to_markdown(report: Report) -> str:
    """A report for a ticket to the vendor: a table, then each failure with its evidence."""
    lines = [
        f"### cxone conformance: {markdown_code(report.tenant)} ({_mode(report)})",
        "",
        f"**{report.summary()}**",
        "",
        "| group | check | result | evidence |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {o.check.group} | {markdown_code(o.check.name)} | {o.verdict.value} | "
        f"{markdown_cell(_last_evidence(o))} |"
        for o in report.outcomes
    ]
    for outcome in report.outcomes:
        if outcome.verdict is not Verdict.FAIL:
            continue
        lines += [
            "",
            f"#### {outcome.check.id}: {markdown_cell(outcome.check.title)}",
            "",
            f"- **failed:** {outcome.reason}",
            f"- **unsafe:** {outcome.check.unsafe}",
            f"- **relied on by:** {outcome.check.relies}",
            "",
            "```http",
            *(str(evidence) for evidence in outcome.evidence),
            "```",
        ]
    lines += [f"\n- {markdown_cell(note)}" for note in (*report.notes, *report.left)]
    return "\n".join(lines) + "\n"


# --- text on a console ------------------------------------------------------------------------


def print_text(report: Report, console: Console) -> None:
    """The table of checks, then each failure: why, what is unsafe, its evidence."""
    console.print(Text.assemble(("cxone conformance  ", "dim"), (report.tenant, "bold")), end="")
    console.print(f" ({_mode(report)})")
    table = Table(show_edge=False, pad_edge=False, caption=f"… stands for {ACTIONS_PATH}")
    for column in ("group", "check", "result"):
        table.add_column(column, no_wrap=True)
    table.add_column("note", overflow="fold", ratio=1)
    table.add_column("last request", overflow="ellipsis", no_wrap=True, max_width=34)
    for outcome in report.outcomes:
        table.add_row(
            outcome.check.group,
            outcome.check.name,
            Text(outcome.verdict.value, style=_STYLES[outcome.verdict]),
            outcome.reason,
            _last_evidence(outcome, short=True),
        )
    console.print(table)
    for outcome in report.outcomes:
        if outcome.verdict is not Verdict.FAIL:
            continue
        console.print(Text(f"✘ {outcome.check.id}: {outcome.reason}", style="bold red"))
        console.print(f"  unsafe: {outcome.check.unsafe}")
        console.print(f"  relied on by: {outcome.check.relies}")
        for evidence in outcome.evidence:
            console.print(Text(f"    {evidence}"))
    for line in report.left:
        console.print(Text(f"left on the tenant: {line}", style="bold yellow"))
    style = "bold green" if report.ok else "bold red"
    console.print(Text(report.summary()[:1].upper() + report.summary()[1:], style=style))
