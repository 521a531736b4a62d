"""eBay's keyword syntax, evaluated locally against a listing title.

Firehose polling reads whole record categories and matches every new listing against
all saved searches here, so the number of searches costs no API calls. The syntax is
eBay's: words are ANDed, `-word` excludes, `(a,b)` means either, "quoted phrase" is
one phrase. Matching is case-insensitive on word boundaries, ignoring punctuation.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r'-?"[^"]*"|-?\([^)]*\)|\S+')
_WORD = re.compile(r"[\w+]+")


def fold(text: str) -> str:
    """Lowercase, accents removed, apostrophes dropped, other punctuation as spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"['’`]", "", text.lower())
    return " ".join(_WORD.findall(text))


@dataclass(frozen=True, slots=True)
class KeywordQuery:
    """A parsed query: every group must match (a group matches if any phrase does)."""

    required: tuple[tuple[str, ...], ...]
    excluded: tuple[str, ...]

    def matches(self, title: str) -> bool:
        return self.matches_folded(folded_title(title))

    def matches_folded(self, haystack: str) -> bool:
        """`matches` for a title already passed through `folded_title` (once per listing)."""
        if any(f" {phrase} " in haystack for phrase in self.excluded):
            return False
        return all(any(f" {phrase} " in haystack for phrase in group) for group in self.required)


def folded_title(title: str) -> str:
    """A title folded for keyword matching, padded so whole words match with spaces."""
    return f" {fold(title)} "


@functools.lru_cache(maxsize=4096)  # a search's query is parsed once, not per listing
def parse_query(query: str) -> KeywordQuery:
    required: list[tuple[str, ...]] = []
    excluded: list[str] = []
    for token in _TOKEN.findall(query):
        negative = token.startswith("-") and len(token) > 1
        body = token[1:] if negative else token
        if body.startswith("(") and body.endswith(")"):
            options = tuple(p for p in (fold(o) for o in body[1:-1].split(",")) if p)
        else:
            folded = fold(body.strip('"'))
            options = (folded,) if folded else ()
        if not options:
            continue
        if negative:
            excluded.extend(options)
        else:
            required.append(options)
    return KeywordQuery(tuple(required), tuple(excluded))


class KeywordIndex:
    """Which of many queries a title satisfies, without testing every query against it.

    The firehose matches each listing against every search riding it; with a thousand
    searches that is a thousand tests a listing, nearly all of them failing. Every
    listing that satisfies a query contains the first word of one of the options of each
    of its required groups, so each query is filed under the first words of one group (the
    one with the fewest options), and a title is tested only against the queries filed
    under its own words (and the few with no required word at all). The answer is the
    same as testing every query (`matches_folded`), in the queries' order.
    """

    def __init__(self, queries: Sequence[str]) -> None:
        self._parsed = [parse_query(q) for q in queries]
        self._by_word: dict[str, list[int]] = {}
        self._always: list[int] = []
        for index, query in enumerate(self._parsed):
            if not query.required:
                self._always.append(index)
                continue
            group = min(query.required, key=len)
            for word in {phrase.split()[0] for phrase in group}:
                self._by_word.setdefault(word, []).append(index)

    def matching(self, haystack: str) -> list[int]:
        """Positions (in the order given) of the queries a `folded_title` satisfies."""
        candidates = set(self._always)
        for word in set(haystack.split()):
            filed = self._by_word.get(word)
            if filed is not None:
                candidates.update(filed)
        return [i for i in sorted(candidates) if self._parsed[i].matches_folded(haystack)]


def query_matches(query: str, title: str) -> bool:
    """True when `title` satisfies the eBay keyword `query`."""
    return parse_query(query).matches(title)
