"""Opening the database: engine, SQLite pragmas, and migrating to the current schema."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from vinyl_detective.storage.revision import MIGRATIONS_DIR as MIGRATIONS_DIR
from vinyl_detective.storage.revision import head_revision as head_revision

log = logging.getLogger(__name__)

# SQLite has no DECIMAL type; amounts are two-decimal prices, stored and read back exactly
# enough (SQLAlchemy rounds to the column's scale). Silence the generic warning.
warnings.filterwarnings("ignore", message=r"Dialect sqlite\+pysqlite does \*not\* support Decimal")

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA cache_size = -64000",
    "PRAGMA busy_timeout = 5000",
)


def insert_if_absent(
    conn: sa.Connection, table: sa.Table, values: Mapping[str, Any], key: Sequence[str]
) -> bool:
    """Insert a row unless one with the same `key` columns exists (a unique index);
    True when this call created it. Race-free: of two workers, exactly one wins."""
    name = conn.dialect.name
    if name in ("sqlite", "postgresql"):
        # The dialect's own INSERT … ON CONFLICT (PostgreSQL's module loads only when used).
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        stmt = (
            insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=list(key))
            .returning(*(table.c[k] for k in key))
        )
        return conn.execute(stmt).first() is not None
    try:  # other databases: the unique index decides, inside a savepoint
        with conn.begin_nested():
            conn.execute(table.insert().values(**values))
    except sa.exc.IntegrityError:
        return False
    return True


def is_sqlite(engine: Engine | sa.Connection) -> bool:
    return engine.dialect.name == "sqlite"


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and the other pragmas on every connection."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
    if is_sqlite(engine):

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            # Writes (`engine.begin()`) take the write lock up front: one writer at a time,
            # no "database is locked" halfway through. Reads (`engine.connect()`, which
            # begins on first use) take none: in WAL mode they never wait for a writer.
            read_only = conn.info.get(_READING, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        engine._connection_cls = _SqliteConnection  # type: ignore[misc]

    return engine


_READING = "vinyl_detective.reading"


class _SqliteConnection(sa.Connection):
    """A connection that tells its begin listener whether it began by itself (a read)."""

    def _autobegin(self) -> None:
        self.info[_READING] = True
        try:
            super()._autobegin()
        finally:
            self.info.pop(_READING, None)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a new (or pre-Alembic) database."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return None if version is None else str(version)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the newest). Safe to call at every start."""
    from alembic import command  # Alembic is big: loaded only when there is work for it
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def open_database(url: str) -> Engine:
    """Create the engine and migrate: what every entry point calls first.

    A database already at the newest revision (every start but the first after an
    upgrade) is checked with one query, so a quick command like `status` stays quick."""
    engine = create_db_engine(url)
    if current_revision(engine) != head_revision():
        migrate(engine)
    return engine
