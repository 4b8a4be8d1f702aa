"""The V8 sandbox: run a Data Action's `main(context)` in a fresh, isolated engine.

Each run gets its own V8 isolate (through mini-racer) with a time and a memory limit, and
nothing but the ECMAScript built-ins: no `require`, `process`, `fetch`, timers or files.
`context.input` is a JSON copy of the test input; `context.call(name, input)` runs the
`main` of a dependency the calling script declares (each dependency may in turn call its
own declared dependencies) and passes inputs and outputs as JSON copies, as they would
travel between actions on the service. The emulator's `POST /{id}/test` uses this, and so
can a local test command: give it the script and the scripts of its dependencies.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from py_mini_racer import JSEvalException, JSOOMException, JSTimeoutException

from cxone_provider.javascript import check_script, new_engine, settle_cancelled_run
from cxone_provider.models import TestStatus

TIMEOUT_S: Final = 5.0
MAX_MEMORY_BYTES: Final = 64 * 1024 * 1024

# Defined in the isolate before the run. mini-racer's timers (non-configurable globals) are
# overwritten: a test run is synchronous and has no clock beyond Date. `__cxoneLoad` is
# sloppy-mode on purpose: a direct eval there gives each script its own function scope, as
# if it were alone in the engine, and `;main` (after a newline, so that a trailing line
# comment cannot swallow it) yields the script's main, be it a function or a `const`.
_HARNESS: Final = r"""
for (const name of ["setTimeout", "clearTimeout", "__timer_manager"]) {
  if (!delete globalThis[name]) { globalThis[name] = undefined; }
}
function __cxoneLoad(__cxoneSource) { return eval(__cxoneSource + "\n;main"); }
var __cxoneRun = function (rootSource, rootDeclared, unitList, inputJson) {
  "use strict";
  const units = new Map(Object.entries(unitList));
  let undeclaredCall = null;
  const mains = new Map();
  const copy = (value) => (value === undefined ? null : JSON.parse(JSON.stringify(value)));
  const describe = (error) => {
    try {
      return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    } catch (_) {
      return "the script threw a value that cannot be shown";
    }
  };
  const mainOf = (name, source) => {
    if (!mains.has(name)) {
      const main = __cxoneLoad(source);
      if (typeof main !== "function") {
        throw new TypeError(`${name} does not define a function main(context)`);
      }
      mains.set(name, main);
    }
    return mains.get(name);
  };
  const contextFor = (owner, declared, input) => Object.freeze({
    input: input,
    call: function (name, callInput) {
      if (typeof name !== "string" || !declared.includes(name)) {
        if (owner === "this action" && undeclaredCall === null && typeof name === "string") {
          undeclaredCall = name;
        }
        throw new Error(`context.call(${JSON.stringify(name)}): not a dependency of ${owner}; ` +
          "only names listed in its dependencies can be called");
      }
      if (!units.has(name)) {
        throw new Error(`context.call(${JSON.stringify(name)}): the dependency does not exist`);
      }
      const unit = units.get(name);
      const main = mainOf(`dependency ${JSON.stringify(name)}`, unit.content);
      return copy(main(contextFor(`dependency ${JSON.stringify(name)}`, unit.dependencies,
        copy(callInput))));
    },
  });
  let output;
  try {
    const main = mainOf("the script", rootSource);
    output = main(contextFor("this action", rootDeclared, JSON.parse(inputJson)));
    if (output !== null && typeof output === "object" && typeof output.then === "function") {
      throw new TypeError("main(context) returned a Promise; the sandbox runs main " +
        "synchronously, so return the value itself");
    }
  } catch (error) {
    return JSON.stringify({ ok: false, error: describe(error), undeclaredCall: undeclaredCall });
  }
  try {
    return JSON.stringify({ ok: true, output: output === undefined ? null : output });
  } catch (error) {
    return JSON.stringify({ ok: false, error: "the result of main(context) is not JSON: " +
      describe(error) });
  }
};
"""


class ScriptUnit(NamedTuple):
    """A dependency as the sandbox needs it: its source and the names it may call."""

    content: str
    dependencies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """The verdict of one run: SUCCESS with the output, or FAILURE/TIMEOUT with the reason."""

    status: TestStatus
    output: Any
    error: str | None
    duration_ms: float
    undeclared_call: str | None = None
    """The first name the script itself called without declaring it, when that failed the run."""


def run_action(
    script: str,
    test_input: Any,
    *,
    declared: Sequence[str] = (),
    dependencies: Mapping[str, ScriptUnit | tuple[str, tuple[str, ...]]] | None = None,
    timeout_s: float = TIMEOUT_S,
    max_memory_bytes: int = MAX_MEMORY_BYTES,
) -> SandboxResult:
    """Run `main(context)` of `script` on a JSON copy of `test_input` in a fresh V8 isolate.

    `declared` lists the names the script may call with `context.call`; `dependencies`
    maps every name reachable from it (transitively) to its source and its own declared
    names. A throw, an unknown call or a non-JSON result is FAILURE; running past
    `timeout_s` is TIMEOUT; exhausting `max_memory_bytes` is FAILURE.
    """
    units = {
        name: {"content": unit[0], "dependencies": list(unit[1])}
        for name, unit in (dependencies or {}).items()
    }
    started = time.perf_counter()
    syntax_error = _first_syntax_error(script, units)
    if syntax_error is not None:
        return _verdict("FAILURE", started, syntax_error)
    program = (
        f"{_HARNESS}\n__cxoneRun({json.dumps(script)}, {json.dumps(list(declared))}, "
        f"{json.dumps(units)}, {json.dumps(json.dumps(test_input))});"
    )
    with new_engine() as engine:
        try:
            answer = engine.eval(program, timeout_sec=timeout_s, max_memory=max_memory_bytes)
        except JSTimeoutException:
            settle_cancelled_run(engine)
            return _verdict(
                "TIMEOUT",
                started,
                f"the run exceeded the time limit of {timeout_s:g} s; look "
                "for an endless loop or too much work in main(context)",
            )
        except JSOOMException:
            return _verdict(
                "FAILURE",
                started,
                f"the run exceeded the memory limit of {max_memory_bytes // (1024 * 1024)} MiB",
            )
        except JSEvalException as exc:
            return _verdict("FAILURE", started, str(exc).strip().split("\n", 1)[0])
    verdict = json.loads(str(answer))
    if not verdict["ok"]:
        return _verdict("FAILURE", started, verdict["error"], verdict.get("undeclaredCall"))
    return SandboxResult("SUCCESS", verdict["output"], None, _elapsed_ms(started))


def _first_syntax_error(script: str, units: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The first script that does not compile, with V8's line and column, as the API says it.

    Run as they are, V8 would name the error without its place (the sandbox evaluates each
    script inside its harness).
    """
    error = check_script(script)
    if error is not None:
        return f"{error.message} (line {error.line}, column {error.column})"
    for name, unit in units.items():
        error = check_script(unit["content"])
        if error is not None:
            return (
                f"dependency {json.dumps(name)}: {error.message} (line {error.line}, column "
                f"{error.column})"
            )
    return None


def _verdict(
    status: TestStatus, started: float, error: str, undeclared_call: str | None = None
) -> SandboxResult:
    return SandboxResult(status, None, error, _elapsed_ms(started), undeclared_call)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
