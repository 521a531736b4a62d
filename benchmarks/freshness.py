"""How fresh are the alerts? Listing appears on eBay → the alert arrives in Telegram.

The product's real code runs the whole path against the three fakes, on a simulated
clock, within the daily eBay budget (5,000 calls, reset 07:00 UTC):

    fake eBay ─► EbayClient (budget) ─► Scheduler (planner, firehose, own queries)
      ─► DealPipeline: identify against a filled catalog ─► Discogs prices through
      DiscogsClient ─► fake Discogs ─► score ─► the search's rule and the global rule
      ─► AlertDispatcher ─► TelegramNotifier (python-telegram-bot) ─► fake Telegram

All of it in one process over `httpx.ASGITransport` (no sockets). A listing's latency is
*the fake Telegram's receive stamp of its alert − the listing's `itemOriginDate`*: what
the user sees. Per listing the market knows by construction whether it must alert
(wanted by a search, priced under its reference, passing the search's rule); *missed*
counts those no alert arrived for by the end of the run, *unexpected* alerts nobody
should have had, *duplicates* a second alert to the same chat for the same listing.

The clock (`WarpClock`): simulated time jumps over the daemon's sleeps (until
`Scheduler.next_wakeup`, at most the daemon's 20-second tick) and over every sleep the
clients ask for (Discogs' rate-limit pacing, Telegram's retry_after), and flows at the
real rate while the product works, so what the pipeline costs in CPU (matching, SQLite,
the HTTP stacks) is in the latency; the benchmark's own bookkeeping (adding listings to
the fake) runs with the clock stopped. A listing appears on the fake eBay at its time:
the fake is wrapped so that every request first adds the listings whose time has come.

The market (per simulated day, Poisson with a daily swell peaking in the evening):

- EBAY_US: Records, CDs and Cassettes receive 30,000 / 10,000 / 2,000 new listings;
  the searches of the home marketplace (`home`, riding the firehose) want 30 % of them
  between them, heavy-tailed (Pareto);
- `other marketplace` searches (EBAY_GB and EBAY_DE, `--other-share` of the searches)
  each get ~20 listings a day (heavy-tailed, so some get hundreds) in their site's
  record categories, which also receive 8,000 (GB) / 6,000 (DE) listings nobody wants;
- `own query` searches (`--own-share`, EBAY_US, set to query alone): ~20 a day each.

The fake eBay shows every site's listings to a search on any site (cross-border, as
eBay does), so each stream also carries the other sites' listings.

Half of the unwanted listings are other records of the catalog, half are noise. Each
search has a few releases of its own in the catalog (one artist, its two words, vinyl,
CD and cassette pressings); a wanted listing names one of them with its catalog number.
Half of the wanted listings are priced well under the release's Discogs VG+ suggestion
(a deal), a fifth a little under it (a deal, but refused by the rule `price < 20` that a
third of the searches carry), the rest over it. Every search belongs to one of 50 chats.

    .venv/bin/python benchmarks/freshness.py                          # 200 searches, a day
    .venv/bin/python benchmarks/freshness.py --searches 1000 --write  # and results-*.md
    .venv/bin/python benchmarks/freshness.py --hours 3 --baseline     # with the fixed loop

`--baseline` also runs the seed's fixed 30-minute loop (every search its own query, one
page of 100, every 30 minutes; it fails until the reset once the budget refuses) over
the same market in a second process.

Targets (issue 12): median ≤ 30 s and p95 ≤ 60 s listing → alert received, per class;
never over budget; 0 missed.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import logging
import math
import os
import platform
import random
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import telegram
from sqlalchemy.engine import Engine
from telegram.request import HTTPXRequest

from vinyl_detective.domain.currency import DEFAULT_RATES
from vinyl_detective.domain.matching import identify
from vinyl_detective.domain.models import Listing, Release, SavedSearch
from vinyl_detective.domain.query import query_matches
from vinyl_detective.errors import BudgetExhaustedError
from vinyl_detective.fakes.discogs import FakeDiscogs
from vinyl_detective.fakes.ebay import FakeEbay, make_item
from vinyl_detective.fakes.telegram import FakeTelegram
from vinyl_detective.jobs.pipeline import DealPipeline, Route
from vinyl_detective.jobs.poll import poll_search
from vinyl_detective.jobs.routing import compile_routes
from vinyl_detective.jobs.scheduler import Scheduler
from vinyl_detective.notify.dispatch import AlertDispatcher, Channel, TelegramChannel
from vinyl_detective.notify.telegram import TelegramNotifier
from vinyl_detective.sources.discogs import DiscogsClient
from vinyl_detective.sources.ebay import CASSETTES, CDS, RECORDS, EbayClient
from vinyl_detective.sources.ebay_parse import listing_from_item
from vinyl_detective.sources.ratelimit import HeaderRateLimiter
from vinyl_detective.storage import catalog, checkpoints, search_schedules, searches
from vinyl_detective.storage.catalog_lookup import SqlCatalog
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.schema import api_usage
from vinyl_detective.storage.schema import listings as listings_table
from vinyl_detective.storage.usage import DbCallBudget

START = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # a quota day starts
HOME = "EBAY_US"
OTHER_SITES = ("EBAY_GB", "EBAY_DE")
CATEGORIES = (RECORDS, CDS, CASSETTES)
CATEGORY_NAMES = {RECORDS: "records", CDS: "cds", CASSETTES: "cassettes"}
# New listings a day: the home site's categories (30 % wanted by its searches), and the
# other sites' listings nobody wants (their searches' own listings come on top).
HOME_RATES = {RECORDS: 30_000, CDS: 10_000, CASSETTES: 2_000}
OTHER_BACKGROUND = {"EBAY_GB": 8_000, "EBAY_DE": 6_000}
CATEGORY_SHARES = {RECORDS: 0.70, CDS: 0.25, CASSETTES: 0.05}  # a site's listings by category
SITE_CURRENCY = {"EBAY_US": "USD", "EBAY_GB": "GBP", "EBAY_DE": "EUR"}
SITE_COUNTRY = {"EBAY_US": "US", "EBAY_GB": "GB", "EBAY_DE": "DE"}
FORMATS = {RECORDS: ("Vinyl", "LP"), CDS: ("CD", "CD"), CASSETTES: ("Cassette", "Cassette")}
MATCH_SHARE = 0.30
DAILY_LIMIT = 5_000
FIXED_MINUTES = 30
CHATS = 50
RULE = "price < 20"  # a third of the searches carry it
GLOBAL_RULE = "price < 500"
REFERENCE = Decimal("60.00")  # every search release's VG+ suggestion on Discogs
PRICES = {"deal": "10.00", "rule_refused": "25.00", "over": "90.00"}
# After the measured window, for late polls and alerts: the longest interval the planner
# gives a search by default (SchedulePlanner.max_minutes), so a listing of the window's last
# minutes still not alerted at the end was lost, not merely late.
GRACE = timedelta(minutes=240)
DAEMON_TICK = 20.0  # Daemon's default tick_seconds: its longest sleep
ITEM_BASE = 286_000_000_000  # make_item's legacy id offset
KEEP_MARK = "<!-- kept by --write -->"  # what follows survives `--write`

CLASSES = ("home", "other marketplace", "own query")

# --- the market ---------------------------------------------------------------------------

_SYLLABLES = ["ka", "lo", "mi", "ru", "ze", "ta", "vo", "ni", "sa", "de", "po", "gu", "fe"]
_OTHER_SYLLABLES = ["bra", "qui", "shu", "wex", "yor", "jam", "hol", "tri", "ump", "cal"]
_FILLER_WORDS = [
    *("Various", "Artists", "Jazz", "Soul", "Funk", "Rock", "Blues", "Orchestra"),
    *("Compilation", "Volume", "Live", "Greatest", "Hits", "Sessions", "Anthology"),
    *("Classics", "Collection", "Songs", "Night", "Love", "Sound", "Best", "Original"),
    *("Soundtrack", "Dance", "Party", "Country", "Gospel", "Folk", "Disco", "Reggae"),
]
_ALBUM_WORDS = ["Midnight", "Harbour", "Orbit", "Velvet", "Echoes", "Summit", "Lantern", "Ember"]
_NOISE = ["RARE", "L@@K", "NICE", "WOW", "GEM"]


@dataclass(frozen=True, slots=True)
class SearchSpec:
    query: str
    site: str
    klass: str  # one of CLASSES
    chat_id: int
    rule: str | None
    releases: dict[str, list[Release]]  # by category: its own pressings


@dataclass(frozen=True, slots=True)
class Arrival:
    """One new listing: when it appears, where, what it is, which search wants it."""

    at: datetime
    n: int
    title: str
    category: str
    site: str
    price: str
    owner: int | None  # index into Market.searches
    kind: str | None  # "deal", "rule_refused", "over"; None when nobody wants it

    def alerts(self, market: Market) -> bool:
        """Whether this listing must reach its search's chat."""
        if self.owner is None:
            return False
        rule = market.searches[self.owner].rule
        return self.kind == "deal" or (self.kind == "rule_refused" and rule is None)


@dataclass(frozen=True)
class Market:
    searches: list[SearchSpec]
    arrivals: list[Arrival]  # by time
    catalog: list[Release]  # the searches' releases, then the rest


def _word(rng: random.Random, used: set[str], syllables: Sequence[str]) -> str:
    while True:
        word = "".join(rng.choice(syllables) for _ in range(3))
        if word not in used:
            used.add(word)
            return word


def _swell(moment: datetime) -> float:
    """The daily swell: busiest in the evening (UTC), quietest before dawn; mean 1."""
    hours = moment.hour + moment.minute / 60
    return 1 + 0.5 * math.sin(2 * math.pi * (hours - 14) / 24)


def _poisson(rng: random.Random, per_day: float, horizon: float) -> Iterator[float]:
    """Arrival times (seconds from START) of a stream of `per_day`, with the swell."""
    peak = per_day / 86_400 * 1.5
    t = 0.0
    while (t := t + rng.expovariate(peak)) < horizon:
        if rng.random() * 1.5 <= _swell(START + timedelta(seconds=t)):
            yield t


def _pick_category(rng: random.Random) -> str:
    return rng.choices(list(CATEGORY_SHARES), weights=list(CATEGORY_SHARES.values()))[0]


def build_market(
    seed: int,
    hours: float,
    total: int,
    other_share: float,
    own_share: float,
    per_day: float = 20,
    background_releases: int = 20_000,
) -> Market:
    rng = random.Random(seed)
    used = {w.lower() for w in _FILLER_WORDS + _ALBUM_WORDS}
    n_other = round(total * other_share)
    n_own = round(total * own_share)
    n_home = total - n_other - n_own
    specs: list[SearchSpec] = []
    release_id = 1_000_000
    catno = itertools.count(10_001)
    for index in range(total):
        if index < n_home:
            klass, site = "home", HOME
        elif index < n_home + n_other:
            klass, site = "other marketplace", OTHER_SITES[(index - n_home) % len(OTHER_SITES)]
        else:
            klass, site = "own query", HOME
        words = [_word(rng, used, _SYLLABLES), _word(rng, used, _SYLLABLES)]
        artist = " ".join(w.capitalize() for w in words)
        releases: dict[str, list[Release]] = {}
        for category, (fmt, description) in FORMATS.items():
            releases[category] = []
            for album in rng.sample(_ALBUM_WORDS, 2):
                release_id += 1
                releases[category].append(
                    Release(
                        id=release_id,
                        artist=artist,
                        title=f"{album} {words[1].capitalize()}",
                        labels=("Benchmark Records",),
                        catalog_nos=(f"BR-{next(catno)}",),
                        format=fmt,
                        format_descriptions=(description,),
                        country=SITE_COUNTRY[site],
                        year=1970 + release_id % 50,
                    )
                )
        specs.append(
            SearchSpec(
                query=" ".join(words),
                site=site,
                klass=klass,
                chat_id=1_000 + index % CHATS,
                rule=RULE if index % 3 == 2 else None,
                releases=releases,
            )
        )
    others: list[Release] = []
    for _ in range(background_releases):
        release_id += 1
        category = _pick_category(rng)
        fmt, description = FORMATS[category]
        name = f"{_word(rng, set(), _OTHER_SYLLABLES).capitalize()} {rng.choice(_FILLER_WORDS)}"
        others.append(
            Release(
                id=release_id,
                artist=name,
                title=f"{rng.choice(_FILLER_WORDS)} {rng.choice(_ALBUM_WORDS)}",
                labels=("Other Label",),
                catalog_nos=(f"OL-{next(catno)}",),
                format=fmt,
                format_descriptions=(description,),
                year=1960 + release_id % 60,
            )
        )

    horizon = hours * 3600 + GRACE.total_seconds()
    # (t, category, site, owner)
    raw: list[tuple[float, str, str, int | None]] = []
    home_weights = list(itertools.accumulate(rng.paretovariate(1.2) for _ in range(n_home)))
    for category, daily in HOME_RATES.items():
        for t in _poisson(rng, daily, horizon):
            owner: int | None = None
            if n_home and rng.random() < MATCH_SHARE:
                pick = rng.random() * home_weights[-1]
                owner = min(n_home - 1, bisect.bisect_left(home_weights, pick))
            raw.append((t, category, HOME, owner))
    for site, daily in OTHER_BACKGROUND.items():
        for t in _poisson(rng, daily, horizon):
            raw.append((t, _pick_category(rng), site, None))
    for owner in range(n_home, total):
        rate = per_day * rng.paretovariate(1.2)
        for t in _poisson(rng, rate, horizon):
            raw.append((t, _pick_category(rng), specs[owner].site, owner))
    raw.sort(key=lambda r: r[0])

    arrivals = []
    kinds = ["deal"] * 5 + ["rule_refused"] * 2 + ["over"] * 3
    for n, (t, category, site, owner) in enumerate(raw, start=1):
        kind: str | None = None
        if owner is not None:
            kind = rng.choice(kinds)
            release = rng.choice(specs[owner].releases[category])
            fmt_word = FORMATS[category][1]
            title = (
                f"{release.artist} {release.title} {fmt_word} {release.catalog_nos[0]} "
                f"VG+ {rng.choice(_NOISE)}"
            )
            price = PRICES[kind]
        elif rng.random() < 0.5:
            release = rng.choice(others)
            title = f"{release.artist} {release.title} {release.catalog_nos[0]} VG"
            price = f"{5 + n % 40}.00"
        else:
            title = " ".join([*rng.sample(_FILLER_WORDS, 3), rng.choice(_NOISE)])
            price = f"{5 + n % 40}.00"
        at = START + timedelta(seconds=t)
        arrivals.append(Arrival(at, n, title, category, site, price, owner, kind))
    search_releases = [r for s in specs for rs in s.releases.values() for r in rs]
    return Market(specs, arrivals, search_releases + others)


def market_item(a: Arrival) -> dict[str, Any]:
    return make_item(
        a.n,
        a.title,
        a.price,
        listed_at=a.at,
        currency=SITE_CURRENCY[a.site],
        category_id=a.category,
        auction=a.owner is None and a.n % 5 == 0,
        country=SITE_COUNTRY[a.site],
        marketplace=a.site,
    )


def check_market(market: Market, engine: Engine, sample: int = 300) -> None:
    """Who wants what is known by construction; spot-check it with the real code: the
    search's keywords, and the matcher naming the listing's release."""
    rng = random.Random(1)
    wanted = [a for a in market.arrivals if a.owner is not None]
    queries = [s.query for s in market.searches]
    with engine.connect() as conn:
        lookup = SqlCatalog(conn)
        for a in rng.sample(market.arrivals, min(sample, len(market.arrivals))):
            same_site = [
                i
                for i, q in enumerate(queries)
                if market.searches[i].site == a.site and query_matches(q, a.title)
            ]
            assert same_site == ([] if a.owner is None else [a.owner]), (a, same_site)
        for a in rng.sample(wanted, min(sample, len(wanted))):
            listing = _listing(a)
            match = identify(listing, lookup).match
            owner = market.searches[a.owner or 0]
            ids = {r.id for r in owner.releases[a.category]}
            assert match is not None, a.title
            assert match.release_id in ids, (a.title, match)


def _listing(a: Arrival) -> Listing:
    return listing_from_item(market_item(a), marketplace=a.site)


# --- the clock ---------------------------------------------------------------------------


class WarpClock:
    """Simulated time: flows with the CPU time the product spends, jumps over its sleeps.

    `skip(seconds)` is every sleep of the product (the daemon's wait for the next job,
    the clients' pacing) and every network round trip; `paused()` stops it for the
    benchmark's own bookkeeping. It follows this process's CPU time, not the wall clock,
    so the other work of a shared machine does not count as the daemon's.
    """

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._skipped = 0.0
        self._origin = time.process_time()
        self._frozen: float | None = None

    def seconds(self) -> float:
        """Seconds since `start` (also the clients' monotonic clock)."""
        if self._frozen is not None:
            return self._frozen
        return self._skipped + time.process_time() - self._origin

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds())

    def epoch(self) -> float:
        return self.start.timestamp() + self.seconds()

    def skip(self, seconds: float) -> None:
        if seconds > 0:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._skipped += seconds

    def jump_to(self, moment: datetime) -> None:
        self.skip((moment - self()).total_seconds())

    async def sleep(self, seconds: float) -> None:
        self.skip(seconds)
        await asyncio.sleep(0)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        if self._frozen is not None:  # nested
            yield
            return
        self._frozen = self.seconds()
        try:
            yield
        finally:
            frozen, self._frozen = self._frozen, None
            self._skipped = frozen - (time.process_time() - self._origin)


# --- one simulated world -----------------------------------------------------------------


@dataclass
class World:
    engine: Engine
    fake: FakeEbay
    telegram: FakeTelegram
    discogs: FakeDiscogs
    ebay: EbayClient
    pipeline: DealPipeline
    clock: WarpClock
    market: Market
    released: int = 0
    searches: list[SavedSearch] = field(default_factory=list)

    def release(self) -> None:
        """Listings whose time has come appear on the fake eBay (the clock stopped)."""
        with self.clock.paused():
            upto = self.clock()
            arrivals = self.market.arrivals
            end = self.released
            while end < len(arrivals) and arrivals[end].at <= upto:
                end += 1
            if end > self.released:
                self.fake.add_items(market_item(a) for a in arrivals[self.released : end])
                self.released = end

    def first_seen(self) -> dict[int, datetime]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(listings_table.c.item_id, listings_table.c.first_seen))
            return {_number(item_id): seen for item_id, seen in rows}

    def calls_by_day(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(api_usage.c.day, api_usage.c.calls).where(api_usage.c.service == "ebay")
            )
            return {str(day): int(calls) for day, calls in rows}


def _number(item_id: str) -> int:
    return int(item_id.split("|")[1]) - ITEM_BASE


class _Network:
    """A fake's ASGI app behind a network: each request costs `latency` seconds of the
    simulated clock (a round trip), then `before()` runs (the fake eBay: the listings
    whose time has come appear), then the fake answers."""

    def __init__(
        self,
        app: Any,
        clock: WarpClock,
        latency: float,
        before: Callable[[], None] | None = None,
    ) -> None:
        self._app = app
        self._clock = clock
        self._latency = latency
        self._before = before

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self._clock.skip(self._latency)
            if self._before is not None:
                self._before()
        await self._app(scope, receive, send)


@dataclass(frozen=True)
class Latency:
    """Assumed network round trips (seconds): not measured here, see the docstring."""

    ebay: float = 0.3
    discogs: float = 0.2
    telegram: float = 0.15


@contextlib.asynccontextmanager
async def open_world(
    market: Market, directory: str, latency: Latency = Latency(), daily_limit: int = DAILY_LIMIT
) -> AsyncIterator[World]:
    clock = WarpClock(START)
    with clock.paused():  # setting up is not the product's time
        engine = open_database(f"sqlite:///{directory}/freshness.db")
        fake = FakeEbay(clock=clock, daily_limit=daily_limit)
        fake_discogs = FakeDiscogs(
            [_discogs_release(r) for r in market.catalog[: _search_release_count(market)]],
            price_suggestions={
                r.id: _suggestions(REFERENCE)
                for r in market.catalog[: _search_release_count(market)]
            },
            token="benchmark-token",
            clock=clock.seconds,
        )
        fake_telegram = FakeTelegram(clock=clock.epoch)
        with engine.begin() as conn:
            catalog.upsert_releases(conn, market.catalog, START - timedelta(days=30))
    holder: list[World] = []

    def arrive() -> None:
        if holder:
            holder[0].release()

    ebay_app = _Network(fake.app, clock, latency.ebay, arrive)
    discogs_app = _Network(fake_discogs.app, clock, latency.discogs)
    telegram_app = _Network(fake_telegram.app, clock, latency.telegram)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=ebay_app)) as ebay_http,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=discogs_app)) as discogs_http,
        telegram.Bot(
            fake_telegram.token,
            base_url="https://api.telegram.test/bot",
            request=HTTPXRequest(httpx_kwargs={"transport": httpx.ASGITransport(app=telegram_app)}),
        ) as bot,
    ):
        ebay = EbayClient(
            fake.app_id,
            fake.cert_id,
            base_url="https://api.ebay.test",
            http=ebay_http,
            budget=_budget(engine, clock, daily_limit),
            sleep=clock.sleep,
            clock=clock.seconds,
        )
        discogs = DiscogsClient(
            "benchmark-token",
            base_url="https://api.discogs.test",
            user_agent="VinylDetectiveBenchmark/1.0",
            http=discogs_http,
            limiter=HeaderRateLimiter(min_interval=0, clock=clock.seconds, sleep=clock.sleep),
            sleep=clock.sleep,
        )
        notifier = TelegramNotifier(bot, sleep=clock.sleep)

        def channels_for(search: SavedSearch | None) -> list[Channel]:
            if search is None or search.chat_id is None:
                return []
            return [TelegramChannel(notifier, search.chat_id)]

        pipeline = DealPipeline(
            engine=engine,
            prices=discogs,
            items=ebay,
            dispatcher=AlertDispatcher(engine, clock),
            channels_for=channels_for,
            rates=DEFAULT_RATES,
            clock=clock,
        )
        world = World(engine, fake, fake_telegram, fake_discogs, ebay, pipeline, clock, market)
        with clock.paused(), engine.begin() as conn:
            for spec in market.searches:
                search = searches.add_search(
                    conn,
                    query=spec.query,
                    now=START,
                    marketplace=spec.site,
                    poll_minutes=30,
                    chat_id=spec.chat_id,
                    rule=spec.rule,
                )
                if spec.klass == "own query":
                    search_schedules.set_search_options(conn, search.id, mode="query")
                checkpoints.start_backfill(conn, search.id, START)
                checkpoints.finish_backfill(conn, search.id, now=START, completed=True)
                world.searches.append(search)
        holder.append(world)
        try:
            yield world
        finally:
            engine.dispose()


def _search_release_count(market: Market) -> int:
    return sum(len(rs) for s in market.searches for rs in s.releases.values())


def _budget(engine: Engine, clock: WarpClock, limit: int) -> DbCallBudget:
    return DbCallBudget(engine, "ebay", limit, clock)


def _discogs_release(release: Release) -> dict[str, Any]:
    return {
        "id": release.id,
        "title": release.title,
        "artists": [{"name": release.artist, "anv": "", "join": "", "id": 1}],
        "labels": [{"name": label, "catno": release.catalog_nos[0]} for label in release.labels],
        "formats": [{"name": release.format, "qty": "1"}],
        "year": release.year,
    }


def _suggestions(vg_plus: Decimal) -> dict[str, Any]:
    grades = {
        "Mint (M)": 1.6,
        "Near Mint (NM or M-)": 1.3,
        "Very Good Plus (VG+)": 1.0,
        "Very Good (VG)": 0.7,
        "Good Plus (G+)": 0.45,
        "Good (G)": 0.3,
        "Fair (F)": 0.2,
        "Poor (P)": 0.1,
    }
    return {
        grade: {"currency": "USD", "value": float(vg_plus) * factor}
        for grade, factor in grades.items()
    }


def _routes(due: list[SavedSearch]) -> list[Route]:
    return compile_routes(due, GLOBAL_RULE)[0]


def _when(moment: datetime) -> str:
    return f"{moment:%H:%M}" + ("" if moment.date() == START.date() else " (day 2)")


async def run_scheduler(world: World, until: datetime) -> list[str]:
    """Our scheduler, woken as the daemon wakes it (when due, at the latest every 20 s)."""
    clock = world.clock
    scheduler = Scheduler(
        engine=world.engine,
        ebay=world.ebay,
        pipeline=world.pipeline,
        compile_routes=_routes,
        clock=clock,
        budget=_budget(world.engine, clock, world.fake.daily_limit),
        sleep=clock.sleep,
    )
    notes: list[str] = []
    state: dict[str, object] = {}
    polls = Counter[str]()
    while clock() <= until:
        report = await scheduler.run_due(clock())
        polls["firehose"] += report.firehose_polls
        polls["own query"] += report.query_polls
        plan = report.plan
        if plan is not None:
            summary = _plan_summary(plan)
            if summary != state.get("plan"):
                state["plan"] = summary
                notes.append(f"{_when(clock())} {summary}")
        if report.paused_until is not None and state.get("paused") != report.paused_until:
            state["paused"] = report.paused_until
            notes.append(f"{_when(clock())} paused until {_when(report.paused_until)}")
        # Daemon._poll_loop: sleep until the next wake-up, at least 1 s, at most a tick.
        now = clock()
        wait = (scheduler.next_wakeup(now) - now).total_seconds()
        clock.skip(min(max(wait, 1.0), DAEMON_TICK))
    notes.append(f"polls: {polls['firehose']:,} firehose, {polls['own query']:,} own query")
    return notes


def _plan_summary(plan: Any) -> str:
    """What the plan does, coarsely (a note when it changes)."""
    firehoses = getattr(plan, "firehose_marketplaces", None)
    if firehoses is None:
        firehoses = [HOME] if plan.use_firehose else []
    return f"firehose on {', '.join(sorted(firehoses)) or 'nothing'}"


async def run_fixed_loop(world: World, until: datetime) -> list[str]:
    """The seed's loop: every search, its own query, one page, every 30 minutes."""
    clock = world.clock
    routes = _routes(world.searches)
    notes: list[str] = []
    refused = False
    while clock() <= until:
        round_started = clock()
        for route in routes:
            try:
                await poll_search(
                    engine=world.engine,
                    ebay=world.ebay,
                    pipeline=world.pipeline,
                    route=route,
                    clock=clock,
                    page_size=100,
                    max_pages=1,
                )
                refused = False
            except BudgetExhaustedError:  # the seed logs it and goes on
                if not refused:
                    notes.append(f"{_when(clock())} budget refused: every poll fails until 07:00")
                refused = True
        clock.jump_to(max(clock(), round_started + timedelta(minutes=FIXED_MINUTES)))
    return notes


STRATEGIES: dict[str, Callable[[World, datetime], Awaitable[list[str]]]] = {
    "our scheduler": run_scheduler,
    "fixed 30-minute loop (seed)": run_fixed_loop,
}


# --- figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassFigures:
    searches: int
    expected: int  # alerts that must arrive (listings of the window)
    received: int
    median_s: float
    p95_s: float
    max_s: float
    stored_median_s: float  # listing → stored, for comparison (the old measure)

    @property
    def missed(self) -> int:
        return self.expected - self.received


@dataclass(frozen=True)
class Figures:
    name: str
    overall: ClassFigures
    by_class: dict[str, ClassFigures]
    unexpected: int
    duplicates: int
    calls_by_day: dict[str, int]
    ebay_calls: int  # Browse calls the fake eBay received (token requests not counted)
    discogs_calls: int
    telegram_messages: int
    wall_seconds: float
    simulated_hours: float
    notes: list[str]
    daily_limit: int = DAILY_LIMIT

    @property
    def over_budget(self) -> bool:
        return any(calls > self.daily_limit for calls in self.calls_by_day.values())


_ITEM_IN_BUTTON = re.compile(r"v1\|(\d+)\|0")


def received_alerts(fake: FakeTelegram) -> tuple[dict[tuple[int, int], float], int]:
    """(chat, listing number) → first receive time (epoch s), and how many came twice."""
    first: dict[tuple[int, int], float] = {}
    duplicates = 0
    for message in fake.sent:
        markup = message.get("reply_markup") or {}
        data = " ".join(
            str(button.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for button in row
        )
        found = _ITEM_IN_BUTTON.search(data)
        if found is None:
            continue
        key = (int(message["chat_id"]), int(found.group(1)) - ITEM_BASE)
        if key in first:
            duplicates += 1
        else:
            first[key] = float(message["received_at"])
    return first, duplicates


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return math.nan, math.nan, math.nan
    p95 = statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)
    return statistics.median(values), p95, max(values)


def figures(name: str, world: World, hours: float, started: float, notes: list[str]) -> Figures:
    market = world.market
    window_end = START + timedelta(hours=hours)
    received, duplicates = received_alerts(world.telegram)
    seen = world.first_seen()
    by_class_values: dict[str, tuple[list[float], list[float], int, int]] = {
        k: ([], [], 0, 0) for k in CLASSES
    }
    expected_keys: set[tuple[int, int]] = set()
    for a in market.arrivals:
        if not a.alerts(market):
            continue
        spec = market.searches[a.owner or 0]
        key = (spec.chat_id, a.n)
        expected_keys.add(key)
        if a.at > window_end:
            continue
        latencies, stored, expected, got = by_class_values[spec.klass]
        expected += 1
        if key in received:
            got += 1
            latencies.append(received[key] - a.at.timestamp())
        if a.n in seen:
            stored.append((seen[a.n] - a.at).total_seconds())
        by_class_values[spec.klass] = (latencies, stored, expected, got)
    unexpected = sum(1 for key in received if key not in expected_keys)

    def class_figures(klass: str | None) -> ClassFigures:
        chosen = [v for k, v in by_class_values.items() if klass is None or k == klass]
        latencies = [x for v in chosen for x in v[0]]
        stored = [x for v in chosen for x in v[1]]
        median, p95, worst = _quantiles(latencies)
        count = sum(1 for s in market.searches if klass is None or s.klass == klass)
        return ClassFigures(
            count,
            sum(v[2] for v in chosen),
            sum(v[3] for v in chosen),
            median,
            p95,
            worst,
            statistics.median(stored) if stored else math.nan,
        )

    return Figures(
        name,
        class_figures(None),
        {k: class_figures(k) for k in CLASSES},
        unexpected,
        duplicates,
        world.calls_by_day(),
        world.fake.calls,
        world.discogs.request_count,
        len(world.telegram.sent),
        time.perf_counter() - started,
        world.clock.seconds() / 3600,
        notes,
        world.fake.daily_limit,
    )


def measure(name: str, config: dict[str, Any]) -> Figures:
    """Build the market, run one strategy over it, read the figures."""
    logging.basicConfig(level=logging.ERROR)
    started = time.perf_counter()
    market = build_market(**_market_args(config))
    until = START + timedelta(hours=config["hours"]) + GRACE
    with tempfile.TemporaryDirectory(prefix="vd-freshness-") as directory:

        async def run() -> Figures:
            latency = Latency(*config["latency"])
            async with open_world(market, directory, latency, config["budget"]) as world:
                if config.get("check", True):
                    check_market(market, world.engine)
                notes = await STRATEGIES[name](world, until)
                return figures(name, world, config["hours"], started, notes)

        return asyncio.run(run())


def _market_args(config: dict[str, Any]) -> dict[str, Any]:
    keys = ("seed", "hours", "total", "other_share", "own_share", "per_day")
    return {k: config[k] for k in keys} | {"background_releases": config["catalog"]}


def _s(seconds: float) -> str:
    if math.isnan(seconds):
        return "–"
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.0f} min"


def table(rows: Sequence[Figures]) -> str:
    lines = [
        "| strategy | class | searches | alerts due | missed | median | p95 | max | "
        "median to *stored* |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in rows:
        for klass, c in [("all", f.overall), *f.by_class.items()]:
            lines.append(
                f"| {f.name} | {klass} | {c.searches:,} | {c.expected:,} | {c.missed:,} | "
                f"{_s(c.median_s)} | {_s(c.p95_s)} | {_s(c.max_s)} | {_s(c.stored_median_s)} |"
            )
    lines += [
        "",
        "| strategy | eBay calls per quota day | over budget | Discogs calls | Telegram "
        "messages | unexpected alerts | duplicates | wall time (simulated) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for f in rows:
        calls = ", ".join(f"{day}: {c:,}" for day, c in sorted(f.calls_by_day.items()))
        lines.append(
            f"| {f.name} | {calls} | {'YES' if f.over_budget else 'no'} | {f.discogs_calls:,} | "
            f"{f.telegram_messages:,} | {f.unexpected} | {f.duplicates} | "
            f"{f.wall_seconds:.0f} s ({f.simulated_hours:.1f} h) |"
        )
    lines += ["", "What happened when (simulated UTC):", ""]
    lines += [f"- {f.name}: {'; '.join(f.notes) or 'nothing of note'}" for f in rows]
    return "\n".join(lines)


def machine() -> str:
    uname = platform.uname()
    return (
        f"{uname.machine}, nproc {os.cpu_count()}, {uname.system} {uname.release}, "
        f"Python {platform.python_version()}"
    )


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def checks(ours: Figures) -> dict[str, bool]:
    result = {
        "never over budget": not ours.over_budget,
        "every call was counted by the budget": ours.ebay_calls == sum(ours.calls_by_day.values()),
        "0 missed, 0 unexpected, 0 duplicates": (
            ours.overall.missed == 0 and ours.unexpected == 0 and ours.duplicates == 0
        ),
        "overall median ≤ 30 s, p95 ≤ 60 s": (
            ours.overall.median_s <= 30 and ours.overall.p95_s <= 60
        ),
    }
    for klass, c in ours.by_class.items():
        if c.expected:
            result[f"{klass}: median ≤ 30 s, p95 ≤ 60 s"] = c.median_s <= 30 and c.p95_s <= 60
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=24.0, help="measured window (simulated)")
    parser.add_argument("--searches", type=int, default=200, help="saved searches in all")
    parser.add_argument(
        "--other-share", type=float, default=0.05, help="share of searches on EBAY_GB/EBAY_DE"
    )
    parser.add_argument(
        "--own-share", type=float, default=0.01, help="share of searches that query alone"
    )
    parser.add_argument(
        "--per-day", type=float, default=20, help="typical new listings a day of such a search"
    )
    parser.add_argument("--catalog", type=int, default=20_000, help="other releases in the catalog")
    parser.add_argument(
        "--latency",
        type=float,
        nargs=3,
        default=[Latency.ebay, Latency.discogs, Latency.telegram],
        metavar=("EBAY", "DISCOGS", "TELEGRAM"),
        help="assumed network round trips in seconds (default: %(default)s)",
    )
    parser.add_argument(
        "--budget", type=int, default=DAILY_LIMIT, help="eBay calls a quota day (%(default)s)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--baseline", action="store_true", help="also run the fixed loop")
    parser.add_argument("--write", action="store_true", help="write results-freshness.md")
    args = parser.parse_args()

    config = {
        "seed": args.seed,
        "hours": args.hours,
        "total": args.searches,
        "other_share": args.other_share,
        "own_share": args.own_share,
        "per_day": args.per_day,
        "catalog": args.catalog,
        "latency": tuple(args.latency),
        "budget": args.budget,
    }
    load_before = load()
    started = time.perf_counter()
    names = list(STRATEGIES) if args.baseline else ["our scheduler"]
    if len(names) == 1:
        rows = [measure(names[0], config)]
    else:
        with ProcessPoolExecutor(max_workers=len(names)) as pool:
            rows = list(pool.map(measure, names, [config] * len(names)))
    elapsed = time.perf_counter() - started
    load_after = load()
    market = build_market(**_market_args(config))
    setup = describe(args, market)
    report = table(rows)
    results = checks(rows[0])
    print(setup)
    print(report)
    for check, ok in results.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {check}")
    print(f"({elapsed:.0f} s wall; load average {load_before} before, {load_after} after)")
    if args.write:
        write_results(args, setup, report, results, elapsed, load_before, load_after)
        print("wrote benchmarks/results-freshness.md")
    assert not rows[0].over_budget, "the scheduler spent more than the daily budget"


def describe(args: argparse.Namespace, market: Market) -> str:
    window_end = START + timedelta(hours=args.hours)
    counts = Counter(s.klass for s in market.searches)
    sites = Counter(s.site for s in market.searches if s.klass == "other marketplace")
    listed = sum(1 for a in market.arrivals if a.at <= window_end)
    wanted = sum(1 for a in market.arrivals if a.at <= window_end and a.owner is not None)
    return (
        f"{args.hours:g} simulated hours from {START:%Y-%m-%d %H:%M} UTC (a quota day's "
        f"start) measured, then {GRACE.total_seconds() / 3600:g} h more for late polls; "
        f"{args.searches} searches: {counts['home']} on {HOME} riding its record "
        f"categories, {counts['other marketplace']} on other marketplaces "
        f"({', '.join(f'{n} {site}' for site, n in sorted(sites.items()))}), "
        f"{counts['own query']} on {HOME} set to query alone; {listed:,} new listings in "
        f"the window, {wanted:,} of them wanted by a search; catalog of "
        f"{len(market.catalog):,} releases; budget {args.budget:,} calls a quota day "
        f"(07:00 UTC); seed {args.seed}"
    )


def write_results(
    args: argparse.Namespace,
    setup: str,
    report: str,
    results: dict[str, bool],
    elapsed: float,
    load_before: str,
    load_after: str,
) -> None:
    command = (
        f".venv/bin/python benchmarks/freshness.py --hours {args.hours:g} "
        f"--searches {args.searches} --other-share {args.other_share:g} "
        f"--own-share {args.own_share:g} --per-day {args.per_day:g} "
        f"--catalog {args.catalog} --latency {' '.join(f'{x:g}' for x in args.latency)} "
        f"--budget {args.budget} --seed {args.seed}"
        f"{' --baseline' if args.baseline else ''} --write"
    )
    title = section_title(args.searches, args.budget)
    text = (
        f"{title}\n\n"
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; load average "
        f"{load_before} before, {load_after} after; {elapsed:.0f} s wall: `{command}`.\n\n"
        f"Setup: {setup}.\n\n"
        f"{report}\n\n"
        + "\n".join(f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in results.items())
        + "\n"
    )
    target = Path(__file__).with_name("results-freshness.md")
    old = target.read_text() if target.exists() else ""
    head, mark, kept = old.partition(KEEP_MARK)
    if not mark:
        head, kept = "# Freshness: listing → alert received\n\n", ""
    sections = re.split(r"(?m)^(?=## )", head)
    top, runs = sections[0], [s for s in sections[1:] if s.split("\n", 1)[0] != title]
    runs.append(text + "\n")
    runs.sort(key=_order_of)
    target.write_text(top + "".join(runs) + mark + kept)


def section_title(searches: int, budget: int) -> str:
    """A run's section heading: one per number of searches and budget."""
    extra = "" if budget == DAILY_LIMIT else f", {budget:,} calls a day"
    return f"## {searches} searches{extra}"


def _order_of(section: str) -> tuple[int, int]:
    found = re.match(r"## (\d+) searches(?:, ([\d,]+) calls a day)?", section)
    if found is None:
        return 0, 0
    return int(found.group(1)), int((found.group(2) or str(DAILY_LIMIT)).replace(",", ""))


if __name__ == "__main__":
    main()
