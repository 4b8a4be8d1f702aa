"""The comparison of `cxone diff` on sides built in memory: properties, rendering, side grammar."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from cli_projects import cxone
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.cli import comparison as diff
from cxone_provider.cli import comparison_output
from cxone_provider.cli.comparison import ComparedField, Entry, Side, SideSpec, Status
from cxone_provider.deploy.properties import Content

NAMES = st.sampled_from(["alpha", "beta", "gamma", "delta", "epsilon"])


@st.composite
def entries(draw: st.DrawFn, name: str) -> Entry:
    dependencies = draw(st.lists(NAMES.filter(lambda other: other != name), unique=True))
    content = Content(
        name=name,
        description=draw(st.sampled_from(["", "one", "two\nlines"])),
        script=draw(st.sampled_from(["a\n", "b\n", "a\r\n", "a"])),
        dependencies=frozenset(dependencies),
        enabled=draw(st.booleans()),
        trigger_type=draw(st.sampled_from(["MANUAL", "EVENT"])),
    )
    return Entry(content, tuple(dependencies))


@st.composite
def sides(draw: st.DrawFn) -> Side:
    names = draw(st.sets(NAMES))
    actions = {name: draw(entries(name)) for name in sorted(names)}
    return Side("tenant", "t", "tenant t", "http://t", None, actions)


def mirrored(status: Status) -> Status:
    swap = {Status.ONLY_LEFT: Status.ONLY_RIGHT, Status.ONLY_RIGHT: Status.ONLY_LEFT}
    return swap.get(status, status)


@settings(max_examples=200, deadline=None)
@given(side=sides())
def test_a_side_compared_with_itself_has_no_difference(side):
    """Every action of a side is `same` as itself, without a reordering."""
    comparison = diff.compare(side, side)
    assert comparison.differences == 0
    assert all(a.status is Status.SAME and not a.order_only for a in comparison.actions)
    assert [a.name for a in comparison.actions] == sorted(side.actions)


@settings(max_examples=300, deadline=None)
@given(left=sides(), right=sides())
def test_swapping_the_sides_mirrors_the_comparison(left, right):
    """Right against left: the same fields differ, only-left and only-right swap."""
    forward = diff.compare(left, right)
    backward = diff.compare(right, left)
    assert forward.differences == backward.differences
    for there, back in zip(forward.actions, backward.actions, strict=True):
        assert (back.name, back.status, back.fields, back.order_only) == (
            there.name,
            mirrored(there.status),
            there.fields,
            there.order_only,
        )


@settings(max_examples=300, deadline=None)
@given(left=sides(), right=sides())
def test_an_action_differs_exactly_where_the_providers_content_differs(left, right):
    """`differs` and its fields follow `Content` equality, the provider's own diff."""
    for action in diff.compare(left, right).actions:
        if action.left is None or action.right is None:
            continue
        changed = {
            field
            for field in ComparedField
            if getattr(action.left.content, field.value)
            != getattr(action.right.content, field.value)
        }
        assert set(action.fields) == changed
        assert (action.status is Status.DIFFERS) == (action.left.content != action.right.content)
        same_set = action.left.content.dependencies == action.right.content.dependencies
        in_order = action.left.dependency_order == action.right.dependency_order
        assert action.order_only == (same_set and not in_order)


def test_the_compared_fields_are_the_providers_content_without_the_name():
    """Adding a field to the provider's `Content` cannot go unnoticed by `cxone diff`."""
    fields = {field.name for field in dataclasses.fields(Content)} - {"name"}
    assert {field.value for field in ComparedField} == fields


def test_the_help_names_every_compared_field():
    """`cxone diff --help` lists what --ignore takes, and the exit codes."""
    shown = cxone("diff", "--help", env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    help_text = " ".join(shown.stdout.split())
    assert ", ".join(field.value for field in ComparedField) in help_text
    assert "0 no difference, 1 differences, 2 error" in help_text
    assert "cxone diff [LEFT] [RIGHT] [--stack NAME]..." in help_text


def side_of(**scripts: str) -> Side:
    actions = {
        name: Entry(Content(name, "", script, frozenset(), enabled=True, trigger_type="MANUAL"), ())
        for name, script in scripts.items()
    }
    return Side("tenant", "t", "tenant t", "http://t", None, actions)


@pytest.mark.parametrize(
    ("left", "right", "note"),
    [
        ("a\nb\n", "a\r\nb\r\n", "left has LF line endings, a final newline, right has CRLF"),
        (
            "a\nb\n",
            "a\nb",
            "right has LF line endings, no final newline",
        ),
        ("a\r\nb\n", "a\nb\n", "left has CRLF+LF line endings"),
    ],
)
def test_scripts_that_differ_only_in_line_endings_say_so(left, right, note):
    """A script diff with no changed line explains the difference instead of showing nothing."""
    comparison = diff.compare(side_of(x=left), side_of(x=right))
    (action,) = comparison.actions
    assert action.fields == (ComparedField.SCRIPT,)
    text = comparison_output.script_diff(comparison, action)
    assert text is not None
    assert (
        "the scripts have the same lines; they differ in line endings or the final newline" in text
    )
    assert note in text


def test_markdown_stays_within_a_pull_request_comment():
    """Many large changes: the table first, details while they fit, then what was left out."""
    big = "\n".join(f"line {n}" for n in range(150)) + "\n"
    left = side_of(**{f"action_{n:03d}": big for n in range(200)})
    right = side_of(**{f"action_{n:03d}": big.replace("line", "LINE") for n in range(200)})
    markdown = comparison_output.to_markdown(diff.compare(left, right))
    assert len(markdown) <= comparison_output.MARKDOWN_BUDGET
    assert markdown.count("| `action_") == 200
    details = markdown.count("<details>")
    assert 0 < details < 200
    assert markdown.rstrip().endswith(
        f"… 0 table rows and {200 - details} details left out to fit a pull-request comment; "
        "`cxone diff --json` has everything"
    )


def test_a_long_diff_is_shortened_in_markdown_only():
    """One action's diff keeps MARKDOWN_DIFF_LINES lines in Markdown; JSON keeps all of it."""
    left = side_of(x="\n".join(f"a{n}" for n in range(500)) + "\n")
    right = side_of(x="\n".join(f"b{n}" for n in range(500)) + "\n")
    comparison = diff.compare(left, right)
    markdown = comparison_output.to_markdown(comparison)
    assert "… 803 more lines (the whole diff: --json)" in markdown
    whole = comparison_output.to_json(comparison)["actions"][0]["script_diff"]
    assert len(whole.splitlines()) == 3 + 1000


def test_a_script_with_backtick_fences_gets_a_longer_fence():
    """A script holding ``` cannot close the Markdown code block early."""
    markdown = comparison_output.to_markdown(
        diff.compare(side_of(x="a\n"), side_of(x="// ```js\n"))
    )
    assert "````diff\n--- left/x.js\n+++ right/x.js\n@@ -1 +1 @@\n-a\n+// ```js\n````" in markdown


@pytest.mark.parametrize(
    ("arguments", "stacks", "expected"),
    [
        ([], ["prod"], (SideSpec("program", ""), SideSpec("stack", "prod"))),
        ([], ["staging", "prod"], (SideSpec("stack", "staging"), SideSpec("stack", "prod"))),
        (["adopted"], ["prod"], (SideSpec("program", "adopted"), SideSpec("stack", "prod"))),
        (
            ["stack:prod", "adopted"],
            [],
            (SideSpec("stack", "prod"), SideSpec("program", "adopted")),
        ),
        (
            ["https://acme.api.nicecxone.com"],
            [],
            (SideSpec("program", ""), SideSpec("url", "https://acme.api.nicecxone.com")),
        ),
        (
            ["HTTP://127.0.0.1:8765", "."],
            [],
            (SideSpec("url", "HTTP://127.0.0.1:8765"), SideSpec("program", ".")),
        ),
    ],
)
def test_sides_are_the_arguments_then_each_stack(arguments, stacks, expected):
    """Positional sides, then --stack sides; a lone side is compared with the program."""
    assert diff.parse_sides(arguments, stacks) == expected


@pytest.mark.parametrize(
    ("arguments", "stacks", "message"),
    [
        ([], [], "nothing to compare"),
        (["a", "b"], ["prod"], "3 sides given (program a, program b, stack prod)"),
        (["stack:"], [], "a stack side needs the stack's name"),
    ],
)
def test_a_wrong_number_of_sides_is_refused(arguments, stacks, message):
    """No side, or more than two, is a usage error that says what to give."""
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        diff.parse_sides(arguments, stacks)


def test_json_leaves_out_the_content_of_actions_that_are_the_same():
    """Same actions are listed by name and status only; the answer stays small."""
    comparison = diff.compare(side_of(x="a\n", y="b\n"), side_of(x="a\n", y="c\n"))
    document = json.loads(json.dumps(comparison_output.to_json(comparison)))
    same, changed = document["actions"]
    assert (same["name"], same["status"], same["left"], same["right"]) == ("x", "same", None, None)
    assert changed["left"]["script"] == "b\n"
    assert changed["right"]["script"] == "c\n"


@pytest.mark.parametrize("terminal", [True, False])
def test_a_long_line_is_shown_whole_on_a_terminal_and_piped(terminal):
    """Diff lines wider than the console wrap instead of losing their end."""
    long_line = "const x = " + "1 + " * 30 + "END_OF_LINE;"
    comparison = diff.compare(side_of(x="a\n"), side_of(x=long_line + "\n"))
    out = io.StringIO()
    comparison_output.print_text(comparison, Console(file=out, width=40, force_terminal=terminal))
    text = out.getvalue()
    assert ("\x1b[" in text) is terminal
    assert "END_OF_LINE;" in text
