"""The emulator's store on its own (no HTTP): the contract's rules, transactions, idempotency."""

from __future__ import annotations

import base64
import itertools
import json
import threading
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxone_provider.api.models import ActionSpec, Script, Trigger
from cxone_provider.emulator.exceptions import (
    ActionInUseError,
    DependencyCycleError,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    ImmutableFieldError,
    NameConflictError,
    NotFoundError,
    UnknownDependencyError,
    ValidationFailedError,
    VersionMismatchError,
)
from cxone_provider.emulator.rules import find_cycle
from cxone_provider.emulator.sandbox import ScriptUnit
from cxone_provider.emulator.store import IDEMPOTENCY_TTL_MS, ActionStore, Page, StoredAnswer


class Clock:
    """A settable clock, in seconds since the epoch."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def spec(name: str, *dependencies: str, content: str = "function main(c) { return 1; }"):
    return ActionSpec(name=name, script=Script(content=content), dependencies=dependencies)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock):
    opened = ActionStore(clock=clock)
    yield opened
    opened.close()


def test_create_sets_id_version_and_timestamps(store, clock):
    """A new action gets an id, version 1 and equal created/modified timestamps."""
    action = store.create(spec("base_transform"))
    assert action.version == 1
    assert action.created_timestamp == action.modified_timestamp == int(clock.now * 1000)
    assert store.get(action.id) == action


def test_create_rejects_a_taken_name_and_names_the_holder(store):
    """A second action with the same name is NAME_CONFLICT, with the existing id."""
    first = store.create(spec("base_transform"))
    with pytest.raises(NameConflictError) as caught:
        store.create(spec("base_transform"))
    assert caught.value.details == [{"field": "name", "name": "base_transform", "id": first.id}]


def test_create_rejects_unknown_dependencies_and_lists_them(store):
    """Dependencies must exist; each missing one is named in the details."""
    store.create(spec("known"))
    with pytest.raises(UnknownDependencyError) as caught:
        store.create(spec("user", "known", "ghost", "phantom"))
    assert caught.value.details == [{"dependency": "ghost"}, {"dependency": "phantom"}]
    assert store.count() == 1


def test_concurrent_creates_of_one_name_store_one_action(store):
    """Eight threads creating one name: one succeeds, seven get NAME_CONFLICT."""
    one = spec("contested")
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        try:
            store.create(one)
            outcomes.append("created")
        except NameConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["created"]
    assert store.count() == 1


def test_update_bumps_the_version_and_keeps_the_creation_time(store, clock):
    """An update replaces the fields, version + 1, created timestamp unchanged."""
    store.create(spec("dep"))
    action = store.create(spec("user"))
    clock.now += 5
    updated = store.update(action.id, spec("user", "dep", content="function main(c) { return 2; }"))
    assert updated.version == 2
    assert updated.dependencies == ("dep",)
    assert updated.created_timestamp == action.created_timestamp
    assert updated.modified_timestamp == action.modified_timestamp + 5000


def test_update_cannot_change_the_name(store):
    """Renaming is IMMUTABLE_FIELD; the action is unchanged."""
    action = store.create(spec("original"))
    with pytest.raises(ImmutableFieldError) as caught:
        store.update(action.id, spec("renamed"))
    assert caught.value.details[0]["field"] == "name"
    assert store.get(action.id).version == 1


@pytest.mark.parametrize("if_match", ['"1"', "1", 'W/"1"', "*", '"7", "1"'])
def test_update_accepts_if_match_naming_the_current_version(store, if_match):
    """If-Match with the current version (quoted, bare, weak, in a list) or * lets it through."""
    action = store.create(spec("versioned"))
    assert store.update(action.id, spec("versioned"), if_match=if_match).version == 2


def test_update_with_a_stale_if_match_is_version_mismatch(store):
    """If-Match of an older version is VERSION_MISMATCH and changes nothing."""
    action = store.create(spec("versioned"))
    store.update(action.id, spec("versioned"))
    with pytest.raises(VersionMismatchError) as caught:
        store.update(action.id, spec("versioned"), if_match='"1"')
    assert caught.value.details == [{"expected": '"1"', "current": 2}]
    assert store.get(action.id).version == 2


def test_update_that_closes_a_cycle_is_refused_with_the_cycle(store):
    """With c -> b -> a, making a depend on c is DEPENDENCY_CYCLE a -> c -> b -> a."""
    a = store.create(spec("a_action"))
    store.create(spec("b_action", "a_action"))
    store.create(spec("c_action", "b_action"))
    with pytest.raises(DependencyCycleError) as caught:
        store.update(a.id, spec("a_action", "c_action"))
    assert caught.value.details == [{"cycle": ["a_action", "c_action", "b_action", "a_action"]}]
    assert store.get(a.id).dependencies == ()


def test_delete_of_a_used_action_is_refused_naming_the_dependents(store):
    """ACTION_IN_USE lists every action that depends on it; after they go, delete works."""
    base = store.create(spec("base"))
    first = store.create(spec("user_one", "base"))
    second = store.create(spec("user_two", "base"))
    with pytest.raises(ActionInUseError) as caught:
        store.delete(base.id)
    assert caught.value.details == [{"dependent": "user_one"}, {"dependent": "user_two"}]
    store.delete(first.id)
    store.delete(second.id)
    store.delete(base.id)
    with pytest.raises(NotFoundError):
        store.get(base.id)


def test_delete_of_an_absent_action_is_not_found(store):
    """Deleting twice: the second is NOT_FOUND."""
    action = store.create(spec("short_lived"))
    store.delete(action.id)
    with pytest.raises(NotFoundError):
        store.delete(action.id)


def test_pages_follow_creation_time_then_id(store, clock):
    """Pages come in creation order; the cursor continues where the last page ended."""
    created = []
    for index in range(5):
        clock.now += 1 if index != 3 else 0  # two actions share a millisecond
        created.append(store.create(spec(f"action_{index}")))
    expected = sorted(created, key=lambda action: (action.created_timestamp, action.id))
    seen, cursor = [], None
    while True:
        page = store.page(page_size=2, cursor=cursor)
        seen.extend(page.actions)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected


def test_the_name_filter_finds_one_exact_name(store):
    """`name` filters to the exact name, and to nothing for an unknown one."""
    store.create(spec("alpha"))
    store.create(spec("alpha_two"))
    assert [action.name for action in store.page(name="alpha").actions] == ["alpha"]
    assert store.page(name="nope").actions == []


def test_a_foreign_cursor_is_validation_failed_on_the_cursor(store):
    """A cursor this server did not give out is VALIDATION_FAILED naming the cursor."""
    with pytest.raises(ValidationFailedError) as caught:
        store.page(cursor="not-a-cursor")
    assert caught.value.details[0]["field"] == "cursor"


FOREIGN_CURSOR = "cursor is not one this server gave out; pass the nextCursor of the previous page"
SQLITE_INTEGERS = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@pytest.fixture(scope="module")
def listed_store():
    """A store of five actions, two of them created in the same millisecond; only read."""
    clock = Clock()
    opened = ActionStore(clock=clock)
    for index, name in enumerate(["first", "second", "third", "fourth", "fifth"]):
        clock.now += 1 if index != 2 else 0
        opened.create(spec(name))
    yield opened
    opened.close()


def position(action) -> tuple[int, str]:
    return action.created_timestamp, action.id


def as_cursor(value: object) -> str:
    """A JSON value in the cursor's encoding (URL-safe base64, without padding)."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=4,
)


def names_a_position(value: object) -> bool:
    """Whether a JSON value is shaped like the server's positions: [integer, string]."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], int)
        and isinstance(value[1], str)
    )


@settings(max_examples=200, deadline=None)
@given(cursor=st.one_of(st.text(min_size=1), st.builds(as_cursor, JSON_VALUES)))
def test_any_cursor_gives_a_page_or_validation_failed(listed_store, cursor):
    """Any cursor string: a page of the last actions in listing order, or VALIDATION_FAILED."""
    everything = listed_store.page().actions
    answer: Page | ValidationFailedError
    try:
        answer = listed_store.page(cursor=cursor)
    except ValidationFailedError as error:
        answer = error
    if isinstance(answer, ValidationFailedError):
        assert (answer.message, answer.details) == (
            FOREIGN_CURSOR,
            [{"field": "cursor", "message": FOREIGN_CURSOR}],
        )
    else:
        assert answer.next_cursor is None
        assert answer.actions == everything[len(everything) - len(answer.actions) :]


@settings(max_examples=200, deadline=None)
@given(
    cursor=st.one_of(
        st.builds(as_cursor, JSON_VALUES.filter(lambda value: not names_a_position(value))),
        st.builds(
            lambda created_ms, action_id: as_cursor([created_ms, action_id]),
            st.integers().filter(lambda number: not -(2**63) <= number < 2**63),
            st.text(),
        ),
    )
)
def test_a_cursor_naming_no_position_is_validation_failed(listed_store, cursor):
    """Not [integer, string], or an integer SQLite cannot hold: VALIDATION_FAILED on the cursor."""
    with pytest.raises(ValidationFailedError) as raised:
        listed_store.page(cursor=cursor)
    assert raised.value.details == [{"field": "cursor", "message": FOREIGN_CURSOR}]


@given(cut=st.integers(min_value=1, max_value=20))
def test_a_truncated_cursor_is_validation_failed(listed_store, cut):
    """A cursor the server gave out, cut short, is no cursor: VALIDATION_FAILED."""
    given_out = listed_store.page(page_size=1).next_cursor
    assert given_out is not None
    with pytest.raises(ValidationFailedError) as raised:
        listed_store.page(cursor=given_out[:-cut])
    assert raised.value.details == [{"field": "cursor", "message": FOREIGN_CURSOR}]


@settings(max_examples=200, deadline=None)
@given(
    anchor=st.integers(min_value=0, max_value=4),
    created_ms=st.none() | SQLITE_INTEGERS,
    shift_ms=st.integers(min_value=-1, max_value=1),
    action_id=st.none() | st.text(),
)
def test_a_cursor_naming_any_position_lists_exactly_the_actions_after_it(
    listed_store, anchor, created_ms, shift_ms, action_id
):
    """Any [integer, string] position, near an action or not: the page holds those after it."""
    everything = listed_store.page().actions
    near = everything[anchor]
    wanted = (
        near.created_timestamp + shift_ms if created_ms is None else created_ms,
        near.id if action_id is None else action_id,
    )
    after = [action for action in everything if position(action) > wanted]
    assert listed_store.page(cursor=as_cursor(list(wanted))).actions == after


def test_script_units_cover_the_transitive_dependencies(store):
    """The sandbox gets every reachable script with its own declared names."""
    store.create(spec("leaf", content="function main(c) { return 'leaf'; }"))
    store.create(spec("middle", "leaf", content="function main(c) { return 'm'; }"))
    top = store.create(spec("top", "middle"))
    action, units = store.script_units(top.id)
    assert action.id == top.id
    assert units == {
        "middle": ScriptUnit("function main(c) { return 'm'; }", ("leaf",)),
        "leaf": ScriptUnit("function main(c) { return 'leaf'; }", ()),
    }


def test_data_survives_reopening_the_file(tmp_path: Path):
    """Actions and their dependencies are on disk: a new store on the file sees them."""
    path = tmp_path / "store.sqlite3"
    first = ActionStore(path)
    first.create(spec("base"))
    user = first.create(spec("user", "base"))
    first.close()
    second = ActionStore(path)
    assert second.get(user.id) == user
    second.close()


def test_a_claimed_key_replays_its_settled_answer(store):
    """Claim, settle, claim again with the same body: the settled answer comes back."""
    assert store.claim_key("demo", "key-1", "hash-a") is None
    answer = StoredAnswer(201, {"id": "x"}, {"ETag": '"1"'})
    store.settle_key("demo", "key-1", answer)
    assert store.claim_key("demo", "key-1", "hash-a") == answer


def test_a_key_in_flight_is_in_use(store):
    """While the first request is processed, the same key is IDEMPOTENCY_KEY_IN_USE."""
    store.claim_key("demo", "key-1", "hash-a")
    with pytest.raises(IdempotencyKeyInUseError) as caught:
        store.claim_key("demo", "key-1", "hash-a")
    assert caught.value.headers == {"Retry-After": "1"}


def test_a_key_with_a_different_body_is_reused(store):
    """The same key with another body is IDEMPOTENCY_KEY_REUSED, settled or not."""
    store.claim_key("demo", "key-1", "hash-a")
    with pytest.raises(IdempotencyKeyReusedError):
        store.claim_key("demo", "key-1", "hash-b")
    store.settle_key("demo", "key-1", StoredAnswer(201, {}))
    with pytest.raises(IdempotencyKeyReusedError):
        store.claim_key("demo", "key-1", "hash-b")


def test_keys_belong_to_one_client(store):
    """Another OAuth client may use the same key for its own request."""
    store.claim_key("demo", "key-1", "hash-a")
    assert store.claim_key("other", "key-1", "hash-b") is None


def test_a_released_key_is_processed_anew(store):
    """A claim released before acting leaves no trace: the key can be claimed again."""
    store.claim_key("demo", "key-1", "hash-a")
    store.release_key("demo", "key-1")
    assert store.claim_key("demo", "key-1", "hash-b") is None


def test_keys_expire_after_24_hours(store, clock):
    """After 24 h a key is forgotten: the next request with it is processed anew."""
    store.claim_key("demo", "key-1", "hash-a")
    store.settle_key("demo", "key-1", StoredAnswer(201, {}))
    clock.now += IDEMPOTENCY_TTL_MS / 1000 - 1
    assert store.claim_key("demo", "key-1", "hash-a") == StoredAnswer(201, {})
    clock.now += 1
    assert store.claim_key("demo", "key-1", "hash-b") is None


def test_claims_of_a_dead_process_are_released_on_open(tmp_path: Path):
    """A key left in flight by a crashed emulator does not block retries after a restart."""
    path = tmp_path / "store.sqlite3"
    first = ActionStore(path)
    first.claim_key("demo", "settled", "hash-a")
    first.settle_key("demo", "settled", StoredAnswer(201, {"id": "x"}))
    first.claim_key("demo", "in-flight", "hash-a")
    first.close()
    second = ActionStore(path)
    assert second.claim_key("demo", "in-flight", "hash-a") is None
    assert second.claim_key("demo", "settled", "hash-a") == StoredAnswer(201, {"id": "x"})
    second.close()


def test_reset_removes_actions_and_keys(store):
    """After reset the store is empty and every key is free."""
    store.create(spec("doomed"))
    store.claim_key("demo", "key-1", "hash-a")
    store.reset()
    assert store.count() == 0
    assert store.claim_key("demo", "key-1", "hash-b") is None


names = st.sampled_from(["a", "b", "c", "d", "e", "f"])


@settings(max_examples=300, deadline=None)
@given(
    edges=st.lists(st.tuples(names, names), max_size=12),
    node=names,
    new_dependencies=st.lists(names, max_size=3, unique=True),
)
def test_find_cycle_agrees_with_networkx(edges, node, new_dependencies):
    """A cycle is reported exactly when networkx finds one through the node, and it is real."""
    acyclic = nx.DiGraph()
    for source, target in edges:
        acyclic.add_edge(source, target)
        if not nx.is_directed_acyclic_graph(acyclic):
            acyclic.remove_edge(source, target)
    graph = {source: sorted(acyclic.successors(source)) for source in acyclic.nodes}
    cycle = find_cycle(graph, node, tuple(new_dependencies))
    changed = acyclic.copy()
    changed.remove_edges_from(list(changed.out_edges(node)) if node in changed else [])
    changed.add_edges_from((node, target) for target in new_dependencies)
    expected = any(node in component for component in nx.simple_cycles(changed))
    assert (cycle is not None) == expected
    if cycle is not None:
        assert cycle[0] == cycle[-1] == node
        assert all(changed.has_edge(a, b) for a, b in itertools.pairwise(cycle))


def test_a_cycle_through_a_chain_of_5000_actions_is_found_without_recursion():
    """Issue 11, case 8: the walk does not use Python's stack, whatever the chain's length."""
    chain = {f"a{i}": [f"a{i + 1}"] for i in range(5000)}
    cycle = find_cycle(chain, "a5000", ("a0",))
    assert cycle == ["a5000", *(f"a{i}" for i in range(5001))]
    assert find_cycle(chain, "a5000", ()) is None


def test_a_put_deep_in_a_chain_of_1100_actions_is_checked(store):
    """Issue 11, case 8: closing or not closing a cycle at the end of a long chain works."""
    first = store.create(spec("chain_0"))
    for index in range(1, 1100):
        store.create(spec(f"chain_{index}", f"chain_{index - 1}"))
    with pytest.raises(DependencyCycleError) as raised:
        store.update(first.id, spec("chain_0", "chain_1099"))
    assert len(raised.value.details[0]["cycle"]) == 1101
    assert store.update(first.id, spec("chain_0")).version == 2


def test_any_number_of_unknown_dependencies_is_unknown_dependency(store):
    """Issue 11, case 9: 250,001 names (beyond SQLite's variables) still name what is missing."""
    store.create(spec("known_one"))
    names = ("known_one", *(f"missing_{index}" for index in range(250_001)))
    unchecked = ActionSpec.model_construct(
        name="many_deps",
        script=Script(content="function main(c) { return 1; }"),
        dependencies=names,
        description="",
        type="SCRIPT",
        trigger=Trigger(),
        enabled=True,
    )
    with pytest.raises(UnknownDependencyError) as raised:
        store.create(unchecked)
    assert len(raised.value.details) == 250_001
