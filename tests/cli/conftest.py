"""Fixtures of the command line's tests."""

from __future__ import annotations

import pytest
from cli_projects import copy_project


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """A copy of the repository's example project, shared by one module's tests."""
    return copy_project(tmp_path_factory.mktemp("example"))
