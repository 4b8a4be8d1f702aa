"""The dependency graph: every problem reported at once, and a creation order that respects it."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxone_provider.api.errors import DependencyCycleError, DependencyGraphError
from cxone_provider.deploy.graph import (
    MAX_CYCLES_PER_COMPONENT,
    Declaration,
    ValidatedGraph,
    validate_graph,
)

D = Declaration

LEAD_SCORING = [
    D("route_decision", ["lead_score", "business_hours"]),
    D("lead_score", ["base_enrichment"]),
    D("base_enrichment", ["normalize_phone", "normalize_email"]),
    D("normalize_phone"),
    D("normalize_email"),
    D("business_hours"),
]


def problems_of(declarations, **kwargs) -> list[str]:
    with pytest.raises(DependencyGraphError) as caught:
        validate_graph(declarations, **kwargs)
    return [str(problem) for problem in caught.value.problems]


def outcome(declarations, **kwargs) -> ValidatedGraph | DependencyGraphError:
    """What validation gives: the validated graph, or the error it raised."""
    try:
        return validate_graph(declarations, **kwargs)
    except DependencyGraphError as error:
        return error


def assert_respects_every_edge(order, declarations):
    position = {name: index for index, name in enumerate(order)}
    for declaration in declarations:
        for needed in [*declaration.dependencies, *declaration.depends_on]:
            if needed in position:
                assert position[needed] < position[declaration.name], (needed, declaration.name)


def test_order_puts_dependencies_first_and_keeps_declaration_order_for_ties():
    """Each action comes after what it needs; among ready actions, the earliest declared wins."""
    validated = validate_graph(LEAD_SCORING)
    assert validated.order == (
        "normalize_phone",
        "normalize_email",
        "base_enrichment",
        "lead_score",
        "business_hours",
        "route_decision",
    )
    assert_respects_every_edge(validated.order, LEAD_SCORING)


def test_prerequisites_and_dependents_describe_the_edges_of_one_action():
    """Prerequisites are what to create first (in order); dependents are what to delete first."""
    validated = validate_graph(LEAD_SCORING)
    assert validated.prerequisites("base_enrichment") == ("normalize_phone", "normalize_email")
    assert validated.prerequisites("normalize_phone") == ()
    assert validated.dependents("normalize_phone") == ("base_enrichment",)
    assert validated.graph.edges["route_decision", "lead_score"]["kinds"] == {"dependency"}


def test_a_cycle_is_reported_with_its_whole_path():
    """A three-action loop raises DependencyCycleError whose message shows `a -> b -> c -> a`."""
    declarations = [D("a", ["b"]), D("b", ["c"]), D("c", ["a"]), D("d", ["a"])]
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(declarations)
    assert caught.value.cycle == ["a", "b", "c", "a"]
    assert caught.value.cycles == [["a", "b", "c", "a"]]
    assert "dependency cycle a -> b -> c -> a" in str(caught.value)
    assert "No resource was registered" in str(caught.value)


def test_a_cycle_of_thousands_of_actions_gives_a_short_message_and_the_whole_path():
    """Issue 20: a message showed all 100,000 names of a cycle (1.1 MB); it keeps 20 and a count."""
    names = [f"action_{number:06d}" for number in range(2_000)]
    declarations = [D(name, [names[(i + 1) % len(names)]]) for i, name in enumerate(names)]
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(declarations)
    message = str(caught.value)
    assert len(message) < 2_000
    assert "action_000000 -> action_000001" in message
    assert "… 1981 more … -> action_001991" in message
    assert caught.value.cycle == [*names, names[0]]


def test_the_cycle_path_starts_at_the_earliest_declared_action():
    """Whatever networkx yields first, the path is rotated to start where the user looks first."""
    declarations = [D("zeta", ["alpha"]), D("alpha", ["mid"]), D("mid", ["zeta"])]
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(declarations)
    assert caught.value.cycle == ["zeta", "alpha", "mid", "zeta"]


def test_several_cycles_and_other_problems_are_reported_together():
    """Two loops, a self-dependency, an unknown name and a duplicate: one error lists all five."""
    declarations = [
        D("a", ["b"]),
        D("b", ["a"]),
        D("c", ["d"]),
        D("d", ["e"]),
        D("e", ["c"]),
        D("f", ["f"]),
        D("g", ["normalise_phone"]),
        D("normalize_phone"),
        D("a"),
    ]
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(declarations)
    error = caught.value
    assert error.cycles == [["a", "b", "a"], ["c", "d", "e", "c"], ["f", "f"]]
    messages = [str(problem) for problem in error.problems]
    assert len(messages) == 5
    assert "a -> b -> a" in messages[0]
    assert "c -> d -> e -> c" in messages[1]
    assert "'f' lists itself in dependencies (cycle f -> f)" in messages[2]
    assert any("declared 2 times (declarations #1, #9)" in message for message in messages)
    assert any("did you mean 'normalize_phone'?" in message for message in messages)


def test_a_self_dependency_is_a_cycle_of_one():
    """`a` depending on `a` is reported as the cycle a -> a, field a.dependencies."""
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph([D("a", ["a"])])
    assert caught.value.cycle == ["a", "a"]
    assert [str(problem) for problem in caught.value.problems] == [
        (
            "a.dependencies: 'a' lists itself in dependencies (cycle a -> a); an action cannot "
            "depend on itself: remove it"
        )
    ]


def test_every_elementary_cycle_of_a_component_is_listed_up_to_the_cap():
    """Two loops sharing an action are both shown; a dense tangle is capped with a note."""
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph([D("hub", ["x", "y"]), D("x", ["hub"]), D("y", ["hub"])])
    assert caught.value.cycles == [["hub", "x", "hub"], ["hub", "y", "hub"]]

    names = ["n1", "n2", "n3", "n4"]
    tangle = [D(name, [other for other in names if other != name]) for name in names]
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(tangle)
    assert len(caught.value.cycles) == MAX_CYCLES_PER_COMPONENT
    assert "more cycles run through n1, n2, n3, n4" in str(caught.value)


def test_an_unknown_dependency_names_the_declaring_action_and_suggests_a_close_name():
    """A typo is reported on `<action>.dependencies` with the closest declared name."""
    (message,) = problems_of([D("lead_score", ["normalise_phone"]), D("normalize_phone")])
    assert message == (
        "lead_score.dependencies: 'normalise_phone' is neither declared in this program nor "
        "among the tenant's actions (none were included); did you mean 'normalize_phone'? "
        "declare it, or, if it already exists on the tenant, include the tenant's actions "
        "(ActionCatalog.include_tenant_actions)"
    )


def test_an_unknown_dependency_far_from_every_name_gets_no_suggestion():
    """No 'did you mean' when nothing is close."""
    (message,) = problems_of([D("lead_score", ["crm_lookup"]), D("normalize_phone")])
    assert message == (
        "lead_score.dependencies: 'crm_lookup' is neither declared in this program nor among "
        "the tenant's actions (none were included); declare it, or, if it already exists on "
        "the tenant, include the tenant's actions (ActionCatalog.include_tenant_actions)"
    )


@pytest.mark.parametrize(
    ("missing", "declared", "suggested"),
    [("abcd", "abcx", True), ("abcdxy", "abcdef", False)],
)
def test_a_suggestion_needs_a_similarity_of_at_least_three_quarters(missing, declared, suggested):
    """'abcd' vs 'abcx' (ratio 0.75, the cutoff) is suggested; 'abcdxy' vs 'abcdef' (0.67) not."""
    (message,) = problems_of([D("zz", [missing]), D(declared)])
    assert (f"did you mean {declared!r}?" in message) is suggested


def test_tenant_actions_satisfy_dependencies_and_stay_out_of_the_order():
    """A dependency on an existing unmanaged action is fine; only declared actions are ordered."""
    validated = validate_graph(
        [D("lead_score", ["crm_lookup"])], tenant_actions=["crm_lookup", "unrelated"]
    )
    assert validated.order == ("lead_score",)
    assert validated.prerequisites("lead_score") == ()
    assert validated.graph.nodes["crm_lookup"]["managed"] is False


def test_an_unknown_dependency_with_tenant_actions_included_suggests_a_tenant_name():
    """With the tenant included, the message says the name is on neither side, and suggests."""
    (message,) = problems_of([D("lead_score", ["crm_lookups"])], tenant_actions=["crm_lookup"])
    assert "nor an existing action on the tenant; did you mean 'crm_lookup'?" in message


def test_a_cycle_through_an_unmanaged_tenant_action_is_found():
    """Given the tenant's dependencies, a loop through an unmanaged action is a cycle too."""
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(
            [D("lead_score", ["crm_lookup"])], tenant_actions={"crm_lookup": ["lead_score"]}
        )
    assert caught.value.cycle == ["lead_score", "crm_lookup", "lead_score"]
    assert "(unmanaged on the tenant: crm_lookup)" in str(caught.value)


def test_a_cycle_message_lists_every_unmanaged_action_on_it():
    """Two tenant actions on the loop are both named, comma-separated, in the exact message."""
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(
            [D("lead_score", ["crm_a"])],
            tenant_actions={"crm_a": ["crm_b"], "crm_b": ["lead_score"]},
        )
    assert [str(problem) for problem in caught.value.problems] == [
        (
            "lead_score.dependencies: dependency cycle lead_score -> crm_a -> crm_b -> lead_score "
            "(unmanaged on the tenant: crm_a, crm_b); remove one of these dependencies to break it"
        )
    ]


def test_a_cycle_of_declared_actions_only_has_no_unmanaged_note():
    """The exact message of a plain cycle: the path and the fix, nothing about the tenant."""
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph([D("a", ["b"]), D("b", ["a"])])
    assert [str(problem) for problem in caught.value.problems] == [
        "a.dependencies: dependency cycle a -> b -> a; remove one of these dependencies to break it"
    ]


def test_a_declared_name_wins_over_the_same_name_on_the_tenant():
    """An action that is both declared and on the tenant is managed, with the declared edges."""
    validated = validate_graph(
        [D("lead_score", ["normalize_phone"]), D("normalize_phone")],
        tenant_actions={"normalize_phone": ["lead_score"]},
    )
    assert validated.order == ("normalize_phone", "lead_score")


def test_a_duplicate_name_lists_every_declaration_of_it():
    """Three declarations of one name give one problem naming positions #1, #2 and #4."""
    (message,) = problems_of([D("a"), D("a"), D("b"), D("a")])
    assert message == (
        "a: declared 3 times (declarations #1, #2, #4); each action needs a unique name: "
        "rename or remove the extra declarations"
    )


def test_badly_shaped_dependency_lists_are_problems_not_crashes():
    """A bare string, a repeated name and a non-string are reported on the declaring action."""
    messages = problems_of([D("a", "bc"), D("b", ["a", "a"]), D("c", ["a", 7])])
    assert messages == [
        "a.dependencies: must be a list of action names, not the string 'bc'",
        "b.dependencies: 'a' is listed twice; list each name once",
        "c.dependencies: 7 is not an action name (a string)",
    ]


def test_depends_on_orders_actions_without_being_a_dependency():
    """A hand-written depends_on is an ordering edge: it moves the action after its target."""
    declarations = [D("audit_log", depends_on=["lead_score"]), D("lead_score")]
    validated = validate_graph(declarations)
    assert validated.order == ("lead_score", "audit_log")
    assert validated.prerequisites("audit_log") == ("lead_score",)
    assert validated.graph.edges["audit_log", "lead_score"]["kinds"] == {"depends_on"}


def test_depends_on_that_repeats_a_dependency_is_accepted():
    """Listing a dependency in depends_on as well is redundant, not contradictory."""
    validated = validate_graph([D("a", ["b"], depends_on=["b"]), D("b")])
    assert validated.order == ("b", "a")
    assert validated.graph.edges["a", "b"]["kinds"] == {"dependency", "depends_on"}


def test_depends_on_against_a_direct_dependency_is_a_contradiction():
    """B depends_on A while A lists B in dependencies: reported on B.depends_on with the path."""
    (message,) = problems_of([D("a", ["b"]), D("b", depends_on=["a"])])
    assert message == (
        "b.depends_on: 'b' has depends_on 'a', but 'a' depends on 'b' through its declared "
        "dependencies (a -> b), so 'b' can never be created first; this depends_on "
        "contradicts the declared dependencies: remove it"
    )


def test_depends_on_against_a_transitive_dependency_is_a_contradiction():
    """The contradiction is found through a chain of dependencies, and the chain is shown."""
    (message,) = problems_of(
        [D("route", ["score"]), D("score", ["phone"]), D("phone", depends_on=["route"])]
    )
    assert "'route' depends on 'phone' through its declared dependencies " in message
    assert "(route -> score -> phone)" in message


def test_a_loop_of_depends_on_alone_is_reported_as_an_ordering_loop():
    """Two hand-written depends_on pointing at each other close a loop; its path is shown once."""
    (message,) = problems_of([D("a", depends_on=["b"]), D("b", depends_on=["a"])])
    assert "a.depends_on: 'a' has depends_on 'b', which closes the ordering loop a -> b -> a" in (
        message
    )


@pytest.mark.parametrize(
    ("declarations", "tenant", "expected"),
    [
        (
            [D("a", depends_on=["a"])],
            (),
            "a.depends_on: 'a' names the action itself; remove it",
        ),
        (
            [D("a", depends_on=["crm"])],
            ["crm"],
            (
                "a.depends_on: 'crm' is an unmanaged action of the tenant, not a resource of this "
                "program, so there is nothing to wait for; remove it"
            ),
        ),
        (
            [D("ab", depends_on=["abcd"]), D("abcx")],
            (),
            (
                "ab.depends_on: 'abcd' is not declared in this program; did you mean 'abcx'? "
                "depends_on names actions declared in this program"
            ),
        ),
    ],
)
def test_depends_on_must_name_another_declared_action(declarations, tenant, expected):
    """depends_on on itself, on a tenant action, or on an unknown name is a problem."""
    assert problems_of(declarations, tenant_actions=tenant) == [expected]


def test_a_non_string_name_is_reported_by_position_and_the_rest_is_still_checked():
    """Each declaration without a string name is a problem on `declaration #N`, counted from 1."""
    messages = problems_of([D(7), D("a"), D(None)])
    assert messages == [
        "declaration #1: the name must be a string",
        "declaration #3: the name must be a string",
    ]


def test_declared_actions_are_marked_managed_in_the_graph():
    """The node attribute `managed` is True for declared actions, False for tenant ones."""
    validated = validate_graph([D("lead_score", ["crm_lookup"])], tenant_actions=["crm_lookup"])
    assert dict(validated.graph.nodes(data="managed")) == {
        "lead_score": True,
        "crm_lookup": False,
    }


def test_cycles_are_listed_in_declaration_order_not_alphabetical_order():
    """Cycles come in the order of their first action's declaration, whatever the names."""
    declarations = [D("zed", ["eve"]), D("bob", ["amy"]), D("amy", ["bob"]), D("eve", ["zed"])]
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(declarations)
    assert caught.value.cycles == [["zed", "eve", "zed"], ["bob", "amy", "bob"]]


def test_cycles_of_one_component_are_listed_in_declaration_order():
    """Two loops through a hub are sorted by where their actions are declared, not by name."""
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph([D("hub", ["zed", "amy"]), D("zed", ["hub"]), D("amy", ["hub"])])
    assert caught.value.cycles == [["hub", "zed", "hub"], ["hub", "amy", "hub"]]


def hub_with_spokes(count: int) -> list[Declaration]:
    """A hub in a two-action loop with each of `count` spokes: exactly `count` cycles."""
    spokes = [f"spoke_{index}" for index in range(count)]
    return [D("hub", spokes), *(D(spoke, ["hub"]) for spoke in spokes)]


def test_a_component_with_exactly_the_maximum_of_cycles_lists_all_without_a_note():
    """Five cycles in one component are all shown, and no "more cycles" note is added."""
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(hub_with_spokes(MAX_CYCLES_PER_COMPONENT))
    assert caught.value.cycles == [["hub", f"spoke_{i}", "hub"] for i in range(5)]
    assert len(caught.value.problems) == MAX_CYCLES_PER_COMPONENT
    assert "more cycles" not in str(caught.value)


def test_a_component_with_one_cycle_more_than_the_maximum_gets_the_note():
    """Six cycles: five are shown, and the note, on the earliest action, names the component."""
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(hub_with_spokes(MAX_CYCLES_PER_COMPONENT + 1))
    every_cycle = [["hub", f"spoke_{i}", "hub"] for i in range(6)]
    assert len(caught.value.cycles) == MAX_CYCLES_PER_COMPONENT
    assert all(cycle in every_cycle for cycle in caught.value.cycles)
    note = caught.value.problems[-1]
    spokes = ", ".join(f"spoke_{i}" for i in range(6))
    assert str(note) == (
        f"hub.dependencies: more cycles run through hub, {spokes}; only the first 5 are shown"
    )


def test_the_more_cycles_note_lists_the_component_in_declaration_order():
    """A tangle declared n4..n1 is named n4, n3, n2, n1, on n4.dependencies."""
    names = ["n4", "n3", "n2", "n1"]
    tangle = [D(name, [other for other in names if other != name]) for name in names]
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(tangle)
    assert str(caught.value.problems[-1]) == (
        "n4.dependencies: more cycles run through n4, n3, n2, n1; only the first 5 are shown"
    )


def test_a_huge_tangle_is_reported_without_enumerating_all_its_cycles():
    """Fourteen actions each needing all others (billions of cycles) still give five and a note."""
    names = [f"n{index:02}" for index in range(14)]
    tangle = [D(name, [other for other in names if other != name]) for name in names]
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(tangle)
    assert len(caught.value.cycles) == MAX_CYCLES_PER_COMPONENT
    assert str(caught.value.problems[-1]).startswith("n00.dependencies: more cycles run through")


def test_depends_on_inside_a_reported_dependency_cycle_adds_no_second_problem():
    """A depends_on between two actions of a dependency cycle: the cycle alone is reported."""
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph([D("a", ["b"]), D("b", ["c"]), D("c", ["a"], depends_on=["b"])])
    assert [str(problem) for problem in caught.value.problems] == [
        (
            "a.dependencies: dependency cycle a -> b -> c -> a; remove one of these dependencies "
            "to break it"
        )
    ]


def test_depends_on_joining_two_dependency_cycles_is_an_ordering_loop_reported_once():
    """depends_on edges tying two separate cycles into one loop: both cycles, and the loop once."""
    declarations = [
        D("a", ["b"]),
        D("b", ["a"], depends_on=["c"]),
        D("c", ["d"]),
        D("d", ["c"], depends_on=["a"]),
    ]
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(declarations)
    assert caught.value.cycles == [["a", "b", "a"], ["c", "d", "c"]]
    assert str(caught.value.problems[-1]) == (
        "b.depends_on: 'b' has depends_on 'c', which closes the ordering loop "
        "b -> c -> d -> a -> b (made of depends_on and dependencies); remove one of the "
        "hand-written depends_on in it"
    )
    assert len(caught.value.problems) == 3


def test_a_loop_mixing_depends_on_and_dependencies_names_both_kinds():
    """The exact message of a mixed loop: a depends_on b, b needs c, c depends_on a."""
    messages = problems_of([D("a", depends_on=["b"]), D("b", ["c"]), D("c", depends_on=["a"])])
    assert messages == [
        (
            "a.depends_on: 'a' has depends_on 'b', which closes the ordering loop a -> b -> c -> a "
            "(made of depends_on and dependencies); remove one of the hand-written depends_on in it"
        )
    ]


def test_every_separate_ordering_loop_is_reported_after_a_harmless_depends_on():
    """A fine depends_on first, then two distinct loops: each loop gets its own problem."""
    messages = problems_of(
        [
            D("x", depends_on=["y"]),
            D("y"),
            D("a", depends_on=["b"]),
            D("b", depends_on=["a"]),
            D("c", ["d"]),
            D("d", depends_on=["c"]),
        ]
    )
    assert [message.split(":")[0] for message in messages] == ["a.depends_on", "d.depends_on"]
    assert "closes the ordering loop a -> b -> a" in messages[0]
    assert "contradicts the declared dependencies" in messages[1]


def test_a_networkx_failure_becomes_a_graph_error_asking_for_a_report(monkeypatch):
    """A networkx exception (a bug of ours) leaves as DependencyGraphError on field `graph`."""

    def broken(_graph: nx.DiGraph) -> None:
        msg = "boom"
        raise nx.NetworkXException(msg)

    monkeypatch.setattr(nx, "strongly_connected_components", broken)
    with pytest.raises(DependencyGraphError) as caught:
        validate_graph([D("a")])
    assert [str(problem) for problem in caught.value.problems] == [
        "graph: the graph could not be analysed (boom); please report it"
    ]
    assert isinstance(caught.value.__cause__, nx.NetworkXException)


def test_no_problem_at_all_with_no_declarations():
    """An empty program is a valid, empty graph."""
    assert validate_graph([]).order == ()


# Property-based tests -------------------------------------------------------------------

NAMES = [f"act_{index}" for index in range(12)]


@st.composite
def dags(draw: st.DrawFn) -> list[Declaration]:
    """Random DAGs: action i may depend on any j < i; declared in a random order."""
    size = draw(st.integers(min_value=1, max_value=len(NAMES)))
    declarations = [
        D(
            NAMES[index],
            draw(st.lists(st.sampled_from(NAMES[:index]), unique=True)) if index else [],
        )
        for index in range(size)
    ]
    return draw(st.permutations(declarations))


def reachable(declarations: list[Declaration], start: str) -> set[str]:
    needs = {declaration.name: declaration.dependencies for declaration in declarations}
    seen, stack = {start}, [start]
    while stack:
        for dependency in needs[stack.pop()]:
            if dependency not in seen:
                seen.add(dependency)
                stack.append(dependency)
    return seen


@given(dags())
def test_random_dags_pass_and_the_order_respects_every_edge(declarations):
    """Any DAG validates; its order lists each declared action once, after all it needs."""
    validated = validate_graph(declarations)
    assert sorted(validated.order) == sorted(declaration.name for declaration in declarations)
    assert_respects_every_edge(validated.order, declarations)


def paths_between(declarations: list[Declaration], start: str, end: str) -> list[list[str]]:
    """Every path of dependencies from `start` to `end` in a DAG (depth-first, by hand)."""
    needs = {declaration.name: declaration.dependencies for declaration in declarations}
    if start == end:
        return [[start]]
    return [
        [start, *rest]
        for dependency in needs[start]
        for rest in paths_between(declarations, dependency, end)
    ]


def expected_cycle(loop: list[str], position: dict[str, int]) -> list[str]:
    """The loop as the error shows it: from its earliest-declared action, back to it."""
    start = min(range(len(loop)), key=lambda index: position[loop[index]])
    rotated = loop[start:] + loop[:start]
    return [*rotated, rotated[0]]


@given(dags(), st.data())
def test_a_back_edge_yields_exactly_the_cycles_it_closes(declarations, data):
    """Making a reachable action depend on its dependent closes one cycle per path between them."""
    dependent = data.draw(st.sampled_from(declarations)).name
    needed = data.draw(st.sampled_from(sorted(reachable(declarations, dependent))))
    broken = [
        D(d.name, [*d.dependencies, dependent]) if d.name == needed else d for d in declarations
    ]
    position = {declaration.name: index for index, declaration in enumerate(broken)}
    closed = sorted(
        (expected_cycle(path, position) for path in paths_between(declarations, dependent, needed)),
        key=lambda cycle: [position[name] for name in cycle],
    )
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(broken)
    if len(closed) <= MAX_CYCLES_PER_COMPONENT:
        assert caught.value.cycles == closed
    else:
        assert len(caught.value.cycles) == MAX_CYCLES_PER_COMPONENT
        assert all(cycle in closed for cycle in caught.value.cycles)
        assert "more cycles run through" in str(caught.value)
    for path in caught.value.cycles:
        assert " -> ".join(path) in str(caught.value)


def is_acyclic(edges: set[tuple[str, str]], names: list[str]) -> bool:
    """Kahn's algorithm by hand: every action can be peeled off once what it needs is gone."""
    remaining, left = set(edges), set(names)
    while True:
        free = {name for name in left if not any(edge[0] == name for edge in remaining)}
        if not free:
            return not left
        left -= free
        remaining = {edge for edge in remaining if edge[1] not in free}


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from(NAMES[:6]), st.sampled_from(NAMES[:6]), st.booleans()),
        max_size=10,
        unique_by=lambda edge: edge[:2],
    ).map(lambda edges: [edge for edge in edges if edge[0] != edge[1]])
)
def test_declarations_pass_exactly_when_dependencies_and_depends_on_make_no_loop(edges):
    """Valid iff the union of both edge kinds is acyclic; then the order respects every edge."""
    declarations = [
        D(
            name,
            [target for source, target, ordering in edges if source == name and not ordering],
            [target for source, target, ordering in edges if source == name and ordering],
        )
        for name in NAMES[:6]
    ]
    acyclic = is_acyclic({(source, target) for source, target, _ in edges}, NAMES[:6])
    dependency_loop = not is_acyclic(
        {(source, target) for source, target, ordering in edges if not ordering}, NAMES[:6]
    )
    result = outcome(declarations)
    if isinstance(result, DependencyCycleError):
        assert dependency_loop
    elif isinstance(result, DependencyGraphError):
        assert (acyclic, dependency_loop) == (False, False)
        assert all(problem.field.endswith(".depends_on") for problem in result.problems)
    else:
        assert acyclic
        assert_respects_every_edge(result.order, declarations)


names = st.text(alphabet="abc_", max_size=4)


@settings(max_examples=300)
@given(
    st.lists(
        st.builds(
            Declaration,
            name=names,
            dependencies=st.one_of(names, st.lists(st.one_of(names, st.integers()))),
            depends_on=st.lists(names),
        )
    ),
    st.one_of(st.lists(names), st.dictionaries(names, st.lists(names))),
)
def test_no_input_crashes_with_anything_but_a_graph_error(declarations, tenant):
    """Any input gives a valid order or a DependencyGraphError whose problems name actions."""
    result = outcome(declarations, tenant_actions=tenant)
    if isinstance(result, DependencyGraphError):
        named = {d.name for d in declarations if isinstance(d.name, str)} | set(tenant)
        assert result.problems != []
        for problem in result.problems:
            owner = problem.field.removesuffix(".dependencies").removesuffix(".depends_on")
            assert owner in named or problem.field.startswith("declaration #")
    else:
        assert_respects_every_edge(result.order, declarations)


def test_a_cycle_among_tenant_actions_starts_at_the_first_listed_one():
    """Tenant actions rank after declared ones, in the order given, so t1 -> t2 starts at t1."""
    result = outcome([D("a")], tenant_actions={"t1": ["t2"], "t2": ["t1"]})
    assert isinstance(result, DependencyCycleError)
    assert result.cycles == [["t1", "t2", "t1"]]
