"""The scheduler: runs what is due, within the daily eBay budget, never twice at once.

Every cycle (`run_due(now)`) it

1. asks its planner (jobs/schedule_planner.py) for intervals that fit the calls left until
   the 07:00 UTC reset, from what the database knows now, and for what is due: the
   firehose streams, the own-query polls, pending backfills;
2. runs that, at most `concurrency` jobs at a time, freshest work first: each stream poll
   serves every search that rides it (jobs/firehose.py), a search querying alone polls
   (jobs/poll.py), a new search's backfill pages back (jobs/backfill.py);
3. persists each next run as *ran at + interval*: a run that was due long ago runs once
   and the next is an interval after it (missed runs coalesce, never a burst), and a
   restart resumes the stored plan.

The same search (or stream) never runs twice at once: in-process by a set of running
keys, across processes by a lease (jobs/job_leases.py) that a running job renews. A
failing job is logged and the others go on; when the eBay budget is spent (our own
BudgetExhaustedError, or eBay's 429) API work pauses until the reset. With
`skip_initial`, whatever is due at start is moved one interval out instead.
`next_wakeup` says when the daemon should call again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from vinyl_detective.domain.budget_planner import FIREHOSE_MIN_MINUTES
from vinyl_detective.domain.ebay_sites import RECORD_CATEGORIES
from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.domain.polling import PAGE_SIZE, next_run_after
from vinyl_detective.domain.schedule_types import (
    DEFAULT_MAX_MINUTES,
    DEFAULT_MIN_MINUTES,
    DEFAULT_RESERVE,
    SchedulePlan,
)
from vinyl_detective.errors import BudgetExhaustedError, RateLimitedError, VinylDetectiveError
from vinyl_detective.jobs.backfill import (
    DEFAULT_ALERT_WITHIN,
    DEFAULT_LIMITS,
    BackfillProgress,
    backfill_search,
)
from vinyl_detective.jobs.firehose import poll_stream, routes_for_category
from vinyl_detective.jobs.job_leases import JobLeases, Lease
from vinyl_detective.jobs.paging import PagingLimits
from vinyl_detective.jobs.pipeline import DealPipeline, PipelineCounts, Route
from vinyl_detective.jobs.poll import poll_search
from vinyl_detective.jobs.preparation import Prepare, SearchPreparation
from vinyl_detective.jobs.schedule_planner import BudgetView, SchedulePlanner
from vinyl_detective.sources.ebay import ListingSource
from vinyl_detective.storage import checkpoints, search_schedules, searches, stream_state
from vinyl_detective.storage.usage import next_reset

log = logging.getLogger(__name__)


RouteCompiler = Callable[[list[SavedSearch]], list[Route]]


@dataclass(slots=True)
class CycleReport:
    """What one `run_due` did, for the operator's log line and the tests."""

    firehose_polls: int = 0
    query_polls: int = 0
    backfills: int = 0
    failed: int = 0
    busy: int = 0  # due, but already running (here or in another process)
    paused_until: datetime | None = None
    plan: SchedulePlan | None = None
    counts: PipelineCounts = field(default_factory=PipelineCounts)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"firehose={self.firehose_polls} polls={self.query_polls} "
            f"backfills={self.backfills} failed={self.failed} busy={self.busy} "
            f"{self.counts.summary()}"
        )


class Scheduler:
    """Runs the firehose, own-query polls and backfills its planner finds due; see the
    module docstring."""

    def __init__(
        self,
        *,
        engine: Engine,
        ebay: ListingSource,
        pipeline: DealPipeline,
        compile_routes: RouteCompiler,
        clock: Callable[[], datetime],
        budget: BudgetView,
        marketplace: str = "EBAY_US",
        categories: Sequence[str] = RECORD_CATEGORIES,
        concurrency: int = 3,
        skip_initial: bool = False,
        owner: str | None = None,
        lease_ttl: timedelta = timedelta(minutes=20),
        min_minutes: float = DEFAULT_MIN_MINUTES,
        max_minutes: float = DEFAULT_MAX_MINUTES,
        reserve: float = DEFAULT_RESERVE,
        firehose_min_minutes: float = FIREHOSE_MIN_MINUTES,
        firehose_max_minutes: float = 30.0,
        backfill_limits: PagingLimits = DEFAULT_LIMITS,
        backfill_alert_within: timedelta = DEFAULT_ALERT_WITHIN,
        backfills_per_cycle: int = 2,
        backfill_every: timedelta = timedelta(minutes=1),
        query_page_size: int = PAGE_SIZE,
        prepare: Prepare | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        lease_renew_seconds: float | None = None,
        backfill_progress: BackfillProgress | None = None,
    ) -> None:
        self.engine = engine
        self.ebay = ebay
        self.pipeline = pipeline
        self.compile_routes = compile_routes
        self.clock = clock
        self.concurrency = max(1, concurrency)
        self.skip_initial = skip_initial
        self.planner = SchedulePlanner(
            engine=engine,
            budget=budget,
            marketplace=marketplace,
            categories=categories,
            min_minutes=min_minutes,
            max_minutes=max_minutes,
            reserve=reserve,
            firehose_min_minutes=firehose_min_minutes,
            firehose_max_minutes=firehose_max_minutes,
            backfills_per_cycle=backfills_per_cycle,
        )
        self.leases = JobLeases(
            engine=engine,
            clock=clock,
            owner=owner,
            ttl=lease_ttl,
            renew_seconds=lease_renew_seconds,
        )
        self.backfill_progress = backfill_progress
        self.backfill_limits = backfill_limits
        self.backfill_alert_within = backfill_alert_within
        self.backfill_every = backfill_every
        self.query_page_size = query_page_size
        self.sleep = sleep
        self.paused_until: datetime | None = None
        self.last_plan: SchedulePlan | None = None
        self._started = False
        self._running: set[str] = set()
        # Searches prepared in this process (by id and query), and when to try again the
        # ones whose preparation failed.
        self.preparation = SearchPreparation(prepare) if prepare is not None else None

    # -- startup --------------------------------------------------------------------------

    def _startup(self, now: datetime) -> None:
        """With `skip_initial`, move everything due at start one interval out."""
        self._started = True
        if not self.skip_initial:
            return
        self.planner.move_due_at_start(now)

    # -- one cycle ------------------------------------------------------------------------

    async def run_due(self, now: datetime) -> CycleReport:
        """Run everything due at `now` once; see the module docstring."""
        report = CycleReport()
        if self.paused_until is not None and now < self.paused_until:
            report.paused_until = self.paused_until
            return report
        self.paused_until = None
        if not self._started:
            self._startup(now)

        state = self.planner.read_state()
        plan = self.planner.plan_from(now, state.active, state.schedules, state.streams)
        report.plan = self.last_plan = plan
        due = self.planner.due_work(plan, state, now)
        active, runs = state.active, state.runs
        by_id = {s.id: s for s in active}
        rider_ids = due.rider_ids

        # Searches get their catalog first, so the streams polled below can already
        # identify their listings.
        backfills_due = due.backfills_due
        if self.preparation is not None:
            await self.preparation.prepare_due(active, now)
            # A backfill judges days of listings at once: it waits for its catalog.
            ready = self.preparation.is_prepared
            backfills_due = [i for i in backfills_due if ready(by_id[i])]
        routes = self.compile_routes([*due.riders, *due.listeners]) if due.riders else []
        gate = asyncio.Semaphore(self.concurrency)
        jobs: list[Awaitable[None]] = []
        for key in due.streams_due:
            marketplace, category = key.rsplit(":", 1)
            market_routes = [
                r for r in routes if r.search is not None and r.search.marketplace == marketplace
            ]
            jobs.append(
                self._guarded(
                    gate,
                    f"stream:{key}",
                    report,
                    functools.partial(
                        self._run_stream,
                        key,
                        category,
                        routes_for_category(market_routes, category),
                        plan,
                        report,
                        rider_ids,
                    ),
                    lease=("stream", key),
                    unchanged=functools.partial(
                        self.leases.stream_untouched, key, due.streams[key].last_poll_at
                    ),
                )
            )
        search_jobs = sorted(due.polls_due | set(backfills_due))
        own_routes = {
            r.search.id: r
            for r in self.compile_routes([by_id[i] for i in search_jobs])
            if r.search is not None
        }
        for search_id in search_jobs:
            route = own_routes.get(search_id)
            if route is None:  # its rule is broken: compile_routes disabled it
                continue
            interval = plan.searches.get(search_id, float(by_id[search_id].poll_minutes))
            jobs.append(
                self._guarded(
                    gate,
                    f"search:{search_id}",
                    report,
                    functools.partial(
                        self._run_search,
                        route,
                        backfill=search_id in backfills_due,
                        poll=search_id in due.polls_due,
                        interval=interval,
                        report=report,
                    ),
                    lease=("search", search_id),
                    unchanged=functools.partial(
                        self.leases.search_untouched,
                        search_id,
                        runs[search_id].last_run_at if search_id in runs else None,
                        backfill=search_id in backfills_due,
                    ),
                )
            )
        await asyncio.gather(*jobs)
        if self.paused_until is not None:
            report.paused_until = self.paused_until
        elif state.requests:  # served now: streams looked, own queries ran (or another worker did)
            with self.engine.begin() as conn:
                search_schedules.clear_run_requests(conn, state.requests)
        # Routine: the daemon logs one summary line a minute (activity.py) instead.
        log.debug("scheduler cycle %s", report.summary())
        return report

    async def _guarded(
        self,
        gate: asyncio.Semaphore,
        key: str,
        report: CycleReport,
        job: Callable[[], Awaitable[None]],
        *,
        lease: Lease,
        unchanged: Callable[[], bool],
    ) -> None:
        """Run `job` under the concurrency gate and the lease; log its failure, go on.

        After the lease is taken, `unchanged` checks that nobody ran the job since this
        cycle looked (another worker may have run it and released its lease meanwhile).
        """
        async with gate:
            if self.paused_until is not None:
                return
            if key in self._running or not self.leases.take(lease):
                report.busy += 1
                return
            self._running.add(key)
            lost = asyncio.Event()
            try:
                if not unchanged():
                    report.busy += 1
                    return
                work = asyncio.ensure_future(job())
                renewing = asyncio.create_task(self.leases.keep(lease, key, work, lost))
                try:
                    await work
                finally:
                    renewing.cancel()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not lost.is_set() or (task is not None and task.cancelling()):
                    raise  # the daemon is stopping: not a failure of this job
                report.failed += 1
                report.errors.append(f"{key}: its lease was taken by another worker")
                log.error("%s stopped: its lease was taken by another worker", key)
            except BudgetExhaustedError as exc:
                self.paused_until = exc.resets_at
                report.failed += 1
                report.errors.append(f"{key}: {exc}")
                log.warning("eBay budget spent: API work paused until %s", exc.resets_at)
            except RateLimitedError as exc:
                now = self.clock()
                self.paused_until = (
                    now + timedelta(seconds=exc.retry_after) if exc.retry_after else next_reset(now)
                )
                report.failed += 1
                report.errors.append(f"{key}: {exc}")
                log.warning("eBay says slow down: API work paused until %s", self.paused_until)
            except Exception as exc:  # one failing job never stops the others
                report.failed += 1
                report.errors.append(f"{key}: {exc}")
                log.error(
                    "%s failed: %s", key, exc, exc_info=not isinstance(exc, VinylDetectiveError)
                )
            finally:
                self._running.discard(key)
                self.leases.drop(lease)

    async def _run_stream(
        self,
        key: str,
        category: str,
        routes: list[Route],
        plan: SchedulePlan,
        report: CycleReport,
        rider_ids: set[int],
    ) -> None:
        """Poll one stream for its riders and listeners; the riders' next runs follow it
        (a listener keeps its own query's schedule)."""
        ran_at = self.clock()
        try:
            result = await poll_stream(
                engine=self.engine,
                ebay=self.ebay,
                pipeline=self.pipeline,
                routes=routes,
                marketplace=key.rsplit(":", 1)[0],
                category_id=category,
                clock=self.clock,
            )
            report.firehose_polls += 1
            report.counts.add(result.counts)
        finally:
            stream_plan = plan.streams.get(key)
            interval = (
                stream_plan.interval_min if stream_plan else self.planner.firehose_max_minutes
            )
            next_at = next_run_after(ran_at, interval)
            with self.engine.begin() as conn:
                stream_state.plan_stream(conn, key, interval_minutes=interval, next_run_at=next_at)
                # The searches riding the firehose are looked at when their streams are:
                # next when one of them is next planned (never at or before this run, which
                # would read as a run asked for by hand).
                planned = {
                    k: s.next_run_at
                    for k, s in stream_state.all_streams(conn).items()
                    if k in plan.streams and s.next_run_at is not None
                }
                by_upcoming: dict[datetime, list[int]] = {}
                for route in routes:
                    if route.search is not None and route.search.id in rider_ids:
                        upcoming = min(
                            (
                                at
                                for k in self.planner.keys_of(route.search)
                                if (at := planned.get(k)) is not None and at > ran_at
                            ),
                            default=next_at,
                        )
                        by_upcoming.setdefault(upcoming, []).append(route.search.id)
                for upcoming, ids in by_upcoming.items():
                    searches.mark_runs(conn, ids, ran_at=ran_at, next_run_at=upcoming)

    async def _run_search(
        self,
        route: Route,
        *,
        backfill: bool,
        poll: bool,
        interval: float,
        report: CycleReport,
    ) -> None:
        search = route.search
        assert search is not None
        if backfill:
            result = await backfill_search(
                engine=self.engine,
                ebay=self.ebay,
                pipeline=self.pipeline,
                route=route,
                clock=self.clock,
                limits=self.backfill_limits,
                alert_within=self.backfill_alert_within,
                sleep=self.sleep,
                progress=self.backfill_progress,
            )
            if not result.skipped:
                report.backfills += 1
                report.counts.add(result.counts)
        if not poll:
            return
        ran_at = self.clock()
        deals = 0
        try:
            polled = await poll_search(
                engine=self.engine,
                ebay=self.ebay,
                pipeline=self.pipeline,
                route=route,
                clock=self.clock,
                page_size=self.query_page_size,
            )
            deals = polled.counts.deals
            report.query_polls += 1
            report.counts.add(polled.counts)
        finally:
            with self.engine.begin() as conn:
                search_schedules.record_search_run(conn, search.id, deals=deals, now=ran_at)
                searches.mark_run(
                    conn,
                    search.id,
                    ran_at=ran_at,
                    next_run_at=next_run_after(ran_at, interval),
                )

    # -- sleeping -------------------------------------------------------------------------

    def next_wakeup(self, now: datetime) -> datetime:
        """When something is next due (never before `now`); the daemon sleeps until then.

        The quota reset is always a candidate: a plan made with the day's budget spent (or
        without the firehose) is stale once the reset gives the budget back.
        """
        if self.paused_until is not None and now < self.paused_until:
            return self.paused_until
        with self.engine.connect() as conn:
            earliest, unplanned = searches.earliest_next_run(conn)
            stream_states = stream_state.all_streams(conn)
            pending = checkpoints.pending_backfills(conn)
        if earliest is None and not unplanned:  # no active search: nothing to poll
            return now + timedelta(minutes=self.planner.firehose_max_minutes)
        candidates = [next_reset(now), earliest or now]
        if unplanned:
            candidates.append(now)
        read = set(self.last_plan.streams) if self.last_plan else set(self.planner.stream_keys())
        candidates.extend(s.next_run_at or now for k, s in stream_states.items() if k in read)
        if pending:
            candidates.append(now + self.backfill_every)
        return max(now, min(candidates))
