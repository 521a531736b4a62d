"""The dump import's database rows, built in the dump reader's worker processes.

`dump_release_rows` gives exactly what `storage.catalog.release_rows` stores for a release
(a test holds them equal on the synthetic dump and the real 2020 sample), as plain tuples
in `ROW_COLUMNS` order, without building the `Release` and its dicts; `driver_time` is the
import's time as the driver takes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from vinyl_detective.domain.normalize import normalize_catalog_no
from vinyl_detective.storage.catalog import BARCODE, CATNO, DESCRIPTION_SEP, LIST_SEP
from vinyl_detective.storage.schema import releases

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


__all__ = ["ROW_COLUMNS", "DriverRows", "driver_time", "dump_release_rows"]
