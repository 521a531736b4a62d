"""The fuzzy prefilter on PostgreSQL: `release_words` read the way SQLite reads FTS5.

SqlCatalog.fuzzy_candidates on SQLite looks a listing's words up two by two, rarest pair
first, in FTS5's doclists: the releases holding a word in id order, read only as far as
the LIMIT. Migration 0012 gives PostgreSQL the same lists: `release_words` (word,
release_id, name_words) with its primary key (word, release_id) — an index-only scan of
one word is its releases in id order. `PostgresWords.candidate_ids` runs the same steps
as SQLite's path over it (word counts capped at COMMON_WORD, then pairs, a crowd's
fullest releases with the shortest names, a third word, the self-titled fallback), so
both databases hand the matcher the same candidates in the same order.

Each step is one statement of a few fixed texts with the words as parameters, so psycopg
prepares it once per connection (after a few uses) and the server plans it once: a
lookup costs one round trip with no parsing or planning. A conjunction is driven by its
rarest word: that word's releases in id order (merged with the next rarest word's when
both are common), each kept when the other words' rows for it exist (primary-key
probes), until the LIMIT. The statements fix that shape: the server's generic plan
cannot tell a common word from a rare one.

The words are folded by the server (`vinyl_detective_words`, migration 0006: the SQL
twin of domain/title_noise.normalize_text); FTS5's unicode61 tokenizer splits a few
things differently ("Don't" is two tokens there, one word here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from vinyl_detective.storage import catalog_tuning as tuning

__all__ = ["PostgresWords"]


class Rows(Protocol):
    """SqlCatalog._rows: a statement's rows; `prepare=False`: planned for its parameters."""

    def __call__(
        self, statement: str, parameters: Sequence[object] = (), *, prepare: bool = True
    ) -> list[Any]: ...


# Up to `ceiling` releases holding each word, counted: one row (word, count) per word.
_COUNT = (
    "SELECT w.word, (SELECT count(*) FROM (SELECT 1 FROM release_words r "
    "WHERE r.word = w.word LIMIT %s) c) FROM unnest(%s::text[]) AS w(word)"
)
# The releases holding one word, the fewest artist and title words first (all are read).
_SHORTEST = (
    "SELECT release_id FROM release_words WHERE word = %s ORDER BY name_words, release_id LIMIT %s"
)
# A primary-key probe costs about ten times a row read in a merge of two id-ordered lists.
PROBE_COST = 10


def _holding_statement(merged: bool, probed: int, some_of: int) -> str:
    """The releases holding a set of words, in id order, with their artist + title word
    counts, up to a LIMIT (the last parameter).

    The driving word's releases (the first parameter; merged: the second, and the first
    is its partner, whose list is read beside it in id order — a merge join) are read in
    id order; of those, a release is kept when it holds the `probed` other words (an array
    parameter; primary-key probes) and at least `some_of` - 1 of the `some_of` words (an
    array parameter: all but one of them). The fence (OFFSET 0) keeps the probes from
    being pushed down to the driving word's scan: they test only the merge's releases."""
    inner = "SELECT d.release_id, d.name_words FROM release_words d"
    if merged:
        inner += " JOIN release_words p ON p.release_id = d.release_id AND p.word = %s"
    tests = []
    if probed:
        tests.append(
            "(SELECT count(*) FROM release_words o WHERE o.word = ANY(%s::text[]) "
            f"AND o.release_id = h.release_id) = {probed}"
        )
    if some_of:
        tests.append(
            "(SELECT count(*) FROM release_words s WHERE s.word = ANY(%s::text[]) "
            f"AND s.release_id = h.release_id) >= {some_of - 1}"
        )
    where = f"WHERE {' AND '.join(tests)} " if tests else ""
    return (
        f"SELECT h.release_id, h.name_words FROM ({inner} WHERE d.word = %s "
        f"ORDER BY d.release_id OFFSET 0) h {where}ORDER BY h.release_id LIMIT %s"
    )


class PostgresWords:
    """SqlCatalog's fuzzy prefilter steps over `release_words` (see the module doc)."""

    def __init__(self, rows: Rows, database: str) -> None:
        self._rows = rows
        self._database = database
        self._frequency: dict[str, int] = {}

    def candidate_ids(self, words: Sequence[str], limit: int) -> list[int]:
        """Up to `limit` release ids for the listing words `words`, best first: the same
        steps as SqlCatalog.fuzzy_candidates on SQLite, in the same order."""
        frequencies = self._frequencies(list(words))
        self._frequency = frequencies
        present = [w for n, w in sorted((n, w) for w, n in frequencies.items() if n > 0)]
        if len(present) <= 1:
            # One word (SQLite ranks its releases by bm25: the shortest holding it first).
            rows = self._rows(_SHORTEST, (present[0], limit)) if present else []
            return [int(r[0]) for r in rows]
        found: dict[int, None] = {}

        def fresh(holding: list[str], wanted: int) -> list[int]:
            ids = self._ids(holding, wanted + len(found) + 1)
            return [i for i in ids if i not in found][: wanted + 1]

        crowded = narrow = False
        for a, b in tuning.word_pairs(present, frequencies):
            wanted = limit - len(found)
            ids = fresh([a, b], wanted)
            if len(ids) > wanted:
                if not crowded:
                    crowded = True
                    fullest, every = self._fullest(present, limit)
                    found = dict.fromkeys([*fullest, *found])
                    wanted = limit - len(found)
                    narrow = not every
                for third in [w for w in present if w not in (a, b)][
                    : tuning.CROWD_THIRDS if narrow else 0
                ]:
                    if wanted <= 0:
                        break
                    found.update(dict.fromkeys(fresh([a, b, third], wanted)[:wanted]))
                    wanted = limit - len(found)
                ids = [i for i in ids if i not in found]
            found.update(dict.fromkeys(ids[: max(wanted, 0)]))
            if len(found) >= limit:
                break
        named = [w for w in present if not w.isdigit()]
        if not found and len(named) == 1:
            found = dict.fromkeys(self._shortest([named[0]], limit))
        return list(found)[:limit]

    def _fullest(self, present: list[str], limit: int) -> tuple[list[int], bool]:
        """As SqlCatalog._fullest: releases holding all of `present`, else all but one of
        its commonest few, shortest names first; and whether they hold every word."""
        ids = self._shortest(present, limit)
        if ids or len(present) < 3:
            return ids, bool(ids)
        droppable = present[1:][-tuning.FULLEST_DROPS :]
        kept = present[: -len(droppable)]
        ids = self._shortest(kept, limit, some_of=droppable)
        if not ids:
            return [], False
        for left_out in reversed(droppable[1:]):
            found = self._shortest([w for w in present if w != left_out], limit)
            if found:
                return found, False
        return ids, False

    def _shortest(self, holding: list[str], limit: int, some_of: Sequence[str] = ()) -> list[int]:
        """Of the first CROWD_SAMPLE releases (by id) holding every word of `holding` and
        all but one of `some_of`, up to `limit` with the fewest artist and title words."""
        rows = self._holding(holding, tuning.CROWD_SAMPLE, some_of)
        sized = sorted((int(words), int(release_id)) for release_id, words in rows)
        return [release_id for _, release_id in sized[:limit]]

    def _ids(self, holding: list[str], limit: int) -> list[int]:
        return [int(r[0]) for r in self._holding(holding, limit)]

    def _holding(self, holding: list[str], limit: int, some_of: Sequence[str] = ()) -> list[Any]:
        # The rarest word drives. When even it is common, its list and the next rarest's
        # are merged (reading both costs less than probing each of its releases); the
        # releases found are probed for the other words.
        driver, *others = sorted(holding, key=lambda w: (self._frequency.get(w, 0), w))
        merged = bool(others) and (
            self._frequency.get(driver, 0) * PROBE_COST
            > self._frequency.get(driver, 0) + self._frequency.get(others[0], 0)
        )
        parameters: list[object] = [others.pop(0), driver] if merged else [driver]
        if others:
            parameters.append(others)
        if some_of:
            parameters.append(list(some_of))
        statement = _holding_statement(merged, len(others), len(some_of))
        return self._rows(statement, (*parameters, limit))

    def _frequencies(self, words: list[str]) -> dict[str, int]:
        """As SqlCatalog._frequencies: exact below COMMON_WORD, else up to COMMON_CEILING,
        common words counted once per process and database."""
        database = self._database
        common_counts = tuning.COMMON_COUNTS
        known = {w: common_counts[database, w] for w in words if (database, w) in common_counts}
        counts = self._count([w for w in words if w not in known], tuning.COMMON_WORD)
        common = [w for w, n in counts.items() if n >= tuning.COMMON_WORD]
        if common:
            if len(common_counts) > 200_000:
                common_counts.clear()
            for word, n in self._count(common, tuning.COMMON_CEILING).items():
                counts[word] = common_counts[database, word] = n
        return known | counts

    def _count(self, words: list[str], ceiling: int) -> dict[str, int]:
        if not words:
            return {}
        return {str(word): int(n) for word, n in self._rows(_COUNT, (ceiling, words))}
