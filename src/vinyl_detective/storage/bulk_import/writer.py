"""Writing batches of driver rows in transactions over the import's own connection, with
its bulk-load settings (SQLite: `BULK_LOAD_PRAGMAS`, put back as `NORMAL_PRAGMAS` and the
WAL checkpointed when the import ends), the full-text triggers dropped from the second
batch on, and the index restored at the end, also after a failure.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.storage.bulk_import.index import (
    drop_triggers,
    ensure_fulltext,
    restore_fulltext,
)
from vinyl_detective.storage.bulk_import.interrupts import interrupts_deferred
from vinyl_detective.storage.schema import release_identifiers, releases

log = logging.getLogger(__name__)

# The import connection's settings while it loads (see the module doc), and what they are
# put back to afterwards (the values `storage.db` sets on every connection, and SQLite's
# default checkpoint interval).
BULK_LOAD_PRAGMAS = ("PRAGMA synchronous = OFF", "PRAGMA wal_autocheckpoint = 16000")
NORMAL_PRAGMAS = ("PRAGMA synchronous = NORMAL", "PRAGMA wal_autocheckpoint = 1000")


def _placeholder(conn: sa.Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _quoted(conn: sa.Connection, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote(name))


def _upsert_sql(conn: sa.Connection, columns: Sequence[str]) -> str:
    mark = _placeholder(conn)
    names = ", ".join(_quoted(conn, c) for c in columns)
    values = ", ".join(mark for _ in columns)
    updates = ", ".join(
        f"{_quoted(conn, c)} = excluded.{_quoted(conn, c)}" for c in columns if c != "id"
    )
    return (
        f"INSERT INTO releases ({names}) VALUES ({values}) ON CONFLICT (id) DO UPDATE SET {updates}"
    )


def _identifier_sql(conn: sa.Connection) -> tuple[str, str]:
    mark = _placeholder(conn)
    insert = (
        "INSERT INTO release_identifiers (release_id, kind, value) "
        f"VALUES ({mark}, {mark}, {mark}) ON CONFLICT DO NOTHING"
    )
    delete = f"DELETE FROM release_identifiers WHERE release_id = {mark}"
    return insert, delete


def is_locked(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return "locked" in text or "busy" in text


class Writer:
    """Writes batches of driver rows, one transaction each, over one connection.

    On SQLite the `releases_fts` triggers are dropped before the second batch (a big
    import: the index is rebuilt once at the end by `close`, also after a failure).
    """

    # Restoring the index after a failure: attempts, and the pause before the second one
    # (doubled each time). Each attempt also waits out SQLite's busy_timeout.
    RESTORE_ATTEMPTS = 3
    RESTORE_PAUSE = 0.5

    def __init__(
        self,
        engine: Engine,
        columns: Sequence[str],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.sleep = sleep
        self.sqlite = engine.dialect.name == "sqlite"
        ensure_fulltext(engine)
        self.conn = engine.connect()
        conn = self.conn
        had_identifiers = (
            conn.execute(sa.select(release_identifiers.c.release_id).limit(1)).first() is not None
        )
        had_releases = conn.execute(sa.select(releases.c.id).limit(1)).first() is not None
        conn.rollback()
        self.bulk_settings = False
        if self.sqlite:
            self._set_pragmas(BULK_LOAD_PRAGMAS)
            self.bulk_settings = True
        # A fresh catalog has no old identifiers to replace (dump ids are unique).
        self.replace_identifiers = had_identifiers or had_releases
        self.upsert = _upsert_sql(conn, columns)
        self.insert_ids, self.delete_ids = _identifier_sql(conn)
        self.batches = 0
        self.triggers_dropped = False

    def write(
        self,
        rows: list[tuple[Any, ...]],
        identifiers: list[tuple[Any, ...]],
        checkpoint: Callable[[sa.Connection], None] | None,
    ) -> None:
        """One transaction: upsert `rows` (ids unique), replace their identifiers."""
        conn = self.conn
        with conn.begin():
            if self.sqlite and self.batches == 1 and not self.triggers_dropped:
                drop_triggers(conn)  # a big import: index once at the end instead
                self.triggers_dropped = True
            conn.exec_driver_sql(self.upsert, rows)
            if self.replace_identifiers:
                conn.exec_driver_sql(self.delete_ids, [(row[0],) for row in rows])
            if identifiers:
                conn.exec_driver_sql(self.insert_ids, identifiers)
            if checkpoint is not None:
                checkpoint(conn)
        self.batches += 1

    def close(self, *, failed: bool = False) -> None:
        """Restore the index if the triggers were dropped, and release the connection.

        `failed`: the import is stopping on an error (or Ctrl-C) that the caller will raise;
        a restore that fails then is logged (the next import or start repairs the index)
        instead of hiding that error.
        """
        try:
            if self.triggers_dropped:
                if failed:
                    log.info("restoring the full-text index before stopping")
                with interrupts_deferred():
                    self._restore()
                self.triggers_dropped = False
        except BaseException as exc:
            if not failed:
                raise
            log.error(
                "could not restore the full-text index after the import stopped (%s); it is "
                "rebuilt at the next start or import",
                first_line(exc),
            )
        finally:
            self._restore_settings()
            with contextlib.suppress(Exception):
                self.conn.close()

    def _set_pragmas(self, pragmas: Sequence[str]) -> None:
        # On the driver connection, outside any transaction (SQLAlchemy would begin one).
        dbapi = self.conn.connection.dbapi_connection
        assert dbapi is not None
        for pragma in pragmas:
            dbapi.execute(pragma)

    def _restore_settings(self) -> None:
        """Put the connection's settings back and checkpoint the WAL with them; a
        connection that cannot be put back is discarded instead of returning to the pool."""
        if not self.bulk_settings:
            return
        self.bulk_settings = False
        try:
            with interrupts_deferred():
                conn = self.conn
                if conn.invalidated:
                    return
                if conn.in_transaction():
                    conn.rollback()
                self._set_pragmas(NORMAL_PRAGMAS)
                self._set_pragmas(("PRAGMA wal_checkpoint(TRUNCATE)",))
        except BaseException as exc:
            log.warning("could not restore the import connection's settings: %s", first_line(exc))
            with contextlib.suppress(Exception):
                self.conn.invalidate()
            if not isinstance(exc, Exception):
                raise

    def _restore(self) -> None:
        pause = self.RESTORE_PAUSE
        for attempt in range(1, self.RESTORE_ATTEMPTS + 1):
            conn = self._usable_connection()
            try:
                with conn.begin():
                    restore_fulltext(conn)
                return
            except sa.exc.OperationalError as exc:
                if not is_locked(exc) or attempt == self.RESTORE_ATTEMPTS:
                    raise
                log.warning(
                    "the database is locked; restoring the full-text index again in %.1fs",
                    pause,
                )
            self.sleep(pause)
            pause *= 2

    def _usable_connection(self) -> sa.Connection:
        """The writer's connection with no transaction left open (a batch that was stopped
        halfway still holds one, and with it the write lock), or a new one if it is broken."""
        conn = self.conn
        try:
            if conn.invalidated:
                raise sa.exc.InvalidRequestError("connection invalidated")
            if conn.in_transaction():
                conn.rollback()
            return conn
        except Exception:
            with contextlib.suppress(Exception):
                conn.invalidate()  # never back to the pool with the bulk-load settings
            with contextlib.suppress(Exception):
                conn.close()
            self.conn = self.engine.connect()
            return self.conn


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


__all__ = ["BULK_LOAD_PRAGMAS", "NORMAL_PRAGMAS", "Writer", "first_line"]
