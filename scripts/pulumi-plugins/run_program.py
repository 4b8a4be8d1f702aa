"""Run one Pulumi Python program for `language_host.py`, in the program's own interpreter.

The host writes the run (program, engine and monitor addresses, project, stack, config) as
JSON on stdin, so that decrypted config never appears in a process listing. Exit codes: 0 the
program finished; 32 its error was already reported to the engine (the host answers "bail").
As Pulumi's own `pulumi-language-python-exec` does, the traceback of a program that raises is
cut to the program's frames, and asyncio's complaints about the futures a failed deployment
leaves pending ("Task was destroyed but it is pending!") are silenced.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import runpy
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

BAIL_EXIT_CODE = 32


def main() -> int:
    """Connect the SDK to the engine, then run the program as `__main__`."""
    run: dict[str, Any] = json.load(sys.stdin)
    try:
        import pulumi  # noqa: PLC0415 -- imported from the program's interpreter, after stdin
        from pulumi import runtime  # noqa: PLC0415
        from pulumi.errors import RunError  # noqa: PLC0415
    except ImportError as exc:
        print(
            f"The Pulumi SDK cannot be imported by {sys.executable} ({exc}). Activate the "
            "project's virtualenv before running pulumi (`. .venv/bin/activate`), or install "
            "the project's requirements into this Python (`pulumi install`, or `pip install -r "
            "requirements.txt`), or name the interpreter (Pulumi.yaml's virtualenv option, or "
            "PULUMI_PYTHON_CMD).",
            file=sys.stderr,
        )
        return 1

    runtime.reset_options(
        project=run["project"],
        stack=run["stack"],
        root_directory=run["root_directory"],
        parallel=run["parallel"],
        engine_address=run["engine_address"],
        monitor_address=run["monitor_address"],
        preview=run["dry_run"],
        organization=run["organization"] or "organization",
    )
    runtime.set_all_config(run["config"], run["config_secret_keys"] or None)

    program = run["program"]
    os.chdir(run["pwd"])
    sys.path.insert(0, run["pwd"])
    sys.argv = [program]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    executor = ThreadPoolExecutor(max_workers=max(run["parallel"], 1) * 4)
    loop.set_default_executor(executor)
    # A failed deployment leaves futures unresolved on purpose; asyncio would log each one.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    try:
        loop.run_until_complete(
            runtime.run_in_stack(lambda: runpy.run_path(program, run_name="__main__"))
        )
    except KeyboardInterrupt:
        # The engine interrupts the program when the deployment is cancelled or has failed.
        return BAIL_EXIT_CODE
    except RunError as exc:
        pulumi.log.error(str(exc))
        return BAIL_EXIT_CODE
    except Exception:  # noqa: BLE001 -- every failure of the program is reported the same way
        pulumi.log.error(f"Program failed with an unhandled exception:\n{user_traceback(program)}")
        return BAIL_EXIT_CODE
    finally:
        executor.shutdown(wait=True)
        loop.close()
    return 0


def user_traceback(program: str) -> str:
    """The exception being handled, its traceback cut to start at the program's own frame.

    Frames of this runner, runpy and Pulumi's runtime say nothing to the program's author;
    without a frame of the program (an error before it ran), the whole traceback is kept.
    """
    main = _module_path(program)
    frames = traceback.extract_tb(sys.exc_info()[2])
    for index, frame in enumerate(frames):
        if _module_path(frame.filename) == main:
            return traceback.format_exc(limit=-(len(frames) - index))
    return traceback.format_exc()


def _module_path(path: str) -> str:
    """A program folder stands for its __main__.py; extensions are ignored, as Pulumi does."""
    stem, extension = os.path.splitext(path)  # noqa: PTH122 -- Pulumi's rule, on strings
    if not extension:
        stem = os.path.join(stem, "__main__")  # noqa: PTH118
    return os.path.abspath(stem)  # noqa: PTH100


if __name__ == "__main__":
    sys.exit(main())
