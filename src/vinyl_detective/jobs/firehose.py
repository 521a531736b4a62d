"""The category firehose: one stream per record category, read newest first.

One call (`category_ids=<one category>`, `sort=newlyListed`, `limit=200`, no keywords)
returns the 200 newest listings of a whole category; every saved search that rides the
firehose is matched against them locally (`pipeline.process(..., check_keywords=True)`),
so one API call serves any number of searches. eBay honours a single `category_ids`
value, so Records, CDs and Cassettes are three streams.

A poll pages only until it reaches what the stream has already seen (jobs/newest.py:
the stream's high-water mark, less a small overlap). The very first poll of a stream
reads one page: the firehose is for new listings; a new search's older listings come
from its backfill. A poll that hits its page cap before reaching seen ground may have
missed listings; it says so (`reached_seen`), and the arrival-rate estimate then never
falls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from vinyl_detective.domain.polling import MAX_PAGES_PER_POLL, PAGE_SIZE, update_arrival_rate
from vinyl_detective.domain.query import KeywordIndex, folded_title
from vinyl_detective.jobs.newest import DEFAULT_OVERLAP, NewestRead, finish_read, read_newest
from vinyl_detective.jobs.pipeline import DealPipeline, PipelineCounts, Route
from vinyl_detective.sources.ebay import ListingSource
from vinyl_detective.storage import job_runs, stream_state

log = logging.getLogger(__name__)


@dataclass(slots=True)
class FirehoseResult:
    """What one poll of one stream did."""

    stream: str
    pages: int = 0
    listings: int = 0  # listings newer than what the stream had seen
    reached_seen: bool = False  # False: the page cap came first, listings may be missed
    arrivals_per_min: float | None = None
    wanted: int = 0  # of the new listings, those some search's keywords accept
    wanted_per_min: float | None = None  # smoothed: what the stream is worth to its riders
    counts: PipelineCounts = field(default_factory=PipelineCounts)


def routes_for_category(routes: Sequence[Route], category_id: str) -> list[Route]:
    """The firehose searches a category's listings may belong to (own category or none)."""
    return [
        r for r in routes if r.search is None or r.search.category_id in (None, "", category_id)
    ]


def _wanted(read: NewestRead, routes: Sequence[Route]) -> int:
    """How many of the listings new to this read some search's keywords accept (a search
    with no keywords accepts every one): the stream's worth, for the planner."""
    index = KeywordIndex([r.search.query if r.search is not None else "" for r in routes])
    since = read.since
    return sum(
        1
        for listing in read.listings
        if (since is None or listing.listed_at is None or listing.listed_at > since)
        and index.matching(folded_title(listing.title))
    )


async def poll_stream(
    *,
    engine: Engine,
    ebay: ListingSource,
    pipeline: DealPipeline,
    routes: Sequence[Route],
    marketplace: str,
    category_id: str,
    clock: Callable[[], datetime],
    max_pages: int = MAX_PAGES_PER_POLL,
    page_size: int = PAGE_SIZE,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> FirehoseResult:
    """Read one category stream down to what it has seen, and hand the new part on.

    `routes` are the firehose searches of this category (see `routes_for_category`).
    Records a job run "firehose" with target "<marketplace>:<category>".
    """
    started = time.perf_counter()
    now = clock()
    with engine.begin() as conn:
        stream = stream_state.ensure_stream(conn, marketplace, category_id)
        state = stream_state.get_stream(conn, stream)
        run_id = job_runs.start_job(conn, "firehose", stream, now)
    assert state is not None
    result = FirehoseResult(stream)
    error: str | None = None
    read = NewestRead()
    try:
        read = await read_newest(
            ebay,
            q=None,
            category_id=category_id,
            marketplace=marketplace,
            mark=state.seen,
            last_read_at=state.last_poll_at,
            max_pages=min(max_pages, MAX_PAGES_PER_POLL),
            page_size=page_size,
            overlap=overlap,
        )
        result.pages, result.reached_seen, result.listings = read.pages, read.reached_seen, read.new
        result.counts = await pipeline.process(read.listings, routes, check_keywords=True)
        result.arrivals_per_min = read.arrival_rate(state.arrivals_per_min, state.last_poll_at, now)
        result.wanted = _wanted(read, routes)
        if read.since is not None and state.last_poll_at is not None:
            result.wanted_per_min = update_arrival_rate(
                state.wanted_per_min,
                result.wanted,
                (now - state.last_poll_at).total_seconds() / 60,
                complete=read.reached_seen,
            )
        with engine.begin() as conn:
            stream_state.record_stream_poll(
                conn,
                stream,
                now=now,
                newest_listed_at=read.newest.listed_at,
                newest_item_id=read.newest.item_id,
                arrivals_per_min=result.arrivals_per_min,
                wanted_per_min=result.wanted_per_min,
            )
    except BaseException as exc:  # cancelled too: never recorded as a success
        error = job_runs.failure_text(exc)
        raise
    finally:
        finish_read(
            engine,
            run_id,
            clock(),
            what=f"firehose stream={stream}",
            read=read,
            counts=result.counts,
            error=error,
            started=started,
        )
    return result
