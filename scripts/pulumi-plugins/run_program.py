"""Run one Pulumi Python program for `language_host.py`, in the program's own interpreter.

The host writes the run (program, engine and monitor addresses, project, stack, config) as
JSON on stdin, so that decrypted config never appears in a process listing. Exit codes: 0 the
program finished; 32 its error was already reported to the engine (the host answers "bail").
"""

from __future__ import annotations

import asyncio
import json
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
            f"The Pulumi SDK cannot be imported by {sys.executable} ({exc}). Install the "
            "project's requirements into this Python (pulumi install, or pip install -r "
            "requirements.txt), or name another interpreter (Pulumi.yaml's virtualenv option, "
            "or PULUMI_PYTHON_CMD).",
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
    loop.set_default_executor(ThreadPoolExecutor(max_workers=max(run["parallel"], 1) * 4))
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
        pulumi.log.error(f"Program failed with an unhandled exception:\n{traceback.format_exc()}")
        return BAIL_EXIT_CODE
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
