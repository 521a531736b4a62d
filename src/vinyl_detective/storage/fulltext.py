"""Full-text prefilter over the catalog — the one database-specific piece, behind one function.

SQLite: the FTS5 table `releases_fts` (created by the first migration, kept in step with
`releases` by triggers), ranked by bm25.

PostgreSQL: the generated column `releases.search_words` (a tsvector of artist, title and
catalog no., folded by the SQL function `vinyl_detective_words` exactly as the matcher
folds listing titles) with a GIN index, both created by migration 0006. Given two or more
words, a candidate must share at least two of them (any pair: artist + title, typically),
which keeps a common word from dragging in thousands of releases — unless only one of the
words is in the catalog at all, when that word is enough (as storage/sqlite_words.py does
on SQLite). The candidates sharing the most words come first, then the best `ts_rank`
(artist/title words weigh more than catalog-number words; shorter names first).

Other databases fall back to a LIKE scan over artist/title: correct but slow.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from vinyl_detective.domain.title_noise import normalize_text
from vinyl_detective.storage.schema import releases

# PostgreSQL (migration 0006): the tsvector column and its text-search configuration.
PG_SEARCH_COLUMN = "search_words"
PG_TS_CONFIG = "simple"

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
    # A NUL ends an FTS5 query string early ("unterminated string"): no word holds one.
    words = [c for w in words if (c := w.replace("\x00", ""))]
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
    if conn.dialect.name == "postgresql":
        return _postgres_candidates(conn, words, limit)
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


def _postgres_candidates(conn: sa.Connection, words: Sequence[str], limit: int) -> list[int]:
    """The PostgreSQL prefilter over `releases.search_words` (see the module doc)."""
    # The words folded as the index folds its text; one that folds to nothing is no word.
    folded = list(dict.fromkeys(f for f in (normalize_text(w) for w in words) if f))
    if not folded or limit <= 0:
        return []
    queries = [f"plainto_tsquery('{PG_TS_CONFIG}', :w{i})" for i in range(len(folded))]
    params: dict[str, object] = {f"w{i}": word for i, word in enumerate(folded)}
    params["n"] = limit
    column = PG_SEARCH_COLUMN
    anyone = " || ".join(queries)
    if len(queries) > 1:
        # Any two of the words: "a and (b or c or d) or b and (c or d) or c and d" is the
        # same as every pair, and cheaper for the index to test.
        two = " || ".join(
            f"({a} && ({' || '.join(queries[i + 1 :])}))" for i, a in enumerate(queries[:-1])
        )
        shared = " + ".join(f"({column} @@ {q})::int" for q in queries)
        rows = conn.execute(
            sa.text(
                f"SELECT id FROM releases WHERE {column} @@ ({two}) ORDER BY {shared} DESC, "
                f"ts_rank({column}, {anyone}, 1) DESC, id LIMIT :n"
            ),
            params,
        ).all()
        if rows:
            return [int(r[0]) for r in rows]
    else:
        rows = conn.execute(
            sa.text(
                f"SELECT id FROM releases WHERE {column} @@ {anyone} "
                f"ORDER BY ts_rank({column}, {anyone}, 1) DESC, id LIMIT :n"
            ),
            params,
        ).all()
        return [int(r[0]) for r in rows]
    # No release holds two of the words. As on SQLite, a listing with only one word the
    # catalog knows at all (a self-titled album: "The Doors – The Doors") is looked up by
    # that word; two known words that never meet find nothing.
    known = " + ".join(f"coalesce(bool_or(v @@ {q}), false)::int" for q in queries)
    rows = conn.execute(
        sa.text(
            f"WITH hits AS MATERIALIZED (SELECT id, {column} AS v FROM releases "
            f"WHERE {column} @@ ({anyone})), "
            f"known AS (SELECT {known} AS words FROM hits) "
            "SELECT h.id FROM hits h, known k WHERE k.words = 1 "
            f"ORDER BY ts_rank(h.v, {anyone}, 1) DESC, h.id LIMIT :n"
        ),
        params,
    ).all()
    return [int(r[0]) for r in rows]


def rebuild(conn: sa.Connection) -> None:
    """Rebuild the index from `releases` (after bulk loads that bypassed the triggers).

    Nothing to do on PostgreSQL: the generated column is computed on every write.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("INSERT INTO releases_fts(releases_fts) VALUES ('rebuild')")
        # Merge the index into one b-tree: word lookups on a big catalog get ~3x faster.
        conn.exec_driver_sql("INSERT INTO releases_fts(releases_fts) VALUES ('optimize')")
