"""Polling eBay for one saved search on its own query, newest first, down to seen ground.

For searches the firehose cannot serve (another marketplace, another category, or asked
to query alone). A poll reads newest first down to the newest listing this search's own
polls (or its backfill) read last time (jobs/newest.py), up to `OWN_QUERY_MAX_PAGES`
pages of 200; the planner polls a busy search about once a page's worth of new listings
(domain/schedule_types.py), so that is ten times what a poll normally needs. The high-water
mark is the search's own: a listing stored meanwhile by another search or stream does
not stop the paging.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from vinyl_detective.domain.polling import OWN_QUERY_MAX_PAGES, PAGE_SIZE, SeenMark
from vinyl_detective.jobs.newest import NewestRead, finish_read, read_newest
from vinyl_detective.jobs.pipeline import DealPipeline, PipelineCounts, Route
from vinyl_detective.sources.ebay import ListingSource
from vinyl_detective.storage import job_runs, search_schedules, searches

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PollResult:
    """What one own-query poll did."""

    counts: PipelineCounts = field(default_factory=PipelineCounts)
    pages: int = 0
    new: int = 0  # listed since the previous poll's newest listing
    reached_seen: bool = False  # False: the page cap came first, listings may be missed
    arrivals_per_min: float | None = None


async def poll_search(
    *,
    engine: Engine,
    ebay: ListingSource,
    pipeline: DealPipeline,
    route: Route,
    clock: Callable[[], datetime],
    page_size: int = PAGE_SIZE,
    max_pages: int = OWN_QUERY_MAX_PAGES,
) -> PollResult:
    """Read the newest listings of `route.search` down to seen ground, hand them on."""
    search = route.search
    assert search is not None
    started = time.perf_counter()
    now = clock()
    with engine.begin() as conn:
        search_schedules.ensure_schedule(conn, search.id)
        state = search_schedules.get_schedule(conn, search.id)
        planned = searches.get_schedule(conn, search.id)
        run_id = job_runs.start_job(conn, "poll", f"search:{search.id}", now)
    assert state is not None
    mark, last_read_at = state.seen, state.last_poll_at
    served_at = planned.last_run_at if planned else None
    if served_at is not None and (last_read_at is None or served_at > last_read_at):
        # Something else served it since its own last poll (it rode the firehose, or it
        # ran before its own polls kept a mark): read down to that run, not further back.
        mark, last_read_at = SeenMark(), served_at
    result = PollResult()
    read = NewestRead()
    error: str | None = None
    try:
        read = await read_newest(
            ebay,
            q=search.query,
            category_id=search.category_id,
            marketplace=search.marketplace,
            mark=mark,
            last_read_at=last_read_at,
            max_pages=max_pages,
            page_size=page_size,
        )
        result.pages, result.new, result.reached_seen = read.pages, read.new, read.reached_seen
        result.counts = await pipeline.process(
            read.listings, [route], check_keywords=False, source_search_id=search.id
        )
        result.arrivals_per_min = read.arrival_rate(state.arrivals_per_min, last_read_at, now)
        with engine.begin() as conn:
            search_schedules.record_search_poll(
                conn,
                search.id,
                now=now,
                newest=read.newest,
                arrivals_per_min=result.arrivals_per_min,
            )
    except BaseException as exc:  # cancelled too: never recorded as a success
        error = job_runs.failure_text(exc)
        raise
    finally:
        finish_read(
            engine,
            run_id,
            clock(),
            what=f"poll search={search.id}",
            read=read,
            counts=result.counts,
            error=error,
            started=started,
        )
    return result
