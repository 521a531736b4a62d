"""One poll's arithmetic: the pages it reads, the calls it costs, when it is next due.

Pure arithmetic, time passed in. The facts it works from (REFERENCE.md):

- one search call returns at most 200 listings, newest first with `sort=newlyListed`,
  and `offset + limit` can never pass 10,000 (so at most 50 pages per poll);
- `category_ids` alone is a valid search: one call reads the newest 200 listings of a
  whole category (the *firehose*), and every saved search can be matched against them
  locally (domain/query.py), so one call serves every search at once.

Costs, in calls per minute (`poll_cost`):

- a firehose stream with `r` new listings a minute, polled every `I` minutes, needs
  ``ceil(r·I / 200)`` pages a poll, i.e. about ``max(1/I, r/200)`` calls a minute. Below
  ``I = 200/r`` (the *one-page interval*) a poll is one call; above it the pages grow
  with `I`, so polling less often saves nothing. The floor cost of reading everything is
  ``r/200`` a minute: a category with 30,000 new listings a day needs 150 calls a day;
- a saved search polled on its own every `I` minutes costs ``max(1/I, r/200)`` for its
  own `r` new listings a minute (one page of the newest; more when more arrived). Just as
  for a stream, polling it less often than its one-page interval ``200/r`` saves nothing,
  so that is its longest interval (`SearchLoad.longest_interval`); a poll may read up to
  `OWN_QUERY_MAX_PAGES` pages, ten times what it normally needs, for bursts.

A poll stops at what the previous one saw (its `SeenMark`), and what it counted updates
the stream's arrival rate (`update_arrival_rate`). Missed runs coalesce: a run due in the
past runs once, now, and the next one is an interval after it (`next_run_after`), never
one per missed slot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

PAGE_SIZE = 200
# offset + limit can never pass 10,000: 50 pages of 200 is all one poll can read.
MAX_PAGES_PER_POLL = 10_000 // PAGE_SIZE
# An own-query poll pages down to what the search saw last time, at most this many pages
# (the planner polls a search about once a page's worth of listings, see longest_interval).
OWN_QUERY_MAX_PAGES = 10


@dataclass(frozen=True, slots=True)
class SeenMark:
    """The newest listing a stream or an own-query search has read: its high-water mark.

    A poll reads newest first and stops below it (less a small overlap for listings that
    reach eBay's index late); `item_id` decides for a listing that carries no time.
    """

    listed_at: datetime | None = None
    item_id: str | None = None


@dataclass(frozen=True, slots=True)
class FirehosePages:
    """How one poll of a stream must page.

    `pages` is how many pages of `page_size` a poll every `interval_min` needs so nothing
    is missed (at least one, at most the 10,000-result window allows);
    `one_page_interval_min` is the longest interval at which a single page suffices;
    `missed_per_poll` is what even the full window cannot reach (0 normally).
    """

    pages: int
    one_page_interval_min: float
    missed_per_poll: int


def plan_firehose_pages(
    arrival_rate_per_min: float, interval_min: float, page_size: int = PAGE_SIZE
) -> FirehosePages:
    """Pages a poll needs: ``ceil(rate · interval / page_size)``, between 1 and the window.

    Example: 30,000 listings a day is 20.8 a minute; polled every 10 minutes that is 208
    new listings, so 2 pages; one page suffices up to every 200/20.8 = 9.6 minutes.
    """
    rate = max(0.0, arrival_rate_per_min)
    arriving = rate * max(0.0, interval_min)
    max_pages = 10_000 // page_size
    needed = max(1, math.ceil(arriving / page_size - 1e-9))
    pages = min(max_pages, needed)
    one_page = page_size / rate if rate > 0 else math.inf
    return FirehosePages(pages, one_page, max(0, math.ceil(arriving) - pages * page_size))


def poll_cost(rate: float, interval: float, max_pages: float = math.inf) -> float:
    """Calls a minute to read `rate` new listings a minute every `interval` minutes: one
    page a poll, or as many as arrived, up to `max_pages` (beyond them, listings are
    missed, not paid for)."""
    return max(1 / interval, min(rate / PAGE_SIZE, max_pages / interval))


def next_run_after(ran_at: datetime, interval_min: float) -> datetime:
    """When a run that started at `ran_at` is next due: one interval later.

    This is what coalesces missed runs: however late a run was, the next one is measured
    from when it actually ran, never from the slot it missed.
    """
    return ran_at + timedelta(minutes=interval_min)


def initial_run_at(
    stored: datetime | None, now: datetime, interval_min: float, *, skip_initial: bool
) -> datetime:
    """When something is first due after a start.

    A stored next-run time is kept (a run that fell due while the process was down runs
    once, now). With `skip_initial`, anything due now (or never planned) is moved one
    interval out instead of running at start.
    """
    if stored is not None and stored > now:
        return stored
    if skip_initial:
        return now + timedelta(minutes=interval_min)
    return now


def is_due(next_run_at: datetime | None, now: datetime) -> bool:
    return next_run_at is None or next_run_at <= now


def update_arrival_rate(
    previous: float | None,
    new_listings: int,
    elapsed_min: float,
    *,
    complete: bool = True,
    weight: float = 0.3,
) -> float | None:
    """The stream's arrival rate (listings a minute), smoothed over polls.

    An exponentially weighted average: ``new = (1-w)·old + w·observed``. When a poll hit
    its page cap (`complete` False) the count is only a lower bound, so the estimate never
    falls on it. Returns `previous` when no time has passed.
    """
    if elapsed_min <= 0:
        return previous
    observed = new_listings / elapsed_min
    if previous is None:
        return observed
    blended = (1 - weight) * previous + weight * observed
    return blended if complete else max(previous, observed, blended)
