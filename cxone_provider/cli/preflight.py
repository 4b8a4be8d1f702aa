"""The pre-flight check of a program's declarations: every problem at once, none checked twice.

The rules are not here. Each action goes through the provider's own `check`
(`provider.input_problems`, behind `check_inputs`: names, sizes, V8's syntax check, test
values), the same that `pulumi preview` runs; all actions together go through the graph validator
(`graph.validate_graph`: duplicates, unknown dependencies, cycles, contradictory
`depends_on`), the same that `ActionCatalog.register` runs. This module collects their
answers as `Finding`s that point where a person can look (a script's file, line and
column), and builds the `GraphPicture` that `cxone graph` draws, with the cycles and the
unknown dependencies marked.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal

from cxone_provider.api.errors import DependencyCycleError, DependencyGraphError, Problem
from cxone_provider.cli.program import Declarations, DeclaredAction, ProgramFailure
from cxone_provider.cli.project import StackConfig, shown_path
from cxone_provider.deploy.check import input_problems
from cxone_provider.deploy.config import plaintext_secrets, setting_problems
from cxone_provider.deploy.graph import ValidatedGraph, validate_graph

__all__ = [
    "Edge",
    "Finding",
    "GraphPicture",
    "Node",
    "Report",
    "check_graph",
    "check_settings",
    "preflight",
    "with_program_failure",
]

FindingKind = Literal["action", "graph", "program", "config"]
NodeKind = Literal["declared", "tenant", "unknown"]
DEPENDENCY: Final = "dependency"
DEPENDS_ON: Final = "depends_on"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, where it is: an action's property (and a script's line), or the program."""

    kind: FindingKind
    message: str
    action: str | None = None
    field: str | None = None
    file: Path | None = None
    line: int | None = None
    column: int | None = None

    def where(self, base: Path | None = None) -> str:
        """`file:line:column` when the problem is in a file, else the action's property.

        A script given as source (`open(...).read()`, a string) has no file: its line and
        column follow the property, as `check` gives them in `pulumi preview`.
        """
        if self.file is not None:
            location = shown_path(self.file, base)
            if self.line is not None:
                location += f":{self.line}"
                if self.column is not None:
                    location += f":{self.column}"
            return location
        subject = ".".join(part for part in (self.action, self.field) if part) or self.kind
        if self.line is not None:
            column = f", column {self.column}" if self.column is not None else ""
            subject += f" (line {self.line}{column})"
        return subject

    def to_json(self, base: Path | None = None) -> dict[str, Any]:
        """The finding in the documented `--json` shape."""
        return {
            "kind": self.kind,
            "action": self.action,
            "field": self.field,
            "message": self.message,
            "file": shown_path(self.file, base) if self.file is not None else None,
            "line": self.line,
            "column": self.column,
        }


@dataclass(frozen=True, slots=True)
class Node:
    """An action in the picture: declared by the program, on the tenant only, or unknown."""

    name: str
    kind: NodeKind
    in_cycle: bool = False


@dataclass(frozen=True, slots=True)
class Edge:
    """`source` needs `target`: it calls it (dependency) and/or must follow it (depends_on)."""

    source: str
    target: str
    kinds: tuple[str, ...]
    in_cycle: bool = False
    to_unknown: bool = False
    """`target` is neither declared nor on the tenant."""

    @property
    def ordering_only(self) -> bool:
        """A hand-written depends_on, not a call."""
        return DEPENDENCY not in self.kinds

    @property
    def is_problem(self) -> bool:
        """Drawn in red: part of a cycle, or needing a name that exists nowhere."""
        return self.in_cycle or self.to_unknown


@dataclass(frozen=True)
class GraphPicture:
    """What `cxone graph` draws: every action and edge, with cycles and unknown names marked."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    cycles: tuple[tuple[str, ...], ...] = ()
    order: tuple[str, ...] | None = None
    """The creation order of the declared actions (dependencies first); None when invalid."""

    def node(self, name: str) -> Node:
        """The node of that name."""
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, Node]:
        return {node.name: node for node in self.nodes}

    @property
    def unknown(self) -> tuple[str, ...]:
        """Names depended on that are neither declared nor on the tenant."""
        return tuple(node.name for node in self.nodes if node.kind == "unknown")

    @property
    def has_problems(self) -> bool:
        """Whether the drawing shows a cycle or an unknown dependency."""
        return bool(self.cycles or self.unknown)

    def to_json(self) -> dict[str, Any]:
        """The picture in the documented `--json` shape."""
        return {
            "nodes": [
                {"name": node.name, "kind": node.kind, "in_cycle": node.in_cycle}
                for node in self.nodes
            ],
            "edges": [
                {
                    "from": edge.source,
                    "to": edge.target,
                    "kinds": list(edge.kinds),
                    "in_cycle": edge.in_cycle,
                    "unknown": edge.to_unknown,
                }
                for edge in self.edges
            ],
            "cycles": [list(cycle) for cycle in self.cycles],
            "order": list(self.order) if self.order is not None else None,
        }


@dataclass(frozen=True)
class Report:
    """Every problem of a program's declarations, and the picture of its graph."""

    declarations: Declarations
    findings: tuple[Finding, ...]
    picture: GraphPicture
    tenant_actions: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No problem at all."""
        return not self.findings


def preflight(
    declarations: Declarations,
    *,
    tenant_actions: Mapping[str, Sequence[str]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Report:
    """Check everything a program declared: the program's run, each action, the whole graph.

    Also the stack's `cxone:` settings, as the provider will read them (the config, then
    `environ`): unknown keys and malformed values; missing credentials are no problem here.
    `tenant_actions` (name to dependencies) are the actions read from the tenant; declared
    actions may depend on them, and cycles through them are found (see `check_graph`).
    """
    findings = check_settings(declarations.stack, environ or {}, declarations.project.root)
    findings += [finding for action in declarations.actions for finding in check_action(action)]
    graph_findings, picture = check_graph(declarations, tenant_actions=tenant_actions)
    findings += graph_findings
    findings = with_program_failure(declarations, findings)
    return Report(declarations, tuple(findings), picture, dict(tenant_actions or {}))


def with_program_failure(declarations: Declarations, findings: Sequence[Finding]) -> list[Finding]:
    """The findings, led by the program's own failure when it raised.

    A catalog's own check that failed the program is already among the findings, problem
    by problem, so it is not repeated; any other exception is a problem of its own, since
    the declarations after it are missing.
    """
    failure = declarations.failure
    if failure is None or (failure.repeats_a_check and findings):
        return list(findings)
    return [_program_finding(failure), *findings]


def _program_finding(failure: ProgramFailure) -> Finding:
    message = f"the program raised {failure.exception}: {failure.message}"
    if failure.location is None and failure.output.strip():
        message += f"\n{failure.output.strip()}"
    location = failure.location
    return Finding(
        "program",
        message,
        file=Path(location.file) if location else None,
        line=location.line if location else None,
        column=location.column if location else None,
    )


def check_settings(stack: StackConfig, environ: Mapping[str, str], root: Path) -> list[Finding]:
    """The provider's settings problems that can be found offline, at their line in the file.

    Also the stack's values that look secret but are in plain text (they reach the state).
    `root` is the project's root, where the provider resolves relative paths from.
    """
    return [
        Finding(
            "config",
            problem.message,
            field=problem.key,
            file=stack.file if problem.key in stack.lines else None,
            line=stack.lines.get(problem.key),
        )
        for problem in [
            *setting_problems(stack.values, environ, root=root, keys=stack.keys),
            *plaintext_secrets(stack.values),
        ]
    ]


def check_action(action: DeclaredAction) -> list[Finding]:
    """The provider's check of one action's inputs; a script's problem points into its file."""
    problems = [*action.problems, *input_problems(action.inputs)[1]]
    return [
        Finding(
            "action",
            problem.message,
            action=action.name,
            field=problem.field,
            file=action.script_file if problem.field == "script" else None,
            line=problem.line,
            column=problem.column,
        )
        for problem in problems
    ]


def check_graph(
    declarations: Declarations, *, tenant_actions: Mapping[str, Sequence[str]] | None = None
) -> tuple[list[Finding], GraphPicture]:
    """The graph validator on all declared actions together, and the picture of the graph.

    The unmanaged actions are the ones read from the tenant when given (then a name the
    program includes but the tenant lacks is an unknown dependency), else the ones the
    program includes itself (`ActionCatalog.include_tenant_actions`).
    """
    tenant = (
        {name: tuple(dependencies) for name, dependencies in tenant_actions.items()}
        if tenant_actions is not None
        else dict(declarations.tenant_actions)
    )
    graph_declarations = [action.declaration for action in declarations.actions]
    findings: list[Finding] = []
    cycles: list[list[str]] = []
    validated: ValidatedGraph | None = None
    try:
        validated = validate_graph(graph_declarations, tenant_actions=tenant)
    except DependencyGraphError as exc:
        names = set(declarations.names()) | set(tenant)
        findings = [_graph_finding(problem, names) for problem in exc.problems]
        if isinstance(exc, DependencyCycleError):
            cycles = exc.cycles
    picture = _picture(declarations, tenant, cycles, validated)
    return findings, picture


def _graph_finding(problem: Problem, names: set[str]) -> Finding:
    head, _, rest = problem.field.partition(".")
    if head in names:
        return Finding("graph", problem.message, action=head, field=rest or None)
    return Finding("graph", problem.message, field=problem.field)


def _picture(
    declarations: Declarations,
    tenant: Mapping[str, Sequence[str]],
    cycles: Sequence[Sequence[str]],
    validated: ValidatedGraph | None,
) -> GraphPicture:
    declared = dict.fromkeys(declarations.names())  # ordered, and quick to look up
    kinds: dict[tuple[str, str], set[str]] = {}
    for action in declarations.actions:
        for kind, targets in (
            (DEPENDENCY, action.declaration.dependencies),
            (DEPENDS_ON, action.declaration.depends_on),
        ):
            for target in _names(targets):
                kinds.setdefault((action.name, target), set()).add(kind)
    for name, dependencies in tenant.items():
        if name not in declared:
            for target in _names(dependencies):
                kinds.setdefault((name, target), set()).add(DEPENDENCY)
    known = dict.fromkeys([*declared, *tenant])
    unknown_names = dict.fromkeys(target for _, target in kinds if target not in known)
    cycle_edges = {edge for cycle in cycles for edge in itertools.pairwise(cycle)}
    cycle_nodes = {name for cycle in cycles for name in cycle}
    nodes = [
        Node(name, "declared" if name in declared else "tenant", name in cycle_nodes)
        for name in known
    ]
    nodes += [Node(name, "unknown") for name in unknown_names]
    edges = [
        Edge(
            source,
            target,
            tuple(k for k in (DEPENDENCY, DEPENDS_ON) if k in found),
            in_cycle=(source, target) in cycle_edges,
            to_unknown=target in unknown_names,
        )
        for (source, target), found in kinds.items()
    ]
    return GraphPicture(
        tuple(nodes),
        tuple(edges),
        tuple(tuple(cycle) for cycle in cycles),
        validated.order if validated is not None else None,
    )


def _names(listed: Iterable[Any] | str) -> list[str]:
    """The names in a dependencies or depends_on list; malformed ones are the graph's to report."""
    if isinstance(listed, str):
        return []
    return [name for name in dict.fromkeys(listed) if isinstance(name, str)]
