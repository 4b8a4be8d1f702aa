"""The actions resource over real HTTP: every rule and error answer of the contract."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest
from emulator_process import API_ACTIONS, action_body


def action_url(action_id: str) -> str:
    return f"{API_ACTIONS}/{action_id}"


def assert_error(response: httpx.Response, status: int, code: str) -> list[dict]:
    """The contract's error body with this status and code; returns its details."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "details", "requestId"}
    assert body["error"] == code
    uuid.UUID(body["requestId"])
    return body["details"]


def create(api: httpx.Client, name: str, *dependencies: str, **fields) -> dict:
    response = api.post(API_ACTIONS, json={**action_body(name, *dependencies), **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_answers_201_with_the_resource_and_its_etag(api):
    """The server sets id, version 1 and the timestamps; defaults fill the rest."""
    response = api.post(API_ACTIONS, json=action_body("lead_enrichment_v2"))
    assert response.status_code == 201
    action = response.json()
    assert response.headers["etag"] == '"1"'
    uuid.UUID(action["id"])
    assert action["version"] == 1
    assert action["createdTimestamp"] == action["modifiedTimestamp"] > 1_600_000_000_000
    assert {key: action[key] for key in ("description", "type", "trigger", "enabled")} == {
        "description": "",
        "type": "SCRIPT",
        "trigger": {"type": "MANUAL"},
        "enabled": True,
    }
    assert action["script"] == {
        "language": "JavaScript",
        "content": action_body("x")["script"]["content"],
    }


def test_get_answers_the_stored_resource_and_404_when_absent(api):
    """GET by id returns what POST returned, with ETag; an unknown id is NOT_FOUND."""
    created = create(api, "readable", description="Scores a lead", enabled=False)
    response = api.get(action_url(created["id"]))
    assert (response.status_code, response.json()) == (200, created)
    assert response.headers["etag"] == '"1"'
    assert_error(api.get(action_url(str(uuid.uuid4()))), 404, "NOT_FOUND")


BAD_FIELDS = [
    ({"name": "ab"}, "name"),
    ({"name": "has space"}, "name"),
    ({"name": "n" * 65}, "name"),
    ({"description": "d" * 1025}, "description"),
    ({"type": "FLOW"}, "type"),
    ({"trigger": {"type": "CRON"}}, "trigger.type"),
    ({"script": {"language": "TypeScript", "content": "function main(c) {}"}}, "script.language"),
    ({"enabled": "maybe"}, "enabled"),
    ({"dependencies": ["twice_dep", "twice_dep"]}, "dependencies"),
    ({"dependencies": ["self_ref"]}, "dependencies"),
    ({"version": 3}, "version"),
]


@pytest.mark.parametrize(("override", "field"), BAD_FIELDS, ids=[f for _, f in BAD_FIELDS])
def test_a_broken_rule_is_validation_failed_on_its_field(api, override, field):
    """400 VALIDATION_FAILED with details [{field, message}] naming the field."""
    body = {**action_body("self_ref"), **override}
    details = assert_error(api.post(API_ACTIONS, json=body), 400, "VALIDATION_FAILED")
    assert field in [detail["field"] for detail in details]
    assert all(detail["message"] for detail in details)


def test_the_script_limit_counts_utf8_bytes_not_characters(api):
    """A script of fewer than 65536 characters but more bytes is refused; at the limit, fine."""
    prefix = "function main(c) { return 1; }\n//"
    at_limit = prefix + "é" * ((65536 - len(prefix)) // 2)
    assert len(at_limit.encode()) <= 65536
    response = api.post(API_ACTIONS, json=action_body("big_enough", content=at_limit))
    assert response.status_code == 201
    too_big = at_limit + "éé"
    assert len(too_big) < 65536 < len(too_big.encode())
    response = api.post(API_ACTIONS, json=action_body("too_big", content=too_big))
    details = assert_error(response, 400, "VALIDATION_FAILED")
    assert details[0]["field"] == "script.content"


def test_a_syntax_error_is_compilation_failed_with_line_and_column(api):
    """V8 finds the error; details give its line and column."""
    content = "function main(context) {\n  return context.input +;\n}"
    response = api.post(API_ACTIONS, json=action_body("broken", content=content))
    details = assert_error(response, 400, "COMPILATION_FAILED")
    assert details == [{"line": 2, "column": 25, "message": "SyntaxError: Unexpected token ';'"}]


def test_a_script_without_main_is_compilation_failed(api):
    """Valid JavaScript that defines no main(context) does not compile into an action."""
    details = assert_error(
        api.post(API_ACTIONS, json=action_body("no_main", content="const x = 1;")),
        400,
        "COMPILATION_FAILED",
    )
    assert "main(context)" in details[0]["message"]


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"NaN", b""], ids=repr)
def test_a_body_that_is_not_a_json_object_is_validation_failed(api, content):
    """The body must be a JSON object."""
    response = api.post(API_ACTIONS, content=content, headers={"Content-Type": "application/json"})
    assert assert_error(response, 400, "VALIDATION_FAILED")[0]["field"] == "body"


def test_a_taken_name_is_name_conflict(api):
    """409 NAME_CONFLICT when another action has the name."""
    existing = create(api, "unique_name")
    response = api.post(API_ACTIONS, json=action_body("unique_name"))
    details = assert_error(response, 409, "NAME_CONFLICT")
    assert details[0]["id"] == existing["id"]


def test_unknown_dependencies_are_refused_and_named(api):
    """400 UNKNOWN_DEPENDENCY with one {dependency} per missing name."""
    create(api, "present")
    response = api.post(API_ACTIONS, json=action_body("needy", "present", "absent"))
    assert assert_error(response, 400, "UNKNOWN_DEPENDENCY") == [{"dependency": "absent"}]


def test_eight_concurrent_creates_of_one_name_give_one_201_and_seven_409(emulator):
    """The store's transactions let exactly one concurrent create of a name through."""
    statuses: list[int] = []
    barrier = threading.Barrier(8)
    token = emulator.token()

    def create_contested() -> None:
        with httpx.Client(
            base_url=emulator.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            barrier.wait()
            statuses.append(client.post(API_ACTIONS, json=action_body("contested")).status_code)

    threads = [threading.Thread(target=create_contested) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 7
    assert emulator.stats()["actions"] == 1


def test_list_pages_in_creation_order_with_cursors(api):
    """Pages hold at most pageSize; nextCursor continues; the last page's is null."""
    names = [create(api, f"paged_{index}")["name"] for index in range(5)]
    seen, cursor = [], None
    while True:
        params = {"pageSize": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get(API_ACTIONS, params=params).json()
        assert len(page["entities"]) <= 2
        seen += [entity["name"] for entity in page["entities"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == names


def test_the_name_filter_returns_only_that_name(api):
    """`name` filters to the exact name."""
    create(api, "wanted")
    create(api, "wanted_not")
    page = api.get(API_ACTIONS, params={"name": "wanted"}).json()
    assert [entity["name"] for entity in page["entities"]] == ["wanted"]
    assert page["nextCursor"] is None


@pytest.mark.parametrize("page_size", ["0", "501", "ten"])
def test_a_page_size_outside_1_to_500_is_validation_failed(api, page_size):
    """The page size must be an integer from 1 to 500."""
    response = api.get(API_ACTIONS, params={"pageSize": page_size})
    assert assert_error(response, 400, "VALIDATION_FAILED")[0]["field"] == "pageSize"


def test_a_cursor_the_server_did_not_give_is_validation_failed(api):
    """A made-up cursor is refused, naming the cursor."""
    response = api.get(API_ACTIONS, params={"cursor": "made-up"})
    assert assert_error(response, 400, "VALIDATION_FAILED")[0]["field"] == "cursor"


def test_pages_hold_100_actions_by_default_and_500_at_most(start_emulator):
    """Without pageSize a page has 100 entities; pageSize=500 takes all 101."""
    emulator = start_emulator("--rate-limit", "0")
    with emulator.api() as api:
        for index in range(101):
            assert api.post(API_ACTIONS, json=action_body(f"many_{index:03}")).status_code == 201
        first = api.get(API_ACTIONS).json()
        assert len(first["entities"]) == 100
        assert first["nextCursor"] is not None
        rest = api.get(API_ACTIONS, params={"cursor": first["nextCursor"]}).json()
        assert [entity["name"] for entity in rest["entities"]] == ["many_100"]
        assert len(api.get(API_ACTIONS, params={"pageSize": 500}).json()["entities"]) == 101


def test_update_replaces_the_fields_and_bumps_the_version(api):
    """PUT answers the resource with version + 1, a new ETag and the new fields."""
    create(api, "dep_target")
    action = create(api, "evolving")
    body = {**action_body("evolving", "dep_target"), "description": "v2", "enabled": False}
    response = api.put(action_url(action["id"]), json=body)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert response.headers["etag"] == '"2"'
    assert (updated["version"], updated["description"], updated["enabled"]) == (2, "v2", False)
    assert updated["dependencies"] == ["dep_target"]
    assert updated["createdTimestamp"] == action["createdTimestamp"]
    assert updated["modifiedTimestamp"] >= action["modifiedTimestamp"]


def test_update_with_if_match_checks_the_version(api):
    """If-Match of the current version passes; a stale one is 412 VERSION_MISMATCH."""
    action = create(api, "guarded")
    url = action_url(action["id"])
    assert api.put(url, json=action_body("guarded"), headers={"If-Match": '"1"'}).status_code == 200
    response = api.put(url, json=action_body("guarded"), headers={"If-Match": '"1"'})
    assert_error(response, 412, "VERSION_MISMATCH")
    assert api.get(url).json()["version"] == 2


@pytest.mark.parametrize(("field", "value"), [("name", "renamed"), ("type", "FLOW")])
def test_name_and_type_are_immutable(api, field, value):
    """A PUT with a different name or type is 400 IMMUTABLE_FIELD."""
    action = create(api, "fixed_identity")
    body = {**action_body("fixed_identity"), field: value}
    details = assert_error(api.put(action_url(action["id"]), json=body), 400, "IMMUTABLE_FIELD")
    assert details[0]["field"] == field


def test_an_update_that_closes_a_cycle_is_dependency_cycle_with_the_cycle(api):
    """409 DEPENDENCY_CYCLE; details carry the cycle, first name repeated last."""
    first = create(api, "cycle_a")
    create(api, "cycle_b", "cycle_a")
    create(api, "cycle_c", "cycle_b")
    response = api.put(action_url(first["id"]), json=action_body("cycle_a", "cycle_c"))
    details = assert_error(response, 409, "DEPENDENCY_CYCLE")
    assert details == [{"cycle": ["cycle_a", "cycle_c", "cycle_b", "cycle_a"]}]


def test_update_rules_match_create_rules(api):
    """An update is checked like a create: unknown dependencies, syntax; 404 when absent."""
    action = create(api, "checked_too")
    url = action_url(action["id"])
    assert_error(api.put(url, json=action_body("checked_too", "ghost")), 400, "UNKNOWN_DEPENDENCY")
    broken = action_body("checked_too", content="function main( {")
    assert_error(api.put(url, json=broken), 400, "COMPILATION_FAILED")
    missing = action_url(str(uuid.uuid4()))
    assert_error(api.put(missing, json=action_body("checked_too")), 404, "NOT_FOUND")


def test_delete_answers_204_then_404(api):
    """DELETE removes the action; a second DELETE is NOT_FOUND."""
    action = create(api, "deletable")
    response = api.delete(action_url(action["id"]))
    assert (response.status_code, response.content) == (204, b"")
    assert_error(api.delete(action_url(action["id"])), 404, "NOT_FOUND")
    assert_error(api.get(action_url(action["id"])), 404, "NOT_FOUND")


def test_delete_of_a_used_action_is_action_in_use_naming_the_dependents(api):
    """409 ACTION_IN_USE while another action lists it; details name the dependents."""
    base = create(api, "shared_base")
    create(api, "user_of_base", "shared_base")
    details = assert_error(api.delete(action_url(base["id"])), 409, "ACTION_IN_USE")
    assert details == [{"dependent": "user_of_base"}]


def test_an_unknown_path_or_method_has_the_error_body(api):
    """The router's own 404 and 405 use the contract's error body too."""
    assert_error(api.get("/api/v2/dataactions/nothing-here"), 404, "NOT_FOUND")
    response = api.patch(API_ACTIONS, json={})
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in response.headers["allow"]


def test_more_dependencies_than_the_limit_are_validation_failed(api):
    """Issue 11, case 9: 1001 names are a 400 on dependencies, not a 500 from SQLite."""
    names = [f"d{index:03d}" for index in range(1001)]
    response = api.post(API_ACTIONS, json=action_body("many_deps", *names))
    details = assert_error(response, 400, "VALIDATION_FAILED")
    assert details[0]["field"] == "dependencies"
    assert "over the limit of 1000" in details[0]["message"]
