"""The pacer mirrors the server's token bucket: free while tokens last, then the server's rate."""

from __future__ import annotations

import pytest

from cxone_provider.api.pacing import RatePacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def bucket(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }


def test_without_rate_limit_headers_nothing_waits():
    """Before the server has described its bucket, requests are not delayed."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe({})
    assert [pacer.reserve() for _ in range(100)] == [0.0] * 100


def test_requests_go_at_once_while_the_bucket_holds_tokens():
    """With tokens remaining, no request waits."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe(bucket(limit=40, remaining=30, reset=1.0))  # refills 10 tokens per second
    assert [pacer.reserve() for _ in range(30)] == [0.0] * 30


def test_an_empty_bucket_spaces_requests_at_the_refill_rate():
    """Once the tokens are spent, each further request waits one more refill interval."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe(bucket(limit=40, remaining=0, reset=4.0))  # 10 tokens per second
    assert [pacer.reserve() for _ in range(3)] == pytest.approx([0.1, 0.2, 0.3])


def test_tokens_refill_with_time():
    """After waiting, the bucket has refilled and requests go at once again."""
    clock = FakeClock()
    pacer = RatePacer(clock=clock)
    pacer.observe(bucket(limit=40, remaining=0, reset=4.0))
    clock.now += 0.5  # five tokens back
    assert [pacer.reserve() for _ in range(5)] == [0.0] * 5
    assert pacer.reserve() == pytest.approx(0.1)


def test_the_server_count_wins_when_it_is_lower():
    """A server reporting fewer tokens (other clients share the bucket) lowers the estimate."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe(bucket(limit=40, remaining=30, reset=1.0))
    pacer.observe(bucket(limit=40, remaining=0, reset=4.0))
    assert pacer.reserve() == pytest.approx(0.1)


@pytest.mark.parametrize("value", ["", "many", "-3"])
def test_malformed_headers_are_ignored(value):
    """A header that is not a non-negative number leaves the pacer as it was."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe(
        {"X-RateLimit-Limit": "40", "X-RateLimit-Remaining": value, "X-RateLimit-Reset": "1"}
    )
    assert pacer.reserve() == 0.0
