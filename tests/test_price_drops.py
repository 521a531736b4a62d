"""Price drops and ended listings, against the fake eBay, Discogs and Telegram on loopback.

A deal the user was alerted about gets cheaper: one new card "price dropped from A to B",
once per drop (also after a restart), and only when the score rose by the step. A listing
that was no deal becomes one when its price falls. Ended or sold listings close their deal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.marketplace import CHAT_ID, RELEASES, Market, running_market

from vinyl_detective.daemon import Daemon
from vinyl_detective.domain.lifecycle import DealState
from vinyl_detective.domain.models import Listing, Money
from vinyl_detective.feeds import feed_entries
from vinyl_detective.sources.discogs_parse import parse_release
from vinyl_detective.storage import catalog, searches
from vinyl_detective.storage import deals as deal_store
from vinyl_detective.storage import listings as listing_store
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.schema import alert_log

MOANIN = "v1|286000000001|0"  # 45.00 + 5.00 shipping against 120 (VG+): a deal
FAIR = "v1|286000000002|0"  # Kind of Blue at 75.00 + 5.00 against 80: no deal
BLUE = "v1|286000000003|0"  # Kind of Blue at 40.00, unknown shipping: a deal


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def market(tmp_path: Path) -> Iterator[Market]:
    started = datetime.now(UTC)
    with running_market(tmp_path, started) as market:
        engine = open_database(market.settings.database_url)
        with engine.begin() as conn:
            catalog.upsert_releases(conn, [parse_release(r) for r in RELEASES], started)
            searches.add_search(conn, query="lp", now=started, chat_id=CHAT_ID)
        engine.dispose()
        yield market


def _reprice(market: Market, item_id: str, price: str, **changes: Any) -> None:
    """The seller changes the price on eBay (the listing keeps its place and start time)."""
    (item,) = [i for i in market.ebay.items if i["itemId"] == item_id]
    item["price"] = {"value": price, "currency": "USD"}
    item.update(changes)
    market.ebay.add_items([item])


def _drop_cards(market: Market) -> list[str]:
    return [c["text"] for c in market.cards() if "Price dropped" in c["text"]]


async def _daemon(market: Market, clock: Clock, **settings: Any) -> Daemon:
    from dataclasses import replace

    daemon = Daemon(replace(market.settings, **settings), clock=clock)
    await daemon.open()
    return daemon


async def test_a_deal_that_gets_cheaper_is_alerted_once_per_drop_also_after_a_restart(
    market: Market,
) -> None:
    clock = Clock()
    await Daemon(market.settings, clock=clock).run(once=True)  # also looks open deals up
    assert len(market.cards()) == 2  # Moanin' and the cheap Kind of Blue

    clock.advance(hours=7)  # the next item lookup of the open deals is due
    _reprice(market, MOANIN, "20.00")  # 50.00 → 25.00 in all: the saving rises ~20 points
    daemon = await _daemon(market, clock)
    try:
        watched = await daemon.watch_deals()
    finally:
        await daemon.close()

    assert watched.dropped == 1
    (card,) = _drop_cards(market)
    assert "📉 Price dropped from 50.00 USD to 25.00 USD" in card
    assert "Moanin" in card
    assert len(market.cards()) == 3

    # A restart, hours later: the same drop is not alerted again; the deal's price moved.
    clock.advance(hours=7)
    daemon = await _daemon(market, clock)
    try:
        await daemon.watch_deals()
        await daemon.retry_pending_alerts()
        with daemon.engine.connect() as conn:
            tracked = deal_store.get_deal(conn, MOANIN)
    finally:
        await daemon.close()
    assert len(market.cards()) == 3
    assert tracked is not None
    assert tracked.found_price == Decimal("25.00")

    # A small cut (2.5 points) is not worth a message; a big one is, once more.
    _reprice(market, MOANIN, "17.00")
    clock.advance(hours=7)
    daemon = await _daemon(market, clock)
    try:
        await daemon.watch_deals()
        _reprice(market, MOANIN, "5.00")
        clock.advance(hours=7)
        await daemon.watch_deals()
    finally:
        await daemon.close()
    drops = _drop_cards(market)
    assert len(drops) == 2
    assert "📉 Price dropped from 22.00 USD to 10.00 USD" in drops[1]


async def test_the_step_is_configurable(market: Market) -> None:
    clock = Clock()
    await Daemon(market.settings, clock=clock).run(once=True)
    clock.advance(hours=7)
    _reprice(market, MOANIN, "20.00")  # about 20 points better
    daemon = await _daemon(market, clock, price_drop_points=30.0)
    try:
        assert (await daemon.watch_deals()).dropped == 1
    finally:
        await daemon.close()
    assert _drop_cards(market) == []


async def test_a_listing_that_was_no_deal_becomes_one_when_its_price_falls(
    market: Market,
) -> None:
    clock = Clock()
    await Daemon(market.settings, clock=clock).run(once=True)
    assert FAIR not in {c["text"] for c in market.cards()}

    # Another scraper (the ingest webhook) sees the fairly priced listing again, cheaper.
    daemon = await _daemon(market, clock)
    try:
        with daemon.engine.connect() as conn:
            stored = listing_store.get_listing(conn, FAIR)
        assert stored is not None
        cheaper = Listing(**{**_fields(stored.listing), "price": Decimal("35.00")})
        result = await daemon.ingest([cheaper])
        again = await daemon.ingest([cheaper])  # the same price once more: nothing new
    finally:
        await daemon.close()

    assert (result.price_drops, result.alerted) == (1, 1)
    # The feed of every deal now has it, updated at the drop, at its new total.
    engine = open_database(market.settings.database_url)
    with engine.connect() as conn:
        (entry,) = [e for e in feed_entries(conn) if e.item_id == FAIR]
    engine.dispose()
    assert entry.dropped_from == Money(Decimal("80.00"), "USD")
    assert entry.seen_at == clock()
    assert (again.price_drops, again.alerted) == (0, 0)
    (card,) = _drop_cards(market)
    assert "Price dropped from 80.00 USD to 40.00 USD" in card
    assert "Kind Of Blue" in card


async def test_a_drop_recorded_just_before_a_crash_is_still_alerted_once(
    market: Market,
) -> None:
    clock = Clock()
    await Daemon(market.settings, clock=clock).run(once=True)
    engine = open_database(market.settings.database_url)
    with engine.begin() as conn:  # what the first step of a poll stores, then the crash
        stored = listing_store.get_listing(conn, MOANIN)
        assert stored is not None
        cheaper = Listing(**{**_fields(stored.listing), "price": Decimal("20.00")})
        assert listing_store.record_price(conn, stored, cheaper, clock()) == 1
    engine.dispose()

    clock.advance(minutes=5)
    for _ in range(2):  # the next start's cycle picks it up; a second one does nothing
        await Daemon(market.settings, clock=clock).run(once=True)

    (card,) = _drop_cards(market)
    assert "Price dropped from 50.00 USD to 25.00 USD" in card
    engine = open_database(market.settings.database_url)
    with engine.connect() as conn:
        occasions = [
            r.occasion
            for r in conn.execute(sa.select(alert_log).where(alert_log.c.item_id == MOANIN))
        ]
    engine.dispose()
    assert sorted(occasions) == ["", "drop:1"]


async def test_an_ended_or_sold_out_listing_closes_its_deal(market: Market) -> None:
    clock = Clock()
    await Daemon(market.settings, clock=clock).run(once=True)
    clock.advance(hours=7)
    market.ebay.remove_item(MOANIN)  # ended: the item lookup answers 404
    _reprice(
        market,
        BLUE,
        "40.00",
        estimatedAvailabilities=[{"estimatedAvailabilityStatus": "OUT_OF_STOCK"}],
    )
    daemon = await _daemon(market, clock)
    try:
        watched = await daemon.watch_deals()
        calls = market.ebay.quota_used
        clock.advance(hours=7)
        await daemon.watch_deals()  # ended listings are not looked up again
        with daemon.engine.connect() as conn:
            ended = deal_store.get_deal(conn, MOANIN)
            sold = deal_store.get_deal(conn, BLUE)
            history = deal_store.history(conn, MOANIN)
    finally:
        await daemon.close()

    assert watched.closed == 2
    assert market.ebay.quota_used == calls
    assert ended is not None
    assert sold is not None
    assert ended.state is DealState.CANCELLED
    assert sold.state is DealState.CANCELLED
    assert "ended on eBay" in (history[-1].reason or "")
    assert _drop_cards(market) == []


def _fields(listing: Listing) -> dict[str, Any]:
    return {name: getattr(listing, name) for name in Listing.__slots__}  # type: ignore[attr-defined]


async def test_run_once_from_cron_looks_open_deals_up_too(market: Market) -> None:
    clock = Clock()
    await Daemon(market.settings, clock=clock).run(once=True)
    _reprice(market, MOANIN, "20.00")
    clock.advance(minutes=30)
    await Daemon(market.settings, clock=clock).run(once=True)
    assert _drop_cards(market) == []  # looked up at the first run: not due again yet
    clock.advance(hours=7)
    await Daemon(market.settings, clock=clock).run(once=True)
    (card,) = _drop_cards(market)
    assert "Price dropped from 50.00 USD to 25.00 USD" in card
