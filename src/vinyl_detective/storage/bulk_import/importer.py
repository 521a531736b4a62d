"""`import_releases` and `import_row_batches`: the two ways into the catalog in bulk, and
how an import stops (its input closed first, then the index restored).
"""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import Release
from vinyl_detective.storage.bulk_import.interrupts import interrupts_deferred
from vinyl_detective.storage.bulk_import.rows import ROW_COLUMNS, DriverRows, driver_time
from vinyl_detective.storage.bulk_import.writer import Writer, first_line
from vinyl_detective.storage.catalog import CATALOG_COLUMNS, release_rows

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


def _batches(items: Iterable[Release], size: int) -> Iterator[list[Release]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _close_input(items: object) -> None:
    close = getattr(items, "close", None)
    if callable(close):
        close()


def _stop(writer: Writer, items: object) -> None:
    """An import is stopping on an error the caller re-raises: stop the input (a dump
    reader's worker processes), then restore the index; neither may hide that error."""
    try:
        with interrupts_deferred():
            _close_input(items)
    except KeyboardInterrupt:
        pass  # already stopping
    except Exception as exc:
        log.warning("stopping the import's input failed: %s", first_line(exc))
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
    writer = Writer(engine, columns, sleep)
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
    writer = Writer(engine, ROW_COLUMNS, sleep)
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


__all__ = ["ImportStats", "import_releases", "import_row_batches"]
