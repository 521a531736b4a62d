"""How fresh are the alerts? The seed's fixed 30-minute loop against our scheduler.

A simulated marketplace with a synthetic arrival process, a simulated clock, the same
daily budget (5,000 calls, reset 07:00 UTC) for both strategies, side by side in one run:

(a) *fixed loop* (the seed's design): every saved search runs its own eBay query every
    30 minutes, reading up to 3 pages of 100 until it meets a listing it has seen
    (jobs/poll.py's paging); when the budget is spent it waits for the reset;
(b) *our scheduler*: the record categories are read as firehose streams and every
    search rides them; searches on another marketplace query on their own; intervals
    come from the real planner (`domain.schedule.plan_schedule`, re-planned every
    simulated 10 minutes from the calls used so far and the arrival rates observed with
    `update_arrival_rate`), paging as jobs/firehose.py does (down to the first listing
    seen, at most 50 pages of 200).

The marketplace: Records, CDs and Cassettes receive 30,000 / 10,000 / 2,000 new
listings a day (Poisson, with a daily swell peaking in the evening); a few hundred saved
searches (default 300 on EBAY_US plus 10 on EBAY_GB) match 30 % of them, with
heavy-tailed (Pareto) rates: most searches see a handful of listings a day, a few see
hundreds. Latency is *listing appears → a poll returns it*; a listing no poll ever
returns (pushed past the pages a poll reads) is *never seen*.

The eBay side is a model of the Browse API's paging (newest first, pages of `limit`,
10,000-result window) rather than the fake server over HTTP: a simulated day is ~40,000
listings and thousands of polls, which the in-process fake answers by scanning every
item per call — hours instead of seconds. The scheduler's decisions are the real code;
the end-to-end path (client, fake eBay, pipeline, scheduler) is covered by
tests/test_scheduler.py and tests/test_firehose.py.

    .venv/bin/python benchmarks/freshness.py                      # 2 days, 300+10 searches
    .venv/bin/python benchmarks/freshness.py --days 1 --searches 500 --write

Targets: never over budget, nothing missed, median latency ≤ 1/3 of the fixed loop's.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import os
import platform
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vinyl_detective.domain.schedule import (
    PAGE_SIZE,
    Budget,
    SearchLoad,
    StreamLoad,
    next_run_after,
    plan_schedule,
    update_arrival_rate,
)
from vinyl_detective.storage.usage import budget_day, next_reset

START = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # a quota day starts
STEP = 10.0  # seconds of simulated time per tick
CATEGORY_RATES = {"records": 30_000, "cds": 10_000, "cassettes": 2_000}  # a day
MATCH_SHARE = 0.30
WINDOW = 10_000
FIXED_MINUTES = 30
DAILY_LIMIT = 5_000


# --- the marketplace -------------------------------------------------------------------


@dataclass
class Feed:
    """Arrival times (seconds from START, ascending) of one stream or one search."""

    times: list[float] = field(default_factory=list)

    def between(self, after_index: int, now: float) -> int:
        """Index one past the last arrival at or before `now` (from `after_index` on)."""
        return bisect.bisect_right(self.times, now, lo=after_index)


@dataclass
class Market:
    streams: dict[str, Feed]
    searches: dict[int, Feed]
    search_stream: dict[int, str | None]  # None: another marketplace (query only)
    ids: dict[tuple[str, int], int]  # (feed key, index) → listing id
    arrivals: dict[int, float]  # listing id → arrival time


def _diurnal(seconds: float) -> float:
    hours = (START + timedelta(seconds=seconds)).hour + (seconds % 3600) / 3600
    return 1 + 0.5 * math.sin(2 * math.pi * (hours - 14) / 24)


def build_market(rng: random.Random, days: float, searches: int, gb_searches: int) -> Market:
    horizon = days * 86_400
    per_category = {"records": 0.8, "cds": 0.15, "cassettes": 0.05}
    search_stream: dict[int, str | None] = {}
    weights: dict[str, list[tuple[int, float]]] = {c: [] for c in CATEGORY_RATES}
    for n in range(searches):
        category = rng.choices(list(per_category), list(per_category.values()))[0]
        search_stream[n] = category
        weights[category].append((n, rng.paretovariate(1.2)))
    streams = {c: Feed() for c in CATEGORY_RATES}
    feeds = {n: Feed() for n in range(searches + gb_searches)}
    ids: dict[tuple[str, int], int] = {}
    arrivals: dict[int, float] = {}
    serial = 0
    for category, daily in CATEGORY_RATES.items():
        rate_max = daily / 86_400 * 1.5
        owners = [n for n, _ in weights[category]]
        cumulative = list(itertools.accumulate(w for _, w in weights[category]))
        t = 0.0
        while True:
            t += rng.expovariate(rate_max)
            if t >= horizon:
                break
            if rng.random() > _diurnal(t) / 1.5:
                continue  # thinning: the daily swell
            serial += 1
            arrivals[serial] = t
            ids[(category, len(streams[category].times))] = serial
            streams[category].times.append(t)
            if owners and rng.random() < MATCH_SHARE:
                pick = rng.random() * cumulative[-1]
                owner = owners[min(len(owners) - 1, bisect.bisect_left(cumulative, pick))]
                ids[(f"s{owner}", len(feeds[owner].times))] = serial
                feeds[owner].times.append(t)
    for n in range(searches, searches + gb_searches):  # another marketplace
        search_stream[n] = None
        daily = 20 * rng.paretovariate(1.2)
        t = 0.0
        while True:
            t += rng.expovariate(daily / 86_400)
            if t >= horizon:
                break
            serial += 1
            arrivals[serial] = t
            ids[(f"s{n}", len(feeds[n].times))] = serial
            feeds[n].times.append(t)
    return Market(streams, feeds, search_stream, ids, arrivals)


# --- bookkeeping shared by both strategies ---------------------------------------------


@dataclass
class Outcome:
    name: str
    limit: int = DAILY_LIMIT
    seen_at: dict[int, float] = field(default_factory=dict)
    calls_by_day: dict[str, int] = field(default_factory=dict)
    over_budget: bool = False

    def spend(self, now: float, calls: int) -> bool:
        """Spend `calls` if the quota day allows; False (nothing spent) when it does not."""
        day = budget_day(START + timedelta(seconds=now)).isoformat()
        used = self.calls_by_day.get(day, 0)
        if used + calls > self.limit:
            return False
        self.calls_by_day[day] = used + calls
        return True

    def used(self, now: float) -> int:
        return self.calls_by_day.get(budget_day(START + timedelta(seconds=now)).isoformat(), 0)

    def see(self, listing_id: int, now: float) -> None:
        self.seen_at.setdefault(listing_id, now)


def read_newest(
    out: Outcome,
    market: Market,
    key: str,
    feed: Feed,
    seen_upto: int,
    now: float,
    *,
    page: int,
    max_pages: int,
) -> tuple[int, int] | None:
    """One poll: page newest first until a listing already seen (or the page cap).

    Returns (new seen_upto, calls), or None when the budget refused the calls. Listings
    the pages did not reach are skipped for good: the next poll stops at this one's newest.
    """
    upto = feed.between(seen_upto, now)
    fresh = upto - seen_upto
    # A page that holds a seen listing ends the poll; so does a page that is not full.
    calls = min(max_pages, fresh // page + 1, WINDOW // page)
    if not out.spend(now, calls):
        return None
    reached = min(fresh, calls * page)
    for index in range(upto - reached, upto):
        out.see(market.ids[(key, index)], now)
    return upto, calls


# --- (a) the fixed loop ----------------------------------------------------------------


def run_fixed_loop(market: Market, horizon: float, limit: int = DAILY_LIMIT) -> Outcome:
    name = (
        "fixed 30-minute loop"
        if limit == DAILY_LIMIT
        else "fixed loop, no budget limit (reference)"
    )
    out = Outcome(name, limit)
    next_due = dict.fromkeys(market.searches, 0.0)
    seen_upto = dict.fromkeys(market.searches, 0)
    paused_until = -1.0
    now = 0.0
    while now < horizon:
        if now >= paused_until:
            for sid in sorted(next_due, key=next_due.__getitem__):
                if next_due[sid] > now:
                    continue
                polled = read_newest(
                    out,
                    market,
                    f"s{sid}",
                    market.searches[sid],
                    seen_upto[sid],
                    now,
                    page=100,
                    max_pages=3,
                )
                if polled is None:  # budget spent: wait for the reset
                    reset = next_reset(START + timedelta(seconds=now))
                    paused_until = (reset - START).total_seconds()
                    break
                seen_upto[sid] = polled[0]
                next_due[sid] = now + FIXED_MINUTES * 60
        now += STEP
    return out


# --- (b) our scheduler -----------------------------------------------------------------


def run_scheduler(market: Market, horizon: float, replan_every: float = 600.0) -> Outcome:
    out = Outcome("our scheduler (firehose + plan)")
    riders = [sid for sid, s in market.search_stream.items() if s is not None]
    own = [sid for sid, s in market.search_stream.items() if s is None]
    loads = {
        sid: SearchLoad(sid, base_minutes=30, min_minutes=5, max_minutes=240)
        for sid in market.searches
    }
    stats = {sid: [0.0, 0.0, 0] for sid in own}  # recent runs, recent deals, runs since deal
    rates: dict[str, float | None] = dict.fromkeys(market.streams)
    stream_upto = dict.fromkeys(market.streams, 0)
    stream_next = dict.fromkeys(market.streams, 0.0)
    stream_last: dict[str, float | None] = dict.fromkeys(market.streams)
    search_upto = dict.fromkeys(own, 0)
    search_next = dict.fromkeys(own, 0.0)
    rng = random.Random(7)
    plan = None
    planned_at = -math.inf
    paused_until = -1.0
    now = 0.0
    while now < horizon:
        if now - planned_at >= replan_every:
            moment = START + timedelta(seconds=now)
            own_loads = [
                SearchLoad(
                    sid,
                    30,
                    5,
                    240,
                    recent_runs=stats[sid][0],
                    recent_deals=stats[sid][1],
                    runs_since_deal=int(stats[sid][2]),
                )
                for sid in own
            ]
            plan = plan_schedule(
                own_loads,
                Budget(DAILY_LIMIT, out.used(now), moment, next_reset(moment)),
                streams=[StreamLoad(k, rates[k]) for k in market.streams],
                firehose_searches=[loads[sid] for sid in riders],
            )
            planned_at = now
            # A shorter interval pulls the next run in (jobs/scheduler.py's _persist_plan).
            for key, stream_plan in plan.streams.items():
                last = stream_last[key]
                if last is not None:
                    stream_next[key] = min(stream_next[key], last + stream_plan.interval_min * 60)
        assert plan is not None
        assert plan.use_firehose
        if now >= paused_until:
            for key, stream_plan in plan.streams.items():
                if stream_next[key] > now:
                    continue
                before = stream_upto[key]
                polled = read_newest(
                    out,
                    market,
                    key,
                    market.streams[key],
                    before,
                    now,
                    page=PAGE_SIZE,
                    max_pages=WINDOW // PAGE_SIZE,
                )
                if polled is None:
                    paused_until = (
                        next_reset(START + timedelta(seconds=now)) - START
                    ).total_seconds()
                    break
                stream_upto[key] = polled[0]
                last = stream_last[key]
                if last is not None:
                    rates[key] = update_arrival_rate(
                        rates[key], polled[0] - before, (now - last) / 60
                    )
                stream_last[key] = now
                ran = START + timedelta(seconds=now)
                stream_next[key] = (
                    next_run_after(ran, stream_plan.interval_min) - START
                ).total_seconds()
            for sid in own:
                if search_next[sid] > now or now < paused_until:
                    continue
                before = search_upto[sid]
                polled = read_newest(
                    out, market, f"s{sid}", market.searches[sid], before, now, page=100, max_pages=3
                )
                if polled is None:
                    paused_until = (
                        next_reset(START + timedelta(seconds=now)) - START
                    ).total_seconds()
                    break
                search_upto[sid] = polled[0]
                deals = sum(rng.random() < 0.05 for _ in range(polled[0] - before))
                runs, found, dry = stats[sid]
                stats[sid] = [runs * 0.95 + 1, found * 0.95 + deals, 0 if deals else dry + 1]
                interval = plan.searches.get(sid, 30)
                ran = START + timedelta(seconds=now)
                search_next[sid] = (next_run_after(ran, interval) - START).total_seconds()
        now += STEP
    return out


# --- report ----------------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    median_min: float
    p95_min: float
    never_seen: float
    calls_per_day: list[int]
    over_budget: bool


def figures(out: Outcome, market: Market, measured_until: float) -> Figures:
    # Listings that appeared early enough that any strategy had a chance to poll them.
    counted = [lid for lid, t in market.arrivals.items() if t <= measured_until]
    wanted = {
        market.ids[(key, i)]
        for sid, feed in market.searches.items()
        for key in (f"s{sid}",)
        for i in range(len(feed.times))
    }
    lat = [
        (out.seen_at[lid] - market.arrivals[lid]) / 60
        for lid in counted
        if lid in wanted and lid in out.seen_at
    ]
    missing = sum(1 for lid in counted if lid in wanted and lid not in out.seen_at)
    total = sum(1 for lid in counted if lid in wanted)
    calls = [out.calls_by_day[d] for d in sorted(out.calls_by_day)]
    return Figures(
        out.name,
        statistics.median(lat) if lat else math.nan,
        statistics.quantiles(lat, n=20)[18] if len(lat) >= 20 else math.nan,
        missing / total if total else 0.0,
        calls,
        any(c > DAILY_LIMIT for c in calls),
    )


def table(rows: list[Figures]) -> str:
    lines = [
        "| strategy | median latency | p95 latency | never seen | calls per quota day | "
        "over budget |",
        "|---|---:|---:|---:|---|---|",
    ]
    for f in rows:
        lines.append(
            f"| {f.name} | {f.median_min:.1f} min | {f.p95_min:.1f} min | "
            f"{f.never_seen:.2%} | {', '.join(f'{c:,}' for c in f.calls_per_day)} | "
            f"{'YES' if f.over_budget else 'no'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=2.0)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--gb-searches", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--write", action="store_true", help="write results-freshness.md")
    args = parser.parse_args()

    started = time.perf_counter()
    rng = random.Random(args.seed)
    horizon = args.days * 86_400
    market = build_market(rng, args.days, args.searches, args.gb_searches)
    # Listings of the last 3 hours are left out: a poll may legitimately not have come yet.
    measured_until = horizon - 3 * 3600
    rows = [
        figures(run_fixed_loop(market, horizon), market, measured_until),
        figures(run_scheduler(market, horizon), market, measured_until),
        figures(run_fixed_loop(market, horizon, limit=10**9), market, measured_until),
    ]
    elapsed = time.perf_counter() - started
    matched = sum(len(f.times) for f in market.searches.values())
    listed = sum(len(f.times) for f in market.streams.values())
    setup = (
        f"{args.days:g} simulated days from {START:%Y-%m-%d %H:%M} UTC, "
        f"{args.searches} searches riding the record categories + {args.gb_searches} on "
        f"another marketplace; {listed:,} new category listings "
        f"({', '.join(f'{c} {r:,}/day' for c, r in CATEGORY_RATES.items())}), "
        f"{matched:,} of them wanted by a search; budget {DAILY_LIMIT:,} calls a quota day "
        f"(07:00 UTC); seed {args.seed}"
    )
    report = table(rows)
    print(setup)
    print(report)
    fixed, ours, unlimited = rows
    checks = {
        "never over budget": not ours.over_budget,
        "nothing missed": ours.never_seen == 0,
        "median ≤ 1/3 of the fixed loop's": ours.median_min <= fixed.median_min / 3,
        "median ≤ 1/3 of the fixed loop's even with no budget limit": (
            ours.median_min <= unlimited.median_min / 3
        ),
    }
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    print(f"({elapsed:.1f}s)")
    if args.write:
        machine = (
            f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}"
        )
        text = (
            "# Freshness: the fixed 30-minute loop vs. our scheduler\n\n"
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}, "
            f"in {elapsed:.0f} s: `.venv/bin/python benchmarks/freshness.py "
            f"--days {args.days:g} --searches {args.searches} --write`.\n\n"
            f"Setup: {setup}.\n\n"
            "Latency is *listing appears → a poll returns it*; *never seen* is the share of "
            "wanted listings no poll returned (pushed past the pages a poll reads). Listings of "
            "the last 3 simulated hours are not counted.\n\n"
            f"{report}\n\n"
            + "\n".join(f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items())
            + "\n\nWhy: 310 searches every 30 minutes need 14,880 calls a day; the budget is "
            "5,000, so the fixed loop spends it by early afternoon and is blind until the "
            "07:00 reset, and a busy search whose backlog passes its 3 pages loses the rest. "
            "The firehose reads every new record listing for all searches at once: 42,000 "
            "listings a day are ~210 pages, so the planner can poll the busiest category "
            "about once a minute and still keep the 15 % reserve for item lookups.\n\n"
            "Not modelled: item-detail (enrichment) calls, which come out of the reserve; "
            "eBay's index delay (the firehose re-reads a 2-minute overlap for it); listings "
            "that end before they are seen. The third row ignores the budget (it spends "
            "three times what eBay allows) and shows the loop's best case.\n"
        )
        Path(__file__).with_name("results-freshness.md").write_text(text)
        print("wrote benchmarks/results-freshness.md")


if __name__ == "__main__":
    main()
