"""Loading millions of releases into the catalog fast (the Discogs dump import).

`import_releases` writes releases in large transactions with one prepared
`INSERT ... ON CONFLICT (id) DO UPDATE` per batch (executemany straight to the driver, the
rows built by `storage.catalog.release_rows`, the same as every other catalog write). The
update touches only catalog columns, never the cached prices, so importing next month's
dump keeps the prices fetched in between. Each release's identifiers are replaced.

Full-text index (SQLite): the first batch goes through the `releases_fts` triggers like any
other write. When a second batch follows, the import is big: the triggers are dropped, the
rest is written without them, and at the end the index is rebuilt in one pass and the
triggers recreated exactly as the first migration made them (`FTS5_SQLITE_DDL`). That last
step also runs when the import fails; if the process is killed in between,
`ensure_fulltext` (called at the start of every import, and safe to call at startup) sees
the missing triggers and repairs the index.

The dump import's fast path, `import_row_batches`, takes rows already built by
`dump_release_rows` in the dump reader's worker processes (a test holds them equal to
`release_rows`), so the importing process only writes.

Bulk-load settings (SQLite): for the import's own connection only, `synchronous = OFF`
(no fsync at each WAL checkpoint: a killed or crashed import still leaves a consistent
database, only a power cut during the import could lose or damage what it wrote) and a
WAL checkpoint every 16,000 pages instead of 1,000. When the import ends, however it ends,
the connection's settings are restored (`synchronous = NORMAL`, the usual checkpoint) and
the WAL is checkpointed once with them, so what was imported is on disk like any other
write; a connection whose settings could not be restored is discarded, never reused.

Every batch commits whole, so an interrupted import leaves complete releases only, and
rerunning it simply upserts again. A `checkpoint` callback runs inside each batch's
transaction so the caller can record how far it got atomically with the data.

Ctrl-C: a first SIGINT that lands while a batch is being written is held until the batch
has committed (and `on_batch` has run), then raised as usual: a KeyboardInterrupt in the
middle of a driver call would make SQLAlchemy throw the connection away with its
transaction still open, keeping the write lock and leaving the triggers dropped. A second
Ctrl-C interrupts at once. When an import stops for any reason, its input is closed first
(the dump reader stops its worker processes), the open transaction is rolled back, and the
index is restored (retried while the database is momentarily locked); a failure of that
cleanup is logged and never hides the error that stopped the import.
"""

from __future__ import annotations

import contextlib
import logging
import operator
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import Release
from vinyl_detective.domain.normalize import normalize_catalog_no
from vinyl_detective.storage.catalog import (
    BARCODE,
    CATALOG_COLUMNS,
    CATNO,
    DESCRIPTION_SEP,
    LIST_SEP,
    release_rows,
)
from vinyl_detective.storage.fulltext import FTS5_SQLITE_DDL, FTS5_TRIGGER_NAMES, rebuild
from vinyl_detective.storage.schema import release_identifiers, releases

log = logging.getLogger(__name__)

# The import connection's settings while it loads (see the module doc), and what they are
# put back to afterwards (the values `storage.db` sets on every connection, and SQLite's
# default checkpoint interval).
BULK_LOAD_PRAGMAS = ("PRAGMA synchronous = OFF", "PRAGMA wal_autocheckpoint = 16000")
NORMAL_PRAGMAS = ("PRAGMA synchronous = NORMAL", "PRAGMA wal_autocheckpoint = 1000")

_IDENTIFIER_COLUMNS = ("release_id", "kind", "value")
# The columns of the rows `dump_release_rows` builds, in order (the same set as
# `CATALOG_COLUMNS`: a test holds them to `release_rows`).
ROW_COLUMNS = (
    "id",
    "artist",
    "title",
    "labels",
    "catalog_no",
    "barcode",
    "format",
    "format_descriptions",
    "country",
    "year",
    "master_id",
    "genres",
    "styles",
    "status",
    "updated_at",
)

# A release as driver rows: the `releases` row (ROW_COLUMNS) and its identifier rows.
DriverRows = tuple[tuple[Any, ...], list[tuple[int, str, str]]]


@dataclass(frozen=True, slots=True)
class ImportStats:
    """What an import did. `releases` were written (inserted or updated) in `batches`.

    The dump reader's counts ride along when the import came from a dump: `parsed`
    releases read, `filtered` dropped by status/filters, `resumed` passed over because an
    earlier run had already imported them.
    """

    releases: int = 0
    identifiers: int = 0
    batches: int = 0
    parsed: int = 0
    filtered: int = 0
    resumed: int = 0
    seconds: float = 0.0


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


def _joined(values: Sequence[str], sep: str) -> str | None:
    # The reader's values are stripped already; only empty ones can be left to drop.
    if not values:
        return None
    if all(values):
        return sep.join(values)
    kept = [v for v in values if v]
    return sep.join(kept) if kept else None


def dump_release_rows(values: tuple[Any, ...], updated_at: Any) -> DriverRows:
    """The driver rows of one release as the dump reader gives it (`Release`'s fields in
    order, identifiers already cleaned): exactly what `storage.catalog.release_rows` stores
    for `Release(*values)`, without building the `Release` and its dicts.

    `updated_at` is the time as the driver takes it (`driver_time`). Runs in the dump
    reader's worker processes, so it is a plain module-level function.
    """
    (
        release_id,
        artist,
        title,
        labels,
        catalog_nos,
        barcodes,
        format_,
        descriptions,
        country,
        year,
        master_id,
        genres,
        styles,
        status,
    ) = values
    identifiers: list[tuple[int, str, str]] = []
    first_catno: str | None = None
    if catalog_nos:
        seen: set[str] = set()
        for raw in catalog_nos:
            value = normalize_catalog_no(raw)
            if value is None:
                continue
            if first_catno is None:
                first_catno = raw.strip()
            if value not in seen:
                seen.add(value)
                identifiers.append((release_id, CATNO, value))
    # The reader's barcodes are distinct 13-digit EANs already.
    for barcode in barcodes:
        identifiers.append((release_id, BARCODE, barcode))
    row = (
        release_id,
        artist,
        title,
        _joined(labels, LIST_SEP),
        first_catno,
        barcodes[0] if barcodes else None,
        format_,
        _joined(descriptions, DESCRIPTION_SEP),
        country,
        year,
        master_id,
        _joined(genres, LIST_SEP),
        _joined(styles, LIST_SEP),
        status,
        updated_at,
    )
    return row, identifiers


def driver_time(engine: Engine, moment: datetime) -> Any:
    """`moment` as the database driver takes it for `releases.updated_at`: on SQLite the
    text SQLAlchemy itself stores, so the driver does not convert it again on every row."""
    column_type = releases.c.updated_at.type.dialect_impl(engine.dialect)
    process = column_type.bind_processor(engine.dialect)
    return process(moment) if process else moment


def _batches(items: Iterable[Release], size: int) -> Iterator[list[Release]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _triggers_present(conn: sa.Connection) -> bool:
    names = {
        row[0]
        for row in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'releases'"
        )
    }
    return all(name in names for name in FTS5_TRIGGER_NAMES)


def _drop_triggers(conn: sa.Connection) -> None:
    for name in FTS5_TRIGGER_NAMES:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


def _restore_fulltext(conn: sa.Connection) -> None:
    """Rebuild the index from `releases` and recreate the triggers as migration 0001 did."""
    _drop_triggers(conn)
    rebuild(conn)
    for statement in FTS5_SQLITE_DDL:
        if statement.startswith("CREATE TRIGGER"):
            conn.exec_driver_sql(statement)


def ensure_fulltext(engine: Engine) -> bool:
    """Repair the full-text index if a killed import left its triggers dropped.

    Returns True when a repair was needed. A no-op on databases other than SQLite.
    """
    if engine.dialect.name != "sqlite":
        return False
    with engine.begin() as conn:
        if _triggers_present(conn):
            return False
        log.warning("full-text triggers missing (an import was interrupted): rebuilding the index")
        _restore_fulltext(conn)
    return True


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold a first Ctrl-C (SIGINT) until the block has finished, then raise it as usual.

    For work that must not stop halfway (a transaction, a cleanup). A second Ctrl-C inside
    the block interrupts at once. A no-op outside the main thread (where no signal handler
    can be set) and when SIGINT is ignored or not handled from Python.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous) and previous != signal.SIG_DFL:
        yield
        return
    held: list[bool] = []

    def hold(signum: int, frame: Any) -> None:
        if held:  # the second one: stop now
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        held.append(True)

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:  # the block finished: deliver the Ctrl-C it held
        if callable(previous):
            previous(signal.SIGINT, None)
        else:
            raise KeyboardInterrupt


def _is_locked(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return "locked" in text or "busy" in text


def _close_input(items: object) -> None:
    close = getattr(items, "close", None)
    if callable(close):
        close()


class _Writer:
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
                _drop_triggers(conn)  # a big import: index once at the end instead
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
                _first_line(exc),
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
            log.warning("could not restore the import connection's settings: %s", _first_line(exc))
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
                    _restore_fulltext(conn)
                return
            except sa.exc.OperationalError as exc:
                if not _is_locked(exc) or attempt == self.RESTORE_ATTEMPTS:
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _stop(writer: _Writer, items: object) -> None:
    """An import is stopping on an error the caller re-raises: stop the input (a dump
    reader's worker processes), then restore the index; neither may hide that error."""
    try:
        with interrupts_deferred():
            _close_input(items)
    except KeyboardInterrupt:
        pass  # already stopping
    except Exception as exc:
        log.warning("stopping the import's input failed: %s", _first_line(exc))
    writer.close(failed=True)


def import_releases(
    engine: Engine,
    releases_: Iterable[Release],
    *,
    now: datetime,
    batch_size: int = 5000,
    on_batch: Callable[[int], None] | None = None,
    checkpoint: Callable[[sa.Connection], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ImportStats:
    """Upsert `releases_` into the catalog in transactions of `batch_size`; returns the counts.

    `on_batch(n)` is called after each commit with the number of releases it wrote;
    `checkpoint(conn)` runs inside each batch's transaction, after the writes. Cached prices
    are never overwritten. Safe to rerun: the same input gives the same catalog.
    When the import stops early (an error, Ctrl-C), `releases_` is closed if it can be,
    the index is restored, and the error is raised. `sleep` waits between attempts to
    restore the index while the database is locked.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    columns = list(CATALOG_COLUMNS)
    # The same `now` for every row: convert it for the driver once, as the column type would.
    updated_at = driver_time(engine, now)
    row_values = operator.itemgetter(*columns)
    identifier_values = operator.itemgetter(*_IDENTIFIER_COLUMNS)

    written = 0
    identifiers = 0
    writer = _Writer(engine, columns, sleep)
    try:
        for batch in _batches(releases_, batch_size):
            rows: dict[int, tuple[Any, ...]] = {}
            ident_rows: dict[int, list[tuple[Any, ...]]] = {}
            for release in batch:  # a release repeated within a batch: the last one wins
                row, idents = release_rows(release, now)
                row["updated_at"] = updated_at
                rows[release.id] = row_values(row)
                ident_rows[release.id] = [identifier_values(i) for i in idents]
            flat = [r for rs in ident_rows.values() for r in rs]
            with interrupts_deferred():
                writer.write(list(rows.values()), flat, checkpoint)
                written += len(rows)
                identifiers += len(flat)
                if on_batch is not None:
                    on_batch(len(rows))
    except BaseException:
        _stop(writer, releases_)
        raise
    writer.close()
    return ImportStats(releases=written, identifiers=identifiers, batches=writer.batches)


def import_row_batches(
    engine: Engine,
    batches: Iterable[Sequence[DriverRows]],
    *,
    batch_size: int = 5000,
    on_batch: Callable[[int], None] | None = None,
    checkpoint: Callable[[sa.Connection], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ImportStats:
    """Write releases already turned into driver rows (`dump_release_rows`), as the dump
    reader's workers send them: the fast path of the dump import.

    Consecutive input batches are gathered into transactions of at least `batch_size`
    releases, never splitting an input batch, so `checkpoint(conn)` (run inside each
    transaction) sees the reader at a batch boundary. A release repeated within one
    transaction: the last one wins. Same guarantees (and `sleep`) as `import_releases`.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    written = 0
    identifiers = 0
    writer = _Writer(engine, ROW_COLUMNS, sleep)
    pending: list[DriverRows] = []

    def flush() -> None:
        nonlocal pending, written, identifiers
        rows = [row for row, _ in pending]
        if len({row[0] for row in rows}) != len(rows):
            pending = list({row[0]: (row, ids) for row, ids in pending}.values())
            rows = [row for row, _ in pending]
        flat = [ident for _, ids in pending for ident in ids]
        with interrupts_deferred():
            writer.write(rows, flat, checkpoint)
            written += len(rows)
            identifiers += len(flat)
            pending = []
            if on_batch is not None:
                on_batch(len(rows))

    try:
        for batch in batches:
            pending.extend(batch)
            if len(pending) >= batch_size:
                flush()
        if pending:
            flush()
    except BaseException:
        _stop(writer, batches)
        raise
    writer.close()
    return ImportStats(releases=written, identifiers=identifiers, batches=writer.batches)


__all__ = [
    "ROW_COLUMNS",
    "DriverRows",
    "ImportStats",
    "driver_time",
    "dump_release_rows",
    "ensure_fulltext",
    "import_releases",
    "import_row_batches",
    "interrupts_deferred",
]
