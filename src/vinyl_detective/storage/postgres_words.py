"""The fuzzy prefilter on PostgreSQL: SQLite's steps, taken on the server in one round trip.

On SQLite, SqlCatalog.fuzzy_candidates asks storage/sqlite_words.py, which looks a
listing's words up two by two, rarest pair first, in FTS5's doclists: the releases
holding a word in id order, read only as far as the LIMIT. Migration 0012 gives
PostgreSQL the same lists — `release_words` (word, release_id, name_words), whose primary
key read for one word is its releases in id order — and the same steps as SQL functions:
`vinyl_detective_candidates` counts the words (capped at COMMON_WORD, common ones up to
COMMON_CEILING), looks up the pairs in sqlite_words.word_pairs order, puts a crowd's
fullest releases with the shortest names first, tries a third word, falls back to a
self-titled album's one word — so both databases hand the matcher the same candidates in
the same order (tests/test_postgres.py compares them; benchmarks/match_latency.py
compares the matcher's answers).

Why on the server: each step on SQLite is a function call; on PostgreSQL it would be a
round trip (4–6 per listing), and on a busy machine each one waits for the server
process to be scheduled. `candidate_rows` is one prepared statement that also joins the
candidates' catalog rows. A set of words is read from its rarest word's list, probing
the others' rows (primary-key lookups) — or, when even the rarest word is common, from
the tsvector's GIN index (migration 0006: it intersects whole lists at once) when fewer
than GIN_CAP releases hold them all, else by merging the two rarest lists in id order.

Common words' counts are remembered in this process (sqlite_words.COMMON_COUNTS, as
on SQLite): the caller sends those it knows, the server returns those it counted.

The words are folded by the server (`vinyl_detective_words`, migration 0006: the SQL
twin of domain/title_noise.normalize_text); FTS5's unicode61 tokenizer splits a few
things differently ("Don't" is two tokens there, one word here). One known word alone:
SQLite ranks its releases by bm25, PostgreSQL takes the shortest names first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["PostgresWords"]

# A primary-key probe costs about ten times a row read in a merge of two id-ordered lists.
PROBE_COST = 10
# Releases read from the GIN index at most: fewer found are all that hold the words.
GIN_CAP = 256

# Rows (word, count) of the common words counted, then the candidates' `{columns}` (of
# releases r and release_identifiers i, one row per identifier), best first.
_CANDIDATES = (
    "SELECT c.word, c.frequency, {columns} FROM vinyl_detective_candidates("
    "%s::text[], %s::text[], %s::integer[], %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "WITH ORDINALITY AS c(release_id, word, frequency, o) "
    "LEFT JOIN releases r ON r.id = c.release_id "
    "LEFT JOIN release_identifiers i ON i.release_id = r.id ORDER BY c.o"
)


Rows = Callable[[str, Sequence[object]], list[Any]]  # SqlCatalog._rows (catalog_lookup.py)


class PostgresWords:
    """SqlCatalog's fuzzy prefilter on PostgreSQL (see the module doc)."""

    def __init__(
        self,
        rows: Rows,
        database: str,
        common_counts: dict[tuple[str, str], int],
        tuning: tuple[int, ...],
    ) -> None:
        """`common_counts`: sqlite_words.COMMON_COUNTS, (database url, word) -> count of
        common words; `tuning`: sqlite_words.TUNING, its COMMON_WORD, COMMON_CEILING,
        PAIR_WORDS, COMMON_PARTNERS, CROWD_THIRDS, CROWD_SAMPLE and FULLEST_DROPS, in that
        order."""
        self._rows = rows
        self._database = database
        self._counts = common_counts
        self._tuning = tuning

    def candidate_rows(self, words: Sequence[str], limit: int, columns: str) -> list[Any]:
        """The rows of `columns` for up to `limit` releases sharing `words`, best first."""
        database = self._database
        counts = self._counts
        known = [w for w in words if (database, w) in counts]
        rows = self._rows(
            _CANDIDATES.format(columns=columns),
            (
                list(words),
                known,
                [counts[database, w] for w in known],
                limit,
                *self._tuning,
                PROBE_COST,
                GIN_CAP,
            ),
        )
        entries = []
        for row in rows:
            if row[0] is None:
                entries.append(row[2:])
                continue
            if len(counts) > 200_000:  # as on SQLite: common words stay common
                counts.clear()
            counts[database, str(row[0])] = int(row[1])
        return entries
