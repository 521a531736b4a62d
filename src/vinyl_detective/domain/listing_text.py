"""A listing read once for the matcher: its title's words, its format and its details.

`prepare` turns a `Listing` into a `ListingText`: the title normalised with and without
noise, its decoy phrases, its format (`format_family` of its hint, else its eBay category,
else what its title says), the years, countries and descriptions (mono, reissue, …) it
names, and the catalog numbers and barcodes it may carry (domain/title_identifiers.py).
What the title says of the pressing (domain/pressing_evidence.py) is read only when a
candidate is first weighed (`evidence_of`): most listings never get that far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vinyl_detective.domain.models import Listing
from vinyl_detective.domain.pressing_evidence import barcodes_in, catalog_numbers_in, years_in
from vinyl_detective.domain.title_identifiers import barcode_candidates, catalog_no_candidates
from vinyl_detective.domain.title_noise import clean_title, decoy_phrases_in, normalize_text

__all__ = ["ListingText", "evidence_of", "format_family", "prepare"]

# eBay's music categories: Records, CDs, Cassettes.
_CATEGORY_FORMATS = {"176985": "vinyl", "176984": "cd", "176983": "cassette"}
_FORMAT_FAMILIES = {
    "vinyl": "vinyl",
    "lathe cut": "vinyl",
    "flexi disc": "vinyl",
    "flexi": "vinyl",
    "shellac": "vinyl",
    "acetate": "vinyl",
    "lp": "vinyl",
    "record": "vinyl",
    "records": "vinyl",
    "cd": "cd",
    "cds": "cd",
    "cdr": "cd",
    "sacd": "cd",
    "hdcd": "cd",
    "cdv": "cd",
    "minidisc": "minidisc",
    "compact disc": "cd",
    "cassette": "cassette",
    "cassettes": "cassette",
    "microcassette": "cassette",
    "tape": "cassette",
    "dvd": "video",
    "dvdr": "video",
    "blu ray": "video",
    "vhs": "video",
    "file": "file",
    "8 track cartridge": "8-track",
    "reel to reel": "reel",
}
_VINYL_TITLE_WORDS = frozenset({"lp", "lps", "2lp", "3lp", "vinyl", "45rpm", "33rpm", "wax"})
_VINYL_TITLE_RE = re.compile(r"(?<!\w)(?:7|10|12)\s*(?:\"|''|”|″|inch\b)|\b(?:33|45)\s*rpm\b", re.I)
_CD_TITLE_WORDS = frozenset({"cd", "cds", "2cd", "3cd"})
_TAPE_TITLE_WORDS = frozenset({"cassette", "cassettes", "tape", "mc"})

_COUNTRY_WORDS = {
    "us": "us",
    "usa": "us",
    "uk": "uk",
    "england": "uk",
    "japan": "japan",
    "japanese": "japan",
    "jp": "japan",
    "germany": "germany",
    "german": "germany",
    "canada": "canada",
    "canadian": "canada",
    "france": "france",
    "french": "france",
    "italy": "italy",
    "italian": "italy",
    "holland": "netherlands",
    "dutch": "netherlands",
    "netherlands": "netherlands",
    "europe": "europe",
    "eu": "europe",
    "euro": "europe",
    "australia": "australia",
}
_DESCRIPTION_WORDS = {
    "mono": "mono",
    "stereo": "stereo",
    "reissue": "reissue",
    "repress": "reissue",
    "remastered": "remastered",
    "remaster": "remastered",
    "promo": "promo",
    "limited": "limited edition",
    "ltd": "limited edition",
}
_YEAR = re.compile(r"^(?:19[0-9]\d|20[0-4]\d)$")


@dataclass(frozen=True, slots=True)
class _Evidence:
    catalog_numbers: tuple[str, ...]  # what reads as a catalog number
    barcodes: tuple[str, ...]  # what reads as a barcode
    years: frozenset[int]  # years written as words of their own


def evidence_of(listing: ListingText) -> _Evidence:
    """What the title says of the pressing, read on first use and kept on `listing`."""
    if listing._evidence is None:
        title = listing.title
        listing._evidence = _Evidence(
            catalog_numbers=tuple(catalog_numbers_in(title)),
            barcodes=tuple(barcodes_in(title)),
            years=years_in(title),
        )
    return listing._evidence


@dataclass(slots=True)
class ListingText:
    """A listing as the matcher reads it, prepared once per `identify` call."""

    title: str  # as the seller wrote it
    raw: str  # normalised, noise kept: for presence of names containing noise words
    clean: str  # normalised without noise
    clean_tokens: tuple[str, ...]
    raw_tokens: frozenset[str]
    decoys: frozenset[str]
    format: str | None
    years: frozenset[int]
    countries: frozenset[str]
    descriptions: frozenset[str]
    catnos: tuple[str, ...] = ()  # catalog-number candidates read from the title
    # What the title says of the pressing (see domain/pressing_evidence.py), read when a
    # candidate is first weighed: most listings never get that far.
    _evidence: _Evidence | None = None
    barcodes: tuple[str, ...] = ()  # barcodes read from the title
    # Each release's fit once weighed, by release id (domain/release_fit.py's `Fit`: typed
    # loosely so that this module need not import that one).
    fits: dict[int, object] = field(default_factory=dict)


def prepare(listing: Listing) -> ListingText:
    """`listing` read for the matcher (see the module docstring)."""
    raw = normalize_text(listing.title)
    clean = clean_title(listing.title)
    raw_tokens = frozenset(raw.split())
    return ListingText(
        title=listing.title,
        raw=raw,
        clean=clean,
        clean_tokens=tuple(clean.split()),
        raw_tokens=raw_tokens,
        decoys=frozenset(decoy_phrases_in(raw)),
        format=_listing_format(listing),
        years=frozenset(int(t) for t in raw_tokens if _YEAR.match(t)),
        countries=frozenset(_COUNTRY_WORDS[t] for t in raw_tokens if t in _COUNTRY_WORDS),
        descriptions=frozenset(
            _DESCRIPTION_WORDS[t] for t in raw_tokens if t in _DESCRIPTION_WORDS
        ),
        catnos=tuple(catalog_no_candidates(listing.title)),
        barcodes=tuple(barcode_candidates(listing.title)),
    )


def format_family(name: str | None) -> str | None:
    """ "Vinyl", "LP", "12\"" → "vinyl"; "CD", "CDr" → "cd"; "Cassette" → "cassette".

    None for unknown or mixed formats ("Box Set", "All Media"), which are never refused.
    """
    if not name:
        return None
    key = normalize_text(name)
    if key in _FORMAT_FAMILIES:
        return _FORMAT_FAMILIES[key]
    if key in _CATEGORY_FORMATS:
        return _CATEGORY_FORMATS[key]
    if _VINYL_TITLE_RE.search(name):
        return "vinyl"
    return None


def _listing_format(listing: Listing) -> str | None:
    """The listing's format: its hint, else its eBay category, else what its title says."""
    if listing.format_hint:
        family = format_family(listing.format_hint)
        if family:
            return family
    if listing.category_id and listing.category_id in _CATEGORY_FORMATS:
        return _CATEGORY_FORMATS[listing.category_id]
    tokens = set(normalize_text(listing.title).split())
    found = set()
    if tokens & _VINYL_TITLE_WORDS or _VINYL_TITLE_RE.search(listing.title):
        found.add("vinyl")
    if tokens & _CD_TITLE_WORDS:
        found.add("cd")
    if tokens & _TAPE_TITLE_WORDS:
        found.add("cassette")
    return found.pop() if len(found) == 1 else None
