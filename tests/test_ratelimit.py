"""The header-driven rate limiter, on a fake clock: no real time passes in these tests."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest

from vinyl_detective.sources.ratelimit import HeaderRateLimiter


class FakeTime:
    """A clock whose sleep advances it instantly, recording every wait."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def most_calls_in_any_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


async def test_a_burst_never_exceeds_the_limit_in_any_window(fake_time: FakeTime) -> None:
    limiter = HeaderRateLimiter(
        5, 60.0, min_interval=0, clock=fake_time.clock, sleep=fake_time.sleep
    )
    times = []
    for _ in range(23):
        await limiter.acquire()
        times.append(fake_time.now)

    assert most_calls_in_any_window(times, 60.0) == 5
    assert times[:5] == [1000.0] * 5  # the first five go out at once
    assert times[5] == pytest.approx(1060.0)


async def test_calls_are_spread_evenly_by_default(fake_time: FakeTime) -> None:
    limiter = HeaderRateLimiter(60, 60.0, clock=fake_time.clock, sleep=fake_time.sleep)
    times = []
    for _ in range(5):
        await limiter.acquire()
        times.append(fake_time.now)

    assert [b - a for a, b in itertools.pairwise(times)] == pytest.approx([1.0] * 4)


async def test_no_wait_when_calls_are_already_slow_enough(fake_time: FakeTime) -> None:
    limiter = HeaderRateLimiter(60, 60.0, clock=fake_time.clock, sleep=fake_time.sleep)
    for _ in range(3):
        await limiter.acquire()
        fake_time.now += 5.0

    assert fake_time.sleeps == []


async def test_waits_for_the_window_when_the_server_says_nothing_remains(
    fake_time: FakeTime,
) -> None:
    limiter = HeaderRateLimiter(60, 60.0, clock=fake_time.clock, sleep=fake_time.sleep)
    await limiter.acquire()
    limiter.update(
        {
            "X-Discogs-Ratelimit": "60",
            "X-Discogs-Ratelimit-Used": "60",
            "X-Discogs-Ratelimit-Remaining": "0",
        }
    )

    await limiter.acquire()

    assert fake_time.now == pytest.approx(1060.0)


async def test_calls_made_elsewhere_count_against_the_window(fake_time: FakeTime) -> None:
    """Another process on the same IP used 58 calls: only two more fit this minute."""
    limiter = HeaderRateLimiter(
        60, 60.0, min_interval=0, clock=fake_time.clock, sleep=fake_time.sleep
    )
    await limiter.acquire()
    limiter.update(httpx.Headers({"x-discogs-ratelimit-used": "58"}))
    await limiter.acquire()
    await limiter.acquire()
    assert fake_time.now == 1000.0

    await limiter.acquire()
    assert fake_time.now == pytest.approx(1060.0)


async def test_the_server_limit_header_replaces_the_assumed_limit(fake_time: FakeTime) -> None:
    limiter = HeaderRateLimiter(60, 60.0, clock=fake_time.clock, sleep=fake_time.sleep)
    limiter.update({"x-discogs-ratelimit": "25", "x-discogs-ratelimit-remaining": "25"})

    assert limiter.limit == 25
    assert limiter.min_interval == pytest.approx(60.0 / 25)


async def test_garbled_or_missing_headers_change_nothing(fake_time: FakeTime) -> None:
    limiter = HeaderRateLimiter(60, 60.0, clock=fake_time.clock, sleep=fake_time.sleep)
    limiter.update({"X-Discogs-Ratelimit": "lots", "X-Discogs-Ratelimit-Remaining": "-3"})
    limiter.update({})

    assert limiter.limit == 60
    assert limiter.used == 0


async def test_a_429_with_retry_after_holds_every_caller_back(fake_time: FakeTime) -> None:
    limiter = HeaderRateLimiter(
        60, 60.0, min_interval=0, clock=fake_time.clock, sleep=fake_time.sleep
    )
    await limiter.acquire()
    limiter.rate_limited(retry_after=7.5)

    await limiter.acquire()

    assert fake_time.now == pytest.approx(1007.5)


async def test_a_429_without_retry_after_holds_back_a_growing_pause(
    fake_time: FakeTime,
) -> None:
    limiter = HeaderRateLimiter(
        60, 60.0, min_interval=0, clock=fake_time.clock, sleep=fake_time.sleep
    )
    await limiter.acquire()
    waits = []
    for _ in range(6):
        assert limiter.rate_limited() == pytest.approx([5, 10, 20, 40, 60, 60][len(waits)])
        before = fake_time.now
        await limiter.acquire()
        waits.append(fake_time.now - before)

    assert waits == pytest.approx([5.0, 10.0, 20.0, 40.0, 60.0, 60.0])
    limiter.update({"X-Discogs-Ratelimit-Remaining": "59"})  # an answer: the streak ends
    assert limiter.refusals == 0
    assert limiter.rate_limited() == pytest.approx(5.0)


async def test_concurrent_callers_share_the_limit(fake_time: FakeTime) -> None:
    limiter = HeaderRateLimiter(
        3, 60.0, min_interval=0, clock=fake_time.clock, sleep=fake_time.sleep
    )
    times: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        times.append(fake_time.now)

    await asyncio.gather(*(call() for _ in range(10)))

    assert len(times) == 10
    assert most_calls_in_any_window(times, 60.0) == 3
    assert times == sorted(times)


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        HeaderRateLimiter(0)
