"""Backfill checkpoints: how far a new search's paging back through older listings got.

Table `search_checkpoints` (migration 0003): per search its backfill status
idle/syncing/error/paused, when it started and completed, the oldest listing it reached,
the cursor to resume from and the requests spent. A completed backfill is never run
again; an interrupted one resumes from its cursor (jobs/backfill.py).

How a search is scheduled lives in `search_schedules`, the firehose streams' state in
`stream_state`, and the leases that keep a job from running twice in `leases`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from vinyl_detective.storage.db import insert_if_absent
from vinyl_detective.storage.schema import saved_searches, search_checkpoints


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
    insert_if_absent(
        conn,
        search_checkpoints,
        {"search_id": search_id, "status": BackfillStatus.IDLE.value, "updated_at": now},
        ["search_id"],
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
    insert_if_absent(
        conn,
        search_checkpoints,
        {"search_id": search_id, "status": BackfillStatus.IDLE.value, "updated_at": now},
        ["search_id"],
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
