"""The matcher's view of the catalog: `SqlCatalog`, the `CatalogLookup` port of
domain/catalog_entry.py over one database connection.

Identifier lookups (catalog numbers, barcodes, a catalog number cut short) are plain SQL
here. The fuzzy prefilter is the one database-specific piece: on SQLite `SqliteWords`
(storage/sqlite_words.py) searches the FTS5 index, on PostgreSQL `PostgresWords`
(storage/postgres_words.py) takes the same steps on the server, elsewhere
storage/fulltext.py's portable `candidate_release_ids` answers. `_collect` turns the rows
read into `CatalogEntry` objects.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from vinyl_detective.domain.catalog_entry import CatalogEntry
from vinyl_detective.storage.catalog import (
    BARCODE,
    CATNO,
    DESCRIPTION_SEP,
    IN_CHUNK,
    LIST_SEP,
    chunks,
    split_values,
)
from vinyl_detective.storage.fulltext import candidate_release_ids
from vinyl_detective.storage.sqlite_words import COMMON_COUNTS, TUNING, SqliteWords

if TYPE_CHECKING:
    from vinyl_detective.storage.postgres_words import PostgresWords, Rows

__all__ = ["SqlCatalog"]

# The catalog's columns as CatalogEntry needs them, with every identifier (one row each);
# `_collect` reads them by position.
_ENTRY_COLUMNS = (
    "r.id, r.artist, r.title, r.format, r.format_descriptions, r.labels, r.country, "
    "r.year, r.master_id, i.kind, i.value"
)
_HIT = 11  # after _ENTRY_COLUMNS: the identifier value an identifier lookup hit


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
        self._psycopg = conn.dialect.driver == "psycopg"
        self._postgres = None if self._sqlite else _postgres_words(conn, self._rows)
        self._sqlite_words = SqliteWords(conn, self._rows) if self._sqlite else None

    def _rows(self, statement: str, parameters: Sequence[object] = ()) -> list[Any]:
        """The rows of one plain-SQL statement, as tuples (index them, not by name).

        psycopg prepares a statement it sees a few times: parsed and planned once per
        connection."""
        if self._sqlite or self._psycopg:
            driver = self._conn.connection.driver_connection
            return driver.execute(statement, parameters).fetchall()  # type: ignore[no-any-return,union-attr]
        return list(self._conn.exec_driver_sql(statement, tuple(parameters)).all())

    def by_catalog_nos(self, normalised: Collection[str]) -> dict[str, list[CatalogEntry]]:
        values = sorted({v for v in normalised if v})
        return self._by_identifier(CATNO, values) if values else {}

    def by_barcode(self, ean13: str) -> list[CatalogEntry]:
        return self._by_identifier(BARCODE, [ean13]).get(ean13, [])

    def fuzzy_candidates(self, words: Sequence[str], limit: int) -> list[CatalogEntry]:
        """Releases sharing at least two of `words` (their artist and title, presumably).

        On SQLite the cost is bounded whatever the catalog size: pairs of words are looked
        up together in the FTS5 index, the most selective pair first, and after a crowd the
        releases holding every word of the listing (or all but one), with the shortest
        names, come first (`SqliteWords.candidate_ids`). PostgreSQL takes the same steps
        on the server (`PostgresWords`) and hands back the same candidates in the same
        order.
        """
        words = [w for w in dict.fromkeys(words) if w]
        if not words:
            return []
        if self._postgres is not None:  # the same steps, on the server
            return list(
                _collect(self._postgres.candidate_rows(words, limit, _ENTRY_COLUMNS)).values()
            )
        if self._sqlite_words is None:
            return self._in_order(candidate_release_ids(self._conn, words, limit))
        return self._in_order(self._sqlite_words.candidate_ids(words, limit))

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

    def _in_order(self, ids: list[int]) -> list[CatalogEntry]:
        entries = self._entries(ids)
        return [entries[i] for i in ids if i in entries]

    def _among(self, column: str, values: Sequence[object]) -> tuple[str, Sequence[object]]:
        """`column IN (…)` and its parameters; on PostgreSQL `= ANY(array)`: one statement
        text whatever the count, which psycopg prepares once."""
        if self._psycopg:
            return f"{column} = ANY(%s)", [list(values)]
        return f"{column} IN ({', '.join([self._mark] * len(values))})", values

    def _by_identifier(self, kind: str, values: list[str]) -> dict[str, list[CatalogEntry]]:
        found: dict[str, list[CatalogEntry]] = {}
        for chunk in chunks(values, IN_CHUNK):
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
        for chunk in chunks(ids, IN_CHUNK):
            among, bound = self._among("r.id", chunk)
            rows = self._rows(
                f"SELECT {_ENTRY_COLUMNS} FROM releases r "
                f"LEFT JOIN release_identifiers i ON i.release_id = r.id WHERE {among}",
                bound,
            )
            entries.update(_collect(rows))
        return entries


def _postgres_words(conn: sa.Connection, rows: Rows) -> PostgresWords | None:
    """PostgreSQL's fuzzy prefilter (migration 0012's `release_words`), on PostgreSQL."""
    if conn.dialect.name != "postgresql":
        return None
    from vinyl_detective.storage.postgres_words import PostgresWords

    return PostgresWords(rows, str(conn.engine.url), COMMON_COUNTS, TUNING)


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
            format_descriptions=split_values(r[4], DESCRIPTION_SEP),
            labels=split_values(r[5], LIST_SEP),
            country=r[6],
        )
        for release_id, r in first.items()
    }
