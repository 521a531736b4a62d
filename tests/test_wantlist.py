"""Discogs wantlist sync, against the fake Discogs server mounted in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import Listing, Release
from vinyl_detective.domain.rules import parse_rule, rule_fields
from vinyl_detective.errors import NotFoundError
from vinyl_detective.fakes.discogs import FakeDiscogs
from vinyl_detective.jobs.paging import PagingLimits, StopReason
from vinyl_detective.jobs.wantlist import sync_wantlist
from vinyl_detective.service import SearchService
from vinyl_detective.sources.discogs import DiscogsClient
from vinyl_detective.sources.ratelimit import HeaderRateLimiter
from vinyl_detective.storage import catalog, job_runs, searches
from vinyl_detective.storage.schema import saved_searches

TOKEN = "wantlist-test-token"
UA = "VinylDetectiveTests/1.0 +https://example.org/tests"
BASE = "https://api.discogs.test"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def release(
    release_id: int,
    artists: list[tuple[str, str]],
    title: str,
    catnos: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Invented data in the shape of GET /releases/{id}."""
    return {
        "id": release_id,
        "title": title,
        "artists": [{"name": name, "anv": "", "join": join} for name, join in artists],
        "labels": [{"name": "Blue Note (3)", "catno": c} for c in catnos]
        or [{"name": "Not On Label", "catno": "none"}],
        "formats": [{"name": "Vinyl", "qty": "1", "descriptions": ["LP", "Album"]}],
        "year": 1959,
        "genres": ["Jazz"],
    }


MESSENGERS = [("Art Blakey", "&"), ("The Jazz Messengers (2)", "")]
MOANIN = release(4003, MESSENGERS, "Moanin'", ("BLP 4003",))
MOANIN_REISSUE = release(4004, MESSENGERS, "Moanin'", ("BST-84003",))
MOSAIC = release(4090, MESSENGERS, "Mosaic", ("BLP 4090",))
PRIVATE_PRESS = release(7001, [("Nobody Famous", "")], "Basement Tapes")
COMPILATIONS = [
    release(8001, [("Various", "")], "Blue Note Story", ("BN-1",)),
    release(8002, [("Various", "")], "Soul Jazz Classics", ("SJ-2",)),
]
FILLERS = [
    release(10_000 + i, [(f"Band {i}", "")], f"Record {i}", (f"FILL-{i}",)) for i in range(250)
]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def fake(fake_time: FakeTime) -> FakeDiscogs:
    return FakeDiscogs(
        [MOANIN, MOANIN_REISSUE, MOSAIC, PRIVATE_PRESS, *COMPILATIONS, *FILLERS],
        wants={
            "ann": [4003, 4090, 7001],
            "bob": [r["id"] for r in FILLERS],
            "empty": [],
            "carol": [4003, 8001, 8002],
        },
        token=TOKEN,
        clock=fake_time.clock,
    )


MakeClient = Callable[..., DiscogsClient]


@pytest.fixture
async def make_client(fake_time: FakeTime) -> AsyncIterator[MakeClient]:
    opened: list[httpx.AsyncClient] = []

    def build(peer: FakeDiscogs | httpx.MockTransport, *, max_retries: int = 3) -> DiscogsClient:
        transport: httpx.AsyncBaseTransport = (
            httpx.ASGITransport(app=peer.app) if isinstance(peer, FakeDiscogs) else peer
        )
        http = httpx.AsyncClient(transport=transport)
        opened.append(http)
        return DiscogsClient(
            TOKEN,
            base_url=BASE,
            user_agent=UA,
            http=http,
            limiter=HeaderRateLimiter(clock=fake_time.clock, sleep=fake_time.sleep),
            sleep=fake_time.sleep,
            max_retries=max_retries,
        )

    yield build
    for http in opened:
        await http.aclose()


@pytest.fixture
def clock(now: datetime) -> Callable[[], datetime]:
    return lambda: now


def all_searches(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return searches.list_searches(conn)


def last_run(engine: Engine) -> job_runs.JobRun:
    with engine.connect() as conn:
        return job_runs.recent_runs(conn, limit=1, job_type="wantlist_sync")[0]


def alerts_for(rule: str, wanted: Release) -> bool:
    listing = Listing(item_id="v1|1|0", title="some record", price=Decimal(20), currency="USD")
    return parse_rule(rule).evaluate(rule_fields(listing, wanted))


def stored_release(engine: Engine, release_id: int) -> Release:
    with engine.connect() as conn:
        found = catalog.get_release(conn, release_id)
    assert found is not None
    return found


# --------------------------------------------------------------------------- watches


async def test_each_wanted_album_becomes_a_watch_pinned_to_that_release(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    result = await sync_wantlist(
        engine=engine, discogs=make_client(fake), username="ann", clock=clock
    )

    assert result.searches_created == 3
    by_query = {s.query: s for s in all_searches(engine)}
    assert set(by_query) == {
        "Art Blakey Moanin",
        "Art Blakey Mosaic",
        "Nobody Famous Basement Tapes",
    }
    moanin = by_query["Art Blakey Moanin"]
    assert moanin.rule == (
        'artist = "Art Blakey & The Jazz Messengers" AND release_title = "Moanin\'" '
        'AND catalog_no in ["BLP 4003"]'
    )
    assert moanin.name == "Wantlist: Art Blakey & The Jazz Messengers – Moanin'"
    assert moanin.rule is not None
    assert alerts_for(moanin.rule, stored_release(engine, 4003))
    assert not alerts_for(moanin.rule, stored_release(engine, 4090))  # another album
    reissue = Release(
        id=4004,
        artist="Art Blakey & The Jazz Messengers",
        title="Moanin'",
        catalog_nos=("BST-84003",),
    )
    assert not alerts_for(moanin.rule, reissue)  # another pressing than the one wanted


async def test_a_want_without_catalog_number_is_pinned_by_artist_and_title(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    await sync_wantlist(engine=engine, discogs=make_client(fake), username="ann", clock=clock)

    (watch,) = [s for s in all_searches(engine) if s.query == "Nobody Famous Basement Tapes"]
    assert watch.rule == 'artist = "Nobody Famous" AND release_title = "Basement Tapes"'


async def test_the_wanted_releases_are_added_to_the_catalog(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    result = await sync_wantlist(
        engine=engine, discogs=make_client(fake), username="ann", clock=clock
    )

    assert result.releases_stored == 3
    moanin = stored_release(engine, 4003)
    assert (moanin.artist, moanin.title, moanin.catalog_nos) == (
        "Art Blakey & The Jazz Messengers",
        "Moanin'",
        ("BLP 4003",),
    )


async def test_second_sync_creates_no_duplicate_watches(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    client = make_client(fake)
    await sync_wantlist(engine=engine, discogs=client, username="ann", clock=clock)

    again = await sync_wantlist(engine=engine, discogs=client, username="ann", clock=clock)

    assert again.searches_created == 0
    assert again.already_watched == 3
    assert len(all_searches(engine)) == 3


async def test_a_new_pressing_of_a_watched_album_widens_its_watch(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    client = make_client(fake)
    await sync_wantlist(engine=engine, discogs=client, username="ann", clock=clock)
    fake.set_wants("ann", [4003, 4090, 7001, 4004])

    result = await sync_wantlist(engine=engine, discogs=client, username="ann", clock=clock)

    assert (result.searches_created, result.searches_widened) == (0, 1)
    (moanin,) = [s for s in all_searches(engine) if s.query == "Art Blakey Moanin"]
    assert moanin.rule is not None
    assert moanin.rule.endswith('catalog_no in ["BLP 4003", "BST-84003"]')
    assert alerts_for(moanin.rule, stored_release(engine, 4004))
    assert len(all_searches(engine)) == 3


async def test_a_watch_the_user_removed_stays_removed(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    client = make_client(fake)
    service = SearchService(engine=engine, clock=clock)
    await sync_wantlist(engine=engine, discogs=client, username="ann", clock=clock)
    (mosaic,) = [s for s in all_searches(engine) if s.query == "Art Blakey Mosaic"]
    service.remove(mosaic.id)

    result = await sync_wantlist(engine=engine, discogs=client, username="ann", clock=clock)

    assert result.searches_created == 0
    assert {s.query for s in all_searches(engine)} == {
        "Art Blakey Moanin",
        "Nobody Famous Basement Tapes",
    }


async def test_searches_added_by_hand_are_kept_and_an_identical_one_is_reused(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    service = SearchService(engine=engine, clock=clock)
    mine = service.add("art blakey moanin")
    other = service.add("blue note 1500", rule="price < 30")

    result = await sync_wantlist(
        engine=engine, discogs=make_client(fake), username="ann", clock=clock
    )

    assert result.searches_created == 2
    queries = [s.query for s in all_searches(engine)]
    assert queries.count("art blakey moanin") == 1
    assert "Art Blakey Moanin" not in queries
    kept = {s.id: s for s in all_searches(engine)}
    assert kept[mine.id].rule is None
    assert kept[other.id].rule == "price < 30"


async def test_a_rule_the_user_edited_is_not_overwritten(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    client = make_client(fake)
    service = SearchService(engine=engine, clock=clock)
    await sync_wantlist(engine=engine, discogs=client, username="ann", clock=clock)
    (moanin,) = [s for s in all_searches(engine) if s.query == "Art Blakey Moanin"]
    service.set_rule(moanin.id, 'release_title = "Moanin\'" AND price < 40')
    fake.set_wants("ann", [4003, 4090, 7001, 4004])

    await sync_wantlist(engine=engine, discogs=client, username="ann", clock=clock)

    with engine.connect() as conn:
        edited = searches.get_search(conn, moanin.id)
    assert edited is not None
    assert edited.rule == 'release_title = "Moanin\'" AND price < 40'


async def test_grouped_by_artist_one_watch_lists_every_wanted_title(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    result = await sync_wantlist(
        engine=engine,
        discogs=make_client(fake),
        username="ann",
        clock=clock,
        group_by_artist=True,
    )

    assert result.searches_created == 2
    by_query = {s.query: s for s in all_searches(engine)}
    assert by_query["Art Blakey"].rule == (
        'artist = "Art Blakey & The Jazz Messengers" AND release_title in ["Moanin\'", "Mosaic"]'
    )
    assert by_query["Art Blakey"].name == "Wantlist: Art Blakey & The Jazz Messengers"
    assert "Nobody Famous" in by_query


async def test_grouped_by_artist_compilations_still_get_a_watch_each(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    await sync_wantlist(
        engine=engine,
        discogs=make_client(fake),
        username="carol",
        clock=clock,
        group_by_artist=True,
    )

    by_query = {s.query: s.rule for s in all_searches(engine)}
    assert by_query == {
        "Art Blakey": 'artist = "Art Blakey & The Jazz Messengers" '
        'AND release_title in ["Moanin\'"]',
        "Blue Note Story": 'artist = "Various" AND release_title = "Blue Note Story" '
        'AND catalog_no in ["BN-1"]',
        "Soul Jazz Classics": 'artist = "Various" AND release_title = "Soul Jazz Classics" '
        'AND catalog_no in ["SJ-2"]',
    }


async def test_watches_take_the_services_defaults(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    service = SearchService(engine=engine, clock=clock, default_poll_minutes=240)

    await sync_wantlist(
        engine=engine, discogs=make_client(fake), username="ann", clock=clock, service=service
    )

    assert {s.poll_minutes for s in all_searches(engine)} == {240}


# --------------------------------------------------------------------------- paging


async def test_a_long_wantlist_is_read_page_by_page_with_progress(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    seen: list[tuple[int, int | None]] = []

    result = await sync_wantlist(
        engine=engine,
        discogs=make_client(fake),
        username="bob",
        clock=clock,
        progress=lambda done, total: seen.append((done, total)),
    )

    assert result.stop_reason is StopReason.END
    assert result.complete
    assert (result.fetched, result.total, result.searches_created) == (250, 250, 250)
    assert seen == [(100, 250), (200, 250), (250, 250)]
    assert fake.request_paths.count("/users/bob/wants") == 3
    with engine.connect() as conn:
        assert catalog.count_releases(conn) == 250


async def test_the_sync_is_recorded_as_a_job_run_with_its_counts(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    client = make_client(fake)
    await sync_wantlist(engine=engine, discogs=client, username="ann", clock=clock)
    await sync_wantlist(engine=engine, discogs=client, username="ann", clock=clock)

    run = last_run(engine)
    assert (run.job_type, run.target, run.status) == ("wantlist_sync", "discogs:ann", "success")
    assert (run.fetched, run.inserted, run.skipped) == (3, 0, 3)
    assert run.finished_at is not None


async def test_an_empty_wantlist_stops_at_the_empty_page(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    result = await sync_wantlist(
        engine=engine, discogs=make_client(fake), username="empty", clock=clock
    )

    assert result.stop_reason is StopReason.EMPTY_PAGE
    assert result.searches_created == 0
    assert last_run(engine).status == "success"


async def test_the_request_allowance_stops_the_sync_and_the_next_run_resumes(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    client = make_client(fake)
    limits = PagingLimits(max_requests=2)

    first = await sync_wantlist(
        engine=engine, discogs=client, username="bob", clock=clock, limits=limits
    )
    second = await sync_wantlist(
        engine=engine, discogs=client, username="bob", clock=clock, limits=limits
    )

    assert first.stop_reason is StopReason.MAX_REQUESTS
    assert not first.complete
    assert first.fetched == 200
    assert second.stop_reason is StopReason.END
    assert second.fetched == 50  # page 3 only
    assert len(all_searches(engine)) == 250


async def test_repeated_429s_stop_the_sync_with_a_clear_error(
    engine: Engine,
    fake: FakeDiscogs,
    make_client: MakeClient,
    clock: Callable[[], datetime],
    fake_time: FakeTime,
) -> None:
    fake.fail_next(429, times=10, path_contains="/wants", retry_after=5)

    result = await sync_wantlist(
        engine=engine,
        discogs=make_client(fake, max_retries=0),
        username="ann",
        clock=clock,
        limits=PagingLimits(max_rate_limited=3),
        sleep=fake_time.sleep,
    )

    assert result.stop_reason is StopReason.RATE_LIMITED
    assert result.searches_created == 0
    run = last_run(engine)
    assert run.status == "error"
    assert run.error is not None
    assert "429" in run.error
    assert "again later" in run.error
    assert fake.request_count == 4


async def test_a_passing_429_only_delays_the_sync(
    engine: Engine,
    fake: FakeDiscogs,
    make_client: MakeClient,
    clock: Callable[[], datetime],
    fake_time: FakeTime,
) -> None:
    fake.fail_next(429, times=2, path_contains="/wants", retry_after=7)

    result = await sync_wantlist(
        engine=engine,
        discogs=make_client(fake, max_retries=0),
        username="ann",
        clock=clock,
        sleep=fake_time.sleep,
    )

    assert result.complete
    assert result.searches_created == 3
    assert fake_time.now >= 14


async def test_a_peer_repeating_the_same_page_stops_for_no_progress(
    engine: Engine, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    body = {
        "pagination": {"page": 1, "pages": 50, "per_page": 100, "items": 5000, "urls": {}},
        "wants": [{"id": 4003, "rating": 0, "basic_information": MOANIN}],
    }
    calls: list[str] = []

    def stuck_peer(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(200, json=body)

    result = await sync_wantlist(
        engine=engine,
        discogs=make_client(httpx.MockTransport(stuck_peer)),
        username="ann",
        clock=clock,
    )

    assert result.stop_reason is StopReason.NO_PROGRESS
    assert len(calls) == 2
    assert result.searches_created == 1


async def test_an_unknown_user_gets_a_message_saying_what_to_fix(
    engine: Engine, fake: FakeDiscogs, make_client: MakeClient, clock: Callable[[], datetime]
) -> None:
    with pytest.raises(NotFoundError) as caught:
        await sync_wantlist(
            engine=engine, discogs=make_client(fake), username="no-such-user", clock=clock
        )

    message = str(caught.value)
    assert "no-such-user" in message
    assert "discogs.com/user/" in message
    run = last_run(engine)
    assert run.status == "error"
    assert run.error is not None
    assert "no-such-user" in run.error
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(saved_searches)).scalar() == 0
