"""`diff`: whether the API would see a change between the state and the checked inputs.

No change is an explicit "none", so dependency order or JSON spacing never shows as a diff; a
new name replaces, and every replacement deletes first (DataAction insists: names are unique
per tenant); anything else updates in place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import DiffResult
from pulumi.runtime.rpc import contains_unknowns

from cxone_provider.deploy.properties import (
    ACTION_TYPE,
    CONTENT_INPUTS,
    JSON_INPUTS,
    SECRET_INPUTS,
    Content,
    json_equal,
)


def _same_json_text(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is None and new is None
    try:
        return json_equal(json.loads(old), json.loads(new))
    except (TypeError, ValueError):
        return bool(old == new)


def diff_properties(olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
    """Compare the recorded outputs with the checked inputs, as the API would see them.

    The SDK passes the engine only `changes`, `replaces` and `delete_before_replace` (no
    changed keys), so an in-place change is answered `changes=None`: the engine then diffs the
    inputs itself, lists the changed keys and applies the user's `replace_on_changes`. That
    only happens once this diff has found a change the API would see; no change is an explicit
    `False`, so dependency order or JSON spacing never shows as a diff. Values still unknown
    (preview, or the engine re-diffing dependents before a delete-before-replace) are changes.
    """
    unknown = {key for key, value in news.items() if contains_unknowns(value)}
    old = Content.of_properties(olds)
    new = Content.of_properties({k: v for k, v in news.items() if k not in unknown})
    name_known = "name" not in unknown
    replaces = []
    if not name_known or new.name != old.name:
        replaces.append("name")
    if old.type != ACTION_TYPE:
        replaces.append("type")
    if "dependencies" in unknown:
        # Asked when an action this one calls is deleted and recreated: the tenant refuses to
        # delete an action that is still called, so this one goes first and comes back after.
        replaces.append("dependencies")
    changed = (
        any(key in unknown or getattr(old, key) != getattr(new, key) for key in CONTENT_INPUTS[1:])
        or any(
            key in unknown or not _same_json_text(olds.get(key), news.get(key))
            for key in JSON_INPUTS
        )
        or "on_test_failure" in unknown
        or olds.get("on_test_failure") != news.get("on_test_failure")
        # Newly secret inputs: the update re-runs the test and records its output as a secret.
        or olds.get(SECRET_INPUTS) != news.get(SECRET_INPUTS)
    )
    # Replacements delete first, as DataAction's resource option insists (see DataAction).
    if replaces:
        return DiffResult(changes=True, replaces=replaces, delete_before_replace=True)
    if changed:
        return DiffResult(changes=None, replaces=[], delete_before_replace=True)
    return DiffResult(changes=False, replaces=[], delete_before_replace=True)
