"""Saved-search keywords follow eBay's syntax when matched locally (firehose mode)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vinyl_detective.domain.query import KeywordIndex, folded_title, parse_query, query_matches


@pytest.mark.parametrize(
    ("query", "title", "expected"),
    [
        ("blue note", "Art Blakey Moanin' LP BLUE NOTE BLP 4003", True),
        ("blue note", "Blue Öyster Cult note", True),
        ("blue note", "Blue Train John Coltrane", False),
        ("blue note -reissue", "Blue Note 1500 series reissue", False),
        ("blue note -reissue", "Blue Note 1500 series original", True),
        ("miles (lp,vinyl)", "Miles Davis Kind of Blue Vinyl", True),
        ("miles (lp,vinyl)", "Miles Davis Kind of Blue CD", False),
        ('"kind of blue"', "Miles Davis - Kind Of Blue (1959)", True),
        ('"kind of blue"', "Blue kind of mood", False),
        ("moanin", "Art Blakey Moanin' Blue Note", True),
        ("sigur ros", "Sigur Rós ( ) LP", True),
    ],
)
def test_title_matches_query_like_ebay_would(query: str, title: str, expected: bool) -> None:
    assert query_matches(query, title) is expected


def test_words_match_whole_words_only() -> None:
    assert not query_matches("cure", "Secure the bag mixtape")


def test_empty_query_matches_everything_but_exclusions() -> None:
    assert query_matches("", "anything")
    assert not parse_query("-bootleg").matches("Nirvana bootleg live")


QUERIES = [
    "blue note",
    "blue note -reissue",
    "miles (lp,vinyl)",
    '"kind of blue"',
    "-bootleg",
    "",
    "sigur ros",
    "(coltrane,blakey) blue",
]


def test_the_firehose_index_finds_exactly_the_searches_a_title_satisfies() -> None:
    index = KeywordIndex(QUERIES)
    title = folded_title("Art Blakey Moanin' LP BLUE NOTE BLP 4003 bootleg")
    expected = [i for i, q in enumerate(QUERIES) if query_matches(q, title)]
    assert index.matching(title) == expected == [0, 1, 5, 7]


_WORDS = st.sampled_from(["blue", "note", "miles", "lp", "vinyl", "kind", "of", "ros", "x"])


@given(
    queries=st.lists(
        st.lists(
            st.one_of(
                _WORDS,
                _WORDS.map(lambda w: f"-{w}"),
                st.lists(_WORDS, min_size=1, max_size=3).map(lambda ws: f"({','.join(ws)})"),
                st.lists(_WORDS, min_size=2, max_size=3).map(lambda ws: f'"{" ".join(ws)}"'),
            ),
            max_size=4,
        ).map(" ".join),
        max_size=12,
    ),
    title=st.lists(_WORDS, max_size=8).map(" ".join),
)
def test_the_index_answers_like_testing_every_query(queries: list[str], title: str) -> None:
    expected = [i for i, q in enumerate(queries) if query_matches(q, title)]
    assert KeywordIndex(queries).matching(folded_title(title)) == expected
