"""Filling the local catalog for a saved search from the Discogs database search.

Identification is local (the catalog), pricing is on demand. A new search's catalog is
seeded once from Discogs' database search for its keywords, a few pages deep; the
monthly data dump (`import-dump`) fills it with everything instead.

A seeding that fails (Discogs down) leaves the time of its first failure in the kv
store; the seeding that finally completes — in this process or after a restart, on any
worker — makes the listings seen since then that found no record unfinished again (at
most UNFINISHED_MAX_AGE back), and the pipeline's unfinished pass identifies them against
the filled catalog: a deal listed during the outage still alerts, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.query import parse_query
from vinyl_detective.errors import ExternalServiceError
from vinyl_detective.jobs.pipeline import UNFINISHED_MAX_AGE
from vinyl_detective.sources.discogs_parse import ReleasePage
from vinyl_detective.storage import catalog, job_runs, kv, listings

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
    failed_key = f"seed-failed:{terms}"[:64]  # since when its seedings have failed
    with engine.connect() as conn:
        if not terms or kv.get_value(conn, key):
            return 0
    started = clock()
    with engine.begin() as conn:
        run_id = job_runs.start_job(conn, "seed_catalog", terms, started)
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
        failed_since = kv.get_value(conn, failed_key)
        if error is None:
            kv.set_value(conn, key, clock().isoformat())
            if failed_since is not None:
                _rejudge(conn, terms, datetime.fromisoformat(failed_since), clock())
                kv.set_value(conn, failed_key, None)
        elif failed_since is None:
            kv.set_value(conn, failed_key, started.isoformat())
    log.info("seed_catalog query=%r releases=%d", terms, added)
    if failure is not None:
        raise failure  # not seeded: the caller tries again later
    return added


def _rejudge(conn: sa.Connection, terms: str, failed_since: datetime, now: datetime) -> None:
    """The listings judged while this seeding failed, without a record: identified again."""
    since = max(failed_since, now - UNFINISHED_MAX_AGE)
    reopened = listings.reopen_unidentified(conn, seen_after=since)
    log.info(
        "catalog for %r seeded after failing since %s: %d listing(s) seen meanwhile "
        "without a record are identified again",
        terms,
        f"{failed_since:%Y-%m-%d %H:%M} UTC",
        reopened,
    )
