"""Tracked deals: creation, validated transitions with history, and their events.

Every function takes a connection and works inside the caller's transaction, so a
state change, its history row and its outbox event commit or roll back together:

    with engine.begin() as conn:
        deals.transition(conn, "1234", DealState.PURCHASED, now, Actor.BOT,
                         purchase_price=Decimal("18.50"))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from vinyl_detective.domain.lifecycle import (
    OPEN_STATES,
    Actor,
    DealState,
    Figures,
    plan_transition,
)
from vinyl_detective.domain.models import Deal
from vinyl_detective.errors import InvalidTransitionError, NotFoundError
from vinyl_detective.storage.db import insert_if_absent
from vinyl_detective.storage.outbox import emit_event
from vinyl_detective.storage.schema import deal_transitions, deals, listings, releases

LISTING_CREATED = "listing.created"


@dataclass(frozen=True, slots=True)
class DealRecord:
    """A tracked deal as stored: the snapshot taken when found, its state and figures."""

    item_id: str
    release_id: int | None
    title: str
    artist: str | None
    release_title: str | None
    url: str | None
    image_url: str | None
    currency: str
    found_price: Decimal
    reference_price: Decimal | None
    deal_score: float | None
    priority: str | None
    state: DealState
    state_changed_at: datetime
    purchase_price: Decimal | None
    sale_price: Decimal | None
    fees: Decimal | None
    profit: Decimal | None
    created_at: datetime
    updated_at: datetime

    @property
    def figures(self) -> Figures:
        return Figures(self.purchase_price, self.sale_price, self.fees, self.profit)


@dataclass(frozen=True, slots=True)
class Transition:
    """One step of a deal's history; the first one (from_state None) is its creation."""

    id: int
    item_id: str
    from_state: DealState | None
    to_state: DealState
    at: datetime
    reason: str | None
    actor: str
    purchase_price: Decimal | None
    sale_price: Decimal | None
    fees: Decimal | None


@dataclass(frozen=True, slots=True)
class DealSummary:
    """Counts by state and realised profit, per currency (never summed across currencies)."""

    by_state: dict[DealState, int]
    open_count: int
    sold_count: int
    realised_profit: dict[str, Decimal]


def _record(row: sa.Row[Any]) -> DealRecord:
    m = dict(row._mapping)
    m["state"] = DealState(m["state"])
    return DealRecord(**m)


def _transition(row: sa.Row[Any]) -> Transition:
    m = dict(row._mapping)
    m["from_state"] = DealState(m["from_state"]) if m["from_state"] else None
    m["to_state"] = DealState(m["to_state"])
    return Transition(**m)


def _create(
    conn: sa.Connection,
    values: dict[str, Any],
    now: datetime,
    actor: Actor | str,
    reason: str | None,
) -> bool:
    values |= {
        "state": DealState.FOUND.value,
        "state_changed_at": now,
        "created_at": now,
        "updated_at": now,
    }
    if not insert_if_absent(conn, deals, values, ["item_id"]):
        return False
    conn.execute(
        deal_transitions.insert().values(
            item_id=values["item_id"],
            from_state=None,
            to_state=DealState.FOUND.value,
            at=now,
            reason=reason,
            actor=str(actor),
        )
    )
    payload = {k: v for k, v in values.items() if k not in ("created_at", "updated_at")}
    emit_event(conn, LISTING_CREATED, values["item_id"], payload | {"actor": str(actor)}, now)
    return True


def create_found(
    conn: sa.Connection,
    deal: Deal,
    now: datetime,
    actor: Actor | str = Actor.PIPELINE,
    reason: str | None = None,
) -> bool:
    """Start tracking `deal` in FOUND, with its history row and a `listing.created` event.

    Idempotent: for an item already tracked it does nothing and returns False.
    """
    listing = deal.listing
    values: dict[str, Any] = {
        "item_id": listing.item_id,
        "release_id": deal.release.id,
        "title": listing.title,
        "artist": deal.release.artist,
        "release_title": deal.release.title,
        "url": listing.affiliate_url or listing.url or None,
        "image_url": listing.image_url,
        "currency": deal.total.currency,
        "found_price": deal.total.amount,
        "reference_price": deal.reference.amount,
        "deal_score": deal.score,
        "priority": deal.priority.value,
    }
    return _create(conn, values, now, actor, reason)


def reprice_found(conn: sa.Connection, deal: Deal, now: datetime) -> bool:
    """A tracked deal nobody acted on yet (FOUND) takes the listing's new, lower price."""
    result = conn.execute(
        deals.update()
        .where(deals.c.item_id == deal.listing.item_id, deals.c.state == DealState.FOUND.value)
        .values(
            found_price=deal.total.amount,
            currency=deal.total.currency,
            reference_price=deal.reference.amount,
            deal_score=deal.score,
            priority=deal.priority.value,
            updated_at=now,
        )
    )
    return result.rowcount == 1


def create_found_from_listing(
    conn: sa.Connection,
    item_id: str,
    now: datetime,
    actor: Actor | str,
    reason: str | None = None,
) -> bool:
    """Start tracking a stored listing by its item id (what a "track" button carries).

    Idempotent like `create_found`; raises NotFoundError when the listing is unknown.
    """
    row = conn.execute(
        sa.select(
            listings,
            releases.c.artist.label("release_artist"),
            releases.c.title.label("release_name"),
        )
        .select_from(listings.outerjoin(releases, releases.c.id == listings.c.match_release_id))
        .where(listings.c.item_id == item_id)
    ).first()
    if row is None:
        raise NotFoundError(
            "deals", f"no listing with item id {item_id!r}; it may have been cleaned up"
        )
    m = row._mapping
    total = m["price"] + (m["shipping"] or Decimal(0))
    values: dict[str, Any] = {
        "item_id": item_id,
        "release_id": m["match_release_id"],
        "title": m["title"],
        "artist": m["release_artist"],
        "release_title": m["release_name"],
        "url": m["affiliate_url"] or m["url"],
        "image_url": m["image_url"],
        "currency": m["currency"],
        "found_price": total,
        "reference_price": m["reference_price"]
        if m["reference_currency"] in (None, m["currency"])
        else None,
        "deal_score": m["deal_score"],
        "priority": m["priority"],
    }
    return _create(conn, values, now, actor, reason)


def get_deal(conn: sa.Connection, item_id: str) -> DealRecord | None:
    row = conn.execute(sa.select(deals).where(deals.c.item_id == item_id)).first()
    return _record(row) if row else None


def require_deal(conn: sa.Connection, item_id: str) -> DealRecord:
    """The deal, or NotFoundError naming the item."""
    deal = get_deal(conn, item_id)
    if deal is None:
        raise NotFoundError("deals", f"item {item_id!r} is not a tracked deal", status=404)
    return deal


def transition(
    conn: sa.Connection,
    item_id: str,
    target: DealState | str,
    now: datetime,
    actor: Actor | str,
    reason: str | None = None,
    purchase_price: Decimal | None = None,
    sale_price: Decimal | None = None,
    fees: Decimal | None = None,
) -> DealRecord:
    """Move a deal to `target`, record the step and emit `listing.state.<target>`.

    Raises NotFoundError for an untracked item and InvalidTransitionError for a move
    the state machine refuses (the message lists the allowed next states).
    """
    target = DealState(target)
    current = require_deal(conn, item_id)
    figures = plan_transition(
        current.state,
        target,
        current.figures,
        purchase_price=purchase_price,
        sale_price=sale_price,
        fees=fees,
    )
    # Guard on the state we validated against: a concurrent move makes this a no-op.
    result = conn.execute(
        deals.update()
        .where(deals.c.item_id == item_id, deals.c.state == current.state.value)
        .values(
            state=target.value,
            state_changed_at=now,
            updated_at=now,
            purchase_price=figures.purchase_price,
            sale_price=figures.sale_price,
            fees=figures.fees,
            profit=figures.profit,
        )
    )
    if result.rowcount != 1:
        raise InvalidTransitionError(
            f"item {item_id} changed state while moving it to {target}; reload and try again"
        )
    conn.execute(
        deal_transitions.insert().values(
            item_id=item_id,
            from_state=current.state.value,
            to_state=target.value,
            at=now,
            reason=reason,
            actor=str(actor),
            purchase_price=purchase_price,
            sale_price=sale_price,
            fees=fees,
        )
    )
    emit_event(
        conn,
        target.event_type,
        item_id,
        {
            "item_id": item_id,
            "from_state": current.state,
            "to_state": target,
            "at": now,
            "actor": str(actor),
            "reason": reason,
            "currency": current.currency,
            "purchase_price": figures.purchase_price,
            "sale_price": figures.sale_price,
            "fees": figures.fees,
            "profit": figures.profit,
        },
        now,
    )
    return require_deal(conn, item_id)


def list_deals(
    conn: sa.Connection,
    state: DealState | str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[DealRecord]:
    """Deals, most recently moved first, optionally only those in `state`."""
    stmt = (
        sa.select(deals)
        .order_by(deals.c.state_changed_at.desc(), deals.c.item_id)
        .limit(limit)
        .offset(offset)
    )
    if state is not None:
        stmt = stmt.where(deals.c.state == DealState(state).value)
    return [_record(row) for row in conn.execute(stmt)]


def count_deals(conn: sa.Connection, state: DealState | str | None = None) -> int:
    stmt = sa.select(sa.func.count()).select_from(deals)
    if state is not None:
        stmt = stmt.where(deals.c.state == DealState(state).value)
    return int(conn.execute(stmt).scalar_one())


def open_deals(conn: sa.Connection, states: frozenset[DealState] = OPEN_STATES) -> list[DealRecord]:
    """Every deal in one of `states` (default: not yet SOLD or CANCELLED)."""
    stmt = (
        sa.select(deals)
        .where(deals.c.state.in_([s.value for s in states]))
        .order_by(deals.c.state_changed_at, deals.c.item_id)
    )
    return [_record(row) for row in conn.execute(stmt)]


def history(conn: sa.Connection, item_id: str) -> list[Transition]:
    """Every step of a deal, oldest first (empty for an untracked item)."""
    stmt = (
        sa.select(deal_transitions)
        .where(deal_transitions.c.item_id == item_id)
        .order_by(deal_transitions.c.id)
    )
    return [_transition(row) for row in conn.execute(stmt)]


def summary(conn: sa.Connection) -> DealSummary:
    """Deals by state, and the profit realised on sold ones, per currency."""
    rows = conn.execute(sa.select(deals.c.state, sa.func.count()).group_by(deals.c.state))
    counts: dict[str, int] = {state: int(n) for state, n in rows}
    by_state = {state: int(counts.get(state.value, 0)) for state in DealState}
    profit: dict[str, Decimal] = {}
    sold = conn.execute(
        sa.select(deals.c.currency, deals.c.profit).where(
            deals.c.state == DealState.SOLD.value, deals.c.profit.is_not(None)
        )
    )
    for currency, amount in sold:
        profit[currency] = profit.get(currency, Decimal(0)) + amount
    return DealSummary(
        by_state=by_state,
        open_count=sum(n for state, n in by_state.items() if state in OPEN_STATES),
        sold_count=by_state[DealState.SOLD],
        realised_profit=profit,
    )
