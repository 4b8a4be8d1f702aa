"""What `cxone diff` shows of a comparison: unified diffs, text on a console, Markdown, JSON.

Markdown is sized for a pull-request comment (`MARKDOWN_BUDGET`); `--json` has everything.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from cxone_provider.cli.comparison import ActionDiff, ComparedField, Comparison, Entry, Status

__all__ = [
    "fields_diff",
    "markdown_cell",
    "markdown_code",
    "print_text",
    "script_diff",
    "to_json",
    "to_markdown",
]

MARKDOWN_BUDGET: Final = 60_000
"""Characters of Markdown at most: a GitHub comment holds 65,536, and a bot adds its own."""
MARKDOWN_DIFF_LINES: Final = 200
"""Lines of one diff shown in Markdown, so that one large change leaves room for the others."""
_ROOM_FOR_THE_LAST_LINE: Final = 200
_NO_FILE: Final = "/dev/null"


def script_diff(comparison: Comparison, action: ActionDiff) -> str | None:
    """The unified diff of the script (against nothing for an action on one side only)."""
    if ComparedField.SCRIPT in comparison.ignored:
        return None
    if action.status is Status.SAME or (
        action.status is Status.DIFFERS and ComparedField.SCRIPT not in action.fields
    ):
        return None
    old = action.left.content.script if action.left is not None else None
    new = action.right.content.script if action.right is not None else None
    left, right = comparison.names
    text = _unified(
        _lines(old),
        _lines(new),
        f"{left}/{action.name}.js" if old is not None else _NO_FILE,
        f"{right}/{action.name}.js" if new is not None else _NO_FILE,
    )
    if not text and old is not None and new is not None:
        return f"{_ending_note(old, new, comparison.names)}\n"
    return text


def fields_diff(comparison: Comparison, action: ActionDiff) -> str | None:
    """The unified diff of the other compared fields, one `field: value` line each."""
    shown = [
        field
        for field in ComparedField
        if field is not ComparedField.SCRIPT
        and field not in comparison.ignored
        and field not in action.unknown
    ]
    wanted = set(action.fields) | ({ComparedField.DEPENDENCIES} if action.order_only else set())
    one_sided = action.status in {Status.ONLY_LEFT, Status.ONLY_RIGHT}
    if not one_sided and not wanted.intersection(shown):
        return None
    in_order = action.order_only or one_sided
    left, right = comparison.names
    return _unified(
        _field_lines(action.left, shown, in_order=in_order),
        _field_lines(action.right, shown, in_order=in_order),
        f"{left}/{action.name}" if action.left is not None else _NO_FILE,
        f"{right}/{action.name}" if action.right is not None else _NO_FILE,
    )


def _field_lines(
    entry: Entry | None, shown: Sequence[ComparedField], *, in_order: bool
) -> list[str]:
    if entry is None:
        return []
    lines = []
    for field in shown:
        value = entry.value(field)
        if field is ComparedField.DEPENDENCIES and not in_order:
            value = sorted(value)
        lines.append(f"{field.value}: {json.dumps(value, ensure_ascii=False)}")
    return lines


def _lines(text: str | None) -> list[str]:
    return [] if text is None else text.splitlines()


def _unified(old: list[str], new: list[str], old_file: str, new_file: str) -> str:
    lines = list(difflib.unified_diff(old, new, old_file, new_file, lineterm=""))
    return "".join(f"{line}\n" for line in lines)


def _ending_note(old: str, new: str, names: tuple[str, str]) -> str:
    """Why two scripts with the same lines differ: their line endings or final newline."""

    def endings(text: str) -> str:
        crlf = text.count("\r\n")
        kinds = [kind for kind, count in (("CRLF", crlf), ("LF", text.count("\n") - crlf)) if count]
        final = "a final newline" if text.endswith(("\n", "\r")) else "no final newline"
        return f"{'+'.join(kinds) or 'no'} line endings, {final}"

    return (
        "the scripts have the same lines; they differ in line endings or the final newline: "
        f"{names[0]} has "
        f"{endings(old)}, {names[1]} has {endings(new)}"
    )


# --- JSON ----------------------------------------------------------------------------------


def to_json(comparison: Comparison) -> dict[str, Any]:
    """The comparison in the documented `--json` shape (beside `schema` and `command`)."""
    return {
        "ok": comparison.differences == 0,
        "left": comparison.left.to_json(),
        "right": comparison.right.to_json(),
        "ignored": [field.value for field in comparison.ignored],
        "only": list(comparison.only) if comparison.only is not None else None,
        "unmatched": list(comparison.unmatched),
        "unmanaged": list(comparison.unmanaged),
        "summary": {
            "differences": comparison.differences,
            **{status.value: comparison.count(status) for status in Status},
        },
        "actions": [
            {
                "name": action.name,
                "status": action.status.value,
                "fields": [field.value for field in action.fields],
                "order_only": action.order_only,
                "unknown": [field.value for field in action.unknown],
                "left": action.left.to_json() if action.left and action.shown else None,
                "right": action.right.to_json() if action.right and action.shown else None,
                "script_diff": script_diff(comparison, action),
                "fields_diff": fields_diff(comparison, action),
            }
            for action in comparison.actions
        ],
    }


# --- Markdown ------------------------------------------------------------------------------


def to_markdown(comparison: Comparison) -> str:
    """A pull-request comment: the sides, a summary table, and one `<details>` per action.

    It stays within MARKDOWN_BUDGET characters: rows and details that would not fit are left
    out, and a last line says how many (the whole comparison is in `--json`).
    """
    left, right = comparison.left, comparison.right
    head = [
        f"### cxone diff: {markdown_code(left.name)} → {markdown_code(right.name)}",
        "",
        "| side | what | actions |",
        "|---|---|---|",
        f"| left | {markdown_cell(left.label)} | {len(left.actions)} |",
        f"| right | {markdown_cell(right.label)} | {len(right.actions)} |",
        "",
        f"**{_sentence(comparison.summary())}**{_scope(comparison, markdown_code)}",
    ]
    shown = [action for action in comparison.actions if action.shown]
    if shown:
        head += ["", "| action | status | fields |", "|---|---|---|"]
    parts = ["\n".join(head)]
    parts += [
        f"| {markdown_code(a.name)} | {markdown_cell(comparison.status_text(a))} | "
        f"{', '.join(field.value for field in a.fields)} |"
        for a in shown
    ]
    parts += [_details(comparison, action) for action in shown]
    return _within_budget(parts, rows=len(shown))


def _details(comparison: Comparison, action: ActionDiff) -> str:
    lines = ["", "<details>", f"<summary>{_summary_html(comparison, action)}</summary>", ""]
    for text in (script_diff(comparison, action), fields_diff(comparison, action)):
        if text:
            lines += [*_fenced(_shortened(text)), ""]
    lines.append("</details>")
    return "\n".join(lines)


def _within_budget(parts: Sequence[str], *, rows: int) -> str:
    """The parts that fit, in order; the first is always kept."""
    kept = [parts[0]]
    used = len(parts[0]) + 1
    for part in parts[1:]:
        if used + len(part) + 1 > MARKDOWN_BUDGET - _ROOM_FOR_THE_LAST_LINE:
            break
        kept.append(part)
        used += len(part) + 1
    if len(kept) < len(parts):
        rows_kept = min(len(kept) - 1, rows)
        rows_out = rows - rows_kept
        details_out = len(parts) - 1 - rows - (len(kept) - 1 - rows_kept)
        kept.append(
            f"\n… {rows_out} table rows and {details_out} details left out to fit a pull-request "
            "comment; `cxone diff --json` has everything"
        )
    return "\n".join(kept) + "\n"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _scope(comparison: Comparison, code: Callable[[str], str] = str) -> str:
    """What was left out of the comparison, in parentheses (empty when nothing was)."""
    parts = []
    if comparison.ignored:
        parts.append("ignored: " + ", ".join(field.value for field in comparison.ignored))
    if comparison.only is not None:
        parts.append("only: " + ", ".join(map(code, comparison.only)))
    if comparison.unmanaged:
        parts.append("unmanaged, not compared: " + ", ".join(map(code, comparison.unmanaged)))
    return f" ({'; '.join(parts)})" if parts else ""


def _summary_html(comparison: Comparison, action: ActionDiff) -> str:
    text = f"<code>{action.name}</code>: {_html(comparison.status_text(action))}"
    if action.fields:
        text += " in " + ", ".join(field.value for field in action.fields)
    return text


def markdown_code(text: str) -> str:
    """`text` as inline code, its fence longer than any backtick run in it."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_cell(text: str) -> str:
    """`text` safe in a Markdown table cell (also `cxone conformance`)."""
    return text.replace("|", "\\|")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fenced(text: str) -> list[str]:
    """A ```diff block whose fence is longer than any backtick run inside it."""
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return [f"{fence}diff", text.rstrip("\n"), fence]


def _shortened(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= MARKDOWN_DIFF_LINES:
        return text
    kept = "\n".join(lines[:MARKDOWN_DIFF_LINES])
    return f"{kept}\n… {len(lines) - MARKDOWN_DIFF_LINES} more lines (the whole diff: --json)\n"


# --- text on a console ---------------------------------------------------------------------


def print_text(comparison: Comparison, console: Console) -> None:
    """The summary table, then each differing action's diffs (coloured on a terminal)."""
    for role, side in (("left ", comparison.left), ("right", comparison.right)):
        count = f": {len(side.actions)} actions"
        console.print(Text.assemble((f"{role}  ", "dim"), (side.label, "bold"), count))
    shown = [action for action in comparison.actions if action.shown]
    if shown:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("action", "status", "fields"):
            table.add_column(column)
        for action in shown:
            style = "green" if action.status is Status.SAME else "bold yellow"
            table.add_row(
                action.name,
                Text(comparison.status_text(action), style=style),
                ", ".join(field.value for field in action.fields),
            )
        console.print(table)
    style = "bold green" if comparison.differences == 0 else "bold yellow"
    console.print(Text.assemble((_sentence(comparison.summary()), style), _scope(comparison)))
    for action in shown:
        title = f"{action.name}: {comparison.status_text(action)}"
        if action.fields:
            title += " in " + ", ".join(field.value for field in action.fields)
        console.rule(Text(title, style="bold"), align="left")
        for text in (script_diff(comparison, action), fields_diff(comparison, action)):
            if text:
                _print_diff(console, text)


def _print_diff(console: Console, text: str) -> None:
    if console.is_terminal:
        syntax = Syntax(
            text.rstrip("\n"),
            "diff",
            theme="ansi_dark",
            background_color="default",
            word_wrap=True,  # a long line is wrapped, never cut at the terminal's edge
        )
        console.print(syntax)
    else:
        console.print(Text(text.rstrip("\n")), soft_wrap=True)
