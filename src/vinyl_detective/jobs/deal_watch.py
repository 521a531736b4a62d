"""Watching the deals nobody has bought yet: is the listing cheaper now, or gone?

A listing reappears in a poll only while it is among the newest, so open deals (FOUND,
MESSAGING, NEGOTIATING) get an item lookup now and then: at most `max_lookups` per run,
each deal at most every `recheck_after`, and only while the day's eBay budget has room
(item lookups come out of the share the planner keeps free for them). What it finds:

- a lower price: the listing goes through the pipeline again, which re-scores it and
  alerts the drop (jobs/pipeline.py);
- the listing ended or sold out (a 404, OUT_OF_STOCK, an end time in the past): the deal
  is closed as CANCELLED with the reason, and the listing is not looked up again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.lifecycle import Actor, DealState
from vinyl_detective.errors import (
    BudgetExhaustedError,
    ExternalServiceError,
    InvalidTransitionError,
    NotFoundError,
    RateLimitedError,
)
from vinyl_detective.jobs.pipeline import DealPipeline, ItemSource, Route
from vinyl_detective.storage import deals, job_runs, listings
from vinyl_detective.storage.usage import DbCallBudget

log = logging.getLogger(__name__)

BEFORE_PURCHASE = frozenset({DealState.FOUND, DealState.MESSAGING, DealState.NEGOTIATING})
RECHECK_AFTER = timedelta(hours=6)
MAX_LOOKUPS = 10  # per run; the daemon runs it hourly: at most 240 calls a day
BUDGET_CEILING = 0.9  # no lookups once this share of the day's calls is spent


@dataclass(slots=True)
class DealWatch:
    """What one run did."""

    checked: int = 0
    dropped: int = 0
    closed: int = 0
    alerted: int = 0


async def watch_open_deals(
    *,
    engine: Engine,
    items: ItemSource,
    pipeline: DealPipeline,
    routes: Sequence[Route],
    clock: Callable[[], datetime],
    budget: DbCallBudget | None = None,
    max_lookups: int = MAX_LOOKUPS,
    recheck_after: timedelta = RECHECK_AFTER,
) -> DealWatch:
    result = DealWatch()
    now = clock()
    with engine.connect() as conn:
        open_ids = [d.item_id for d in deals.open_deals(conn, BEFORE_PURCHASE)]
        due = listings.due_for_check(
            conn, open_ids, checked_before=now - recheck_after, limit=max_lookups
        )
    if not due:
        return result
    with engine.begin() as conn:
        run_id = job_runs.start_job(conn, "deal_watch", None, now)
    error: str | None = None
    for stored in due:
        if budget is not None and budget.used_today() >= budget.limit * BUDGET_CEILING:
            break
        item_id = stored.listing.item_id
        ended: str | None = None
        try:
            seen = await items.get_item(item_id, stored.listing.marketplace)
        except NotFoundError:
            ended = "the listing ended on eBay (the item lookup no longer finds it)"
        except (BudgetExhaustedError, RateLimitedError) as exc:
            error = job_runs.failure_text(exc)
            break
        except ExternalServiceError as exc:
            log.warning("open deal %s not checked: %s", item_id, exc)
            continue
        else:
            if not seen.available:
                ended = "the listing sold out on eBay"
            elif seen.ends_at is not None and seen.ends_at <= clock():
                ended = "the listing's end time has passed"
        result.checked += 1
        with engine.begin() as conn:
            listings.mark_checked(conn, item_id, clock(), ended=ended is not None)
            if ended is not None and _close(conn, item_id, ended, clock()):
                result.closed += 1
                log.info("deal %s closed: %s", item_id, ended)
        if ended is None:
            counts = await pipeline.process([seen], routes, check_keywords=True)
            result.dropped += counts.drops
            result.alerted += counts.alerted
    with engine.begin() as conn:
        job_runs.finish_job(
            conn, run_id, clock(), fetched=result.checked, inserted=result.dropped, error=error
        )
    return result


def _close(conn: sa.Connection, item_id: str, reason: str, now: datetime) -> bool:
    try:
        deals.transition(conn, item_id, DealState.CANCELLED, now, Actor.PIPELINE, reason=reason)
    except InvalidTransitionError:  # moved on meanwhile (bought through the bot)
        return False
    return True
