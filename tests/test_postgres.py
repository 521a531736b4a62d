"""PostgreSQL as a deployment: migrations, full text, the matcher, and several workers at once.

Runs against the real server (tests/pg.py: one temporary database for this module, dropped
at the end). Several engines stand for several worker processes: each has its own
connections, so whatever they share, they share through the database only.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine
from tests.marketplace import CHAT_ID, DEAL_ITEMS, RELEASES, running_market
from tests.pg import require_postgres, temporary_database

from test_catalog import GUIDE
from test_firehose import NOW, World, open_world
from test_matching import BLUE, CATALOG, KIND_OF_BLUE, MOANIN, MOANIN_JAPAN, found
from test_scheduler import query_search, routes
from vinyl_detective.daemon import Daemon
from vinyl_detective.domain.models import MatchMethod, Release
from vinyl_detective.errors import BudgetExhaustedError
from vinyl_detective.jobs.scheduler import Scheduler
from vinyl_detective.sources.discogs_parse import parse_release
from vinyl_detective.sources.ebay import EbayClient
from vinyl_detective.storage import alerts, catalog, leases, searches, sqlite_words
from vinyl_detective.storage import deals as deal_store
from vinyl_detective.storage.catalog import upsert_releases
from vinyl_detective.storage.catalog_lookup import SqlCatalog
from vinyl_detective.storage.db import MIGRATIONS_DIR, create_db_engine, migrate, open_database
from vinyl_detective.storage.fulltext import candidate_release_ids
from vinyl_detective.storage.schema import alert_log, listings, metadata, releases
from vinyl_detective.storage.usage import DbCallBudget

pytestmark = pytest.mark.postgres

T = TypeVar("T")


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    require_postgres()
    with temporary_database() as url:
        yield url


@pytest.fixture(scope="module")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = open_database(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg(pg_engine: Engine) -> Engine:
    """The module's database, emptied: every test starts from a freshly migrated state."""
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    return pg_engine


@pytest.fixture
def second_worker(pg_url: str, pg: Engine) -> Iterator[Engine]:
    """Another worker's engine on the same database (its own connection pool)."""
    engine = sa.create_engine(pg_url)
    yield engine
    engine.dispose()


def in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(0..count-1)` in threads released together; re-raise the first failure."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait(timeout=10)
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    if errors:
        raise errors[0]
    return results


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    """Poll a condition the test cannot be told about (another session blocking)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.005)


# ---------------------------------------------------------------------------- migrations


def test_migrations_build_the_whole_schema_on_a_fresh_database(pg: Engine, pg_url: str) -> None:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    inspector = sa.inspect(pg)
    with pg.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
        rows = conn.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes")).all()
    indexes = {str(r.indexname): str(r.indexdef) for r in rows}
    tables = set(inspector.get_table_names())
    assert set(metadata.tables) <= tables
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        assert {c.name for c in table.columns} <= present, table.name
    assert "USING gin (search_words)" in indexes["ix_releases_search_words"]
    # Every start migrates: a second open of a current database changes nothing.
    open_database(pg_url).dispose()


# ---------------------------------------------------------------------------- full text


def test_full_text_follows_inserts_and_updates(pg: Engine, now: datetime) -> None:
    with pg.begin() as conn:
        upsert_releases(
            conn,
            [
                Release(1, "Art Blakey", "Moanin'", catalog_nos=("BLP-4003",)),
                Release(2, "John Coltrane", "Blue Train"),
                Release(3, "Björk", "Homogenic"),
            ],
            now,
        )
    with pg.connect() as conn:
        assert candidate_release_ids(conn, ["moanin"], 10) == [1]
        assert candidate_release_ids(conn, ["Moanin'"], 10) == [1]
        assert candidate_release_ids(conn, ["blp", "4003"], 10) == [1]
        assert candidate_release_ids(conn, ["bjork"], 10) == [3]  # accents folded
    with pg.begin() as conn:
        upsert_releases(conn, [Release(1, "Art Blakey", "Mosaic")], now)
    with pg.connect() as conn:
        assert candidate_release_ids(conn, ["moanin"], 10) == []
        assert candidate_release_ids(conn, ["mosaic"], 10) == [1]
        assert candidate_release_ids(conn, ["train"], 10) == [2]
        assert candidate_release_ids(conn, ["!!!"], 10) == []


def test_full_text_ranks_releases_sharing_more_words_first(pg: Engine, now: datetime) -> None:
    with pg.begin() as conn:
        upsert_releases(
            conn,
            [
                Release(1, "Miles Davis", "Kind Of Blue"),
                Release(2, "Miles Davis", "Blue Moods"),
                Release(3, "Joni Mitchell", "Blue"),
                Release(4, "Miles Davis", "Kind Of Blue (Legacy Edition, Deluxe Remastered)"),
                Release(5, "Somebody", "Kind Hearts"),
            ],
            now,
        )
    with pg.connect() as conn:
        ranked = candidate_release_ids(conn, ["miles", "davis", "kind", "blue"], 10)
        # All four words, the shorter name first; then three of them; never one alone.
        assert ranked == [1, 4, 2]
        assert candidate_release_ids(conn, ["blue"], 10)[0] == 3
        assert candidate_release_ids(conn, ["miles", "davis", "kind", "blue"], 1) == [1]


def test_a_single_word_known_to_the_catalog_is_enough_when_no_pair_is(
    pg: Engine, now: datetime
) -> None:
    with pg.begin() as conn:
        upsert_releases(
            conn,
            [Release(1, "The Doors", "The Doors"), Release(2, "Miles Davis", "Milestones")],
            now,
        )
    with pg.connect() as conn:
        # A self-titled album leaves one word: it is looked up alone, as on SQLite ...
        assert candidate_release_ids(conn, ["doors", "1967", "import"], 15) == [1]
        # ... but two known words that no release holds together find nothing.
        assert candidate_release_ids(conn, ["doors", "miles"], 15) == []


def test_full_text_query_is_answered_from_the_gin_index(pg: Engine, now: datetime) -> None:
    with pg.begin() as conn:
        upsert_releases(conn, [Release(i, f"Artist {i}", f"Title {i}") for i in range(50)], now)
    statements: list[tuple[str, Any]] = []
    with pg.connect() as conn:

        def capture(_c: Any, _cur: Any, statement: str, params: Any, *_rest: Any) -> None:
            statements.append((statement, params))

        event.listen(conn, "before_cursor_execute", capture)
        candidate_release_ids(conn, ["artist", "title", "7"], 15)
        event.remove(conn, "before_cursor_execute", capture)
        conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: force the choice
        (statement, params) = statements[-1]
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
        conn.exec_driver_sql("RESET enable_seqscan")
    assert "ix_releases_search_words" in plan


def test_fuzzy_candidates_find_the_release_among_hundreds_sharing_a_common_word(
    pg: Engine, now: datetime
) -> None:
    crowd = [
        Release(id=i, artist=f"Singer {chr(97 + i % 26)}{chr(97 + i // 26 % 26)}", title="Love")
        for i in range(1, 401)
    ]
    target = Release(id=1000, artist="Dexter Gordon", title="Love For Sale")
    with pg.begin() as conn:
        upsert_releases(conn, [*crowd, target], now)
    with pg.connect() as conn:
        found_ = SqlCatalog(conn).fuzzy_candidates(["dexter", "gordon", "love", "sale"], 15)
        assert found_[0].release_id == 1000
        assert len(found_) <= 15
        assert len(SqlCatalog(conn).fuzzy_candidates(["love", "singer"], 15)) == 15


def _words_of(conn: sa.Connection, release_id: int) -> dict[str, int]:
    rows = conn.exec_driver_sql(
        "SELECT word, name_words FROM release_words WHERE release_id = %s", (release_id,)
    ).all()
    return {str(r[0]): int(r[1]) for r in rows}


def test_release_words_follow_every_write_to_the_catalog(pg: Engine, now: datetime) -> None:
    with pg.begin() as conn:
        upsert_releases(
            conn,
            [
                Release(1, "Art Blakey", "Moanin'", catalog_nos=("BLP-4003",)),
                Release(2, "Björk", "Homogenic"),
            ],
            now,
        )
    with pg.connect() as conn:
        # Folded as the matcher folds titles; the name's word count beside each word.
        assert _words_of(conn, 1) == dict.fromkeys(["art", "blakey", "moanin", "blp", "4003"], 3)
        assert _words_of(conn, 2) == {"bjork": 2, "homogenic": 2}
    with pg.begin() as conn:
        upsert_releases(conn, [Release(1, "Art Blakey", "Mosaic Of Sound")], now)
        catalog.set_prices(conn, 2, GUIDE, now)  # a price changes no word
        conn.execute(sa.delete(releases).where(releases.c.id == 2))
    with pg.connect() as conn:
        assert _words_of(conn, 1) == dict.fromkeys(["art", "blakey", "mosaic", "of", "sound"], 5)
        assert _words_of(conn, 2) == {}
        assert SqlCatalog(conn).fuzzy_candidates(["moanin", "blp", "4003"], 15) == []
        assert [
            e.release_id for e in SqlCatalog(conn).fuzzy_candidates(["blakey", "mosaic"], 15)
        ] == [1]
    with pg.begin() as conn:
        conn.exec_driver_sql("TRUNCATE releases CASCADE")
    with pg.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM release_words").scalar_one() == 0


def test_an_upgrade_indexes_the_words_of_releases_already_stored(now: datetime) -> None:
    with temporary_database() as url:
        engine = create_db_engine(url)
        try:
            migrate(engine, "0011")
            with engine.begin() as conn:
                upsert_releases(conn, [Release(7, "Dexter Gordon", "Go")], now)
            migrate(engine)
            with engine.connect() as conn:
                entries = SqlCatalog(conn).fuzzy_candidates(["dexter", "gordon", "go"], 15)
            assert [e.release_id for e in entries] == [7]
        finally:
            engine.dispose()


def test_a_catalog_number_cut_short_is_found_from_its_prefix_index(
    pg: Engine, now: datetime
) -> None:
    with pg.begin() as conn:
        upsert_releases(
            conn,
            [
                Release(1, "Art Blakey", "Moanin'", catalog_nos=("BLP-4003",)),
                Release(2, "Art Blakey", "Mosaic", catalog_nos=("BLP-4090",)),
            ],
            now,
        )
    with pg.connect() as conn:
        found_ = SqlCatalog(conn).by_identifier_prefix("catno", "BLP400", 2)
        assert {hit: [e.release_id for e in es] for hit, es in found_.items()} == {"BLP4003": [1]}
        assert SqlCatalog(conn).by_identifier_prefix("catno", "BLP40", 2).keys() == {
            "BLP4003",
            "BLP4090",
        }
        assert SqlCatalog(conn).by_identifier_prefix("catno", "BLP_0", 2) == {}  # no wildcard
        conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: force the choice
        plan = " ".join(
            str(r[0])
            for r in conn.exec_driver_sql(
                "EXPLAIN SELECT DISTINCT value FROM release_identifiers "
                "WHERE kind = 'catno' AND value LIKE 'BLP40%%' ORDER BY value LIMIT 2"
            )
        )
    assert "ix_release_identifiers_prefix" in plan


def _skewed_catalog(count: int, seed: int) -> list[Release]:
    """Releases whose words are Zipf-skewed: a few in hundreds of releases (common words,
    crowds sharing two of them), most in a few; albums in several pressings."""
    rng = random.Random(seed)
    common = ["love", "blue", "night", "john", "smith", "live", "the", "best"]
    rare = [
        f"{a}{b}"
        for a in ("ka", "lo", "mi", "ra", "ven", "tor")
        for b in ("del", "nor", "ast", "fen", "gul")
    ]

    def word() -> str:
        return rng.choice(common) if rng.random() < 0.45 else rng.choice(rare)

    out: list[Release] = []
    while len(out) < count:
        artist = " ".join(word() for _ in range(rng.choice((1, 2, 2))))
        title = " ".join(word() for _ in range(rng.choice((1, 2, 3))))
        for _ in range(rng.choice((1, 1, 2, 3))):
            out.append(
                Release(
                    len(out) + 1, artist.title(), title.title(), catalog_nos=(f"LP {len(out)}",)
                )
            )
    return out


def test_fuzzy_candidates_on_postgres_are_sqlites_in_the_same_order(
    pg: Engine, engine: Engine, now: datetime
) -> None:
    releases_ = _skewed_catalog(3_000, seed=12)
    # Common words' counts are remembered per database URL: this one's earlier catalogs'.
    sqlite_words.COMMON_COUNTS.clear()
    for database in (pg, engine):
        with database.begin() as conn:
            upsert_releases(conn, releases_, now)
    with pg.begin() as conn:
        conn.exec_driver_sql("ANALYZE release_words")
    rng = random.Random(5)
    vocabulary = sorted({w for r in releases_ for w in f"{r.artist} {r.title}".lower().split()})
    queries = [
        rng.sample([*vocabulary, "absent", "nowhere"], rng.randint(1, 6)) for _ in range(300)
    ]
    with pg.connect() as pg_conn, engine.connect() as sqlite_conn:
        on_postgres, on_sqlite = SqlCatalog(pg_conn), SqlCatalog(sqlite_conn)
        crowds = 0
        for words in queries:
            expected = [e.release_id for e in on_sqlite.fuzzy_candidates(words, 15)]
            got = [e.release_id for e in on_postgres.fuzzy_candidates(words, 15)]
            if len(set(words) & set(vocabulary)) == 1:
                # One known word: SQLite ranks by bm25, PostgreSQL puts the shortest names
                # first; the same releases when fewer than 15 hold the word.
                assert sorted(got) == sorted(expected) or len(got) == 15, words
                continue
            assert got == expected, words
            crowds += len(expected) == 15
    assert crowds > 30  # the crowd paths (fullest releases, a third word) were taken


# ---------------------------------------------------------------------------- the matcher


@pytest.fixture
def pg_catalog(pg: Engine, now: datetime) -> Iterator[SqlCatalog]:
    with pg.begin() as conn:
        upsert_releases(conn, CATALOG, now)
    with pg.connect() as conn:
        yield SqlCatalog(conn)


@pytest.mark.parametrize(
    ("title", "fields", "release", "method"),
    [
        (
            "🔥 RARE Art Blakey Moanin' LP Blue Note BLP-4003 VG+ 1st press!!",
            {},
            MOANIN,
            MatchMethod.CATALOG_NO,
        ),
        ("Art Blakey Moanin BLP 4003 reissue", {"catalog_no": "GXK-8155"}, MOANIN_JAPAN, None),
        ("Miles Davis - Kind Of Blue - LP 1959 Jazz Modal NM", {}, KIND_OF_BLUE, None),
        ("Mlies Davis Kind of Blue vinyl", {}, KIND_OF_BLUE, MatchMethod.FUZZY),
        ("Joni Mitchell Blue LP Reprise 1971", {}, BLUE, MatchMethod.FUZZY),
    ],
)
def test_listings_are_identified_on_postgres_as_on_sqlite(
    pg_catalog: SqlCatalog,
    title: str,
    fields: dict[str, Any],
    release: Release,
    method: MatchMethod | None,
) -> None:
    result = found(title, pg_catalog, **fields)
    assert result.match is not None
    assert result.match.release_id == release.id
    if method is not None:
        assert result.match.method is method


@pytest.mark.parametrize(
    "title",
    [
        "Miles Davis Bitches Brew 2LP Columbia",
        "Joni Mitchell Court and Spark LP",
        "Joni Mitchell Hejira blue vinyl",
    ],
)
def test_near_misses_are_not_matched_on_postgres(pg_catalog: SqlCatalog, title: str) -> None:
    assert found(title, pg_catalog).match is None


# ---------------------------------------------------------------------------- alerts


def _claim(engine: Engine, recipient: str, item_id: str) -> bool:
    with engine.begin() as conn:
        return alerts.claim(conn, recipient, item_id, now=NOW)


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        waiting = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return bool(waiting)


def test_an_alert_claimed_by_an_uncommitted_worker_is_refused_to_the_other(
    pg: Engine, second_worker: Engine
) -> None:
    outcome: list[bool] = []
    with pg.begin() as first:
        assert alerts.claim(first, "telegram:1", "v1|1|0", now=NOW)
        # The second worker cannot see the claim yet: its insert waits on the unique key.
        other = threading.Thread(
            target=lambda: outcome.append(_claim(second_worker, "telegram:1", "v1|1|0"))
        )
        other.start()
        wait_until(lambda: _waiting_on_a_lock(pg), "the second claim waits for the first")
    other.join(timeout=10)
    assert outcome == [False]
    with pg.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(alert_log)).scalar() == 1


def test_each_alert_is_claimed_exactly_once_by_racing_workers(
    pg: Engine, second_worker: Engine
) -> None:
    items = [f"v1|{n}|0" for n in range(40)]
    engines = [pg, second_worker]

    def worker(index: int) -> list[str]:
        order = items[:]
        random.Random(index).shuffle(order)
        return [i for i in order if _claim(engines[index % 2], "telegram:7", i)]

    won = in_threads(4, worker)

    assert sorted(i for w in won for i in w) == sorted(items)  # each exactly once
    with pg.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(alert_log)).scalar() == 40


# ---------------------------------------------------------------------------- the budget


def test_the_daily_budget_is_never_exceeded_by_concurrent_workers(
    pg: Engine, second_worker: Engine
) -> None:
    limit = 30
    budgets = [DbCallBudget(e, "ebay", limit, lambda: NOW) for e in (pg, second_worker)]

    def spend(index: int) -> int:
        spent = 0
        while True:
            try:
                asyncio.run(budgets[index % 2].acquire())
            except BudgetExhaustedError:
                return spent
            spent += 1

    spent = in_threads(6, spend)

    assert sum(spent) == limit
    assert budgets[0].used_today() == budgets[1].used_today() == limit
    assert budgets[1].remaining_today() == 0


# ---------------------------------------------------------------------------- leases


def test_only_one_worker_takes_a_search_lease_at_a_time(
    pg: Engine, second_worker: Engine, now: datetime
) -> None:
    with pg.begin() as conn:
        search = searches.add_search(conn, query="art blakey", now=now)
    engines = [pg, second_worker]

    def take(index: int) -> bool:
        with engines[index % 2].begin() as conn:
            return leases.acquire_search_lease(
                conn, search.id, f"worker-{index}", now, timedelta(minutes=20)
            )

    assert sum(in_threads(6, take)) == 1


class CountingEbay:
    """The fake eBay, counting the searches in flight at once for each query."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.in_flight: dict[str, int] = {}
        self.most_at_once: dict[str, int] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/item_summary/search"):
            await self.app(scope, receive, send)
            return
        query = httpx.QueryParams(scope["query_string"].decode()).get("q", "")
        self.in_flight[query] = self.in_flight.get(query, 0) + 1
        self.most_at_once[query] = max(self.most_at_once.get(query, 0), self.in_flight[query])
        try:
            for _ in range(5):  # let the other worker run while this search is out
                await asyncio.sleep(0)
            await self.app(scope, receive, send)
        finally:
            self.in_flight[query] -= 1


@pytest.fixture
async def pg_world(pg: Engine) -> AsyncIterator[World]:
    async with open_world(pg) as opened:
        yield opened


async def _no_sleep(_seconds: float) -> None:
    return None


def _worker(world: World, engine: Engine, http: httpx.AsyncClient, owner: str) -> Scheduler:
    budget = DbCallBudget(engine, "ebay", 5000, world.clock)
    ebay = EbayClient(
        "demo-app-id",
        "demo-cert-id",
        base_url="https://api.ebay.test",
        http=http,
        budget=budget,
        sleep=_no_sleep,
    )
    return Scheduler(
        engine=engine,
        ebay=ebay,
        pipeline=world.pipeline,
        compile_routes=routes,
        clock=world.clock,
        budget=budget,
        sleep=_no_sleep,
        owner=owner,
    )


async def test_two_schedulers_never_run_the_same_search_at_once(
    pg_world: World, second_worker: Engine
) -> None:
    for query in ("art blakey", "miles davis", "blue note"):
        query_search(pg_world, query, poll_minutes=30)
    counting = CountingEbay(pg_world.fake.app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=counting)) as http:
        one = _worker(pg_world, pg_world.engine, http, "worker-1")
        two = _worker(pg_world, second_worker, http, "worker-2")

        reports = await asyncio.gather(one.run_due(pg_world.clock()), two.run_due(pg_world.clock()))

    assert sum(r.query_polls for r in reports) == 3  # each search once, by one worker
    assert sum(r.busy for r in reports) == 3  # the other found it taken
    assert sum(r.failed for r in reports) == 0
    assert counting.most_at_once == {"art blakey": 1, "miles davis": 1, "blue note": 1}
    with pg_world.engine.connect() as conn:
        leases = conn.execute(sa.text("SELECT lease_owner FROM search_schedules")).all()
    assert leases
    assert all(owner is None for (owner,) in leases)  # every lease given back


# ---------------------------------------------------------------------------- end to end


async def test_one_daemon_cycle_on_postgres_alerts_exactly_the_real_deals(
    pg: Engine, pg_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    with running_market(tmp_path, now, database_url=pg_url) as market:
        with pg.begin() as conn:
            catalog.upsert_releases(conn, [parse_release(r) for r in RELEASES], now)
            searches.add_search(conn, query="lp", now=now, chat_id=CHAT_ID)

        await Daemon(market.settings).run(once=True)

        cards = market.cards()
        assert {c["chat_id"] for c in cards} == {CHAT_ID}
        assert len(cards) == 2
        texts = " ".join(c["text"] for c in cards)
        assert "Moanin" in texts
        assert "Kind Of Blue" in texts or "Kind of Blue" in texts
    with pg.connect() as conn:
        rows = {r.item_id: r for r in conn.execute(sa.select(listings))}
        sent = {r.item_id for r in conn.execute(sa.select(alert_log))}
        tracked = {d.item_id for d in deal_store.list_deals(conn)}
    assert len(rows) == 5
    assert rows["v1|286000000001|0"].match_release_id == 1001
    assert rows["v1|286000000001|0"].match_method == "catalog_no"
    assert rows["v1|286000000003|0"].match_release_id == 1002
    assert rows["v1|286000000004|0"].match_release_id is None  # the decoy lot
    assert rows["v1|286000000002|0"].deal_score is None  # fairly priced
    assert sent == DEAL_ITEMS
    assert tracked == DEAL_ITEMS
