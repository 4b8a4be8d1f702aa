"""The dependency graph as a PNG picture, drawn with matplotlib alone (no Graphviz install).

matplotlib comes with the `graph` extra and loads only here. Columns run left to right from
the actions nothing needs to what they need; boxes and arrows have the styles of `render`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import networkx as nx

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.cli.preflight import GraphPicture
from cxone_provider.cli.render import GREY, RED, STYLES, label_of, style_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

__all__ = ["PNG_DPI", "png_figure", "render_png"]

PNG_DPI: Final = 120  # a multiple of 4: quarter inches are whole pixels
_INCH_PER_CHAR: Final = 0.085
_ROW_INCHES: Final = 0.8
_MARGIN_INCHES: Final = 0.5
_TITLE_INCHES: Final = 0.55
_LEGEND_INCHES: Final = 0.55


def render_png(picture: GraphPicture, title: str) -> bytes:
    """The picture as PNG bytes, `PNG_DPI` dots per inch of the figure's size."""
    figure = png_figure(picture, title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI, facecolor="white")
    return buffer.getvalue()


def png_figure(picture: GraphPicture, title: str) -> Figure:
    """The picture as a matplotlib Figure: one text box per action (gid `node:<name>`).

    Columns run left to right from the actions nothing needs to what they need; each arrow
    (gid `edge:<source>-><target>`) ends at the border of the boxes it joins.
    """
    try:
        from matplotlib.figure import Figure  # noqa: PLC0415 -- optional, loaded for PNG only
    except ImportError:
        msg = (
            "drawing a PNG needs matplotlib: pip install 'cxone-provider[graph]' (or "
            "matplotlib); Mermaid and DOT need nothing more"
        )
        raise ConfigurationError(msg) from None

    columns = _columns(picture)
    widths = [
        max(len(label_of(picture.node(name))) for name in column) * _INCH_PER_CHAR + 1.0
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
    boxes = _draw_boxes(axes, picture, positions)
    _draw_arrows(axes, picture, positions, boxes)
    figure.suptitle(title, fontsize=11, fontweight="bold", y=1 - 0.18 / height)
    figure.legend(handles=_legend(), loc="lower center", ncol=5, fontsize=8, frameon=False)
    return figure


def _draw_boxes(
    axes: Axes, picture: GraphPicture, positions: Mapping[str, tuple[float, float]]
) -> dict[str, Text]:
    """One text box per node, styled by its kind; an action that needs itself says so."""
    loops = {edge.source for edge in picture.edges if edge.source == edge.target}
    boxes = {}
    for node in picture.nodes:
        style = style_of(node)
        label = label_of(node) + ("\n(needs itself)" if node.name in loops else "")
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
    return boxes


def _draw_arrows(
    axes: Axes,
    picture: GraphPicture,
    positions: Mapping[str, tuple[float, float]],
    boxes: Mapping[str, Text],
) -> None:
    """One arrow per edge, from box border to box border; a backwards one bends further."""
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
                "color": RED if red else GREY,
                "linewidth": 2.2 if red else 1.1,
                "linestyle": ":" if edge.ordering_only else "-",
                "shrinkA": 2,
                "shrinkB": 2,
                "patchA": boxes[edge.source].get_bbox_patch(),
                "patchB": boxes[edge.target].get_bbox_patch(),
                "connectionstyle": f"arc3,rad={0.35 if backwards else 0.06}",
            },
        )


def _legend() -> list[Any]:
    """What each kind of box and arrow means."""
    from matplotlib.lines import Line2D  # noqa: PLC0415 -- optional, loaded for PNG only
    from matplotlib.patches import Patch  # noqa: PLC0415 -- optional, loaded for PNG only

    return [
        Patch(
            facecolor=STYLES["declared"].fill,
            edgecolor=STYLES["declared"].stroke,
            label="declared",
        ),
        Patch(
            facecolor=STYLES["tenant"].fill,
            edgecolor=GREY,
            linestyle="--",
            label="on the tenant only",
        ),
        Patch(facecolor=STYLES["unknown"].fill, edgecolor=RED, linestyle="--", label="unknown"),
        Line2D([], [], color=RED, linewidth=2.2, label="cycle"),
        Line2D([], [], color=GREY, linestyle=":", label="depends_on"),
    ]


def _quarters(inches: float) -> float:
    """Inches rounded up to a quarter: a whole number of pixels at PNG_DPI, exactly."""
    return math.ceil(inches * 4) / 4


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
