"""The category firehose: one stream per record category, read newest first.

One call (`category_ids=<one category>`, `sort=newlyListed`, `limit=200`, no keywords)
returns the 200 newest listings of a whole category; every saved search that rides the
firehose is matched against them locally (`pipeline.process(..., check_keywords=True)`),
so one API call serves any number of searches. eBay honours a single `category_ids`
value, so Records, CDs and Cassettes are three streams.

A poll pages (offset 0, 200, 400, …) only until it reaches what the stream has already
seen: a listing older than the stream's high-water mark (`newest_listed_at`, minus a
small `overlap` for listings that reach eBay's index late) or the newest item id it
recorded. The very first poll of a stream reads one page: the firehose is for new
listings; a new search's older listings come from its backfill. A poll that hits its page
cap before reaching seen ground may have missed listings; it says so (`reached_seen`),
and the arrival-rate estimate then never falls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import Listing
from vinyl_detective.domain.schedule import MAX_PAGES_PER_POLL, PAGE_SIZE, update_arrival_rate
from vinyl_detective.jobs.pipeline import DealPipeline, PipelineCounts, Route
from vinyl_detective.sources.ebay import ListingSource
from vinyl_detective.storage import checkpoints, job_runs

log = logging.getLogger(__name__)

# Listings can reach eBay's search index a little after their start time; re-reading the
# last minutes costs nothing (the pipeline skips listings it already stored).
DEFAULT_OVERLAP = timedelta(minutes=2)


@dataclass(slots=True)
class FirehoseResult:
    """What one poll of one stream did."""

    stream: str
    pages: int = 0
    listings: int = 0  # listings newer than what the stream had seen
    reached_seen: bool = False  # False: the page cap came first, listings may be missed
    arrivals_per_min: float | None = None
    counts: PipelineCounts = field(default_factory=PipelineCounts)


def routes_for_category(routes: Sequence[Route], category_id: str) -> list[Route]:
    """The firehose searches a category's listings may belong to (own category or none)."""
    return [
        r for r in routes if r.search is None or r.search.category_id in (None, "", category_id)
    ]


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
        stream = checkpoints.ensure_stream(conn, marketplace, category_id)
        state = checkpoints.get_stream(conn, stream)
        run_id = job_runs.start_job(conn, "firehose", stream, now)
    assert state is not None
    result = FirehoseResult(stream)
    high_water = state.newest_listed_at
    stop_before = high_water - overlap if high_water is not None else None
    pages_allowed = 1 if high_water is None else max(1, min(max_pages, MAX_PAGES_PER_POLL))
    error: str | None = None
    fetched: list[Listing] = []
    try:
        for page_no in range(pages_allowed):
            page = await ebay.search(
                q=None,
                category_id=category_id,
                limit=page_size,
                offset=page_no * page_size,
                sort="newlyListed",
            )
            result.pages += 1
            for listing in page.listings:
                if _already_seen(listing, state.newest_item_id, stop_before):
                    result.reached_seen = True
                    break
                fetched.append(listing)
            if result.reached_seen or not page.has_next:
                result.reached_seen = result.reached_seen or not page.has_next
                break
        if high_water is None:
            result.reached_seen = True  # a first poll reads one page by design
        newer = [
            lst
            for lst in fetched
            if high_water is None or lst.listed_at is None or lst.listed_at > high_water
        ]
        result.listings = len(newer)
        result.counts = await pipeline.process(fetched, routes, check_keywords=True)
        newest = max(
            (lst for lst in fetched if lst.listed_at is not None),
            key=lambda lst: lst.listed_at or now,
            default=None,
        )
        if high_water is not None and state.last_poll_at is not None:
            elapsed = (now - state.last_poll_at).total_seconds() / 60
            result.arrivals_per_min = update_arrival_rate(
                state.arrivals_per_min, len(newer), elapsed, complete=result.reached_seen
            )
        else:
            result.arrivals_per_min = state.arrivals_per_min
        with engine.begin() as conn:
            checkpoints.record_stream_poll(
                conn,
                stream,
                now=now,
                newest_listed_at=newest.listed_at if newest else None,
                newest_item_id=newest.item_id if newest else None,
                arrivals_per_min=result.arrivals_per_min,
            )
    except Exception as exc:
        error = str(exc) or type(exc).__name__
        raise
    finally:
        with engine.begin() as conn:
            job_runs.finish_job(
                conn,
                run_id,
                clock(),
                fetched=result.counts.fetched or len(fetched),
                inserted=result.counts.new,
                skipped=result.counts.skipped,
                error=error,
            )
        if not result.reached_seen and error is None:
            log.warning(
                "firehose %s: %d pages did not reach the listings seen last time; some "
                "listings may have been missed (poll more often)",
                stream,
                result.pages,
            )
        log.info(
            "firehose stream=%s pages=%d %s in %.1fs%s",
            stream,
            result.pages,
            result.counts.summary(),
            time.perf_counter() - started,
            f" error={error}" if error else "",
        )
    return result


def _already_seen(
    listing: Listing, newest_item_id: str | None, stop_before: datetime | None
) -> bool:
    """Older than the high-water mark (less the overlap); by id when a listing has no time."""
    if listing.listed_at is None:
        return newest_item_id is not None and listing.item_id == newest_item_id
    return stop_before is not None and listing.listed_at < stop_before
