"""Refreshing stale Discogs prices for the releases listings actually match."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import PriceGuide
from vinyl_detective.errors import ExternalServiceError, NotFoundError
from vinyl_detective.jobs.pipeline import PriceSource
from vinyl_detective.storage import catalog, job_runs

log = logging.getLogger(__name__)


async def refresh_stale_prices(
    *,
    engine: Engine,
    prices: PriceSource,
    clock: Callable[[], datetime],
    max_age: timedelta = timedelta(days=7),
    limit: int = 500,
) -> int:
    """Re-fetch prices older than `max_age` (matched releases first); returns how many."""
    now = clock()
    with engine.begin() as conn:
        run_id = job_runs.start_job(conn, "refresh", None, now)
        stale = catalog.stale_price_release_ids(conn, now - max_age, limit)
    refreshed = skipped = 0
    error: str | None = None
    for release_id in stale:
        try:
            guide = await prices.price_guide(release_id)
        except NotFoundError:
            skipped += 1
            continue
        except ExternalServiceError as exc:
            error = f"stopped after {refreshed} releases: {exc}"
            log.warning("price refresh %s", error)
            break
        stamp = clock()
        with engine.begin() as conn:
            catalog.set_prices(
                conn, release_id, guide or PriceGuide("USD", updated_at=stamp), stamp
            )
        refreshed += 1
    with engine.begin() as conn:
        job_runs.finish_job(
            conn,
            run_id,
            clock(),
            fetched=len(stale),
            inserted=refreshed,
            skipped=skipped,
            error=error,
        )
    log.info("refresh stale=%d refreshed=%d skipped=%d", len(stale), refreshed, skipped)
    return refreshed
