"""The scheduler's claims on its jobs: a lease per search or stream, across processes.

The same search (or stream) never runs twice at once across processes: a job runs under
a lease row with an expiry (storage/leases.py) that a crashed holder cannot keep, and
that a running job renews (every third of its time by default). A lease held by a dead
process of this host is taken over at once. After taking a lease, the scheduler checks
that nobody ran the job since its cycle looked (`stream_untouched`, `search_untouched`):
another worker may have run it and released its lease meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.storage import checkpoints, job_runs, leases, searches, stream_state

log = logging.getLogger(__name__)

# What a lease is on: ("stream", its key) or ("search", its id).
Lease = tuple[str, str | int]


def default_owner() -> str:
    """This process's name on leases: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobLeases:
    """Takes, renews and drops this process's leases; see the module docstring."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Callable[[], datetime],
        owner: str | None = None,
        ttl: timedelta = timedelta(minutes=20),
        renew_seconds: float | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.owner = owner or default_owner()
        self.ttl = ttl
        # A running job renews its lease this often (real seconds), so a long backfill
        # never loses it to another worker: a third of the lease by default.
        self.renew_seconds = renew_seconds if renew_seconds is not None else ttl.total_seconds() / 3

    def take(self, lease: Lease) -> bool:
        """Take the lease; also at once when its holder is a process of this host that
        died (a kill -9 or a crash would otherwise keep it for `ttl`)."""
        kind, target = lease
        now = self.clock()

        def acquire(conn: sa.Connection, replacing: str | None = None) -> bool:
            if kind == "stream":
                return leases.acquire_stream_lease(
                    conn, str(target), self.owner, now, self.ttl, replacing=replacing
                )
            return leases.acquire_search_lease(
                conn, int(target), self.owner, now, self.ttl, replacing=replacing
            )

        with self.engine.begin() as conn:
            if acquire(conn):
                return True
            holder = leases.lease_holder(conn, kind, target, now)
            if holder is None or holder == self.owner or not job_runs.owner_gone(holder):
                return False
            taken = acquire(conn, replacing=holder)
        if taken:
            log.info("%s %s: took over the lease of %s, which no longer runs", kind, target, holder)
        return taken

    def drop(self, lease: Lease) -> None:
        kind, target = lease
        with self.engine.begin() as conn:
            if kind == "stream":
                leases.release_stream_lease(conn, str(target), self.owner)
            else:
                leases.release_search_lease(conn, int(target), self.owner)

    async def keep(
        self,
        lease: Lease,
        key: str,
        work: asyncio.Future[None],
        lost: asyncio.Event,
    ) -> None:
        """Renew the lease of a running job until it ends (this task is then cancelled).

        A renewal can only fail if this worker could not renew for a whole lease (the
        database was unreachable) and another worker took the search meanwhile: then the
        job stops, so that the two never run it at once.
        """
        while True:
            await asyncio.sleep(self.renew_seconds)
            try:
                renewed = self.take(lease)
            except Exception:  # a renewal that fails is retried; the job goes on
                log.exception("%s: renewing its lease failed", key)
                continue
            if not renewed:
                lost.set()
                work.cancel()
                return

    def stream_untouched(self, key: str, last_poll_at: datetime | None) -> bool:
        with self.engine.connect() as conn:
            state = stream_state.get_stream(conn, key)
        return state is not None and state.last_poll_at == last_poll_at

    def search_untouched(
        self, search_id: int, last_run_at: datetime | None, *, backfill: bool
    ) -> bool:
        with self.engine.connect() as conn:
            stored = searches.get_schedule(conn, search_id)
            pending = backfill and search_id in checkpoints.pending_backfills(conn)
        return pending or (stored is not None and stored.last_run_at == last_run_at)
