"""The alert log: one row per (recipient, listing, occasion), the guarantee against
repeated alerts. The occasion is "" for the first alert about a listing and "drop:<n>" for
the alert about its n-th price drop (`drop_occasion`).

An alert is first *claimed* (a `pending` row; the unique key refuses a second claim,
also from another worker or after a restart), then sent, then marked `sent`. Rows left
`pending` by a crash or a retryable failure are retried (the daemon's retry pass, with
backoff, for as long as the alert is worth sending: notify/channels.retry_deadline);
rows that failed for good, or were given up, stay `failed` with their error, visible in
`status`. A claim names its claimer ("host:pid:tag",
migration 0009): the claim of a process that no longer runs is known to be orphaned.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from vinyl_detective.storage.db import insert_if_absent
from vinyl_detective.storage.schema import alert_log

FIRST = ""  # the occasion of the first alert about a listing


def drop_occasion(drop_number: int) -> str:
    """The occasion of the alert about a listing's `drop_number`-th price drop."""
    return f"drop:{drop_number}"


_TAG = uuid.uuid4().hex[:8]


def this_process() -> str:
    """This process as a claimer: "host:pid:tag" (the tag tells apart two processes that
    got the same pid, e.g. containers restarted as pid 1)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_TAG}"


@dataclass(frozen=True, slots=True)
class PendingAlert:
    recipient: str
    item_id: str
    search_id: int | None
    attempts: int
    last_attempt_at: datetime | None
    occasion: str = FIRST

    claimed_by: str | None = None
    created_at: datetime | None = None  # when it was claimed
    error: str | None = None  # the last attempt's error


def claim(
    conn: sa.Connection,
    recipient: str,
    item_id: str,
    *,
    now: datetime,
    search_id: int | None = None,
    deal_score: float | None = None,
    occasion: str = FIRST,
) -> bool:
    """Claim the right to alert `recipient` about `item_id` on `occasion`; False if it was
    ever claimed."""
    row = {
        "recipient": recipient,
        "item_id": item_id,
        "occasion": occasion,
        "search_id": search_id,
        "status": "pending",
        "attempts": 0,
        "deal_score": deal_score,
        "created_at": now,
        "last_attempt_at": now,
        "claimed_by": this_process(),
    }
    return insert_if_absent(conn, alert_log, row, ["recipient", "item_id", "occasion"])


def best_alerted_score(conn: sa.Connection, recipient: str, item_id: str) -> float | None:
    """The highest deal score `recipient` was alerted (or is being alerted) about for
    `item_id`, on any occasion; None if never. A failed alert did not arrive: not counted."""
    return conn.execute(
        sa.select(sa.func.max(alert_log.c.deal_score)).where(
            alert_log.c.recipient == recipient,
            alert_log.c.item_id == item_id,
            alert_log.c.status != "failed",
        )
    ).scalar_one_or_none()


def _row(recipient: str, item_id: str, occasion: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        alert_log.c.recipient == recipient,
        alert_log.c.item_id == item_id,
        alert_log.c.occasion == occasion,
    )


def mark_sent(
    conn: sa.Connection, recipient: str, item_id: str, now: datetime, occasion: str = FIRST
) -> None:
    conn.execute(
        alert_log.update()
        .where(_row(recipient, item_id, occasion))
        .values(
            status="sent",
            sent_at=now,
            last_attempt_at=now,
            attempts=alert_log.c.attempts + 1,
            error=None,
        )
    )


def mark_attempt_failed(
    conn: sa.Connection,
    recipient: str,
    item_id: str,
    error: str,
    *,
    permanent: bool,
    now: datetime | None = None,
    occasion: str = FIRST,
) -> None:
    """Count a failed attempt: `failed` for good when `permanent`, else still `pending`
    (the retry pass decides when it is tried again, and when it is given up)."""
    row = conn.execute(
        sa.select(alert_log.c.attempts).where(_row(recipient, item_id, occasion))
    ).first()
    attempts = (row.attempts if row else 0) + 1
    status = "failed" if permanent else "pending"
    conn.execute(
        alert_log.update()
        .where(_row(recipient, item_id, occasion))
        .values(status=status, attempts=attempts, error=error[:500], last_attempt_at=now)
    )


def take_for_retry(conn: sa.Connection, alert: PendingAlert, now: datetime) -> bool:
    """Take a pending alert for one more attempt; False if another task or worker did.

    The attempt time moves only if it is still what `alert` saw: of two takers reading
    the same row, exactly one changes it. The taker becomes the claimer.
    """
    seen = (
        alert_log.c.last_attempt_at.is_(None)
        if alert.last_attempt_at is None
        else alert_log.c.last_attempt_at == alert.last_attempt_at
    )
    result = conn.execute(
        alert_log.update()
        .where(
            _row(alert.recipient, alert.item_id, alert.occasion),
            alert_log.c.status == "pending",
            seen,
        )
        .values(last_attempt_at=now, claimed_by=this_process())
    )
    return result.rowcount == 1


def pending(conn: sa.Connection, limit: int = 1000) -> list[PendingAlert]:
    """Alerts claimed but not yet delivered (a crash, or a retryable failure)."""
    rows = conn.execute(
        sa.select(alert_log)
        .where(alert_log.c.status == "pending")
        .order_by(alert_log.c.id)
        .limit(limit)
    )
    return [
        PendingAlert(
            r.recipient,
            r.item_id,
            r.search_id,
            r.attempts,
            r.last_attempt_at,
            r.occasion,
            r.claimed_by,
            r.created_at,
            r.error,
        )
        for r in rows
    ]


def status_counts(conn: sa.Connection, since: datetime | None = None) -> dict[str, int]:
    stmt = sa.select(alert_log.c.status, sa.func.count()).group_by(alert_log.c.status)
    if since is not None:
        stmt = stmt.where(alert_log.c.created_at >= since)
    return {status: int(n) for status, n in conn.execute(stmt)}


def counts_by_search(conn: sa.Connection, since: datetime | None = None) -> dict[int, int]:
    """Alerts delivered per saved search (a search's yield), optionally since a time."""
    stmt = (
        sa.select(alert_log.c.search_id, sa.func.count())
        .where(alert_log.c.status == "sent", alert_log.c.search_id.is_not(None))
        .group_by(alert_log.c.search_id)
    )
    if since is not None:
        stmt = stmt.where(alert_log.c.created_at >= since)
    return {int(search_id): int(n) for search_id, n in conn.execute(stmt)}


def recent_failures(conn: sa.Connection, limit: int = 10) -> list[tuple[str, str, str | None]]:
    """(recipient, item_id, error) of alerts that failed for good, newest first."""
    rows = conn.execute(
        sa.select(alert_log.c.recipient, alert_log.c.item_id, alert_log.c.error)
        .where(alert_log.c.status == "failed")
        .order_by(alert_log.c.id.desc())
        .limit(limit)
    )
    return [(r.recipient, r.item_id, r.error) for r in rows]


def delete_created_before(conn: sa.Connection, cutoff: datetime) -> int:
    """Forget alert log rows older than `cutoff` (the cleanup job: 90 days)."""
    return conn.execute(alert_log.delete().where(alert_log.c.created_at < cutoff)).rowcount


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert-log row of a listing, as "why (not)?" shows it."""

    recipient: str
    search_id: int | None
    occasion: str
    status: str  # pending | sent | failed
    attempts: int
    error: str | None
    created_at: datetime
    sent_at: datetime | None


def for_item(conn: sa.Connection, item_id: str) -> list[AlertRecord]:
    """Every alert claimed for `item_id`, oldest first."""
    rows = conn.execute(
        sa.select(
            alert_log.c.recipient,
            alert_log.c.search_id,
            alert_log.c.occasion,
            alert_log.c.status,
            alert_log.c.attempts,
            alert_log.c.error,
            alert_log.c.created_at,
            alert_log.c.sent_at,
        )
        .where(alert_log.c.item_id == item_id)
        .order_by(alert_log.c.id)
    ).all()
    return [AlertRecord(*row) for row in rows]
