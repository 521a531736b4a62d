"""The deal pipeline's promises: every search hears of a deal, nothing is lost to an
interruption, and eBay calls are spent only where they can change an alert."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.engine import Engine
from tests.marketplace import PRICES, RELEASES, release, suggestions

from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.models import Deal, Listing, SavedSearch
from vinyl_detective.domain.rules import parse_rule
from vinyl_detective.errors import AuthError, RateLimitedError
from vinyl_detective.fakes.discogs import FakeDiscogs
from vinyl_detective.fakes.ebay import FakeEbay, make_item
from vinyl_detective.jobs.pipeline import DealPipeline, Route
from vinyl_detective.notify.cards import plain_text_card
from vinyl_detective.notify.dispatch import AlertDispatcher, Channel
from vinyl_detective.sources.discogs import DiscogsClient
from vinyl_detective.sources.discogs_parse import parse_release
from vinyl_detective.sources.ebay import EbayClient
from vinyl_detective.sources.ratelimit import HeaderRateLimiter
from vinyl_detective.storage import catalog, listings, searches

REISSUE = release(1004, "Miles Davis", "Kind Of Blue", "Columbia", "PC 8163", "Vinyl", 1977) | {
    "master_id": RELEASES[1]["master_id"]  # a version of the 1959 original (1002)
}


class Inbox:
    """A recipient: what a chat would have received."""

    def __init__(self, name: str) -> None:
        self.recipient = f"test:{name}"
        self.items: list[str] = []
        self.cards: list[str] = []

    async def send(self, deal: Deal) -> None:
        self.items.append(deal.listing.item_id)
        self.cards.append(plain_text_card(deal))


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@dataclass
class World:
    engine: Engine
    clock: Clock
    discogs: FakeDiscogs
    ebay: FakeEbay
    pipeline: DealPipeline
    inboxes: dict[int, Inbox] = field(default_factory=dict)

    def search(self, query: str, rule: str | None = None) -> Route:
        with self.engine.begin() as conn:
            saved = searches.add_search(conn, query=query, now=self.clock(), rule=rule)
        self.inboxes[saved.id] = Inbox(query)
        return Route(saved, parse_rule(rule) if rule else None)

    def inbox(self, route: Route) -> Inbox:
        assert route.search is not None
        return self.inboxes[route.search.id]

    def listing(self, n: int, title: str, price: str = "30.00") -> Listing:
        return Listing(
            f"v1|{n}|0",
            title,
            Decimal(price),
            "USD",
            shipping=Decimal("4.00"),
            condition="Used",
            format_hint="Vinyl",
            category_id="176985",
        )


@pytest.fixture
def clock(now: datetime) -> Clock:
    return Clock(now)


@pytest.fixture
async def world(engine: Engine, clock: Clock) -> AsyncIterator[World]:
    discogs_fake = FakeDiscogs(
        # The 1977 reissue is worth far less than the 1959 original.
        [*RELEASES, REISSUE],
        price_suggestions=PRICES | {1004: suggestions(25.0)},
        token="t",
    )
    ebay_fake = FakeEbay(
        [
            make_item(
                9, "Miles Davis Kind of Blue LP", "30.00", listed_at=clock(), upc="074646493514"
            )
        ],
        app_id="a",
        cert_id="c",
    )
    with engine.begin() as conn:
        catalog.upsert_releases(conn, [parse_release(r) for r in (*RELEASES, REISSUE)], clock())
    async with (
        DiscogsClient(
            "t",
            base_url="http://discogs",
            user_agent="Tests/1.0",
            http=httpx.AsyncClient(transport=httpx.ASGITransport(discogs_fake.app)),
            limiter=HeaderRateLimiter(min_interval=0),
            max_retries=0,
        ) as discogs,
        EbayClient(
            "a",
            "c",
            base_url="http://ebay",
            http=httpx.AsyncClient(transport=httpx.ASGITransport(ebay_fake.app)),
            max_retries=0,
        ) as ebay,
    ):
        holder: dict[int, Inbox] = {}

        def channels(search: SavedSearch | None) -> list[Channel]:
            return [holder[search.id]] if search is not None else []

        pipeline = DealPipeline(
            engine=engine,
            prices=discogs,
            items=ebay,
            dispatcher=AlertDispatcher(engine, clock),
            channels_for=channels,
            rates=ExchangeRates(),
            clock=clock,
        )
        world = World(engine, clock, discogs_fake, ebay_fake, pipeline, holder)
        yield world


BLAKEY = "Art Blakey Moanin' LP Blue Note BLP 4003 VG+"


async def test_a_listing_seen_by_one_search_still_alerts_another_search(world: World) -> None:
    first, second = world.search("art blakey"), world.search("moanin")
    deal = world.listing(1, BLAKEY, "45.00")
    await world.pipeline.process([deal], [first], check_keywords=False)
    counts = await world.pipeline.process([deal], [second], check_keywords=False)
    assert counts.new == 0
    assert world.inboxes[first.search.id].items == ["v1|1|0"]  # type: ignore[union-attr]
    assert world.inboxes[second.search.id].items == ["v1|1|0"]  # type: ignore[union-attr]
    again = await world.pipeline.process([deal], [first, second], check_keywords=False)
    assert again.alerted == 0  # and never twice


async def test_deals_alerted_at_the_same_time_are_all_counted(world: World) -> None:
    # The listings of a batch are evaluated together; when their sends overlap (a slow
    # chat), every one still counts in the job's record and the minute's log line.
    route = world.search("records")
    inbox = world.inbox(route)
    sent_now = inbox.send

    async def slow_send(deal: Deal) -> None:
        await asyncio.sleep(0.05)
        await sent_now(deal)

    inbox.send = slow_send  # type: ignore[method-assign]
    batch = [
        world.listing(1, BLAKEY, "45.00"),
        world.listing(2, "Miles Davis Kind Of Blue LP Columbia CL 1355 VG+", "30.00"),
    ]
    counts = await world.pipeline.process(batch, [route], check_keywords=False)
    assert sorted(inbox.items) == ["v1|1|0", "v1|2|0"]
    assert counts.alerted == 2


async def test_a_listing_whose_prices_were_unavailable_is_evaluated_later(
    world: World, engine: Engine
) -> None:
    route = world.search("art blakey")
    world.discogs.fail_next(503, times=1)
    counts = await world.pipeline.process(
        [world.listing(1, BLAKEY, "45.00")], [route], check_keywords=False
    )
    assert counts.alerted == 0
    assert counts.errors
    with engine.connect() as conn:
        stored = listings.get_listing(conn, "v1|1|0")
    assert stored is not None
    assert stored.processed_at is None  # not closed as "no deal"
    world.clock.moment += timedelta(minutes=5)  # Discogs is back
    later = await world.pipeline.process_unfinished([route])
    assert later.alerted == 1
    assert world.inboxes[route.search.id].items == ["v1|1|0"]  # type: ignore[union-attr]


async def test_no_ebay_item_call_for_a_listing_nobody_watches(world: World) -> None:
    watching_something_else = world.search("nirvana")
    ambiguous = world.listing(9, "Miles Davis Kind of Blue LP")
    await world.pipeline.process([ambiguous], [watching_something_else], check_keywords=True)
    assert world.ebay.calls == 0
    assert world.discogs.request_count == 0  # nor a Discogs price


async def test_an_ambiguous_listing_someone_watches_is_settled_by_its_item_specifics(
    world: World,
) -> None:
    route = world.search("miles davis")
    await world.pipeline.process(
        [world.listing(9, "Miles Davis Kind of Blue LP")], [route], check_keywords=True
    )
    assert world.ebay.calls == 1


async def test_ebay_saying_too_many_requests_stops_the_job(world: World) -> None:
    route = world.search("miles davis")
    world.ebay.fail_next(429, times=5)
    with pytest.raises(RateLimitedError):
        await world.pipeline.process(
            [
                world.listing(9, "Miles Davis Kind of Blue LP"),
                world.listing(10, "Miles Davis Kind of Blue LP 1977"),
            ],
            [route],
            check_keywords=True,
        )
    assert world.ebay.calls == 1


async def test_a_rejected_discogs_token_stops_the_job_and_loses_no_listing(
    world: World, engine: Engine
) -> None:
    route = world.search("art blakey")
    world.discogs.fail_next(401, times=5)
    with pytest.raises(AuthError):
        await world.pipeline.process(
            [world.listing(1, BLAKEY, "45.00")], [route], check_keywords=False
        )
    with engine.connect() as conn:
        stored = listings.get_listing(conn, "v1|1|0")
    assert stored is not None
    assert stored.processed_at is None  # evaluated again once the token is fixed


# ------------------------------------------------ "this album, pressing unknown" (issue 10)
# The catalog holds Kind Of Blue twice: the 1959 original (CL 1355, VG+ $80) and a 1977
# reissue (PC 8163, VG+ $25). "Miles Davis Kind of Blue LP" may be either.


async def test_a_listing_of_unknown_pressing_is_a_deal_only_against_the_cheapest(
    world: World,
) -> None:
    route = world.search("kind of blue")
    # $34 with shipping: 57 % off the original, but dearer than the reissue.
    dear = world.listing(20, "Miles Davis Kind of Blue LP VG+", "30.00")
    cheap = world.listing(21, "Miles Davis Kind of Blue LP VG+", "9.00")
    await world.pipeline.process([dear, cheap], [route], check_keywords=False)
    inbox = world.inbox(route)
    assert inbox.items == ["v1|21|0"]
    card = inbox.cards[0]
    assert "priced as the cheapest of 2 pressings" in card
    assert "25.00" in card  # the reissue's reference, not the original's 80


async def test_a_rule_pinning_a_pressing_never_accepts_an_album_match(world: World) -> None:
    route = world.search("kind of blue", rule='catalog_no = "CL 1355"')
    unknown = world.listing(22, "Miles Davis Kind of Blue LP VG+", "5.00")
    original = world.listing(23, "Miles Davis Kind of Blue LP CL 1355 VG+", "5.00")
    await world.pipeline.process([unknown, original], [route], check_keywords=False)
    assert world.inbox(route).items == ["v1|23|0"]


async def test_a_title_naming_a_pressing_the_catalog_lacks_is_not_priced(world: World) -> None:
    # KCS 8163 is a pressing the catalog does not hold: neither reference is safe for it.
    route = world.search("kind of blue")
    other = world.listing(24, "Miles Davis Kind of Blue LP KCS 8163 VG+", "5.00")
    counts = await world.pipeline.process([other], [route], check_keywords=False)
    assert counts.matched == 1  # the album is known ...
    assert world.inbox(route).items == []  # ... but no price of its pressings is safe
