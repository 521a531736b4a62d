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

Every batch commits whole, so an interrupted import leaves complete releases only, and
rerunning it simply upserts again. A `checkpoint` callback runs inside each batch's
transaction so the caller can record how far it got atomically with the data.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import Release
from vinyl_detective.storage.catalog import CATALOG_COLUMNS, release_rows
from vinyl_detective.storage.fulltext import FTS5_SQLITE_DDL, FTS5_TRIGGER_NAMES, rebuild
from vinyl_detective.storage.schema import release_identifiers, releases

log = logging.getLogger(__name__)

_IDENTIFIER_COLUMNS = ("release_id", "kind", "value")


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


def import_releases(
    engine: Engine,
    releases_: Iterable[Release],
    *,
    now: datetime,
    batch_size: int = 5000,
    on_batch: Callable[[int], None] | None = None,
    checkpoint: Callable[[sa.Connection], None] | None = None,
) -> ImportStats:
    """Upsert `releases_` into the catalog in transactions of `batch_size`; returns the counts.

    `on_batch(n)` is called after each commit with the number of releases it wrote;
    `checkpoint(conn)` runs inside each batch's transaction, after the writes. Cached prices
    are never overwritten. Safe to rerun: the same input gives the same catalog.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    sqlite = engine.dialect.name == "sqlite"
    ensure_fulltext(engine)
    with engine.connect() as conn:
        had_identifiers = (
            conn.execute(sa.select(release_identifiers.c.release_id).limit(1)).first() is not None
        )
        had_releases = conn.execute(sa.select(releases.c.id).limit(1)).first() is not None
        columns = list(CATALOG_COLUMNS)
        upsert = _upsert_sql(conn, columns)
        insert_ids, delete_ids = _identifier_sql(conn)
        # The same `now` for every row: convert it for the driver once, as the column type would.
        process = releases.c.updated_at.type.bind_processor(conn.dialect)
        updated_at: Any = process(now) if process else now
    row_values = operator.itemgetter(*columns)
    identifier_values = operator.itemgetter(*_IDENTIFIER_COLUMNS)

    written = 0
    identifiers = 0
    batches = 0
    triggers_dropped = False
    try:
        for batch in _batches(releases_, batch_size):
            rows: dict[int, tuple[Any, ...]] = {}
            ident_rows: dict[int, list[tuple[Any, ...]]] = {}
            for release in batch:  # a release repeated within a batch: the last one wins
                row, idents = release_rows(release, now)
                row["updated_at"] = updated_at
                rows[release.id] = row_values(row)
                ident_rows[release.id] = [identifier_values(i) for i in idents]
            with engine.begin() as conn:
                if sqlite and batches == 1 and not triggers_dropped:
                    _drop_triggers(conn)  # a big import: index once at the end instead
                    triggers_dropped = True
                conn.exec_driver_sql(upsert, list(rows.values()))
                # A fresh catalog has no old identifiers to replace (dump ids are unique).
                if had_identifiers or had_releases:
                    conn.exec_driver_sql(delete_ids, [(i,) for i in rows])
                flat = [r for rs in ident_rows.values() for r in rs]
                if flat:
                    conn.exec_driver_sql(insert_ids, flat)
                if checkpoint is not None:
                    checkpoint(conn)
            written += len(rows)
            identifiers += len(flat)
            batches += 1
            if on_batch is not None:
                on_batch(len(rows))
    finally:
        if triggers_dropped:
            with engine.begin() as conn:
                _restore_fulltext(conn)
    return ImportStats(releases=written, identifiers=identifiers, batches=batches)


__all__ = ["ImportStats", "ensure_fulltext", "import_releases"]
