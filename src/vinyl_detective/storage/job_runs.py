"""Job-run records: every run of every job, with its counts, outcome and owner.

Each run records its owner, "host:pid" of the process that runs it (migration 0007). At
start a process fails only the runs that were really interrupted: those of a process on
this host that is no longer alive, and any run older than `STALE_AFTER` (a run of another
host, whose process cannot be checked from here, or one from before owners were kept). A
live daemon's, worker's or import's runs in another process are left alone.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from vinyl_detective.storage.schema import job_runs

# A run still `running` after this long is taken as interrupted, whoever owns it.
STALE_AFTER = timedelta(hours=12)

INTERRUPTED = "interrupted (the process stopped)"
# A run cancelled while it ran: a forced stop, or its lease was taken by another worker.
CANCELLED = "cancelled before it finished (a forced stop, or another worker took it over)"


def failure_text(exc: BaseException) -> str:
    """What a run that ended with `exc` records as its error."""
    if isinstance(exc, asyncio.CancelledError):
        return CANCELLED
    return str(exc) or type(exc).__name__


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
    owner: str | None = None


def current_owner() -> str:
    """This process as a job-run owner: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (signal 0 checks, sends nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, it is only somebody else's
        return True
    except OSError:
        return False
    return True


def owner_gone(
    owner: str | None, *, host: str | None = None, alive: Callable[[int], bool] = pid_alive
) -> bool:
    """Whether `owner` — "host:pid", or "host:pid:tag" as leases and alert claims name
    it — is a process of this host that no longer runs. Another host's process, this
    very process, or a name not in that shape cannot be judged from here: False."""
    if not owner:
        return False
    owner_host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if owner_host != (host if host is not None else socket.gethostname()):
        return False
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    return pid != os.getpid() and not alive(pid)


def start_job(
    conn: sa.Connection,
    job_type: str,
    target: str | None,
    now: datetime,
    *,
    owner: str | None = None,
) -> int:
    """Record a run as `running`, owned by this process unless `owner` says otherwise."""
    result = conn.execute(
        job_runs.insert().values(
            job_type=job_type,
            target=target,
            status="running",
            started_at=now,
            owner=owner or current_owner(),
        )
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


def _interrupted(
    owner: str | None,
    started_at: datetime,
    now: datetime,
    *,
    host: str,
    alive: Callable[[int], bool],
    stale_after: timedelta,
) -> bool:
    if started_at <= now - stale_after:
        return True
    # Without an owner (from before owners were kept) only the age limit applies.
    return owner_gone(owner, host=host, alive=alive)


def fail_interrupted_runs(
    conn: sa.Connection,
    now: datetime,
    *,
    stale_after: timedelta = STALE_AFTER,
    host: str | None = None,
    alive: Callable[[int], bool] = pid_alive,
) -> int:
    """Mark runs left `running` by a stopped process as failed; returns how many.

    Failed are the runs of a process on this host that no longer exists and every run
    started more than `stale_after` ago; runs of live processes are left alone.
    """
    host = host if host is not None else socket.gethostname()
    rows = conn.execute(
        sa.select(job_runs.c.id, job_runs.c.owner, job_runs.c.started_at).where(
            job_runs.c.status == "running"
        )
    ).all()
    dead = [
        row.id
        for row in rows
        if _interrupted(
            row.owner, row.started_at, now, host=host, alive=alive, stale_after=stale_after
        )
    ]
    failed = 0
    for start in range(0, len(dead), 500):
        result = conn.execute(
            job_runs.update()
            .where(job_runs.c.id.in_(dead[start : start + 500]), job_runs.c.status == "running")
            .values(status="error", finished_at=now, error=INTERRUPTED)
        )
        failed += int(result.rowcount)
    return failed


def recent_runs(conn: sa.Connection, limit: int = 50, job_type: str | None = None) -> list[JobRun]:
    stmt = sa.select(job_runs).order_by(job_runs.c.id.desc()).limit(limit)
    if job_type:
        stmt = stmt.where(job_runs.c.job_type == job_type)
    return [JobRun(**row._mapping) for row in conn.execute(stmt)]
