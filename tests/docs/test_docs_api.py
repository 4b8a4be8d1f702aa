"""docs/openapi.json and docs/api.md: the project's own API reference, generated and current."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from cli_projects import REPO

from cxone_provider.emulator.apidoc import (
    JSON_FILE,
    MARKDOWN_FILE,
    document,
    main,
    render_json,
    render_markdown,
)

DOCS = REPO / "docs"


def test_the_api_reference_in_docs_is_what_the_code_writes():
    """Both files equal a fresh rendering; if not, run scripts/render-api-docs."""
    openapi = document()
    assert (DOCS / JSON_FILE).read_text(encoding="utf-8") == render_json(openapi), (
        "docs/openapi.json is out of date: run scripts/render-api-docs"
    )
    assert (DOCS / MARKDOWN_FILE).read_text(encoding="utf-8") == render_markdown(openapi), (
        "docs/api.md is out of date: run scripts/render-api-docs"
    )


def test_the_committed_document_is_the_one_the_emulator_serves(emulator):
    """GET /openapi.json of a running emulator is docs/openapi.json."""
    served = httpx.get(emulator.base_url + "/openapi.json").json()
    assert served == json.loads((DOCS / JSON_FILE).read_text(encoding="utf-8"))


def test_the_page_has_a_section_per_operation_and_per_schema():
    """Every operation and every schema of the document has its heading on the page."""
    openapi = document()
    page = (DOCS / MARKDOWN_FILE).read_text(encoding="utf-8")
    for path, methods in openapi["paths"].items():
        for method in methods:
            assert f"\n### {method.upper()} {path}\n" in page
    for name in openapi["components"]["schemas"]:
        assert f"\n### {name}\n" in page


def test_the_script_checks_without_writing():
    """`scripts/render-api-docs --check` exits 0 on the committed files."""
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "render-api-docs"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "up to date: openapi.json, api.md\n"


def test_check_fails_on_stale_files_and_writing_makes_them_current(tmp_path, capsys):
    """--check exits 1 naming the stale files; a run without it writes them."""
    (tmp_path / JSON_FILE).write_text("{}\n")
    with pytest.raises(SystemExit) as stopped:
        main([str(tmp_path), "--check"])
    assert stopped.value.code == 1
    assert "openapi.json" in capsys.readouterr().err
    assert (tmp_path / JSON_FILE).read_text() == "{}\n"
    main([str(tmp_path)])
    main([str(tmp_path), "--check"])
    assert (tmp_path / MARKDOWN_FILE).read_text() == render_markdown(document())
