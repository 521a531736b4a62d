"""The local Discogs catalog: releases, their identifiers and their cached prices.

`release_rows` turns a `Release` into the rows stored for it (the bulk dump importer reuses
it); `upsert_releases` writes them, never touching the cached price columns, which only
`set_prices` changes. The matcher's view of the catalog (`SqlCatalog`, the `CatalogLookup`
port of domain/catalog_entry.py) is storage/catalog_lookup.py; it reads the stored lists back
with `split_values` and ids `IN_CHUNK` at a time with `chunks`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from vinyl_detective.domain.models import PriceGuide, Release
from vinyl_detective.domain.normalize import normalize_barcode, normalize_catalog_no
from vinyl_detective.storage.schema import listings, release_identifiers, releases

__all__ = [
    "CATALOG_COLUMNS",
    "IN_CHUNK",
    "PRICE_COLUMNS",
    "chunks",
    "count_releases",
    "get_release",
    "release_rows",
    "set_prices",
    "split_values",
    "stale_price_release_ids",
    "upsert_releases",
]

# Columns that `upsert_releases` never writes: they belong to the price refresher.
PRICE_COLUMNS = (
    "price_currency",
    "prices_json",
    "lowest_price",
    "num_for_sale",
    "prices_updated_at",
)
# Columns written from the catalog data (everything but the prices).
CATALOG_COLUMNS = tuple(c.name for c in releases.columns if c.name not in PRICE_COLUMNS)

CATNO = "catno"
BARCODE = "barcode"
LIST_SEP = "; "
DESCRIPTION_SEP = ", "
# Releases per statement when upserting: keeps bound parameters well under every limit.
_CHUNK = 500
# Ids per IN (...) list when reading.
IN_CHUNK = 900

T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _joined(values: Sequence[str], sep: str) -> str | None:
    cleaned = [v.strip() for v in values if v and v.strip()]
    return sep.join(cleaned) if cleaned else None


@lru_cache(maxsize=8192)
def split_values(value: str | None, sep: str) -> tuple[str, ...]:
    """A stored list ("LP, Album, Reissue") as its items; the same lists recur: cached."""
    if not value:
        return ()
    parts = [part.strip() for part in value.split(sep.strip())]
    return tuple(part for part in parts if part)


def release_rows(
    release: Release, now: datetime
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """The `releases` row (without price columns) and the `release_identifiers` rows.

    `catalog_no` is the first real raw catalog number (Discogs' "none" placeholders are
    skipped), `barcode` the first valid barcode as a 13-digit EAN. Identifiers hold every
    normalised catalog number (kind "catno") and barcode (kind "barcode"), deduplicated.
    """
    first_catno: str | None = None
    identifiers: list[dict[str, object]] = []
    seen: set[tuple[str, str]] = set()
    for raw in release.catalog_nos:
        value = normalize_catalog_no(raw)
        if value is None:
            continue
        if first_catno is None:
            first_catno = raw.strip()
        if (CATNO, value) not in seen:
            seen.add((CATNO, value))
            identifiers.append({"release_id": release.id, "kind": CATNO, "value": value})
    first_barcode: str | None = None
    for raw in release.barcodes:
        value = normalize_barcode(raw)
        if value is None:
            continue
        if first_barcode is None:
            first_barcode = value
        if (BARCODE, value) not in seen:
            seen.add((BARCODE, value))
            identifiers.append({"release_id": release.id, "kind": BARCODE, "value": value})
    row: dict[str, object] = {
        "id": release.id,
        "artist": release.artist,
        "title": release.title,
        "labels": _joined(release.labels, LIST_SEP),
        "catalog_no": first_catno,
        "barcode": first_barcode,
        "format": release.format,
        "format_descriptions": _joined(release.format_descriptions, DESCRIPTION_SEP),
        "country": release.country,
        "year": release.year,
        "master_id": release.master_id,
        "genres": _joined(release.genres, LIST_SEP),
        "styles": _joined(release.styles, LIST_SEP),
        "status": release.status,
        "updated_at": now,
    }
    return row, identifiers


def _upsert_statement(conn: sa.Connection) -> Any:
    """INSERT ... ON CONFLICT (id) DO UPDATE of the catalog columns, for this dialect."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        stmt: Any = sqlite.insert(releases)
    elif dialect == "postgresql":
        from sqlalchemy.dialects import postgresql  # its module: ~2 MB, loaded when used

        stmt = postgresql.insert(releases)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(f"upsert is not implemented for the {dialect} database")
    updates = {name: stmt.excluded[name] for name in CATALOG_COLUMNS if name != "id"}
    return stmt.on_conflict_do_update(index_elements=[releases.c.id], set_=updates)


def upsert_releases(conn: sa.Connection, releases_: Iterable[Release], now: datetime) -> int:
    """Insert or update releases and replace their identifiers; returns how many were written.

    Cached prices are kept. The full-text index follows through the triggers. The caller
    owns the transaction (`with engine.begin() as conn:`).
    """
    stmt = _upsert_statement(conn)
    written = 0
    for chunk in chunks(releases_, _CHUNK):
        rows: dict[int, dict[str, object]] = {}
        idents: dict[int, list[dict[str, object]]] = {}
        for release in chunk:  # a release repeated in one batch: the last one wins
            row, ids = release_rows(release, now)
            rows[release.id] = row
            idents[release.id] = ids
        conn.execute(stmt, list(rows.values()))
        conn.execute(
            sa.delete(release_identifiers).where(release_identifiers.c.release_id.in_(list(rows)))
        )
        ident_rows = [r for ids in idents.values() for r in ids]
        if ident_rows:
            conn.execute(sa.insert(release_identifiers), ident_rows)
        written += len(rows)
    return written


def _prices_from_row(row: sa.Row[Any]) -> PriceGuide | None:
    if row.price_currency is None and row.prices_updated_at is None:
        return None
    by_condition: dict[str, Decimal] = {}
    if row.prices_json:
        loaded = json.loads(row.prices_json)
        if isinstance(loaded, dict):
            by_condition = {str(k): Decimal(str(v)) for k, v in loaded.items()}
    lowest = row.lowest_price
    return PriceGuide(
        currency=row.price_currency or "",
        by_condition=by_condition,
        lowest=Decimal(str(lowest)) if lowest is not None else None,
        num_for_sale=row.num_for_sale,
        updated_at=row.prices_updated_at,
    )


def get_release(conn: sa.Connection, release_id: int) -> Release | None:
    """The release with its identifiers and cached prices, or None when it is not stored.

    `catalog_nos` starts with the raw catalog number as printed, followed by the other
    catalog numbers in normalised form; `barcodes` are 13-digit EANs, the first one first.
    """
    row = conn.execute(sa.select(releases).where(releases.c.id == release_id)).first()
    if row is None:
        return None
    ident_rows = conn.execute(
        sa.select(release_identifiers.c.kind, release_identifiers.c.value).where(
            release_identifiers.c.release_id == release_id
        )
    ).all()
    catnos: list[str] = []
    first_norm = normalize_catalog_no(row.catalog_no) if row.catalog_no else None
    if row.catalog_no:
        catnos.append(row.catalog_no)
    catnos += [v for k, v in ident_rows if k == CATNO and v != first_norm]
    barcodes: list[str] = [row.barcode] if row.barcode else []
    barcodes += [v for k, v in ident_rows if k == BARCODE and v != row.barcode]
    return Release(
        id=int(row.id),
        artist=row.artist,
        title=row.title,
        labels=split_values(row.labels, LIST_SEP),
        catalog_nos=tuple(catnos),
        barcodes=tuple(barcodes),
        format=row.format,
        format_descriptions=split_values(row.format_descriptions, DESCRIPTION_SEP),
        country=row.country,
        year=row.year,
        master_id=row.master_id,
        genres=split_values(row.genres, LIST_SEP),
        styles=split_values(row.styles, LIST_SEP),
        status=row.status,
        prices=_prices_from_row(row),
    )


def set_prices(conn: sa.Connection, release_id: int, guide: PriceGuide, now: datetime) -> None:
    """Store what Discogs says `release_id` is worth, stamped `now`."""
    prices = {grade: str(amount) for grade, amount in guide.by_condition.items()}
    conn.execute(
        sa.update(releases)
        .where(releases.c.id == release_id)
        .values(
            price_currency=guide.currency,
            prices_json=json.dumps(prices, sort_keys=True) if prices else None,
            lowest_price=guide.lowest,
            num_for_sale=guide.num_for_sale,
            prices_updated_at=now,
        )
    )


def _stale(older_than: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(releases.c.prices_updated_at.is_(None), releases.c.prices_updated_at < older_than)


def _oldest_first() -> tuple[sa.ColumnElement[Any], ...]:
    # Never priced first, then the oldest prices; portable NULLS FIRST.
    never = sa.case((releases.c.prices_updated_at.is_(None), 0), else_=1)
    return (never, releases.c.prices_updated_at, releases.c.id)


def stale_price_release_ids(
    conn: sa.Connection,
    older_than: datetime,
    limit: int,
    only_ids: Collection[int] | None = None,
) -> list[int]:
    """Up to `limit` releases never priced or priced before `older_than`.

    Releases that listings were matched to come first (their prices decide alerts), then
    the rest, never-priced and oldest first. `only_ids` restricts the choice to those ids.
    """
    if limit <= 0:
        return []
    if only_ids is not None:
        wanted = sorted(set(only_ids))
        if not wanted:
            return []
        matched = _matched_ids(conn, wanted)
        found: list[tuple[int, int, datetime | None]] = []
        for chunk in chunks(wanted, IN_CHUNK):
            rows = conn.execute(
                sa.select(releases.c.id, releases.c.prices_updated_at).where(
                    releases.c.id.in_(chunk), _stale(older_than)
                )
            )
            found += [(0 if r.id in matched else 1, int(r.id), r.prices_updated_at) for r in rows]
        found.sort(key=lambda t: (t[0], t[2] is not None, t[2] or older_than, t[1]))
        return [release_id for _, release_id, _ in found[:limit]]

    matched_query = (
        sa.select(releases.c.id)
        .where(
            _stale(older_than),
            releases.c.id.in_(
                sa.select(listings.c.match_release_id).where(
                    listings.c.match_release_id.is_not(None)
                )
            ),
        )
        .order_by(*_oldest_first())
        .limit(limit)
    )
    chosen = [int(r[0]) for r in conn.execute(matched_query)]
    if len(chosen) < limit:
        rest_query = sa.select(releases.c.id).where(_stale(older_than))
        if chosen:
            rest_query = rest_query.where(releases.c.id.not_in(chosen))
        rest_query = rest_query.order_by(*_oldest_first()).limit(limit - len(chosen))
        chosen += [int(r[0]) for r in conn.execute(rest_query)]
    return chosen


def _matched_ids(conn: sa.Connection, ids: Sequence[int]) -> set[int]:
    matched: set[int] = set()
    for chunk in chunks(ids, IN_CHUNK):
        rows = conn.execute(
            sa.select(listings.c.match_release_id)
            .where(listings.c.match_release_id.in_(chunk))
            .distinct()
        )
        matched.update(int(r[0]) for r in rows)
    return matched


def count_releases(conn: sa.Connection) -> int:
    """How many releases the local catalog holds."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(releases)).scalar_one())
