"""The budget planner: intervals that fit the daily eBay budget and follow the deals."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from vinyl_detective.domain.budget_planner import desired_interval, plan_schedule
from vinyl_detective.domain.polling import (
    initial_run_at,
    next_run_after,
    plan_firehose_pages,
    update_arrival_rate,
)
from vinyl_detective.domain.schedule_types import Budget, SearchLoad, StreamLoad

RESET = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)


def budget(used: int = 0, *, at: datetime = RESET, limit: int = 5000) -> Budget:
    return Budget(limit=limit, used=used, now=at, resets_at=RESET + timedelta(days=1))


def search(n: int, marketplace: str = "", **kw: float) -> SearchLoad:
    values: dict[str, float] = {"base_minutes": 30, "min_minutes": 5, "max_minutes": 240}
    values.update(kw)
    return SearchLoad(
        marketplace=marketplace,
        search_id=n,
        base_minutes=values["base_minutes"],
        min_minutes=values["min_minutes"],
        max_minutes=values["max_minutes"],
        priority=int(values.get("priority", 0)),
        recent_runs=int(values.get("recent_runs", 0)),
        recent_deals=int(values.get("recent_deals", 0)),
        runs_since_deal=int(values.get("runs_since_deal", 0)),
        arrivals_per_min=values.get("arrivals_per_min"),
    )


def test_a_poll_reads_as_many_pages_as_listings_arrived_since_the_last() -> None:
    # 30,000 listings a day is 20.8 a minute: 208 in ten minutes need two pages.
    pages = plan_firehose_pages(30_000 / 1440, 10)
    assert pages.pages == 2
    assert pages.one_page_interval_min == pytest.approx(9.6)
    assert pages.missed_per_poll == 0
    assert plan_firehose_pages(30_000 / 1440, 9).pages == 1


def test_a_poll_cannot_read_past_the_ten_thousand_result_window() -> None:
    pages = plan_firehose_pages(100, 120)  # 12,000 new listings since the last poll
    assert pages.pages == 50
    assert pages.missed_per_poll == 2000


def test_a_search_that_finds_deals_speeds_up_within_its_minimum() -> None:
    assert desired_interval(search(1, recent_runs=10, recent_deals=5)) == pytest.approx(10)
    assert desired_interval(search(1, recent_runs=4, recent_deals=9)) == 6
    assert desired_interval(search(1, recent_runs=4, recent_deals=9, min_minutes=10)) == 10


def test_a_search_that_finds_nothing_backs_off_up_to_its_maximum() -> None:
    assert desired_interval(search(1, runs_since_deal=3)) == 30
    assert desired_interval(search(1, runs_since_deal=6)) == 60
    assert desired_interval(search(1, runs_since_deal=12)) == 120
    assert desired_interval(search(1, runs_since_deal=600)) == 240


def test_high_priority_searches_run_more_often_than_low_priority_ones() -> None:
    assert desired_interval(search(1, priority=2)) == 15
    assert desired_interval(search(1, priority=-2)) == 60


def test_searches_keep_their_desired_interval_when_the_budget_allows() -> None:
    plan = plan_schedule([search(1), search(2, recent_runs=10, recent_deals=5)], budget())
    # Spare budget and no firehose: both speed up to their minimum.
    assert plan.searches == {1: 5, 2: 5}
    assert plan.fits


def test_too_many_searches_stretch_to_fit_the_budget_and_hot_ones_stay_fastest() -> None:
    searches = [search(n) for n in range(400)] + [search(999, recent_runs=10, recent_deals=10)]
    plan = plan_schedule(searches, budget())
    assert plan.fits
    assert plan.projected_calls <= plan.spendable + 1e-6
    assert plan.searches[999] < plan.searches[0]
    assert all(5 <= i <= 240 for i in plan.searches.values())


def test_when_even_the_maximum_intervals_do_not_fit_searches_run_past_them() -> None:
    plan = plan_schedule([search(n, max_minutes=60) for n in range(400)], budget())
    assert not plan.fits
    assert plan.searches[0] > 60
    assert 1440 / plan.searches[0] * 400 == pytest.approx(plan.spendable)


def test_with_nothing_left_searches_wait_for_the_reset() -> None:
    plan = plan_schedule([search(1)], budget(used=5000))
    assert plan.searches[1] >= plan.minutes_left
    assert not plan.fits


def test_the_firehose_is_the_default_when_it_fits() -> None:
    streams = [StreamLoad("records", 25), StreamLoad("cds", 8), StreamLoad("tapes", 1)]
    riders = [search(n) for n in range(300)]
    plan = plan_schedule([search(1000)], budget(), streams=streams, firehose_searches=riders)
    assert plan.use_firehose
    assert set(plan.searches) == {1000}
    assert plan.projected_calls <= plan.spendable + 1e-6
    records, tapes = plan.streams["records"], plan.streams["tapes"]
    # Every stream is read at least once per page worth of arrivals: nothing is missed.
    for name, rate in (("records", 25), ("cds", 8), ("tapes", 1)):
        assert plan.streams[name].interval_min <= 200 / rate
    assert records.interval_min <= tapes.interval_min


def test_a_firehose_too_busy_for_the_budget_falls_back_to_own_queries() -> None:
    streams = [StreamLoad("records", 2000)]  # 2.9 million listings a day: 14,400 calls
    plan = plan_schedule([], budget(), streams=streams, firehose_searches=[search(1)])
    assert not plan.use_firehose
    assert set(plan.searches) == {1}


def test_the_firehose_stays_on_when_riders_querying_alone_would_cost_more() -> None:
    # The planning share is spent (only the reserve is left): nothing fits, but one call
    # still serves 300 riders, where they would need 300 calls querying alone.
    streams = [StreamLoad("records", 20), StreamLoad("cds", 7), StreamLoad("tapes", 1.4)]
    riders = [search(n) for n in range(300)]
    plan = plan_schedule([], budget(used=4300), streams=streams, firehose_searches=riders)
    assert plan.use_firehose
    assert plan.searches == {}
    for name, rate in (("records", 20), ("cds", 7), ("tapes", 1.4)):
        assert plan.streams[name].interval_min <= 200 / rate  # one page still reaches


def test_a_busy_own_query_search_is_polled_once_a_page_has_arrived() -> None:
    # 3 new listings a minute fill a page of 200 in 67 minutes: polling less often saves
    # no call (more pages a poll) and only delays, however rarely the user asked for it.
    busy = search(1, base_minutes=240, min_minutes=120, max_minutes=240, arrivals_per_min=3)
    quiet = search(2, base_minutes=240, min_minutes=120, max_minutes=240, arrivals_per_min=0.1)
    plan = plan_schedule([busy, quiet], budget(limit=300))
    assert plan.searches[1] == pytest.approx(200 / 3)
    assert plan.searches[2] >= 120
    # Its cost counts the pages: 3 a minute is 0.015 calls a minute however it is polled.
    assert busy.cost(plan.searches[1]) == pytest.approx(3 / 200)
    assert busy.cost(240) == busy.cost(plan.searches[1])


def test_busier_streams_are_read_more_often_when_the_budget_is_tight() -> None:
    streams = [StreamLoad("records", 20), StreamLoad("tapes", 2)]
    riders = [search(n) for n in range(10)]
    plan = plan_schedule([], budget(limit=600), streams=streams, firehose_searches=riders)
    assert plan.use_firehose
    records, tapes = plan.streams["records"], plan.streams["tapes"]
    assert records.interval_min < tapes.interval_min
    assert math.isclose(records.interval_min * math.sqrt(20), tapes.interval_min * math.sqrt(2))
    assert plan.projected_calls <= plan.spendable + 1e-6


def site_streams(
    marketplace: str, arrivals: tuple[float, float, float], wanted: tuple[float, float, float]
) -> list[StreamLoad]:
    """A site's Records, CDs and Cassettes streams (listings a minute: all, and wanted)."""
    return [
        StreamLoad(f"{marketplace}:{c}", a, w, marketplace=marketplace, category=c)
        for c, a, w in zip(("records", "cds", "tapes"), arrivals, wanted, strict=True)
    ]


def thousand_searches() -> tuple[list[SearchLoad], list[SearchLoad], list[StreamLoad]]:
    """The benchmark's 1,000-search mix: 940 on the home site, 25 each on EBAY_GB and
    EBAY_DE (~20 listings a day each), 10 querying alone (~30 a day each)."""
    busy = (30.0, 10.0, 2.0)  # every site's streams carry the others' listings too
    streams = [
        *site_streams("EBAY_US", busy, (6.2, 2.1, 0.4)),
        *site_streams("EBAY_GB", busy, (0.25, 0.09, 0.02)),
        *site_streams("EBAY_DE", busy, (0.25, 0.09, 0.02)),
    ]
    riders = [search(n, "EBAY_US") for n in range(940)]
    riders += [search(1000 + n, "EBAY_GB" if n % 2 else "EBAY_DE") for n in range(50)]
    alone = [search(2000 + n, "EBAY_US", arrivals_per_min=30 / 1440) for n in range(10)]
    return alone, riders, streams


def test_another_marketplace_with_more_searches_than_streams_gets_its_own_firehose() -> None:
    alone, riders, streams = thousand_searches()
    plan = plan_schedule(alone, budget(), streams=streams, firehose_searches=riders, home="EBAY_US")
    assert plan.firehose_marketplaces == {"EBAY_US", "EBAY_GB", "EBAY_DE"}
    assert set(plan.searches) == {a.search_id for a in alone}  # only they query alone
    assert len(plan.streams) == 9
    assert plan.fits


def test_a_marketplace_with_fewer_searches_than_streams_lets_them_query_alone() -> None:
    streams = [
        *site_streams("EBAY_US", (30, 10, 2), (6, 2, 0.4)),
        *site_streams("EBAY_GB", (30, 10, 2), (0.03, 0.01, 0.01)),
    ]
    riders = [search(n, "EBAY_US") for n in range(100)] + [search(500, "EBAY_GB")]
    riders.append(search(501, "EBAY_GB"))
    plan = plan_schedule([], budget(), streams=streams, firehose_searches=riders, home="EBAY_US")
    assert plan.firehose_marketplaces == {"EBAY_US"}
    assert set(plan.searches) == {500, 501}
    assert not any(key.startswith("EBAY_GB") for key in plan.streams)


def test_no_class_of_searches_waits_more_than_eight_times_the_busiest() -> None:
    # 1,000 searches and 5,000 calls a day: the home site's busy Records stream is read
    # about every two minutes, and nothing (another site's cassettes, a quiet search
    # querying alone) less often than eight times that.
    alone, riders, streams = thousand_searches()
    plan = plan_schedule(alone, budget(), streams=streams, firehose_searches=riders, home="EBAY_US")
    intervals = [p.interval_min for p in plan.streams.values()] + list(plan.searches.values())
    fastest = plan.streams["EBAY_US:records"].interval_min
    assert fastest == min(intervals)
    assert fastest <= 2.0
    assert max(intervals) <= 8 * fastest + 1e-9
    assert plan.projected_calls <= plan.spendable + 1e-6
    assert plan.projected_calls >= 0.99 * plan.spendable  # and the budget is put to use


def test_the_budget_follows_what_riders_want_not_how_busy_a_category_is() -> None:
    # Two equally busy streams; riders want a hundred times more from one of them: it is
    # read ten times as often (the square-root rule), whatever their sizes.
    streams = [
        StreamLoad("EBAY_US:records", 2, 1.0, marketplace="EBAY_US", category="records"),
        StreamLoad("EBAY_US:cds", 2, 0.01, marketplace="EBAY_US", category="cds"),
    ]
    riders = [search(n, "EBAY_US") for n in range(50)]
    plan = plan_schedule(
        [], budget(limit=1200), streams=streams, firehose_searches=riders, home="EBAY_US"
    )
    records, cds = plan.streams["EBAY_US:records"], plan.streams["EBAY_US:cds"]
    assert cds.interval_min == pytest.approx(8 * records.interval_min)  # capped: fair ratio
    unfair = plan_schedule(
        [],
        budget(limit=1200),
        streams=streams,
        firehose_searches=riders,
        home="EBAY_US",
        fair_ratio=math.inf,
    )
    ratio = (
        unfair.streams["EBAY_US:cds"].interval_min / unfair.streams["EBAY_US:records"].interval_min
    )
    assert ratio == pytest.approx(10)


def test_when_fairness_does_not_fit_the_budget_it_gives_way() -> None:
    # 300 quiet searches querying alone beside a busy stream: at eight times the stream's
    # interval they would cost more than the budget, so they get what is left.
    streams = [StreamLoad("records", 20, 6)]
    alone = [search(n, max_minutes=1440) for n in range(300)]
    plan = plan_schedule(
        alone, budget(limit=1000), streams=streams, firehose_searches=[search(999)]
    )
    assert plan.fits
    assert plan.projected_calls <= plan.spendable + 1e-6
    assert max(plan.searches.values()) > 8 * plan.streams["records"].interval_min


def test_a_simulated_day_never_spends_more_than_the_budget() -> None:
    """Replan every minute, run whatever is due, count the calls: never over budget."""
    limit = 5000
    streams = {"records": 28.0, "cds": 9.0, "tapes": 1.5}
    own = [search(n, recent_runs=20, recent_deals=n % 3) for n in range(40)]
    riders = [search(100 + n) for n in range(300)]
    used = 0
    next_due: dict[str, datetime] = {}
    now = RESET
    while now < RESET + timedelta(days=1):
        plan = plan_schedule(
            own,
            budget(used, at=now, limit=limit),
            streams=[StreamLoad(k, v) for k, v in streams.items()],
            firehose_searches=riders,
        )
        intervals = {f"s{k}": v for k, v in plan.searches.items()}
        for name, stream in plan.streams.items():
            intervals[name] = stream.interval_min
        for key, interval in intervals.items():
            if next_due.get(key, now) <= now:
                pages = 1
                if key in streams:
                    pages = plan_firehose_pages(streams[key], interval).pages
                used += pages
                next_due[key] = next_run_after(now, interval)
        assert used <= limit
        now += timedelta(minutes=1)
    assert used > limit * 0.6  # and the budget is actually put to use


def test_a_missed_run_runs_once_and_the_next_is_an_interval_after_it() -> None:
    ran = RESET + timedelta(hours=5)
    assert next_run_after(ran, 30) == ran + timedelta(minutes=30)


def test_at_start_a_stored_plan_is_kept_and_overdue_work_runs_once_now() -> None:
    now = RESET
    later = now + timedelta(minutes=12)
    assert initial_run_at(later, now, 30, skip_initial=False) == later
    assert initial_run_at(now - timedelta(hours=5), now, 30, skip_initial=False) == now
    assert initial_run_at(None, now, 30, skip_initial=False) == now


def test_skip_initial_moves_overdue_work_one_interval_out() -> None:
    now = RESET
    assert initial_run_at(None, now, 30, skip_initial=True) == now + timedelta(minutes=30)
    assert initial_run_at(now - timedelta(hours=1), now, 30, skip_initial=True) == (
        now + timedelta(minutes=30)
    )


def test_arrival_rate_is_smoothed_and_never_falls_on_a_capped_poll() -> None:
    assert update_arrival_rate(None, 100, 10) == 10
    assert update_arrival_rate(10, 200, 10) == pytest.approx(13)
    assert update_arrival_rate(10, 20, 10, complete=False) == 10
    assert update_arrival_rate(10, 500, 0) == 10
