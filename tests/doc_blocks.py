"""The runnable shell blocks of README.md and docs/*.md, and how to run a page of them.

A fenced ```sh block directly below the line `<!-- runnable -->` is runnable;
`<!-- runnable: needs-pulumi -->` marks one that needs the Pulumi CLI. A fenced block of any
language directly below `<!-- file: PATH -->` is written to PATH (relative to the session's
folder at that point) when the page runs, so the blocks after it run it: that is how a
program shown in a page is run. A ```python block that is neither has to be marked
`<!-- fragment -->`: a part of a program, shown in a sentence's context. A page's runnable
blocks run in order, in one bash session (`set -euo pipefail`, so every command must
succeed and variables carry from block to block, as in a reader's terminal), from the root
of a copy of the repository (the checkout is never touched), with the virtualenv's `cxone`
first on PATH and a fresh `cxone emulator` listening on 127.0.0.1:8765, started by the
runner as a reader starts it in a second terminal. Blocks that start servers are never
runnable; docs/development.md documents the convention.

Port 8765 is the one the documents name. Where `unshare` can make a private network
namespace, a page runs in one (its own loopback: the port is always free and nothing of it
reaches the machine); elsewhere it runs on the machine's loopback when 8765 is free.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stack_files import strip_stack_init_keys

REPO = Path(__file__).resolve().parents[1]
EMULATOR_PORT = 8765
NEEDS_PULUMI = "needs-pulumi"
TAGS = frozenset({NEEDS_PULUMI})
PAGE_TIMEOUT_S = 420
INSTALL_PULUMI = "scripts/install-pulumi"
_MARKER = re.compile(r"^<!-- runnable(?::\s*(?P<tags>[\w ,-]*))? -->\s*$")
_FILE_MARKER = re.compile(r"^<!-- file: (?P<path>[\w./-]+) -->\s*$")
_FRAGMENT_MARKER = "<!-- fragment -->"
_FENCE = re.compile(r"^```(?P<language>\w+)\s*$")
_FILE_END = "__CXONE_DOC_FILE__"
_COPY_IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".coverage*",
    ".mutation",
    "mutants",
    "*.egg-info",
    "*.sqlite3*",
)
_EMULATOR_READY = f"""
for _ in $(seq 600); do
  if (exec 3<>/dev/tcp/127.0.0.1/{EMULATOR_PORT}) 2>/dev/null; then break; fi
  if ! kill -0 "$__emulator" 2>/dev/null; then cat "$EMULATOR_LOG" >&2; exit 97; fi
  sleep 0.05
done
"""


@dataclass(frozen=True)
class Block:
    """One runnable block: where it is (its first line of code) and what it runs."""

    page: str
    line: int
    code: str
    tags: frozenset[str]
    file: str | None = None
    """Where a `<!-- file: PATH -->` block is written; None for a shell block."""

    @property
    def needs_pulumi(self) -> bool:
        return NEEDS_PULUMI in self.tags

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


class MarkerError(ValueError):
    """A runnable marker that does not mark a ```sh block, or has an unknown tag."""


def pages(repo: Path = REPO) -> list[Path]:
    """README.md, then docs/*.md by name."""
    return [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]


def runnable_blocks(path: Path, repo: Path = REPO) -> list[Block]:
    """The runnable blocks of one page (shell blocks and files to write), in order."""
    page = str(path.relative_to(repo))
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    for index, line in enumerate(lines):
        file_marker = _FILE_MARKER.match(line)
        if file_marker is not None:
            blocks.append(_file_block(page, lines, index, file_marker["path"]))
            continue
        marker = _MARKER.match(line)
        if marker is None:
            continue
        tags = frozenset(tag.strip() for tag in (marker["tags"] or "").split(",") if tag.strip())
        if tags - TAGS:
            msg = f"{page}:{index + 1}: unknown tag(s) {sorted(tags - TAGS)}; known: {sorted(TAGS)}"
            raise MarkerError(msg)
        if index + 1 >= len(lines) or lines[index + 1].strip() != "```sh":
            msg = f"{page}:{index + 1}: a runnable marker must stand directly above a ```sh fence"
            raise MarkerError(msg)
        blocks.append(Block(page, index + 3, _fenced(page, lines, index), tags))
    return blocks


def _fenced(page: str, lines: list[str], marker: int) -> str:
    """The code of the fenced block that opens on the line after the marker."""
    end = next((i for i in range(marker + 2, len(lines)) if lines[i].strip() == "```"), None)
    if end is None:
        msg = f"{page}:{marker + 2}: the fenced block never ends"
        raise MarkerError(msg)
    return "\n".join(lines[marker + 2 : end])


def _file_block(page: str, lines: list[str], index: int, path: str) -> Block:
    """The fenced block below a `<!-- file: PATH -->` marker, to be written to PATH."""
    if index + 1 >= len(lines) or _FENCE.match(lines[index + 1].strip()) is None:
        msg = f"{page}:{index + 1}: a file marker must stand directly above a fenced block"
        raise MarkerError(msg)
    return Block(page, index + 3, _fenced(page, lines, index), frozenset(), path)


def unmarked_python_blocks(path: Path, repo: Path = REPO) -> list[str]:
    """Where a ```python block is neither written to a file nor marked as a fragment."""
    page = str(path.relative_to(repo))
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        f"{page}:{index + 1}"
        for index, line in enumerate(lines)
        if line.strip() == "```python"
        and (
            index == 0
            or (
                _FILE_MARKER.match(lines[index - 1]) is None
                and lines[index - 1].strip() != _FRAGMENT_MARKER
            )
        )
    ]


def _block_code(block: Block) -> str:
    """A shell block as written; a file block as the commands that write its file."""
    if block.file is None:
        return block.code
    target = shlex.quote(block.file)
    return (
        f'mkdir -p "$(dirname {target})"\n'
        f"cat > {target} <<'{_FILE_END}'\n{block.code}\n{_FILE_END}"
    )


def page_script(blocks: list[Block]) -> str:
    """One bash script: each block after a line naming it, so a failure says which block."""
    parts = ["set -euo pipefail"]
    for block in blocks:
        parts += [f"printf '\\n@@ block %s\\n' {shlex.quote(block.where)}", _block_code(block)]
    parts.append("printf '\\n@@ done\\n'")
    return "\n".join(parts) + "\n"


def private_network_available() -> bool:
    """Whether `unshare -rn` gives this user a network namespace with a loopback to bring up."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    trial = subprocess.run(
        ["unshare", "-rn", "ip", "link", "set", "lo", "up"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return trial.returncode == 0


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class PageRun:
    """How a page's blocks ran: the exit code, the output, and the block that was running."""

    exit_code: int
    output: str
    emulator_output: str

    @property
    def last_block(self) -> str:
        started = re.findall(r"^@@ block (\S+)$", self.output, re.MULTILINE)
        return started[-1] if started else "(before the first block)"

    @property
    def finished(self) -> bool:
        return self.exit_code == 0 and self.output.rstrip().endswith("@@ done")

    def report(self) -> str:
        tail = self.output.rsplit(f"@@ block {self.last_block}", 1)[-1]
        return (
            f"block {self.last_block} exited {self.exit_code}; its output:\n{tail[-6000:]}\n"
            f"emulator output:\n{self.emulator_output[-3000:]}"
        )


def run_page(blocks: list[Block], workdir: Path, *, private_network: bool) -> PageRun:
    """Run the blocks from a fresh copy of the repository, against a fresh emulator."""
    copy = workdir / "repo"
    shutil.copytree(REPO, copy, ignore=_COPY_IGNORED)
    strip_stack_init_keys(copy / "stacks")
    home = workdir / "home"
    home.mkdir()
    (workdir / "page.sh").write_text(page_script(blocks), encoding="utf-8")
    emulator_log = workdir / "emulator.log"
    driver = "\n".join(
        [
            "set -uo pipefail",
            "ip link set lo up" if private_network else ":",
            'cxone emulator > "$EMULATOR_LOG" 2>&1 &',
            "__emulator=$!",
            "trap 'kill -TERM $__emulator 2>/dev/null; wait $__emulator 2>/dev/null' EXIT",
            _EMULATOR_READY,
            f"bash {shlex.quote(str(workdir / 'page.sh'))}",
        ]
    )
    command = ["bash", "-c", driver]
    if private_network:
        command = ["unshare", "-rn", *command]
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CXONE_", "PULUMI_", "PYTEST_")) and key != "WEBHOOK_URL"
    }
    backend = workdir / "pulumi-backend"
    backend.mkdir()
    environment |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        # `pulumi login --local` means file://~, which Pulumi takes from the passwd entry,
        # not from HOME: the environment's backend wins over it, so the user's is not touched.
        "PULUMI_HOME": str(home / ".pulumi"),
        "PULUMI_BACKEND_URL": backend.as_uri(),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "EMULATOR_LOG": str(emulator_log),
        "NO_COLOR": "1",
    }
    process = subprocess.Popen(
        command,
        cwd=copy,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=PAGE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        output += f"\n(stopped: the page ran past {PAGE_TIMEOUT_S} s)"
    emulator = emulator_log.read_text(errors="replace") if emulator_log.exists() else ""
    return PageRun(process.returncode, output, emulator)


class PulumiRequiredError(RuntimeError):
    """Blocks need the Pulumi CLI, which is not on PATH, and CXONE_REQUIRE_PULUMI=1 is set."""


def split_for_pulumi(
    blocks: list[Block], *, pulumi_on_path: bool, required: bool
) -> tuple[list[Block], list[Block]]:
    """The blocks to run and the ones skipped for want of the Pulumi CLI."""
    if pulumi_on_path:
        return list(blocks), []
    needing = [block for block in blocks if block.needs_pulumi]
    if needing and required:
        where = ", ".join(block.where for block in needing)
        msg = (
            f"{where} need the Pulumi CLI, which is not on PATH, and CXONE_REQUIRE_PULUMI=1 "
            f"is set; install it with {INSTALL_PULUMI}"
        )
        raise PulumiRequiredError(msg)
    return [block for block in blocks if not block.needs_pulumi], needing
