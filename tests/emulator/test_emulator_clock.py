"""The emulator's clock: frozen, advanced and resumed, directly and by POST /_emulator/clock."""

from __future__ import annotations

import httpx
import pytest
from emulator_process import API_ACTIONS

from cxone_provider.emulator.clock import EmulatorClock


class RealTime:
    """A settable stand-in for `time.monotonic`."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_clock_follows_the_real_time_plus_what_was_advanced():
    """Running, it moves with the real time; `advance` adds on top."""
    real = RealTime()
    clock = EmulatorClock(real)
    real.now = 105.0
    assert clock() == 105.0
    clock.advance(2.5)
    real.now = 106.0
    assert (clock(), clock.advanced_s, clock.frozen) == (108.5, 2.5, False)


def test_a_frozen_clock_moves_only_when_advanced():
    """Frozen, the real time passing changes nothing; `advance` still moves it."""
    real = RealTime()
    clock = EmulatorClock(real)
    clock.freeze()
    real.now = 150.0
    assert (clock(), clock.frozen) == (100.0, True)
    clock.advance(1.0)
    assert clock() == 101.0


def test_freezing_twice_keeps_the_first_moment():
    """A second freeze does not jump to the real time of the second call."""
    real = RealTime()
    clock = EmulatorClock(real)
    clock.freeze()
    real.now = 130.0
    clock.freeze()
    assert clock() == 100.0


def test_a_resumed_clock_runs_on_from_where_it_stood():
    """After a resume it neither jumps to the real time nor goes back."""
    real = RealTime()
    clock = EmulatorClock(real)
    clock.freeze()
    clock.advance(3.0)
    real.now = 160.0
    clock.resume()
    assert (clock(), clock.frozen) == (103.0, False)
    real.now = 161.0
    assert clock() == 104.0
    clock.resume()
    assert clock() == 104.0


def test_a_reset_clock_is_the_real_time_again():
    """Reset drops what was advanced and the time spent frozen, and lets it run."""
    real = RealTime()
    clock = EmulatorClock(real)
    clock.freeze()
    clock.advance(7.0)
    real.now = 120.0
    clock.reset()
    assert (clock(), clock.advanced_s, clock.frozen) == (120.0, 0.0, False)


def test_the_clock_never_moves_back():
    """A negative advance is refused and changes nothing."""
    clock = EmulatorClock(RealTime())
    with pytest.raises(ValueError, match=r"^the clock only moves forward; -1\.0 s is negative$"):
        clock.advance(-1.0)
    assert clock() == 100.0


def test_the_clock_endpoint_freezes_advances_and_resumes(emulator):
    """POST /_emulator/clock answers the clock's state; the emulator's reset sets it running."""
    assert emulator.move_clock(frozen=True) == {"frozen": True, "advanced_s": 0.0}
    assert emulator.move_clock(advance_s=1.5) == {"frozen": True, "advanced_s": 1.5}
    assert emulator.move_clock(frozen=False, advance_s=1.0) == {"frozen": False, "advanced_s": 2.5}
    emulator.move_clock(frozen=True)
    emulator.reset()
    assert emulator.move_clock() == {"frozen": False, "advanced_s": 0.0}


def test_advancing_the_clock_past_a_tokens_lifetime_expires_it(emulator):
    """The API reads the same clock: 3600 s on, the default token is refused."""
    with emulator.api() as api:
        assert api.get(API_ACTIONS).status_code == 200
        emulator.move_clock(advance_s=3600)
        expired = api.get(API_ACTIONS)
    assert (expired.status_code, expired.json()["message"]) == (
        401,
        "the access token has expired; request a new one",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"advance_s": -1}, "advance_s"),
        ({"advance_s": "soon"}, "advance_s"),
        ({"frozen": "maybe"}, "frozen"),
        ({"rewind_s": 1}, "rewind_s"),
    ],
    ids=["negative", "not-a-number", "not-a-boolean", "unknown-field"],
)
def test_a_bad_clock_request_is_validation_failed(emulator, body, field):
    """400 VALIDATION_FAILED naming the field; the clock is left as it was."""
    response = httpx.post(emulator.base_url + "/_emulator/clock", json=body, timeout=10.0)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["error"] == "VALIDATION_FAILED"
    assert [detail["field"] for detail in answer["details"]] == [field]
    assert emulator.move_clock() == {"frozen": False, "advanced_s": 0.0}
