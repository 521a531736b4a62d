"""Backwards paging: each of the five stop conditions, the natural end, and resumption."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vinyl_detective.errors import RateLimitedError, RetryableError
from vinyl_detective.jobs.paging import (
    Page,
    PagingLimits,
    PagingState,
    StopReason,
    page_backwards,
)

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)


class Timeline:
    """A peer with `count` entries one hour apart, newest first, paged by offset."""

    def __init__(self, count: int, page_size: int = 10) -> None:
        self.stamps = [NOW - timedelta(hours=i) for i in range(count)]
        self.page_size = page_size
        self.requests: list[int] = []
        self.rate_limit_next = 0
        self.fail_at: int | None = None

    async def fetch(self, offset: int) -> Page[datetime, int]:
        self.requests.append(offset)
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            raise RateLimitedError("peer", "slow down", retry_after=7)
        if self.fail_at == offset:
            raise RetryableError("peer", "HTTP 503")
        items = self.stamps[offset : offset + self.page_size]
        following = offset + self.page_size
        return Page(
            items,
            next_cursor=following if following < len(self.stamps) else None,
            oldest=min(items) if items else None,
        )


class Sleeps:
    def __init__(self) -> None:
        self.waited: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waited.append(seconds)


async def test_paging_reads_every_page_until_the_source_has_no_more() -> None:
    peer = Timeline(25)
    seen: list[datetime] = []

    async def keep(page: Page[datetime, int], _state: PagingState[int]) -> None:
        seen.extend(page.items)

    result = await page_backwards(
        peer.fetch, 0, now=NOW, limits=PagingLimits(max_requests=10), on_page=keep
    )
    assert result.reason is StopReason.END
    assert result.complete
    assert seen == peer.stamps
    assert result.state.earliest_seen == peer.stamps[-1]
    assert result.state.requests == 3


async def test_an_empty_page_stops_paging() -> None:
    async def empty(_cursor: int) -> Page[datetime, int]:
        return Page([], next_cursor=1)

    result = await page_backwards(empty, 0, now=NOW, limits=PagingLimits())
    assert result.reason is StopReason.EMPTY_PAGE
    assert result.state.requests == 1


async def test_a_page_with_nothing_older_stops_paging() -> None:
    peer = Timeline(40)

    async def stuck(offset: int) -> Page[datetime, int]:
        # The peer ignores the offset and keeps answering the first page.
        return await peer.fetch(0)

    result = await page_backwards(stuck, 0, now=NOW, limits=PagingLimits())
    assert result.reason is StopReason.NO_PROGRESS
    assert result.state.pages == 1


async def test_a_cursor_that_does_not_move_stops_paging_when_items_have_no_time() -> None:
    async def same(cursor: int) -> Page[str, int]:
        return Page(["a", "b"], next_cursor=cursor)

    result = await page_backwards(same, 5, now=NOW, limits=PagingLimits())
    assert result.reason is StopReason.NO_PROGRESS


async def test_paging_stops_once_it_reaches_the_maximum_age() -> None:
    peer = Timeline(100)
    result = await page_backwards(
        peer.fetch, 0, now=NOW, limits=PagingLimits(max_age=timedelta(hours=25))
    )
    assert result.reason is StopReason.MAX_AGE
    assert result.complete
    # 10 hours a page: the third page holds hour 29, older than 25 hours.
    assert peer.requests == [0, 10, 20]


async def test_paging_stops_at_the_request_allowance_and_can_resume_where_it_stopped() -> None:
    peer = Timeline(100)
    first = await page_backwards(peer.fetch, 0, now=NOW, limits=PagingLimits(max_requests=2))
    assert first.reason is StopReason.MAX_REQUESTS
    assert not first.complete
    assert first.state.cursor == 20

    resumed = await page_backwards(
        peer.fetch,
        first.state.cursor or 0,
        now=NOW,
        limits=PagingLimits(max_requests=4),
        requests_done=first.state.requests,
        earliest_seen=first.state.earliest_seen,
    )
    assert resumed.reason is StopReason.MAX_REQUESTS
    assert peer.requests == [0, 10, 20, 30]


async def test_a_rate_limited_page_waits_as_told_and_is_retried() -> None:
    peer = Timeline(15)
    peer.rate_limit_next = 2
    sleeps = Sleeps()
    result = await page_backwards(peer.fetch, 0, now=NOW, limits=PagingLimits(), sleep=sleeps)
    assert result.reason is StopReason.END
    assert sleeps.waited == [7, 7]
    assert result.state.items == 15
    assert result.state.rate_limited == 2


async def test_too_many_rate_limits_stop_paging_and_leave_it_resumable() -> None:
    peer = Timeline(50)
    sleeps = Sleeps()
    limits = PagingLimits(max_rate_limited=3)

    async def then_limited(offset: int) -> Page[datetime, int]:
        if offset >= 10:
            peer.rate_limit_next = 1
        return await peer.fetch(offset)

    result = await page_backwards(then_limited, 0, now=NOW, limits=limits, sleep=sleeps)
    assert result.reason is StopReason.RATE_LIMITED
    assert not result.complete
    assert result.state.cursor == 10
    assert len(sleeps.waited) == 3


async def test_an_unexpected_error_propagates_after_the_pages_before_it_were_handed_over() -> None:
    peer = Timeline(50)
    peer.fail_at = 20
    checkpoints: list[int | None] = []

    async def checkpoint(_page: Page[datetime, int], state: PagingState[int]) -> None:
        checkpoints.append(state.cursor)

    with pytest.raises(RetryableError):
        await page_backwards(peer.fetch, 0, now=NOW, limits=PagingLimits(), on_page=checkpoint)
    assert checkpoints == [10, 20]
