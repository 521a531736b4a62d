"""What `status` and the bot's /status show, read in plain SQL.

The same statements run through SQLAlchemy (the bot, the CLI on PostgreSQL) or, for the
`status` command on a SQLite database, through the standard library's sqlite3: that
command then never loads SQLAlchemy, a good part of its start-up time on a small machine.
Nothing here imports SQLAlchemy at module level.

A reader is a function (SQL text with :named parameters, parameters) -> rows. Datetime
parameters are aware UTC times; each reader binds them as its database stores them.
Datetime results come back as the database gives them (SQLite: ISO text; PostgreSQL:
naive UTC datetimes) and are read by `_utc`, like the schema's UTCDateTime.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.domain.quota import budget_day
from vinyl_detective.domain.schedule_types import SearchMode, rides_firehose
from vinyl_detective.storage.revision import head_revision

if TYPE_CHECKING:
    import sqlalchemy as sa

Reader = Callable[[str, Mapping[str, Any]], list[tuple[Any, ...]]]

STARTED_AT_KEY = "daemon:started_at"
STOPPED_AT_KEY = "daemon:stopped_at"
RECENT_RUNS = 500  # job runs read to find each search's latest and the last activity
RECENT_FAILURES = 10

_SEARCHES = """
SELECT id, query, chat_id, name, min_deal_score, poll_minutes, active, rule, category_id,
       marketplace, channels, disabled_reason, last_run_at, next_run_at
FROM saved_searches ORDER BY id"""
_MODES = "SELECT search_id, mode FROM search_schedules"
_BACKFILLS = "SELECT search_id, status, completed_at FROM search_checkpoints"
_RUNS = "SELECT target, status, error, finished_at FROM job_runs ORDER BY id DESC LIMIT :limit"
_SENT_SINCE = """
SELECT search_id, count(*) FROM alert_log
WHERE status = 'sent' AND search_id IS NOT NULL AND created_at >= :since GROUP BY search_id"""
_SENT = """
SELECT search_id, count(*) FROM alert_log
WHERE status = 'sent' AND search_id IS NOT NULL GROUP BY search_id"""
_STREAMS = """
SELECT stream, last_poll_at, next_run_at, interval_minutes, arrivals_per_min
FROM firehose_streams ORDER BY stream"""
_CALLS = "SELECT calls FROM api_usage WHERE service = :service AND day = :day"
_ALERT_COUNTS = "SELECT status, count(*) FROM alert_log GROUP BY status"
_FAILURES = """
SELECT recipient, item_id, error FROM alert_log WHERE status = 'failed'
ORDER BY id DESC LIMIT :limit"""
_DAEMON_STAMPS = "SELECT key, value FROM kv WHERE key IN (:started, :stopped)"
_EVENTS_WAITING = "SELECT count(*) FROM outbox WHERE published_at IS NULL"


@dataclass(frozen=True)
class SearchStatus:
    """One saved search as `status` shows it."""

    search: SavedSearch
    mode: str  # firehose | query
    last_run_at: datetime | None
    next_run_at: datetime | None
    disabled_reason: str | None
    alerts_7d: int  # its yield: alerts sent for it in the last 7 days
    alerts_total: int
    last_error: str | None  # the error of its most recent run, if that run failed
    backfill: str | None  # its backfill's state: syncing, idle, error, paused, complete


@dataclass(frozen=True)
class StreamStatus:
    """One firehose stream (a marketplace's category) as `status` shows it."""

    stream: str
    last_poll_at: datetime | None
    next_run_at: datetime | None
    interval_minutes: float | None
    arrivals_per_min: float | None


@dataclass(frozen=True)
class StatusReport:
    searches: list[SearchStatus]
    streams: list[StreamStatus]
    budget_used: int
    budget_limit: int
    alert_counts: dict[str, int]
    failures: list[tuple[str, str, str | None]]
    last_activity: datetime | None  # when a job last finished: is the daemon alive?
    started_at: datetime | None  # when the daemon last started
    stopped_at: datetime | None  # when it last stopped cleanly (None while it runs)
    events_waiting: int  # domain events not yet delivered by the outbox relay


def read_status(
    read: Reader,
    now: datetime,
    *,
    budget_limit: int,
    marketplace: str,
    categories: Sequence[str],
    budget_service: str = "ebay",
) -> StatusReport:
    """The report from one reader; `marketplace` and `categories` are the firehose
    streams' (a search outside them runs its own query)."""
    modes: dict[int, str] = dict(read(_MODES, {}))
    backfills = {
        search_id: "complete" if completed_at is not None else status
        for search_id, status, completed_at in read(_BACKFILLS, {})
    }
    runs = read(_RUNS, {"limit": RECENT_RUNS})
    last_run: dict[str, tuple[str, str | None]] = {}
    for target, status, error, _ in runs:
        if target and target not in last_run and status != "running":
            last_run[target] = (status, error)
    week = {int(s): int(n) for s, n in read(_SENT_SINCE, {"since": now - timedelta(days=7)})}
    ever = {int(s): int(n) for s, n in read(_SENT, {})}
    rows = []
    for row in read(_SEARCHES, {}):
        search = _search(row)
        disabled_reason, last_run_at, next_run_at = row[11], _utc(row[12]), _utc(row[13])
        status, error = last_run.get(f"search:{search.id}", ("", None))
        rides = rides_firehose(search, modes.get(search.id), marketplace, categories)
        rows.append(
            SearchStatus(
                search=search,
                mode=SearchMode.FIREHOSE if rides else SearchMode.QUERY,
                last_run_at=last_run_at,
                next_run_at=next_run_at,
                disabled_reason=disabled_reason,
                alerts_7d=week.get(search.id, 0),
                alerts_total=ever.get(search.id, 0),
                last_error=error if status == "error" else None,
                backfill=backfills.get(search.id),
            )
        )
    calls = read(_CALLS, {"service": budget_service, "day": budget_day(now).isoformat()})
    keys = {"started": STARTED_AT_KEY, "stopped": STOPPED_AT_KEY}
    stamps: dict[str, str] = dict(read(_DAEMON_STAMPS, keys))
    finished = [moment for *_, f in runs if (moment := _utc(f)) is not None]
    return StatusReport(
        searches=rows,
        streams=[
            StreamStatus(stream, _utc(last), _utc(nxt), interval, rate)
            for stream, last, nxt, interval, rate in read(_STREAMS, {})
        ],
        budget_used=int(calls[0][0] or 0) if calls else 0,
        budget_limit=budget_limit,
        alert_counts={status: int(n) for status, n in read(_ALERT_COUNTS, {})},
        failures=[(r, i, e) for r, i, e in read(_FAILURES, {"limit": RECENT_FAILURES})],
        last_activity=max(finished, default=None),
        started_at=_stamp(stamps.get(STARTED_AT_KEY)),
        stopped_at=_stamp(stamps.get(STOPPED_AT_KEY)),
        events_waiting=int(read(_EVENTS_WAITING, {})[0][0]),
    )


def _search(row: tuple[Any, ...]) -> SavedSearch:
    """A saved_searches row (the columns of _SEARCHES) as storage/searches.py reads it."""
    channels, disabled_reason = row[10], row[11]
    return SavedSearch(
        id=int(row[0]),
        query=row[1],
        chat_id=row[2],
        name=row[3],
        min_deal_score=float(row[4]),
        poll_minutes=int(row[5]),
        active=bool(row[6]) and not disabled_reason,
        rule=row[7],
        category_id=row[8],
        marketplace=row[9],
        channels=tuple(json.loads(channels)) if channels else (),
    )


def _utc(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime (what the schema's UTCDateTime returns)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stamp(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# -- readers ------------------------------------------------------------------------------


def sqlalchemy_reader(conn: sa.Connection) -> Reader:
    """Run the statements on a SQLAlchemy connection; times bind as the schema binds them."""
    import sqlalchemy as sa

    from vinyl_detective.storage.schema import UTCDateTime

    def read(sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        stmt = sa.text(sql)
        times = [sa.bindparam(k, type_=UTCDateTime()) for k, v in params.items() if _is_time(v)]
        if times:
            stmt = stmt.bindparams(*times)
        return [tuple(row) for row in conn.execute(stmt, dict(params))]

    return read


def sqlite_path(database_url: str) -> Path | None:
    """The file of a `sqlite:///path` URL; None for any other database (or :memory:)."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or "?" in database_url:
        return None
    path = database_url.removeprefix(prefix)
    return None if path in ("", ":memory:") else Path(path).expanduser()


@contextlib.contextmanager
def sqlite_reader(path: Path) -> Iterator[Reader | None]:
    """Run the statements with the standard library's sqlite3, in one read transaction
    (a consistent snapshot; in WAL mode it never waits for the daemon's writes).

    Yields None when this cannot serve: no such file yet, or a schema that is not the
    newest (a migration is owed): the caller then opens the database as usual."""
    if not path.is_file():
        yield None
        return
    conn = sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("BEGIN")
        try:
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:  # a new or pre-Alembic database
            revision = None
        if revision is None or revision[0] != head_revision():
            yield None
            return

        def read(sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
            bound = {k: _sqlite_time(v) if _is_time(v) else v for k, v in params.items()}
            return conn.execute(sql, bound).fetchall()

        yield read
    finally:
        conn.close()


def _is_time(value: Any) -> bool:
    return isinstance(value, datetime)


def _sqlite_time(moment: datetime) -> str:
    """An aware time as SQLAlchemy stores a DateTime in SQLite: naive UTC ISO text with a
    space and microseconds, so that text comparisons order it with the stored ones."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the database; pass an aware UTC time")
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
