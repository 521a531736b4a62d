"""Preparing the active searches before the scheduler polls for them.

A search is prepared once per process (by id and query): its catalog is seeded from
Discogs (jobs/seed.py; the seeding itself is once per query, so a restart only looks it
up). One that fails (Discogs down) is tried again PREPARE_RETRY later, until it succeeds.
Meanwhile its listings are judged against what the catalog already holds; the seeding
that completes has those that found no record identified again (jobs/seed.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.errors import VinylDetectiveError

log = logging.getLogger(__name__)

Prepare = Callable[[SavedSearch], Awaitable[object]]  # raises when it must be tried again
# How long after a failed preparation (catalog seeding) of a search it is tried again.
PREPARE_RETRY = timedelta(minutes=5)

_Key = tuple[int, str]


class SearchPreparation:
    """Which active searches are prepared, and preparing the rest (see the module doc)."""

    def __init__(self, prepare: Prepare) -> None:
        self._prepare = prepare
        self._prepared: set[_Key] = set()
        self._again_at: dict[_Key, datetime] = {}

    def is_prepared(self, search: SavedSearch) -> bool:
        return (search.id, search.query) in self._prepared

    async def prepare_due(self, active: list[SavedSearch], now: datetime) -> None:
        """Prepare each active search not prepared yet whose retry time has come."""
        for search in active:
            key = (search.id, search.query)
            if key in self._prepared or self._again_at.get(key, now) > now:
                continue
            try:
                await self._prepare(search)
            except Exception as exc:
                self._again_at[key] = now + PREPARE_RETRY
                retry = f"tried again in {PREPARE_RETRY.total_seconds() / 60:.0f} min"
                if isinstance(exc, VinylDetectiveError):
                    log.warning("preparing search %s failed, %s: %s", search.id, retry, exc)
                else:
                    log.exception("preparing search %s failed, %s", search.id, retry)
            else:
                self._prepared.add(key)
                self._again_at.pop(key, None)
