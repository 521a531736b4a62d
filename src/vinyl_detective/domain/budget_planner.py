"""The budget planner: how often to read each category stream and each saved search.

Pure arithmetic, time passed in. The scheduler (jobs/schedule_planner.py) asks for a new
plan every cycle with what it knows now (domain/schedule_types.py); the plan answers with
an interval per stream and per search such that the calls projected until the quota
reset fit in what is left.

eBay gives 5,000 Browse calls a day, shared by searches and item lookups, and the day
resets at 07:00 UTC. What one poll of a stream or of a search costs in calls a minute is
domain/polling.py's arithmetic (`poll_cost`); over the `T` minutes left until the reset,
a plan costs ``T · Σ cost``.

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
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vinyl_detective.domain.polling import (
    MAX_PAGES_PER_POLL,
    PAGE_SIZE,
    plan_firehose_pages,
    poll_cost,
)
from vinyl_detective.domain.schedule_types import (
    Budget,
    SchedulePlan,
    SearchLoad,
    StreamLoad,
    StreamPlan,
)

# A stream is read at most every 30 seconds: a listing then waits 15 s on average, and
# at most 30 s (with one read a minute a median of 30 s listing → alert is out of reach).
# The budget usually sets a longer interval long before this bound does.
FIREHOSE_MIN_MINUTES = 0.5
# No poller (stream or own query) is read more than this many times less often than the
# most often read one, while the budget allows: the fairness bound between classes.
FAIR_RATIO = 8.0


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


def _stream_cost(rate: float, interval: float) -> float:
    """Calls a minute for a stream read every `interval` minutes, nothing missed."""
    return poll_cost(rate, interval)


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
