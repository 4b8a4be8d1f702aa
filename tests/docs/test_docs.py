"""The README and docs/: every runnable shell block runs as written, in order.

The blocks run against a fresh emulator from a copy of the repository (see doc_blocks.py
and docs/development.md for the convention). Blocks that need the Pulumi CLI run when
`pulumi` is on PATH; otherwise they are skipped with one line saying how to get it, unless
CXONE_REQUIRE_PULUMI=1 makes a missing CLI a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from doc_blocks import (
    EMULATOR_PORT,
    INSTALL_PULUMI,
    NEEDS_PULUMI,
    PAGE_TIMEOUT_S,
    Block,
    MarkerError,
    PulumiRequiredError,
    page_script,
    pages,
    port_is_free,
    private_network_available,
    run_page,
    runnable_blocks,
    split_for_pulumi,
    unmarked_python_blocks,
)

PAGES_WITH_BLOCKS = [page for page in pages() if runnable_blocks(page)]


@pytest.fixture(scope="module")
def private_network():
    return private_network_available()


@pytest.mark.timeout(PAGE_TIMEOUT_S + 60)
@pytest.mark.parametrize("page", PAGES_WITH_BLOCKS, ids=lambda page: page.name)
def test_the_runnable_blocks_of_each_page_succeed_in_order(page, tmp_path, private_network):
    """Each block of the page exits 0, run in order against a fresh emulator."""
    blocks, skipped = split_for_pulumi(
        runnable_blocks(page),
        pulumi_on_path=shutil.which("pulumi") is not None,
        required=os.environ.get("CXONE_REQUIRE_PULUMI") == "1",
    )
    if not private_network and not port_is_free(EMULATOR_PORT):
        pytest.skip(f"port {EMULATOR_PORT} is in use and `unshare -rn` is not available here")
    run = run_page(blocks, tmp_path, private_network=private_network)
    assert run.finished, run.report()
    if skipped:
        pytest.skip(
            f"{page.name}: ran {len(blocks)} blocks; skipped {len(skipped)} that need the "
            f"Pulumi CLI (install it with {INSTALL_PULUMI})"
        )


def test_the_readme_and_docs_have_runnable_blocks_and_well_formed_markers():
    """Every marker stands above a ```sh block with known tags; the README has a tour."""
    found = {page.name: runnable_blocks(page) for page in pages()}
    assert len(found["README.md"]) >= 3
    assert sum(len(blocks) for blocks in found.values()) >= 10


def write_page(tmp_path, text):
    (tmp_path / "README.md").write_text(text)
    return tmp_path / "README.md"


def test_blocks_are_found_in_order_with_their_first_line_and_tags(tmp_path):
    """Only marked ```sh blocks count; the line is that of the first command."""
    page = write_page(
        tmp_path,
        "# Title\n\n```sh\nnot runnable\n```\n<!-- runnable -->\n```sh\necho one\necho two\n```\n"
        f"\n<!-- runnable: {NEEDS_PULUMI} -->\n```sh\npulumi up\n```\n",
    )
    first, second = runnable_blocks(page, tmp_path)
    assert (first.where, first.code, first.needs_pulumi) == (
        "README.md:8",
        "echo one\necho two",
        False,
    )
    assert (second.where, second.code, second.needs_pulumi) == ("README.md:14", "pulumi up", True)


@pytest.mark.parametrize(
    "text",
    [
        "<!-- runnable -->\n\n```sh\necho\n```\n",
        "<!-- runnable -->\n```python\nprint()\n```\n",
        "<!-- runnable: background -->\n```sh\necho\n```\n",
        "<!-- runnable -->\n```sh\necho\n",
    ],
    ids=["blank-line", "not-sh", "unknown-tag", "unclosed"],
)
def test_a_marker_that_marks_no_sh_block_is_an_error(tmp_path, text):
    """A misplaced marker or an unknown tag is refused with the page and line."""
    with pytest.raises(MarkerError, match=r"README\.md:\d+"):
        runnable_blocks(write_page(tmp_path, text), tmp_path)


def test_pulumi_blocks_are_skipped_without_the_cli_unless_required(tmp_path):
    """No pulumi on PATH: its blocks are skipped; with CXONE_REQUIRE_PULUMI=1 that fails."""
    page = write_page(
        tmp_path,
        "<!-- runnable -->\n```sh\necho\n```\n"
        f"<!-- runnable: {NEEDS_PULUMI} -->\n```sh\npulumi up\n```\n",
    )
    plain, pulumi_block = runnable_blocks(page, tmp_path)
    assert split_for_pulumi([plain, pulumi_block], pulumi_on_path=False, required=False) == (
        [plain],
        [pulumi_block],
    )
    assert split_for_pulumi([plain, pulumi_block], pulumi_on_path=True, required=True) == (
        [plain, pulumi_block],
        [],
    )
    with pytest.raises(PulumiRequiredError, match=INSTALL_PULUMI):
        split_for_pulumi([plain, pulumi_block], pulumi_on_path=False, required=True)


def test_a_failing_block_stops_the_page_and_is_named(tmp_path, private_network):
    """The first block that exits non-zero ends the run; the report names its page and line."""
    if not private_network and not port_is_free(EMULATOR_PORT):
        pytest.skip(f"port {EMULATOR_PORT} is in use and `unshare -rn` is not available here")
    blocks = [
        Block("page.md", 3, "curl -s http://127.0.0.1:8765/healthz", frozenset()),
        Block("page.md", 9, "cxone validate no-such-folder", frozenset()),
        Block("page.md", 15, "echo never", frozenset()),
    ]
    run = run_page(blocks, tmp_path, private_network=private_network)
    assert not run.finished
    assert run.exit_code == 2
    assert run.last_block == "page.md:9"
    assert '{"status":"ok"}' in run.output
    assert "never" not in run.output
    assert "page.md:9 exited 2" in run.report()


def test_every_python_example_is_run_or_marked_as_a_fragment():
    """A ```python block is a file the page's blocks run (`file:`), or says it is a fragment."""
    unmarked = [where for page in pages() for where in unmarked_python_blocks(page)]
    assert unmarked == []


def test_a_file_block_is_written_where_it_says_before_the_blocks_after_it(tmp_path):
    """`<!-- file: PATH -->` above a fence: the page's session writes the block to PATH."""
    page = write_page(
        tmp_path,
        "<!-- file: app/main.py -->\n```python\nprint('it ran')\n```\n"
        "<!-- runnable -->\n```sh\npython3 app/main.py\n```\n",
    )
    written, shell = runnable_blocks(page, tmp_path)
    assert (written.file, written.code, written.where) == (
        "app/main.py",
        "print('it ran')",
        "README.md:3",
    )
    assert shell.file is None
    ran = subprocess.run(
        ["bash", "-c", page_script([written, shell])],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert "it ran" in ran.stdout
    assert (tmp_path / "app" / "main.py").read_text() == "print('it ran')\n"


def test_a_file_marker_that_marks_no_fenced_block_is_an_error(tmp_path):
    """The marker must stand directly above a fence."""
    page = write_page(tmp_path, "<!-- file: a.py -->\n\n```python\nx = 1\n```\n")
    with pytest.raises(MarkerError, match=r"README\.md:1"):
        runnable_blocks(page, tmp_path)


def test_no_runnable_block_switches_the_readers_pulumi_backend():
    """No block runs `pulumi login`, which switches every project; PULUMI_BACKEND_URL does not."""
    logins = [
        block.where
        for page in pages()
        for block in runnable_blocks(page)
        if "pulumi login" in block.code
    ]
    assert logins == []
