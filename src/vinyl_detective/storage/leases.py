"""Leases: never two runs of the same search or stream at once, across processes.

A lease is two columns of the search's schedule row or the stream's row: its owner and
when it expires. `acquire_*_lease` succeeds only when nobody else holds an unexpired
lease (one UPDATE, atomic on SQLite and PostgreSQL alike); an expired lease (its holder
crashed) is taken over, and so is one whose holder is known to be dead (`replacing`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from vinyl_detective.storage.schema import firehose_streams, search_schedules
from vinyl_detective.storage.search_schedules import ensure_schedule


def _acquire(
    conn: sa.Connection,
    table: sa.Table,
    where: sa.ColumnElement[bool],
    owner: str,
    now: datetime,
    ttl: timedelta,
    replacing: str | None = None,
) -> bool:
    free = sa.or_(
        table.c.lease_until.is_(None),
        table.c.lease_until <= now,
        table.c.lease_owner == owner,
        table.c.lease_owner == (replacing or owner),
    )
    result = conn.execute(
        table.update().where(where, free).values(lease_owner=owner, lease_until=now + ttl)
    )
    return result.rowcount > 0


def _release(
    conn: sa.Connection, table: sa.Table, where: sa.ColumnElement[bool], owner: str
) -> None:
    conn.execute(
        table.update()
        .where(where, table.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def acquire_search_lease(
    conn: sa.Connection,
    search_id: int,
    owner: str,
    now: datetime,
    ttl: timedelta,
    *,
    replacing: str | None = None,
) -> bool:
    """Take the search for `ttl` unless another owner holds it (or only `replacing`, a
    holder known to be dead, does); True when taken."""
    ensure_schedule(conn, search_id)
    return _acquire(
        conn,
        search_schedules,
        search_schedules.c.search_id == search_id,
        owner,
        now,
        ttl,
        replacing,
    )


def lease_holder(conn: sa.Connection, kind: str, target: str | int, now: datetime) -> str | None:
    """Who holds the unexpired lease on a stream (`kind` "stream") or a search, if anyone."""
    table, where = (
        (search_schedules, search_schedules.c.search_id == int(target))
        if kind != "stream"
        else (firehose_streams, firehose_streams.c.stream == str(target))
    )
    row = conn.execute(
        sa.select(table.c.lease_owner).where(where, table.c.lease_until > now)
    ).first()
    return row.lease_owner if row is not None else None


def release_search_lease(conn: sa.Connection, search_id: int, owner: str) -> None:
    _release(conn, search_schedules, search_schedules.c.search_id == search_id, owner)


def acquire_stream_lease(
    conn: sa.Connection,
    stream: str,
    owner: str,
    now: datetime,
    ttl: timedelta,
    *,
    replacing: str | None = None,
) -> bool:
    return _acquire(
        conn, firehose_streams, firehose_streams.c.stream == stream, owner, now, ttl, replacing
    )


def release_stream_lease(conn: sa.Connection, stream: str, owner: str) -> None:
    _release(conn, firehose_streams, firehose_streams.c.stream == stream, owner)
