"""A new search's backfill against the fake eBay: stop conditions, checkpoints, resumption."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from test_firehose import NOW, World, item, open_world
from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.errors import RateLimitedError
from vinyl_detective.jobs.backfill import BackfillResult, backfill_search
from vinyl_detective.jobs.paging import PagingLimits, StopReason
from vinyl_detective.jobs.pipeline import Route
from vinyl_detective.storage import checkpoints, job_runs, listings


@pytest.fixture
async def world(engine: Engine) -> AsyncIterator[World]:
    async with open_world(engine) as opened:
        yield opened


BLAKEY = "Art Blakey Moanin' LP Blue Note BLP 4003"


def blakeys(start: int, count: int, newest_hours_ago: float, *, step_hours: float = 1) -> list[Any]:
    """`count` overpriced Blakey listings, one every `step_hours`, newest first."""
    return [
        item(start + i, f"{BLAKEY} copy {i}", "150.00", (newest_hours_ago + i * step_hours) * 60)
        for i in range(count)
    ]


async def backfill(world: World, search: SavedSearch, **kw: Any) -> BackfillResult:
    kw.setdefault(
        "limits", PagingLimits(max_requests=10, max_age=timedelta(days=60), max_rate_limited=0)
    )
    return await backfill_search(
        engine=world.engine,
        ebay=world.ebay,
        pipeline=world.pipeline,
        route=Route(search, None),
        clock=world.clock,
        sleep=_no_sleep,
        **kw,
    )


async def _no_sleep(_seconds: float) -> None:
    return None


def offsets(world: World) -> list[int]:
    return [int(r.params["offset"]) for r in world.fake.requests]


async def test_backfill_reads_older_listings_until_the_end_and_completes(world: World) -> None:
    search = world.add_search("art blakey")
    world.fake.add_items(blakeys(1, 450, newest_hours_ago=1, step_hours=0.5))

    result = await backfill(world, search)

    assert result.reason is StopReason.END
    assert result.completed
    assert offsets(world) == [0, 200, 400]
    assert result.counts.new == 450
    with world.engine.connect() as conn:
        checkpoint = checkpoints.get_checkpoint(conn, search.id)
        runs = job_runs.recent_runs(conn, job_type="backfill")
    assert checkpoint is not None
    assert checkpoint.completed_at == NOW
    assert checkpoint.status is checkpoints.BackfillStatus.IDLE
    assert checkpoint.earliest_seen == NOW - timedelta(hours=1 + 449 * 0.5)
    assert checkpoint.requests == 3
    assert [(r.status, r.target, r.inserted) for r in runs] == [
        ("success", f"search:{search.id}", 450)
    ]


async def test_a_completed_backfill_is_skipped(world: World) -> None:
    search = world.add_search("art blakey")
    world.fake.add_items(blakeys(1, 3, newest_hours_ago=1))
    await backfill(world, search)
    calls = world.fake.calls

    again = await backfill(world, search)

    assert again.skipped
    assert world.fake.calls == calls


async def test_only_listings_from_the_last_day_alert_the_rest_are_only_stored(
    world: World, engine: Engine
) -> None:
    search = world.add_search("art blakey")
    world.fake.add_items(
        [
            item(1, BLAKEY, "20.00", 60 * 3),  # three hours old: still worth an alert
            item(2, f"{BLAKEY} mono", "20.00", 60 * 24 * 5),  # five days old: history only
        ]
    )
    result = await backfill(world, search)
    assert result.counts.deals == 1
    assert [d.listing.item_id for d in world.inboxes[search.id].deals] == ["v1|286000000001|0"]
    with engine.connect() as conn:
        old = listings.get_listing(conn, "v1|286000000002|0")
    assert old is not None
    assert old.match is not None  # identified for the history, locally
    assert old.deal_score is None  # but not priced: nobody is told about it, no Discogs call


async def test_an_empty_result_completes_the_backfill_at_once(world: World) -> None:
    search = world.add_search("nothing matches this")
    result = await backfill(world, search)
    assert result.reason is StopReason.EMPTY_PAGE
    assert result.completed
    assert world.fake.calls == 1


async def test_the_backfill_stops_at_the_maximum_age(world: World) -> None:
    search = world.add_search("art blakey")
    world.fake.add_items(blakeys(1, 600, newest_hours_ago=1, step_hours=6))  # 150 days
    result = await backfill(
        world, search, limits=PagingLimits(max_requests=10, max_age=timedelta(days=30))
    )
    assert result.reason is StopReason.MAX_AGE
    assert result.completed
    assert offsets(world) == [0]  # the first page already reaches 50 days back


async def test_a_long_backfill_spreads_over_runs_and_resumes_where_it_stopped(
    world: World,
) -> None:
    search = world.add_search("art blakey")
    world.fake.add_items(blakeys(1, 700, newest_hours_ago=1, step_hours=0.5))
    limits = PagingLimits(max_requests=2, max_age=timedelta(days=60))

    first = await backfill(world, search, limits=limits)
    assert first.reason is StopReason.MAX_REQUESTS
    assert not first.completed
    second = await backfill(world, search, limits=limits)

    assert second.reason is StopReason.END
    assert second.completed
    assert offsets(world) == [0, 200, 400, 600]
    with world.engine.connect() as conn:
        checkpoint = checkpoints.get_checkpoint(conn, search.id)
    assert checkpoint is not None
    assert checkpoint.requests == 4


async def test_after_a_failure_the_backfill_resumes_from_its_checkpoint(world: World) -> None:
    search = world.add_search("art blakey")
    world.fake.add_items(blakeys(1, 500, newest_hours_ago=1, step_hours=0.5))
    await backfill(world, search, limits=PagingLimits(max_requests=1))
    world.fake.fail_next(400)

    with pytest.raises(Exception, match="ebay"):  # the scheduler logs it and goes on
        await backfill(world, search)
    with world.engine.connect() as conn:
        failed = checkpoints.get_checkpoint(conn, search.id)
        runs = job_runs.recent_runs(conn, job_type="backfill")
    assert failed is not None
    assert failed.status is checkpoints.BackfillStatus.ERROR
    assert failed.error is not None
    assert failed.cursor == 200
    assert runs[0].status == "error"

    resumed = await backfill(world, search)
    assert resumed.completed
    assert offsets(world) == [0, 200, 200, 400]
    with world.engine.connect() as conn:
        done = checkpoints.get_checkpoint(conn, search.id)
    assert done is not None
    assert done.status is checkpoints.BackfillStatus.IDLE
    assert done.error is None


async def test_ebay_saying_too_many_requests_stops_the_backfill_until_a_later_run(
    world: World,
) -> None:
    search = world.add_search("art blakey")
    world.fake.add_items(blakeys(1, 10, newest_hours_ago=1))
    world.fake.fail_next(429, times=1, retry_after=30)

    with pytest.raises(RateLimitedError) as refused:  # the scheduler pauses API work on it
        await backfill(world, search)

    assert refused.value.retry_after == 30  # as long as eBay asked: not until the reset
    assert world.fake.calls == 1  # no retries burning the daily quota
    with world.engine.connect() as conn:
        checkpoint = checkpoints.get_checkpoint(conn, search.id)
    assert checkpoint is not None
    assert checkpoint.completed_at is None
    later = await backfill(world, search)
    assert later.completed


async def test_a_paused_backfill_is_skipped(world: World) -> None:
    search = world.add_search("art blakey")
    world.fake.add_items(blakeys(1, 3, newest_hours_ago=1))
    with world.engine.begin() as conn:
        checkpoints.set_backfill_paused(conn, search.id, True, NOW)
        assert checkpoints.pending_backfills(conn) == []
    result = await backfill(world, search)
    assert result.skipped
    assert world.fake.calls == 0


class Display:
    """A live display's view of the backfills (what a terminal would show)."""

    def __init__(self) -> None:
        self.lines: dict[int, str] = {}
        self.runs_ended: list[tuple[int, bool]] = []

    def page(self, search: SavedSearch, pages: int, listings: int, back_to: Any) -> None:
        self.lines[search.id] = f"{pages} pages, {listings} listings, back to {back_to:%H:%M}"

    def finished(self, search: SavedSearch, *, complete: bool) -> None:
        self.runs_ended.append((search.id, complete))


async def test_a_long_backfill_shows_its_progress_across_runs(world: World) -> None:
    search = world.add_search("art blakey")
    world.fake.add_items(blakeys(1, 700, newest_hours_ago=1, step_hours=0.5))
    limits = PagingLimits(max_requests=2, max_age=timedelta(days=60))
    display = Display()

    await backfill(world, search, limits=limits, progress=display)
    after_first = display.lines[search.id]
    await backfill(world, search, limits=limits, progress=display)

    oldest = NOW - timedelta(hours=1 + 699 * 0.5)
    assert after_first.startswith("2 pages, 400 listings")
    assert display.lines[search.id] == f"4 pages, 300 listings, back to {oldest:%H:%M}"
    assert display.runs_ended == [(search.id, False), (search.id, True)]


def test_the_live_backfill_display_shows_on_a_terminal_only() -> None:
    import io

    from rich.console import Console

    from vinyl_detective.jobs.backfill import rich_backfill_progress

    with rich_backfill_progress(Console(file=io.StringIO())) as shown:
        assert shown is None  # not a terminal: the log lines are the progress

    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    search = SavedSearch(id=7, query="art blakey")
    with rich_backfill_progress(terminal) as shown:
        assert shown is not None
        shown.page(search, 3, 600, NOW)
        terminal.print("a log line")
    text = screen.getvalue()
    assert "Backfill #7 art blakey" in text
    assert "3 pages" in text
    assert "600 listings this run" in text
    assert f"back to {NOW:%Y-%m-%d %H:%M}" in text
