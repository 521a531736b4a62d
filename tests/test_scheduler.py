"""The scheduler over a real database and the fake eBay, with a hand-driven clock."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Connection, Engine

from test_firehose import NOW, World, item, open_world
from vinyl_detective.domain.ebay_sites import RECORD_CATEGORIES
from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.fakes.ebay import make_item
from vinyl_detective.jobs.pipeline import Route
from vinyl_detective.jobs.routing import compile_routes
from vinyl_detective.jobs.scheduler import Scheduler
from vinyl_detective.sources.ebay import EbayClient
from vinyl_detective.storage import (
    checkpoints,
    job_runs,
    leases,
    search_schedules,
    searches,
    stream_state,
)
from vinyl_detective.storage.usage import DbCallBudget, next_reset

STREAMS = 3  # Records, CDs, Cassettes


@pytest.fixture
async def world(engine: Engine) -> AsyncIterator[World]:
    async with open_world(engine) as opened:
        yield opened


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.fake.app)) as client:
        yield client


async def _no_sleep(_seconds: float) -> None:
    return None


def routes(due: list[SavedSearch]) -> list[Route]:
    return compile_routes(due, None)[0]


def scheduler(world: World, http: httpx.AsyncClient, *, limit: int = 5000, **kw: Any) -> Scheduler:
    budget = DbCallBudget(world.engine, "ebay", limit, world.clock)
    ebay = EbayClient(
        "demo-app-id",
        "demo-cert-id",
        base_url="https://api.ebay.test",
        http=http,
        budget=budget,
        sleep=_no_sleep,
    )
    return Scheduler(
        engine=world.engine,
        ebay=ebay,
        pipeline=world.pipeline,
        compile_routes=routes,
        clock=world.clock,
        budget=budget,
        sleep=_no_sleep,
        **kw,
    )


def query_search(world: World, query: str, **kw: Any) -> SavedSearch:
    search = world.add_search(query, **kw)
    with world.engine.begin() as conn:
        search_schedules.set_search_options(conn, search.id, mode="query")
        checkpoints.set_backfill_paused(conn, search.id, False, NOW)
        checkpoints.start_backfill(conn, search.id, NOW)
        checkpoints.finish_backfill(conn, search.id, now=NOW, completed=True)
    return search


def backfilled(world: World, search: SavedSearch) -> None:
    with world.engine.begin() as conn:
        checkpoints.start_backfill(conn, search.id, NOW)
        checkpoints.finish_backfill(conn, search.id, now=NOW, completed=True)


async def test_a_new_search_is_backfilled_and_the_firehose_looks_at_once(
    world: World, http: httpx.AsyncClient
) -> None:
    search = world.add_search("art blakey")
    world.fake.add_items([item(1, "Art Blakey Moanin' LP Blue Note BLP 4003", "20.00", 5)])

    report = await scheduler(world, http).run_due(world.clock())

    assert report.plan is not None
    assert report.plan.use_firehose
    assert report.firehose_polls == STREAMS
    assert report.backfills == 1
    assert report.failed == 0
    assert len(world.inboxes[search.id].deals) == 1  # found once, alerted once
    with world.engine.connect() as conn:
        assert checkpoints.get_checkpoint(conn, search.id).completed  # type: ignore[union-attr]


async def test_one_firehose_call_serves_every_search_riding_it(
    world: World, http: httpx.AsyncClient
) -> None:
    riders = [world.add_search(q) for q in ("art blakey", "blue note", "moanin")]
    for rider in riders:
        backfilled(world, rider)
    sched = scheduler(world, http)
    await sched.run_due(world.clock())
    world.clock.advance(minutes=40)
    world.fake.add_items([item(1, "Art Blakey Moanin' LP Blue Note BLP 4003", "20.00", -39)])
    calls = world.fake.calls

    report = await sched.run_due(world.clock())

    assert world.fake.calls - calls == STREAMS
    assert report.query_polls == 0
    assert all(len(world.inboxes[r.id].deals) == 1 for r in riders)


async def test_a_search_outside_the_firehose_runs_its_own_query_when_due(
    world: World, http: httpx.AsyncClient
) -> None:
    own = query_search(world, "art blakey", marketplace="EBAY_GB", poll_minutes=30)
    sched = scheduler(world, http)
    first = await sched.run_due(world.clock())
    assert first.query_polls == 1
    assert first.firehose_polls == 0  # nobody rides the firehose: no stream is read
    with world.engine.connect() as conn:
        planned = searches.schedules(conn)[own.id].next_run_at
    assert planned is not None
    assert planned > world.clock()

    world.clock.advance(minutes=1)
    assert (await sched.run_due(world.clock())).query_polls == 0
    world.clock.now = planned
    assert (await sched.run_due(world.clock())).query_polls == 1


async def test_missed_runs_coalesce_into_one_after_a_long_gap(
    world: World, http: httpx.AsyncClient
) -> None:
    query_search(world, "art blakey", poll_minutes=30)
    rider = world.add_search("miles davis")
    backfilled(world, rider)
    world.fake.token_ttl = 86_400  # the token outlives the gap: count only searches
    sched = scheduler(world, http)
    await sched.run_due(world.clock())
    calls = world.fake.calls

    world.clock.advance(hours=5)  # ten 30-minute slots missed
    report = await sched.run_due(world.clock())

    assert report.query_polls == 1
    assert report.firehose_polls == STREAMS
    assert world.fake.calls - calls == 1 + STREAMS
    again = await sched.run_due(world.clock() + timedelta(seconds=1))
    assert again.query_polls == 0
    assert again.firehose_polls == 0


async def test_a_restarted_scheduler_keeps_the_stored_plan(
    world: World, http: httpx.AsyncClient
) -> None:
    query_search(world, "art blakey", poll_minutes=30)
    rider = world.add_search("miles davis")
    backfilled(world, rider)
    first = scheduler(world, http)
    await first.run_due(world.clock())
    wake = first.next_wakeup(world.clock())
    assert wake > world.clock()

    restarted = scheduler(world, http)  # a new process over the same database
    world.clock.advance(seconds=5)
    assert restarted.next_wakeup(world.clock()) == wake
    calls = world.fake.calls
    report = await restarted.run_due(world.clock())
    assert world.fake.calls == calls
    assert report.query_polls == report.firehose_polls == 0


async def test_skip_initial_moves_due_work_one_interval_out(
    world: World, http: httpx.AsyncClient
) -> None:
    query_search(world, "art blakey", poll_minutes=30)
    sched = scheduler(world, http, skip_initial=True)

    report = await sched.run_due(world.clock())

    assert world.fake.calls == 0
    assert report.query_polls == 0
    assert sched.next_wakeup(world.clock()) > world.clock()


async def test_the_same_search_never_runs_twice_at_once(
    world: World, http: httpx.AsyncClient
) -> None:
    query_search(world, "art blakey", poll_minutes=30)
    one = scheduler(world, http, owner="worker-1")
    two = scheduler(world, http, owner="worker-2")

    reports = await asyncio.gather(one.run_due(world.clock()), two.run_due(world.clock()))

    assert sum(r.query_polls for r in reports) == 1
    assert sum(r.busy for r in reports) == 1
    assert world.fake.calls == 1


async def test_a_lease_left_by_a_crashed_worker_expires(
    world: World, http: httpx.AsyncClient
) -> None:
    search = query_search(world, "art blakey", poll_minutes=30)
    with world.engine.begin() as conn:
        leases.acquire_search_lease(conn, search.id, "crashed-worker", NOW, timedelta(minutes=20))
    sched = scheduler(world, http)
    assert (await sched.run_due(world.clock())).busy == 1
    world.clock.advance(minutes=21)
    assert (await sched.run_due(world.clock())).query_polls == 1


async def test_paused_searches_are_skipped(world: World, http: httpx.AsyncClient) -> None:
    search = query_search(world, "art blakey", poll_minutes=30)
    with world.engine.begin() as conn:
        searches.update_search(conn, search.id, active=False)
    report = await scheduler(world, http).run_due(world.clock())
    assert report.query_polls == 0
    assert world.fake.calls == 0


async def test_one_failing_search_does_not_stop_the_others(
    world: World, http: httpx.AsyncClient
) -> None:
    failing = query_search(world, "art blakey", poll_minutes=30)
    healthy = query_search(world, "miles davis", poll_minutes=30)
    world.fake.fail_next(400)

    report = await scheduler(world, http, concurrency=1).run_due(world.clock())

    assert report.failed == 1
    assert report.query_polls == 1
    with world.engine.connect() as conn:
        runs = {r.target: r.status for r in job_runs.recent_runs(conn, job_type="poll")}
        planned = searches.schedules(conn)
    assert runs == {f"search:{failing.id}": "error", f"search:{healthy.id}": "success"}
    # The failed search is planned again like the others, not retried in a tight loop.
    assert planned[failing.id].next_run_at is not None
    assert planned[failing.id].next_run_at > world.clock()


async def test_a_spent_budget_pauses_api_work_until_the_reset(
    world: World, http: httpx.AsyncClient
) -> None:
    query_search(world, "art blakey", poll_minutes=30)
    query_search(world, "miles davis", poll_minutes=30)
    sched = scheduler(world, http, limit=1, concurrency=1)

    report = await sched.run_due(world.clock())

    reset = next_reset(world.clock())
    assert report.paused_until == reset
    assert world.fake.calls == 1
    assert sched.next_wakeup(world.clock()) == reset
    world.clock.advance(hours=1)
    assert (await sched.run_due(world.clock())).paused_until == reset
    assert world.fake.calls == 1


async def test_a_search_that_finds_deals_is_polled_more_often_than_one_that_does_not(
    world: World, http: httpx.AsyncClient
) -> None:
    hot = query_search(world, "art blakey", poll_minutes=30)
    cold = query_search(world, "miles davis", poll_minutes=30)
    with world.engine.begin() as conn:
        for _ in range(10):
            search_schedules.record_search_run(conn, hot.id, deals=1, now=NOW)
            search_schedules.record_search_run(conn, cold.id, deals=0, now=NOW)
    sched = scheduler(world, http, limit=300, min_minutes=5, max_minutes=120)
    plan = sched.planner.plan(world.clock())
    assert plan.searches[hot.id] < plan.searches[cold.id]
    assert plan.searches[hot.id] >= 5
    assert plan.searches[cold.id] <= 120


class SlowNetwork(httpx.AsyncBaseTransport):
    """The fake eBay over a network where each request takes a few milliseconds of the
    test's clock; notes when each stream poll (a category read, no query) arrived."""

    def __init__(self, world: World, latency: timedelta = timedelta(milliseconds=40)) -> None:
        self.world = world
        self.latency = latency
        self.inner = httpx.ASGITransport(app=world.fake.app)
        self.stream_polls: dict[str, list[datetime]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.world.clock.advance(seconds=self.latency.total_seconds())
        params = request.url.params
        if "/item_summary/search" in request.url.path and "q" not in params:
            polls = self.stream_polls.setdefault(params.get("category_ids", ""), [])
            polls.append(self.world.clock())
        return await self.inner.handle_async_request(request)


async def run_like_the_daemon(sched: Scheduler, world: World, *, until: datetime) -> None:
    """The daemon's loop: a cycle, then sleep until the next wake-up (1 s to 20 s)."""
    while world.clock() < until:
        await sched.run_due(world.clock())
        wait = (sched.next_wakeup(world.clock()) - world.clock()).total_seconds()
        world.clock.advance(seconds=min(max(wait, 1.0), 20.0))


@pytest.fixture
async def slow_network(world: World) -> AsyncIterator[tuple[SlowNetwork, httpx.AsyncClient]]:
    network = SlowNetwork(world)
    async with httpx.AsyncClient(transport=network) as client:
        yield network, client


def riders_on_every_stream(world: World) -> list[SavedSearch]:
    riders = [world.add_search("art blakey")] + [
        world.add_search(f"blue note {c}", category_id=c) for c in RECORD_CATEGORIES
    ]
    for rider in riders:
        backfilled(world, rider)
    return riders


async def test_each_stream_is_polled_once_per_period_however_many_searches_ride_it(
    world: World, slow_network: tuple[SlowNetwork, httpx.AsyncClient]
) -> None:
    network, client = slow_network
    riders_on_every_stream(world)
    sched = scheduler(world, client, firehose_min_minutes=1.0)
    start = world.clock()

    await run_like_the_daemon(sched, world, until=start + timedelta(minutes=10, seconds=30))

    assert sched.last_plan is not None
    intervals = {key.split(":")[1]: p.interval_min for key, p in sched.last_plan.streams.items()}
    assert set(network.stream_polls) == set(RECORD_CATEGORIES)
    for category, polls in network.stream_polls.items():
        period = timedelta(minutes=intervals[category])
        gaps = [later - earlier for earlier, later in itertools.pairwise(polls)]
        # (a token request's latency may fall between a first poll's plan and its call)
        assert all(gap >= period * 0.99 for gap in gaps), (category, gaps)
        assert len(polls) == 1 + int(timedelta(minutes=10, seconds=30) / period), category


def ask_by_request(conn: Connection, search_id: int, now: datetime) -> None:
    search_schedules.request_run(conn, search_id, now)


def ask_the_older_way(conn: Connection, search_id: int, now: datetime) -> None:
    searches.mark_run(conn, search_id, ran_at=now, next_run_at=now)


@pytest.mark.parametrize("ask", [ask_by_request, ask_the_older_way])
async def test_a_manual_trigger_makes_every_stream_look_at_once_exactly_once(
    world: World,
    slow_network: tuple[SlowNetwork, httpx.AsyncClient],
    ask: Callable[[Connection, int, datetime], None],
) -> None:
    network, client = slow_network
    riders = riders_on_every_stream(world)
    sched = scheduler(world, client, firehose_min_minutes=10)
    await run_like_the_daemon(sched, world, until=world.clock() + timedelta(minutes=2))
    before = {c: len(p) for c, p in network.stream_polls.items()}
    assert before == dict.fromkeys(RECORD_CATEGORIES, 1)  # the streams are not due for minutes

    with world.engine.begin() as conn:
        ask(conn, riders[0].id, world.clock())
    triggered = world.clock()
    await run_like_the_daemon(sched, world, until=triggered + timedelta(minutes=3))

    for category in RECORD_CATEGORIES:
        polls = network.stream_polls[category]
        assert len(polls) == 2, category
        assert polls[1] - triggered < timedelta(seconds=2)
    with world.engine.connect() as conn:
        assert searches.schedules(conn)[riders[0].id].last_run_at >= triggered  # type: ignore[operator]


async def test_a_manual_trigger_runs_a_search_with_its_own_query_once(
    world: World, http: httpx.AsyncClient
) -> None:
    own = query_search(world, "art blakey", poll_minutes=30)
    sched = scheduler(world, http)
    assert (await sched.run_due(world.clock())).query_polls == 1
    world.clock.advance(minutes=1)
    with world.engine.begin() as conn:
        search_schedules.request_run(conn, own.id, world.clock())

    assert sched.next_wakeup(world.clock()) == world.clock()
    assert (await sched.run_due(world.clock())).query_polls == 1
    world.clock.advance(seconds=1)
    assert (await sched.run_due(world.clock())).query_polls == 0
    with world.engine.connect() as conn:
        assert search_schedules.run_requests(conn) == {}


def arrivals(
    world: World,
    start: int,
    count: int,
    spread: timedelta,
    deals: set[int],
    marketplace: str = "EBAY_US",
) -> None:
    """`count` listings of Art Blakey over the last `spread`, newest first; those at the
    positions in `deals` are Moanin' at a fifth of its price, the others unidentifiable."""
    now = world.clock()
    world.fake.add_items(
        make_item(
            start + i,
            "Art Blakey Moanin' LP Blue Note BLP 4003"
            if i in deals
            else f"Art Blakey Jazz Messengers sampler {start + i}",
            "20.00",
            listed_at=now - spread * (i + 1) / (count + 1),
            marketplace=marketplace,
        )
        for i in range(count)
    )


async def test_an_own_query_poll_pages_down_to_what_that_search_saw_last_time(
    world: World, http: httpx.AsyncClient
) -> None:
    # Two searches query on their own and see the same listings; the first stores all of
    # them. The second must still page through all 450, not stop at the first stored one.
    first = query_search(world, "blakey", poll_minutes=30)
    second = query_search(world, "art blakey", poll_minutes=30)
    arrivals(world, 100, 5, timedelta(hours=2), deals=set())
    sched = scheduler(world, http, concurrency=1)
    assert (await sched.run_due(world.clock())).query_polls == 2

    world.clock.advance(minutes=30)
    arrivals(world, 1000, 450, timedelta(minutes=30), deals={10, 250, 440})
    report = await sched.run_due(world.clock())

    assert report.query_polls == 2
    assert len(world.inboxes[first.id].deals) == 3
    assert len(world.inboxes[second.id].deals) == 3  # pages 2 and 3 were read too
    with world.engine.connect() as conn:
        state = search_schedules.all_schedules(conn)[second.id]
    assert state.arrivals_per_min == pytest.approx(450 / 30)


async def test_a_busy_own_query_search_is_polled_often_enough_for_its_pages(
    world: World, http: httpx.AsyncClient
) -> None:
    own = query_search(world, "art blakey", marketplace="EBAY_GB", poll_minutes=240)
    arrivals(world, 100, 5, timedelta(hours=2), deals=set(), marketplace="EBAY_GB")
    world.fake.token_ttl = 86_400  # count only searches
    sched = scheduler(world, http, min_minutes=200)  # the user wants it rarely
    await sched.run_due(world.clock())
    with world.engine.connect() as conn:
        assert search_schedules.all_schedules(conn)[own.id].interval_minutes == 200

    # 1,500 listings in 4 hours: one poll reads them all (8 pages of 200)...
    world.clock.advance(minutes=240)
    arrivals(world, 1000, 1500, timedelta(minutes=240), deals={0, 1499}, marketplace="EBAY_GB")
    calls = world.fake.calls
    assert (await sched.run_due(world.clock())).query_polls == 1
    assert world.fake.calls - calls == 8
    assert len(world.inboxes[own.id].deals) == 2
    # It searched its own site, and its deals are known to be from there (affiliate links).
    assert world.fake.requests[-1].headers["x-ebay-c-marketplace-id"] == "EBAY_GB"
    assert {d.listing.marketplace for d in world.inboxes[own.id].deals} == {"EBAY_GB"}

    # ... and from now on it is polled every 32 minutes, below the user's minimum: about
    # a page's worth (200 / 6.25 a minute), which costs no more calls a day than 8 pages
    # every 200 minutes and never lets a burst outrun the pages a poll may read.
    ran_at = world.clock()
    world.clock.advance(seconds=20)  # the daemon's next tick re-plans
    tick = await sched.run_due(world.clock())
    assert tick.plan is not None
    assert tick.plan.searches[own.id] == pytest.approx(200 / (1500 / 240))
    assert sched.next_wakeup(world.clock()) == ran_at + timedelta(minutes=32)


async def test_a_search_whose_last_poll_found_nothing_pages_down_to_that_poll(
    world: World, http: httpx.AsyncClient
) -> None:
    own = query_search(world, "art blakey", marketplace="EBAY_GB", poll_minutes=30)
    sched = scheduler(world, http, concurrency=1)
    await sched.run_due(world.clock())  # nothing listed yet: no listing to mark

    world.clock.advance(minutes=30)
    arrivals(world, 1000, 450, timedelta(minutes=30), deals={5, 440}, marketplace="EBAY_GB")
    assert (await sched.run_due(world.clock())).query_polls == 1

    assert len(world.inboxes[own.id].deals) == 2  # three pages, down to the last poll


async def test_the_scheduler_wakes_at_the_quota_reset_whatever_the_plan(
    world: World, http: httpx.AsyncClient
) -> None:
    query_search(world, "art blakey", marketplace="EBAY_GB", poll_minutes=240)
    sched = scheduler(world, http, min_minutes=240)
    reset = next_reset(world.clock())
    world.clock.now = reset - timedelta(minutes=30)
    await sched.run_due(world.clock())  # next poll in 4 hours, long after the reset

    assert sched.next_wakeup(world.clock()) == reset


async def test_a_search_keeps_to_the_bounds_its_user_set(
    world: World, http: httpx.AsyncClient
) -> None:
    bounded = query_search(world, "art blakey", marketplace="EBAY_GB", poll_minutes=30)
    free = query_search(world, "miles davis", marketplace="EBAY_GB", poll_minutes=30)
    with world.engine.begin() as conn:
        search_schedules.set_search_options(conn, bounded.id, min_minutes=45, max_minutes=90)
    plan = scheduler(world, http).planner.plan(world.clock())  # plenty of budget: both speed up
    assert plan.searches[bounded.id] == 45
    assert plan.searches[free.id] == 5  # the scheduler's default minimum


class HeldNetwork(httpx.AsyncBaseTransport):
    """The fake eBay behind a network that holds every search until the test lets go."""

    def __init__(self, world: World) -> None:
        self.inner = httpx.ASGITransport(app=world.fake.app)
        self.arrived = asyncio.Event()
        self.go = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/item_summary/search" in request.url.path:
            self.arrived.set()
            await self.go.wait()
        return await self.inner.handle_async_request(request)


async def test_a_job_running_longer_than_its_lease_keeps_it(world: World) -> None:
    query_search(world, "art blakey", marketplace="EBAY_GB", poll_minutes=30)
    network = HeldNetwork(world)
    async with httpx.AsyncClient(transport=network) as held:
        one = scheduler(world, held, owner="worker-1", lease_renew_seconds=0.01)
        running = asyncio.create_task(one.run_due(world.clock()))
        await asyncio.wait_for(network.arrived.wait(), 5)

        world.clock.advance(minutes=25)  # past the 20-minute lease, the poll still running
        await asyncio.sleep(0.1)  # worker-1 renews meanwhile
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.fake.app)) as http:
            other = await scheduler(world, http, owner="worker-2").run_due(world.clock())

        network.go.set()
        first = await asyncio.wait_for(running, 5)
    assert other.busy == 1
    assert other.query_polls == 0
    assert first.query_polls == 1


async def test_a_rider_asked_to_query_alone_reads_only_what_the_firehose_did_not(
    world: World, http: httpx.AsyncClient
) -> None:
    rider = world.add_search("art blakey")
    arrivals(world, 100, 300, timedelta(hours=6), deals=set())
    world.fake.token_ttl = 86_400  # count only searches
    sched = scheduler(world, http)
    await sched.run_due(world.clock())  # its backfill reads the 300, the streams look

    world.clock.advance(minutes=60)
    arrivals(world, 1000, 1000, timedelta(minutes=60), deals=set())
    await sched.run_due(world.clock())  # the firehose reads the 1,000
    with world.engine.begin() as conn:
        search_schedules.set_search_options(conn, rider.id, mode="query")

    world.clock.advance(minutes=10)
    arrivals(world, 5000, 50, timedelta(minutes=10), deals={0})
    calls = world.fake.calls
    report = await sched.run_due(world.clock())

    assert report.query_polls == 1
    assert world.fake.calls - calls == 1  # one page: down to the firehose's last look
    assert len(world.inboxes[rider.id].deals) == 1


async def test_a_job_whose_lease_another_worker_took_stops_and_says_why(world: World) -> None:
    own = query_search(world, "art blakey", marketplace="EBAY_GB", poll_minutes=30)
    network = HeldNetwork(world)
    async with httpx.AsyncClient(transport=network) as held:
        one = scheduler(world, held, owner="worker-1", lease_renew_seconds=0.01)
        running = asyncio.create_task(one.run_due(world.clock()))
        await asyncio.wait_for(network.arrived.wait(), 5)
        # worker-1 could not renew for a whole lease (say its database link was down)
        # and worker-2 took the search over.
        with world.engine.begin() as conn:
            leases.release_search_lease(conn, own.id, "worker-1")
            leases.acquire_search_lease(
                conn, own.id, "worker-2", world.clock(), timedelta(minutes=20)
            )
        report = await asyncio.wait_for(running, 5)

    assert report.failed == 1
    assert report.errors == [f"search:{own.id}: its lease was taken by another worker"]
    with world.engine.connect() as conn:
        (run,) = job_runs.recent_runs(conn, job_type="poll")
        state = search_schedules.get_schedule(conn, own.id)
    assert run.status == "error"
    assert run.error == job_runs.CANCELLED
    assert state is not None
    assert state.lease_owner == "worker-2"  # worker-1 left the other's lease alone


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    probe = subprocess.Popen(["true"])  # noqa: S607
    probe.wait()
    return probe.pid


async def test_a_lease_left_by_a_killed_process_of_this_host_is_taken_over_at_once(
    world: World, http: httpx.AsyncClient
) -> None:
    search = query_search(world, "art blakey", poll_minutes=30)
    killed = f"{socket.gethostname()}:{_dead_pid()}:0badf00d"
    with world.engine.begin() as conn:
        leases.acquire_search_lease(conn, search.id, killed, NOW, timedelta(minutes=20))

    report = await scheduler(world, http).run_due(world.clock())

    assert report.query_polls == 1  # no 20-minute wait for the lease to expire
    assert report.busy == 0


async def test_a_lease_of_a_live_process_of_this_host_is_left_alone(
    world: World, http: httpx.AsyncClient
) -> None:
    search = query_search(world, "art blakey", poll_minutes=30)
    alive = f"{socket.gethostname()}:{os.getppid()}:0badf00d"  # the test runner's parent
    with world.engine.begin() as conn:
        leases.acquire_search_lease(conn, search.id, alive, NOW, timedelta(minutes=20))

    report = await scheduler(world, http).run_due(world.clock())

    assert report.busy == 1
    assert world.fake.calls == 0


async def test_searches_on_another_marketplace_ride_its_own_firehose_when_enough_of_them(
    world: World, http: httpx.AsyncClient
) -> None:
    # Five searches on EBAY_GB: its three streams cost less than their five own queries,
    # so one read of GB's Records serves all five; the single search on EBAY_DE queries
    # alone (three streams would cost more than its one query).
    gb = [
        world.add_search(q, marketplace="EBAY_GB")
        for q in ("art blakey", "blue note", "moanin", "lee morgan", "sidewinder")
    ]
    de = world.add_search("coltrane", marketplace="EBAY_DE")
    for search in [*gb, de]:
        backfilled(world, search)
    sched = scheduler(world, http)
    first = await sched.run_due(world.clock())
    assert first.plan is not None
    assert first.plan.firehose_marketplaces == {"EBAY_GB"}
    assert {k.split(":")[0] for k in first.plan.streams} == {"EBAY_GB"}
    assert first.query_polls == 1  # EBAY_DE's search, on its own
    world.clock.advance(minutes=40)
    world.fake.add_items(
        [item(1, "Art Blakey Moanin' LP Blue Note BLP 4003", "20.00", -39, marketplace="EBAY_GB")]
    )

    report = await sched.run_due(world.clock())

    assert report.firehose_polls == STREAMS
    heard = [len(world.inboxes[s.id].deals) if s.id in world.inboxes else 0 for s in gb]
    assert heard == [1, 1, 1, 0, 0]
    with world.engine.connect() as conn:
        streams = stream_state.all_streams(conn)
    assert streams["EBAY_GB:176985"].wanted_per_min is not None


async def test_a_search_asked_to_query_alone_also_hears_the_streams_it_could_ride(
    world: World, http: httpx.AsyncClient
) -> None:
    rider = world.add_search("blue note")
    backfilled(world, rider)
    alone = query_search(world, "art blakey", poll_minutes=60)
    sched = scheduler(world, http)
    await sched.run_due(world.clock())  # its own first poll, and the streams' first look
    with world.engine.connect() as conn:
        own_next = searches.schedules(conn)[alone.id].next_run_at
    assert own_next is not None

    world.clock.advance(minutes=2)
    world.fake.add_items([item(1, "Art Blakey Moanin' LP Blakey Records BLP 4003", "20.00", 1)])
    world.clock.now = max(world.clock.now, sched.next_wakeup(world.clock()))
    report = await sched.run_due(world.clock())

    assert world.clock() < own_next  # its own query is not due yet
    assert report.query_polls == 0
    assert report.firehose_polls >= 1
    assert len(world.inboxes[alone.id].deals) == 1  # heard on the stream, at once
    with world.engine.connect() as conn:
        assert searches.schedules(conn)[alone.id].next_run_at == own_next  # its own plan

    world.clock.now = own_next
    await sched.run_due(world.clock())  # its own query sees the listing again
    assert len(world.inboxes[alone.id].deals) == 1  # and does not alert it twice
