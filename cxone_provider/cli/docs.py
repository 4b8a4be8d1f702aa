"""`cxone docs`: the documentation that came with the package, readable wherever it is installed."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Final

import typer

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.cli.bundled import documents_root
from cxone_provider.cli.output import Output

EXAMPLES: Final = """Examples:

\b
  cxone docs                  # the pages, and the folder that holds them
  cxone docs provider         # the provider's guide (Markdown), e.g. | less
  cxone docs changelog
"""


def pages() -> dict[str, Path]:
    """The pages by name: `readme`, then each docs/*.md by its name in lower case."""
    root = documents_root()
    found = {"readme": root / "README.md"}
    found |= {path.stem.lower(): path for path in sorted((root / "docs").glob("*.md"))}
    return found


def docs_command(
    page: Annotated[
        str | None,
        typer.Argument(
            metavar="PAGE",
            help="A page to print (Markdown): readme, provider, cli, catalog, ...",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the documentation that came with cxone-provider, or list its pages."""
    output = Output("docs", as_json=False)
    found = pages()
    if page is None:
        output.out.print(f"The documentation of cxone-provider, in {documents_root()}:")
        for name, path in found.items():
            output.out.print(f"  cxone docs {name:<12} {_title(path)}")
        return
    with output.errors():
        chosen = found.get(page.lower().removesuffix(".md"))
        if chosen is None:
            close = difflib.get_close_matches(page.lower(), found, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            msg = f"no page {page!r}; {hint}the pages: {', '.join(found)}"
            raise ConfigurationError(msg)
        typer.echo(chosen.read_text(encoding="utf-8"), nl=False)


def _title(path: Path) -> str:
    first = path.read_text(encoding="utf-8").partition("\n")[0]
    return first.removeprefix("# ")
