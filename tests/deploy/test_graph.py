"""The dependency graph: every problem reported at once, and a creation order that respects it."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxone_provider.api.errors import DependencyCycleError, DependencyGraphError
from cxone_provider.deploy.graph import MAX_CYCLES_PER_COMPONENT, Declaration, validate_graph

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
    assert caught.value.problems[0].field == "a.dependencies"
    assert "cannot depend on itself" in caught.value.problems[0].message


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
    assert "'crm_lookup' is neither declared" in message
    assert "did you mean" not in message


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
        ([D("a", depends_on=["a"])], (), "a.depends_on: 'a' names the action itself"),
        ([D("a", depends_on=["crm"])], ["crm"], "'crm' is an unmanaged action of the tenant"),
        ([D("ab", depends_on=["abc"])], (), "'abc' is not declared in this program; did you"),
    ],
)
def test_depends_on_must_name_another_declared_action(declarations, tenant, expected):
    """depends_on on itself, on a tenant action, or on an unknown name is a problem."""
    (message,) = problems_of(declarations, tenant_actions=tenant)
    assert expected in message


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


@given(dags(), st.data())
def test_a_back_edge_always_yields_a_real_cycle(declarations, data):
    """Making a reachable action depend on its dependent closes a cycle; each path is real."""
    dependent = data.draw(st.sampled_from(declarations)).name
    needed = data.draw(st.sampled_from(sorted(reachable(declarations, dependent))))
    broken = [
        D(d.name, [*d.dependencies, dependent]) if d.name == needed else d for d in declarations
    ]
    edges = {(d.name, dependency) for d in broken for dependency in d.dependencies}
    with pytest.raises(DependencyCycleError) as caught:
        validate_graph(broken)
    assert caught.value.cycles
    for path in caught.value.cycles:
        assert path[0] == path[-1]
        assert all(edge in edges for edge in itertools.pairwise(path))
        assert (needed, dependent) in set(itertools.pairwise(path))
        assert " -> ".join(path) in str(caught.value)


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
    """Whatever the declarations, the result is a valid order or a DependencyGraphError."""
    try:
        validated = validate_graph(declarations, tenant_actions=tenant)
    except DependencyGraphError as error:
        caught: DependencyGraphError | None = error
    else:
        caught = None
        assert_respects_every_edge(validated.order, declarations)
    assert caught is None or caught.problems
