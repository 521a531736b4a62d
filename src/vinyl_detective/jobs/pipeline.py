"""The deal pipeline: new listings → identify → price on demand → score → rules → alert.

One path for every source: a poll of eBay, the category firehose, or the ingest webhook
all hand their listings to `DealPipeline.process`. Each listing is evaluated once
(identified and scored), then routed to every saved search whose keywords and rule
accept it, and alerted to those searches' recipients exactly once each.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine

from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.matching import Identification, identify
from vinyl_detective.domain.models import Deal, Listing, PriceGuide, Release, SavedSearch
from vinyl_detective.domain.query import query_matches
from vinyl_detective.domain.rules import Rule, combine, parse_rule, rule_fields
from vinyl_detective.domain.scoring import score_deal
from vinyl_detective.errors import (
    BudgetExhaustedError,
    ExternalServiceError,
    NotFoundError,
    RuleSyntaxError,
)
from vinyl_detective.notify.dispatch import AlertDispatcher, Channel
from vinyl_detective.storage import catalog, deals, listings
from vinyl_detective.storage.catalog import SqlCatalog

log = logging.getLogger(__name__)


class PriceSource(Protocol):
    """Where prices come from (the Discogs client)."""

    async def price_guide(self, release_id: int) -> PriceGuide | None: ...


class ItemSource(Protocol):
    """Where a listing's item specifics come from (the eBay client)."""

    async def get_item(self, item_id: str) -> Listing: ...


ChannelResolver = Callable[[SavedSearch | None], Sequence[Channel]]


@dataclass(slots=True)
class PipelineCounts:
    """What one pass did, for the job-run record and the operator's log line."""

    fetched: int = 0
    new: int = 0
    matched: int = 0
    enriched: int = 0
    priced: int = 0
    deals: int = 0
    alerted: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: PipelineCounts) -> None:
        for name in (
            "fetched",
            "new",
            "matched",
            "enriched",
            "priced",
            "deals",
            "alerted",
            "skipped",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)

    def summary(self) -> str:
        return (
            f"fetched={self.fetched} new={self.new} matched={self.matched} "
            f"enriched={self.enriched} deals={self.deals} alerted={self.alerted}"
        )


@dataclass(frozen=True, slots=True)
class Route:
    """A saved search with its compiled rule (search rule AND global rule)."""

    search: SavedSearch | None
    rule: Rule | None


def compile_routes(
    searches: Sequence[SavedSearch], global_rule: str | None
) -> tuple[list[Route], dict[int, str]]:
    """Compile each search's rule with the global one; broken rules disable only their search.

    Returns the usable routes and, per broken search id, the reason it is disabled.
    """
    broken: dict[int, str] = {}
    global_compiled = parse_rule(global_rule) if global_rule else None
    routes: list[Route] = []
    for search in searches:
        try:
            own = parse_rule(search.rule) if search.rule else None
        except RuleSyntaxError as exc:
            broken[search.id] = f"rule does not parse: {exc.message} at {exc.position + 1}"
            continue
        parts = [r for r in (global_compiled, own) if r is not None]
        routes.append(Route(search, combine(parts) if parts else None))
    return routes, broken


class DealPipeline:
    def __init__(
        self,
        *,
        engine: Engine,
        prices: PriceSource,
        items: ItemSource | None,
        dispatcher: AlertDispatcher,
        channels_for: ChannelResolver,
        rates: ExchangeRates,
        clock: Callable[[], datetime],
        price_max_age: timedelta = timedelta(days=7),
    ) -> None:
        self.engine = engine
        self.prices = prices
        self.items = items
        self.dispatcher = dispatcher
        self.channels_for = channels_for
        self.rates = rates
        self.clock = clock
        self.price_max_age = price_max_age
        # One lock per release being priced; it vanishes when no job holds it any more.
        self._price_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def process(
        self,
        found: Sequence[Listing],
        routes: Sequence[Route],
        *,
        check_keywords: bool,
        source_search_id: int | None = None,
        revisit_known: bool = False,
    ) -> PipelineCounts:
        """Store the new listings among `found`, evaluate them and alert the deals.

        `routes` are the searches the listings may belong to; with `check_keywords` each
        listing must also satisfy a search's keywords (firehose), otherwise the listings
        came from that search's own query and only its rule is checked. With
        `revisit_known` (a new search's backfill), listings stored earlier — e.g. by the
        firehose before this search existed — are evaluated again for these routes, from
        their stored form and without another eBay call; the alert log still lets each
        recipient hear of a listing only once.
        """
        counts = PipelineCounts(fetched=len(found))
        now = self.clock()
        fresh: list[Listing] = []
        known: list[Listing] = []
        with self.engine.begin() as conn:
            for lst in _unique(found):
                is_new = listings.insert_new(conn, lst, search_id=source_search_id, now=now)
                (fresh if is_new else known).append(lst)
            if revisit_known:
                stored = (listings.get_listing(conn, lst.item_id) for lst in known)
                known = [s.listing for s in stored if s is not None]
        counts.new = len(fresh)
        counts.skipped = counts.fetched - counts.new
        work = [(lst, True) for lst in fresh]
        if revisit_known:
            work += [(lst, False) for lst in known]
        for listing, may_enrich in work:
            try:
                await self._process_one(listing, routes, check_keywords, counts, may_enrich)
            except BudgetExhaustedError:
                raise
            except ExternalServiceError as exc:
                counts.errors.append(f"{listing.item_id}: {exc}")
                log.warning("listing %s not evaluated: %s", listing.item_id, exc)
        return counts

    async def _process_one(
        self,
        listing: Listing,
        routes: Sequence[Route],
        check_keywords: bool,
        counts: PipelineCounts,
        may_enrich: bool = True,
    ) -> None:
        targets = [
            r
            for r in routes
            if not check_keywords
            or r.search is None
            or query_matches(r.search.query, listing.title)
        ]
        listing, found = await self._identify(listing, counts, may_enrich)
        match = found.match
        deal: Deal | None = None
        if match is not None:
            counts.matched += 1
            release = await self._priced_release(match.release_id, counts)
            if release is not None:
                deal = score_deal(listing, release, match, rates=self.rates, now=self.clock())
        now = self.clock()
        with self.engine.begin() as conn:
            listings.record_outcome(conn, listing.item_id, match=match, deal=deal, now=now)
        if deal is None:
            return
        counts.deals += 1
        tracked = False
        for route in targets:
            if not self._accepts(route, deal):
                continue
            if not tracked:  # a deal someone will hear about starts its lifecycle: FOUND
                with self.engine.begin() as conn:
                    deals.create_found(conn, deal, now)
                tracked = True
            channels = self.channels_for(route.search)
            counts.alerted += await self.dispatcher.deliver(
                deal, channels, search_id=route.search.id if route.search else None
            )

    def _accepts(self, route: Route, deal: Deal) -> bool:
        threshold = route.search.min_deal_score if route.search else 0.25
        if deal.score < threshold:
            return False
        if route.rule is None:
            return True
        fields = rule_fields(deal.listing, deal.release, deal, deal.match)
        return route.rule.evaluate(fields)

    async def _identify(
        self, listing: Listing, counts: PipelineCounts, may_enrich: bool = True
    ) -> tuple[Listing, Identification]:
        with self.engine.connect() as conn:
            found = identify(listing, SqlCatalog(conn))
        needs_specifics = listing.catalog_no is None and listing.barcode is None
        if (
            found.match is None
            and found.ambiguous
            and needs_specifics
            and may_enrich
            and self.items
        ):
            # The title gave plausible candidates it cannot tell apart: the item's
            # specifics (catalog number, UPC) can settle it. Only here is an item call
            # worth a share of the daily budget.
            try:
                detailed = await self.items.get_item(listing.item_id)
            except NotFoundError:
                return listing, found
            counts.enriched += 1
            with self.engine.begin() as conn:
                listings.update_listing(conn, detailed)
                found = identify(detailed, SqlCatalog(conn))
            return detailed, found
        return listing, found

    async def _priced_release(self, release_id: int, counts: PipelineCounts) -> Release | None:
        """The release with fresh prices: fetched from Discogs only now that it matched.

        Concurrent jobs (a stream and a backfill) matching the same release wait for one
        fetch instead of each asking Discogs.
        """
        lock = self._price_locks.get(release_id)
        if lock is None:
            lock = self._price_locks[release_id] = asyncio.Lock()
        async with lock:
            return await self._priced_release_unlocked(release_id, counts)

    async def _priced_release_unlocked(
        self, release_id: int, counts: PipelineCounts
    ) -> Release | None:
        with self.engine.connect() as conn:
            release = catalog.get_release(conn, release_id)
        if release is None:
            return None
        guide = release.prices
        stale_before = self.clock() - self.price_max_age
        if guide is None or guide.updated_at is None or guide.updated_at < stale_before:
            try:
                fetched = await self.prices.price_guide(release_id)
            except ExternalServiceError as exc:
                log.warning("prices for release %s unavailable: %s", release_id, exc)
                return release if guide is not None else None
            counts.priced += 1
            now = self.clock()
            stored = fetched or PriceGuide(currency="USD", updated_at=now)  # remember "unpriced"
            with self.engine.begin() as conn:
                catalog.set_prices(conn, release_id, stored, now)
                release = catalog.get_release(conn, release_id)
        return release


def _unique(found: Sequence[Listing]) -> list[Listing]:
    seen: set[str] = set()
    out = []
    for listing in found:
        if listing.item_id not in seen:
            seen.add(listing.item_id)
            out.append(listing)
    return out
