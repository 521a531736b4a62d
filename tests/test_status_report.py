"""What `status` and the bot's /status report, read through SQLAlchemy and through sqlite3.

The CLI reads a SQLite database with the standard library (no SQLAlchemy: a quick start),
the bot and PostgreSQL through SQLAlchemy; both run storage/status.py's statements and
must report the same thing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.pg import require_postgres, temporary_database

from vinyl_detective.domain.ebay_sites import RECORD_CATEGORIES
from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.storage import checkpoints, job_runs, kv, search_schedules, searches
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.schema import alert_log, api_usage, firehose_streams, outbox
from vinyl_detective.storage.status import (
    StatusReport,
    read_status,
    sqlalchemy_reader,
    sqlite_path,
    sqlite_reader,
)

NOW = datetime(2026, 12, 2, 9, 30, 15, tzinfo=UTC)  # quota day 2026-12-02 (reset 07:00)


def fill(engine: Engine) -> dict[str, int]:
    """Searches in every state, their runs, alerts old and new, a stream, the budget,
    the daemon's stamps and an undelivered event; the search ids by name."""
    with engine.begin() as conn:
        plain = searches.add_search(conn, query="blue note", now=NOW - timedelta(days=9))
        alone = searches.add_search(
            conn, query="kind of blue", now=NOW, chat_id=42, channels=("json://localhost/x",)
        )
        broken = searches.add_search(conn, query="moanin", now=NOW, rule="price < 30")
        paused = searches.add_search(conn, query="ecm", now=NOW, category_id="11233")
        other = searches.add_search(conn, query="krautrock", now=NOW, marketplace="EBAY_DE")
        searches.disable_search(conn, broken.id, "the rule no longer parses")
        searches.update_search(conn, paused.id, active=False)
        searches.mark_run(
            conn, plain.id, ran_at=NOW - timedelta(minutes=3), next_run_at=NOW + timedelta(hours=2)
        )
        search_schedules.set_search_options(conn, alone.id, mode="query")
        checkpoints.start_backfill(conn, plain.id, NOW - timedelta(hours=1))
        checkpoints.finish_backfill(conn, plain.id, now=NOW - timedelta(minutes=50), completed=True)
        checkpoints.start_backfill(conn, alone.id, NOW - timedelta(minutes=5))
        run = job_runs.start_job(conn, "poll", f"search:{alone.id}", NOW - timedelta(minutes=9))
        job_runs.finish_job(conn, run, NOW - timedelta(minutes=8), error="eBay said 500")
        run = job_runs.start_job(conn, "poll", f"search:{plain.id}", NOW - timedelta(minutes=4))
        job_runs.finish_job(conn, run, NOW - timedelta(minutes=2, microseconds=7))
        job_runs.start_job(conn, "poll", f"search:{alone.id}", NOW - timedelta(seconds=30))
        for item, search_id, status, age in [
            ("1", plain.id, "sent", timedelta(days=1)),
            ("2", plain.id, "sent", timedelta(days=8)),  # counts for all time only
            ("3", plain.id, "sent", timedelta(days=7)),  # exactly a week old: still this week
            ("4", alone.id, "failed", timedelta(hours=1)),
            ("5", alone.id, "pending", timedelta(minutes=1)),
            ("6", None, "sent", timedelta(minutes=1)),  # an alert of no search (a price drop)
        ]:
            conn.execute(
                alert_log.insert().values(
                    recipient="telegram:42",
                    item_id=item,
                    search_id=search_id,
                    status=status,
                    error="Forbidden: bot was blocked" if status == "failed" else None,
                    created_at=NOW - age,
                )
            )
        conn.execute(
            firehose_streams.insert().values(
                stream="EBAY_US:176985",
                marketplace="EBAY_US",
                category_id="176985",
                last_poll_at=NOW - timedelta(seconds=40),
                next_run_at=NOW + timedelta(seconds=20),
                interval_minutes=1.5,
                arrivals_per_min=2.25,
            )
        )
        conn.execute(api_usage.insert().values(service="ebay", day="2026-12-02", calls=212))
        conn.execute(api_usage.insert().values(service="ebay", day="2026-12-01", calls=4999))
        conn.execute(
            outbox.insert().values(
                event_id="e1",
                event_type="listing.created",
                aggregate_id="1",
                payload="{}",
                created_at=NOW,
            )
        )
        kv.set_value(conn, "daemon:started_at", (NOW - timedelta(hours=3)).isoformat())
    names = {"plain": plain, "alone": alone, "broken": broken, "paused": paused, "other": other}
    return {name: search.id for name, search in names.items()}


def report_via_sqlalchemy(engine: Engine) -> StatusReport:
    with engine.connect() as conn:
        return read_status(
            sqlalchemy_reader(conn),
            NOW,
            budget_limit=5000,
            marketplace="EBAY_US",
            categories=RECORD_CATEGORIES,
        )


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    url = f"sqlite:///{tmp_path}/vd.db"
    engine = open_database(url)
    yield engine, tmp_path / "vd.db"
    engine.dispose()


def test_sqlite3_and_sqlalchemy_report_the_same(sqlite_db: tuple[Engine, Path]) -> None:
    engine, path = sqlite_db
    ids = fill(engine)
    with sqlite_reader(path) as read:
        assert read is not None
        plain = read_status(
            read, NOW, budget_limit=5000, marketplace="EBAY_US", categories=RECORD_CATEGORIES
        )
    assert plain == report_via_sqlalchemy(engine)
    check_report(plain, ids)


def check_report(report: StatusReport, ids: dict[str, int]) -> None:
    rows = {row.search.query: row for row in report.searches}
    assert [row.search.id for row in report.searches] == sorted(ids.values())
    blue = rows["blue note"]
    assert blue.search == SavedSearch(id=ids["plain"], query="blue note", poll_minutes=30)
    assert (blue.alerts_7d, blue.alerts_total) == (2, 3)
    assert blue.last_run_at == NOW - timedelta(minutes=3)
    assert blue.next_run_at == NOW + timedelta(hours=2)
    assert (blue.mode, blue.backfill, blue.last_error) == ("firehose", "complete", None)
    alone = rows["kind of blue"]
    assert alone.search.chat_id == 42
    assert alone.search.channels == ("json://localhost/x",)
    assert (alone.mode, alone.backfill) == ("query", "syncing")
    assert alone.last_error == "eBay said 500"  # the latest finished run (one still runs)
    broken = rows["moanin"]
    assert broken.disabled_reason == "the rule no longer parses"
    assert not broken.search.active
    assert broken.search.rule == "price < 30"
    assert not rows["ecm"].search.active
    assert rows["ecm"].mode == "query"
    assert rows["krautrock"].mode == "query"  # another marketplace than the streams'
    (stream,) = report.streams
    assert stream.stream == "EBAY_US:176985"
    assert stream.interval_minutes == 1.5
    assert stream.last_poll_at == NOW - timedelta(seconds=40)
    assert stream.arrivals_per_min == 2.25
    assert (report.budget_used, report.budget_limit) == (212, 5000)
    assert report.alert_counts == {"sent": 4, "failed": 1, "pending": 1}
    assert report.failures == [("telegram:42", "4", "Forbidden: bot was blocked")]
    assert report.last_activity == NOW - timedelta(minutes=2, microseconds=7)
    assert report.started_at == NOW - timedelta(hours=3)
    assert report.stopped_at is None
    assert report.events_waiting == 1


def test_sqlite3_serves_only_a_database_at_the_newest_schema(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    with sqlite_reader(missing) as read:
        assert read is None
    assert not missing.exists()  # looking did not create it
    engine = open_database(f"sqlite:///{tmp_path}/old.db")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    engine.dispose()
    with sqlite_reader(tmp_path / "old.db") as read:
        assert read is None  # a migration is owed: the caller opens it the usual way


def test_only_a_sqlite_file_url_is_read_with_sqlite3() -> None:
    assert sqlite_path("sqlite:////data/vd.db") == Path("/data/vd.db")
    assert sqlite_path("sqlite:///vd.db") == Path("vd.db")
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("sqlite:///vd.db?mode=ro") is None
    assert sqlite_path("postgresql://vd@db/vd") is None


def test_postgresql_reports_the_same_through_sqlalchemy() -> None:
    require_postgres()
    with temporary_database() as url:
        engine = open_database(url)
        try:
            ids = fill(engine)
            check_report(report_via_sqlalchemy(engine), ids)
        finally:
            engine.dispose()
