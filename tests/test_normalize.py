"""Identifiers written differently by sellers and by Discogs compare equal once normalised."""

from __future__ import annotations

import pytest

from vinyl_detective.domain.normalize import (
    has_valid_check_digit,
    normalize_barcode,
    normalize_catalog_no,
    strip_disambiguation,
)


@pytest.mark.parametrize("raw", ["BLP 4003", "blp-4003", "BLP.4003 ", " BLP_4003", "BLP4003"])
def test_catalog_number_spellings_are_one(raw: str) -> None:
    assert normalize_catalog_no(raw) == "BLP4003"


@pytest.mark.parametrize("raw", ["none", "None ", "", "N/A"])
def test_placeholder_catalog_numbers_are_no_catalog_number(raw: str) -> None:
    assert normalize_catalog_no(raw) is None


def test_upc_a_and_ean_13_of_the_same_code_are_equal() -> None:
    assert normalize_barcode("036000291452") == normalize_barcode("0036000291452")
    assert normalize_barcode("0 36000 29145 2") == "0036000291452"


def test_matrix_strings_and_wrong_lengths_are_not_barcodes() -> None:
    assert normalize_barcode("BLP-4003-A RVG") is None
    assert normalize_barcode("IFPI L553") is None
    assert normalize_barcode("12345") is None


def test_check_digit_is_verified_separately() -> None:
    assert has_valid_check_digit("4006381333931")
    assert not has_valid_check_digit("4006381333932")


def test_disambiguation_suffix_and_name_variation_star_are_removed() -> None:
    assert strip_disambiguation("Nirvana (2)") == "Nirvana"
    assert strip_disambiguation("Prince*") == "Prince"
    assert strip_disambiguation("Sunn O)))") == "Sunn O)))"
