"""The transactional outbox: domain events stored with the change they describe.

`emit_event` writes an event on the caller's connection, inside the caller's
transaction: if the change rolls back, so does the event. The relay
(events/relay.py) reads pending events in id order and marks them published.
Delivery is at least once; consumers dedupe on `event_id`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa

from vinyl_detective.storage.schema import outbox

MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One domain event, as stored and as delivered."""

    id: int  # position in the outbox: delivery order
    event_id: str  # UUID, stable across redeliveries
    event_type: str  # e.g. "listing.created", "listing.state.sold"
    aggregate_id: str  # what it is about, e.g. the eBay item id
    payload: dict[str, Any]
    created_at: datetime
    published_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None

    def envelope(self) -> dict[str, Any]:
        """The JSON document every publisher sends."""
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "aggregate_id": self.aggregate_id,
            "occurred_at": self.created_at.isoformat(),
            "payload": self.payload,
        }

    def body(self) -> bytes:
        """The envelope as compact UTF-8 JSON bytes."""
        return json.dumps(self.envelope(), separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True, slots=True)
class Backlog:
    """Events not yet delivered, for /health and `status`."""

    pending: int
    oldest_created_at: datetime | None
    failing_attempts: int  # attempts on the oldest pending event (0: not failing)
    last_error: str | None


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot put {type(value).__name__} into an event payload")


def encode_payload(payload: Mapping[str, Any]) -> str:
    """Payload as JSON: amounts (Decimal) as strings, times as ISO 8601, enums as values."""
    return json.dumps(dict(payload), default=_json_default, sort_keys=True)


def emit_event(
    conn: sa.Connection,
    event_type: str,
    aggregate_id: str,
    payload: Mapping[str, Any],
    now: datetime,
) -> OutboxEvent:
    """Store an event in the outbox on `conn` (inside the caller's transaction)."""
    text = encode_payload(payload)
    event_id = str(uuid.uuid4())
    result = conn.execute(
        outbox.insert().values(
            event_id=event_id,
            event_type=event_type,
            aggregate_id=str(aggregate_id),
            payload=text,
            created_at=now,
            attempts=0,
        )
    )
    return OutboxEvent(
        id=int(result.inserted_primary_key[0]),  # type: ignore[index]
        event_id=event_id,
        event_type=event_type,
        aggregate_id=str(aggregate_id),
        payload=json.loads(text),
        created_at=now,
    )


def _event(row: sa.Row[Any]) -> OutboxEvent:
    m = row._mapping
    return OutboxEvent(
        id=m["id"],
        event_id=m["event_id"],
        event_type=m["event_type"],
        aggregate_id=m["aggregate_id"],
        payload=json.loads(m["payload"]),
        created_at=m["created_at"],
        published_at=m["published_at"],
        attempts=m["attempts"],
        last_error=m["last_error"],
    )


def pending_events(conn: sa.Connection, limit: int = 100) -> list[OutboxEvent]:
    """Undelivered events, oldest first."""
    stmt = (
        sa.select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(limit)
    )
    return [_event(row) for row in conn.execute(stmt)]


def mark_published(conn: sa.Connection, outbox_id: int, now: datetime) -> None:
    conn.execute(
        outbox.update()
        .where(outbox.c.id == outbox_id, outbox.c.published_at.is_(None))
        .values(published_at=now, attempts=outbox.c.attempts + 1, last_error=None)
    )


def record_failure(conn: sa.Connection, outbox_id: int, error: str) -> None:
    """Count a failed delivery attempt and keep its (shortened) message."""
    conn.execute(
        outbox.update()
        .where(outbox.c.id == outbox_id)
        .values(attempts=outbox.c.attempts + 1, last_error=error[:MAX_ERROR_CHARS])
    )


def events_for(conn: sa.Connection, aggregate_id: str) -> list[OutboxEvent]:
    """Every event about one aggregate (e.g. a deal), in order, delivered or not."""
    stmt = sa.select(outbox).where(outbox.c.aggregate_id == aggregate_id).order_by(outbox.c.id)
    return [_event(row) for row in conn.execute(stmt)]


def backlog(conn: sa.Connection) -> Backlog:
    """How far behind delivery is."""
    pending = conn.execute(
        sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
    ).scalar_one()
    oldest = conn.execute(
        sa.select(outbox.c.created_at, outbox.c.attempts, outbox.c.last_error)
        .where(outbox.c.published_at.is_(None))
        .order_by(outbox.c.id)
        .limit(1)
    ).first()
    if oldest is None:
        return Backlog(pending=0, oldest_created_at=None, failing_attempts=0, last_error=None)
    return Backlog(
        pending=int(pending),
        oldest_created_at=oldest.created_at,
        failing_attempts=int(oldest.attempts),
        last_error=oldest.last_error,
    )


def purge_published(conn: sa.Connection, before: datetime) -> int:
    """Delete events delivered before `before` (for the cleanup job); returns how many."""
    result = conn.execute(
        outbox.delete().where(outbox.c.published_at.is_not(None), outbox.c.published_at < before)
    )
    return result.rowcount
