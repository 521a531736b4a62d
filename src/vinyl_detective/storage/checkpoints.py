"""Scheduling state: backfill checkpoints, per-search schedules and leases, firehose streams.

Three tables (migration 0003):

- `search_checkpoints`: a search's backfill — status idle/syncing/error/paused, when it
  started and completed, the oldest listing it reached, the cursor to resume from and the
  requests spent. A completed backfill is never run again.
- `search_schedules`: how a search is scheduled — firehose or its own query, its
  min/max interval and priority, the planner's current interval, its yield (runs, deals,
  decaying recent counts, runs since the last deal) and a lease; for a search that
  queries on its own, also its high-water mark and arrival rate (migration 0008).
- `firehose_streams`: per (marketplace, category) the newest listing seen, the last poll,
  the arrival-rate estimate, the interval and next run, and a lease.

A manual "run this search now" (`request_run`) is a `kv` row `run_requested:search:<id>`
holding when it was asked for; the scheduler serves it once (a search riding the firehose
makes every stream look at once) and clears it (`clear_run_requests`).

Leases make "never two runs of the same search at once" hold across worker processes:
`acquire_*_lease` succeeds only when nobody else holds an unexpired lease (one UPDATE,
atomic on SQLite and PostgreSQL alike); an expired lease (its holder crashed) is taken over.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from vinyl_detective.domain.schedule import SeenMark
from vinyl_detective.storage import kv, schema
from vinyl_detective.storage.db import insert_if_absent
from vinyl_detective.storage.schema import (
    firehose_streams,
    saved_searches,
    search_checkpoints,
    search_schedules,
)

# How much of the recent yield survives each run: the counts cover about the last 20 runs.
RECENT_DECAY = 0.95


class BackfillStatus(StrEnum):
    IDLE = "idle"
    SYNCING = "syncing"
    ERROR = "error"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A search's backfill progress. `cursor` is the decoded JSON resume point."""

    search_id: int
    status: BackfillStatus
    started_at: datetime | None
    completed_at: datetime | None
    earliest_seen: datetime | None
    cursor: Any
    requests: int
    error: str | None

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


@dataclass(frozen=True, slots=True)
class SearchScheduleState:
    """How one search is scheduled, and how well it has been doing."""

    search_id: int
    mode: str
    min_minutes: float | None
    max_minutes: float | None
    priority: int
    interval_minutes: float | None
    runs: int
    deals_found: int
    recent_runs: float
    recent_deals: float
    runs_since_deal: int
    last_deal_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    newest_listed_at: datetime | None = None  # of its own query's polls
    newest_item_id: str | None = None
    last_poll_at: datetime | None = None
    arrivals_per_min: float | None = None

    @property
    def seen(self) -> SeenMark:
        return SeenMark(self.newest_listed_at, self.newest_item_id)


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


def _insert_ignore(
    conn: sa.Connection, table: sa.Table, values: Mapping[str, Any], key: str
) -> None:
    """Insert the row unless one with the same key exists (portable, race-free)."""
    insert_if_absent(conn, table, values, [key])


# --- backfill checkpoints -------------------------------------------------------------


def _to_checkpoint(row: sa.Row[Any]) -> Checkpoint:
    m = row._mapping
    return Checkpoint(
        search_id=m["search_id"],
        status=BackfillStatus(m["status"]),
        started_at=m["started_at"],
        completed_at=m["completed_at"],
        earliest_seen=m["earliest_seen"],
        cursor=json.loads(m["last_cursor"]) if m["last_cursor"] else None,
        requests=m["requests"],
        error=m["error"],
    )


def get_checkpoint(conn: sa.Connection, search_id: int) -> Checkpoint | None:
    row = conn.execute(
        sa.select(search_checkpoints).where(search_checkpoints.c.search_id == search_id)
    ).first()
    return _to_checkpoint(row) if row else None


def start_backfill(conn: sa.Connection, search_id: int, now: datetime) -> Checkpoint:
    """Mark the backfill `syncing`; a new one starts, an unfinished one keeps its cursor."""
    _insert_ignore(
        conn,
        search_checkpoints,
        {"search_id": search_id, "status": BackfillStatus.IDLE.value, "updated_at": now},
        "search_id",
    )
    current = get_checkpoint(conn, search_id)
    assert current is not None
    conn.execute(
        search_checkpoints.update()
        .where(search_checkpoints.c.search_id == search_id)
        .values(
            status=BackfillStatus.SYNCING.value,
            started_at=current.started_at or now,
            error=None,
            updated_at=now,
        )
    )
    started = get_checkpoint(conn, search_id)
    assert started is not None
    return started


def save_progress(
    conn: sa.Connection,
    search_id: int,
    *,
    cursor: Any,
    earliest_seen: datetime | None,
    requests: int,
    now: datetime,
) -> None:
    """Record how far the backfill got: a crash resumes from `cursor`."""
    conn.execute(
        search_checkpoints.update()
        .where(search_checkpoints.c.search_id == search_id)
        .values(
            last_cursor=json.dumps(cursor) if cursor is not None else None,
            earliest_seen=earliest_seen,
            requests=requests,
            updated_at=now,
        )
    )


def finish_backfill(conn: sa.Connection, search_id: int, *, now: datetime, completed: bool) -> None:
    """Back to `idle`; with `completed` the backfill is done and never runs again."""
    values: dict[str, Any] = {"status": BackfillStatus.IDLE.value, "updated_at": now}
    if completed:
        values["completed_at"] = now
    conn.execute(
        search_checkpoints.update()
        .where(search_checkpoints.c.search_id == search_id)
        .values(**values)
    )


def fail_backfill(conn: sa.Connection, search_id: int, error: str, now: datetime) -> None:
    """`error` with its message; `completed_at` stays empty so a later run resumes."""
    conn.execute(
        search_checkpoints.update()
        .where(search_checkpoints.c.search_id == search_id)
        .values(status=BackfillStatus.ERROR.value, error=error, updated_at=now)
    )


def set_backfill_paused(conn: sa.Connection, search_id: int, paused: bool, now: datetime) -> None:
    """Pause (or resume) a search's backfill; a paused one is skipped by the scheduler."""
    _insert_ignore(
        conn,
        search_checkpoints,
        {"search_id": search_id, "status": BackfillStatus.IDLE.value, "updated_at": now},
        "search_id",
    )
    conn.execute(
        search_checkpoints.update()
        .where(search_checkpoints.c.search_id == search_id)
        .values(
            status=(BackfillStatus.PAUSED if paused else BackfillStatus.IDLE).value,
            updated_at=now,
        )
    )


def pending_backfills(conn: sa.Connection) -> list[int]:
    """Active searches whose backfill is not complete and not paused, oldest first."""
    stmt = (
        sa.select(saved_searches.c.id)
        .select_from(
            saved_searches.outerjoin(
                search_checkpoints, search_checkpoints.c.search_id == saved_searches.c.id
            )
        )
        .where(
            saved_searches.c.active.is_(True),
            saved_searches.c.disabled_reason.is_(None),
            search_checkpoints.c.completed_at.is_(None),
            sa.or_(
                search_checkpoints.c.status.is_(None),
                search_checkpoints.c.status != BackfillStatus.PAUSED.value,
            ),
        )
        .order_by(saved_searches.c.id)
    )
    return [int(r[0]) for r in conn.execute(stmt)]


# --- per-search schedules -------------------------------------------------------------


def _to_schedule(row: sa.Row[Any]) -> SearchScheduleState:
    return SearchScheduleState(**row._mapping)


def ensure_schedule(conn: sa.Connection, search_id: int, *, mode: str = "firehose") -> None:
    _insert_ignore(conn, search_schedules, {"search_id": search_id, "mode": mode}, "search_id")


def get_schedule(conn: sa.Connection, search_id: int) -> SearchScheduleState | None:
    row = conn.execute(
        sa.select(search_schedules).where(search_schedules.c.search_id == search_id)
    ).first()
    return _to_schedule(row) if row else None


def all_schedules(conn: sa.Connection) -> dict[int, SearchScheduleState]:
    return {s.search_id: s for s in map(_to_schedule, conn.execute(sa.select(search_schedules)))}


def set_search_options(
    conn: sa.Connection,
    search_id: int,
    *,
    mode: str | None = None,
    min_minutes: float | None = None,
    max_minutes: float | None = None,
    priority: int | None = None,
) -> None:
    """Change how a search is scheduled (what the CLI/bot would offer the user)."""
    if mode is not None and mode not in ("firehose", "query"):
        raise ValueError(f"mode must be 'firehose' or 'query', not {mode!r}")
    if priority is not None and not -2 <= priority <= 2:
        raise ValueError(f"priority runs from -2 (low) to 2 (high), not {priority}")
    ensure_schedule(conn, search_id)
    values: dict[str, Any] = {
        k: v
        for k, v in {
            "mode": mode,
            "min_minutes": min_minutes,
            "max_minutes": max_minutes,
            "priority": priority,
        }.items()
        if v is not None
    }
    if values:
        conn.execute(
            search_schedules.update()
            .where(search_schedules.c.search_id == search_id)
            .values(**values)
        )


def record_search_run(
    conn: sa.Connection,
    search_id: int,
    *,
    deals: int,
    now: datetime,
    decay: float = RECENT_DECAY,
) -> None:
    """Count a run of the search and the deals it found (for hot/cold planning)."""
    ensure_schedule(conn, search_id)
    t = search_schedules.c
    values: dict[str, Any] = {
        "runs": t.runs + 1,
        "deals_found": t.deals_found + deals,
        "recent_runs": t.recent_runs * decay + 1,
        "recent_deals": t.recent_deals * decay + deals,
        "runs_since_deal": 0 if deals else t.runs_since_deal + 1,
    }
    if deals:
        values["last_deal_at"] = now
    conn.execute(search_schedules.update().where(t.search_id == search_id).values(**values))


def record_search_poll(
    conn: sa.Connection,
    search_id: int,
    *,
    now: datetime,
    newest: SeenMark,
    arrivals_per_min: float | None,
) -> None:
    """After an own-query poll: its high-water mark (only ever moves forward), its rate."""
    raise_search_mark(conn, search_id, newest)
    t = search_schedules.c
    values: dict[str, Any] = {"last_poll_at": now, "arrivals_per_min": arrivals_per_min}
    conn.execute(search_schedules.update().where(t.search_id == search_id).values(**values))


def raise_search_mark(conn: sa.Connection, search_id: int, newest: SeenMark) -> None:
    """Move the search's own high-water mark up to `newest` (never down)."""
    ensure_schedule(conn, search_id)
    if newest.listed_at is None:
        return
    t = search_schedules.c
    conn.execute(
        search_schedules.update()
        .where(
            t.search_id == search_id,
            sa.or_(t.newest_listed_at.is_(None), t.newest_listed_at < newest.listed_at),
        )
        .values(newest_listed_at=newest.listed_at, newest_item_id=newest.item_id)
    )


def set_search_interval(conn: sa.Connection, search_id: int, minutes: float) -> None:
    conn.execute(
        search_schedules.update()
        .where(search_schedules.c.search_id == search_id)
        .values(interval_minutes=minutes)
    )


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


# --- firehose streams -----------------------------------------------------------------


def _to_stream(row: sa.Row[Any]) -> StreamState:
    return StreamState(**row._mapping)


def ensure_stream(conn: sa.Connection, marketplace: str, category_id: str) -> str:
    key = stream_key(marketplace, category_id)
    _insert_ignore(
        conn,
        firehose_streams,
        {"stream": key, "marketplace": marketplace, "category_id": category_id},
        "stream",
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


# --- manual run requests --------------------------------------------------------------

RUN_REQUEST_PREFIX = "run_requested:search:"


def request_run(conn: sa.Connection, search_id: int, now: datetime) -> None:
    """Ask for one run of the search now (the API's or the bot's "run it now").

    A search with its own query is simply due; one riding the firehose makes every
    stream look at once, once. The scheduler clears the request when it has served it.
    """
    kv.set_value(conn, f"{RUN_REQUEST_PREFIX}{search_id}", now.isoformat())
    conn.execute(
        saved_searches.update().where(saved_searches.c.id == search_id).values(next_run_at=now)
    )


def run_requests(conn: sa.Connection) -> dict[int, datetime]:
    """The searches asked to run now, with when they were asked."""
    rows = conn.execute(
        sa.select(schema.kv.c.key, schema.kv.c.value).where(
            schema.kv.c.key.startswith(RUN_REQUEST_PREFIX, autoescape=True)
        )
    )
    requests: dict[int, datetime] = {}
    for key, value in rows:
        search_id = key[len(RUN_REQUEST_PREFIX) :]
        if search_id.isdigit() and value:
            try:
                requests[int(search_id)] = datetime.fromisoformat(value)
            except ValueError:
                continue
    return requests


def clear_run_requests(conn: sa.Connection, served: Mapping[int, datetime]) -> None:
    """Drop the requests that were served; one asked for again meanwhile stays."""
    for search_id, asked_at in served.items():
        conn.execute(
            schema.kv.delete().where(
                schema.kv.c.key == f"{RUN_REQUEST_PREFIX}{search_id}",
                schema.kv.c.value == asked_at.isoformat(),
            )
        )
