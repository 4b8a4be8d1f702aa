"""`pulumi up --parallel N` runs N DataAction steps at once with the real engine (issue 19).

The SDK's provider server has four threads; the provider widens its pool, so the engine's
`--parallel` is what bounds the calls in flight, above four and below.
"""

from __future__ import annotations

import pytest
from emulator_process import API_ACTIONS
from pulumi_cli import PulumiProject, pulumi_cli

pytestmark = pytest.mark.engine

ACTIONS = 12
API_ACTION = API_ACTIONS + "/{id}"
PROGRAM = f"""\
from cxone_provider import DataAction, DataActionArgs

for index in range({ACTIONS}):
    name = f"parallel_{{index:02d}}"
    DataAction(name, DataActionArgs(name=name, script="function main(context) {{ return 1; }}"))
"""


def test_parallel_bounds_the_calls_in_flight_below_four_and_above(emulator, tmp_path):
    """--parallel 2: never more than two requests at once; --parallel 16: twelve deletes held."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: parallel\nruntime: python\n", encoding="utf-8")
    (root / "__main__.py").write_text(PROGRAM, encoding="utf-8")
    project = PulumiProject(root, tmp_path / "state", pulumi=pulumi_cli())
    project.run("stack", "init", "local")
    project.set_config({"cxone:baseUrl": emulator.base_url, "cxone:clientId": emulator.client_id})
    project.set_config({"cxone:clientSecret": emulator.client_secret}, secret=True)

    project.up("--parallel", "2")
    stats = emulator.stats()
    assert stats["actions"] == ACTIONS
    assert stats["peak_requests_in_flight"] <= 2

    emulator.add_fault("DELETE", API_ACTION, count=ACTIONS, hold_ms=60_000)
    running = project.start("destroy", "--yes", "--skip-preview", "--parallel", "16")
    emulator.wait_until(lambda stats: stats["requests_held"] == ACTIONS, timeout_s=120)
    emulator.clear_faults()
    output, _ = running.communicate(timeout=120)
    assert running.returncode == 0, output
    assert emulator.stats()["actions"] == 0
    assert "cannot raise" not in output
