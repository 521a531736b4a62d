"""The category firehose against the fake eBay: one call serves every search."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from vinyl_detective.domain.currency import DEFAULT_RATES
from vinyl_detective.domain.models import Deal, PriceGuide, Release, SavedSearch
from vinyl_detective.fakes.discogs import FakeDiscogs
from vinyl_detective.fakes.ebay import FakeEbay, make_item
from vinyl_detective.jobs.firehose import poll_stream, routes_for_category
from vinyl_detective.jobs.pipeline import DealPipeline
from vinyl_detective.jobs.routing import compile_routes
from vinyl_detective.notify.dispatch import AlertDispatcher, Channel
from vinyl_detective.sources.discogs import DiscogsClient
from vinyl_detective.sources.ebay import CDS, RECORDS, EbayClient
from vinyl_detective.storage import catalog, job_runs, searches, stream_state

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Inbox:
    """Where a search's alerts arrive (the notification peer)."""

    name: str
    deals: list[Deal] = field(default_factory=list)

    @property
    def recipient(self) -> str:
        return f"test:{self.name}"

    async def send(self, deal: Deal) -> None:
        self.deals.append(deal)


@dataclass
class World:
    engine: Engine
    fake: FakeEbay
    ebay: EbayClient
    pipeline: DealPipeline
    clock: Clock
    inboxes: dict[int, Inbox]

    def add_search(self, query: str, **kw: Any) -> SavedSearch:
        with self.engine.begin() as conn:
            return searches.add_search(conn, query=query, now=self.clock(), **kw)


async def _no_sleep(_seconds: float) -> None:
    return None


@contextlib.asynccontextmanager
async def open_world(engine: Engine) -> AsyncIterator[World]:
    """A priced catalog, the fake eBay and Discogs in-process, a pipeline with inboxes."""
    clock = Clock()
    with engine.begin() as conn:
        catalog.upsert_releases(
            conn,
            [
                Release(2825456, "Art Blakey", "Moanin'", ("Blue Note",), ("BLP 4003",)),
                Release(1, "Miles Davis", "Kind Of Blue", ("Columbia",), ("CL 1355",)),
            ],
            NOW,
        )
        for release_id in (2825456, 1):
            guide = PriceGuide(
                "USD",
                {g: Decimal(100) for g in ("M", "NM", "VG+", "VG", "G+", "G")},
                lowest=Decimal(100),
                updated_at=NOW,
            )
            catalog.set_prices(conn, release_id, guide, NOW)
    fake = FakeEbay(clock=clock)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app))
    discogs_fake = FakeDiscogs()
    discogs_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=discogs_fake.app))
    ebay = EbayClient(
        "demo-app-id",
        "demo-cert-id",
        base_url="https://api.ebay.test",
        http=http,
        sleep=_no_sleep,
    )
    discogs = DiscogsClient(
        "demo-discogs-token",
        base_url="https://api.discogs.test",
        user_agent="VinylDetectiveTests/1.0",
        http=discogs_http,
        sleep=_no_sleep,
    )
    inboxes: dict[int, Inbox] = {}

    def channels_for(search: SavedSearch | None) -> list[Channel]:
        if search is None:
            return []
        return [inboxes.setdefault(search.id, Inbox(str(search.id)))]

    pipeline = DealPipeline(
        engine=engine,
        prices=discogs,
        items=ebay,
        dispatcher=AlertDispatcher(engine, clock),
        channels_for=channels_for,
        rates=DEFAULT_RATES,
        clock=clock,
    )
    try:
        yield World(engine, fake, ebay, pipeline, clock, inboxes)
    finally:
        await http.aclose()
        await discogs_http.aclose()


@pytest.fixture
async def world(engine: Engine) -> AsyncIterator[World]:
    async with open_world(engine) as opened:
        yield opened


def item(n: int, title: str, price: str, minutes_ago: float, **kw: Any) -> dict[str, Any]:
    return make_item(n, title, price, listed_at=NOW - timedelta(minutes=minutes_ago), **kw)


def filler(start: int, count: int, newest_minutes_ago: float) -> list[dict[str, Any]]:
    """`count` unremarkable listings a minute apart, the newest `newest_minutes_ago` old."""
    return [
        item(
            start + i,
            f"Various Artists Compilation Volume {start + i}",
            "9.00",
            newest_minutes_ago + i,
        )
        for i in range(count)
    ]


async def poll(world: World, category: str = RECORDS, **kw: Any) -> Any:
    with world.engine.connect() as conn:
        active = searches.list_searches(conn, active_only=True)
    routes, _ = compile_routes(active, None)
    return await poll_stream(
        engine=world.engine,
        ebay=world.ebay,
        pipeline=world.pipeline,
        routes=routes_for_category(routes, category),
        marketplace="EBAY_US",
        category_id=category,
        clock=world.clock,
        **kw,
    )


async def test_one_call_routes_a_listing_to_every_search_it_matches(world: World) -> None:
    blakey = world.add_search("art blakey")
    moanin = world.add_search("moanin")
    miles = world.add_search("miles davis")
    world.fake.add_items([item(1, "Art Blakey Moanin' LP Blue Note BLP 4003", "20.00", 1)])

    result = await poll(world)

    assert world.fake.calls == 1
    assert result.counts.deals == 1
    assert [d.listing.title for d in world.inboxes[blakey.id].deals] == [
        "Art Blakey Moanin' LP Blue Note BLP 4003"
    ]
    assert len(world.inboxes[moanin.id].deals) == 1
    assert miles.id not in world.inboxes
    request = world.fake.requests[0]
    assert request.params["category_ids"] == RECORDS
    assert request.params["sort"] == "newlyListed"
    assert request.params["limit"] == "200"
    assert "q" not in request.params


async def test_later_polls_page_only_until_the_first_listing_already_seen(world: World) -> None:
    world.add_search("art blakey")
    world.fake.add_items(filler(1000, 50, newest_minutes_ago=60))
    await poll(world)
    assert world.fake.calls == 1

    # 450 new listings arrive: three pages, and the third reaches seen ground.
    world.clock.advance(minutes=30)
    newer = [
        make_item(
            5000 + i,
            f"Jazz Sampler {i}",
            "7.00",
            listed_at=world.clock() - timedelta(seconds=2 * i + 1),
        )
        for i in range(450)
    ]
    newer[300] = make_item(
        4999,
        "Art Blakey Moanin' LP Blue Note BLP 4003",
        "20.00",
        listed_at=world.clock() - timedelta(seconds=601),
    )
    world.fake.add_items(newer)
    result = await poll(world)

    assert result.pages == 3
    assert world.fake.calls == 4
    assert result.reached_seen
    assert result.listings == 450
    assert result.counts.new == 450
    assert result.counts.deals == 1
    assert result.arrivals_per_min == pytest.approx(450 / 30)


async def test_a_poll_with_nothing_new_costs_one_call_and_alerts_nothing(world: World) -> None:
    search = world.add_search("art blakey")
    world.fake.add_items([item(1, "Art Blakey Moanin' LP Blue Note BLP 4003", "20.00", 1)])
    await poll(world)
    world.clock.advance(minutes=10)
    result = await poll(world)
    assert world.fake.calls == 2
    assert result.counts.new == 0
    assert len(world.inboxes[search.id].deals) == 1


async def test_a_first_poll_reads_only_the_newest_page(world: World) -> None:
    world.fake.add_items(filler(1, 450, newest_minutes_ago=1))
    result = await poll(world)
    assert result.pages == 1
    assert result.counts.fetched == 200


async def test_a_search_limited_to_one_category_hears_only_that_stream(world: World) -> None:
    records_only = world.add_search("art blakey", category_id=RECORDS)
    anything = world.add_search("art blakey")
    world.fake.add_items(
        [item(1, "Art Blakey Moanin' CD Blue Note BLP 4003", "20.00", 1, category_id=CDS)]
    )
    await poll(world, category=CDS)
    assert records_only.id not in world.inboxes
    assert len(world.inboxes[anything.id].deals) == 1


async def test_each_poll_is_a_job_run_and_updates_the_stream_state(world: World) -> None:
    world.fake.add_items(filler(1, 5, newest_minutes_ago=3))
    await poll(world)
    with world.engine.connect() as conn:
        runs = job_runs.recent_runs(conn, job_type="firehose")
        state = stream_state.get_stream(conn, f"EBAY_US:{RECORDS}")
    assert [(r.status, r.target, r.fetched) for r in runs] == [("success", f"EBAY_US:{RECORDS}", 5)]
    assert state is not None
    assert state.newest_listed_at == NOW - timedelta(minutes=3)
    assert state.last_poll_at == NOW


async def test_a_failing_poll_is_recorded_and_keeps_the_stream_where_it_was(world: World) -> None:
    world.fake.add_items(filler(1, 5, newest_minutes_ago=3))
    world.fake.fail_next(400)
    with pytest.raises(Exception, match="ebay"):
        await poll(world)
    with world.engine.connect() as conn:
        runs = job_runs.recent_runs(conn, job_type="firehose")
        state = stream_state.get_stream(conn, f"EBAY_US:{RECORDS}")
    assert runs[0].status == "error"
    assert state is not None
    assert state.newest_listed_at is None
