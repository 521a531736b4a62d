"""Polling eBay for one saved search, newest first, stopping at what was already seen."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import Listing
from vinyl_detective.jobs.pipeline import DealPipeline, PipelineCounts, Route
from vinyl_detective.sources.ebay import ListingSource
from vinyl_detective.storage import job_runs, listings

log = logging.getLogger(__name__)


async def poll_search(
    *,
    engine: Engine,
    ebay: ListingSource,
    pipeline: DealPipeline,
    route: Route,
    clock: Callable[[], datetime],
    page_size: int = 100,
    max_pages: int = 3,
) -> PipelineCounts:
    """Fetch the newest listings of `route.search`, page only until one already seen."""
    search = route.search
    assert search is not None
    started = time.perf_counter()
    with engine.begin() as conn:
        run_id = job_runs.start_job(conn, "poll", f"search:{search.id}", clock())
    counts = PipelineCounts()
    error: str | None = None
    try:
        fetched: list[Listing] = []
        for page_no in range(max_pages):
            page = await ebay.search(
                q=search.query,
                category_id=search.category_id,
                limit=page_size,
                offset=page_no * page_size,
            )
            fetched.extend(page.listings)
            with engine.connect() as conn:
                known = listings.known_item_ids(conn, [lst.item_id for lst in page.listings])
            if known or not page.has_next:
                break
        counts = await pipeline.process(
            fetched, [route], check_keywords=False, source_search_id=search.id
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
                fetched=counts.fetched,
                inserted=counts.new,
                skipped=counts.skipped,
                error=error,
            )
        log.info(
            "poll search=%s %s in %.1fs%s",
            search.id,
            counts.summary(),
            time.perf_counter() - started,
            f" error={error}" if error else "",
        )
    return counts
