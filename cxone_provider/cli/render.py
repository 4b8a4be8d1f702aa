"""Drawings of a dependency graph: Mermaid, Graphviz DOT and a terminal tree (`render_png`: PNG).

Each drawing shows one `GraphPicture` (see `preflight`): an arrow points from an action to
what it needs, a dotted one is a hand-written `depends_on`. Actions that are only on the
tenant are grey and dashed; the problems are red: cycles (their actions and arrows) and
dependencies on names that exist nowhere (dashed red boxes). The styles here are the PNG's too.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from rich.text import Text
from rich.tree import Tree

from cxone_provider.cli.output import ShownConsole
from cxone_provider.cli.preflight import Edge, GraphPicture, Node

__all__ = [
    "GREY",
    "RED",
    "STYLES",
    "Style",
    "label_of",
    "render_dot",
    "render_mermaid",
    "render_text",
    "style_of",
    "text_tree",
]

ARROWS: Final = "an arrow points from an action to what it needs (calls, or depends_on)"


@dataclass(frozen=True, slots=True)
class Style:
    """How one kind of box is drawn."""

    fill: str
    stroke: str
    text: str
    dashed: bool = False
    width: float = 1.0


RED: Final = "#d93025"
GREY: Final = "#5f6368"
STYLES: Final = {
    "declared": Style("#e8f0fe", "#1a73e8", "#202124"),
    "tenant": Style("#f1f3f4", GREY, "#202124", dashed=True),
    "unknown": Style("#fce8e6", RED, "#a50e0e", dashed=True, width=2.0),
    "cycle": Style("#fce8e6", RED, "#a50e0e", width=2.5),
}


def style_of(node: Node) -> Style:
    """The box style of a node (a cycle's members are red)."""
    return STYLES[_kind(node)]


def label_of(node: Node) -> str:
    """The text of a node's box: its name, and where it is when not declared."""
    suffix = {"declared": "", "tenant": " (tenant)", "unknown": " (unknown)"}[node.kind]
    return node.name + suffix


# --- Mermaid ------------------------------------------------------------------------------


def render_mermaid(picture: GraphPicture) -> str:
    """A Mermaid flowchart, for pull-request comments and Markdown files."""
    ids = {node.name: f"n{index}" for index, node in enumerate(picture.nodes)}
    lines = [f"%% cxone graph: {ARROWS}", "flowchart LR"]
    lines += [f'  {ids[node.name]}["{_mermaid_text(label_of(node))}"]' for node in picture.nodes]
    if not picture.nodes:
        lines.append('  empty["no actions declared"]')
    red_links: list[str] = []
    for index, edge in enumerate(picture.edges):
        arrow = "-. depends_on .->" if edge.ordering_only else "-->"
        lines.append(f"  {ids[edge.source]} {arrow} {ids[edge.target]}")
        if edge.is_problem:
            red_links.append(str(index))
    for kind, style in STYLES.items():
        dash = ",stroke-dasharray:5 3" if style.dashed else ""
        lines.append(
            f"  classDef {kind} fill:{style.fill},stroke:{style.stroke},color:{style.text},"
            f"stroke-width:{style.width:g}px{dash}"
        )
    for kind in STYLES:
        members = [ids[node.name] for node in picture.nodes if _kind(node) == kind]
        if members:
            lines.append(f"  class {','.join(members)} {kind}")
    if red_links:
        lines.append(f"  linkStyle {','.join(red_links)} stroke:{RED},stroke-width:3px")
    return "\n".join(lines) + "\n"


def _kind(node: Node) -> str:
    return "cycle" if node.in_cycle else node.kind


def _mermaid_text(text: str) -> str:
    return (
        text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


# --- DOT ----------------------------------------------------------------------------------


def render_dot(picture: GraphPicture) -> str:
    """A Graphviz digraph (`dot -Tsvg graph.dot -o graph.svg`)."""
    declared = STYLES["declared"]
    lines = [
        f"// cxone graph: {ARROWS}",
        'digraph "cxone" {',
        "  rankdir=LR;",
        (
            f'  node [shape=box, style="rounded,filled", fontname="Helvetica", '
            f'fillcolor="{declared.fill}", color="{declared.stroke}"];'
        ),
        f'  edge [color="{GREY}"];',
    ]
    for node in picture.nodes:
        attributes: dict[str, str] = {}
        if node.kind != "declared" or node.in_cycle:
            style = style_of(node)
            attributes = {
                "label": _dot_string(label_of(node)),
                "fillcolor": _dot_string(style.fill),
                "color": _dot_string(style.stroke),
                "fontcolor": _dot_string(style.text),
                "style": _dot_string("rounded,filled,dashed" if style.dashed else "rounded,filled"),
                "penwidth": f"{style.width:g}",
            }
        lines.append(f"  {_dot_string(node.name)}{_dot_attributes(attributes)};")
    for edge in picture.edges:
        attributes = {}
        if edge.ordering_only:
            attributes |= {"style": "dashed", "label": '"depends_on"'}
        if edge.is_problem:
            attributes |= {"color": _dot_string(RED), "penwidth": "2.5"}
        lines.append(
            f"  {_dot_string(edge.source)} -> {_dot_string(edge.target)}"
            f"{_dot_attributes(attributes)};"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_attributes(attributes: Mapping[str, str]) -> str:
    if not attributes:
        return ""
    return " [" + ", ".join(f"{key}={value}" for key, value in attributes.items()) + "]"


# --- terminal tree ------------------------------------------------------------------------


def text_tree(picture: GraphPicture, title: str) -> Tree:
    """A tree for the terminal: each action that nothing needs, with what it needs below it."""
    needs = _successors(picture)
    needed = {edge.target for edge in picture.edges if edge.source != edge.target}
    tree = Tree(Text(title, style="bold"), guide_style="dim")
    shown: set[str] = set()
    for node in picture.nodes:
        if node.name not in needed:
            _add_subtree(tree, node.name, picture, needs, shown)
    for node in picture.nodes:  # what only cycles reach
        if node.name not in shown:
            _add_subtree(tree, node.name, picture, needs, shown)
    return tree


def _add_subtree(
    root: Tree,
    start: str,
    picture: GraphPicture,
    needs: Mapping[str, list[Edge]],
    shown: set[str],
) -> None:
    """`start` and what it needs, depth first, with a stack instead of recursion."""
    pending: list[tuple[Tree, str, Edge | None, int]] = [(root, start, None, 0)]
    trail: dict[str, None] = {}  # the names from `start` down to the item, in order
    while pending:
        branch, name, edge, depth = pending.pop()
        while len(trail) > depth:
            trail.popitem()
        node = picture.node(name)
        label = Text(label_of(node), style=_textstyle_of(node))
        if edge is not None and edge.ordering_only:
            label.append(" (depends_on)", style="dim")
        if name in trail:
            branch.add(label.append(" <- cycle", style=f"bold {RED}"))
            continue
        if name in shown and needs[name]:
            branch.add(label.append(" (see above)", style="dim"))
            continue
        shown.add(name)
        child = branch.add(label)
        trail[name] = None
        pending.extend((child, e.target, e, depth + 1) for e in reversed(needs[name]))


def _textstyle_of(node: Node) -> str:
    if node.in_cycle or node.kind == "unknown":
        return f"bold {RED}"
    return "dim" if node.kind == "tenant" else ""


def render_text(picture: GraphPicture, title: str = "Data Actions") -> str:
    """The terminal tree as plain text."""
    buffer = io.StringIO()
    ShownConsole(file=buffer, width=200, color_system=None).print(text_tree(picture, title))
    return buffer.getvalue()


def _successors(picture: GraphPicture) -> dict[str, list[Edge]]:
    needs: dict[str, list[Edge]] = {node.name: [] for node in picture.nodes}
    for edge in picture.edges:
        needs[edge.source].append(edge)
    return needs
