"""Filling the local catalog for a saved search from the Discogs database search.

Identification is local (the catalog), pricing is on demand. A new search's catalog is
seeded once from Discogs' database search for its keywords, a few pages deep; the
monthly data dump (`import-dump`) fills it with everything instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.engine import Engine

from vinyl_detective.domain.query import parse_query
from vinyl_detective.errors import ExternalServiceError
from vinyl_detective.sources.discogs_parse import ReleasePage
from vinyl_detective.storage import catalog, job_runs, kv

log = logging.getLogger(__name__)


class ReleaseSearch(Protocol):
    async def search_releases(
        self, query: str | None = ..., *, page: int = ..., per_page: int = ...
    ) -> ReleasePage: ...


def discogs_terms(query: str) -> str:
    """The words of an eBay keyword query that Discogs can search for (no syntax)."""
    parsed = parse_query(query)
    return " ".join(group[0] for group in parsed.required if len(group) == 1)


async def seed_catalog(
    *,
    engine: Engine,
    discogs: ReleaseSearch,
    query: str,
    clock: Callable[[], datetime],
    max_pages: int = 3,
    per_page: int = 100,
) -> int:
    """Add the releases Discogs finds for `query` to the catalog, once per query text.

    When Discogs fails part-way, what was found is kept, the job run records the error
    and the error is raised: the query counts as seeded only once a seeding completes.
    """
    terms = discogs_terms(query)
    key = f"seeded:{terms}"[:64]
    with engine.connect() as conn:
        if not terms or kv.get_value(conn, key):
            return 0
    with engine.begin() as conn:
        run_id = job_runs.start_job(conn, "seed_catalog", terms, clock())
    added = skipped = 0
    error: str | None = None
    failure: ExternalServiceError | None = None
    try:
        for page_no in range(1, max_pages + 1):
            page = await discogs.search_releases(terms, page=page_no, per_page=per_page)
            with engine.begin() as conn:
                added += catalog.upsert_releases(conn, page.releases, clock())
            skipped += page.skipped
            if page_no >= page.pages:
                break
    except ExternalServiceError as exc:
        error, failure = str(exc), exc
        log.warning("catalog seeding for %r stopped: %s", terms, exc)
    with engine.begin() as conn:
        job_runs.finish_job(
            conn,
            run_id,
            clock(),
            fetched=added + skipped,
            inserted=added,
            skipped=skipped,
            error=error,
        )
        if error is None:
            kv.set_value(conn, key, clock().isoformat())
    log.info("seed_catalog query=%r releases=%d", terms, added)
    if failure is not None:
        raise failure  # not seeded: the caller tries again later
    return added
