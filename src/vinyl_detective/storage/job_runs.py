"""Job-run records: every run of every job, with its counts and outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from vinyl_detective.storage.schema import job_runs


@dataclass(frozen=True, slots=True)
class JobRun:
    id: int
    job_type: str
    target: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    fetched: int
    inserted: int
    skipped: int
    error: str | None


def start_job(conn: sa.Connection, job_type: str, target: str | None, now: datetime) -> int:
    """Record a run as `running` and return its id."""
    result = conn.execute(
        job_runs.insert().values(job_type=job_type, target=target, status="running", started_at=now)
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def finish_job(
    conn: sa.Connection,
    run_id: int,
    now: datetime,
    *,
    fetched: int = 0,
    inserted: int = 0,
    skipped: int = 0,
    error: str | None = None,
) -> None:
    """Close a run as `success`, or `error` with its message."""
    conn.execute(
        job_runs.update()
        .where(job_runs.c.id == run_id)
        .values(
            status="error" if error else "success",
            finished_at=now,
            fetched=fetched,
            inserted=inserted,
            skipped=skipped,
            error=error,
        )
    )


def fail_interrupted_runs(conn: sa.Connection, now: datetime) -> int:
    """Mark runs left `running` by a crash as failed; returns how many there were."""
    result = conn.execute(
        job_runs.update()
        .where(job_runs.c.status == "running")
        .values(status="error", finished_at=now, error="interrupted (the process stopped)")
    )
    return result.rowcount


def recent_runs(conn: sa.Connection, limit: int = 50, job_type: str | None = None) -> list[JobRun]:
    stmt = sa.select(job_runs).order_by(job_runs.c.id.desc()).limit(limit)
    if job_type:
        stmt = stmt.where(job_runs.c.job_type == job_type)
    return [JobRun(**row._mapping) for row in conn.execute(stmt)]
