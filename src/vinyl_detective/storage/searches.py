"""Saved searches: the users' standing eBay queries."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.storage.schema import saved_searches


@dataclass(frozen=True, slots=True)
class SearchSchedule:
    """When a search last ran and is next due, and why it is disabled (if it is)."""

    search_id: int
    last_run_at: datetime | None
    next_run_at: datetime | None
    disabled_reason: str | None


def _to_search(row: sa.Row[tuple[object, ...]]) -> SavedSearch:
    m = row._mapping
    channels = tuple(json.loads(m["channels"])) if m["channels"] else ()
    return SavedSearch(
        id=m["id"],
        query=m["query"],
        chat_id=m["chat_id"],
        name=m["name"],
        min_deal_score=m["min_deal_score"],
        poll_minutes=m["poll_minutes"],
        active=bool(m["active"]) and not m["disabled_reason"],
        rule=m["rule"],
        category_id=m["category_id"],
        marketplace=m["marketplace"],
        channels=channels,
    )


def add_search(
    conn: sa.Connection,
    *,
    query: str,
    now: datetime,
    chat_id: int | None = None,
    name: str | None = None,
    min_deal_score: float = 0.25,
    poll_minutes: int = 30,
    rule: str | None = None,
    channels: tuple[str, ...] = (),
    category_id: str | None = None,
    marketplace: str = "EBAY_US",
) -> SavedSearch:
    """Store a new search, due at once."""
    result = conn.execute(
        saved_searches.insert().values(
            query=query,
            chat_id=chat_id,
            name=name,
            min_deal_score=min_deal_score,
            poll_minutes=poll_minutes,
            rule=rule,
            channels=json.dumps(list(channels)) if channels else None,
            category_id=category_id,
            marketplace=marketplace,
            active=True,
            created_at=now,
            next_run_at=now,
        )
    )
    search = get_search(conn, int(result.inserted_primary_key[0]))  # type: ignore[index]
    assert search is not None
    return search


def get_search(conn: sa.Connection, search_id: int) -> SavedSearch | None:
    row = conn.execute(sa.select(saved_searches).where(saved_searches.c.id == search_id)).first()
    return _to_search(row) if row else None


def list_searches(
    conn: sa.Connection, *, chat_id: int | None = None, active_only: bool = False
) -> list[SavedSearch]:
    stmt = sa.select(saved_searches).order_by(saved_searches.c.id)
    if chat_id is not None:  # a chat's own searches and the shared ones
        stmt = stmt.where(
            sa.or_(saved_searches.c.chat_id == chat_id, saved_searches.c.chat_id.is_(None))
        )
    if active_only:
        stmt = stmt.where(
            saved_searches.c.active.is_(True), saved_searches.c.disabled_reason.is_(None)
        )
    return [_to_search(row) for row in conn.execute(stmt)]


def _owned(search_id: int, chat_id: int | None) -> sa.ColumnElement[bool]:
    """The search, if `chat_id` may change it: its own, or a shared one (added from the
    CLI, no owner: every allowed chat manages those)."""
    clause = saved_searches.c.id == search_id
    if chat_id is not None:
        mine = sa.or_(saved_searches.c.chat_id == chat_id, saved_searches.c.chat_id.is_(None))
        clause = sa.and_(clause, mine)
    return clause


def remove_search(conn: sa.Connection, search_id: int, *, chat_id: int | None = None) -> bool:
    """Delete a search; with `chat_id`, only if that chat owns it."""
    return conn.execute(saved_searches.delete().where(_owned(search_id, chat_id))).rowcount > 0


def update_search(
    conn: sa.Connection, search_id: int, *, chat_id: int | None = None, **values: object
) -> bool:
    """Change columns of a search (active, min_deal_score, rule, poll_minutes, ...)."""
    if "channels" in values and isinstance(values["channels"], tuple | list):
        values["channels"] = json.dumps(list(values["channels"])) if values["channels"] else None
    result = conn.execute(saved_searches.update().where(_owned(search_id, chat_id)).values(values))
    return result.rowcount > 0


def disable_search(conn: sa.Connection, search_id: int, reason: str) -> None:
    """Take a search out of service with a reason shown in `status` (e.g. a broken rule)."""
    conn.execute(
        saved_searches.update()
        .where(saved_searches.c.id == search_id)
        .values(disabled_reason=reason)
    )


def mark_run(
    conn: sa.Connection, search_id: int, *, ran_at: datetime, next_run_at: datetime
) -> None:
    conn.execute(
        saved_searches.update()
        .where(saved_searches.c.id == search_id)
        .values(last_run_at=ran_at, next_run_at=next_run_at)
    )


def mark_runs(
    conn: sa.Connection, search_ids: Iterable[int], *, ran_at: datetime, next_run_at: datetime
) -> None:
    """`mark_run` for many searches at once (the riders of one firehose poll)."""
    ids = sorted(set(search_ids))
    for start in range(0, len(ids), 500):  # well within every driver's parameter limit
        conn.execute(
            saved_searches.update()
            .where(saved_searches.c.id.in_(ids[start : start + 500]))
            .values(last_run_at=ran_at, next_run_at=next_run_at)
        )


def get_schedule(conn: sa.Connection, search_id: int) -> SearchSchedule | None:
    row = conn.execute(_schedule_columns().where(saved_searches.c.id == search_id)).first()
    return _to_schedule(row) if row else None


def pull_in_next_run(
    conn: sa.Connection, search_id: int, *, last_run_at: datetime, next_run_at: datetime
) -> None:
    """Move the next run earlier, unless the search ran since `last_run_at` was read (then
    its new next run stands: another worker planned it)."""
    conn.execute(
        saved_searches.update()
        .where(
            saved_searches.c.id == search_id,
            saved_searches.c.last_run_at == last_run_at,
            saved_searches.c.next_run_at > next_run_at,
        )
        .values(next_run_at=next_run_at)
    )


def earliest_next_run(conn: sa.Connection) -> tuple[datetime | None, bool]:
    """The soonest planned run of an active search, and whether any has none planned."""
    active = sa.and_(saved_searches.c.active.is_(True), saved_searches.c.disabled_reason.is_(None))
    row = conn.execute(
        sa.select(
            sa.func.min(saved_searches.c.next_run_at),
            sa.func.count(saved_searches.c.id) - sa.func.count(saved_searches.c.next_run_at),
        ).where(active)
    ).one()
    return row[0], bool(row[1])


def schedules(conn: sa.Connection) -> dict[int, SearchSchedule]:
    return {r.id: _to_schedule(r) for r in conn.execute(_schedule_columns())}


def _schedule_columns() -> sa.Select[Any]:
    return sa.select(
        saved_searches.c.id,
        saved_searches.c.last_run_at,
        saved_searches.c.next_run_at,
        saved_searches.c.disabled_reason,
    )


def _to_schedule(r: sa.Row[Any]) -> SearchSchedule:
    return SearchSchedule(r.id, r.last_run_at, r.next_run_at, r.disabled_reason)
