"""The deal pipeline's promises: every search hears of a deal, nothing is lost to an
interruption, and eBay calls are spent only where they can change an alert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.engine import Engine
from tests.marketplace import PRICES, RELEASES, release

from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.models import Deal, Listing, SavedSearch
from vinyl_detective.errors import AuthError, RateLimitedError
from vinyl_detective.fakes.discogs import FakeDiscogs
from vinyl_detective.fakes.ebay import FakeEbay, make_item
from vinyl_detective.jobs.pipeline import DealPipeline, Route
from vinyl_detective.notify.dispatch import AlertDispatcher, Channel
from vinyl_detective.sources.discogs import DiscogsClient, parse_release
from vinyl_detective.sources.ebay import EbayClient
from vinyl_detective.sources.ratelimit import HeaderRateLimiter
from vinyl_detective.storage import catalog, listings, searches

REISSUE = release(1004, "Miles Davis", "Kind Of Blue", "Columbia", "PC 8163", "Vinyl", 1977)


class Inbox:
    """A recipient: what a chat would have received."""

    def __init__(self, name: str) -> None:
        self.recipient = f"test:{name}"
        self.items: list[str] = []

    async def send(self, deal: Deal) -> None:
        self.items.append(deal.listing.item_id)


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

    def search(self, query: str) -> Route:
        with self.engine.begin() as conn:
            saved = searches.add_search(conn, query=query, now=self.clock())
        self.inboxes[saved.id] = Inbox(query)
        return Route(saved, None)

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
        [*RELEASES, REISSUE], price_suggestions=PRICES | {1004: PRICES[1002]}, token="t"
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
