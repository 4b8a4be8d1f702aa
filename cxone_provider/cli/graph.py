"""`cxone graph`: the dependency graph of the declared actions, as Mermaid, DOT, PNG or text."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.text import Text

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.cli.output import (
    EXIT_OK,
    EXIT_PROBLEMS,
    JsonOption,
    Output,
    ProgramArgument,
    StackOption,
    TenantOption,
    declarations_json,
    evaluate_program,
    finding_line,
    picture_title,
)
from cxone_provider.cli.tenant import read_tenant

if TYPE_CHECKING:
    from cxone_provider.cli.preflight import GraphPicture


class GraphFormat(StrEnum):
    """The drawings `cxone graph` makes."""

    MERMAID = "mermaid"
    DOT = "dot"
    PNG = "png"
    TEXT = "text"


EXAMPLES: Final = """Examples:

\b
  cxone graph > graph.mmd                          # Mermaid, for a pull request
  cxone graph stacks --format dot --out graph.dot  # then: dot -Tsvg graph.dot
  cxone graph --format png --out graph.png --tenant
"""


# Over 60 lines: typer reads the command's options from this signature; the body is short.
def graph_command(  # noqa: PLR0917 -- typer maps parameters to arguments and options
    program_dir: ProgramArgument = Path(),
    graph_format: Annotated[
        GraphFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            case_sensitive=False,
            help="mermaid, dot, png (needs --out) or text (a tree).",
        ),
    ] = GraphFormat.MERMAID,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help="File to write; default: stdout.",
            show_default=False,
        ),
    ] = None,
    stack: StackOption = None,
    tenant: TenantOption = False,
    as_json: JsonOption = False,
) -> None:
    """Draw the dependency graph of the declared actions (and of the tenant's with --tenant).

    An arrow points from an action to what it needs. Cycles and unknown dependencies are
    drawn in red; actions only on the tenant in grey. Exit code 1 when the graph has a
    problem (the drawing is still made) or when the program raised (then nothing is drawn:
    its declarations are incomplete).
    """
    from cxone_provider.cli.preflight import (  # noqa: PLC0415 -- keeps `cxone emulator` fast
        check_graph,
        with_program_failure,
    )

    output = Output("graph", as_json=as_json)
    if graph_format is GraphFormat.PNG and out is None:
        message = "--format png writes a picture: give the file with --out graph.png"
        raise typer.BadParameter(message, param_hint="--out")
    tenant_url: str | None = None
    with output.errors():
        declarations = evaluate_program(output, program_dir, stack)
        tenant_actions = None
        if tenant:
            tenant_url, tenant_actions = read_tenant(output, declarations.stack)
        graph_findings, picture = check_graph(declarations, tenant_actions=tenant_actions)
        findings = with_program_failure(declarations, graph_findings)
        title = picture_title(declarations, picture)
        drawing = None
        if declarations.failure is None or declarations.failure.repeats_a_check:
            drawing = _drawing(graph_format, picture, title)
            if out is not None:
                _write(out, drawing)
    if as_json:
        output.emit(
            {
                "ok": not findings,
                "format": graph_format.value,
                "out": str(out) if out is not None and drawing is not None else None,
                "content": drawing if out is None and isinstance(drawing, str) else None,
                "program": declarations_json(declarations, output.base),
                "tenant": None if tenant_url is None else {"base_url": tenant_url},
                "graph": picture.to_json(),
                "problems": [finding.to_json(output.base) for finding in findings],
            }
        )
    else:
        if drawing is None:
            output.err.print(
                Text("✘ Nothing drawn: ", style="bold red")
                + Text("the program raised before declaring everything; fix it and run again.")
            )
        else:
            _print_drawing(output, picture, title, drawing, (graph_format, out))
        for finding in findings:
            output.err.print(finding_line(finding, output.base))
    raise typer.Exit(EXIT_PROBLEMS if findings else EXIT_OK)


def _drawing(graph_format: GraphFormat, picture: GraphPicture, title: str) -> str | bytes:
    from cxone_provider.cli import render, render_png  # noqa: PLC0415 -- keeps `cxone emulator` fast

    if graph_format is GraphFormat.MERMAID:
        return render.render_mermaid(picture)
    if graph_format is GraphFormat.DOT:
        return render.render_dot(picture)
    if graph_format is GraphFormat.PNG:
        return render_png.render_png(picture, title)
    return render.render_text(picture, title)


def _write(out: Path, drawing: str | bytes) -> None:
    try:
        if isinstance(drawing, bytes):
            out.write_bytes(drawing)
        else:
            out.write_text(drawing, encoding="utf-8")
    except OSError as exc:
        msg = f"cannot write {str(out)!r}: {exc.strerror or exc}"
        raise ConfigurationError(msg) from None


def _print_drawing(
    output: Output,
    picture: GraphPicture,
    title: str,
    drawing: str | bytes,
    where: tuple[GraphFormat, Path | None],
) -> None:
    from cxone_provider.cli.render import text_tree  # noqa: PLC0415 -- keeps `cxone emulator` fast

    graph_format, out = where
    if out is not None:
        nodes, edges = len(picture.nodes), len(picture.edges)
        output.err.print(f"Wrote the {graph_format} graph ({nodes} boxes, {edges} arrows) to {out}")
    elif graph_format is GraphFormat.TEXT and output.out.is_terminal:
        output.out.print(text_tree(picture, title))
    elif isinstance(drawing, str):
        output.echo(drawing)
