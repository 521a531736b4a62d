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
2. *A firehose per marketplace, or own queries.* Searches are grouped by the eBay site
   they search; each site has its own record-category streams. The home marketplace
   (the daemon's own) rides its firehose when that fits (its streams at their one-page
   interval plus the searches that must query alone, at their slowest), or else if its
   firehose still costs less than its riders querying alone. Another marketplace gets
   its firehose once its streams cost no more than its riders querying alone, both at
   the interval the budget would give every poller alike: three streams serve any
   number of searches, so five searches on EBAY_GB ride GB's streams and two query alone.
3. *The budget split by need.* Everything that costs calls — each stream read, each
   search querying alone — is a *poller* with a need: the new listings a minute someone
   wants from it (for a stream, those its riders' keywords accept, observed; for a
   search, its own query's arrivals, weighted by its desire: priority, recent deals,
   back-off, `desire_factor`). For a fixed number of calls, the average wait of a wanted
   listing ``Σ need_i · I_i / 2`` is smallest when ``I_i ∝ 1/√need_i`` (the square-root
   rule), so a poller with a hundred times the need is read ten times as often. Each
   interval stays within its bounds (a stream between `firehose_min_minutes` and its
   one-page interval; a search within the user's min/max and its one-page interval),
   and no poller is read more than `fair_ratio` (8) times less often than the most often
   read one: no class of searches is starved for the busy one. The common factor is the
   smallest that fits what is spendable.
4. If even the slowest fair plan does not fit, fairness gives way (the square-root rule
   alone); if not even every poller at its longest interval fits, streams stay at one
   page a poll and searches stretch past their maxima (the budget wins over a user's
   bound), and with nothing left at all they wait for the reset.

Missed runs coalesce: a run due in the past runs once, now, and the next one is an
interval after it (`next_run_after`), never one per missed slot.
"""

from __future__ import annotations

import functools
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
# What a search that never queried alone is assumed to find (20 new listings a day), and
# the least need anything is given (one listing a day), in listings a minute.
QUIET_SEARCH_RATE = 20 / 1440
MIN_NEED = 1 / 1440
# A stream is read at most every 30 seconds: a listing then waits 15 s on average, and
# at most 30 s (with one read a minute a median of 30 s listing → alert is out of reach).
# The budget usually sets a longer interval long before this bound does.
FIREHOSE_MIN_MINUTES = 0.5
# No poller (stream or own query) is read more than this many times less often than the
# most often read one, while the budget allows: the fairness bound between classes.
FAIR_RATIO = 8.0


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
    marketplace: str = ""  # the site it searches: it may ride that site's firehose
    categories: tuple[str, ...] | None = None  # the streams it hears riding (None: all)

    @property
    def need(self) -> float:
        """New listings a minute it wants: what its own query found lately, or, never
        polled alone, a quiet search's (QUIET_SEARCH_RATE); never below one a day."""
        rate = QUIET_SEARCH_RATE if self.arrivals_per_min is None else self.arrivals_per_min
        return max(MIN_NEED, rate)

    def hears(self, category: str) -> bool:
        return not category or self.categories is None or category in self.categories

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
    """One firehose stream (a marketplace's record category) and its observed arrivals.

    `wanted_per_min` counts only the new listings some rider's keywords accept: what the
    stream is worth to its riders (None: not observed yet; its whole rate stands in).
    """

    stream: str
    arrivals_per_min: float | None = None
    wanted_per_min: float | None = None
    marketplace: str = ""
    category: str = ""  # "": heard by every rider of its marketplace

    @property
    def rate(self) -> float:
        known = self.arrivals_per_min
        return max(0.01, UNKNOWN_ARRIVAL_RATE if known is None else known)

    @property
    def need(self) -> float:
        wanted = self.rate if self.wanted_per_min is None else self.wanted_per_min
        return max(MIN_NEED, wanted)


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


def desire_factor(load: SearchLoad, *, backoff_after: int = 6) -> float:
    """What `desired_interval` multiplies the base interval by (below 1: faster)."""
    factor: float = 2 ** (-max(-2, min(2, load.priority)) / 2)
    if load.recent_deals > 0 and load.recent_runs > 0:
        yield_ = min(1.0, load.recent_deals / load.recent_runs)
        factor /= 1 + 4 * yield_
    elif load.runs_since_deal >= backoff_after:
        factor *= 2 ** (load.runs_since_deal // backoff_after)
    return factor


def desired_interval(load: SearchLoad, *, backoff_after: int = 6) -> float:
    """The interval a search would get with budget to spare, within its bounds.

    Starts at its base interval; priority +1 is √2 faster and +2 twice as fast (-1/-2
    slower alike). A search that found deals lately (`recent_deals / recent_runs`, the
    yield, capped at 1) is up to 5× faster: ``base / (1 + 4·yield)``. One that found
    nothing for `backoff_after` runs doubles its interval, and again every
    `backoff_after` runs after that. The result is clamped to [min, max].
    """
    factor = desire_factor(load, backoff_after=backoff_after)
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

    use_firehose: bool  # some marketplace's searches ride its firehose
    streams: dict[str, StreamPlan]
    searches: dict[int, float]
    projected_calls: float
    spendable: float
    minutes_left: float
    fits: bool
    firehose_marketplaces: frozenset[str] = frozenset()


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


@dataclass(frozen=True, slots=True)
class _Poller:
    """One thing the budget pays for: a stream, or a search querying alone."""

    key: str | int  # the stream, or the search id
    need: float  # wanted listings a minute, weighted by the search's desire
    low: float
    high: float
    cost: Callable[[float], float]

    @property
    def shape(self) -> float:
        """Its interval relative to the others': the square-root rule."""
        return 1 / math.sqrt(self.need)


def _group_choice(
    stream_loads: Sequence[StreamLoad], riders: Sequence[SearchLoad], interval: float
) -> bool:
    """Whether a marketplace's riders should ride its firehose: when reading its streams
    costs no more than the riders querying alone, all polled every `interval` minutes,
    or as often as the riders may be polled if that is less often (a search's minimum
    interval, 5 minutes by default, is not a stream's)."""
    interval = max(interval, min((r.shortest_interval for r in riders), default=interval))
    streams_cost = sum(_stream_cost(s.rate, interval) for s in stream_loads)
    riders_cost = sum(
        r.cost(min(max(interval, r.shortest_interval), r.longest_interval)) for r in riders
    )
    return bool(stream_loads) and streams_cost <= riders_cost


def _cost_at(
    cost_of: Callable[[dict[str | int, float]], float],
    intervals_at: Callable[[float, float], dict[str | int, float]],
    k: float,
    *,
    ratio: float,
) -> float:
    return cost_of(intervals_at(k, ratio))


def plan_schedule(
    searches: Sequence[SearchLoad],
    budget: Budget,
    *,
    streams: Sequence[StreamLoad] = (),
    firehose_searches: Sequence[SearchLoad] = (),
    firehose_min_minutes: float = FIREHOSE_MIN_MINUTES,
    firehose_max_minutes: float = 30.0,
    backoff_after: int = 6,
    fair_ratio: float = FAIR_RATIO,
    home: str = "",
) -> SchedulePlan:
    """Plan every interval until the reset; see the module docstring for the arithmetic.

    `searches` must query on their own; `firehose_searches` may ride the `streams` of
    their marketplace (`SearchLoad.marketplace`, `StreamLoad.marketplace`), and query on
    their own when that marketplace's firehose is not worth it or no stream of theirs is
    given. `home` is the daemon's own marketplace (see `rides` below).
    """
    minutes = budget.minutes_left
    spendable = budget.spendable
    per_minute = spendable / minutes

    def one_page(stream: StreamLoad) -> float:
        return _clamp(PAGE_SIZE / stream.rate, firehose_min_minutes, firehose_max_minutes)

    # 2. Per marketplace: its firehose, or its riders query alone.
    markets: dict[str, tuple[list[StreamLoad], list[SearchLoad]]] = {}
    for rider in firehose_searches:
        markets.setdefault(rider.marketplace, ([], []))[1].append(rider)
    for stream in streams:
        if stream.marketplace in markets:
            heard = any(r.hears(stream.category) for r in markets[stream.marketplace][1])
            if heard:
                markets[stream.marketplace][0].append(stream)
    pollers_if_cheapest = len(searches) + sum(
        min(len(st), len(rd)) if st else len(rd) for st, rd in markets.values()
    )
    reference = _clamp(
        pollers_if_cheapest / per_minute if per_minute > 0 else math.inf,
        firehose_min_minutes,
        firehose_max_minutes,
    )

    def floor(stream_loads: Sequence[StreamLoad], loads: Sequence[SearchLoad]) -> float:
        """Calls until the reset with everything at its slowest (streams at one page)."""
        return minutes * (
            sum(_stream_cost(st.rate, one_page(st)) for st in stream_loads)
            + sum(q.cost(q.longest_interval) for q in loads)
        )

    def rides(market: str) -> bool:
        stream_loads, riders = markets[market]
        if not stream_loads or not riders:
            return False
        if market == home:
            # The home marketplace rides whenever that fits, or costs less than its riders
            # querying alone: one call serves all of them, even the first one a minute.
            return floor(stream_loads, searches) <= spendable or floor(stream_loads, ()) <= floor(
                (), riders
            )
        # Another marketplace gets its own firehose once that costs no more than its
        # riders querying alone, at the interval the budget would give everyone.
        return _group_choice(stream_loads, riders, reference)

    on_firehose = frozenset(m for m in markets if rides(m))
    querying = [*searches] + [
        r for m, (_, riders) in markets.items() if m not in on_firehose for r in riders
    ]
    read = [s for m in on_firehose for s in markets[m][0]]

    # 3. Every poller's need, bounds and cost.
    pollers = [
        _Poller(
            s.stream,
            s.need,
            firehose_min_minutes,
            one_page(s),
            functools.partial(_stream_cost, s.rate),
        )
        for s in read
    ] + [
        _Poller(
            q.search_id,
            q.need / desire_factor(q, backoff_after=backoff_after) ** 2,
            q.shortest_interval,
            q.longest_interval,
            q.cost,
        )
        for q in querying
    ]

    def intervals_at(k: float, ratio: float) -> dict[str | int, float]:
        free = {p.key: _clamp(k * p.shape, p.low, p.high) for p in pollers}
        if not free or math.isinf(ratio):
            return free
        ceiling = ratio * min(free.values())
        return {p.key: min(free[p.key], max(p.low, ceiling)) for p in pollers}

    def cost_of(chosen: dict[str | int, float]) -> float:
        return minutes * sum(p.cost(chosen[p.key]) for p in pollers)

    # 4. The budget split by need: I = k / sqrt(need), each within its bounds and no more
    # than `fair_ratio` times the fastest; the smallest k that fits. If even the slowest
    # fair plan does not fit, fairness gives way; if not even every poller at its longest
    # interval fits, searches stretch past their maxima (streams stay at one page a poll).
    fits = True
    chosen: dict[str | int, float] = {}
    if pollers:
        k_low = min(p.low / p.shape for p in pollers)
        k_high = max(p.high / p.shape for p in pollers)
        for ratio in (fair_ratio, math.inf):
            if cost_of(intervals_at(k_high, ratio)) <= spendable:
                k = _solve(
                    functools.partial(_cost_at, cost_of, intervals_at, ratio=ratio),
                    spendable,
                    k_low,
                    k_high,
                )
                chosen = intervals_at(k, ratio)
                break
        else:
            fits = False
            chosen = intervals_at(k_high, math.inf)
            stream_spend = minutes * sum(p.cost(chosen[p.key]) for p in pollers[: len(read)])
            for_searches = spendable - stream_spend
            search_spend = cost_of(chosen) - stream_spend
            over = search_spend / for_searches if for_searches > 0 else math.inf
            for p in pollers[len(read) :]:
                longest = chosen[p.key]
                chosen[p.key] = min(longest * over, max(longest, minutes))

    stream_plans = {
        s.stream: StreamPlan(
            s.stream,
            chosen[s.stream],
            min(MAX_PAGES_PER_POLL, plan_firehose_pages(s.rate, chosen[s.stream]).pages),
        )
        for s in read
    }
    search_intervals = {q.search_id: chosen[q.search_id] for q in querying}
    spent = cost_of(chosen)
    return SchedulePlan(
        use_firehose=bool(on_firehose),
        streams=stream_plans,
        searches=search_intervals,
        projected_calls=spent,
        spendable=spendable,
        minutes_left=minutes,
        fits=fits and spent <= spendable + 1e-6,
        firehose_marketplaces=on_firehose,
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
