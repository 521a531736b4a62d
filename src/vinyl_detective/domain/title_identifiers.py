"""The identifiers a listing title may carry, to be looked up: catalog numbers, barcodes.

Generous on purpose: every run of 1–4 tokens with a digit in it is a catalog-number
candidate, and the catalog (looked up in one batch) says which exist. What reads as
evidence *against* a pressing is stricter: see domain/pressing_evidence.py.
"""

from __future__ import annotations

import re
from functools import lru_cache

from vinyl_detective.domain.normalize import (
    compact_catalog_no,
    is_placeholder_catalog_no,
    normalize_barcode,
)
from vinyl_detective.domain.title_noise import clean_title

__all__ = ["barcode_candidates", "catalog_no_candidates"]

_MAX_CATNO_WINDOW = 4  # "CDP 7 46516 2"
_CATNO_NOISE = re.compile(
    r"^(?:\d{1,3}(?:LP|LPS|XLP|CD|CDS|XCD|X|G|GR|GRAM|GRAMS|RPM|ST|ND|RD|TH|S|INCH|IN|\"|'')?"
    r"|(?:19|20)\d\d|(?:33|45|78)(?:RPM)?|\d{12,13})$"
)
_EDGE_PUNCTUATION = "()[]{}<>,;:!?#\"'*|~"
_BARCODE_RUN = re.compile(r"(?<![\d])\d[\d \-]{10,20}\d(?![\d])")
_HAS_DIGIT = re.compile(r"\d")


def catalog_no_candidates(title: str) -> list[str]:
    """Normalised catalog numbers a title may contain, in order of appearance.

    Every run of 1–4 consecutive tokens with a digit in it: "BLP 4003", "ST-8406",
    "CDP 7 46516 2". Sizes, weights, years and the like are left out.
    """
    # Seller noise ("LP", "VG+", '12"', "180g") ends a run; edge punctuation goes.
    # A lone dash joins its neighbours ("BR - 01").
    words = [t for t in title.split() if t.strip("-–—")]
    tokens = ["" if _is_noise(t) else t.strip(_EDGE_PUNCTUATION) for t in words]
    parts = [_catno_part(t) for t in tokens]
    digits = [any(ch.isdigit() for ch in t) for t in tokens]
    compact = [compact_catalog_no(t) if part else "" for t, part in zip(tokens, parts, strict=True)]
    found: dict[str, None] = {}
    count = len(tokens)
    for start in range(count):
        has_digit = False
        for end in range(start + 1, min(start + _MAX_CATNO_WINDOW, count) + 1):
            if not parts[end - 1]:
                break
            has_digit = has_digit or digits[end - 1]
            if not has_digit or not (digits[start] or digits[end - 1]):
                continue
            value = "".join(compact[start:end])
            if is_placeholder_catalog_no(value) or len(value) < 3 or _CATNO_NOISE.match(value):
                continue
            found.setdefault(value, None)
    return list(found)


@lru_cache(maxsize=16384)
def _is_noise(token: str) -> bool:
    return not clean_title(token)


def _catno_part(token: str) -> bool:
    """A token that can be part of a catalog number: not noise (blanked), not a long word."""
    return bool(token) and (len(token) <= 5 or _HAS_DIGIT.search(token) is not None)


def barcode_candidates(title: str) -> list[str]:
    """13-digit EANs written in a title ("0 7777-46516-1 6", "602557123456")."""
    found: dict[str, None] = {}
    for run in _BARCODE_RUN.finditer(title):
        value = normalize_barcode(run.group(0))
        if value is not None:
            found.setdefault(value, None)
    return list(found)
