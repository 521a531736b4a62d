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

Where things live: `importer.py` (the two entry points, stopping), `writer.py` (the
transactions and the connection's bulk-load settings), `rows.py` (the rows the dump
reader's workers build), `index.py` (the full-text triggers and their repair),
`interrupts.py` (holding a Ctrl-C). Import from this package.
"""

from vinyl_detective.storage.bulk_import.importer import (
    ImportStats,
    import_releases,
    import_row_batches,
)
from vinyl_detective.storage.bulk_import.index import ensure_fulltext
from vinyl_detective.storage.bulk_import.interrupts import interrupts_deferred
from vinyl_detective.storage.bulk_import.rows import (
    ROW_COLUMNS,
    DriverRows,
    driver_time,
    dump_release_rows,
)

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
