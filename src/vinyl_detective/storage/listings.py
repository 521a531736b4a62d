"""Listings seen on the marketplaces, with how each was matched and scored."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from vinyl_detective.domain.models import (
    BuyingOption,
    Deal,
    Listing,
    Match,
    MatchMethod,
    Money,
)
from vinyl_detective.storage.db import insert_if_absent
from vinyl_detective.storage.schema import listings


@dataclass(frozen=True, slots=True)
class StoredListing:
    """A listing row: the listing itself plus its match and score, as last processed."""

    listing: Listing
    search_id: int | None
    first_seen: datetime
    match: Match | None
    deal_score: float | None
    priority: str | None
    reference_price: Decimal | None
    reference_currency: str | None
    processed_at: datetime | None
    price_drops: int = 0  # how many price drops were seen
    previous_total: Decimal | None = None  # price + shipping before the latest drop
    drop_pending: bool = False  # the latest drop's alerts are not claimed yet
    price_dropped_at: datetime | None = None  # when the latest drop was seen
    ended_at: datetime | None = None  # an item lookup found it ended or sold

    @property
    def previous_money(self) -> Money | None:
        """The total before the latest drop, in the listing's currency."""
        if self.previous_total is None:
            return None
        return Money(self.previous_total, self.listing.currency)


def _listing_values(listing: Listing) -> dict[str, object]:
    return {
        "source": listing.source,
        "marketplace": listing.marketplace,
        "title": listing.title,
        "price": listing.price,
        "shipping": listing.shipping,
        "currency": listing.currency,
        "condition": listing.condition,
        "condition_id": listing.condition_id,
        "buying_option": listing.buying_option.value,
        "seller_username": listing.seller_username,
        "seller_feedback_pct": listing.seller_feedback_pct,
        "seller_feedback_score": listing.seller_feedback_score,
        "url": listing.url,
        "affiliate_url": listing.affiliate_url,
        "image_url": listing.image_url,
        "country": listing.country,
        "category_id": listing.category_id,
        "listed_at": listing.listed_at,
        "ends_at": listing.ends_at,
        "catalog_no_hint": listing.catalog_no,
        "barcode_hint": listing.barcode,
    }


def known_item_ids(conn: sa.Connection, item_ids: Collection[str]) -> set[str]:
    """Which of these items were already seen (and so must not be processed again)."""
    if not item_ids:
        return set()
    rows = conn.execute(sa.select(listings.c.item_id).where(listings.c.item_id.in_(item_ids)))
    return {r[0] for r in rows}


def insert_new(
    conn: sa.Connection, listing: Listing, *, search_id: int | None, now: datetime
) -> bool:
    """Insert a listing seen for the first time; False (and only `last_seen` moves) if known."""
    updated = conn.execute(
        listings.update().where(listings.c.item_id == listing.item_id).values(last_seen=now)
    ).rowcount
    if updated:
        return False
    row = {
        "item_id": listing.item_id,
        "search_id": search_id,
        "first_seen": now,
        "last_seen": now,
        **_listing_values(listing),
    }
    # Two workers may both find it new: exactly one inserts it, the other sees it known.
    return insert_if_absent(conn, listings, row, ["item_id"])


def update_listing(conn: sa.Connection, listing: Listing) -> None:
    """Refresh a stored listing's fields (e.g. after fetching its item specifics)."""
    conn.execute(
        listings.update()
        .where(listings.c.item_id == listing.item_id)
        .values(**_listing_values(listing))
    )


def record_price(
    conn: sa.Connection, stored: StoredListing, seen: Listing, now: datetime
) -> int | None:
    """Store the price at which a known listing was seen again (a poll, the webhook, an
    item lookup). Returns the drop's number when its price + shipping fell, else None.

    A drop is recorded with the total before it and left `drop_pending` until its alerts
    are claimed (`drop_handled`), so a crash in between still alerts it later. A price in
    another currency than the stored one is not compared (nor stored).
    """
    old = stored.listing
    if seen.currency != old.currency:
        return None
    changed = (seen.price, seen.shipping) != (old.price, old.shipping)
    values: dict[str, object] = {}
    if changed:
        values |= {"price": seen.price, "shipping": seen.shipping}
    if seen.ends_at is not None and seen.ends_at != old.ends_at:
        values["ends_at"] = seen.ends_at
    if seen.buying_option != old.buying_option:
        values["buying_option"] = seen.buying_option.value
    dropped = changed and seen.total < old.total
    number: int | None = None
    if dropped:
        number = stored.price_drops + 1
        values |= {
            "price_drops": number,
            "previous_total": old.total,
            "price_dropped_at": now,
            "drop_pending": True,
        }
    if values:
        conn.execute(listings.update().where(listings.c.item_id == old.item_id).values(**values))
    return number


def drop_handled(conn: sa.Connection, item_id: str) -> None:
    """The latest drop's alerts are claimed (or nobody was to hear of it)."""
    conn.execute(listings.update().where(listings.c.item_id == item_id).values(drop_pending=False))


def pending_drops(conn: sa.Connection, *, seen_before: datetime, limit: int) -> list[StoredListing]:
    """Listings whose latest price drop was recorded but never routed (a crash)."""
    stmt = (
        sa.select(listings)
        .where(listings.c.drop_pending.is_(True), listings.c.price_dropped_at < seen_before)
        .order_by(listings.c.price_dropped_at)
        .limit(limit)
    )
    return [_to_stored(r) for r in conn.execute(stmt)]


def mark_checked(conn: sa.Connection, item_id: str, now: datetime, *, ended: bool = False) -> None:
    """An item lookup of the listing happened at `now` (and found it ended or sold)."""
    values: dict[str, object] = {"checked_at": now}
    if ended:
        values["ended_at"] = now
    conn.execute(listings.update().where(listings.c.item_id == item_id).values(**values))


def due_for_check(
    conn: sa.Connection, item_ids: Collection[str], *, checked_before: datetime, limit: int
) -> list[StoredListing]:
    """Of these listings, those not known to have ended and not looked up since
    `checked_before`, never-checked first."""
    if not item_ids:
        return []
    stmt = (
        sa.select(listings)
        .where(
            listings.c.item_id.in_(list(item_ids)),
            listings.c.ended_at.is_(None),
            sa.or_(listings.c.checked_at.is_(None), listings.c.checked_at < checked_before),
        )
        .order_by(listings.c.checked_at.is_not(None), listings.c.checked_at, listings.c.first_seen)
        .limit(limit)
    )
    return [_to_stored(r) for r in conn.execute(stmt)]


def record_outcome(
    conn: sa.Connection,
    item_id: str,
    *,
    match: Match | None,
    deal: Deal | None,
    now: datetime,
) -> None:
    """Store how a listing was identified and scored (None: no match / not a deal)."""
    conn.execute(
        listings.update()
        .where(listings.c.item_id == item_id)
        .values(
            match_release_id=match.release_id if match else None,
            match_method=match.method.value if match else None,
            match_confidence=match.confidence if match else None,
            reference_price=deal.reference.amount if deal else None,
            reference_currency=deal.reference.currency if deal else None,
            deal_score=deal.score if deal else None,
            priority=deal.priority.value if deal else None,
            processed_at=now,
        )
    )


def _to_stored(row: sa.Row[tuple[object, ...]]) -> StoredListing:
    m = row._mapping
    listing = Listing(
        item_id=m["item_id"],
        title=m["title"],
        price=Decimal(m["price"]),
        currency=m["currency"],
        shipping=None if m["shipping"] is None else Decimal(m["shipping"]),
        condition=m["condition"],
        condition_id=m["condition_id"],
        buying_option=BuyingOption(m["buying_option"] or BuyingOption.FIXED_PRICE.value),
        seller_username=m["seller_username"],
        seller_feedback_pct=m["seller_feedback_pct"],
        seller_feedback_score=m["seller_feedback_score"],
        url=m["url"] or "",
        affiliate_url=m["affiliate_url"],
        image_url=m["image_url"],
        country=m["country"],
        category_id=m["category_id"],
        listed_at=m["listed_at"],
        ends_at=m["ends_at"],
        catalog_no=m["catalog_no_hint"],
        barcode=m["barcode_hint"],
        source=m["source"],
        marketplace=m["marketplace"] or "EBAY_US",
    )
    match = (
        Match(m["match_release_id"], MatchMethod(m["match_method"]), m["match_confidence"] or 0.0)
        if m["match_release_id"] is not None and m["match_method"]
        else None
    )
    return StoredListing(
        listing=listing,
        search_id=m["search_id"],
        first_seen=m["first_seen"],
        match=match,
        deal_score=m["deal_score"],
        priority=m["priority"],
        reference_price=None if m["reference_price"] is None else Decimal(m["reference_price"]),
        reference_currency=m["reference_currency"],
        processed_at=m["processed_at"],
        price_drops=m["price_drops"] or 0,
        previous_total=None if m["previous_total"] is None else Decimal(m["previous_total"]),
        drop_pending=bool(m["drop_pending"]),
        price_dropped_at=m["price_dropped_at"],
        ended_at=m["ended_at"],
    )


def get_listing(conn: sa.Connection, item_id: str) -> StoredListing | None:
    row = conn.execute(sa.select(listings).where(listings.c.item_id == item_id)).first()
    return _to_stored(row) if row else None


def recent_deals(
    conn: sa.Connection, *, limit: int = 50, min_score: float | None = None
) -> list[StoredListing]:
    """Listings that scored as deals, newest first."""
    stmt = (
        sa.select(listings)
        .where(listings.c.deal_score.is_not(None))
        .order_by(listings.c.first_seen.desc())
        .limit(limit)
    )
    if min_score is not None:
        stmt = stmt.where(listings.c.deal_score >= min_score)
    return [_to_stored(r) for r in conn.execute(stmt)]


def listings_of_release(conn: sa.Connection, release_id: int) -> list[StoredListing]:
    stmt = (
        sa.select(listings)
        .where(listings.c.match_release_id == release_id)
        .order_by(listings.c.first_seen)
    )
    return [_to_stored(r) for r in conn.execute(stmt)]


def unprocessed(
    conn: sa.Connection, *, seen_before: datetime, seen_after: datetime, limit: int
) -> list[StoredListing]:
    """Listings stored but never evaluated (first seen in the window), oldest first."""
    stmt = (
        sa.select(listings)
        .where(
            listings.c.processed_at.is_(None),
            listings.c.first_seen < seen_before,
            listings.c.first_seen >= seen_after,
        )
        .order_by(listings.c.first_seen)
        .limit(limit)
    )
    return [_to_stored(r) for r in conn.execute(stmt)]


def reopen_unidentified(conn: sa.Connection, *, seen_after: datetime) -> int:
    """Listings first seen since `seen_after` and evaluated without finding their record,
    made unfinished again (the pipeline's unfinished pass identifies them anew): the
    catalog they were judged against lacked what a search's seeding has added since."""
    return conn.execute(
        listings.update()
        .where(
            listings.c.processed_at.is_not(None),
            listings.c.match_method.is_(None),
            listings.c.first_seen >= seen_after,
        )
        .values(processed_at=None)
    ).rowcount


def delete_seen_before(conn: sa.Connection, cutoff: datetime) -> int:
    """Forget listings first seen before `cutoff` (the cleanup job: 30 days)."""
    return conn.execute(listings.delete().where(listings.c.first_seen < cutoff)).rowcount
