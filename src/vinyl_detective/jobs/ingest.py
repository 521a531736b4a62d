"""The ingest webhook's job: listings an external scraper sent, through the deal pipeline.

They take the same path as eBay's (match, price, rules, alerts), against every active
search, with each search's keywords checked (the scraper did not search for them). Each
batch is recorded as a job run ("ingest", "webhook"), as the daemon's own jobs are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import Listing
from vinyl_detective.jobs.pipeline import DealPipeline, PipelineCounts, Route
from vinyl_detective.storage import job_runs

__all__ = ["ingest_listings"]


async def ingest_listings(
    engine: Engine,
    pipeline: DealPipeline,
    routes: Sequence[Route],
    found: list[Listing],
    clock: Callable[[], datetime],
) -> PipelineCounts:
    """Run `found` through `pipeline` for `routes`, recorded as one job run."""
    with engine.begin() as conn:
        run_id = job_runs.start_job(conn, "ingest", "webhook", clock())
    counts = await pipeline.process(found, list(routes), check_keywords=True)
    with engine.begin() as conn:
        job_runs.finish_job(
            conn,
            run_id,
            clock(),
            fetched=counts.fetched,
            inserted=counts.new,
            skipped=counts.skipped,
        )
    return counts
