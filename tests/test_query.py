"""Saved-search keywords follow eBay's syntax when matched locally (firehose mode)."""

from __future__ import annotations

import pytest

from vinyl_detective.domain.query import parse_query, query_matches


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
