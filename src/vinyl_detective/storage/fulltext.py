"""Full-text prefilter over the catalog — the one SQLite-specific piece, behind one function.

On SQLite it uses the FTS5 table `releases_fts` (created by the first migration, kept in
step with `releases` by triggers). On other databases it falls back to a LIKE scan over
artist/title, which is correct but slow; PostgreSQL gets a real index later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from vinyl_detective.storage.schema import releases

# The FTS5 table and the triggers that keep it in step with `releases`. Created by the
# first migration; a bulk import may drop the triggers, load, rebuild, and recreate them.
FTS5_TRIGGER_NAMES = ("releases_fts_insert", "releases_fts_delete", "releases_fts_update")
FTS5_SQLITE_DDL = (
    "CREATE VIRTUAL TABLE releases_fts USING fts5("
    "artist, title, catalog_no, content='releases', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER releases_fts_insert AFTER INSERT ON releases BEGIN "
    "INSERT INTO releases_fts(rowid, artist, title, catalog_no) "
    "VALUES (new.id, new.artist, new.title, new.catalog_no); END",
    "CREATE TRIGGER releases_fts_delete AFTER DELETE ON releases BEGIN "
    "INSERT INTO releases_fts(releases_fts, rowid, artist, title, catalog_no) "
    "VALUES ('delete', old.id, old.artist, old.title, old.catalog_no); END",
    "CREATE TRIGGER releases_fts_update AFTER UPDATE OF artist, title, catalog_no ON releases "
    "BEGIN "
    "INSERT INTO releases_fts(releases_fts, rowid, artist, title, catalog_no) "
    "VALUES ('delete', old.id, old.artist, old.title, old.catalog_no); "
    "INSERT INTO releases_fts(rowid, artist, title, catalog_no) "
    "VALUES (new.id, new.artist, new.title, new.catalog_no); END",
)


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def candidate_release_ids(conn: sa.Connection, words: Sequence[str], limit: int) -> list[int]:
    """Ids of releases whose artist/title/catalog no. share words with `words`, best first."""
    words = [w for w in words if w]
    if not words:
        return []
    if conn.dialect.name == "sqlite":
        query = " OR ".join(_fts_phrase(w) for w in words)
        rows = conn.execute(
            sa.text(
                "SELECT rowid FROM releases_fts WHERE releases_fts MATCH :q "
                "ORDER BY bm25(releases_fts) LIMIT :n"
            ),
            {"q": query, "n": limit},
        )
        return [int(r[0]) for r in rows]
    haystack = sa.func.lower(releases.c.artist + " " + releases.c.title)
    hits = sum(
        (sa.case((haystack.contains(w.lower()), 1), else_=0) for w in words),
        sa.literal(0),
    )
    stmt = (
        sa.select(releases.c.id)
        .where(sa.or_(*(haystack.contains(w.lower()) for w in words)))
        .order_by(hits.desc())
        .limit(limit)
    )
    return [int(r[0]) for r in conn.execute(stmt)]


def rebuild(conn: sa.Connection) -> None:
    """Rebuild the index from `releases` (after bulk loads that bypassed the triggers)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("INSERT INTO releases_fts(releases_fts) VALUES ('rebuild')")
