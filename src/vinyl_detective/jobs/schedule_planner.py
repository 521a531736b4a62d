"""The scheduler's planning: stored state → a plan → what is due this cycle.

`SchedulePlanner` reads what the database knows now — the active searches with their
bounds, priority and yield (search_schedules), the firehose streams and their observed
arrival rates (stream_state), the calls used today — turns it into loads for the budget
planner (domain/budget_planner.py), and stores the intervals it answers: a shorter
interval pulls the next run in, and only what changed is written.

From the plan it picks what is due (`DueWork`):

- the firehose streams, when the plan reads a marketplace's streams and a stream is due,
  or a search riding it asks for a look now (a new search, or a manual trigger:
  `search_schedules.request_run`), which makes the streams it rides look once;
- the own-query polls of searches that cannot ride the firehose (another marketplace, a
  category outside the record streams, or mode "query"), or of every search when the
  firehose does not fit the budget; a search querying alone still hears the streams of
  its marketplace that are read anyway (a *listener*);
- pending backfills of new searches (a few per cycle, only while the budget's reserve is
  untouched).

With `skip_initial`, `move_due_at_start` moves whatever is due at start one interval out.
Running it all is jobs/scheduler.py's part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.budget_planner import plan_schedule
from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.domain.polling import initial_run_at, is_due, next_run_after
from vinyl_detective.domain.schedule_types import (
    Budget,
    SchedulePlan,
    SearchLoad,
    StreamLoad,
    rides_firehose,
)
from vinyl_detective.storage import checkpoints, search_schedules, searches, stream_state
from vinyl_detective.storage.search_schedules import SearchScheduleState
from vinyl_detective.storage.stream_state import StreamState
from vinyl_detective.storage.usage import next_reset


class BudgetView(Protocol):
    """The daily call budget as the planner needs it (storage.usage.DbCallBudget)."""

    @property
    def limit(self) -> int: ...

    def used_today(self) -> int: ...


@dataclass(frozen=True, slots=True)
class StoredState:
    """What one cycle plans from, read in one transaction."""

    active: list[SavedSearch]
    schedules: dict[int, SearchScheduleState]
    streams: dict[str, StreamState]
    runs: dict[int, searches.SearchSchedule]
    pending: set[int]  # searches with a pending backfill
    requests: dict[int, datetime]  # searches asked to run now


@dataclass(frozen=True, slots=True)
class DueWork:
    """What one cycle runs, from the stored state and the plan made of it.

    `streams` is the streams' state as read once the plan was stored (the state the
    cycle looked at: a job runs only if nobody ran it since).
    """

    riders: list[SavedSearch]  # riding a firehose the plan reads
    listeners: list[SavedSearch]  # querying alone, but hearing the streams read anyway
    streams: dict[str, StreamState]
    streams_due: list[str]
    polls_due: set[int]
    backfills_due: list[int]

    @property
    def rider_ids(self) -> set[int]:
        return {s.id for s in self.riders}


class SchedulePlanner:
    """Plans from the database and stores the plan; see the module docstring."""

    def __init__(
        self,
        *,
        engine: Engine,
        budget: BudgetView,
        marketplace: str,
        categories: Sequence[str],
        min_minutes: float,
        max_minutes: float,
        reserve: float,
        firehose_min_minutes: float,
        firehose_max_minutes: float,
        backfills_per_cycle: int,
    ) -> None:
        self.engine = engine
        self.budget = budget
        self.marketplace = marketplace
        self.categories = tuple(categories)
        self.min_minutes = min_minutes
        self.max_minutes = max_minutes
        self.reserve = reserve
        self.firehose_min_minutes = firehose_min_minutes
        self.firehose_max_minutes = firehose_max_minutes
        self.backfills_per_cycle = backfills_per_cycle
        self._known_marketplaces: list[str] = [marketplace]

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

    def stream_keys(self, marketplaces: Sequence[str] | None = None) -> dict[str, str]:
        """Stream key → category, for the streams of `marketplaces` (default: all known)."""
        chosen = self._known_marketplaces if marketplaces is None else marketplaces
        return {stream_state.stream_key(m, c): c for m in chosen for c in self.categories}

    def _ensure_streams(self, conn: sa.Connection, marketplaces: Sequence[str]) -> None:
        for marketplace in marketplaces:
            for category in self.categories:
                stream_state.ensure_stream(conn, marketplace, category)
        self._known_marketplaces = list(dict.fromkeys([*self._known_marketplaces, *marketplaces]))

    def _categories_of(self, search: SavedSearch) -> tuple[str, ...]:
        """The categories a rider hears: its own, or every record category."""
        if search.category_id and search.category_id in self.categories:
            return (search.category_id,)
        return self.categories

    def keys_of(self, search: SavedSearch) -> list[str]:
        """The streams a rider hears: its marketplace's, in its categories."""
        return [stream_state.stream_key(search.marketplace, c) for c in self._categories_of(search)]

    # -- the plan -------------------------------------------------------------------------

    def plan(self, now: datetime) -> SchedulePlan:
        """The plan for `now`, from the database (searches, streams, today's calls)."""
        with self.engine.begin() as conn:
            active = searches.list_searches(conn, active_only=True)
            schedules = search_schedules.all_schedules(conn)
            self._ensure_streams(conn, self._marketplaces(active))
            streams = stream_state.all_streams(conn)
        return self.plan_from(now, active, schedules, streams)

    def read_state(self) -> StoredState:
        """Everything a cycle plans from (the streams of every marketplace ensured)."""
        with self.engine.begin() as conn:
            active = searches.list_searches(conn, active_only=True)
            schedules = search_schedules.all_schedules(conn)
            self._ensure_streams(conn, self._marketplaces(active))
            streams = stream_state.all_streams(conn)
            runs = searches.schedules(conn)
            pending = set(checkpoints.pending_backfills(conn))
            requests = search_schedules.run_requests(conn)
        return StoredState(active, schedules, streams, runs, pending, requests)

    def plan_from(
        self,
        now: datetime,
        active: list[SavedSearch],
        schedules: dict[int, SearchScheduleState],
        streams: dict[str, StreamState],
    ) -> SchedulePlan:
        """The plan for `now` from state already read (`read_state`)."""
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
            for key, category in self.stream_keys(self._marketplaces(active)).items()
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

    # -- what is due ----------------------------------------------------------------------

    def due_work(self, plan: SchedulePlan, state: StoredState, now: datetime) -> DueWork:
        """Store `plan`, then pick what is due at `now`; see the module docstring."""
        active, schedules, runs = state.active, state.schedules, state.runs
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
        self._persist_plan(plan, state.streams, schedules, runs, now)

        streams = state.streams
        streams_due: list[str] = []
        if riders:
            # The streams that riders asking for a look now ride: a manual request, a new
            # search, or the older way of asking (its next run set to its last run).
            asked = {
                key
                for s in riders
                if self._asks_for_a_look(s.id, runs, state.requests, now)
                for key in self.keys_of(s)
            }
            with self.engine.connect() as conn:
                streams = stream_state.all_streams(conn)
            streams_due = [
                key for key in plan.streams if key in asked or is_due(streams[key].next_run_at, now)
            ]
        polls_due = {
            s.id for s in querying if is_due(runs[s.id].next_run_at if s.id in runs else None, now)
        }
        backfills_due = [sid for sid in sorted(state.pending) if sid in by_id]
        if plan.spendable <= 0:
            backfills_due = []
        backfills_due = backfills_due[: self.backfills_per_cycle]
        return DueWork(riders, listeners, streams, streams_due, polls_due, backfills_due)

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

    # -- startup --------------------------------------------------------------------------

    def move_due_at_start(self, now: datetime) -> None:
        """Move every search and stream due at start (or never planned) one interval out."""
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
            for key in self.stream_keys():
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
