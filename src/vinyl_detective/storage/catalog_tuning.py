"""The fuzzy prefilter's tuning and word-pair order, shared by both databases' paths.

SqlCatalog.fuzzy_candidates (SQLite, FTS5) and storage/postgres_words.py (PostgreSQL,
`release_words`) take the same steps with the same figures, so that both hand the matcher
the same candidates.
"""

from __future__ import annotations

COMMON_WORD = 300  # a word in at least this many releases is common; counting stops here
PAIR_WORDS = 4  # candidates hold two of the listing's this-many rarest words, or
COMMON_PARTNERS = 3  # ... one of its two rarest words and one of this many common ones
CROWD_THIRDS = 2  # words tried as a third one when a pair matches too many releases
COMMON_CEILING = 5_000  # common words are counted up to this, once per process
CROWD_SAMPLE = 128  # releases of a crowd read to pick the ones with the shortest names
FULLEST_DROPS = 2  # words left out in turn when no release holds every word of the listing
COMMON_COUNTS: dict[tuple[str, str], int] = {}  # (database url, word) -> count


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
