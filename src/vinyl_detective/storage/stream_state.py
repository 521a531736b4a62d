"""The firehose streams' state: per (marketplace, category) what it has read, its plan.

Table `firehose_streams` (migrations 0003, 0011): the newest listing seen (the
high-water mark a poll pages down to), the last poll, the arrival-rate estimates (all
new listings, and those some rider wants), the planned interval and next run, and the
stream's lease (storage/leases.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from vinyl_detective.domain.polling import SeenMark
from vinyl_detective.storage.db import insert_if_absent
from vinyl_detective.storage.schema import firehose_streams


@dataclass(frozen=True, slots=True)
class StreamState:
    """One firehose stream: what it has seen and how it is planned."""

    stream: str
    marketplace: str
    category_id: str
    newest_listed_at: datetime | None
    newest_item_id: str | None
    last_poll_at: datetime | None
    arrivals_per_min: float | None
    interval_minutes: float | None
    next_run_at: datetime | None
    polls: int
    lease_owner: str | None
    lease_until: datetime | None
    wanted_per_min: float | None = None  # of its new listings, those some rider wants

    @property
    def seen(self) -> SeenMark:
        return SeenMark(self.newest_listed_at, self.newest_item_id)


def stream_key(marketplace: str, category_id: str) -> str:
    return f"{marketplace}:{category_id}"


def _to_stream(row: sa.Row[Any]) -> StreamState:
    return StreamState(**row._mapping)


def ensure_stream(conn: sa.Connection, marketplace: str, category_id: str) -> str:
    key = stream_key(marketplace, category_id)
    insert_if_absent(
        conn,
        firehose_streams,
        {"stream": key, "marketplace": marketplace, "category_id": category_id},
        ["stream"],
    )
    return key


def get_stream(conn: sa.Connection, stream: str) -> StreamState | None:
    row = conn.execute(sa.select(firehose_streams).where(firehose_streams.c.stream == stream))
    first = row.first()
    return _to_stream(first) if first else None


def all_streams(conn: sa.Connection) -> dict[str, StreamState]:
    return {s.stream: s for s in map(_to_stream, conn.execute(sa.select(firehose_streams)))}


def record_stream_poll(
    conn: sa.Connection,
    stream: str,
    *,
    now: datetime,
    newest_listed_at: datetime | None,
    newest_item_id: str | None,
    arrivals_per_min: float | None,
    wanted_per_min: float | None = None,
) -> None:
    """After a poll: the newest listing seen (only ever moves forward) and the rates (the
    wanted one is kept as it was when not given)."""
    current = get_stream(conn, stream)
    values: dict[str, Any] = {
        "last_poll_at": now,
        "arrivals_per_min": arrivals_per_min,
        "polls": firehose_streams.c.polls + 1,
    }
    if wanted_per_min is not None:
        values["wanted_per_min"] = wanted_per_min
    if newest_listed_at is not None and (
        current is None
        or current.newest_listed_at is None
        or newest_listed_at >= current.newest_listed_at
    ):
        values["newest_listed_at"] = newest_listed_at
        values["newest_item_id"] = newest_item_id
    conn.execute(
        firehose_streams.update().where(firehose_streams.c.stream == stream).values(**values)
    )


def plan_stream(
    conn: sa.Connection, stream: str, *, interval_minutes: float, next_run_at: datetime
) -> None:
    conn.execute(
        firehose_streams.update()
        .where(firehose_streams.c.stream == stream)
        .values(interval_minutes=interval_minutes, next_run_at=next_run_at)
    )
