"""The declarations of chaos tests and benchmarks: N actions in a tree of dependencies.

A module of its own, importing nothing but the package: the benchmarks' Pulumi programs
import it, and a program's start-up is part of what they measure.
"""

from __future__ import annotations

from cxone_provider.deploy.resource import DataActionArgs

SCRIPT = """\
function main(context) {
  const parent = %(parent)s;
  const above = parent ? context.call(parent, context.input) : null;
  return {name: "%(name)s", depth: above ? above.depth + 1 : 0};
}
"""


def action_tree(
    count: int, *, branching: int = 3, prefix: str = "act"
) -> dict[str, DataActionArgs]:
    """`count` actions forming a tree: action i depends on action (i - 1) // branching."""
    declarations: dict[str, DataActionArgs] = {}
    depths: dict[str, int] = {}
    for index in range(count):
        name = f"{prefix}_{index:04d}"
        parent = f"{prefix}_{(index - 1) // branching:04d}" if index else None
        depths[name] = depths[parent] + 1 if parent else 0
        declarations[name] = DataActionArgs(
            name=name,
            script=SCRIPT % {"name": name, "parent": f'"{parent}"' if parent else "null"},
            dependencies=[parent] if parent else [],
            expected_output={"name": name, "depth": depths[name]},
        )
    return declarations
