"""SQLite's fuzzy prefilter: a listing's words looked up in the FTS5 index, pairs first.

`SqliteWords.candidate_ids` is what `SqlCatalog.fuzzy_candidates` (storage/catalog_lookup.py)
asks on SQLite: the ids of up to `limit` releases sharing at least two of a listing's
words, the most likely first. The cost is bounded whatever the catalog size: nothing is
ranked by the index; pairs of words are looked up together in FTS5's doclists (a word's
releases in id order, read only as far as the LIMIT), the most selective pair first
(`word_pairs`); after a crowd (more releases share a pair than were asked for), the
releases holding every word of the listing, or all but one, come first, the shortest
names first (`_fullest`); then those sharing a third word (`_narrow`); a self-titled
album's one name word is the last resort.

How many releases hold each word decides the pairs: the counts of common words (in at
least COMMON_WORD releases) are remembered per process in `COMMON_COUNTS`, those of rare
words in `_RARE_COUNTS` while the full-text index stays as it was. `TUNING` hands the
same figures to PostgreSQL's twin of these steps (storage/postgres_words.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa

from vinyl_detective.storage.fulltext import candidate_release_ids

if TYPE_CHECKING:
    from vinyl_detective.storage.postgres_words import Rows

__all__ = ["COMMON_COUNTS", "TUNING", "SqliteWords", "fts_phrase", "word_pairs"]

# Full-text prefilter tuning (see SqliteWords.candidate_ids).
COMMON_WORD = 300  # a word in at least this many releases is common; counting stops here
PAIR_WORDS = 4  # candidates hold two of the listing's this-many rarest words, or
COMMON_PARTNERS = 3  # ... one of its two rarest words and one of this many common ones
CROWD_THIRDS = 2  # words tried as a third one when a pair matches too many releases
COMMON_CEILING = 5_000  # common words are counted up to this, once per process
CROWD_SAMPLE = 128  # releases of a crowd read to pick the ones with the shortest names
FULLEST_DROPS = 2  # words left out in turn when no release holds every word of the listing
CLASSIFIED_MAX = 32  # releases of the widest set whose words are asked of them one by one
COMMON_COUNTS: dict[tuple[str, str], int] = {}  # (database url, word) -> count
RARE_COUNTS_KEPT = 50_000  # rare words' counts remembered per database, at most
# database url -> (the FTS5 structure record they were counted under, word -> count)
_RARE_COUNTS: dict[str, tuple[bytes, dict[str, int]]] = {}

# The prefilter's figures, for PostgreSQL's twin of candidate_ids (storage/postgres_words.py).
TUNING = (
    COMMON_WORD,
    COMMON_CEILING,
    PAIR_WORDS,
    COMMON_PARTNERS,
    CROWD_THIRDS,
    CROWD_SAMPLE,
    FULLEST_DROPS,
)


def fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


class SqliteWords:
    """The FTS5 candidate search of `SqlCatalog` over one SQLite connection.

    Every statement goes through `rows` (the catalog's `_rows`: plain SQL on the sqlite3
    connection underneath, joining the caller's transaction when it has one).
    """

    def __init__(self, conn: sa.Connection, rows: Rows) -> None:
        self._conn = conn
        self._rows = rows
        self._database: str | None = None

    @property
    def _database_key(self) -> str:
        if self._database is None:
            self._database = str(self._conn.engine.url)
        return self._database

    def candidate_ids(self, words: list[str], limit: int) -> list[int]:
        """Up to `limit` releases sharing at least two of `words` (distinct, non-empty).

        bm25 ranking would read the positions of every row on the words' lists — tens of
        thousands for a common word — so nothing is ranked by the index. Instead pairs of
        words are looked up together, the most selective pair first, until `limit`
        releases are found: the release a listing names usually shares its rarest words.

        When more releases share a pair of words than were asked for (a crowd), the first
        ones by id are an arbitrary sample: the release the listing names, and its
        namesakes, may not be among them — and the matcher would then take the one it sees
        for the only one. So after a crowd, the releases holding every word of the listing
        (or all but one) come first, those with the shortest names first: they are the
        ones the listing can name exactly.
        """
        frequencies = self._frequencies(words)
        present = [w for n, w in sorted((n, w) for w, n in frequencies.items() if n > 0)]
        if len(present) <= 1:
            return candidate_release_ids(self._conn, present, limit)
        found: dict[int, None] = {}

        def fresh(expression: str, wanted: int) -> list[int]:
            """Up to `wanted` + 1 releases matching `expression` that are not found yet."""
            ids = self._matching_ids(expression, wanted + len(found) + 1)
            return [i for i in ids if i not in found][: wanted + 1]

        crowded = narrow = False
        for a, b in word_pairs(present, frequencies):
            wanted = limit - len(found)
            pair = f"{fts_phrase(a)} AND {fts_phrase(b)}"
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
            found = dict.fromkeys(self._shortest_ids(fts_phrase(named[0]), limit))
        return list(found)[:limit]

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
        phrases = [fts_phrase(w) for w in thirds]
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
            return " AND ".join(fts_phrase(w) for w in words)

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

    def _frequencies(self, words: list[str]) -> dict[str, int]:
        """How many releases contain each word: exact below COMMON_WORD, else up to
        COMMON_CEILING. Common words are counted once per process and remembered (they stay
        common). Rare ones are remembered while the full-text index stays as it was (see
        `_rare_counts`)."""
        database = self._database_key
        known = {w: COMMON_COUNTS[database, w] for w in words if (database, w) in COMMON_COUNTS}
        rare = self._rare_counts()
        if rare:
            known |= {w: rare[w] for w in words if w in rare and w not in known}
        counts = self._count([w for w in words if w not in known], COMMON_WORD)
        common = [w for w, n in counts.items() if n >= COMMON_WORD]
        if common:
            if len(COMMON_COUNTS) > 200_000:
                COMMON_COUNTS.clear()
            for word, n in self._count(common, COMMON_CEILING).items():
                counts[word] = COMMON_COUNTS[database, word] = n
        if rare is not None:
            if len(rare) > RARE_COUNTS_KEPT:
                rare.clear()
            rare.update((w, n) for w, n in counts.items() if n < COMMON_WORD)
        return known | counts

    def _rare_counts(self) -> dict[str, int] | None:
        """The rare words' counts remembered for this database, or None when they cannot be
        trusted now (inside a transaction, which may have changed the catalog without the
        index showing it yet).

        They are forgotten whenever the full-text index changes: FTS5 rewrites its
        structure record (a few dozen bytes, read in microseconds) on every change that
        reaches the index — an import, an upsert, a rebuild, by any process.
        """
        driver = self._conn.connection.driver_connection
        if driver is None or driver.in_transaction:
            return None
        rows = self._rows("SELECT block FROM releases_fts_data WHERE id = 10", ())
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
        rows = self._rows(" UNION ALL ".join(parts), [fts_phrase(w) for w in words])
        return {words[int(index)]: int(count) for index, count in rows}


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


def word_pairs(present: list[str], frequencies: dict[str, int]) -> list[tuple[str, str]]:
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
