"""Forgetting what is old: listings after 30 days, the alert log after 90."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from vinyl_detective.storage import alerts, digests, job_runs, listings, outbox
from vinyl_detective.storage.schema import job_runs as job_runs_table

log = logging.getLogger(__name__)

LISTING_RETENTION = timedelta(days=30)
ALERT_LOG_RETENTION = timedelta(days=90)
JOB_RUN_RETENTION = timedelta(days=30)  # a stream polled every minute writes 1,440 a day
EVENT_RETENTION = timedelta(days=7)  # delivered outbox events


def cleanup(engine: Engine, now: datetime) -> tuple[int, int]:
    """Delete old listings and alert-log rows; returns (listings, alerts) deleted.

    The alert log outlives the listings on purpose: a listing that reappears after its
    row was cleaned up is still never alerted twice.
    """
    with engine.begin() as conn:
        run_id = job_runs.start_job(conn, "cleanup", None, now)
        old_listings = listings.delete_seen_before(conn, now - LISTING_RETENTION)
        old_alerts = alerts.delete_created_before(conn, now - ALERT_LOG_RETENTION)
        digests.delete_sent_before(conn, now - ALERT_LOG_RETENTION)
        outbox.purge_published(conn, now - EVENT_RETENTION)
        conn.execute(
            job_runs_table.delete().where(
                job_runs_table.c.status != "running",
                job_runs_table.c.started_at < now - JOB_RUN_RETENTION,
            )
        )
        job_runs.finish_job(
            conn, run_id, now, fetched=old_listings + old_alerts, inserted=0, skipped=0
        )
    log.info("cleanup listings=%d alert_log=%d", old_listings, old_alerts)
    return old_listings, old_alerts
