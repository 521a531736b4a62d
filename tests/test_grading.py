"""The grading scale and how sellers' spellings of a grade are read."""

from __future__ import annotations

import pytest

from vinyl_detective.domain.grading import (
    GRADE_CODES,
    Grade,
    grade_code,
    grade_from_listing,
    parse_grade,
)


def test_grades_are_ordered_from_poor_to_mint() -> None:
    scale = [Grade.P, Grade.F, Grade.G, Grade.G_PLUS, Grade.VG, Grade.VG_PLUS, Grade.NM, Grade.M]
    assert sorted(scale, reverse=True) == list(reversed(scale))
    assert Grade.VG_PLUS > Grade.VG
    assert Grade.NM < Grade.M


def test_grade_codes_are_the_discogs_short_codes() -> None:
    assert [grade_code(g) for g in sorted(Grade)] == ["P", "F", "G", "G+", "VG", "VG+", "NM", "M"]
    assert GRADE_CODES == ("M", "NM", "VG+", "VG", "G+", "G", "F", "P")


@pytest.mark.parametrize(
    ("text", "grade"),
    [
        ("VG+", Grade.VG_PLUS),
        ("VG +", Grade.VG_PLUS),
        ("vg plus", Grade.VG_PLUS),
        ("Very Good Plus", Grade.VG_PLUS),
        ("Very Good Plus (VG+)", Grade.VG_PLUS),
        ("EX", Grade.VG_PLUS),
        ("Excellent", Grade.VG_PLUS),
        ("NM", Grade.NM),
        ("M-", Grade.NM),
        ("Near Mint", Grade.NM),
        ("Near Mint (NM or M-)", Grade.NM),
        ("Mint", Grade.M),
        ("Mint (M)", Grade.M),
        ("sealed", Grade.M),
        ("G+", Grade.G_PLUS),
        ("Good Plus", Grade.G_PLUS),
        ("Good (G)", Grade.G),
        ("Very Good (VG)", Grade.VG),
        ("Fair", Grade.F),
        ("Poor (P)", Grade.P),
        ("  v.g.+ ", Grade.VG_PLUS),
    ],
)
def test_parse_grade_reads_the_spellings_sellers_use(text: str, grade: Grade) -> None:
    assert parse_grade(text) is grade


def test_minus_grades_round_down_so_a_deal_is_never_overstated() -> None:
    assert parse_grade("VG-") is Grade.G_PLUS
    assert parse_grade("EX-") is Grade.VG
    assert parse_grade("NM-") is Grade.NM  # Discogs' own NM is "NM or M-"


@pytest.mark.parametrize("text", ["Generic", "Not Graded", "No Cover", "", "great", "VG+++ wow"])
def test_parse_grade_refuses_what_is_not_a_grade(text: str) -> None:
    assert parse_grade(text) is None


@pytest.mark.parametrize(
    ("title", "grade"),
    [
        ("Art Blakey Moanin' LP Blue Note BLP 4003 Mono VG+", Grade.VG_PLUS),
        ("Abbey Road LP VG+/NM", Grade.VG_PLUS),
        ("Abbey Road LP NM / VG+", Grade.NM),
        ("Kind Of Blue Sleeve VG Vinyl NM", Grade.NM),
        ("Kind Of Blue LP EX/EX UK pressing", Grade.VG_PLUS),
        ("Media: G  Sleeve: F  Rumours LP", Grade.G),
        ('Blue Monday 12" still sealed', Grade.M),
        ("Thriller LP M/M", Grade.M),
        ("Boney M Nightflight To Venus LP NM", Grade.NM),
        # Pairs of bare letters are media/sleeve grades too (real titles write them so).
        ("Eddie Bo Hook & Sling 45 Scram G/G", Grade.G),
        ("Fats Domino What A Party 45 G+/G", Grade.G_PLUS),
        ("Rose Royce Strikes Again LP VG/G", Grade.VG),
        ("Helloween United Alive CD F/G", Grade.F),
        ("Otis Redding Dictionary Of Soul LP P/P", Grade.P),
        ("Abba Arrival LP Good/Fair", Grade.G),
        ("Eddie Bo I'm So Tired, Ace # 515, vg-", Grade.G_PLUS),
        ('EDDIE BO - "PLEASE FORGIVE ME" on APOLLO (M-) ', Grade.NM),
        ('EDDIE BO - "YOU\'RE THE ONLY" on RIP (VG++)', Grade.VG_PLUS),
    ],
)
def test_the_media_grade_is_read_from_the_title(title: str, grade: Grade) -> None:
    assert grade_from_listing("Used", "3000", title) is grade


@pytest.mark.parametrize(
    "title",
    [
        "Kenny G Breathless LP",
        'Chic Good Times 12"',
        "Pink Floyd Dark Side Of The Moon LP G/F sleeve",
        "Pink Floyd Dark Side Of The Moon LP G/F",  # a gatefold, not Good/Fair
        'Prince Purple Rain 7" P/S',  # a picture sleeve
        "Sex Pistols Never Mind The Bollocks LP",
        "Sleeve: VG+ Miles Davis Kind Of Blue",  # only the sleeve is graded
        "Opened, was sealed: Blue Train LP",
    ],
)
def test_band_names_and_abbreviations_are_not_taken_for_grades(title: str) -> None:
    assert grade_from_listing("Used", "3000", title) is None


def test_brand_new_on_ebay_means_sealed() -> None:
    assert grade_from_listing("Brand New", "1000", "Miles Davis Kind Of Blue LP") is Grade.M
    assert grade_from_listing(None, "1000", "Miles Davis Kind Of Blue LP") is Grade.M


def test_used_without_a_grade_is_unknown() -> None:
    assert grade_from_listing("Used", "3000", "Miles Davis Kind Of Blue LP") is None
    assert grade_from_listing(None, None, "Miles Davis Kind Of Blue LP") is None


def test_a_record_grading_item_specific_is_used_when_the_title_has_none() -> None:
    assert grade_from_listing("Very Good Plus (VG+)", "3000", "Kind Of Blue LP") is Grade.VG_PLUS
    assert grade_from_listing("Like New", "2750", "Kind Of Blue LP") is Grade.NM


def test_the_sellers_title_grade_wins_over_the_generic_condition() -> None:
    assert grade_from_listing("Brand New", "1000", "Kind Of Blue LP VG") is Grade.VG
