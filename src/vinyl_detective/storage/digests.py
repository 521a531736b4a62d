"""The digest queue: lower-priority deals waiting for a channel's hourly or daily summary.

A deal is queued once per (channel, listing) — the unique key refuses a second entry, as
the alert log does — and marked sent when a digest carried it. When a channel's period
has elapsed is decided from this table alone: since its last digest, or, before the first
one, since its oldest waiting deal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from vinyl_detective.storage.db import insert_if_absent
from vinyl_detective.storage.schema import UTCDateTime, digest_queue

__all__ = [
    "QueuedDeal",
    "delete_sent_before",
    "enqueue",
    "last_digest_at",
    "mark_sent",
    "oldest_waiting_at",
    "waiting",
    "waiting_counts",
]


@dataclass(frozen=True, slots=True)
class QueuedDeal:
    id: int
    channel_key: str
    item_id: str
    summary: dict[str, Any]
    priority: str
    deal_score: float | None
    queued_at: datetime


def enqueue(
    conn: sa.Connection,
    channel_key: str,
    item_id: str,
    summary: dict[str, Any],
    *,
    priority: str,
    now: datetime,
    deal_score: float | None = None,
    occasion: str = "",
) -> bool:
    """Queue a deal for `channel_key`'s next digest; False if it was ever queued there on
    this `occasion` ("" the first time, a price drop's own key after that).

    A price drop replaces the deal's entry still waiting, if any: one line per listing,
    at its new price, even when an earlier digest carried the old one.
    """
    if occasion:
        conn.execute(
            digest_queue.delete().where(
                digest_queue.c.channel_key == channel_key,
                digest_queue.c.item_id == item_id,
                digest_queue.c.sent_at.is_(None),
                digest_queue.c.occasion != occasion,
            )
        )
    row = {
        "channel_key": channel_key,
        "item_id": item_id,
        "occasion": occasion,
        "summary": json.dumps(summary, ensure_ascii=False, sort_keys=True),
        "priority": priority,
        "deal_score": deal_score,
        "queued_at": now,
    }
    return insert_if_absent(conn, digest_queue, row, ["channel_key", "item_id", "occasion"])


def waiting(conn: sa.Connection, channel_key: str, limit: int = 500) -> list[QueuedDeal]:
    """Deals not yet in a digest, best first (highest score, then oldest)."""
    rows = conn.execute(
        sa.select(digest_queue)
        .where(digest_queue.c.channel_key == channel_key, digest_queue.c.sent_at.is_(None))
        .order_by(
            sa.func.coalesce(digest_queue.c.deal_score, 0).desc(),
            digest_queue.c.queued_at,
            digest_queue.c.id,
        )
        .limit(limit)
    )
    return [
        QueuedDeal(
            id=r.id,
            channel_key=r.channel_key,
            item_id=r.item_id,
            summary=json.loads(r.summary),
            priority=r.priority,
            deal_score=r.deal_score,
            queued_at=r.queued_at,
        )
        for r in rows
    ]


def waiting_counts(conn: sa.Connection) -> dict[str, int]:
    """How many deals wait per channel key (for `status`)."""
    stmt = (
        sa.select(digest_queue.c.channel_key, sa.func.count())
        .where(digest_queue.c.sent_at.is_(None))
        .group_by(digest_queue.c.channel_key)
    )
    return {key: int(n) for key, n in conn.execute(stmt)}


def last_digest_at(conn: sa.Connection, channel_key: str) -> datetime | None:
    """When `channel_key` last got a digest (None: never, or forgotten by the cleanup)."""
    latest = sa.type_coerce(sa.func.max(digest_queue.c.sent_at), UTCDateTime)
    stmt = sa.select(latest).where(digest_queue.c.channel_key == channel_key)
    return conn.execute(stmt).scalar()


def oldest_waiting_at(conn: sa.Connection, channel_key: str) -> datetime | None:
    oldest = sa.type_coerce(sa.func.min(digest_queue.c.queued_at), UTCDateTime)
    stmt = sa.select(oldest).where(
        digest_queue.c.channel_key == channel_key, digest_queue.c.sent_at.is_(None)
    )
    return conn.execute(stmt).scalar()


def mark_sent(conn: sa.Connection, ids: list[int], now: datetime) -> int:
    """Mark the queued deals a digest carried; returns how many were still waiting."""
    if not ids:
        return 0
    result = conn.execute(
        digest_queue.update()
        .where(digest_queue.c.id.in_(ids), digest_queue.c.sent_at.is_(None))
        .values(sent_at=now)
    )
    return int(result.rowcount)


def delete_sent_before(conn: sa.Connection, cutoff: datetime) -> int:
    """Forget deals sent in a digest before `cutoff` (for the cleanup job).

    The newest sent row of each channel is kept: it remembers when the last digest went.
    """
    newest = (
        sa.select(sa.func.max(digest_queue.c.id))
        .where(digest_queue.c.sent_at.is_not(None))
        .group_by(digest_queue.c.channel_key)
    )
    result = conn.execute(
        digest_queue.delete().where(
            digest_queue.c.sent_at < cutoff, digest_queue.c.id.not_in(newest)
        )
    )
    return int(result.rowcount)


def queued_for_item(
    conn: sa.Connection, item_id: str
) -> list[tuple[str, str, datetime, datetime | None]]:
    """(channel key, occasion, queued at, sent at) of every digest entry of `item_id`."""
    rows = conn.execute(
        sa.select(
            digest_queue.c.channel_key,
            digest_queue.c.occasion,
            digest_queue.c.queued_at,
            digest_queue.c.sent_at,
        )
        .where(digest_queue.c.item_id == item_id)
        .order_by(digest_queue.c.id)
    ).all()
    return [(str(r[0]), str(r[1]), r[2], r[3]) for r in rows]
