"""Reading eBay newest first, down to what was read last time.

Both kinds of poll work this way: a firehose stream (a whole record category, no
keywords) and a search that queries on its own (its keywords, maybe another marketplace
or category). A poll asks for `sort=newlyListed` pages (offset 0, size, 2·size, …) and
stops at the first of

- a listing older than the high-water mark (`SeenMark`, the newest listing the previous
  polls read; when they read none, the time of the last poll) less `overlap`, for
  listings that reach eBay's index a little late;
- the source's last page;
- the page cap (`max_pages`): then listings between this poll's last page and the mark
  may be missed, and the read says so (`reached_seen` False).

A very first read (never read before) reads one page: polls are for new listings, and a
search's older listings come from its backfill.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import Listing
from vinyl_detective.domain.polling import SeenMark, update_arrival_rate
from vinyl_detective.jobs.pipeline import PipelineCounts
from vinyl_detective.sources.ebay import ListingSource
from vinyl_detective.storage import job_runs

log = logging.getLogger(__name__)

# Listings can reach eBay's search index a little after their start time; re-reading the
# last minutes costs nothing (the pipeline skips listings it already stored).
DEFAULT_OVERLAP = timedelta(minutes=2)


@dataclass(slots=True)
class NewestRead:
    """What one newest-first read brought back."""

    listings: list[Listing] = field(default_factory=list)  # above the mark, overlap included
    pages: int = 0
    new: int = 0  # listed after the mark (the overlap's re-reads not counted)
    reached_seen: bool = False  # False: the page cap came first, listings may be missed
    newest: SeenMark = field(default_factory=SeenMark)
    since: datetime | None = None  # where seen ground began (None: a very first read)

    def arrival_rate(
        self, previous: float | None, last_read_at: datetime | None, now: datetime
    ) -> float | None:
        """The smoothed arrival rate (listings a minute) after this read.

        Unchanged on a very first read (no previous read: no interval to divide by).
        """
        if self.since is None or last_read_at is None:
            return previous
        elapsed = (now - last_read_at).total_seconds() / 60
        return update_arrival_rate(previous, self.new, elapsed, complete=self.reached_seen)


async def read_newest(
    ebay: ListingSource,
    *,
    q: str | None,
    category_id: str | None,
    marketplace: str,
    mark: SeenMark,
    last_read_at: datetime | None,
    max_pages: int,
    page_size: int,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> NewestRead:
    """Page newest first down to `mark`, or `last_read_at` without one (module docstring)."""
    since = mark.listed_at or last_read_at
    read = NewestRead(since=since)
    stop_before = since - overlap if since is not None else None
    pages_allowed = 1 if since is None else max(1, max_pages)
    for page_no in range(pages_allowed):
        page = await ebay.search(
            q=q,
            category_id=category_id,
            limit=page_size,
            offset=page_no * page_size,
            sort="newlyListed",
            marketplace=marketplace,
        )
        read.pages += 1
        for listing in page.listings:
            if _already_seen(listing, mark.item_id, stop_before):
                read.reached_seen = True
                break
            read.listings.append(listing)
        if read.reached_seen or not page.has_next:
            read.reached_seen = True
            break
    if since is None:
        read.reached_seen = True  # a very first read is one page by design
    read.new = sum(
        1
        for lst in read.listings
        if since is None or lst.listed_at is None or lst.listed_at > since
    )
    read.newest = newest_of(read.listings)
    return read


def newest_of(listings: Sequence[Listing]) -> SeenMark:
    """The high-water mark these listings set: the newest of them that carries a time."""
    timed = [lst for lst in listings if lst.listed_at is not None]
    if not timed:
        return SeenMark()
    newest = max(timed, key=lambda lst: lst.listed_at or datetime.min)
    return SeenMark(newest.listed_at, newest.item_id)


def _already_seen(
    listing: Listing, newest_item_id: str | None, stop_before: datetime | None
) -> bool:
    """Older than the high-water mark (less the overlap); by id when a listing has no time."""
    if listing.listed_at is None:
        return newest_item_id is not None and listing.item_id == newest_item_id
    return stop_before is not None and listing.listed_at < stop_before


def finish_read(
    engine: Engine,
    run_id: int,
    now: datetime,
    *,
    what: str,
    read: NewestRead,
    counts: PipelineCounts,
    error: str | None,
    started: float,
) -> None:
    """Close the job run of a poll that read newest first, and say in the log how it went.

    `what` names the poll in the log ("firehose stream=EBAY_US:176985", "poll search=3");
    `started` is its `time.perf_counter()` at the start.
    """
    with engine.begin() as conn:
        job_runs.finish_job(
            conn,
            run_id,
            now,
            fetched=counts.fetched or len(read.listings),
            inserted=counts.new,
            skipped=counts.skipped,
            error=error,
        )
    if not read.reached_seen and error is None:
        log.warning(
            "%s: %d pages did not reach the listings seen last time; some listings may "
            "have been missed (it will be polled more often)",
            what,
            read.pages,
        )
    # A poll that alerted nobody is routine (the minute summary counts it); one that
    # alerted or failed is one line for the operator.
    log.log(
        logging.INFO if counts.alerted or error else logging.DEBUG,
        "%s pages=%d %s in %.1fs%s",
        what,
        read.pages,
        counts.summary(),
        time.perf_counter() - started,
        f" error={error}" if error else "",
    )
