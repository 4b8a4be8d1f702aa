"""The pacer mirrors the server's token bucket: free while tokens last, then the server's rate."""

from __future__ import annotations

import pytest

from cxone_provider.api.pacing import RatePacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeSleep:
    """Records each sleep instead of sleeping, and moves the clock on by it."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.now += seconds


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


def test_the_refill_rate_is_the_spent_tokens_over_the_reset_time():
    """20 of 40 tokens spent with 2 s to refill: 10 tokens per second, 0.1 s per request."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe(bucket(limit=40, remaining=20, reset=2.0))
    assert [pacer.reserve() for _ in range(20)] == [0.0] * 20
    assert [pacer.reserve() for _ in range(2)] == pytest.approx([0.1, 0.2])


def test_the_servers_rate_is_trusted_once_a_quarter_of_the_bucket_is_spent():
    """10 of 40 spent with 1 s to refill is a rate of 10/s: the 31st request waits 0.1 s."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe(bucket(limit=40, remaining=30, reset=1.0))
    assert [pacer.reserve() for _ in range(30)] == [0.0] * 30
    assert pacer.reserve() == pytest.approx(0.1)


def test_less_than_a_quarter_spent_tells_no_rate():
    """9 of 40 spent is too little to estimate from: nothing is paced, however many go."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe(bucket(limit=40, remaining=31, reset=1.0))
    assert [pacer.reserve() for _ in range(100)] == [0.0] * 100


def test_a_small_bucket_needs_two_spent_tokens_for_a_rate():
    """In a bucket of 8, two spent tokens are enough (a quarter), one is not (under two)."""
    two_spent = RatePacer(clock=FakeClock())
    two_spent.observe(bucket(limit=8, remaining=6, reset=1.0))  # 2 tokens per second
    assert [two_spent.reserve() for _ in range(7)] == pytest.approx([0.0] * 6 + [0.5])
    one_spent = RatePacer(clock=FakeClock())
    one_spent.observe(bucket(limit=4, remaining=3, reset=1.0))  # a quarter, but only one token
    assert [one_spent.reserve() for _ in range(10)] == [0.0] * 10


def test_reset_zero_is_not_a_division():
    """`X-RateLimit-Reset: 0` (the bucket is full right now) sets no rate and raises nothing."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe(bucket(limit=40, remaining=0, reset=0))
    assert [pacer.reserve() for _ in range(50)] == [0.0] * 50


def test_a_later_reset_zero_keeps_the_rate_already_learnt():
    """An answer that cannot tell a rate leaves the known rate as it was."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe(bucket(limit=40, remaining=0, reset=4.0))  # 10 tokens per second
    pacer.observe(bucket(limit=40, remaining=0, reset=0))
    assert pacer.reserve() == pytest.approx(0.1)


def test_rates_of_one_request_per_second_and_slower_are_paced():
    """A bucket of 10 refilling in 20 s (0.5/s): a request waits 2 s, and refills still count."""
    clock = FakeClock()
    pacer = RatePacer(clock=clock)
    pacer.observe(bucket(limit=10, remaining=0, reset=20.0))
    assert pacer.reserve() == pytest.approx(2.0)
    clock.now += 4.0  # two tokens back: the debt of one is paid, one is left
    assert pacer.reserve() == 0.0
    assert pacer.reserve() == pytest.approx(2.0)


def test_exactly_one_request_per_second_is_paced():
    """A bucket of 4 refilling in 4 s: each request past the bucket waits one more second."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe(bucket(limit=4, remaining=0, reset=4.0))
    assert [pacer.reserve() for _ in range(3)] == pytest.approx([1.0, 2.0, 3.0])


def test_a_partly_refilled_token_is_enough_and_never_a_negative_wait():
    """1.5 tokens back after 0.15 s at 10/s: the next request goes at once, with a 0.0 wait."""
    clock = FakeClock()
    pacer = RatePacer(clock=clock)
    pacer.observe(bucket(limit=40, remaining=0, reset=4.0))
    clock.now += 0.15
    assert pacer.reserve() == 0.0
    assert pacer.reserve() == pytest.approx(0.05)


def test_our_count_wins_when_it_is_lower():
    """Requests reserved but not yet counted by the server keep their tokens spent."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe(bucket(limit=40, remaining=0, reset=4.0))  # 10 tokens per second
    assert [pacer.reserve() for _ in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    pacer.observe(bucket(limit=40, remaining=0, reset=4.0))  # those three are still in flight
    assert pacer.reserve() == pytest.approx(0.4)


def test_a_count_above_the_old_capacity_is_kept_when_the_bucket_grows():
    """The server's Remaining is taken at its word, even above its Limit (a bucket resized)."""
    pacer = RatePacer(clock=FakeClock())
    pacer.observe(bucket(limit=40, remaining=50, reset=1.0))
    pacer.observe(bucket(limit=100, remaining=50, reset=5.0))  # 10 tokens per second
    assert [pacer.reserve() for _ in range(50)] == [0.0] * 50
    assert pacer.reserve() == pytest.approx(0.1)


def test_the_bucket_never_refills_beyond_its_capacity():
    """After a long idle time the bucket holds its Limit of tokens, not more."""
    clock = FakeClock()
    pacer = RatePacer(clock=clock)
    pacer.observe(bucket(limit=40, remaining=0, reset=4.0))
    clock.now += 3600.0
    assert [pacer.reserve() for _ in range(40)] == [0.0] * 40
    assert pacer.reserve() == pytest.approx(0.1)


def test_wait_sleeps_exactly_the_reserved_delay():
    """At 10 tokens per second each wait() past the bucket sleeps 0.1 s (its sleep refills)."""
    clock = FakeClock()
    sleep = FakeSleep(clock)
    pacer = RatePacer(clock=clock, sleep=sleep)
    pacer.observe(bucket(limit=40, remaining=0, reset=4.0))
    pacer.wait()
    pacer.wait()
    assert sleep.slept == pytest.approx([0.1, 0.1])


def test_wait_does_not_sleep_while_tokens_remain():
    """With tokens in the bucket, wait() returns without calling sleep at all."""
    clock = FakeClock()
    sleep = FakeSleep(clock)
    pacer = RatePacer(clock=clock, sleep=sleep)
    pacer.observe(bucket(limit=40, remaining=20, reset=2.0))
    for _ in range(20):
        pacer.wait()
    assert sleep.slept == []
