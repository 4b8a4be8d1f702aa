"""The sandbox's worker process: runs test runs in fresh V8 isolates under an OS memory limit.

`sandbox.run_action` starts this module as `python -m cxone_provider.emulator.sandbox_worker IN OUT`
and talks to it over two pipes (file descriptors IN and OUT), one JSON line per job and per
answer. The process is where a hostile script's memory ends: before each run it lowers its
own RLIMIT_DATA to what it uses at rest plus the run's budget, which bounds the V8 heap and
what lives outside it (ArrayBuffer backing stores, large strings); V8 either throws a
RangeError or ends the process, and the parent reports the limit either way. The parent
keeps the process between runs, each run in an isolate nothing has run in before.

The harness takes every built-in it relies on before any script runs and answers with one
string it builds itself ("S" + the output's JSON, or "F" + the error's JSON): what a script
does to `JSON`, `Object`, `Array.prototype` and the like changes neither the verdict nor
which names `context.call` accepts.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from py_mini_racer import JSEvalException, JSOOMException, JSTimeoutException, MiniRacer

from cxone_provider.api.javascript import settle_cancelled_run

MAX_OUTPUT_BYTES: Final = 1024 * 1024
MAX_OUTPUT_DEPTH: Final = 128
MAX_ERROR_CHARS: Final = 4096
# RLIMIT_DATA above the resting process per byte of the run's memory limit: the V8 heap
# (its limit is the run's limit) and, beside it, ArrayBuffers and V8's own working memory.
DATA_BUDGET_FACTOR: Final = 2
READY: Final = "ready"

# The loader is a sloppy-mode global function: a direct eval there gives each script its own
# function scope that sees only globals, as if it were alone in the engine, and `;main`
# (after a newline, so that a trailing line comment cannot swallow it) yields its main.
# The harness takes it and deletes the global before any script runs, with mini-racer's
# timers (a test run is synchronous, with no clock beyond Date) and WebAssembly. Everything
# else the harness calls is taken from the fresh engine first, and the answer is a string
# it builds.
_HARNESS: Final = r"""
globalThis.__cxoneLoad = function (__cxoneSource) { return eval(__cxoneSource + "\n;main"); };
(function (rootSource, rootDeclared, unitList, inputJson, maxOutputChars, maxErrorChars) {
  "use strict";
  const load = globalThis.__cxoneLoad;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const freeze = Object.freeze;
  const createObject = Object.create;
  const toText = String;
  const apply = Reflect.apply;
  const sliceText = String.prototype.slice;
  const ErrorType = Error;
  for (const name of ["__cxoneLoad", "setTimeout", "clearTimeout", "__timer_manager",
                      "WebAssembly"]) {
    if (!Reflect.deleteProperty(globalThis, name)) { globalThis[name] = undefined; }
  }
  const lookup = (names) => {
    const table = createObject(null);
    for (let index = 0; index < names.length; index += 1) { table[names[index]] = true; }
    return table;
  };
  const units = createObject(null);
  for (let index = 0; index < unitList.length; index += 1) {
    const unit = unitList[index];
    units[unit[0]] = freeze({ content: unit[1], declared: lookup(unit[2]) });
  }
  const mains = createObject(null);
  const copy = (value) => {
    const text = stringify(value);
    return text === undefined ? null : parse(text);
  };
  const shorten = (text) => text.length <= maxErrorChars ? text :
    apply(sliceText, text, [0, maxErrorChars]) + "…";
  const ownErrors = new WeakMap();
  const recordError = WeakMap.prototype.set;
  const recallError = WeakMap.prototype.get;
  const harnessError = (message) => {
    const error = new ErrorType(message);
    apply(recordError, ownErrors, [error, message]);
    return error;
  };
  const describe = (error) => {
    try {
      const own = apply(recallError, ownErrors, [error]);
      if (own !== undefined) { return `Error: ${own}`; }
      const text = error instanceof ErrorType ? `${error.name}: ${error.message}` : toText(error);
      return typeof text === "string" ? shorten(text) :
        "the script threw a value that cannot be shown";
    } catch (_) {
      return "the script threw a value that cannot be shown";
    }
  };
  let undeclaredCall = null;
  const fail = (message) => "F" + stringify({ error: message, undeclaredCall: undeclaredCall });
  const mainOf = (owner, source) => {
    const main = load(source);
    if (typeof main !== "function") {
      throw harnessError(`${owner} does not define a function main(context)`);
    }
    return main;
  };
  const contextFor = (owner, declared, input) => freeze({
    input: input,
    call: function (name, callInput) {
      if (typeof name !== "string" || declared[name] !== true) {
        if (owner === "this action" && undeclaredCall === null && typeof name === "string") {
          undeclaredCall = name;
        }
        throw harnessError(`context.call(${stringify(toText(name))}): not a dependency of ` +
          `${owner}; only names listed in its dependencies can be called`);
      }
      const unit = units[name];
      if (unit === undefined) {
        throw harnessError(`context.call(${stringify(name)}): the dependency does not exist`);
      }
      const label = `dependency ${stringify(name)}`;
      if (mains[name] === undefined) { mains[name] = mainOf(label, unit.content); }
      return copy(mains[name](contextFor(label, unit.declared, copy(callInput))));
    },
  });
  const declared = lookup(rootDeclared);
  const input = parse(inputJson);
  let output;
  try {
    output = mainOf("the script", rootSource)(contextFor("this action", declared, input));
    if (output !== null && typeof output === "object" && typeof output.then === "function") {
      return fail("main(context) returned a Promise; the sandbox runs main synchronously, " +
        "so return the value itself");
    }
  } catch (error) {
    return fail(describe(error));
  }
  let text;
  try {
    text = stringify(output === undefined ? null : output);
  } catch (error) {
    return fail("the result of main(context) is not JSON: " + describe(error));
  }
  if (typeof text !== "string") {
    return fail(`main(context) returned a ${typeof output}, which is not JSON; return a ` +
      "JSON value (object, array, string, number, boolean or null)");
  }
  if (text.length > maxOutputChars) {
    return fail(`the output is ${text.length} characters of JSON; the limit is ` +
      `${maxOutputChars} bytes`);
  }
  return "S" + text;
})
"""


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """One test run in a fresh isolate: the verdict as {status, output, error}."""
    timeout_s: float = job["timeout_s"]
    max_memory: int = job["max_memory_bytes"]
    arguments = ", ".join(
        json.dumps(value)
        for value in (
            job["script"],
            job["declared"],
            job["units"],
            job["input_json"],
            MAX_OUTPUT_BYTES,
            MAX_ERROR_CHARS,
        )
    )
    program = f"{_HARNESS}({arguments});"
    with MiniRacer() as engine:
        try:
            answer = engine.eval(program, timeout_sec=timeout_s, max_memory=max_memory)
        except JSTimeoutException:
            settle_cancelled_run(engine)
            message = (
                f"the run exceeded the time limit of {timeout_s:g} s; look for an endless "
                "loop or too much work in main(context)"
            )
            return _answer("TIMEOUT", error=message)
        except JSOOMException:
            return _answer("FAILURE", error=memory_limit_message(max_memory), retire=True)
        except JSEvalException as exc:
            return _answer("FAILURE", error=str(exc).strip().split("\n", 1)[0])
    return _verdict(str(answer), max_memory)


def memory_limit_message(max_memory: int) -> str:
    """What a run that ran out of memory is told."""
    return f"the run exceeded the memory limit of {max_memory // (1024 * 1024)} MiB"


def _verdict(answer: str, max_memory: int) -> dict[str, Any]:
    """The harness's "S"/"F" answer as a verdict; an output must be UTF-8-able, small, shallow."""
    kind, text = answer[:1], answer[1:]
    if kind == "F":
        failed = json.loads(text)
        message: str = failed["error"]
        if "Array buffer allocation failed" in message:
            message = f"{memory_limit_message(max_memory)} ({message})"
            return _answer("FAILURE", error=showable(message), retire=True)
        return _answer("FAILURE", error=showable(message), undeclared_call=failed["undeclaredCall"])
    if len(text.encode("utf-8")) > MAX_OUTPUT_BYTES:
        return _answer(
            "FAILURE",
            error=f"the output's JSON is larger than the limit of {MAX_OUTPUT_BYTES} bytes",
        )
    try:
        output = json.loads(text)
    except RecursionError:
        output, depth = None, MAX_OUTPUT_DEPTH + 1
    else:
        depth = nesting_depth(output)
    if depth > MAX_OUTPUT_DEPTH:
        return _answer(
            "FAILURE",
            error=f"the output nests arrays and objects deeper than {MAX_OUTPUT_DEPTH} levels; "
            "return a flatter value",
        )
    try:
        json.dumps(output, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return _answer(
            "FAILURE",
            error=f"the output holds a lone UTF-16 surrogate ({showable(exc.object[exc.start])}),"
            " which is not Unicode text and cannot be sent as JSON; return well-formed strings",
        )
    return _answer("SUCCESS", output=output)


def nesting_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a JSON value (a scalar is 0), without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            pending.extend((child, depth + 1) for child in item)
    return deepest


def showable(text: str) -> str:
    r"""Text with lone surrogates written as `\udXXX`, so it can be encoded as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _answer(
    status: str,
    *,
    output: Any = None,
    error: str | None = None,
    retire: bool = False,
    undeclared_call: str | None = None,
) -> dict[str, Any]:
    """An answer to the parent; `retire` asks it to end this process (it hit its limit)."""
    return {
        "status": status,
        "output": output,
        "error": error,
        "retire": retire,
        "undeclared_call": undeclared_call,
    }


def _data_bytes() -> int:
    """The data segment of this process (VmData), which RLIMIT_DATA limits."""
    status = Path("/proc/self/status").read_text(encoding="ascii")
    match = re.search(r"^VmData:\s+(\d+) kB", status, re.MULTILINE)
    return int(match[1]) * 1024 if match else 0


def serve(jobs_fd: int, answers_fd: int) -> None:
    """Answer jobs until the parent closes the pipe; the limit applies from the first job on."""
    with MiniRacer() as engine:  # V8's process-wide set-up, before the resting size is taken
        engine.eval("0")
    resting = _data_bytes()
    with os.fdopen(jobs_fd, encoding="ascii") as jobs, os.fdopen(answers_fd, "w") as answers:
        answers.write(READY + "\n")
        answers.flush()
        for line in jobs:
            job = json.loads(line)
            limit = resting + DATA_BUDGET_FACTOR * job["max_memory_bytes"]
            resource.setrlimit(resource.RLIMIT_DATA, (limit, resource.RLIM_INFINITY))
            started = time.perf_counter()
            try:
                answer = run_job(job)
            except MemoryError:
                message = memory_limit_message(job["max_memory_bytes"])
                answer = _answer("FAILURE", error=message, retire=True)
            answer["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
            answers.write(json.dumps(answer) + "\n")
            answers.flush()


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m cxone_provider.emulator.sandbox_worker JOBS_FD ANSWERS_FD`."""
    jobs_fd, answers_fd = (int(arg) for arg in (argv or sys.argv[1:]))
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):
        serve(jobs_fd, answers_fd)


if __name__ == "__main__":
    main()
