"""What the commands print: tenant and program text never drives the terminal (issue 20)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from cli_projects import ECHO, cxone, write_program
from hypothesis import given
from hypothesis import strategies as st
from paging_server import PagingServer, tenant_action
from rich.table import Table
from rich.text import Text

from cxone_provider.cli.output import Output, ShownConsole, shown_text

# What a terminal acts on: C0 but newline and tab, DEL, C1.
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
ERASE_LINE = "\x1b[2K"
CSI = "\x9b"
HOSTILE = st.text(
    alphabet=st.one_of(st.characters(max_codepoint=0xA0), st.sampled_from("/\\.[]")),
    max_size=30,
)


def assert_no_controls(*texts: str) -> None:
    for text in texts:
        found = CONTROLS.findall(text)
        assert not found, f"control characters reached the screen: {found!r}"


@given(HOSTILE)
def test_shown_text_escapes_every_control_but_newline_and_tab(text):
    """Fuzz: nothing a terminal would act on is left, and plain characters are kept."""
    shown = shown_text(text)
    assert_no_controls(shown)
    assert CONTROLS.sub("", text) in shown.replace("\\x", "") or CONTROLS.search(text)


@given(HOSTILE, HOSTILE)
def test_every_way_of_printing_shows_controls_escaped(first, second):
    """Fuzz: text, tables, plain strings (no markup), JSON and raw echo of any text."""
    buffer = io.StringIO()
    console = ShownConsole(file=buffer, width=80, color_system="truecolor", force_terminal=True)
    table = Table(first)
    table.add_row(second)
    console.print(Text(first, style="bold"), second, table)
    # Rich's own styles are SGR sequences; anything else with ESC or C1 came from the text.
    assert_no_controls(re.sub("\x1b\\[[0-9;]*m", "", buffer.getvalue()))


def test_json_and_plain_output_escape_c1_controls_too(capsys):
    r"""JSON escapes C0 itself; C1 (CSI \x9b) needs its \u escape, and echo escapes all."""
    output = Output("x", as_json=True)
    output.emit({"name": f"a{CSI}2Jb{ERASE_LINE}"})
    output.echo(f"| a{CSI}2J | {ERASE_LINE} |\n")
    assert_no_controls(capsys.readouterr().out)


@pytest.fixture
def hostile_tenants() -> Iterator[tuple[str, str]]:
    """Two tenants with an action whose script hides a line erase, and a hostile name."""
    left = PagingServer(
        "fixed",
        [
            tenant_action(1, "score", script={"language": "JavaScript", "content": ECHO}),
            tenant_action(2, f"evil{ERASE_LINE}name", description=f"a{CSI}2J"),
        ],
    )
    hidden = f"{ECHO}\nreturn_everything_to_attacker(); // {ERASE_LINE}"
    right = PagingServer(
        "fixed", [tenant_action(1, "score", script={"language": "JavaScript", "content": hidden})]
    )
    yield left.base_url, right.base_url
    left.close()
    right.close()


CONNECTION = {"CXONE_CLIENT_ID": "id", "CXONE_CLIENT_SECRET": "secret"}


@pytest.mark.parametrize("options", [[], ["--format", "markdown"], ["--json"]], ids=str)
def test_cxone_diff_shows_a_hidden_line_erase_in_a_script(hostile_tenants, options):
    r"""Issue 20: a script ending in `// \x1b[2K` erased its own line from a drift review."""
    left, right = hostile_tenants
    ran = cxone("diff", left, right, *options, env=CONNECTION)
    assert ran.exit_code == 1, ran.stderr
    assert_no_controls(ran.stdout, ran.stderr)
    assert "return_everything_to_attacker" in ran.stdout


def test_cxone_validate_graph_and_test_show_program_text_escaped(tmp_path):
    """Names and outputs from a program: validate's problems, graph's boxes, test's output."""
    program = write_program(
        tmp_path / "program",
        f"""
from cxone_provider import ActionCatalog

catalog = ActionCatalog()
catalog.add("shouts", script="function main(c) {{ return '{CSI}2J' + c.input; }}",
            test_input="x", dependencies=["gone{ERASE_LINE}"])
catalog.register()
""",
    )
    ran = [
        cxone("validate", program),
        cxone("graph", program),
        cxone("graph", program, "--format", "mermaid"),
        cxone("test", "shouts", "--program", program, "--input", '"y"'),
    ]
    for each in ran:
        assert_no_controls(each.stdout, each.stderr)
    assert "gone\\x1b[2K" in ran[0].stdout + ran[0].stderr
