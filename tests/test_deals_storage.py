"""Tracked deals in the database: snapshots, validated moves, full history, events, timeouts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.lifecycle import Actor, DealState
from vinyl_detective.domain.models import (
    Deal,
    Listing,
    Match,
    MatchMethod,
    Money,
    Priority,
    Release,
)
from vinyl_detective.errors import InvalidTransitionError, NotFoundError
from vinyl_detective.jobs.tracking import expire_stale_deals
from vinyl_detective.storage import deals as store
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.job_runs import recent_runs
from vinyl_detective.storage.outbox import events_for, pending_events
from vinyl_detective.storage.schema import listings, releases

S = DealState


def make_deal(item_id: str = "v-1001", *, currency: str = "USD") -> Deal:
    listing = Listing(
        item_id=item_id,
        title="Art Blakey Moanin' LP Blue Note BLP 4003 VG+",
        price=Decimal("20.00"),
        currency=currency,
        shipping=Decimal("4.50"),
        url=f"https://www.ebay.com/itm/{item_id}",
        image_url="https://i.ebayimg.com/x.jpg",
    )
    release = Release(id=4003, artist="Art Blakey & The Jazz Messengers", title="Moanin'")
    return Deal(
        listing=listing,
        release=release,
        match=Match(release_id=4003, method=MatchMethod.CATALOG_NO, confidence=1.0),
        reference=Money(Decimal("60.00"), currency),
        total=Money(Decimal("24.50"), currency),
        score=0.59,
        priority=Priority.HIGH,
    )


def track(engine: Engine, now: datetime, item_id: str = "v-1001", **kw: str) -> None:
    with engine.begin() as conn:
        assert store.create_found(conn, make_deal(item_id, **kw), now, Actor.PIPELINE)


def move(engine: Engine, item_id: str, target: DealState, now: datetime, **kw: object) -> None:
    with engine.begin() as conn:
        store.transition(conn, item_id, target, now, Actor.CLI, **kw)  # type: ignore[arg-type]


def flip_to_sold(engine: Engine, item_id: str, now: datetime, sale: str, fees: str) -> None:
    track(engine, now, item_id)
    move(engine, item_id, S.PURCHASED, now, purchase_price=Decimal("24.50"))
    move(engine, item_id, S.RECEIVED, now)
    move(engine, item_id, S.LISTED, now)
    move(engine, item_id, S.SOLD, now, sale_price=Decimal(sale), fees=Decimal(fees))


def test_a_found_deal_keeps_a_snapshot_of_the_listing(engine: Engine, now: datetime) -> None:
    track(engine, now)
    with engine.connect() as conn:
        deal = store.get_deal(conn, "v-1001")
    assert deal is not None
    assert deal.state is S.FOUND
    assert deal.title.startswith("Art Blakey Moanin'")
    assert deal.artist == "Art Blakey & The Jazz Messengers"
    assert deal.release_title == "Moanin'"
    assert (deal.currency, deal.found_price, deal.reference_price) == (
        "USD",
        Decimal("24.50"),
        Decimal("60.00"),
    )
    assert deal.url == "https://www.ebay.com/itm/v-1001"
    assert deal.state_changed_at == deal.created_at == now


def test_tracking_the_same_listing_twice_changes_nothing(engine: Engine, now: datetime) -> None:
    track(engine, now)
    with engine.begin() as conn:
        assert store.create_found(conn, make_deal(), now + timedelta(hours=1), Actor.BOT) is False
    with engine.connect() as conn:
        assert len(store.history(conn, "v-1001")) == 1
        assert [e.event_type for e in events_for(conn, "v-1001")] == ["listing.created"]
        assert store.get_deal(conn, "v-1001").created_at == now  # type: ignore[union-attr]


def test_finding_a_deal_announces_listing_created(engine: Engine, now: datetime) -> None:
    track(engine, now)
    with engine.connect() as conn:
        (event,) = pending_events(conn)
    assert event.event_type == "listing.created"
    assert event.aggregate_id == "v-1001"
    assert event.payload["found_price"] == "24.50"
    assert event.payload["state"] == "FOUND"
    assert event.payload["release_id"] == 4003
    uuid.UUID(event.event_id)


def test_a_full_flip_records_every_step_in_order_with_its_profit(
    engine: Engine, now: datetime
) -> None:
    track(engine, now)
    steps: list[tuple[DealState, dict[str, Decimal]]] = [
        (S.MESSAGING, {}),
        (S.NEGOTIATING, {}),
        (S.PURCHASED, {"purchase_price": Decimal("22.00")}),
        (S.RECEIVED, {}),
        (S.LISTED, {}),
        (S.SOLD, {"sale_price": Decimal("55.00"), "fees": Decimal("7.15")}),
    ]
    for hours, (target, figures) in enumerate(steps, start=1):
        move(engine, "v-1001", target, now + timedelta(hours=hours), **figures)
    with engine.connect() as conn:
        deal = store.get_deal(conn, "v-1001")
        steps_taken = store.history(conn, "v-1001")
        events = events_for(conn, "v-1001")
    assert deal is not None
    assert deal.state is S.SOLD
    assert (deal.purchase_price, deal.sale_price, deal.fees, deal.profit) == (
        Decimal("22.00"),
        Decimal("55.00"),
        Decimal("7.15"),
        Decimal("25.85"),
    )
    assert [(t.from_state, t.to_state) for t in steps_taken] == [
        (None, S.FOUND),
        (S.FOUND, S.MESSAGING),
        (S.MESSAGING, S.NEGOTIATING),
        (S.NEGOTIATING, S.PURCHASED),
        (S.PURCHASED, S.RECEIVED),
        (S.RECEIVED, S.LISTED),
        (S.LISTED, S.SOLD),
    ]
    assert [t.at for t in steps_taken] == [now + timedelta(hours=h) for h in range(7)]
    assert steps_taken[3].purchase_price == Decimal("22.00")
    assert steps_taken[6].sale_price == Decimal("55.00")
    assert steps_taken[6].fees == Decimal("7.15")
    assert [e.event_type for e in events] == [
        "listing.created",
        "listing.state.messaging",
        "listing.state.negotiating",
        "listing.state.purchased",
        "listing.state.received",
        "listing.state.listed",
        "listing.state.sold",
    ]
    assert events[-1].payload["profit"] == "25.85"
    assert events[-1].payload["from_state"] == "LISTED"
    assert events[-1].payload["actor"] == "cli"


def test_bought_button_goes_straight_from_found_to_purchased(engine: Engine, now: datetime) -> None:
    track(engine, now)
    with engine.begin() as conn:
        deal = store.transition(
            conn,
            "v-1001",
            S.PURCHASED,
            now,
            Actor.BOT,
            reason="Bought button",
            purchase_price=Decimal("24.50"),
        )
    assert deal.state is S.PURCHASED
    with engine.connect() as conn:
        last = store.history(conn, "v-1001")[-1]
    assert (last.actor, last.reason) == ("bot", "Bought button")


def test_a_refused_move_leaves_no_trace(engine: Engine, now: datetime) -> None:
    track(engine, now)
    with pytest.raises(InvalidTransitionError, match="allowed next states: MESSAGING, PURCHASED"):
        move(engine, "v-1001", S.SOLD, now, sale_price=Decimal(50))
    with engine.connect() as conn:
        assert store.get_deal(conn, "v-1001").state is S.FOUND  # type: ignore[union-attr]
        assert len(store.history(conn, "v-1001")) == 1
        assert len(events_for(conn, "v-1001")) == 1


def test_moving_an_untracked_item_says_it_is_not_tracked(engine: Engine, now: datetime) -> None:
    with pytest.raises(NotFoundError, match="'nope' is not a tracked deal"):
        move(engine, "nope", S.MESSAGING, now)


class Boom(Exception):
    """Whatever else went wrong in the caller's transaction."""


def _create_then_fail(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        store.create_found(conn, make_deal(), now, Actor.PIPELINE)
        raise Boom


def _move_then_fail(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        store.transition(conn, "v-2", S.MESSAGING, now, Actor.API)
        raise Boom


def test_no_event_survives_a_rolled_back_transaction(engine: Engine, now: datetime) -> None:
    with pytest.raises(Boom):
        _create_then_fail(engine, now)
    track(engine, now, "v-2")
    with pytest.raises(Boom):
        _move_then_fail(engine, now)
    with engine.connect() as conn:
        assert store.get_deal(conn, "v-1001") is None
        assert store.history(conn, "v-1001") == []
        assert [e.aggregate_id for e in pending_events(conn)] == ["v-2"]
        assert store.get_deal(conn, "v-2").state is S.FOUND  # type: ignore[union-attr]


def test_deals_are_listed_by_state_newest_move_first(engine: Engine, now: datetime) -> None:
    for n in range(5):
        track(engine, now + timedelta(minutes=n), f"v-{n}")
    move(engine, "v-1", S.MESSAGING, now + timedelta(hours=1))
    move(engine, "v-3", S.MESSAGING, now + timedelta(hours=2))
    with engine.connect() as conn:
        assert [d.item_id for d in store.list_deals(conn, S.MESSAGING)] == ["v-3", "v-1"]
        assert [d.item_id for d in store.list_deals(conn, "FOUND")] == ["v-4", "v-2", "v-0"]
        assert [d.item_id for d in store.list_deals(conn, limit=2, offset=1)] == ["v-1", "v-4"]
        assert store.count_deals(conn) == 5
        assert store.count_deals(conn, S.MESSAGING) == 2


def test_summary_counts_open_deals_and_profit_per_currency(engine: Engine, now: datetime) -> None:
    flip_to_sold(engine, "sold-1", now, sale="50.00", fees="5.00")  # 20.50
    flip_to_sold(engine, "sold-2", now, sale="30.00", fees="0")  # 5.50
    track(engine, now, "open-gbp", currency="GBP")
    move(engine, "open-gbp", S.PURCHASED, now, purchase_price=Decimal("10"))
    track(engine, now, "gone")
    move(engine, "gone", S.CANCELLED, now, reason="seller not responding")
    with engine.connect() as conn:
        summary = store.summary(conn)
    assert summary.sold_count == 2
    assert summary.open_count == 1
    assert summary.by_state[S.CANCELLED] == 1
    assert summary.by_state[S.PURCHASED] == 1
    assert summary.realised_profit == {"USD": Decimal("26.00")}


def test_a_tracked_deal_outlives_the_cleanup_of_its_listing(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            releases.insert().values(
                id=7, artist="Nina Simone", title="Pastel Blues", updated_at=now
            )
        )
        conn.execute(
            listings.insert().values(
                item_id="e-77",
                title="NINA SIMONE pastel blues LP philips",
                price=Decimal("15.00"),
                shipping=None,
                currency="EUR",
                url="https://www.ebay.de/itm/e-77",
                first_seen=now,
                last_seen=now,
                match_release_id=7,
                reference_price=Decimal("40.00"),
                reference_currency="EUR",
                deal_score=0.62,
                priority="high",
            )
        )
        assert store.create_found_from_listing(conn, "e-77", now, Actor.BOT) is True
        assert store.create_found_from_listing(conn, "e-77", now, Actor.BOT) is False
        conn.execute(listings.delete())
    with engine.connect() as conn:
        deal = store.get_deal(conn, "e-77")
    assert deal is not None
    assert (deal.artist, deal.release_title, deal.currency) == (
        "Nina Simone",
        "Pastel Blues",
        "EUR",
    )
    assert (deal.found_price, deal.reference_price) == (Decimal("15.00"), Decimal("40.00"))


def test_tracking_an_unknown_listing_says_so(engine: Engine, now: datetime) -> None:
    with pytest.raises(NotFoundError, match="no listing with item id 'x-404'"), engine.begin() as c:
        store.create_found_from_listing(c, "x-404", now, Actor.BOT)


def _at_state(engine: Engine, item_id: str, state: DealState, since: datetime) -> None:
    track(engine, since, item_id)
    path = {
        S.MESSAGING: [S.MESSAGING],
        S.NEGOTIATING: [S.MESSAGING, S.NEGOTIATING],
        S.PURCHASED: [S.PURCHASED],
        S.FOUND: [],
    }[state]
    for target in path:
        figures = {"purchase_price": Decimal(10)} if target is S.PURCHASED else {}
        move(engine, item_id, target, since, **figures)


def test_timeouts_cancel_only_stale_conversations(engine: Engine, now: datetime) -> None:
    _at_state(engine, "msg-old", S.MESSAGING, now - timedelta(days=8))
    _at_state(engine, "msg-new", S.MESSAGING, now - timedelta(days=6))
    _at_state(engine, "neg-old", S.NEGOTIATING, now - timedelta(days=15))
    _at_state(engine, "neg-new", S.NEGOTIATING, now - timedelta(days=13))
    _at_state(engine, "found-old", S.FOUND, now - timedelta(days=90))
    _at_state(engine, "bought-old", S.PURCHASED, now - timedelta(days=90))

    assert expire_stale_deals(engine, now) == 2

    with engine.connect() as conn:
        states = {d.item_id: d.state for d in store.list_deals(conn, limit=100)}
        last = store.history(conn, "msg-old")[-1]
        runs = recent_runs(conn, job_type="expire_deals")
        cancelled_events = [e.event_type for e in events_for(conn, "neg-old")][-1]
    assert states == {
        "msg-old": S.CANCELLED,
        "msg-new": S.MESSAGING,
        "neg-old": S.CANCELLED,
        "neg-new": S.NEGOTIATING,
        "found-old": S.FOUND,
        "bought-old": S.PURCHASED,
    }
    assert (last.from_state, last.to_state, last.actor, last.reason, last.at) == (
        S.MESSAGING,
        S.CANCELLED,
        "timeout",
        "timeout",
        now,
    )
    assert cancelled_events == "listing.state.cancelled"
    assert runs[0].status == "success"
    assert runs[0].inserted == 2
    assert expire_stale_deals(engine, now) == 0  # nothing left to expire


# --- PostgreSQL: the same storage code, unchanged -------------------------------------------

PG_ADMIN_URL = os.environ.get(
    "VD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"vd_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {admin.url.host}:{admin.url.port} is unreachable: {exc}")
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    engine = open_database(admin.url.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.postgres
def test_the_lifecycle_works_the_same_on_postgresql(pg_engine: Engine, now: datetime) -> None:
    flip_to_sold(pg_engine, "pg-1", now, sale="40.00", fees="4.00")
    with pg_engine.begin() as conn:
        assert store.create_found(conn, make_deal("pg-1"), now, Actor.PIPELINE) is False
    _at_state(pg_engine, "pg-stale", S.MESSAGING, now - timedelta(days=8))
    assert expire_stale_deals(pg_engine, now) == 1
    with pg_engine.connect() as conn:
        summary = store.summary(conn)
        steps = store.history(conn, "pg-1")
        events = pending_events(conn)
    assert summary.realised_profit == {"USD": Decimal("11.50")}
    assert summary.by_state[S.CANCELLED] == 1
    assert [t.to_state for t in steps][-1] is S.SOLD
    assert events[-1].event_type == "listing.state.cancelled"
    assert [e.id for e in events] == sorted(e.id for e in events)
