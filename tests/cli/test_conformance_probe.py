"""The conformance probe's pure parts: markers and who may sweep, excerpts, deletion order."""

from __future__ import annotations

import os
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from cxone_provider.api.models import Action
from cxone_provider.cli.conformance_probe import (
    FAMILY,
    STALE_AFTER_S,
    Created,
    Marker,
    _dependents_first,
    excerpt,
    leftovers,
    random_prefix,
)

NOW_MS = 1_800_000_000_000


def ended_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def stored(name, description, dependencies=()):
    return Action.model_validate(
        {
            "id": f"id-{name}",
            "name": name,
            "description": description,
            "script": {"content": "function main(context) { return 1; }"},
            "dependencies": list(dependencies),
            "version": 1,
            "createdTimestamp": NOW_MS,
            "modifiedTimestamp": NOW_MS,
        }
    )


def test_a_marker_survives_its_description_and_says_when_its_run_is_over():
    """Parsed back from the description; over when its process ended or it is an hour old."""
    marker = Marker.new("cxconf_abcdef12_")
    assert Marker.parse(f"{marker} (updated)") == marker
    assert Marker.parse("made by hand") is None
    assert not marker.over(marker.started_ms + 1000)  # this process is alive
    assert marker.over(marker.started_ms + int(STALE_AFTER_S * 1000) + 1)
    dead = Marker(marker.run, marker.prefix, marker.host, ended_pid(), marker.started_ms)
    assert dead.over(marker.started_ms + 1000)
    elsewhere = Marker(marker.run, marker.prefix, "0123456789ab", ended_pid(), marker.started_ms)
    assert not elsewhere.over(marker.started_ms + 1000)  # another machine's process: unknown


def test_only_marked_actions_of_the_family_or_the_given_prefix_are_leftovers():
    """Name and marker must agree, and the prefix be cxconf_* or --prefix; live runs are apart."""
    pid = ended_pid()
    host = Marker.new("x").host
    dead = Marker("r1", "cxconf_dead0001_", host, pid, NOW_MS)
    mine = Marker("r2", "team_", host, pid, NOW_MS)
    live = Marker("r3", "cxconf_live0001_", host, os.getpid(), NOW_MS)
    actions = [
        stored("cxconf_dead0001_a", str(dead)),
        stored("cxconf_other_b", str(dead)),  # the name is not the marker's prefix
        stored("team_c", str(mine)),
        stored("cxconf_live0001_d", str(live)),
        stored("cxconf_dead0001_e", "hand-made, no marker"),
    ]
    stale, active = leftovers(actions, None, now_ms=NOW_MS + 1000)
    assert [c.name for c in stale.values()] == ["cxconf_dead0001_a"]
    assert active == ["cxconf_live0001_d"]
    stale, _ = leftovers(actions, "team_", now_ms=NOW_MS + 1000)
    assert sorted(c.name for c in stale.values()) == ["cxconf_dead0001_a", "team_c"]


def test_excerpts_hide_tokens_summarise_listings_and_stay_short():
    """No access token, listings as counts, long bodies cut, non-JSON text squeezed."""
    assert excerpt({"access_token": "cxe_secret", "expires_in": 3600}) == (
        '{"access_token":"***","expires_in":3600}'
    )
    assert excerpt({"entities": [{}, {}], "nextCursor": None}) == (
        '{"entities":"[2 actions]","nextCursor":null}'
    )
    long = excerpt({"message": "x" * 500})
    assert len(long) == 160
    assert long.endswith("…")
    assert excerpt(None, "Bad\n   Gateway") == "Bad Gateway"
    assert excerpt([1, 2]) == "[1,2]"


def test_dependents_are_deleted_before_what_they_call_even_in_a_cycle():
    """With b calling a and c calling b: c, b, a; a cycle still lists each action once."""
    created = {
        "a": Created("a"),
        "b": Created("b", ("a",)),
        "c": Created("c", ("b",)),
    }
    assert _dependents_first(["a", "b", "c"], created) == ["c", "b", "a"]
    looped = {"x": Created("x", ("y",)), "y": Created("y", ("x",))}
    assert sorted(_dependents_first(["x", "y"], looped)) == ["x", "y"]


def test_a_random_prefix_is_of_the_family_and_a_valid_name_start():
    """cxconf_ and 8 hex characters and _, fresh each time."""
    first, second = random_prefix(), random_prefix()
    assert first.startswith(FAMILY)
    assert len(first) == len(FAMILY) + 9
    assert first.endswith("_")
    assert first != second


PREFIXES = st.from_regex(r"[A-Za-z0-9_\-]{1,40}", fullmatch=True)


@given(prefix=PREFIXES, pid=st.integers(1, 2**22), started=st.integers(0, 2**45), tail=st.text())
def test_any_marker_is_read_back_from_any_description_it_starts(prefix, pid, started, tail):
    """Every prefix --prefix accepts, any pid and time: the description gives the marker back."""
    marker = Marker("0123abcd4567", prefix, "abcdef012345", pid, started)
    assert Marker.parse(str(marker) + tail) == marker


@given(
    secret=st.text(min_size=1),
    other=st.dictionaries(st.sampled_from(["error", "scope", "x"]), st.integers(), max_size=3),
)
def test_an_excerpt_never_shows_a_token(secret, other):
    """Whatever else a body holds, its access_token's value is never in the excerpt."""
    body = {**other, "access_token": "tok_" + secret}
    assert "tok_" + secret not in excerpt(body)
