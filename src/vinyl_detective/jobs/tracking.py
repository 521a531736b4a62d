"""The tracking job: cancel deals whose conversation went quiet.

MESSAGING for more than 7 days or NEGOTIATING for more than 14 (domain/lifecycle.py
STALE_AFTER) moves to CANCELLED with reason "timeout" and actor `timeout`, each with
its history row and `listing.state.cancelled` event. Every run is a job-run record.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from vinyl_detective.domain.lifecycle import (
    STALE_AFTER,
    TIMEOUT_REASON,
    Actor,
    DealState,
    stale_deals,
)
from vinyl_detective.storage import deals as deal_store
from vinyl_detective.storage.job_runs import finish_job, start_job

log = logging.getLogger(__name__)

JOB_TYPE = "expire_deals"


def expire_stale_deals(engine: Engine, now: datetime) -> int:
    """Cancel every stale MESSAGING/NEGOTIATING deal; returns how many were cancelled."""
    with engine.begin() as conn:
        run_id = start_job(conn, JOB_TYPE, None, now)
    try:
        with engine.begin() as conn:
            candidates = deal_store.open_deals(conn, frozenset(STALE_AFTER))
            expiries = stale_deals(candidates, now)
            for expiry in expiries:
                deal_store.transition(
                    conn,
                    expiry.item_id,
                    DealState.CANCELLED,
                    now,
                    Actor.TIMEOUT,
                    reason=TIMEOUT_REASON,
                )
    except Exception as exc:
        with engine.begin() as conn:
            finish_job(conn, run_id, now, error=f"{type(exc).__name__}: {exc}")
        raise
    with engine.begin() as conn:
        finish_job(
            conn,
            run_id,
            now,
            fetched=len(candidates),
            inserted=len(expiries),
            skipped=len(candidates) - len(expiries),
        )
    if expiries:
        log.info(
            "expire_deals checked=%d cancelled=%d (%s)",
            len(candidates),
            len(expiries),
            ", ".join(f"{e.item_id} {e.state} {e.idle.days}d" for e in expiries),
        )
    return len(expiries)
