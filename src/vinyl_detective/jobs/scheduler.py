"""The scheduler: what runs when, within the daily eBay budget, never twice at once.

Every cycle (`run_due(now)`) it

1. asks the planner (domain/schedule.py) for intervals that fit the calls left until the
   07:00 UTC reset, from what it knows now: the searches with their bounds, priority and
   yield, the firehose streams and their observed arrival rates, the calls used today;
2. runs what is due, at most `concurrency` jobs at a time, freshest work first:
   - the firehose streams (one per record category), when the plan uses the firehose
     and a stream is due, or a search riding it asks for a look now (a new search, or a
     manual trigger: `search_schedules.request_run`), which makes the streams it rides look
     once; each poll serves every search that rides it;
   - the own-query polls of searches that cannot ride the firehose (another marketplace,
     a category outside the record streams, or mode "query"), or of every search when
     the firehose does not fit the budget;
   - pending backfills of new searches (a few per cycle, a few pages each, only while
     the budget's reserve is untouched);
3. persists each next run as *ran at + interval*: a run that was due long ago runs once
   and the next is an interval after it (missed runs coalesce, never a burst), and a
   restart resumes the stored plan.

The same search (or stream) never runs twice at once: in-process by a set of running
keys, across processes by a lease row with an expiry (storage/leases.py) that a
crashed holder cannot keep and a running job renews (every third of its time). A
failing job is logged and the others go on; when the eBay budget is spent (our own
BudgetExhaustedError, or eBay's 429) API work pauses until the reset. With
`skip_initial`, whatever is due at start is moved one interval out instead.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.domain.schedule import (
    DEFAULT_MAX_MINUTES,
    DEFAULT_MIN_MINUTES,
    DEFAULT_RESERVE,
    FIREHOSE_MIN_MINUTES,
    PAGE_SIZE,
    Budget,
    SchedulePlan,
    SearchLoad,
    StreamLoad,
    initial_run_at,
    is_due,
    next_run_after,
    plan_schedule,
    rides_firehose,
)
from vinyl_detective.errors import BudgetExhaustedError, RateLimitedError, VinylDetectiveError
from vinyl_detective.jobs.backfill import (
    DEFAULT_ALERT_WITHIN,
    DEFAULT_LIMITS,
    BackfillProgress,
    backfill_search,
)
from vinyl_detective.jobs.firehose import poll_stream, routes_for_category
from vinyl_detective.jobs.paging import PagingLimits
from vinyl_detective.jobs.pipeline import DealPipeline, PipelineCounts, Route
from vinyl_detective.jobs.poll import poll_search
from vinyl_detective.sources.ebay import RECORD_CATEGORIES, ListingSource
from vinyl_detective.storage import (
    checkpoints,
    job_runs,
    leases,
    search_schedules,
    searches,
    stream_state,
)
from vinyl_detective.storage.search_schedules import SearchScheduleState
from vinyl_detective.storage.stream_state import StreamState
from vinyl_detective.storage.usage import next_reset

log = logging.getLogger(__name__)


class BudgetView(Protocol):
    """The daily call budget as the planner needs it (storage.usage.DbCallBudget)."""

    @property
    def limit(self) -> int: ...

    def used_today(self) -> int: ...


RouteCompiler = Callable[[list[SavedSearch]], list[Route]]
Prepare = Callable[[SavedSearch], Awaitable[object]]


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


def default_owner() -> str:
    """This process's name on leases: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    """Plans and runs the firehose, own-query polls and backfills; see the module doc."""

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
        self.budget = budget
        self.marketplace = marketplace
        self.categories = tuple(categories)
        self.concurrency = max(1, concurrency)
        self.skip_initial = skip_initial
        self.owner = owner or default_owner()
        self.lease_ttl = lease_ttl
        self.backfill_progress = backfill_progress
        # A running job renews its lease this often (real seconds), so a long backfill
        # never loses it to another worker: a third of the lease by default.
        self.lease_renew_seconds = (
            lease_renew_seconds
            if lease_renew_seconds is not None
            else lease_ttl.total_seconds() / 3
        )
        self.min_minutes = min_minutes
        self.max_minutes = max_minutes
        self.reserve = reserve
        self.firehose_min_minutes = firehose_min_minutes
        self.firehose_max_minutes = firehose_max_minutes
        self.backfill_limits = backfill_limits
        self.backfill_alert_within = backfill_alert_within
        self.backfills_per_cycle = backfills_per_cycle
        self.backfill_every = backfill_every
        self.query_page_size = query_page_size
        self.prepare = prepare
        self.sleep = sleep
        self.paused_until: datetime | None = None
        self.last_plan: SchedulePlan | None = None
        self._known_marketplaces: list[str] = [marketplace]
        self._started = False
        self._running: set[str] = set()

    # -- what is what ---------------------------------------------------------------------

    def rides_firehose(self, search: SavedSearch, schedule: SearchScheduleState | None) -> bool:
        """A search may ride its marketplace's firehose unless it asked not to or is
        limited to a category outside the streams (the plan decides whether it does)."""
        mode = schedule.mode if schedule is not None else None
        return rides_firehose(search, mode, search.marketplace, self.categories)

    def _load(self, search: SavedSearch, schedule: SearchScheduleState | None) -> SearchLoad:
        low = schedule.min_minutes if schedule and schedule.min_minutes else self.min_minutes
        high = schedule.max_minutes if schedule and schedule.max_minutes else self.max_minutes
        high = max(high, low)
        return SearchLoad(
            search_id=search.id,
            base_minutes=min(max(float(search.poll_minutes), low), high),
            min_minutes=low,
            max_minutes=high,
            priority=schedule.priority if schedule else 0,
            recent_runs=schedule.recent_runs if schedule else 0,
            recent_deals=schedule.recent_deals if schedule else 0,
            runs_since_deal=schedule.runs_since_deal if schedule else 0,
            arrivals_per_min=schedule.arrivals_per_min if schedule else None,
            marketplace=search.marketplace,
            categories=self._categories_of(search),
        )

    def _marketplaces(self, active: Sequence[SavedSearch]) -> list[str]:
        """The home marketplace, then every other one a search may ride the firehose of."""
        found = dict.fromkeys([self.marketplace, *(s.marketplace for s in active)])
        return list(found)

    def _stream_keys(self, marketplaces: Sequence[str] | None = None) -> dict[str, str]:
        """Stream key → category, for the streams of `marketplaces` (default: all known)."""
        chosen = self._known_marketplaces if marketplaces is None else marketplaces
        return {stream_state.stream_key(m, c): c for m in chosen for c in self.categories}

    def _ensure_streams(self, conn: sa.Connection, marketplaces: Sequence[str]) -> None:
        for marketplace in marketplaces:
            for category in self.categories:
                stream_state.ensure_stream(conn, marketplace, category)
        self._known_marketplaces = list(dict.fromkeys([*self._known_marketplaces, *marketplaces]))

    def plan(self, now: datetime) -> SchedulePlan:
        """The plan for `now`, from the database (searches, streams, today's calls)."""
        with self.engine.begin() as conn:
            active = searches.list_searches(conn, active_only=True)
            schedules = search_schedules.all_schedules(conn)
            self._ensure_streams(conn, self._marketplaces(active))
            streams = stream_state.all_streams(conn)
        return self._plan(now, active, schedules, streams)

    def _plan(
        self,
        now: datetime,
        active: list[SavedSearch],
        schedules: dict[int, SearchScheduleState],
        streams: dict[str, StreamState],
    ) -> SchedulePlan:
        riders = [s for s in active if self.rides_firehose(s, schedules.get(s.id))]
        own = [s for s in active if not self.rides_firehose(s, schedules.get(s.id))]
        budget = Budget(
            limit=self.budget.limit,
            used=self.budget.used_today(),
            now=now,
            resets_at=next_reset(now),
            reserve=self.reserve,
        )
        stream_loads = [
            StreamLoad(
                key,
                streams[key].arrivals_per_min if key in streams else None,
                streams[key].wanted_per_min if key in streams else None,
                marketplace=key.rsplit(":", 1)[0],
                category=category,
            )
            for key, category in self._stream_keys(self._marketplaces(active)).items()
        ]
        return plan_schedule(
            [self._load(s, schedules.get(s.id)) for s in own],
            budget,
            streams=stream_loads,
            firehose_searches=[self._load(s, schedules.get(s.id)) for s in riders],
            firehose_min_minutes=self.firehose_min_minutes,
            firehose_max_minutes=self.firehose_max_minutes,
            home=self.marketplace,
        )

    # -- startup --------------------------------------------------------------------------

    def _startup(self, now: datetime) -> None:
        """With `skip_initial`, move everything due at start one interval out."""
        self._started = True
        if not self.skip_initial:
            return
        with self.engine.begin() as conn:
            for search in searches.list_searches(conn, active_only=True):
                stored = searches.schedules(conn).get(search.id)
                moved = initial_run_at(
                    stored.next_run_at if stored else None,
                    now,
                    search.poll_minutes,
                    skip_initial=True,
                )
                searches.mark_run(
                    conn,
                    search.id,
                    ran_at=stored.last_run_at if stored and stored.last_run_at else now,
                    next_run_at=moved,
                )
            self._ensure_streams(
                conn, self._marketplaces(searches.list_searches(conn, active_only=True))
            )
            for key in self._stream_keys():
                state = stream_state.get_stream(conn, key)
                interval = (state.interval_minutes if state else None) or (
                    self.firehose_max_minutes
                )
                stream_state.plan_stream(
                    conn,
                    key,
                    interval_minutes=interval,
                    next_run_at=initial_run_at(
                        state.next_run_at if state else None, now, interval, skip_initial=True
                    ),
                )

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

        with self.engine.begin() as conn:
            active = searches.list_searches(conn, active_only=True)
            schedules = search_schedules.all_schedules(conn)
            self._ensure_streams(conn, self._marketplaces(active))
            streams = stream_state.all_streams(conn)
            runs = searches.schedules(conn)
            pending = set(checkpoints.pending_backfills(conn))
            requests = search_schedules.run_requests(conn)
        plan = self._plan(now, active, schedules, streams)
        report.plan = self.last_plan = plan

        by_id = {s.id: s for s in active}
        riders = [
            s
            for s in active
            if s.marketplace in plan.firehose_marketplaces
            and self.rides_firehose(s, schedules.get(s.id))
        ]
        rider_ids = {s.id for s in riders}
        querying = [s for s in active if s.id not in rider_ids]
        # A search that asked to query alone still hears the streams its marketplace reads
        # (free: they are read anyway), so its listings there alert as fast as a rider's;
        # its own query goes on as planned, for what the streams cannot show it.
        listeners = [
            s
            for s in querying
            if s.marketplace in plan.firehose_marketplaces
            and rides_firehose(s, None, s.marketplace, self.categories)
        ]
        self._persist_plan(plan, streams, schedules, runs, now)

        # What is due.
        streams_due: list[str] = []
        if riders:
            # The streams that riders asking for a look now ride: a manual request, a new
            # search, or the older way of asking (its next run set to its last run).
            asked = {
                key
                for s in riders
                if self._asks_for_a_look(s.id, runs, requests, now)
                for key in self._keys_of(s)
            }
            with self.engine.connect() as conn:
                streams = stream_state.all_streams(conn)
            streams_due = [
                key for key in plan.streams if key in asked or is_due(streams[key].next_run_at, now)
            ]
        polls_due = {
            s.id for s in querying if is_due(runs[s.id].next_run_at if s.id in runs else None, now)
        }
        backfills_due = [sid for sid in sorted(pending) if sid in by_id]
        if plan.spendable <= 0:
            backfills_due = []
        backfills_due = backfills_due[: self.backfills_per_cycle]

        # New searches get their catalog first, so the streams polled below can already
        # identify their listings (seeding is once per query; failures only log).
        if self.prepare is not None:
            for search in active:
                if search.id not in runs or runs[search.id].last_run_at is None:
                    try:
                        await self.prepare(search)
                    except Exception:
                        log.exception("preparing search %s failed", search.id)
        routes = self.compile_routes([*riders, *listeners]) if riders else []
        gate = asyncio.Semaphore(self.concurrency)
        jobs: list[Awaitable[None]] = []
        for key in streams_due:
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
                        self._stream_untouched, key, streams[key].last_poll_at
                    ),
                )
            )
        search_jobs = sorted(polls_due | set(backfills_due))
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
                        poll=search_id in polls_due,
                        interval=interval,
                        report=report,
                    ),
                    lease=("search", search_id),
                    unchanged=functools.partial(
                        self._search_untouched,
                        search_id,
                        runs[search_id].last_run_at if search_id in runs else None,
                        backfill=search_id in backfills_due,
                    ),
                )
            )
        await asyncio.gather(*jobs)
        if self.paused_until is not None:
            report.paused_until = self.paused_until
        elif requests:  # served now: streams looked, own queries ran (or another worker did)
            with self.engine.begin() as conn:
                search_schedules.clear_run_requests(conn, requests)
        # Routine: the daemon logs one summary line a minute (activity.py) instead.
        log.debug("scheduler cycle %s", report.summary())
        return report

    def _asks_for_a_look(
        self,
        search_id: int,
        runs: dict[int, searches.SearchSchedule],
        requests: dict[int, datetime],
        now: datetime,
    ) -> bool:
        """A rider wants its streams to look now: asked by hand, or it never ran.

        `next_run_at <= last_run_at` is how a trigger was marked before `request_run`; the
        scheduler itself always plans a rider's next run after its last one.
        """
        if search_id in requests:
            return True
        stored = runs.get(search_id)
        if stored is None or stored.last_run_at is None:
            return True
        return (
            stored.next_run_at is not None
            and stored.next_run_at <= stored.last_run_at
            and is_due(stored.next_run_at, now)
        )

    def _categories_of(self, search: SavedSearch) -> tuple[str, ...]:
        """The categories a rider hears: its own, or every record category."""
        if search.category_id and search.category_id in self.categories:
            return (search.category_id,)
        return self.categories

    def _keys_of(self, search: SavedSearch) -> list[str]:
        """The streams a rider hears: its marketplace's, in its categories."""
        return [stream_state.stream_key(search.marketplace, c) for c in self._categories_of(search)]

    def _persist_plan(
        self,
        plan: SchedulePlan,
        streams: dict[str, StreamState],
        schedules: dict[int, SearchScheduleState],
        runs: dict[int, searches.SearchSchedule],
        now: datetime,
    ) -> None:
        """Store the planned intervals; a shorter interval pulls the next run in.

        Only what changed is written: most cycles change nothing and write nothing.
        """
        with self.engine.begin() as conn:
            for key, stream_plan in plan.streams.items():
                state = streams.get(key)
                interval = stream_plan.interval_min
                planned = state.next_run_at if state else None
                if state is not None and state.last_poll_at is not None:
                    sooner = next_run_after(state.last_poll_at, interval)
                    planned = min(planned, sooner) if planned else sooner
                planned = planned or now
                if state is None or (state.interval_minutes, state.next_run_at) != (
                    interval,
                    planned,
                ):
                    stream_state.plan_stream(
                        conn, key, interval_minutes=interval, next_run_at=planned
                    )
            for search_id, interval in plan.searches.items():
                schedule = schedules.get(search_id)
                if schedule is None:
                    search_schedules.ensure_schedule(conn, search_id)
                if schedule is None or schedule.interval_minutes != interval:
                    search_schedules.set_search_interval(conn, search_id, interval)
                stored = runs.get(search_id)
                if stored and stored.last_run_at and stored.next_run_at:
                    sooner = next_run_after(stored.last_run_at, interval)
                    if sooner < stored.next_run_at:
                        searches.pull_in_next_run(
                            conn, search_id, last_run_at=stored.last_run_at, next_run_at=sooner
                        )

    async def _guarded(
        self,
        gate: asyncio.Semaphore,
        key: str,
        report: CycleReport,
        job: Callable[[], Awaitable[None]],
        *,
        lease: tuple[str, str | int],
        unchanged: Callable[[], bool],
    ) -> None:
        """Run `job` under the concurrency gate and the lease; log its failure, go on.

        After the lease is taken, `unchanged` checks that nobody ran the job since this
        cycle looked (another worker may have run it and released its lease meanwhile).
        """
        async with gate:
            if self.paused_until is not None:
                return
            if key in self._running or not self._take_lease(lease):
                report.busy += 1
                return
            self._running.add(key)
            lost = asyncio.Event()
            try:
                if not unchanged():
                    report.busy += 1
                    return
                work = asyncio.ensure_future(job())
                renewing = asyncio.create_task(self._keep_lease(lease, key, work, lost))
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
                self._drop_lease(lease)

    async def _keep_lease(
        self,
        lease: tuple[str, str | int],
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
            await asyncio.sleep(self.lease_renew_seconds)
            try:
                renewed = self._take_lease(lease)
            except Exception:  # a renewal that fails is retried; the job goes on
                log.exception("%s: renewing its lease failed", key)
                continue
            if not renewed:
                lost.set()
                work.cancel()
                return

    def _stream_untouched(self, key: str, last_poll_at: datetime | None) -> bool:
        with self.engine.connect() as conn:
            state = stream_state.get_stream(conn, key)
        return state is not None and state.last_poll_at == last_poll_at

    def _search_untouched(
        self, search_id: int, last_run_at: datetime | None, *, backfill: bool
    ) -> bool:
        with self.engine.connect() as conn:
            stored = searches.get_schedule(conn, search_id)
            pending = backfill and search_id in checkpoints.pending_backfills(conn)
        return pending or (stored is not None and stored.last_run_at == last_run_at)

    def _take_lease(self, lease: tuple[str, str | int]) -> bool:
        """Take the lease; also at once when its holder is a process of this host that
        died (a kill -9 or a crash would otherwise keep it for `lease_ttl`)."""
        kind, target = lease
        now = self.clock()

        def acquire(conn: sa.Connection, replacing: str | None = None) -> bool:
            if kind == "stream":
                return leases.acquire_stream_lease(
                    conn, str(target), self.owner, now, self.lease_ttl, replacing=replacing
                )
            return leases.acquire_search_lease(
                conn, int(target), self.owner, now, self.lease_ttl, replacing=replacing
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

    def _drop_lease(self, lease: tuple[str, str | int]) -> None:
        kind, target = lease
        with self.engine.begin() as conn:
            if kind == "stream":
                leases.release_stream_lease(conn, str(target), self.owner)
            else:
                leases.release_search_lease(conn, int(target), self.owner)

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
            interval = stream_plan.interval_min if stream_plan else self.firehose_max_minutes
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
                                for k in self._keys_of(route.search)
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
        if self.prepare is not None:
            await self.prepare(search)
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
            return now + timedelta(minutes=self.firehose_max_minutes)
        candidates = [next_reset(now), earliest or now]
        if unplanned:
            candidates.append(now)
        read = set(self.last_plan.streams) if self.last_plan else set(self._stream_keys())
        candidates.extend(s.next_run_at or now for k, s in stream_states.items() if k in read)
        if pending:
            candidates.append(now + self.backfill_every)
        return max(now, min(candidates))
