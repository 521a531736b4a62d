"""Reading Discogs' JSON: releases, search results, price suggestions and pages.

The client in `sources/discogs.py` fetches; this module turns what came back into the
product's values, with no I/O, so jobs that only need `ReleasePage` do not load httpx.

Decisions worth knowing (they match `sources/dump/`, so a release reads the same
whether it came from the API or from the monthly dump):

* `artist` is the credit line as Discogs displays it: each `name` without its " (2)"
  disambiguation or "*" name-variation marker, joined with its `join` word
  ("Art Blakey & The Jazz Messengers", "A, B & C"); `anv` is ignored.
* `catalog_nos` keep Discogs' spelling (trimmed, "none" dropped); `barcodes` are
  normalised 13-digit EANs taken only from identifiers of type "Barcode".
* `format` is the first format's name; `format_descriptions` gathers every format's
  descriptions.
* Search results are messier than releases: `title` is "Artist - Title" in one string,
  `barcode[]` also holds matrix/runout and IFPI strings (only real UPC/EANs are kept)
  and `label[]` also holds pressing plants and studios (only the first is kept).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from vinyl_detective.domain.models import Money, PriceGuide, Release
from vinyl_detective.domain.normalize import (
    normalize_barcode,
    normalize_catalog_no,
    strip_disambiguation,
)

__all__ = [
    "GRADE_CODES",
    "MalformedError",
    "ReleasePage",
    "credit_line",
    "parse_marketplace_stats",
    "parse_price_suggestions",
    "parse_release",
    "parse_search_result",
    "release_page",
]

log = logging.getLogger(__name__)

# Discogs' grade names (media and sleeve) → the codes PriceGuide.by_condition uses.
GRADE_CODES: Mapping[str, str] = {
    "Mint (M)": "M",
    "Near Mint (NM or M-)": "NM",
    "Very Good Plus (VG+)": "VG+",
    "Very Good (VG)": "VG",
    "Good Plus (G+)": "G+",
    "Good (G)": "G",
    "Fair (F)": "F",
    "Poor (P)": "P",
}

_CENT = Decimal("0.01")
# " (2)" or "*" after a name inside a multi-artist credit ("A (2) & B*").
_INNER_SUFFIX = re.compile(r"(?:\s\(\d+\)|\*)(?=\s*(?:$|,|&|/|\+|\s))")


@dataclass(frozen=True, slots=True)
class ReleasePage:
    """One page of releases from a search or a wantlist.

    `skipped` counts entries that were malformed and left out; `items` is Discogs' total
    across all pages.
    """

    releases: list[Release]
    page: int
    pages: int
    items: int
    skipped: int = 0
    per_page: int = field(default=0)

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


class MalformedError(ValueError):
    """One entry of a Discogs answer lacks what a Release needs."""


# --------------------------------------------------------------------------- parsing


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _add_unique(values: list[str], value: str) -> None:
    if value and value not in values:
        values.append(value)


def _positive_int(value: Any) -> int | None:
    """`1959`, `"1959"` → 1959; `0`, `""`, None, garbage → None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def _strings(value: Any) -> list[str]:
    """A list of non-empty strings from a JSON list (a lone string counts as one)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    out: list[str] = []
    for item in value:
        _add_unique(out, _text(item))
    return out


def _required_id(data: Mapping[str, Any]) -> int:
    release_id = _positive_int(data.get("id"))
    if release_id is None:
        raise MalformedError(f"no release id in {sorted(data)!r}")
    return release_id


def credit_line(artists: Any) -> str:
    """The artist credit as Discogs displays it: names (suffixes stripped) with join words."""
    if not isinstance(artists, list):
        return ""
    parts: list[str] = []
    pending_join: str | None = None
    for artist in artists:
        if not isinstance(artist, Mapping):
            continue
        name = strip_disambiguation(_text(artist.get("name")))
        if not name:
            continue
        if pending_join is not None:
            parts.append(pending_join)
        parts.append(name)
        join = _text(artist.get("join"))
        pending_join = ", " if join in ("", ",") else f" {join} "
    return "".join(parts)


def parse_release(data: Mapping[str, Any]) -> Release:
    """A `GET /releases/{id}` body (or a wantlist's `basic_information`) as a Release.

    Raises MalformedError when the id, the title or the artists are missing.
    """
    release_id = _required_id(data)
    title = _text(data.get("title"))
    artist = credit_line(data.get("artists"))
    if not title or not artist:
        raise MalformedError(f"release {release_id} has no title or no artists")

    labels: list[str] = []
    catalog_nos: list[str] = []
    for label in data.get("labels") or []:
        if not isinstance(label, Mapping):
            continue
        _add_unique(labels, strip_disambiguation(_text(label.get("name"))))
        catno = _text(label.get("catno"))
        if catno and normalize_catalog_no(catno) is not None:
            _add_unique(catalog_nos, catno)

    barcodes: list[str] = []
    for identifier in data.get("identifiers") or []:
        if isinstance(identifier, Mapping) and _text(identifier.get("type")) == "Barcode":
            barcode = normalize_barcode(_text(identifier.get("value")))
            if barcode is not None:
                _add_unique(barcodes, barcode)

    format_names: list[str] = []
    descriptions: list[str] = []
    for fmt in data.get("formats") or []:
        if not isinstance(fmt, Mapping):
            continue
        _add_unique(format_names, _text(fmt.get("name")))
        for description in _strings(fmt.get("descriptions")):
            _add_unique(descriptions, description)

    year = _positive_int(data.get("year"))
    if year is None:
        released = _text(data.get("released"))[:4]
        year = _positive_int(released) if len(released) == 4 else None

    return Release(
        id=release_id,
        artist=artist,
        title=title,
        labels=tuple(labels),
        catalog_nos=tuple(catalog_nos),
        barcodes=tuple(barcodes),
        format=format_names[0] if format_names else None,
        format_descriptions=tuple(descriptions),
        country=_text(data.get("country")) or None,
        year=year,
        master_id=_positive_int(data.get("master_id")),
        genres=tuple(_strings(data.get("genres"))),
        styles=tuple(_strings(data.get("styles"))),
        status=_text(data.get("status")) or None,
    )


def parse_search_result(data: Mapping[str, Any]) -> Release:
    """One `GET /database/search` result of type release as a Release.

    Raises MalformedError when the id is missing or the title is not "Artist - Title".
    """
    release_id = _required_id(data)
    combined = _text(data.get("title"))
    artist_part, sep, title = combined.partition(" - ")
    if not sep or not artist_part.strip() or not title.strip():
        raise MalformedError(f"search result {release_id} title is not 'Artist - Title'")
    artist = strip_disambiguation(_INNER_SUFFIX.sub("", artist_part.strip()))

    catno = _text(data.get("catno"))
    catalog_nos = (catno,) if catno and normalize_catalog_no(catno) is not None else ()
    barcodes: list[str] = []
    for raw in _strings(data.get("barcode")):
        barcode = normalize_barcode(raw)
        if barcode is not None:
            _add_unique(barcodes, barcode)
    labels = _strings(data.get("label"))
    formats = _strings(data.get("format"))

    return Release(
        id=release_id,
        artist=artist,
        title=title.strip(),
        labels=(strip_disambiguation(labels[0]),) if labels else (),
        catalog_nos=catalog_nos,
        barcodes=tuple(barcodes),
        format=formats[0] if formats else None,
        format_descriptions=tuple(formats[1:]),
        country=_text(data.get("country")) or None,
        year=_positive_int(data.get("year")),
        master_id=_positive_int(data.get("master_id")),
        genres=tuple(_strings(data.get("genre"))),
        styles=tuple(_strings(data.get("style"))),
    )


def _money_value(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def parse_price_suggestions(data: Any) -> PriceGuide | None:
    """`{"Very Good Plus (VG+)": {"currency": "USD", "value": 21.3}, ...}` → PriceGuide.

    None when there is no usable suggestion. Grades in another currency than the first
    one seen are dropped rather than mixed.
    """
    if not isinstance(data, Mapping):
        return None
    currency: str | None = None
    by_condition: dict[str, Decimal] = {}
    for name, code in GRADE_CODES.items():
        entry = data.get(name)
        if not isinstance(entry, Mapping):
            continue
        amount = _money_value(entry.get("value"))
        entry_currency = _text(entry.get("currency")).upper()
        if amount is None or not entry_currency:
            continue
        if currency is None:
            currency = entry_currency
        elif entry_currency != currency:
            log.warning(
                "discogs price suggestion %s in %s, not %s: dropped", code, entry_currency, currency
            )
            continue
        by_condition[code] = amount
    if currency is None:
        return None
    return PriceGuide(currency=currency, by_condition=by_condition)


def parse_marketplace_stats(
    data: Any, currency: str | None = None
) -> tuple[Money | None, int | None]:
    """`{"lowest_price": {"value": 35.0, "currency": "USD"}, "num_for_sale": 26}` → values."""
    if not isinstance(data, Mapping):
        raise MalformedError("marketplace stats is not a JSON object")
    lowest: Money | None = None
    price = data.get("lowest_price")
    if isinstance(price, Mapping):
        amount = _money_value(price.get("value"))
        price_currency = _text(price.get("currency")).upper() or currency
        if amount is not None and price_currency:
            lowest = Money(amount, price_currency)
    elif price is not None:  # a bare number, as /releases/{id} has it
        amount = _money_value(price)
        if amount is not None:
            lowest = Money(amount, currency or "USD")
    count = data.get("num_for_sale")
    num_for_sale = count if isinstance(count, int) and not isinstance(count, bool) else None
    return lowest, num_for_sale


def release_page(
    data: Mapping[str, Any], releases: list[Release], skipped: int, requested: int
) -> ReleasePage:
    """The page a search or wantlist answer describes, with the releases read from it."""
    pagination = data.get("pagination")
    info: Mapping[str, Any] = pagination if isinstance(pagination, Mapping) else {}
    page = _positive_int(info.get("page")) or max(1, requested)
    pages = _positive_int(info.get("pages")) or page
    items = info.get("items")
    total = items if isinstance(items, int) and not isinstance(items, bool) else len(releases)
    per_page = _positive_int(info.get("per_page")) or len(releases)
    return ReleasePage(
        releases=releases,
        page=page,
        pages=max(pages, 1),
        items=max(total, 0),
        skipped=skipped,
        per_page=per_page,
    )
