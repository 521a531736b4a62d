"""The budget planner: how often to read each category stream and each saved search.

Pure arithmetic, time passed in. The scheduler (jobs/scheduler.py) asks for a new plan
every cycle with what it knows now; the plan answers with an interval per stream and per
search such that the calls projected until the quota reset fit in what is left.

The facts it works from (REFERENCE.md):

- eBay gives 5,000 Browse calls a day, shared by searches and item lookups, and the day
  resets at 07:00 UTC;
- one search call returns at most 200 listings, newest first with `sort=newlyListed`,
  and `offset + limit` can never pass 10,000 (so at most 50 pages per poll);
- `category_ids` alone is a valid search: one call reads the newest 200 listings of a
  whole category (the *firehose*), and every saved search can be matched against them
  locally (domain/query.py), so one call serves every search at once.

Costs, in calls per minute:

- a firehose stream with `r` new listings a minute, polled every `I` minutes, needs
  ``ceil(r·I / 200)`` pages a poll, i.e. about ``max(1/I, r/200)`` calls a minute. Below
  ``I = 200/r`` (the *one-page interval*) a poll is one call; above it the pages grow
  with `I`, so polling less often saves nothing. The floor cost of reading everything is
  ``r/200`` a minute: a category with 30,000 new listings a day needs 150 calls a day;
- a saved search polled on its own every `I` minutes costs ``max(1/I, r/200)`` for its
  own `r` new listings a minute (one page of the newest; more when more arrived). Just as
  for a stream, polling it less often than its one-page interval ``200/r`` saves nothing,
  so that is its longest interval (`SearchLoad.longest_interval`); a poll may read up to
  `OWN_QUERY_MAX_PAGES` pages, ten times what it normally needs, for bursts;
- over the `T` minutes left until the reset, a plan costs ``T · Σ cost``.

The plan, in order:

1. *Spendable* = ``limit·(1 − reserve) − used``: the reserve (15 % by default) is kept
   for item lookups (enrichment) and for the estimate being wrong.
2. *Firehose or not.* The firehose is used when its floor (every stream at its one-page
   interval, capped at `firehose_max_minutes`) plus the searches that must query on
   their own at their slowest fits, or, when nothing fits, if the firehose floor is
   still cheaper than its riders querying alone at their slowest. Otherwise every
   search queries on its own.
3. Searches that query on their own get their *desired* interval (`desired_interval`:
   base interval, faster for high priority and for searches that found deals lately,
   slower after many runs without a deal, always within the user's min/max). If that
   costs more than what is left after the firehose floor, all of them stretch by a
   common factor, each clamped to its bounds; if even their maxima do not fit, they
   stretch past their maxima (the budget wins over a user's bound).
4. The firehose streams get the rest. For a fixed number of calls, the average delay
   ``Σ r_i · I_i / 2`` (per listing) is smallest when ``I_i ∝ 1/√r_i``, so busier streams
   are read more often, each between `firehose_min_minutes` and its one-page interval.
5. Budget still left over (every stream at its fastest) speeds the searches up, down to
   their minimum intervals.

Missed runs coalesce: a run due in the past runs once, now, and the next one is an
interval after it (`next_run_after`), never one per missed slot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from vinyl_detective.domain.models import SavedSearch

PAGE_SIZE = 200
# offset + limit can never pass 10,000: 50 pages of 200 is all one poll can read.
MAX_PAGES_PER_POLL = 10_000 // PAGE_SIZE
# An own-query poll pages down to what the search saw last time, at most this many pages
# (the planner polls a search about once a page's worth of listings, see longest_interval).
OWN_QUERY_MAX_PAGES = 10
DEFAULT_RESERVE = 0.15
# A search's interval bounds unless its user set others (`search schedule`).
DEFAULT_MIN_MINUTES = 5.0
DEFAULT_MAX_MINUTES = 240.0
# The arrival rate assumed for a stream never observed yet (listings a minute).
UNKNOWN_ARRIVAL_RATE = 10.0


class SearchMode(StrEnum):
    """How a saved search gets its listings."""

    FIREHOSE = "firehose"  # matched locally against the category streams
    QUERY = "query"  # its own eBay query (other marketplace/category, or asked for)


@dataclass(frozen=True, slots=True)
class SeenMark:
    """The newest listing a stream or an own-query search has read: its high-water mark.

    A poll reads newest first and stops below it (less a small overlap for listings that
    reach eBay's index late); `item_id` decides for a listing that carries no time.
    """

    listed_at: datetime | None = None
    item_id: str | None = None


@dataclass(frozen=True, slots=True)
class SearchLoad:
    """What the planner knows about one saved search.

    `priority` runs from -2 (low) to +2 (high). `recent_runs`/`recent_deals` count the
    runs and deals in the recent window (e.g. the last 20 runs); `runs_since_deal` counts
    consecutive runs without a deal.
    """

    search_id: int
    base_minutes: float
    min_minutes: float
    max_minutes: float
    priority: int = 0
    recent_runs: float = 0
    recent_deals: float = 0
    runs_since_deal: int = 0
    arrivals_per_min: float | None = None  # its own query's new listings (None: unknown)

    @property
    def longest_interval(self) -> float:
        """Its max interval, or its one-page interval if that is shorter.

        With `r` new listings a minute a poll every `I` minutes reads ``r·I / 200`` pages,
        so beyond ``I = 200/r`` polling less often costs the same calls a day and only
        adds latency (and a burst could outrun the pages a poll may read). Never below
        one minute.
        """
        rate = self.arrivals_per_min or 0.0
        if rate <= 0:
            return self.max_minutes
        return max(1.0, min(self.max_minutes, PAGE_SIZE / rate))

    @property
    def shortest_interval(self) -> float:
        return min(self.min_minutes, self.longest_interval)

    def cost(self, interval: float) -> float:
        """Calls a minute when polled every `interval` minutes: one page, or as many as
        arrived (up to the `OWN_QUERY_MAX_PAGES` a poll may read)."""
        return _poll_cost(self.arrivals_per_min or 0.0, interval, OWN_QUERY_MAX_PAGES)


@dataclass(frozen=True, slots=True)
class StreamLoad:
    """One firehose stream (a marketplace's record category) and its observed arrivals."""

    stream: str
    arrivals_per_min: float | None = None

    @property
    def rate(self) -> float:
        known = self.arrivals_per_min
        return max(0.01, UNKNOWN_ARRIVAL_RATE if known is None else known)


@dataclass(frozen=True, slots=True)
class Budget:
    """The daily call budget as it stands at `now`."""

    limit: int
    used: int
    now: datetime
    resets_at: datetime
    reserve: float = DEFAULT_RESERVE

    @property
    def minutes_left(self) -> float:
        return max(1.0, (self.resets_at - self.now).total_seconds() / 60)

    @property
    def spendable(self) -> float:
        return max(0.0, self.limit * (1 - self.reserve) - self.used)


@dataclass(frozen=True, slots=True)
class FirehosePages:
    """How one poll of a stream must page.

    `pages` is how many pages of `page_size` a poll every `interval_min` needs so nothing
    is missed (at least one, at most the 10,000-result window allows);
    `one_page_interval_min` is the longest interval at which a single page suffices;
    `missed_per_poll` is what even the full window cannot reach (0 normally).
    """

    pages: int
    one_page_interval_min: float
    missed_per_poll: int


def plan_firehose_pages(
    arrival_rate_per_min: float, interval_min: float, page_size: int = PAGE_SIZE
) -> FirehosePages:
    """Pages a poll needs: ``ceil(rate · interval / page_size)``, between 1 and the window.

    Example: 30,000 listings a day is 20.8 a minute; polled every 10 minutes that is 208
    new listings, so 2 pages; one page suffices up to every 200/20.8 = 9.6 minutes.
    """
    rate = max(0.0, arrival_rate_per_min)
    arriving = rate * max(0.0, interval_min)
    max_pages = 10_000 // page_size
    needed = max(1, math.ceil(arriving / page_size - 1e-9))
    pages = min(max_pages, needed)
    one_page = page_size / rate if rate > 0 else math.inf
    return FirehosePages(pages, one_page, max(0, math.ceil(arriving) - pages * page_size))


def desired_interval(load: SearchLoad, *, backoff_after: int = 6) -> float:
    """The interval a search would get with budget to spare, within its bounds.

    Starts at its base interval; priority +1 is √2 faster and +2 twice as fast (-1/-2
    slower alike). A search that found deals lately (`recent_deals / recent_runs`, the
    yield, capped at 1) is up to 5× faster: ``base / (1 + 4·yield)``. One that found
    nothing for `backoff_after` runs doubles its interval, and again every
    `backoff_after` runs after that. The result is clamped to [min, max].
    """
    factor = 2 ** (-max(-2, min(2, load.priority)) / 2)
    if load.recent_deals > 0 and load.recent_runs > 0:
        yield_ = min(1.0, load.recent_deals / load.recent_runs)
        factor /= 1 + 4 * yield_
    elif load.runs_since_deal >= backoff_after:
        factor *= 2 ** (load.runs_since_deal // backoff_after)
    return _clamp(load.base_minutes * factor, load.shortest_interval, load.longest_interval)


@dataclass(frozen=True, slots=True)
class StreamPlan:
    stream: str
    interval_min: float
    pages: int  # pages a poll may read


@dataclass(frozen=True, slots=True)
class SchedulePlan:
    """Intervals (minutes) for the firehose streams and the searches that query alone.

    `projected_calls` is what these intervals cost until the reset; `fits` is False only
    when even the slowest plan costs more than `spendable` (then the streams are capped
    to one page a poll and may miss listings, and searches run past their max interval).
    """

    use_firehose: bool
    streams: dict[str, StreamPlan]
    searches: dict[int, float]
    projected_calls: float
    spendable: float
    minutes_left: float
    fits: bool


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _solve(cost: Callable[[float], float], target: float, low: float, high: float) -> float:
    """The smallest k in [low, high] with cost(k) ≤ target, for a cost falling with k."""
    if cost(low) <= target:
        return low
    for _ in range(80):
        middle = math.sqrt(low * high) if low > 0 else (low + high) / 2
        if cost(middle) <= target:
            high = middle
        else:
            low = middle
    return high


def _poll_cost(rate: float, interval: float, max_pages: float = math.inf) -> float:
    """Calls a minute to read `rate` new listings a minute every `interval` minutes: one
    page a poll, or as many as arrived, up to `max_pages` (beyond them, listings are
    missed, not paid for)."""
    return max(1 / interval, min(rate / PAGE_SIZE, max_pages / interval))


def _stream_cost(rate: float, interval: float) -> float:
    """Calls a minute for a stream read every `interval` minutes, nothing missed."""
    return _poll_cost(rate, interval)


def plan_schedule(
    searches: Sequence[SearchLoad],
    budget: Budget,
    *,
    streams: Sequence[StreamLoad] = (),
    firehose_searches: Sequence[SearchLoad] = (),
    firehose_min_minutes: float = 1.0,
    firehose_max_minutes: float = 30.0,
    backoff_after: int = 6,
) -> SchedulePlan:
    """Plan every interval until the reset; see the module docstring for the arithmetic.

    `searches` must query on their own; `firehose_searches` may ride the `streams` (and
    query on their own only when the firehose does not fit).
    """
    minutes = budget.minutes_left
    spendable = budget.spendable
    rates = {s.stream: s.rate for s in streams}

    def one_page(stream: str) -> float:
        return _clamp(PAGE_SIZE / rates[stream], firehose_min_minutes, firehose_max_minutes)

    def floor(loads: Sequence[SearchLoad]) -> float:
        return minutes * sum(s.cost(s.longest_interval) for s in loads)

    firehose_floor = minutes * sum(_stream_cost(rates[s], one_page(s)) for s in rates)
    own_floor = floor(searches)
    # The firehose when it fits; when nothing fits, still the firehose if it is cheaper
    # than its riders querying alone (it nearly always is: one call serves them all).
    use_firehose = bool(firehose_searches and rates) and (
        firehose_floor + own_floor <= spendable or firehose_floor <= floor(firehose_searches)
    )
    querying = list(searches) if use_firehose else [*searches, *firehose_searches]
    if not use_firehose:
        firehose_floor = 0.0

    desired = {s.search_id: desired_interval(s, backoff_after=backoff_after) for s in querying}
    loads = {s.search_id: s for s in querying}

    def search_intervals(k: float) -> dict[int, float]:
        return {
            s.search_id: _clamp(k * desired[s.search_id], s.shortest_interval, s.longest_interval)
            for s in querying
        }

    def search_cost(intervals: dict[int, float]) -> float:
        return minutes * sum(loads[i].cost(interval) for i, interval in intervals.items())

    def cost_at(k: float) -> float:
        return search_cost(search_intervals(k))

    # 3. Own queries: desired, else stretched within bounds, else past their maxima.
    for_searches = max(0.0, spendable - firehose_floor)
    fits = True
    k_search = 1.0
    if cost_at(1.0) <= for_searches:
        intervals = search_intervals(k_search)
    else:
        stretch_high = max([s.longest_interval / desired[s.search_id] for s in querying] or [1.0])
        if cost_at(stretch_high) <= for_searches:
            k_search = _solve(cost_at, for_searches, 1.0, stretch_high)
            intervals = search_intervals(k_search)
        else:
            # Nothing fits: stretch past the maxima; with nothing left at all, wait for
            # the reset.
            at_max = {s.search_id: s.longest_interval for s in querying}
            over = search_cost(at_max) / for_searches if for_searches > 0 else math.inf
            fits = False
            intervals = {i: min(m * over, max(m, minutes)) for i, m in at_max.items()}
    spent = search_cost(intervals)
    spare_for_searches = fits and k_search == 1.0 and bool(querying)

    # 4. The firehose gets the rest, I_i ∝ 1/√r_i between the fastest and one page.
    stream_plans: dict[str, StreamPlan] = {}
    if use_firehose:
        for_streams = spendable - spent

        def stream_intervals(k: float) -> dict[str, float]:
            return {
                s: _clamp(k / math.sqrt(r), firehose_min_minutes, one_page(s))
                for s, r in rates.items()
            }

        def stream_cost(k: float) -> float:
            chosen = stream_intervals(k)
            return minutes * sum(_stream_cost(rates[s], chosen[s]) for s in rates)

        k_high = max(one_page(s) * math.sqrt(r) for s, r in rates.items())
        k_low = min(firehose_min_minutes * math.sqrt(r) for r in rates.values())
        k_stream = _solve(stream_cost, for_streams, k_low, k_high)
        chosen = stream_intervals(k_stream)
        stream_plans = {
            s: StreamPlan(
                s,
                chosen[s],
                min(MAX_PAGES_PER_POLL, plan_firehose_pages(rates[s], chosen[s]).pages),
            )
            for s in rates
        }
        spent += stream_cost(k_stream)
        at_fastest = all(c <= firehose_min_minutes + 1e-9 for c in chosen.values())
        spare_for_searches = spare_for_searches and at_fastest

    # 5. Budget left over (every stream at its fastest): searches speed up to their minima.
    leftover = spendable - spent
    if spare_for_searches and leftover > 0:
        before = search_cost(intervals)
        k_min = min(s.shortest_interval / desired[s.search_id] for s in querying)
        k_search = _solve(cost_at, before + leftover, min(k_min, 1.0), 1.0)
        intervals = search_intervals(k_search)
        spent += search_cost(intervals) - before

    return SchedulePlan(
        use_firehose=use_firehose,
        streams=stream_plans,
        searches=intervals,
        projected_calls=spent,
        spendable=spendable,
        minutes_left=minutes,
        fits=fits and spent <= spendable + 1e-6,
    )


def rides_firehose(
    search: SavedSearch, mode: str | None, marketplace: str, categories: Sequence[str]
) -> bool:
    """Whether the category streams serve `search`, or it must run its own query.

    It rides unless it asked to query alone (`mode`), is on another marketplace than the
    streams', or is limited to a category outside them.
    """
    if mode == SearchMode.QUERY:
        return False
    if search.marketplace != marketplace:
        return False
    return search.category_id in (None, "") or search.category_id in categories


def next_run_after(ran_at: datetime, interval_min: float) -> datetime:
    """When a run that started at `ran_at` is next due: one interval later.

    This is what coalesces missed runs: however late a run was, the next one is measured
    from when it actually ran, never from the slot it missed.
    """
    return ran_at + timedelta(minutes=interval_min)


def initial_run_at(
    stored: datetime | None, now: datetime, interval_min: float, *, skip_initial: bool
) -> datetime:
    """When something is first due after a start.

    A stored next-run time is kept (a run that fell due while the process was down runs
    once, now). With `skip_initial`, anything due now (or never planned) is moved one
    interval out instead of running at start.
    """
    if stored is not None and stored > now:
        return stored
    if skip_initial:
        return now + timedelta(minutes=interval_min)
    return now


def is_due(next_run_at: datetime | None, now: datetime) -> bool:
    return next_run_at is None or next_run_at <= now


def update_arrival_rate(
    previous: float | None,
    new_listings: int,
    elapsed_min: float,
    *,
    complete: bool = True,
    weight: float = 0.3,
) -> float | None:
    """The stream's arrival rate (listings a minute), smoothed over polls.

    An exponentially weighted average: ``new = (1-w)·old + w·observed``. When a poll hit
    its page cap (`complete` False) the count is only a lower bound, so the estimate never
    falls on it. Returns `previous` when no time has passed.
    """
    if elapsed_min <= 0:
        return previous
    observed = new_listings / elapsed_min
    if previous is None:
        return observed
    blended = (1 - weight) * previous + weight * observed
    return blended if complete else max(previous, observed, blended)
