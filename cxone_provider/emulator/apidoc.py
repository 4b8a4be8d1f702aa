"""The emulator's OpenAPI document as the project's API reference: docs/openapi.json and api.md.

The document is the one the emulator serves at `/openapi.json`, built here without a
server. `render_markdown` turns it into a page a person reads: every operation with its
parameters, body and answers, then every schema with its fields and constraints. Run
`python -m cxone_provider.emulator.apidoc DOCS_DIR` (what `scripts/render-api-docs` does) to
write both files; `--check` only says whether they are up to date (exit 1 when not).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from cxone_provider.emulator.app import create_app
from cxone_provider.emulator.backend import EmulatorBackend
from cxone_provider.emulator.openapi import contract_openapi
from cxone_provider.emulator.settings import EmulatorSettings
from cxone_provider.emulator.store import MEMORY

__all__ = ["JSON_FILE", "MARKDOWN_FILE", "document", "main", "render_json", "render_markdown"]

JSON_FILE: Final = "openapi.json"
MARKDOWN_FILE: Final = "api.md"
_REF_PREFIX: Final = "#/components/schemas/"
_METHODS: Final = ("get", "post", "put", "patch", "delete")
_GENERATED: Final = (
    "<!-- Generated from the emulator's OpenAPI document by scripts/render-api-docs; "
    "do not edit. -->"
)
_SECURITY: Final = {
    "bearerAuth": "a bearer token from `POST /api/v2/oauth/token`",
    "basicAuth": "HTTP Basic auth with the OAuth client id and secret",
}


def document() -> dict[str, Any]:
    """The OpenAPI document the emulator serves (default options, nothing stored)."""
    backend = EmulatorBackend.from_settings(EmulatorSettings(db=MEMORY))
    try:
        return contract_openapi(create_app(backend))
    finally:
        backend.close()


def render_json(openapi: Mapping[str, Any]) -> str:
    """The document as committed: indented, keys in the document's order, one final newline."""
    return json.dumps(openapi, indent=2, ensure_ascii=False) + "\n"


def render_markdown(openapi: Mapping[str, Any]) -> str:
    """The API reference page."""
    info = openapi["info"]
    lines = [
        f"# {info['title']}",
        "",
        _GENERATED,
        "",
        info.get("description", ""),
        "",
        (
            f"API version {info['version']}, OpenAPI {openapi['openapi']}. The document itself "
            f"is [{JSON_FILE}]({JSON_FILE}); a running emulator serves it at `/openapi.json` "
            "and browses it at `/docs`. Every error answer of the Data Actions endpoints has "
            "the body [ApiErrorBody](#apierrorbody)."
        ),
        "",
        "| operation | summary |",
        "|---|---|",
    ]
    operations = list(_operations(openapi))
    lines += [
        f"| [`{method.upper()} {path}`](#{_anchor(method, path)}) | "
        f"{_cell(operation.get('summary', ''))} |"
        for path, method, operation in operations
    ]
    for path, method, operation in operations:
        lines += ["", *_operation(path, method, operation)]
    lines += ["", "## Schemas"]
    for name, schema in openapi.get("components", {}).get("schemas", {}).items():
        lines += ["", *_schema(name, schema)]
    return "\n".join(lines) + "\n"


def _operations(openapi: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    return [
        (path, method, methods[method])
        for path, methods in openapi["paths"].items()
        for method in _METHODS
        if method in methods
    ]


def _anchor(method: str, path: str) -> str:
    """GitHub's anchor of the operation's heading (`### POST /api/v2/...`)."""
    text = f"{method} {path}".lower()
    kept = "".join(c for c in text if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def _operation(path: str, method: str, operation: Mapping[str, Any]) -> list[str]:
    lines = [f"### {method.upper()} {path}", ""]
    summary = operation.get("summary", "")
    description = operation.get("description", "")
    lines.append(f"**{summary}.** {description}".strip())
    lines += ["", f"Operation id: `{operation.get('operationId', '')}`."]
    security = [name for entry in operation.get("security", []) for name in entry]
    if security:
        lines.append("Authentication: " + "; ".join(_SECURITY.get(n, n) for n in security) + ".")
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["", "| parameter | in | required | type | description |", "|---|---|---|---|---|"]
        lines += [
            f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | "
            f"{_type(p.get('schema', {}))} | {_cell(_described(p))} |"
            for p in parameters
        ]
    body = operation.get("requestBody")
    if body:
        required = "required" if body.get("required") else "optional"
        kinds = ", ".join(
            f"`{media}` {_type(content.get('schema', {}))}"
            for media, content in body.get("content", {}).items()
        )
        lines += ["", f"Request body ({required}): {kinds}."]
    lines += ["", "| answer | meaning | body |", "|---|---|---|"]
    for status, answer in operation.get("responses", {}).items():
        meaning = answer.get("description", "")
        headers = answer.get("headers", {})
        if headers:
            meaning += "; headers: " + ", ".join(
                f"`{name}` ({header.get('description', '')})" for name, header in headers.items()
            )
        bodies = ", ".join(
            _type(content.get("schema", {})) for content in answer.get("content", {}).values()
        )
        lines.append(f"| {status} | {_cell(meaning)} | {bodies or 'none'} |")
    return lines


def _described(parameter: Mapping[str, Any]) -> str:
    text = parameter.get("description") or parameter.get("schema", {}).get("description", "")
    constraints = _constraints(parameter.get("schema", {}))
    return "; ".join(part for part in (text, constraints) if part)


def _schema(name: str, schema: Mapping[str, Any]) -> list[str]:
    lines = [f"### {name}"]
    description = schema.get("description")
    if description:
        lines += ["", description]
    properties: Mapping[str, Any] = schema.get("properties", {})
    if not properties:
        lines += ["", f"Type: {_type(schema)}."]
        return lines
    required = set(schema.get("required", []))
    lines += ["", "| field | type | required | description |", "|---|---|---|---|"]
    for field, spec in properties.items():
        text = "; ".join(
            part.rstrip(".")
            for part in (spec.get("description", ""), _constraints(spec), _default(spec))
            if part
        )
        lines.append(
            f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'} | "
            f"{_cell(text)} |"
        )
    extra = schema.get("additionalProperties")
    if extra is False:
        lines += ["", "No other fields are accepted."]
    examples = schema.get("examples")
    if examples:
        example = json.dumps(examples[0], indent=2, ensure_ascii=False)
        lines += ["", "Example:", "", "```json", example, "```"]
    return lines


def _type(schema: Mapping[str, Any]) -> str:
    """A schema's type in words, with links to named schemas."""
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix(_REF_PREFIX)
        return f"[{name}](#{name.lower()})"
    for combinator, joiner in (("anyOf", " or "), ("oneOf", " or "), ("allOf", " and ")):
        if combinator in schema:
            return joiner.join(_type(option) for option in schema[combinator])
    if "enum" in schema:
        return "one of " + ", ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    return _plain_type(schema)


def _plain_type(schema: Mapping[str, Any]) -> str:
    """The type of a schema that is no reference, combination, enum or constant."""
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if isinstance(kind, list):
        return " or ".join(str(item) for item in kind)
    values = schema.get("additionalProperties")
    if kind == "object" and isinstance(values, Mapping):
        return f"object of {_type(values)}"
    if kind is None:
        return "any JSON value"
    form = schema.get("format")
    return f"{kind} ({form})" if form else str(kind)


_CONSTRAINTS: Final[Sequence[tuple[str, str]]] = (
    ("pattern", "pattern `{}`"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minimum", "at least {}"),
    ("exclusiveMinimum", "more than {}"),
    ("maximum", "at most {}"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
)


def _constraints(schema: Mapping[str, Any]) -> str:
    found = [text.format(schema[key]) for key, text in _CONSTRAINTS if key in schema]
    if schema.get("uniqueItems"):
        found.append("no repeats")
    for option in schema.get("anyOf", []):
        inner = _constraints(option)
        if inner:
            found.append(inner)
    items = _constraints(schema["items"]) if "items" in schema else ""
    if items:
        found.append(f"each item: {items}")
    return ", ".join(found)


def _default(schema: Mapping[str, Any]) -> str:
    return f"default `{json.dumps(schema['default'])}`" if "default" in schema else ""


def _cell(text: str) -> str:
    """Text that stays in one table cell."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def main(argv: Sequence[str] | None = None) -> None:
    """Write (or with --check, compare) DOCS_DIR/openapi.json and DOCS_DIR/api.md."""
    parser = argparse.ArgumentParser(prog="python -m cxone_provider.emulator.apidoc")
    parser.add_argument("docs_dir", type=Path)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    options = parser.parse_args(argv)
    openapi = document()
    wanted = {JSON_FILE: render_json(openapi), MARKDOWN_FILE: render_markdown(openapi)}
    stale = []
    for name, text in wanted.items():
        path = options.docs_dir / name
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        stale.append(str(path))
        if not options.check:
            path.write_text(text, encoding="utf-8")
    if options.check and stale:
        sys.stderr.write(f"out of date: {', '.join(stale)}; run scripts/render-api-docs\n")
        sys.exit(1)
    sys.stdout.write(("wrote " if stale else "up to date: ") + ", ".join(stale or wanted) + "\n")


if __name__ == "__main__":
    main()
