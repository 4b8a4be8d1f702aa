"""`cxone test`: one action run locally in the emulator's sandbox, judged as `pulumi up` would."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from rich.table import Table
from rich.text import Text

from cxone_provider.api.errors import ProgramError
from cxone_provider.cli.output import (
    EXIT_OK,
    EXIT_PROBLEMS,
    JsonOption,
    Output,
    ProgramStackOption,
    evaluate_program,
)
from cxone_provider.cli.project import shown_path
from cxone_provider.cli.shutdown import ctrl_c_ends_at_once

if TYPE_CHECKING:
    from cxone_provider.cli.localrun import Outcome
    from cxone_provider.cli.program import Declarations


EXAMPLES: Final = """Examples:

\b
  cxone test lead_score                            # its test_input and expected_output
  cxone test lead_score --input '{"employees": 5}'  # another input (not compared)
  cxone test stacks/actions/normalize_phone.js --input @phone.json --program .
"""


# Over 60 lines: typer reads the command's options from this signature; the body is short.
def local_test_command(
    script_or_name: Annotated[
        str,
        typer.Argument(
            metavar="SCRIPT_OR_NAME", help="A declared action's name, or a script file (.js)."
        ),
    ],
    input_text: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            metavar="JSON|@FILE",
            help="JSON input, or @file.json; default: the action's declared test_input.",
            show_default=False,
        ),
    ] = None,
    program_dir: Annotated[
        Path | None,
        typer.Option(
            "--program",
            "-p",
            metavar="DIR",
            help="Project whose declarations give the action, its dependencies and its test "
            "(default: the current folder for a name; none for a script file).",
            show_default=False,
        ),
    ] = None,
    stack: ProgramStackOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run one action locally in the emulator's sandbox: unit tests without a tenant.

    context.call reaches the program's declared actions (each with its own dependencies).
    Prints status, output, error and duration; exit code 1 when the run fails or, with the
    declared test_input, does not return the declared expected_output.
    """
    from cxone_provider.cli import localrun  # noqa: PLC0415 -- keeps `cxone emulator` fast

    output = Output("test", as_json=as_json)
    with output.errors():
        given = localrun.parse_input(input_text) if input_text is not None else None
        script = Path(script_or_name)
        if script.is_file():
            declarations = (
                evaluate_program(output, program_dir, stack) if program_dir is not None else None
            )
            local = localrun.for_script(script, declarations, given)
        else:
            declarations = evaluate_program(output, program_dir or Path(), stack)
            action = declarations.find(script_or_name)
            if action is None:
                raise ProgramError(_no_such_action(script_or_name, declarations))
            local = localrun.for_action(declarations, action, given)
        if declarations is not None and declarations.failure is not None:
            output.note(
                f"{declarations.failure.describe()}; what it declared after that is missing"
            )
        with ctrl_c_ends_at_once():
            outcome = localrun.run(local)
    if as_json:
        output.emit(_outcome_json(outcome, output.base))
    else:
        _print_outcome(output, outcome)
    raise typer.Exit(EXIT_OK if outcome.verdict.passed else EXIT_PROBLEMS)


def _no_such_action(name: str, declarations: Declarations) -> str:
    failure = declarations.failure
    if failure is not None and not failure.repeats_a_check:
        return (
            f"{name!r} is not declared: {failure.describe()}, so its declarations are "
            "incomplete; fix the program (`cxone validate` lists every problem) and run again"
        )
    names = declarations.names()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    declared = ", ".join(names) or "none"
    return (
        f"{name!r} is neither a script file nor an action declared in "
        f"{declarations.project.main}; {hint}declared: {declared}"
    )


def _outcome_json(outcome: Outcome, base: Path) -> dict[str, Any]:
    local, result = outcome.run, outcome.verdict.result
    return {
        "ok": outcome.verdict.passed,
        "action": local.name,
        "script_file": shown_path(local.script_file, base) if local.script_file else None,
        "input": local.test_input,
        "input_source": local.input_source,
        "status": result.status,
        "output": result.output,
        "error": result.error,
        "duration_ms": result.duration_ms,
        "expected_output": {
            "compared": outcome.compared,
            "matched": outcome.matched,
            "value": local.plan.expected_output if outcome.compared else None,
        },
        "passed": outcome.verdict.passed,
        "reason": outcome.verdict.reason,
        "hint": outcome.hint,
        "unresolved_dependencies": list(local.unresolved),
    }


def _print_outcome(output: Output, outcome: Outcome) -> None:
    local, result = outcome.run, outcome.verdict.result
    console = output.out
    subject = Text(local.name or "script", style="bold")
    if local.script_file is not None:
        subject.append(f" ({shown_path(local.script_file, output.base)})")
    source = {"given": "--input", "declared": "its test_input", "default": "the default input"}
    subject.append(f" with {source[local.input_source]}")
    console.print(subject)
    status_style = "bold green" if result.status == "SUCCESS" else "bold red"
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    table.add_row("status", Text(result.status, style=status_style))
    table.add_row("duration", f"{result.duration_ms:.1f} ms")
    table.add_row("output", json.dumps(result.output, indent=2, ensure_ascii=False))
    table.add_row("error", Text(result.error or "none", style="red" if result.error else ""))
    table.add_row("expected", _expected_text(outcome))
    console.print(table)
    if local.unresolved:
        output.note(
            f"not declared in the program, so context.call cannot reach them here: "
            f"{', '.join(local.unresolved)}"
        )
    if outcome.verdict.passed:
        console.print(Text("✔ PASSED", style="bold green"))
    else:
        console.print(Text(f"✘ FAILED: {outcome.verdict.reason}", style="bold red"))
    if outcome.hint is not None:
        output.note(outcome.hint)


def _expected_text(outcome: Outcome) -> Text:
    if outcome.compared:
        if outcome.matched:
            return Text("matches the declared expected_output", style="green")
        if outcome.matched is False:
            return Text("does NOT match the declared expected_output", style="bold red")
        return Text("not compared: the run did not succeed")
    if outcome.run.input_source == "given":
        return Text("not compared: --input replaces the test_input that expected_output is for")
    return Text("none declared")
