"""The local Discogs catalog: releases, their identifiers and their cached prices.

`release_rows` turns a `Release` into the rows stored for it (the bulk dump importer reuses
it); `upsert_releases` writes them, never touching the cached price columns, which only
`set_prices` changes. `SqlCatalog` is the matcher's view of the catalog (the
`CatalogLookup` port of domain/matching.py) over one connection.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import islice
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from vinyl_detective.domain.matching import CatalogEntry
from vinyl_detective.domain.models import PriceGuide, Release
from vinyl_detective.domain.normalize import normalize_barcode, normalize_catalog_no
from vinyl_detective.storage.fulltext import candidate_release_ids
from vinyl_detective.storage.schema import listings, release_identifiers, releases

__all__ = [
    "CATALOG_COLUMNS",
    "PRICE_COLUMNS",
    "SqlCatalog",
    "count_releases",
    "get_release",
    "release_rows",
    "set_prices",
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
_IN_CHUNK = 900

T = TypeVar("T")


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _joined(values: Sequence[str], sep: str) -> str | None:
    cleaned = [v.strip() for v in values if v and v.strip()]
    return sep.join(cleaned) if cleaned else None


def _split(value: str | None, sep: str) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(sep.strip()) if part.strip())


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
    for chunk in _chunks(releases_, _CHUNK):
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
        labels=_split(row.labels, LIST_SEP),
        catalog_nos=tuple(catnos),
        barcodes=tuple(barcodes),
        format=row.format,
        format_descriptions=_split(row.format_descriptions, DESCRIPTION_SEP),
        country=row.country,
        year=row.year,
        master_id=row.master_id,
        genres=_split(row.genres, LIST_SEP),
        styles=_split(row.styles, LIST_SEP),
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
        for chunk in _chunks(wanted, _IN_CHUNK):
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
    for chunk in _chunks(ids, _IN_CHUNK):
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


# A word in more releases than this is "common": counting stops there.
COMMON_WORD = 2000
# Releases the ranked full-text prefilter may have to score for one listing, at most.
QUERY_BUDGET = 3000
# (database url, word) -> capped count, for common words only (rare ones are cheap to count,
# and a word unknown today may arrive with tomorrow's import).
_COMMON_WORDS: dict[tuple[str, str], int] = {}
_RANKED_MATCH = sa.text(
    "SELECT rowid FROM releases_fts WHERE releases_fts MATCH :q "
    "ORDER BY bm25(releases_fts) LIMIT :n"
)


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


class SqlCatalog:
    """The matcher's `CatalogLookup` over one database connection.

    Each lookup is one query for the matching releases plus one for their identifiers;
    `by_catalog_nos` answers many candidate numbers at once.
    """

    # Releases returned per lookup at most: an identifier shared by more is no identifier.
    MAX_ROWS = 200

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def by_catalog_nos(self, normalised: Collection[str]) -> dict[str, list[CatalogEntry]]:
        values = sorted({v for v in normalised if v})
        if not values:
            return {}
        return self._by_identifier(CATNO, values)

    def by_barcode(self, ean13: str) -> list[CatalogEntry]:
        return self._by_identifier(BARCODE, [ean13]).get(ean13, [])

    def fuzzy_candidates(self, words: Sequence[str], limit: int) -> list[CatalogEntry]:
        ids = self._candidate_ids([w for w in dict.fromkeys(words) if w], limit)
        entries = self._entries(ids)
        return [entries[i] for i in ids if i in entries]

    def _candidate_ids(self, words: list[str], limit: int) -> list[int]:
        """Full-text candidates, ranked, at a cost that does not grow with the catalog.

        Ranking every release that shares a common word ("love", "live") with the listing
        would score tens of thousands of rows. So the rarest words are used: as many as fit
        a budget of releases to rank; when even the rarest word is common, releases must
        carry the two rarest words together.
        """
        if self._conn.dialect.name != "sqlite" or not words:
            return candidate_release_ids(self._conn, words, limit)
        frequencies = self._frequencies(words)
        present = sorted((df, w) for w, df in frequencies.items() if df > 0)
        if not present:
            return []
        chosen: list[str] = []
        total = 0
        for df, word in present:
            if chosen and total + df > QUERY_BUDGET:
                break
            chosen.append(word)
            total += df
        if total <= QUERY_BUDGET or len(present) == 1:
            return candidate_release_ids(self._conn, chosen, limit)
        both = " AND ".join(_fts_phrase(w) for _, w in present[:2])
        rows = self._conn.execute(_RANKED_MATCH, {"q": both, "n": limit})
        return [int(r[0]) for r in rows]

    def _frequencies(self, words: list[str]) -> dict[str, int]:
        """How many releases contain each word, counted up to COMMON_WORD (one query).

        Common words stay common: their counts are remembered per database.
        """
        database = str(self._conn.engine.url)
        known = {w: _COMMON_WORDS[(database, w)] for w in words if (database, w) in _COMMON_WORDS}
        unknown = [w for w in words if w not in known]
        if unknown:
            parts = [
                f"SELECT {i}, (SELECT count(*) FROM (SELECT 1 FROM releases_fts "
                f"WHERE releases_fts MATCH :w{i} LIMIT {COMMON_WORD}))"
                for i in range(len(unknown))
            ]
            params = {f"w{i}": _fts_phrase(w) for i, w in enumerate(unknown)}
            for index, count in self._conn.execute(sa.text(" UNION ALL ".join(parts)), params):
                word = unknown[int(index)]
                known[word] = int(count)
                if count >= COMMON_WORD:
                    if len(_COMMON_WORDS) > 100_000:
                        _COMMON_WORDS.clear()
                    _COMMON_WORDS[(database, word)] = int(count)
        return known

    def _by_identifier(self, kind: str, values: list[str]) -> dict[str, list[CatalogEntry]]:
        pairs: list[tuple[str, int]] = []
        for chunk in _chunks(values, _IN_CHUNK):
            rows = self._conn.execute(
                sa.select(release_identifiers.c.value, release_identifiers.c.release_id)
                .where(release_identifiers.c.kind == kind, release_identifiers.c.value.in_(chunk))
                .limit(self.MAX_ROWS)
            )
            pairs += [(str(r[0]), int(r[1])) for r in rows]
        entries = self._entries(list(dict.fromkeys(i for _, i in pairs)))
        found: dict[str, list[CatalogEntry]] = {}
        for value, release_id in pairs:
            if release_id in entries:
                found.setdefault(value, []).append(entries[release_id])
        return found

    def _entries(self, ids: Sequence[int]) -> dict[int, CatalogEntry]:
        if not ids:
            return {}
        catnos: dict[int, list[str]] = {}
        barcodes: dict[int, list[str]] = {}
        rows: list[Any] = []
        for chunk in _chunks(ids, _IN_CHUNK):
            rows.extend(
                self._conn.execute(
                    sa.select(
                        releases.c.id,
                        releases.c.artist,
                        releases.c.title,
                        releases.c.format,
                        releases.c.format_descriptions,
                        releases.c.labels,
                        releases.c.country,
                        releases.c.year,
                        releases.c.master_id,
                    ).where(releases.c.id.in_(chunk))
                )
            )
            idents = self._conn.execute(
                sa.select(
                    release_identifiers.c.release_id,
                    release_identifiers.c.kind,
                    release_identifiers.c.value,
                ).where(release_identifiers.c.release_id.in_(chunk))
            )
            for release_id, kind, value in idents:
                target = catnos if kind == CATNO else barcodes
                target.setdefault(int(release_id), []).append(str(value))
        return {
            int(r.id): CatalogEntry(
                release_id=int(r.id),
                artist=r.artist,
                title=r.title,
                format=r.format,
                catalog_nos=tuple(catnos.get(int(r.id), ())),
                barcodes=tuple(barcodes.get(int(r.id), ())),
                year=r.year,
                master_id=r.master_id,
                format_descriptions=_split(r.format_descriptions, DESCRIPTION_SEP),
                labels=_split(r.labels, LIST_SEP),
                country=r.country,
            )
            for r in rows
        }
