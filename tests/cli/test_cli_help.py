"""Every command's help, walked: whole summaries, plain metavars, connection sources said right."""

from __future__ import annotations

import re

import pytest
from cli_projects import cxone

from cxone_provider.cli import app
from cxone_provider.cli.application import cxone as cxone_callback

COMMANDS = sorted(command.name for command in app.registered_commands if command.name)
# Typer's rendering of Python types: `<str>`, `<path>`, `<list[str]>`, `{NAME}` for required.
PYTHON_METAVAR = re.compile(
    r"<(bool|str|int|float|path|file|text|list\[[^\]]*\])>|\{[A-Z_]+\}|\w <\w+>"
)


def command_rows(help_text: str) -> dict[str, str]:
    """The `Commands:` section of `cxone --help`: name to its summary, wrapped lines joined."""
    section = help_text.split("Commands:", 1)[1]
    rows: dict[str, str] = {}
    name = ""
    for line in section.splitlines():
        match = re.match(r"^  (\w+)\s+(.*)$", line)
        if match:
            name = match[1]
            rows[name] = match[2].strip()
        elif line.strip() and name:
            rows[name] += " " + line.strip()
    return rows


def test_every_summary_in_the_command_list_is_a_whole_sentence():
    """No summary is cut with `...`: each is the docstring's whole first line, ending in `.`."""
    ran = cxone("--help", env={"COLUMNS": "80"})
    rows = command_rows(ran.stdout)
    assert sorted(rows) == COMMANDS
    for name, summary in rows.items():
        assert not summary.endswith("..."), (name, summary)
        assert summary.endswith("."), (name, summary)


@pytest.mark.parametrize("command", COMMANDS)
def test_no_help_shows_a_python_type_as_a_metavar(command):
    """Usage lines and argument lists show names (FOLDER, SIDE...), not `<str>` or `{NAME}`."""
    ran = cxone(command, "--help", env={"COLUMNS": "100"})
    assert ran.exit_code == 0
    help_text = ran.stdout.split("Examples:", 1)[0]
    assert PYTHON_METAVAR.search(help_text) is None, help_text


def test_the_commands_that_need_no_pulumi_cli_are_all_but_the_demo_and_the_fleet():
    """The top-level help names every command that runs without the Pulumi CLI."""
    doc = " ".join((cxone_callback.__doc__ or "").split())
    listed = doc.split("Commands that need no Pulumi CLI:", 1)[1].split(".", 1)[0]
    assert sorted(name.strip() for name in listed.split(",")) == sorted(
        set(COMMANDS) - {"demo", "fleet"}
    )


@pytest.mark.parametrize(
    ("command", "option"),
    [("validate", "--tenant"), ("graph", "--tenant"), ("export", ""), ("diff", "")],
)
def test_the_connection_help_says_an_encrypted_secret_comes_from_the_environment(command, option):
    """No help offers the stack's clientSecret as a source: a --secret value cannot be read."""
    ran = cxone(command, "--help", env={"COLUMNS": "200"})
    text = " ".join(ran.stdout.split())
    assert "CXONE_CLIENT_SECRET" in text
    assert "--secret value in the stack file is encrypted" in text
    assert "clientId and clientSecret" not in text
    if option:
        assert option in text


def test_a_missing_secret_message_ends_its_sentence(tmp_path):
    """The fix line of a connection error ends with `.`, not a dangling comma."""
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (tmp_path / "Pulumi.enc.yaml").write_text(
        "config:\n  cxone:baseUrl: http://127.0.0.1:9\n  cxone:clientId: x\n"
        "  cxone:clientSecret:\n    secure: v1:abc\n"
    )
    ran = cxone("validate", tmp_path, "--stack", "enc", "--tenant")
    assert ran.exit_code == 2
    fix = next(line for line in ran.stderr.splitlines() if line.startswith("To fix"))
    assert fix.endswith("before running cxone validate --tenant.")


def test_docs_lists_the_pages_that_came_with_the_package_and_prints_one():
    """`cxone docs` names each page; `cxone docs provider` prints it; an unknown page says which."""
    listed = cxone("docs")
    assert listed.exit_code == 0
    for page in ("readme", "provider", "cli", "changelog"):
        assert f"cxone docs {page}" in listed.stdout
    guide = cxone("docs", "Provider.md")
    assert guide.stdout.startswith("# The provider: Data Actions deployed with Pulumi")
    unknown = cxone("docs", "provder")
    assert unknown.exit_code == 2
    assert "did you mean 'provider'?" in unknown.stderr
