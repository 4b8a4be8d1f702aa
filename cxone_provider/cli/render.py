"""Drawings of a dependency graph: Mermaid, Graphviz DOT, a terminal tree and a PNG picture.

Each drawing shows one `GraphPicture` (see `preflight`): an arrow points from an action to
what it needs, a dotted one is a hand-written `depends_on`. Actions that are only on the
tenant are grey and dashed; the problems are red: cycles (their actions and arrows) and
dependencies on names that exist nowhere (dashed red boxes). The PNG is drawn with
matplotlib alone (no Graphviz install), which comes with the `graph` extra.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import networkx as nx
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.cli.preflight import Edge, GraphPicture, Node

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "PNG_DPI",
    "png_figure",
    "render_dot",
    "render_mermaid",
    "render_png",
    "render_text",
    "text_tree",
]

PNG_DPI: Final = 120  # a multiple of 4: quarter inches are whole pixels
ARROWS: Final = "an arrow points from an action to what it needs (calls, or depends_on)"


@dataclass(frozen=True, slots=True)
class _Style:
    fill: str
    stroke: str
    text: str
    dashed: bool = False
    width: float = 1.0


_RED: Final = "#d93025"
_GREY: Final = "#5f6368"
_STYLES: Final = {
    "declared": _Style("#e8f0fe", "#1a73e8", "#202124"),
    "tenant": _Style("#f1f3f4", _GREY, "#202124", dashed=True),
    "unknown": _Style("#fce8e6", _RED, "#a50e0e", dashed=True, width=2.0),
    "cycle": _Style("#fce8e6", _RED, "#a50e0e", width=2.5),
}


def _style(node: Node) -> _Style:
    return _STYLES[_kind(node)]


def _label(node: Node) -> str:
    suffix = {"declared": "", "tenant": " (tenant)", "unknown": " (unknown)"}[node.kind]
    return node.name + suffix


# --- Mermaid ------------------------------------------------------------------------------


def render_mermaid(picture: GraphPicture) -> str:
    """A Mermaid flowchart, for pull-request comments and Markdown files."""
    ids = {node.name: f"n{index}" for index, node in enumerate(picture.nodes)}
    lines = [f"%% cxone graph: {ARROWS}", "flowchart LR"]
    lines += [f'  {ids[node.name]}["{_mermaid_text(_label(node))}"]' for node in picture.nodes]
    if not picture.nodes:
        lines.append('  empty["no actions declared"]')
    red_links: list[str] = []
    for index, edge in enumerate(picture.edges):
        arrow = "-. depends_on .->" if edge.ordering_only else "-->"
        lines.append(f"  {ids[edge.source]} {arrow} {ids[edge.target]}")
        if edge.is_problem:
            red_links.append(str(index))
    for kind, style in _STYLES.items():
        dash = ",stroke-dasharray:5 3" if style.dashed else ""
        lines.append(
            f"  classDef {kind} fill:{style.fill},stroke:{style.stroke},color:{style.text},"
            f"stroke-width:{style.width:g}px{dash}"
        )
    for kind in _STYLES:
        members = [ids[node.name] for node in picture.nodes if _kind(node) == kind]
        if members:
            lines.append(f"  class {','.join(members)} {kind}")
    if red_links:
        lines.append(f"  linkStyle {','.join(red_links)} stroke:{_RED},stroke-width:3px")
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
    declared = _STYLES["declared"]
    lines = [
        f"// cxone graph: {ARROWS}",
        'digraph "cxone" {',
        "  rankdir=LR;",
        (
            f'  node [shape=box, style="rounded,filled", fontname="Helvetica", '
            f'fillcolor="{declared.fill}", color="{declared.stroke}"];'
        ),
        f'  edge [color="{_GREY}"];',
    ]
    for node in picture.nodes:
        attributes: dict[str, str] = {}
        if node.kind != "declared" or node.in_cycle:
            style = _style(node)
            attributes = {
                "label": _dot_string(_label(node)),
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
            attributes |= {"color": _dot_string(_RED), "penwidth": "2.5"}
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
        label = Text(_label(node), style=_text_style(node))
        if edge is not None and edge.ordering_only:
            label.append(" (depends_on)", style="dim")
        if name in trail:
            branch.add(label.append(" <- cycle", style=f"bold {_RED}"))
            continue
        if name in shown and needs[name]:
            branch.add(label.append(" (see above)", style="dim"))
            continue
        shown.add(name)
        child = branch.add(label)
        trail[name] = None
        pending.extend((child, e.target, e, depth + 1) for e in reversed(needs[name]))


def _text_style(node: Node) -> str:
    if node.in_cycle or node.kind == "unknown":
        return f"bold {_RED}"
    return "dim" if node.kind == "tenant" else ""


def render_text(picture: GraphPicture, title: str = "Data Actions") -> str:
    """The terminal tree as plain text."""
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None, highlight=False).print(
        text_tree(picture, title)
    )
    return buffer.getvalue()


def _successors(picture: GraphPicture) -> dict[str, list[Edge]]:
    needs: dict[str, list[Edge]] = {node.name: [] for node in picture.nodes}
    for edge in picture.edges:
        needs[edge.source].append(edge)
    return needs


# --- PNG ----------------------------------------------------------------------------------

_INCH_PER_CHAR: Final = 0.085
_ROW_INCHES: Final = 0.8
_MARGIN_INCHES: Final = 0.5
_TITLE_INCHES: Final = 0.55
_LEGEND_INCHES: Final = 0.55


def png_figure(picture: GraphPicture, title: str) -> Figure:
    """The picture as a matplotlib Figure: one text box per action (gid `node:<name>`).

    Columns run left to right from the actions nothing needs to what they need; each arrow
    (gid `edge:<source>-><target>`) ends at the border of the boxes it joins.
    """
    try:
        from matplotlib.figure import Figure  # noqa: PLC0415 -- optional, loaded for PNG only
        from matplotlib.lines import Line2D  # noqa: PLC0415 -- optional, loaded for PNG only
        from matplotlib.patches import Patch  # noqa: PLC0415 -- optional, loaded for PNG only
    except ImportError:
        msg = (
            "drawing a PNG needs matplotlib: pip install 'cxone-provider[graph]' (or "
            "matplotlib); Mermaid and DOT need nothing more"
        )
        raise ConfigurationError(msg) from None

    columns = _columns(picture)
    widths = [
        max(len(_label(picture.node(name))) for name in column) * _INCH_PER_CHAR + 1.0
        for column in columns
    ] or [2.0]
    rows = max((len(column) for column in columns), default=1)
    width = _quarters(max(sum(widths) + 2 * _MARGIN_INCHES, 5.0))
    plot_height = rows * _ROW_INCHES
    height = _quarters(plot_height + _TITLE_INCHES + _LEGEND_INCHES + _MARGIN_INCHES)
    figure = Figure(figsize=(width, height), dpi=PNG_DPI, facecolor="white")
    axes = figure.add_axes(
        (0.0, _LEGEND_INCHES / height, 1.0, (plot_height + _MARGIN_INCHES) / height)
    )
    axes.set_axis_off()
    axes.set_xlim(0, width)
    axes.set_ylim(0, plot_height + _MARGIN_INCHES)
    positions = _positions(columns, widths, plot_height + _MARGIN_INCHES, width)
    loops = {edge.source for edge in picture.edges if edge.source == edge.target}
    boxes = {}
    for node in picture.nodes:
        style = _style(node)
        label = _label(node) + ("\n(needs itself)" if node.name in loops else "")
        boxes[node.name] = axes.text(
            *positions[node.name],
            label,
            ha="center",
            va="center",
            fontsize=9,
            color=style.text,
            gid=f"node:{node.name}",
            bbox={
                "boxstyle": "round,pad=0.45",
                "facecolor": style.fill,
                "edgecolor": style.stroke,
                "linewidth": style.width,
                "linestyle": "--" if style.dashed else "-",
            },
        )
    for edge in picture.edges:
        if edge.source == edge.target:
            continue
        red = edge.is_problem
        backwards = positions[edge.target][0] <= positions[edge.source][0]
        axes.annotate(
            "",
            xy=positions[edge.target],
            xytext=positions[edge.source],
            gid=f"edge:{edge.source}->{edge.target}",
            arrowprops={
                "arrowstyle": "-|>",
                "color": _RED if red else _GREY,
                "linewidth": 2.2 if red else 1.1,
                "linestyle": ":" if edge.ordering_only else "-",
                "shrinkA": 2,
                "shrinkB": 2,
                "patchA": boxes[edge.source].get_bbox_patch(),
                "patchB": boxes[edge.target].get_bbox_patch(),
                "connectionstyle": f"arc3,rad={0.35 if backwards else 0.06}",
            },
        )
    figure.suptitle(title, fontsize=11, fontweight="bold", y=1 - 0.18 / height)
    legend = [
        Patch(
            facecolor=_STYLES["declared"].fill,
            edgecolor=_STYLES["declared"].stroke,
            label="declared",
        ),
        Patch(
            facecolor=_STYLES["tenant"].fill,
            edgecolor=_GREY,
            linestyle="--",
            label="on the tenant only",
        ),
        Patch(facecolor=_STYLES["unknown"].fill, edgecolor=_RED, linestyle="--", label="unknown"),
        Line2D([], [], color=_RED, linewidth=2.2, label="cycle"),
        Line2D([], [], color=_GREY, linestyle=":", label="depends_on"),
    ]
    figure.legend(handles=legend, loc="lower center", ncol=5, fontsize=8, frameon=False)
    return figure


def _quarters(inches: float) -> float:
    """Inches rounded up to a quarter: a whole number of pixels at PNG_DPI, exactly."""
    return math.ceil(inches * 4) / 4


def render_png(picture: GraphPicture, title: str) -> bytes:
    """The picture as PNG bytes, `PNG_DPI` dots per inch of the figure's size."""
    figure = png_figure(picture, title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI, facecolor="white")
    return buffer.getvalue()


def _columns(picture: GraphPicture) -> list[list[str]]:
    """Nodes in columns: a column holds what the columns before it need (cycles share one)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(node.name for node in picture.nodes)
    graph.add_edges_from((edge.source, edge.target) for edge in picture.edges)
    condensed = nx.condensation(graph)
    rank = {node.name: index for index, node in enumerate(picture.nodes)}
    columns: list[list[str]] = []
    placed: dict[str, float] = {}
    for generation in nx.topological_generations(condensed):
        members = [name for group in generation for name in condensed.nodes[group]["members"]]
        members.sort(key=lambda name: (_barycenter(name, graph, placed), rank[name]))
        placed.update((name, float(row)) for row, name in enumerate(members))
        columns.append(members)
    return columns


def _barycenter(name: str, graph: nx.DiGraph, placed: Mapping[str, float]) -> float:
    rows = [placed[source] for source in graph.predecessors(name) if source in placed]
    return sum(rows) / len(rows) if rows else float("inf")


def _positions(
    columns: Iterable[list[str]], widths: list[float], height: float, width: float
) -> dict[str, tuple[float, float]]:
    positions: dict[str, tuple[float, float]] = {}
    left = (width - sum(widths)) / 2
    for column, column_width in zip(columns, widths, strict=False):
        x = left + column_width / 2
        top = height / 2 + (len(column) - 1) * _ROW_INCHES / 2
        for row, name in enumerate(column):
            positions[name] = (x, top - row * _ROW_INCHES)
        left += column_width
    return positions
