"""The deal pipeline: new listings → identify → price on demand → score → rules → alert.

One path for every source: a poll of eBay, the category firehose, or the ingest webhook
all hand their listings to `DealPipeline.process`. Each listing is evaluated once
(identified and scored), then routed to every saved search whose keywords and rule
accept it, and alerted to those searches' recipients exactly once each.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine

from vinyl_detective.domain.catalog_entry import Identification
from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.matching import identify
from vinyl_detective.domain.models import (
    DEFAULT_MIN_DEAL_SCORE,
    Deal,
    Listing,
    Match,
    MatchMethod,
    PriceGuide,
    Release,
    SavedSearch,
)
from vinyl_detective.domain.query import KeywordIndex, folded_title
from vinyl_detective.domain.rules import Rule, rule_fields
from vinyl_detective.domain.scoring import album_can_be_priced, album_reference, score_deal
from vinyl_detective.errors import (
    AuthError,
    BudgetExhaustedError,
    ExternalServiceError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
)
from vinyl_detective.notify.dispatch import AlertDispatcher, Channel, PriceDrop
from vinyl_detective.storage import catalog, deals, listings
from vinyl_detective.storage.catalog_lookup import SqlCatalog
from vinyl_detective.storage.listings import StoredListing

log = logging.getLogger(__name__)


class PriceSource(Protocol):
    """Where prices come from (the Discogs client)."""

    async def price_guide(self, release_id: int) -> PriceGuide | None: ...


class ItemSource(Protocol):
    """Where a listing's item specifics come from (the eBay client)."""

    async def get_item(self, item_id: str, marketplace: str | None = None) -> Listing: ...


ChannelResolver = Callable[[SavedSearch | None], Sequence[Channel]]

# A listing stored but not evaluated after this long was interrupted (a crash, an
# outage); after UNFINISHED_MAX_AGE it is too old to be worth an alert.
UNFINISHED_GRACE = timedelta(minutes=2)
# A price drop alerts a recipient again when the score rose this much over what it heard.
DEFAULT_PRICE_DROP_STEP = 0.10
UNFINISHED_MAX_AGE = timedelta(days=2)
# The listings of one batch are evaluated this many at a time: their time goes mostly to
# waiting for Discogs and eBay, and one stalled request must not hold up all the others.
LISTINGS_AT_ONCE = 4
# An album match is priced against all its pressings (one Discogs call each, cached); an
# album with more pressings in doubt than this is not priced at all.


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
    drops: int = 0  # known listings seen again at a lower price
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
            "drops",
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


class _Targets:
    """The routes a listing is for: every route when the listings came from the search's
    own query, else those whose keywords the title satisfies (found through an index:
    the firehose hands each listing to every search riding it)."""

    def __init__(self, routes: Sequence[Route], *, check_keywords: bool) -> None:
        self.routes = list(routes)
        self._index = (
            KeywordIndex([r.search.query if r.search is not None else "" for r in self.routes])
            if check_keywords
            else None
        )

    def __call__(self, title: str) -> list[Route]:
        if self._index is None:
            return self.routes
        return [self.routes[i] for i in self._index.matching(folded_title(title))]


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
        price_drop_step: float = DEFAULT_PRICE_DROP_STEP,
    ) -> None:
        self.engine = engine
        self.price_drop_step = price_drop_step
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
    ) -> PipelineCounts:
        """Store the new listings among `found`, evaluate them and alert the deals.

        `routes` are the searches the listings may belong to; with `check_keywords` each
        listing must also satisfy a search's keywords (firehose), otherwise the listings
        came from that search's own query and only its rule is checked.

        A listing seen before is not identified again, but it is still routed: a search
        that did not exist (or did not see it) the first time still hears of it, and the
        alert log keeps every recipient to one alert per listing. A listing whose first
        evaluation never finished (a crash, Discogs down) is evaluated now.
        """
        counts = PipelineCounts(fetched=len(found))
        now = self.clock()
        work: list[tuple[Listing, StoredListing | None, int | None]] = []
        with self.engine.begin() as conn:
            for lst in _unique(found):
                if listings.insert_new(conn, lst, search_id=source_search_id, now=now):
                    work.append((lst, None, None))
                    counts.new += 1
                elif (stored := listings.get_listing(conn, lst.item_id)) is not None:
                    # Seen again: its price may have changed since (a drop is re-scored
                    # and may be alerted again, see `_handle`).
                    drop = listings.record_price(conn, stored, lst, now)
                    if (lst.price, lst.shipping) != (stored.listing.price, stored.listing.shipping):
                        stored = listings.get_listing(conn, lst.item_id) or stored
                    if drop is not None:
                        counts.drops += 1
                    work.append((stored.listing, stored, drop))
        counts.skipped = counts.fetched - counts.new
        targets = _Targets(routes, check_keywords=check_keywords)
        await _at_once(
            functools.partial(self._guarded, listing, stored, targets, counts, drop)
            for listing, stored, drop in work
        )
        return counts

    async def process_unfinished(
        self, routes: Sequence[Route], *, limit: int = 50
    ) -> PipelineCounts:
        """Evaluate listings stored but never evaluated (interrupted, or Discogs was down)."""
        counts = PipelineCounts()
        now = self.clock()
        with self.engine.connect() as conn:
            pending = listings.unprocessed(
                conn,
                seen_before=now - UNFINISHED_GRACE,
                seen_after=now - UNFINISHED_MAX_AGE,
                limit=limit,
            )
            # Price drops recorded but never routed (a crash right after they were seen).
            dropped = listings.pending_drops(conn, seen_before=now - UNFINISHED_GRACE, limit=limit)
        targets = _Targets(routes, check_keywords=True)
        await _at_once(
            functools.partial(self._guarded, stored.listing, stored, targets, counts)
            for stored in pending
        )
        await _at_once(
            functools.partial(
                self._guarded, stored.listing, stored, targets, counts, stored.price_drops
            )
            for stored in dropped
        )
        return counts

    async def _guarded(
        self,
        listing: Listing,
        stored: StoredListing | None,
        targets_of: _Targets,
        counts: PipelineCounts,
        drop: int | None = None,
    ) -> None:
        """One listing; a per-listing failure is counted and the batch goes on, except
        when eBay said stop (budget spent, 429): then the whole job stops. `drop` is the
        number of the price drop just seen, if any: handled once its alerts are claimed."""
        try:
            await self._handle(listing, stored, targets_of, counts, drop)
            if drop is not None:
                with self.engine.begin() as conn:
                    listings.drop_handled(conn, listing.item_id)
        except AuthError:
            raise  # bad credentials fail every listing alike: stop the job, keep them unfinished
        except (BudgetExhaustedError, RateLimitedError) as exc:
            if exc.service == "ebay":
                raise
            counts.errors.append(f"{listing.item_id}: {exc}")
            log.warning("listing %s not evaluated yet: %s", listing.item_id, exc)
        except PermanentError as exc:
            counts.errors.append(f"{listing.item_id}: {exc}")
            log.warning("listing %s cannot be evaluated: %s", listing.item_id, exc)
            with self.engine.begin() as conn:  # retrying would not help: close it as no deal
                listings.record_outcome(
                    conn, listing.item_id, match=None, deal=None, now=self.clock()
                )
        except ExternalServiceError as exc:  # retryable: left unfinished for a later pass
            counts.errors.append(f"{listing.item_id}: {exc}")
            log.warning("listing %s not evaluated yet: %s", listing.item_id, exc)

    async def _handle(
        self,
        listing: Listing,
        stored: StoredListing | None,
        targets_of: _Targets,
        counts: PipelineCounts,
        drop: int | None = None,
    ) -> None:
        finished = stored is not None and stored.processed_at is not None
        if finished and stored is not None and stored.match is None:
            return  # seen before and nothing in the catalog: nothing to tell anyone
        targets = targets_of(listing.title)
        if finished:
            assert stored is not None
            match = stored.match
            if not targets:
                return  # nothing new to learn or to tell anyone
            if match is not None and match.method is MatchMethod.ALBUM:
                # The album's pressings are not stored: the catalog still knows them.
                with self.engine.connect() as conn:
                    again = identify(listing, SqlCatalog(conn)).match
                if again is not None and again.method is MatchMethod.ALBUM:
                    match = again
        else:
            # Item specifics (an eBay call) only when someone could hear about it.
            listing, found = await self._identify(listing, counts, may_enrich=bool(targets))
            match = found.match
            if match is not None:
                counts.matched += 1
        deal: Deal | None = None
        if match is not None and targets:
            # Prices are fetched only for listings someone is watching for.
            if match.method is MatchMethod.ALBUM:
                match, release = await self._cheapest_pressing(listing, match, counts)
            else:
                release = await self._priced_release(match.release_id, counts)
            if release is not None:
                deal = score_deal(listing, release, match, rates=self.rates, now=self.clock())
        if deal is not None and drop is not None and stored is not None:
            deal = replace(deal, previous_total=stored.previous_money)
        now = self.clock()
        with self.engine.begin() as conn:
            listings.record_outcome(conn, listing.item_id, match=match, deal=deal, now=now)
        if deal is None:
            return
        if not finished:  # counted once, when first found; re-routing is not a new deal
            counts.deals += 1
        tracked = False
        for route in targets:
            if not self._accepts(route, deal):
                continue
            if not tracked:  # a deal someone will hear about starts its lifecycle: FOUND
                with self.engine.begin() as conn:
                    if not deals.create_found(conn, deal, now) and drop is not None:
                        deals.reprice_found(conn, deal, now)  # not acted on yet: new price
                tracked = True
            channels = self.channels_for(route.search)
            sent = await self.dispatcher.deliver(
                deal,
                channels,
                search_id=route.search.id if route.search else None,
                drop=PriceDrop(drop, self.price_drop_step) if drop is not None else None,
            )
            # Added after the await: `counts` is shared by the listings evaluated at once,
            # and `counts.alerted += await ...` would lose the sends that overlap.
            counts.alerted += sent

    def _accepts(self, route: Route, deal: Deal) -> bool:
        threshold = route.search.min_deal_score if route.search else DEFAULT_MIN_DEAL_SCORE
        if deal.score < threshold:
            return False
        if route.rule is None:
            return True
        fields = rule_fields(deal.listing, deal.release, deal, deal.match)
        return route.rule.evaluate(fields)

    async def _identify(
        self, listing: Listing, counts: PipelineCounts, *, may_enrich: bool
    ) -> tuple[Listing, Identification]:
        with self.engine.connect() as conn:
            found = identify(listing, SqlCatalog(conn))
        needs_specifics = listing.catalog_no is None and listing.barcode is None
        unsettled = found.ambiguous or (
            found.match is not None and found.match.method is MatchMethod.ALBUM
        )
        if unsettled and needs_specifics and may_enrich and self.items:
            # The title gave plausible candidates (or an album's pressings) it cannot tell
            # apart: the item's specifics (catalog number, UPC) can settle it. Only here is
            # an item call worth a share of the daily budget.
            try:
                detailed = await self.items.get_item(listing.item_id, listing.marketplace)
            except NotFoundError:
                return listing, found
            counts.enriched += 1
            with self.engine.begin() as conn:
                listings.update_listing(conn, detailed)
                found = identify(detailed, SqlCatalog(conn))
            return detailed, found
        return listing, found

    async def _cheapest_pressing(
        self, listing: Listing, match: Match, counts: PipelineCounts
    ) -> tuple[Match, Release | None]:
        """An album match priced as the cheapest of its pressings for the listing's grade:
        a deal against that price is a deal whichever pressing the listing is. No price
        when the title names a pressing the catalog lacks, or one pressing has no price."""
        if not album_can_be_priced(match):
            return match, None
        pressings = []
        for release_id in match.pressings:
            release = await self._priced_release(release_id, counts)
            if release is None:
                return match, None
            pressings.append(release)
        cheapest = album_reference(listing, match, pressings, self.rates)
        if cheapest is None:
            return match, None
        return replace(match, release_id=cheapest.id), cheapest

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
            except NotFoundError:
                fetched = None  # gone from Discogs: remembered as unpriced below
            except ExternalServiceError as exc:
                if guide is None:
                    raise  # no price at all: the listing is evaluated again later
                log.warning("prices for release %s not refreshed: %s", release_id, exc)
                return release
            counts.priced += 1
            now = self.clock()
            stored = fetched or PriceGuide(currency="USD", updated_at=now)  # remember "unpriced"
            with self.engine.begin() as conn:
                catalog.set_prices(conn, release_id, stored, now)
                release = catalog.get_release(conn, release_id)
        return release


async def _at_once(calls: Iterable[Callable[[], Awaitable[None]]]) -> None:
    """Run `calls` (one per listing), LISTINGS_AT_ONCE at a time. The first error that
    escapes one (eBay said stop, bad credentials: `_guarded` lets only those through)
    cancels the others, which stay unfinished for a later pass, and is raised as is."""
    gate = asyncio.Semaphore(LISTINGS_AT_ONCE)

    async def one(call: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await call()

    try:
        async with asyncio.TaskGroup() as group:
            for call in calls:
                group.create_task(one(call))
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


def _unique(found: Sequence[Listing]) -> list[Listing]:
    seen: set[str] = set()
    out = []
    for listing in found:
        if listing.item_id not in seen:
            seen.add(listing.item_id)
            out.append(listing)
    return out
