"""The local Discogs catalog: releases, their identifiers and their cached prices.

`release_rows` turns a `Release` into the rows stored for it (the bulk dump importer reuses
it); `upsert_releases` writes them, never touching the cached price columns, which only
`set_prices` changes. `SqlCatalog` is the matcher's view of the catalog (the
`CatalogLookup` port of domain/matching.py) over one connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from vinyl_detective.domain.matching import CatalogEntry
from vinyl_detective.domain.models import PriceGuide, Release
from vinyl_detective.domain.normalize import normalize_barcode, normalize_catalog_no
from vinyl_detective.storage.fulltext import candidate_release_ids
from vinyl_detective.storage.schema import listings, release_identifiers, releases

if TYPE_CHECKING:
    from vinyl_detective.storage.postgres_words import PostgresWords, Rows

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


@lru_cache(maxsize=8192)
def _split(value: str | None, sep: str) -> tuple[str, ...]:
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


# Full-text prefilter tuning (see SqlCatalog.fuzzy_candidates).
COMMON_WORD = 300  # a word in at least this many releases is common; counting stops here
PAIR_WORDS = 4  # candidates hold two of the listing's this-many rarest words, or
COMMON_PARTNERS = 3  # ... one of its two rarest words and one of this many common ones
CROWD_THIRDS = 2  # words tried as a third one when a pair matches too many releases
COMMON_CEILING = 5_000  # common words are counted up to this, once per process
CROWD_SAMPLE = 128  # releases of a crowd read to pick the ones with the shortest names
FULLEST_DROPS = 2  # words left out in turn when no release holds every word of the listing
CLASSIFIED_MAX = 32  # releases of the widest set whose words are asked of them one by one
_COMMON_COUNTS: dict[tuple[str, str], int] = {}  # (database url, word) -> count
RARE_COUNTS_KEPT = 50_000  # rare words' counts remembered per database, at most
# database url -> (the FTS5 structure record they were counted under, word -> count)
_RARE_COUNTS: dict[str, tuple[bytes, dict[str, int]]] = {}

# The catalog's columns as CatalogEntry needs them, with every identifier (one row each);
# `_collect` reads them by position.
_ENTRY_COLUMNS = (
    "r.id, r.artist, r.title, r.format, r.format_descriptions, r.labels, r.country, "
    "r.year, r.master_id, i.kind, i.value"
)
_HIT = 11  # after _ENTRY_COLUMNS: the identifier value an identifier lookup hit


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


class SqlCatalog:
    """The matcher's `CatalogLookup` over one database connection.

    Every lookup is one round trip returning the releases with their identifiers, and
    every statement goes through `_rows`: plain SQL, on SQLite straight through the
    sqlite3 connection underneath (SQLAlchemy's result machinery costs more than the
    query itself at a few dozen microseconds a statement, which matters at a millisecond
    per listing), elsewhere through `exec_driver_sql`. The statements join the caller's
    transaction when it has one; on SQLite without one, each reads on its own (a read in
    WAL mode never waits). `by_catalog_nos` answers many candidate numbers at once.
    """

    # Releases returned per identifier lookup at most: one shared by more is no identifier.
    MAX_ROWS = 200

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        self._sqlite = conn.dialect.name == "sqlite"
        self._mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self._database: str | None = None
        self._psycopg = conn.dialect.driver == "psycopg"
        self._postgres = None if self._sqlite else _postgres_words(conn, self._rows)

    def _rows(self, statement: str, parameters: Sequence[object] = ()) -> list[Any]:
        """The rows of one plain-SQL statement, as tuples (index them, not by name).

        psycopg prepares a statement it sees a few times: parsed and planned once per
        connection."""
        if self._sqlite or self._psycopg:
            driver = self._conn.connection.driver_connection
            return driver.execute(statement, parameters).fetchall()  # type: ignore[no-any-return,union-attr]
        return list(self._conn.exec_driver_sql(statement, tuple(parameters)).all())

    @property
    def _database_key(self) -> str:
        if self._database is None:
            self._database = str(self._conn.engine.url)
        return self._database

    def by_catalog_nos(self, normalised: Collection[str]) -> dict[str, list[CatalogEntry]]:
        values = sorted({v for v in normalised if v})
        return self._by_identifier(CATNO, values) if values else {}

    def by_barcode(self, ean13: str) -> list[CatalogEntry]:
        return self._by_identifier(BARCODE, [ean13]).get(ean13, [])

    def fuzzy_candidates(self, words: Sequence[str], limit: int) -> list[CatalogEntry]:
        """Releases sharing at least two of `words` (their artist and title, presumably).

        On SQLite the cost is bounded whatever the catalog size. bm25 ranking would read
        the positions of every row on the words' lists — tens of thousands for a common
        word — so nothing is ranked by the index. Instead pairs of words are looked up
        together, the most selective pair first, until `limit` releases are found: the
        release a listing names usually shares its rarest words.

        When more releases share a pair of words than were asked for (a crowd), the first
        ones by id are an arbitrary sample: the release the listing names, and its
        namesakes, may not be among them — and the matcher would then take the one it sees
        for the only one. So after a crowd, the releases holding every word of the listing
        (or all but one) come first, those with the shortest names first: they are the
        ones the listing can name exactly.
        """
        words = [w for w in dict.fromkeys(words) if w]
        if not words:
            return []
        if self._postgres is not None:  # the same steps, on the server
            return list(
                _collect(self._postgres.candidate_rows(words, limit, _ENTRY_COLUMNS)).values()
            )
        if not self._sqlite:
            return self._in_order(candidate_release_ids(self._conn, words, limit))
        frequencies = self._frequencies(words)
        present = [w for n, w in sorted((n, w) for w, n in frequencies.items() if n > 0)]
        if len(present) <= 1:
            return self._in_order(candidate_release_ids(self._conn, present, limit))
        found: dict[int, None] = {}

        def fresh(expression: str, wanted: int) -> list[int]:
            """Up to `wanted` + 1 releases matching `expression` that are not found yet."""
            ids = self._matching_ids(expression, wanted + len(found) + 1)
            return [i for i in ids if i not in found][: wanted + 1]

        crowded = narrow = False
        for a, b in _word_pairs(present, frequencies):
            wanted = limit - len(found)
            pair = f"{_fts_phrase(a)} AND {_fts_phrase(b)}"
            ids = fresh(pair, wanted)
            if len(ids) > wanted:
                if not crowded:
                    # The first ids of a crowd are arbitrary: first the releases that hold
                    # the most of the listing's words, with the shortest names.
                    crowded = True
                    fullest, every = self._fullest(present, limit)
                    found = dict.fromkeys([*fullest, *found])
                    wanted = limit - len(found)
                    # Releases holding every word found, a release missing one scores
                    # 5 points less: no rival. Otherwise look for those sharing a third
                    # word with the listing.
                    narrow = not every
                thirds = [w for w in present if w not in (a, b)][: CROWD_THIRDS if narrow else 0]
                if thirds and wanted > 0:
                    self._narrow(pair, thirds, found, limit, fresh)
                    wanted = limit - len(found)
                ids = [i for i in ids if i not in found]
            found.update(dict.fromkeys(ids[: max(wanted, 0)]))
            if len(found) >= limit:
                break
        named = [w for w in present if not w.isdigit()]
        if not found and len(named) == 1:
            # No release holds two of the words, and only one is a name: a self-titled
            # album ("Budgie Budgie cd 1997"). Its releases are among the shortest names
            # holding that word.
            found = dict.fromkeys(self._shortest_ids(_fts_phrase(named[0]), limit))
        return self._in_order(list(found)[:limit])

    def by_identifier_prefix(
        self, kind: str, prefix: str, limit: int
    ) -> dict[str, list[CatalogEntry]]:
        """Releases whose identifier of `kind` starts with `prefix` (a title cut at eBay's
        80 characters), for at most `limit` distinct identifiers."""
        if not prefix:
            return {}
        if self._conn.dialect.name == "sqlite":
            condition = f"value >= {self._mark} AND value < {self._mark}"
            bounds: tuple[str, ...] = (prefix, prefix + "\U0010ffff")
        else:
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            condition = f"value LIKE {self._mark}"
            bounds = (escaped + "%",)
        rows = self._rows(
            f"SELECT DISTINCT value FROM release_identifiers WHERE kind = {self._mark} "
            f"AND {condition} ORDER BY value LIMIT {int(limit)}",
            (kind, *bounds),
        )
        values = [str(r[0]) for r in rows]
        return self._by_identifier(kind, values) if values else {}

    def _narrow(
        self,
        pair: str,
        thirds: list[str],
        found: dict[int, None],
        limit: int,
        fresh: Callable[[str, int], list[int]],
    ) -> None:
        """Add to `found`, up to `limit`, releases holding `pair` and one of `thirds`: those
        holding the first third word first, then the second's (each in id order).

        One query asks for any of them; when it finds no more than are wanted (the usual
        case: a crowd of one pair rarely shares a third word), that is all there is, and
        which of them hold which third word is asked of those few rows only. Otherwise
        the words are asked for one by one. A lookup that finds little scans the words'
        whole lists: one instead of two matters most for a record the catalog lacks.
        """
        wanted = limit - len(found)
        phrases = [_fts_phrase(w) for w in thirds]
        if len(phrases) > 1:
            union = fresh(f"{pair} AND ({' OR '.join(phrases)})", wanted)
            if len(union) <= wanted:
                for phrase in phrases[:-1]:
                    found.update(dict.fromkeys(self._holding_among(phrase, union)))
                found.update(dict.fromkeys(union))
                return
        for phrase in phrases:
            if wanted <= 0:
                break
            found.update(dict.fromkeys(fresh(f"{pair} AND {phrase}", wanted)[:wanted]))
            wanted = limit - len(found)

    def _fullest(self, present: list[str], limit: int) -> tuple[list[int], bool]:
        """Up to `limit` releases holding all of `present` (else all but one), shortest first.

        `present` is rarest first; the commonest words are the first left out. The flag
        says whether the releases hold every word.

        Each lookup scans the words' whole lists when it finds little, so the first one
        asks for the widest set — all of the rarest words and all but one of the commonest
        few — and when that finds at most CLASSIFIED_MAX releases (most often none: a
        record the catalog lacks), which of them hold every word is asked of those rows
        only. A wider crowd is asked for word set by word set, narrowest first.
        """

        def holding(words: Sequence[str]) -> str:
            return " AND ".join(_fts_phrase(w) for w in words)

        if len(present) < 3:
            ids = self._shortest_ids(holding(present), limit)
            return ids, bool(ids)
        droppable = present[1:][-FULLEST_DROPS:]  # one word at least is kept
        kept = present[: -len(droppable)]
        # All of `kept` and all but one of `droppable`: the union of the subsets below.
        but_one = " OR ".join(
            f"({holding([w for w in droppable if w != left_out])})" for left_out in droppable
        )
        widest = f"{holding(kept)} AND ({but_one})"
        sized = self._sized_ids(widest, CLASSIFIED_MAX + 1)
        if not sized:
            return [], False
        if len(sized) <= CLASSIFIED_MAX:  # all of them: their subsets are asked of them
            ids = [release_id for _, release_id in sized]
            every = set(self._holding_among(holding(droppable), ids))
            if every:
                return [i for _, i in sorted(sized) if i in every][:limit], True
            for left_out in reversed(droppable[1:]):
                subset = holding([w for w in droppable if w != left_out])
                rest = set(self._holding_among(subset, ids))
                if rest:
                    return [i for _, i in sorted(sized) if i in rest][:limit], False
            return [i for _, i in sorted(sized)][:limit], False
        ids = self._shortest_ids(holding(present), limit)
        if ids:
            return ids, True
        for left_out in reversed(droppable[1:]):
            found = self._shortest_ids(holding([w for w in present if w != left_out]), limit)
            if found:
                return found, False
        # Only the last subset holds releases: the union is that subset.
        return self._shortest_ids(widest, limit), False

    def _holding_among(self, expression: str, ids: Sequence[int]) -> list[int]:
        """Those of `ids` (a few) that match `expression`, in id order: a seek per id."""
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        rows = self._rows(
            f"SELECT rowid FROM releases_fts WHERE releases_fts MATCH ? AND rowid IN ({marks})",
            (expression, *ids),
        )
        return sorted(int(r[0]) for r in rows)

    def _shortest_ids(self, expression: str, limit: int) -> list[int]:
        """Up to `limit` releases matching `expression`, fewest artist and title words first.

        A crowd is sampled (CROWD_SAMPLE releases by id): namesakes are found in proportion.
        """
        return [release_id for _, release_id in sorted(self._sized_ids(expression))[:limit]]

    def _sized_ids(self, expression: str, sample: int = CROWD_SAMPLE) -> list[tuple[int, int]]:
        """(artist and title words, id) of the first `sample` releases matching `expression`.

        The word counts come from FTS5's docsize table (one varint per column).
        """
        rows = self._rows(
            "SELECT h.id, d.sz FROM (SELECT rowid AS id FROM releases_fts "
            "WHERE releases_fts MATCH ? LIMIT ?) h "
            "LEFT JOIN releases_fts_docsize d ON d.id = h.id",
            (expression, sample),
        )
        return [(_name_words(sz), int(release_id)) for release_id, sz in rows]

    def _matching_ids(self, expression: str, limit: int) -> list[int]:
        rows = self._rows(
            "SELECT rowid FROM releases_fts WHERE releases_fts MATCH ? LIMIT ?",
            (expression, limit),
        )
        return [int(r[0]) for r in rows]

    def _in_order(self, ids: list[int]) -> list[CatalogEntry]:
        entries = self._entries(ids)
        return [entries[i] for i in ids if i in entries]

    def _frequencies(self, words: list[str]) -> dict[str, int]:
        """How many releases contain each word: exact below COMMON_WORD, else up to
        COMMON_CEILING. Common words are counted once per process and remembered (they stay
        common). Rare ones are remembered while the full-text index stays as it was (see
        `_rare_counts`)."""
        database = self._database_key
        known = {w: _COMMON_COUNTS[database, w] for w in words if (database, w) in _COMMON_COUNTS}
        rare = self._rare_counts()
        if rare:
            known |= {w: rare[w] for w in words if w in rare and w not in known}
        counts = self._count([w for w in words if w not in known], COMMON_WORD)
        common = [w for w, n in counts.items() if n >= COMMON_WORD]
        if common:
            if len(_COMMON_COUNTS) > 200_000:
                _COMMON_COUNTS.clear()
            for word, n in self._count(common, COMMON_CEILING).items():
                counts[word] = _COMMON_COUNTS[database, word] = n
        if rare is not None:
            if len(rare) > RARE_COUNTS_KEPT:
                rare.clear()
            rare.update((w, n) for w, n in counts.items() if n < COMMON_WORD)
        return known | counts

    def _rare_counts(self) -> dict[str, int] | None:
        """The rare words' counts remembered for this database, or None when they cannot be
        trusted now (outside SQLite, or inside a transaction, which may have changed the
        catalog without the index showing it yet).

        They are forgotten whenever the full-text index changes: FTS5 rewrites its
        structure record (a few dozen bytes, read in microseconds) on every change that
        reaches the index — an import, an upsert, a rebuild, by any process.
        """
        if not self._sqlite:
            return None
        driver = self._conn.connection.driver_connection
        if driver is None or driver.in_transaction:
            return None
        rows = self._rows("SELECT block FROM releases_fts_data WHERE id = 10")
        structure = bytes(rows[0][0]) if rows and rows[0][0] is not None else b""
        database = self._database_key
        remembered = _RARE_COUNTS.get(database)
        if remembered is None or remembered[0] != structure:
            if len(_RARE_COUNTS) > 16:  # one entry per database this process opens
                _RARE_COUNTS.clear()
            remembered = _RARE_COUNTS[database] = (structure, {})
        return remembered[1]

    def _count(self, words: list[str], ceiling: int) -> dict[str, int]:
        if not words:
            return {}
        parts = [
            f"SELECT {i}, (SELECT count(*) FROM (SELECT 1 FROM releases_fts "
            f"WHERE releases_fts MATCH ? LIMIT {ceiling}))"
            for i in range(len(words))
        ]
        rows = self._rows(" UNION ALL ".join(parts), [_fts_phrase(w) for w in words])
        return {words[int(index)]: int(count) for index, count in rows}

    def _among(self, column: str, values: Sequence[object]) -> tuple[str, Sequence[object]]:
        """`column IN (…)` and its parameters; on PostgreSQL `= ANY(array)`: one statement
        text whatever the count, which psycopg prepares once."""
        if self._psycopg:
            return f"{column} = ANY(%s)", [list(values)]
        return f"{column} IN ({', '.join([self._mark] * len(values))})", values

    def _by_identifier(self, kind: str, values: list[str]) -> dict[str, list[CatalogEntry]]:
        found: dict[str, list[CatalogEntry]] = {}
        for chunk in _chunks(values, _IN_CHUNK):
            among, bound = self._among("value", chunk)
            rows = self._rows(
                f"SELECT {_ENTRY_COLUMNS}, m.value FROM "
                f"(SELECT value, release_id FROM release_identifiers "
                f"WHERE kind = {self._mark} AND {among} LIMIT {self.MAX_ROWS}) m "
                "JOIN releases r ON r.id = m.release_id "
                "LEFT JOIN release_identifiers i ON i.release_id = r.id",
                (kind, *bound),
            )
            entries = _collect(rows)
            pairs = dict.fromkeys((str(row[_HIT]), int(row[0])) for row in rows)
            for hit, release_id in pairs:
                found.setdefault(hit, []).append(entries[release_id])
        return found

    def _entries(self, ids: Sequence[int]) -> dict[int, CatalogEntry]:
        """The releases with these ids, with their identifiers."""
        entries: dict[int, CatalogEntry] = {}
        for chunk in _chunks(ids, _IN_CHUNK):
            among, bound = self._among("r.id", chunk)
            rows = self._rows(
                f"SELECT {_ENTRY_COLUMNS} FROM releases r "
                f"LEFT JOIN release_identifiers i ON i.release_id = r.id WHERE {among}",
                bound,
            )
            entries.update(_collect(rows))
        return entries


# The prefilter's figures, for PostgreSQL's twin of fuzzy_candidates (storage/postgres_words.py).
_TUNING = (
    COMMON_WORD,
    COMMON_CEILING,
    PAIR_WORDS,
    COMMON_PARTNERS,
    CROWD_THIRDS,
    CROWD_SAMPLE,
    FULLEST_DROPS,
)


def _postgres_words(conn: sa.Connection, rows: Rows) -> PostgresWords | None:
    """PostgreSQL's fuzzy prefilter (migration 0012's `release_words`), on PostgreSQL."""
    if conn.dialect.name != "postgresql":
        return None
    from vinyl_detective.storage.postgres_words import PostgresWords

    return PostgresWords(rows, str(conn.engine.url), _COMMON_COUNTS, _TUNING)


def _name_words(size: bytes | None) -> int:
    """Artist + title word count from an FTS5 docsize blob (varints: artist, title, catno)."""
    if not size:
        return 1 << 30
    counts: list[int] = []
    value = shift = 0
    for byte in size:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            continue
        counts.append(value)
        if len(counts) == 2:
            break
        value = shift = 0
    return sum(counts)


def _word_pairs(present: list[str], frequencies: dict[str, int]) -> list[tuple[str, str]]:
    """Pairs of the listing's words to look for together, the most selective first.

    A release worth matching carries at least two of the listing's words (its artist and
    its title). Pairs of the rarest words come first — their releases are few and most
    likely the one — then each of the two rarest words with the commonest partners.
    """
    rare = [w for w in present if frequencies[w] < COMMON_WORD][:PAIR_WORDS]
    common = [w for w in present if frequencies[w] >= COMMON_WORD][:COMMON_PARTNERS]
    if len(rare) < 2 and not common:
        rare = present[:PAIR_WORDS]
    if not rare:  # every word is common: the rarest of them, two by two
        rare, common = present[:3], []
    pairs = [(a, b) for i, a in enumerate(rare) for b in rare[i + 1 :]]
    pairs += [(a, b) for a in rare[:2] for b in common]
    return sorted(pairs, key=lambda p: frequencies[p[0]] * frequencies[p[1]])


def _collect(rows: Iterable[Sequence[Any]]) -> dict[int, CatalogEntry]:
    """Rows of _ENTRY_COLUMNS (one identifier each) → one CatalogEntry per release, in order."""
    first: dict[int, Sequence[Any]] = {}
    catnos: dict[int, list[str]] = {}
    barcodes: dict[int, list[str]] = {}
    for row in rows:
        release_id = int(row[0])
        if release_id not in first:
            first[release_id] = row
        kind = row[9]
        if kind is not None:
            target = catnos if kind == CATNO else barcodes
            values = target.setdefault(release_id, [])
            value = str(row[10])
            if value not in values:
                values.append(value)
    return {
        release_id: CatalogEntry(
            release_id=release_id,
            artist=r[1],
            title=r[2],
            format=r[3],
            catalog_nos=tuple(catnos.get(release_id, ())),
            barcodes=tuple(barcodes.get(release_id, ())),
            year=r[7],
            master_id=r[8],
            format_descriptions=_split(r[4], DESCRIPTION_SEP),
            labels=_split(r[5], LIST_SEP),
            country=r[6],
        )
        for release_id, r in first.items()
    }
