"""How each saved search is scheduled, and manual "run it now" requests.

Table `search_schedules` (migrations 0003, 0008): per search whether it rides the
firehose or runs its own query, its min/max interval and priority, the planner's current
interval, its yield (runs, deals, decaying recent counts, runs since the last deal) and,
for a search that queries on its own, its high-water mark and arrival rate. The same row
carries the search's lease (storage/leases.py).

A manual "run this search now" (`request_run`) is a `kv` row `run_requested:search:<id>`
holding when it was asked for; the scheduler serves it once (a search riding the firehose
makes every stream look at once) and clears it (`clear_run_requests`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from vinyl_detective.domain.polling import SeenMark
from vinyl_detective.storage import kv, schema
from vinyl_detective.storage.db import insert_if_absent
from vinyl_detective.storage.schema import saved_searches, search_schedules

# How much of the recent yield survives each run: the counts cover about the last 20 runs.
RECENT_DECAY = 0.95


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


def _to_schedule(row: sa.Row[Any]) -> SearchScheduleState:
    return SearchScheduleState(**row._mapping)


def ensure_schedule(conn: sa.Connection, search_id: int, *, mode: str = "firehose") -> None:
    insert_if_absent(conn, search_schedules, {"search_id": search_id, "mode": mode}, ["search_id"])


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
