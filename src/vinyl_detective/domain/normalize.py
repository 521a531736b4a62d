"""Normalising identifiers and names so that two spellings of the same thing compare equal."""

from __future__ import annotations

import re

_CATNO_JUNK = re.compile(r"[\s\-_./:·]+")
_DIGITS_ONLY = re.compile(r"\D+")
_DISAMBIGUATION = re.compile(r"\s*\(\d+\)$")
_NONE_CATNOS = {"", "NONE", "N/A", "NA", "-", "UNKNOWN"}


def normalize_catalog_no(raw: str) -> str | None:
    """`"BLP-4003 "`, `"blp 4003"` and `"BLP.4003"` all become `"BLP4003"`.

    Returns None for the placeholders Discogs uses for "no catalog number" ("none").
    """
    value = compact_catalog_no(raw)
    if value in _NONE_CATNOS or raw.strip().upper() in _NONE_CATNOS:
        return None
    return value


def compact_catalog_no(raw: str) -> str:
    """`normalize_catalog_no` without the placeholder check: upper case, no separators.

    Compacting the words of a text one by one and joining them gives the compact text.
    """
    return _CATNO_JUNK.sub("", raw.upper())


def is_placeholder_catalog_no(compact: str) -> bool:
    """A compacted catalog number that stands for none ("NONE", "N/A", "-")."""
    return compact in _NONE_CATNOS


def _ean_check_digit(first12: str) -> int:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return (10 - total % 10) % 10


def normalize_barcode(raw: str) -> str | None:
    """A barcode as its 13-digit EAN, or None when `raw` is not a valid UPC/EAN.

    UPC-A (12 digits) and EAN-13 (13) are the same code space: a UPC-A gets a leading 0.
    Discogs' "Barcode" identifiers are often spaced or dashed ("0 7777-46516-1 6");
    strings with letters (matrix/runout, IFPI codes) or of another length are refused.
    A wrong check digit is kept: Discogs holds such typos as printed, and an exact
    equality of 13 digits is still a safe identification.
    """
    if re.search(r"[A-Za-z]", raw):
        return None
    digits = _DIGITS_ONLY.sub("", raw)
    if len(digits) == 12:
        digits = "0" + digits
    if len(digits) != 13:
        return None
    return digits


def has_valid_check_digit(ean13: str) -> bool:
    """True when the last digit of a 13-digit EAN is its correct check digit."""
    return len(ean13) == 13 and ean13.isdigit() and _ean_check_digit(ean13[:12]) == int(ean13[12])


def strip_disambiguation(name: str) -> str:
    """Discogs' `"Nirvana (2)"` → `"Nirvana"`; a trailing `*` (name variation) goes too."""
    stripped = name.strip()
    if not stripped.endswith((")", "*")):
        return stripped  # nothing to strip: no regex
    return _DISAMBIGUATION.sub("", stripped).rstrip("*").strip()
