"""The Data Action dependency graph: built with networkx, checked whole, ordered dependencies first.

Pure: no Pulumi, no network. `validate_graph` takes what a program declares (and, when the
program asks for them, the tenant's existing unmanaged actions), reports every problem at
once in one `DependencyGraphError` (a `DependencyCycleError` when there is a cycle), and
returns the order in which the declared actions must be created. networkx's exceptions
never leave this module.

Edges point from an action to what it needs (`lead_score -> normalize_phone`), so a path
reads as "depends on"; creation order is the reverse of that, dependencies first.
"""

from __future__ import annotations

import difflib
import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import networkx as nx

from cxone_provider.api.errors import (
    DependencyCycleError,
    DependencyGraphError,
    Problem,
    shown_names,
)

MAX_CYCLES_PER_COMPONENT: Final = 5
"""Cycles listed per strongly connected component; enumerating all of them can explode."""

_SUGGESTION_CUTOFF: Final = 0.75
_DEPENDENCY: Final = "dependency"
_DEPENDS_ON: Final = "depends_on"
_DEPENDENCY_ONLY: Final = frozenset({_DEPENDENCY})


@dataclass(frozen=True, slots=True)
class Declaration:
    """What the graph needs to know of one declared action.

    `dependencies` are the actions its script calls (sent to the API); `depends_on` names
    declared actions it must merely be created after (hand-written ordering, not sent).
    """

    name: str
    dependencies: Sequence[str] = ()
    depends_on: Sequence[str] = ()


@dataclass(frozen=True)
class ValidatedGraph:
    """A graph that passed every check, with the order to create its declared actions in."""

    graph: nx.DiGraph
    """Declared and tenant actions; node attribute `managed` is True for declared ones; edge
    attribute `kinds` is a frozenset of "dependency" and/or "depends_on"."""
    order: tuple[str, ...]
    """The declared actions, dependencies first; ties keep declaration order."""

    @cached_property
    def _rank(self) -> dict[str, int]:
        return {name: index for index, name in enumerate(self.order)}

    def prerequisites(self, name: str) -> tuple[str, ...]:
        """The declared actions to create before `name` (dependencies and depends_on), in order."""
        return tuple(
            sorted(
                (needed for needed in self.graph.successors(name) if needed in self._rank),
                key=self._rank.__getitem__,
            )
        )

    def dependents(self, name: str) -> tuple[str, ...]:
        """The actions that need `name` directly (which must be deleted before it), sorted."""
        return tuple(sorted(self.graph.predecessors(name)))


def validate_graph(
    declarations: Iterable[Declaration],
    *,
    tenant_actions: Mapping[str, Iterable[str]] | Iterable[str] = (),
) -> ValidatedGraph:
    """Check the declared actions as one graph; raise one error naming every problem.

    `tenant_actions` are actions that exist on the tenant without being declared here: their
    names (then declared actions may depend on them), or a mapping of name to dependencies
    (then cycles through them are found too). A declared name wins over a tenant one.
    """
    try:
        return _Validator(list(declarations), tenant_dependencies(tenant_actions)).run()
    except nx.NetworkXException as exc:  # a bug here, not in the caller's declarations
        problem = Problem("graph", f"the graph could not be analysed ({exc}); please report it")
        raise DependencyGraphError([problem]) from exc


def tenant_dependencies(
    tenant_actions: Mapping[str, Iterable[str]] | Iterable[str],
) -> dict[str, tuple[str, ...]]:
    """Tenant actions as a mapping of name to dependencies (none known when only names)."""
    if isinstance(tenant_actions, Mapping):
        return {str(name): tuple(deps) for name, deps in tenant_actions.items()}
    return {str(name): () for name in tenant_actions}


class _Validator:
    """One validation run: collects problems while building the graph, then orders it."""

    def __init__(self, declarations: list[Declaration], tenant: dict[str, tuple[str, ...]]) -> None:
        self.declarations = declarations
        self.tenant = tenant
        self.graph = nx.DiGraph()
        self.position: dict[str, int] = {}
        self.managed: set[str] = set()
        self.kinds: dict[tuple[str, str], frozenset[str]] = {}
        self.problems: list[Problem] = []
        self.cycles: list[tuple[list[str], Problem]] = []
        self.dependency_component: dict[str, int] = {}
        self.ordering_edges: list[tuple[str, str]] = []

    def run(self) -> ValidatedGraph:
        self._add_nodes()
        self._add_dependency_edges()
        self._find_dependency_cycles()
        self._add_ordering_edges()
        if self.cycles:
            self.cycles.sort(key=lambda found: self.position[found[0][0]])
            paths = [path for path, _ in self.cycles]
            raise DependencyCycleError(
                paths[0],
                cycles=paths,
                problems=[*(problem for _, problem in self.cycles), *self.problems],
            )
        if self.problems:
            raise DependencyGraphError(self.problems)
        return self._ordered()

    def _add_nodes(self) -> None:
        seen_at: dict[str, list[int]] = {}
        for index, declaration in enumerate(self.declarations):
            if not isinstance(declaration.name, str):
                self._problem(f"declaration #{index + 1}", "the name must be a string")
                continue
            seen_at.setdefault(declaration.name, []).append(index)
        self.position = {name: indexes[0] for name, indexes in seen_at.items()}
        self.managed = set(self.position)
        self.graph.add_nodes_from(self.position, managed=True)
        for name, indexes in seen_at.items():
            if len(indexes) > 1:
                where = ", ".join(f"#{index + 1}" for index in indexes)
                self._problem(
                    name,
                    f"declared {len(indexes)} times (declarations {where}); each action needs "
                    "a unique name: rename or remove the extra declarations",
                )
        unmanaged = [name for name in self.tenant if name not in self.managed]
        self.position.update(
            (name, len(self.position) + index) for index, name in enumerate(unmanaged)
        )
        self.graph.add_nodes_from(unmanaged, managed=False)

    def _add_dependency_edges(self) -> None:
        edges: list[tuple[str, str]] = []
        for declaration in self._named_declarations():
            for dependency in self._distinct_names(declaration, "dependencies"):
                if dependency == declaration.name:
                    self._cycle([dependency, dependency], self_dependency=True)
                elif dependency in self.position:
                    edges.append((declaration.name, dependency))
                else:
                    self._unknown(declaration.name, "dependencies", dependency)
        for name, dependencies in self.tenant.items():
            if name not in self.managed:
                edges.extend(
                    (name, dependency)
                    for dependency in dependencies
                    if dependency != name and dependency in self.position
                )
        self.kinds = dict.fromkeys(edges, _DEPENDENCY_ONLY)
        self.graph.add_edges_from(edges, kinds=_DEPENDENCY_ONLY)

    def _find_dependency_cycles(self) -> None:
        components = [
            sorted(component, key=self.position.__getitem__)
            for component in nx.strongly_connected_components(self.graph)
        ]
        for number, component in enumerate(components):
            self.dependency_component.update(dict.fromkeys(component, number))
        for component in components:
            if len(component) > 1:  # a lone action has none: self-dependencies are not edges
                self._report_cycles(component)

    def _report_cycles(self, component: list[str]) -> None:
        """The first cycles of one component, sorted; a note when there are more."""
        found = nx.simple_cycles(self.graph.subgraph(component))
        first = itertools.islice(found, MAX_CYCLES_PER_COMPONENT)
        for cycle in sorted((self._rotated(cycle) for cycle in first), key=self._cycle_key):
            self._cycle(cycle)
        if next(found, None) is not None:
            self._problem(
                f"{component[0]}.dependencies",
                f"more cycles run through {shown_names(component, ', ')}; only the first "
                f"{MAX_CYCLES_PER_COMPONENT} are shown",
            )

    def _add_ordering_edges(self) -> None:
        for declaration in self._named_declarations():
            for target in self._distinct_names(declaration, "depends_on"):
                if target == declaration.name:
                    self._problem(
                        f"{declaration.name}.depends_on",
                        f"{target!r} names the action itself; remove it",
                    )
                elif target in self.position and target not in self.managed:
                    self._problem(
                        f"{declaration.name}.depends_on",
                        f"{target!r} is an unmanaged action of the tenant, not a resource of "
                        "this program, so there is nothing to wait for; remove it",
                    )
                elif target in self.position:
                    self._add_ordering_edge(declaration.name, target)
                else:
                    self._unknown(declaration.name, "depends_on", target)
        if self.ordering_edges:
            self._find_contradictions()

    def _find_contradictions(self) -> None:
        """An ordering edge inside a strongly connected component closes a loop.

        Edges within a dependency cycle already reported are skipped: that cycle is the news.
        (Two distinct actions share a strongly connected component of dependencies only
        when they are on a dependency cycle.)
        """
        component_of = {
            name: index
            for index, component in enumerate(nx.strongly_connected_components(self.graph))
            for name in component
        }
        reported: set[tuple[int, ...]] = set()
        for dependent, target in self.ordering_edges:
            if component_of[dependent] != component_of[target] or (
                self.dependency_component[dependent] == self.dependency_component[target]
            ):
                continue
            cycle = [dependent, *nx.shortest_path(self.graph, target, dependent)]
            key = self._cycle_key(self._rotated(cycle[:-1]))
            if key in reported:
                continue
            reported.add(key)
            back = cycle[1:]
            if all(_DEPENDENCY in self.kinds[edge] for edge in itertools.pairwise(back)):
                message = (
                    f"{dependent!r} has depends_on {target!r}, but {target!r} depends on "
                    f"{dependent!r} through its declared dependencies ({shown_names(back)}), "
                    f"so {dependent!r} can never be created first; this depends_on contradicts "
                    "the declared dependencies: remove it"
                )
            else:
                message = (
                    f"{dependent!r} has depends_on {target!r}, which closes the ordering loop "
                    f"{shown_names(cycle)} (made of depends_on and dependencies); remove one "
                    "of the hand-written depends_on in it"
                )
            self._problem(f"{dependent}.depends_on", message)

    def _ordered(self) -> ValidatedGraph:
        """Kahn's algorithm, dependencies first, the earliest-declared ready action next."""
        waiting_on: dict[str, int] = dict(self.graph.out_degree())
        ready = [(self.position[name], name) for name, count in waiting_on.items() if count == 0]
        heapq.heapify(ready)
        creation: list[str] = []
        while ready:
            _, name = heapq.heappop(ready)
            creation.append(name)
            for dependent in self.graph.predecessors(name):
                waiting_on[dependent] -= 1
                if waiting_on[dependent] == 0:
                    heapq.heappush(ready, (self.position[dependent], dependent))
        order = tuple(name for name in creation if name in self.managed)
        return ValidatedGraph(graph=self.graph, order=order)

    def _named_declarations(self) -> Iterable[Declaration]:
        return (d for d in self.declarations if isinstance(d.name, str))

    def _distinct_names(self, declaration: Declaration, attribute: str) -> list[str]:
        """The names listed in one attribute, each once; wrong shapes become problems."""
        listed = getattr(declaration, attribute)
        if not listed:
            return []
        where = f"{declaration.name}.{attribute}"
        if isinstance(listed, str):
            self._problem(where, f"must be a list of action names, not the string {listed!r}")
            return []
        names: dict[str, None] = {}
        for name in listed:
            if not isinstance(name, str):
                self._problem(where, f"{name!r} is not an action name (a string)")
            elif name in names:
                self._problem(where, f"{name!r} is listed twice; list each name once")
            else:
                names[name] = None
        return list(names)

    def _unknown(self, declared_by: str, attribute: str, missing: str) -> None:
        close = difflib.get_close_matches(missing, self.graph.nodes, cutoff=_SUGGESTION_CUTOFF)
        hint = f"did you mean {close[0]!r}? " if close else ""  # close[0] is the closest
        if attribute == _DEPENDS_ON:
            message = (
                f"{missing!r} is not declared in this program; {hint}depends_on names actions "
                "declared in this program"
            )
        elif self.tenant:
            message = (
                f"{missing!r} is neither declared in this program nor an existing action on "
                f"the tenant; {hint}declare it, or fix the name"
            )
        else:
            message = (
                f"{missing!r} is neither declared in this program nor among the tenant's "
                f"actions (none were included); {hint}declare it, or, if it already exists on "
                "the tenant, include the tenant's actions (ActionCatalog.include_tenant_actions)"
            )
        self._problem(f"{declared_by}.{attribute}", message)

    def _cycle(self, cycle: list[str], *, self_dependency: bool = False) -> None:
        """Record one cycle, given as its nodes (`[a, a]` for a self-dependency)."""
        start = cycle[0]
        if self_dependency:
            path = [start, start]
            message = (
                f"{start!r} lists itself in dependencies (cycle {start} -> {start}); an action "
                "cannot depend on itself: remove it"
            )
        else:
            path = [*cycle, start]
            unmanaged = [name for name in cycle if name not in self.managed]
            note = (
                f" (unmanaged on the tenant: {shown_names(unmanaged, ', ')})" if unmanaged else ""
            )
            message = (
                f"dependency cycle {shown_names(path)}{note}; remove one of these "
                "dependencies to break it"
            )
        self.cycles.append((path, Problem(f"{start}.dependencies", message)))

    def _rotated(self, cycle: list[str]) -> list[str]:
        """The cycle starting at its earliest-declared action, so messages are stable."""
        start = min(range(len(cycle)), key=lambda index: self.position[cycle[index]])
        return cycle[start:] + cycle[:start]

    def _cycle_key(self, cycle: list[str]) -> tuple[int, ...]:
        return tuple(self.position[name] for name in cycle)

    def _add_ordering_edge(self, source: str, target: str) -> None:
        kinds = self.kinds.get((source, target), frozenset())
        if not kinds:
            self.ordering_edges.append((source, target))
        self.kinds[source, target] = kinds | {_DEPENDS_ON}
        self.graph.add_edge(source, target, kinds=self.kinds[source, target])

    def _problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))
