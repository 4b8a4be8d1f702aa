"""`cxone graph`: Mermaid, DOT, a terminal tree and a PNG, with cycles and unknown names in red."""

from __future__ import annotations

import itertools
import re
import struct
import zlib

import pytest
from cli_projects import (
    ACTIONS,
    CYCLE,
    DIRECT_ROUTER,
    EXAMPLE_EDGES,
    add_cycle,
    add_typo,
    copy_project,
    cxone,
    deploy,
    emulator_env,
    write_program,
)

from cxone_provider.cli.preflight import Edge, GraphPicture, Node, check_graph
from cxone_provider.cli.program import evaluate
from cxone_provider.cli.render import ARROWS, render_text, text_tree
from cxone_provider.cli.render_png import PNG_DPI, png_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RED = "#d93025"


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """The example with a cycle and a typo in a dependency."""
    project = copy_project(tmp_path_factory.mktemp("graph-broken"))
    add_cycle(project)
    add_typo(project)
    return project


def mermaid_ids(text):
    return dict(re.findall(r'^  (n\d+)\["([^"]+)"\]$', text, re.MULTILINE))


def test_mermaid_of_the_example_has_one_node_per_action_and_one_arrow_per_dependency(example):
    """Only the flowchart goes to stdout; exit 0."""
    ran = cxone("graph", example)
    assert ran.exit_code == 0
    assert ran.stdout.splitlines()[0] == f"%% cxone graph: {ARROWS}"
    assert "\nflowchart LR\n" in ran.stdout
    ids = mermaid_ids(ran.stdout)
    assert sorted(ids.values()) == sorted(ACTIONS)
    arrows = {
        (ids[source], ids[target])
        for source, target in re.findall(r"^  (n\d+) --> (n\d+)$", ran.stdout, re.MULTILINE)
    }
    assert arrows == EXAMPLE_EDGES
    assert "linkStyle" not in ran.stdout
    assert f"class {','.join(sorted(ids, key=lambda i: int(i[1:])))} declared" in ran.stdout


def test_mermaid_marks_the_cycle_and_the_unknown_dependency_in_red(broken):
    """Cycle nodes get class `cycle`, the unknown name class `unknown`, their arrows red; exit 1."""
    ran = cxone("graph", broken)
    assert ran.exit_code == 1
    ids = mermaid_ids(ran.stdout)
    by_name = {label: node for node, label in ids.items()}
    cycle_names = CYCLE.split(" -> ")[:-1]
    cycle_class = re.search(r"^  class (\S+) cycle$", ran.stdout, re.MULTILINE)
    assert cycle_class is not None
    assert set(cycle_class[1].split(",")) == {by_name[name] for name in cycle_names}
    assert f"  class {by_name['busines_hours (unknown)']} unknown" in ran.stdout
    arrows = re.findall(r"^  (n\d+) --> (n\d+)$", ran.stdout, re.MULTILINE)
    red = re.search(r"^  linkStyle (\S+) stroke:#d93025", ran.stdout, re.MULTILINE)
    assert red is not None
    red_arrows = {
        (ids[arrows[int(index)][0]], ids[arrows[int(index)][1]]) for index in red[1].split(",")
    }
    cycle_edges = set(zip(cycle_names, [*cycle_names[1:], cycle_names[0]], strict=True))
    assert red_arrows == cycle_edges | {("route_decision", "busines_hours (unknown)")}
    assert f"dependency cycle {CYCLE}" in ran.stderr
    assert "'busines_hours' is neither declared" in ran.stderr


def test_dot_marks_the_cycle_and_the_unknown_dependency_in_red(broken, tmp_path):
    """DOT to a file: red, thick arrows on the cycle; the unknown node dashed and red."""
    out = tmp_path / "graph.dot"
    ran = cxone("graph", broken, "--format", "dot", "--out", out)
    assert ran.exit_code == 1
    assert ran.stdout == ""
    assert f"Wrote the dot graph (8 boxes, 8 arrows) to {out}" in ran.stderr
    dot = out.read_text()
    assert dot.splitlines()[1] == 'digraph "cxone" {'
    assert dot.rstrip().endswith("}")
    red_edges = set(re.findall(rf'"(\w+)" -> "(\w+)" \[color="{RED}", penwidth=2.5\]', dot))
    cycle_names = CYCLE.split(" -> ")
    assert red_edges == set(itertools.pairwise(cycle_names)) | {("route_decision", "busines_hours")}
    assert re.search(
        r'"busines_hours" \[label="busines_hours \(unknown\)", .*style="rounded,filled,dashed"', dot
    )
    assert '"crm_match_key" -> "normalize_email";' in dot


def test_the_text_tree_shows_what_each_action_needs(example):
    """--format text: the actions nothing needs at the top, their dependencies below."""
    ran = cxone("graph", example, "--format", "text")
    assert ran.exit_code == 0
    assert ran.stdout.splitlines() == [
        "cxone-actions: 7 actions",
        "├── crm_match_key",
        "│   ├── normalize_email",
        "│   └── normalize_phone",
        "└── route_decision",
        "    ├── lead_score",
        "    │   └── base_enrichment",
        "    │       ├── normalize_phone",
        "    │       └── normalize_email",
        "    └── business_hours",
    ]


def test_the_json_answer_carries_the_drawing_and_the_graph(broken):
    """--json: the Mermaid text, nodes with their kind, edges, cycles and problems."""
    ran = cxone("graph", broken, "--json")
    assert ran.exit_code == 1
    answer = ran.json
    assert (answer["command"], answer["format"], answer["ok"]) == ("graph", "mermaid", False)
    assert answer["content"].splitlines()[0] == f"%% cxone graph: {ARROWS}"
    kinds = {node["name"]: node["kind"] for node in answer["graph"]["nodes"]}
    assert kinds["busines_hours"] == "unknown"
    assert kinds["lead_score"] == "declared"
    assert answer["graph"]["cycles"] == [CYCLE.split(" -> ")]
    unknown = [edge for edge in answer["graph"]["edges"] if edge["unknown"]]
    assert [(edge["from"], edge["to"]) for edge in unknown] == [("route_decision", "busines_hours")]
    assert len(answer["problems"]) == 2


def png_size(data):
    """Width and height from the IHDR chunk, after checking the signature and its CRC."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    header = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    assert crc == zlib.crc32(b"IHDR" + header)
    width, height = struct.unpack(">II", header[:8])
    assert data.endswith(b"IEND\xaeB`\x82")
    return width, height


def test_the_png_is_a_valid_picture_with_one_box_per_action(example, tmp_path):
    """A real PNG (signature, IHDR, IEND) of the figure's size, drawn with one box per action."""
    out = tmp_path / "graph.png"
    ran = cxone("graph", example, "--format", "png", "--out", out)
    assert ran.exit_code == 0
    declarations = evaluate(example)
    _, picture = check_graph(declarations)
    figure = png_figure(picture, "cxone-actions: 7 actions")
    boxes = [text for text in figure.axes[0].texts if (text.get_gid() or "").startswith("node:")]
    assert sorted(box.get_text() for box in boxes) == sorted(ACTIONS)
    arrows = {
        tuple(patch.get_gid().removeprefix("edge:").split("->"))
        for patch in figure.axes[0].texts
        if (patch.get_gid() or "").startswith("edge:")
    }
    assert arrows == EXAMPLE_EDGES
    width_in, height_in = figure.get_size_inches()
    assert png_size(out.read_bytes()) == (round(width_in * PNG_DPI), round(height_in * PNG_DPI))


def test_the_png_draws_the_cycle_and_the_unknown_name_in_red(broken):
    """Cycle boxes have red borders; the unknown name is a dashed red box; its arrow is red."""
    _, picture = check_graph(evaluate(broken))
    figure = png_figure(picture, "broken")
    boxes = {
        text.get_gid().removeprefix("node:"): text.get_bbox_patch()
        for text in figure.axes[0].texts
        if (text.get_gid() or "").startswith("node:")
    }
    assert len(boxes) == len(ACTIONS) + 1
    red = (217 / 255, 48 / 255, 37 / 255, 1.0)
    for name in CYCLE.split(" -> "):
        assert boxes[name].get_edgecolor() == pytest.approx(red)
    assert boxes["busines_hours"].get_edgecolor() == pytest.approx(red)
    assert boxes["busines_hours"].get_linestyle() == "--"
    assert boxes["crm_match_key"].get_edgecolor() != pytest.approx(red)


def test_a_png_needs_a_file(example):
    """--format png without --out is a usage error: exit 2."""
    ran = cxone("graph", example, "--format", "png")
    assert ran.exit_code == 2
    assert "--out" in ran.stderr


def test_tenant_draws_the_unmanaged_actions_in_grey(tmp_path, emulator):
    """--tenant: the tenant's own actions join the drawing as grey `tenant` boxes."""
    deploy(emulator, ("crm_lookup", []), ("crm_sync", ["crm_lookup"]))
    program = write_program(tmp_path / "program", DIRECT_ROUTER)
    offline = cxone("graph", program)
    assert offline.exit_code == 1
    assert "crm_lookup (unknown)" in mermaid_ids(offline.stdout).values()
    ran = cxone("graph", program, "--tenant", env=emulator_env(emulator))
    assert ran.exit_code == 0, ran.stderr
    ids = {label: node for node, label in mermaid_ids(ran.stdout).items()}
    assert set(ids) == {"lead_router", "crm_lookup (tenant)", "crm_sync (tenant)"}
    tenant_class = f"  class {ids['crm_lookup (tenant)']},{ids['crm_sync (tenant)']} tenant"
    assert tenant_class in ran.stdout.splitlines()
    as_json = cxone("graph", program, "--tenant", "--json", env=emulator_env(emulator))
    assert as_json.json["tenant"] == {"base_url": emulator.base_url}
    edges = {(edge["from"], edge["to"]) for edge in as_json.json["graph"]["edges"]}
    assert edges == {("lead_router", "crm_lookup"), ("crm_sync", "crm_lookup")}


def test_the_text_tree_of_a_chain_of_3000_actions_is_drawn():
    """Issue 11, case 8: the tree is built without recursion, however long the chain."""
    names = [f"step_{index}" for index in range(3000)]
    picture = GraphPicture(
        tuple(Node(name, "declared") for name in names),
        tuple(Edge(a, b, ("dependency",)) for a, b in itertools.pairwise(names)),
    )
    drawing = render_text(picture, "chain")
    assert drawing.index("step_0") < drawing.index("step_1") < drawing.index("step_2")
    branch, depth = text_tree(picture, "chain"), 0
    while branch.children:
        (branch,) = branch.children
        depth += 1
    assert (depth, str(branch.label)) == (3000, "step_2999")
