"""The test-only switches of `POST /_emulator/broken`, as the conformance controls use them.

What each switch breaks is proven by the negative controls of tests/cli/test_cli_conformance.py;
these tests pin the control API itself and the edge cases the controls do not reach.
"""

from __future__ import annotations

import httpx
from emulator_process import API_ACTIONS, action_body


def test_an_unknown_behaviour_is_refused_and_a_reset_switches_them_back_on(emulator):
    """Unknown names are 400 naming the known ones; the answer lists what is off; reset clears."""
    refused = httpx.post(
        emulator.base_url + "/_emulator/broken", json={"behaviours": ["gravity"]}, timeout=10
    )
    assert refused.status_code == 400
    assert "if-match" in refused.text
    listed = httpx.post(
        emulator.base_url + "/_emulator/broken",
        json={"behaviours": ["pagination", "if-match"]},
        timeout=10,
    )
    assert listed.json() == {"behaviours": ["if-match", "pagination"]}
    emulator.reset()
    with emulator.api() as api:
        first = api.post(API_ACTIONS, json=action_body("locked")).json()
        stale = api.put(
            f"{API_ACTIONS}/{first['id']}", json=action_body("locked"), headers={"If-Match": '"7"'}
        )
    assert stale.status_code == 412


def test_a_cut_description_changes_only_json_bodies_with_a_long_description(emulator):
    """description-limit: a long description is cut; other bodies reach the rules untouched."""
    emulator.break_behaviours("description-limit")
    long_body = {**action_body("long_text"), "description": "x" * 1500}
    with emulator.api() as api:
        created = api.post(API_ACTIONS, json=long_body)
        not_json = api.post(
            API_ACTIONS, content=b"{not json", headers={"Content-Type": "application/json"}
        )
        plain = api.post(API_ACTIONS, json=action_body("short_text"))
    assert created.status_code == 201
    assert len(created.json()["description"]) == 1024
    assert not_json.status_code == 400
    assert plain.status_code == 201


def test_a_delete_refused_for_another_reason_is_answered_as_it_was(emulator):
    """delete-in-use turns only the 409 of a DELETE into 204: a 404 stays a 404."""
    emulator.break_behaviours("delete-in-use")
    with emulator.api() as api:
        missing = api.delete(f"{API_ACTIONS}/no-such-id")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NOT_FOUND"
