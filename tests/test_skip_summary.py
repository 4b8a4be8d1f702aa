"""A run that skips tests ends with one line saying how many were skipped and why (issue 21)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from skips import skip_summary

TESTS = Path(__file__).resolve().parent


def test_the_reasons_are_counted_the_commonest_first():
    """Three kinds of reasons beyond the shown ones are folded into one count."""
    reasons = ["no pulumi"] * 25 + ["port in use"] * 2 + ["a", "b", "c"]
    assert skip_summary(reasons) == (
        "30 tests skipped: 25 because no pulumi; 2 because port in use; 1 because a; "
        "2 for other reasons (pytest -rs lists them)"
    )
    assert skip_summary([]) is None


def test_a_run_with_skips_ends_with_the_one_line_account(tmp_path):
    """The conftest's hook, in a run of its own: the last line counts the skips and says why."""
    (tmp_path / "conftest.py").write_text("from skips import pytest_unconfigure\n")
    (tmp_path / "test_some.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.parametrize('n', range(3))\n"
        "def test_needs_pulumi(n):\n    pytest.skip('the Pulumi CLI is not on PATH')\n\n"
        "def test_runs():\n    pass\n"
    )
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout
    last = completed.stdout.strip().splitlines()[-1]
    assert last == "3 tests skipped: 3 because the Pulumi CLI is not on PATH", completed.stdout
