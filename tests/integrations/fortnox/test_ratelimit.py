"""The sliding-window limiter with a fake clock (no real time passes), plus one real-threads check."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.integrations.fortnox.ratelimit import SlidingWindowLimiter, limiter_for


class FakeTime:
    """A clock that only moves when the limiter sleeps (or the test advances it)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "the limiter must never busy-loop with zero sleeps"
        self.slept.append(seconds)
        self.now += seconds

    def limiter(self, **kwargs) -> SlidingWindowLimiter:
        return SlidingWindowLimiter(clock=self.clock, sleep=self.sleep, **kwargs)


def test_defaults_are_24_calls_per_5_seconds():
    limiter = SlidingWindowLimiter()

    assert (limiter.max_calls, limiter.period) == (24, 5.0)


def test_24_calls_go_at_once_and_the_25th_waits_for_the_first_to_leave_the_window():
    fake = FakeTime()
    limiter = fake.limiter()

    for _ in range(24):
        limiter.acquire()
    assert fake.slept == []

    limiter.acquire()

    assert fake.now == pytest.approx(1005.0)
    assert limiter.in_window() == 1


def test_the_window_slides_call_by_call():
    fake = FakeTime()
    limiter = fake.limiter(max_calls=3, period=5.0)
    starts = []
    for gap in (0.0, 1.0, 1.0):  # calls at 0, 1, 2
        fake.now += gap
        starts.append(limiter.acquire().stamp)

    starts.extend(limiter.acquire().stamp for _ in range(3))

    assert [round(s - 1000.0, 6) for s in starts] == [0, 1, 2, 5, 6, 7]


def test_a_released_call_holds_its_slot_until_a_period_after_its_response():
    fake = FakeTime()
    limiter = fake.limiter(max_calls=1, period=5.0)
    with limiter.slot():
        fake.now += 2.0  # the response took 2 s: Fortnox may have counted the call as late as that

    limiter.acquire()

    assert fake.now == pytest.approx(1007.0)


def test_an_unreleased_call_frees_its_slot_a_period_after_it_started():
    fake = FakeTime()
    limiter = fake.limiter(max_calls=1, period=5.0)
    limiter.acquire()

    limiter.acquire()

    assert fake.now == pytest.approx(1005.0)


def test_a_429_without_retry_after_pauses_a_whole_window_even_when_the_window_looks_empty():
    fake = FakeTime()
    limiter = fake.limiter()
    limiter.acquire()

    limiter.report_rate_limited()
    limiter.acquire()

    assert fake.now == pytest.approx(1005.0)


def test_a_429_with_retry_after_pauses_that_long():
    fake = FakeTime()
    limiter = fake.limiter()

    limiter.report_rate_limited(retry_after=12.5)
    limiter.acquire()

    assert fake.now == pytest.approx(1012.5)


def test_a_shorter_retry_after_does_not_cut_a_longer_pause():
    fake = FakeTime()
    limiter = fake.limiter()

    limiter.report_rate_limited(retry_after=10)
    limiter.report_rate_limited(retry_after=1)
    limiter.acquire()

    assert fake.now == pytest.approx(1010.0)


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0, max_value=3, allow_nan=False), min_size=1, max_size=120),
    durations=st.lists(st.floats(min_value=0, max_value=6, allow_nan=False), min_size=1, max_size=120),
    max_calls=st.integers(min_value=1, max_value=30),
)
def test_never_more_than_max_calls_start_within_one_period(gaps, durations, max_calls):
    """Whatever the arrival pattern and response times, no period holds more than max_calls starts,
    and when a call starts, fewer than max_calls earlier calls ended less than a period before."""
    fake = FakeTime()
    limiter = fake.limiter(max_calls=max_calls, period=5.0)
    starts, ends = [], []
    for i, gap in enumerate(gaps):
        fake.now += gap
        with limiter.slot() as permit:
            starts.append(permit.stamp)
            fake.now += durations[i % len(durations)]
        ends.append(fake.now)

    for i in range(len(starts) - max_calls):
        assert starts[i + max_calls] - starts[i] >= 5.0 - 1e-9
    for j, start in enumerate(starts):
        assert sum(1 for end in ends[:j] if end + 5.0 > start + 1e-9) < max_calls


def test_limiter_for_gives_one_limiter_per_key():
    first = limiter_for("tenant:test-registry-1")

    assert limiter_for("tenant:test-registry-1") is first
    assert limiter_for("tenant:test-registry-2") is not first


def test_concurrent_threads_share_the_window():
    limiter = SlidingWindowLimiter(max_calls=5, period=0.2)
    starts: list[float] = []
    lock = threading.Lock()

    def work():
        for _ in range(5):
            stamp = limiter.acquire().stamp
            with lock:
                starts.append(stamp)

    threads = [threading.Thread(target=work) for _ in range(8)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    starts.sort()
    assert len(starts) == 40
    assert all(later - earlier >= 0.2 - 1e-6 for earlier, later in zip(starts, starts[5:], strict=False))
    assert time.monotonic() - began >= 7 * 0.2  # 40 calls, 5 per window: the 36th starts at 1.4 s
