"""A new search's backfill: paging backwards through the listings already on eBay.

A saved search added today should not wait for new listings: its backfill reads the
search's current listings newest first (`sort=newlyListed`, offset paging, 200 a page)
with the five stop conditions of jobs/paging.py — empty page, no progress, reached
`max_age`, reached `max_requests` (per run), too many 429s. After each page the checkpoint
(storage/checkpoints.py) records the next offset, the oldest listing reached and the
requests spent, so a crash or a stop resumes from the last completed page; a completed
backfill is skipped. MAX_REQUESTS and RATE_LIMITED leave it unfinished (status idle) for
the next run; an error leaves it in status error with its message, also resumable.

Old listings and alerts: every listing goes through the pipeline (stored, identified,
priced, scored: the deal history and the dashboard see them), but only those listed
within `alert_within` (a day by default) can alert. A week-old bargain has almost always
been bought already, and a new search must not flood its owner with stale cards.

Progress: each page is a log line (from the second page on), and with a
`BackfillProgress` (the CLI's live Rich display on a terminal, `rich_backfill_progress`)
also a line per search that shows pages read, listings and how far back it has got.

eBay never returns results past offset 10,000: the backfill stops there (END). Going
deeper would need an upper bound on `itemStartDate`, which sources/ebay.py does not
offer yet; 10,000 listings are far more than a saved search's useful history anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from rich.console import Console
from rich.progress import Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import Listing, SavedSearch
from vinyl_detective.errors import RateLimitedError
from vinyl_detective.jobs.newest import newest_of
from vinyl_detective.jobs.paging import (
    Page,
    PagingLimits,
    PagingState,
    StopReason,
    page_backwards,
)
from vinyl_detective.jobs.pipeline import DealPipeline, PipelineCounts, Route
from vinyl_detective.sources.ebay import MAX_RESULT_WINDOW, ListingSource
from vinyl_detective.storage import checkpoints, job_runs, search_schedules

log = logging.getLogger(__name__)

# eBay's 429 means the daily quota is spent: waiting seconds and retrying only burns
# calls. The first 429 ends the run (max_rate_limited=0) and the scheduler pauses.
DEFAULT_LIMITS = PagingLimits(max_requests=5, max_age=timedelta(days=30), max_rate_limited=0)
DEFAULT_ALERT_WITHIN = timedelta(days=1)


class BackfillProgress(Protocol):
    """Where a live display learns how the backfills are going (see rich_backfill_progress)."""

    def page(
        self, search: SavedSearch, pages: int, listings: int, back_to: datetime | None
    ) -> None:
        """Another page was read: `pages` in all (across runs), `listings` in this run."""

    def finished(self, search: SavedSearch, *, complete: bool) -> None:
        """This run ended; `complete` when the backfill is done for good."""


@dataclass(slots=True)
class BackfillResult:
    """What one backfill run did; `skipped` when it was already complete (or paused)."""

    search_id: int
    skipped: bool = False
    reason: StopReason | None = None
    completed: bool = False
    pages: int = 0
    requests: int = 0
    counts: PipelineCounts = field(default_factory=PipelineCounts)


async def backfill_search(
    *,
    engine: Engine,
    ebay: ListingSource,
    pipeline: DealPipeline,
    route: Route,
    clock: Callable[[], datetime],
    limits: PagingLimits = DEFAULT_LIMITS,
    alert_within: timedelta = DEFAULT_ALERT_WITHIN,
    page_size: int = 200,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    progress: BackfillProgress | None = None,
) -> BackfillResult:
    """Run (or resume) the backfill of `route.search`, up to `limits` for this run.

    `limits.max_requests` is per run: a long backfill spreads over several runs, each
    resuming from the checkpoint. Records a job run "backfill" with target "search:<id>".
    Errors other than the stop conditions are recorded and re-raised.
    """
    search = route.search
    assert search is not None, "a backfill needs a saved search"
    result = BackfillResult(search.id)
    now = clock()
    with engine.begin() as conn:
        existing = checkpoints.get_checkpoint(conn, search.id)
        if existing is not None and (
            existing.completed or existing.status is checkpoints.BackfillStatus.PAUSED
        ):
            result.skipped = True
            result.completed = existing.completed
            return result
        checkpoint = checkpoints.start_backfill(conn, search.id, now)
        run_id = job_runs.start_job(conn, "backfill", f"search:{search.id}", now)
    started = time.perf_counter()
    start_offset = int(checkpoint.cursor) if isinstance(checkpoint.cursor, int) else 0
    requests_before = checkpoint.requests
    fresh_after = now - alert_within

    async def fetch(offset: int) -> Page[Listing, int]:
        page = await ebay.search(
            q=search.query,
            category_id=search.category_id,
            limit=page_size,
            offset=offset,
            sort="newlyListed",
            marketplace=search.marketplace,
        )
        following = offset + page_size
        more = page.has_next and following + page_size <= MAX_RESULT_WINDOW
        stamps = [lst.listed_at for lst in page.listings if lst.listed_at is not None]
        return Page(page.listings, following if more else None, min(stamps, default=None))

    async def on_page(page: Page[Listing, int], state: PagingState[int]) -> None:
        fresh: list[Listing] = []
        old: list[Listing] = []
        for lst in page.items:
            recent = lst.listed_at is None or lst.listed_at >= fresh_after
            (fresh if recent else old).append(lst)
        # Old listings are stored and scored for no one: no route, no alert.
        for batch, routes in ((fresh, [route]), (old, [])):
            if batch:
                counts = await pipeline.process(
                    batch, routes, check_keywords=False, source_search_id=search.id
                )
                result.counts.add(counts)
        with engine.begin() as conn:
            checkpoints.save_progress(
                conn,
                search.id,
                cursor=state.cursor,
                earliest_seen=state.earliest_seen,
                requests=requests_before + state.requests,
                now=clock(),
            )
            if start_offset == 0 and state.pages == 1:
                # The newest listings: its own-query polls continue from here.
                search_schedules.raise_search_mark(conn, search.id, newest_of(page.items))
        if progress is not None:
            progress.page(
                search, requests_before + state.requests, state.items, state.earliest_seen
            )
        log.log(  # a long backfill's progress, page by page (one page: the summary says it)
            logging.INFO if state.pages > 1 and progress is None else logging.DEBUG,
            "backfill search=%s page %d: %d listings so far, back to %s",
            search.id,
            state.pages,
            state.items,
            f"{state.earliest_seen:%Y-%m-%d %H:%M}" if state.earliest_seen else "-",
        )

    error: str | None = None
    try:
        paged = await page_backwards(
            fetch,
            start_offset,
            now=now,
            # The allowance is per run; earliest_seen carries over for NO_PROGRESS.
            limits=limits,
            on_page=on_page,
            sleep=sleep,
            earliest_seen=checkpoint.earliest_seen if start_offset else None,
        )
        result.reason = paged.reason
        result.completed = paged.complete
        result.pages = paged.state.pages
        result.requests = paged.state.requests
        with engine.begin() as conn:
            checkpoints.save_progress(
                conn,
                search.id,
                cursor=paged.state.cursor,
                earliest_seen=paged.state.earliest_seen,
                requests=requests_before + paged.state.requests,
                now=clock(),
            )
            checkpoints.finish_backfill(conn, search.id, now=clock(), completed=paged.complete)
        if paged.reason is StopReason.RATE_LIMITED:
            # Resumable from the checkpoint just saved; the scheduler pauses API work.
            # With eBay's Retry-After, if it gave one: a short pause, not one until the reset.
            raise RateLimitedError(
                "ebay",
                "eBay answered 429 (too many requests) to the backfill",
                retry_after=paged.state.retry_after,
            )
    except RateLimitedError:
        raise
    except BaseException as exc:  # cancelled too: never recorded as a success
        error = job_runs.failure_text(exc)
        if isinstance(exc, Exception):  # a cancelled backfill resumes as it was
            with engine.begin() as conn:
                checkpoints.fail_backfill(conn, search.id, error, clock())
        raise
    finally:
        if progress is not None:
            progress.finished(search, complete=result.completed)
        with engine.begin() as conn:
            job_runs.finish_job(
                conn,
                run_id,
                clock(),
                fetched=result.counts.fetched,
                inserted=result.counts.new,
                skipped=result.counts.skipped,
                error=error,
            )
        quiet = not (result.counts.new or result.counts.alerted or error)
        log.log(  # a backfill that found nothing new (a stream got there first) is quiet
            logging.DEBUG if quiet else logging.INFO,
            "backfill search=%s stop=%s pages=%d %s in %.1fs%s",
            search.id,
            result.reason or "-",
            result.pages,
            result.counts.summary(),
            time.perf_counter() - started,
            f" error={error}" if error else "",
        )
    return result


class RichBackfillProgress:
    """A live line per backfilling search: pages read, listings, how far back it got."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[int, TaskID] = {}

    def page(
        self, search: SavedSearch, pages: int, listings: int, back_to: datetime | None
    ) -> None:
        shown_back_to = f"{back_to:%Y-%m-%d %H:%M}" if back_to else "-"
        task = self.tasks.get(search.id)
        if task is None:  # its first page: the line appears with it
            self.tasks[search.id] = self.progress.add_task(
                f"Backfill #{search.id} {search.query[:30]}",
                total=None,
                completed=pages,
                listings=listings,
                back_to=shown_back_to,
            )
        else:
            self.progress.update(task, completed=pages, listings=listings, back_to=shown_back_to)

    def finished(self, search: SavedSearch, *, complete: bool) -> None:
        task = self.tasks.get(search.id)
        if task is not None and complete:
            self.progress.remove_task(task)
            del self.tasks[search.id]


@contextlib.contextmanager
def rich_backfill_progress(console: Console | None = None) -> Iterator[BackfillProgress | None]:
    """A live display of the running backfills on a terminal; None elsewhere (the log
    lines are the progress there). `console` should be the one the log is written to, so
    that log lines print above the display."""
    shown = console or Console(stderr=True)
    if not shown.is_terminal:
        yield None
        return
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        TextColumn("{task.completed:.0f} pages"),
        TextColumn("{task.fields[listings]:,} listings this run"),
        TextColumn("back to {task.fields[back_to]}"),
        TimeElapsedColumn(),
        console=shown,
        transient=True,
    )
    with progress:
        yield RichBackfillProgress(progress)
