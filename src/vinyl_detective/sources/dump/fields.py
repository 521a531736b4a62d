"""What a `<release>` element of the dump becomes: the values of a `Release`, and the
user's filters on them; also the bytes cut out before lxml sees a release.

The decisions (which statuses are kept, how the credit line is joined, which catalog
numbers and barcodes count) are the package's, listed in `sources/dump/__init__.py`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from vinyl_detective.domain.normalize import (
    normalize_barcode,
    normalize_catalog_no,
    strip_disambiguation,
)

# lxml's options for reading the dump: no entities resolved, nothing fetched, no table of
# xml:id attributes (a few % of the parse: the dump has none worth finding).
PARSER_OPTIONS: dict[str, Any] = {
    "huge_tree": True,
    "resolve_entities": False,
    "no_network": True,
    "collect_ids": False,
}
KEPT_STATUSES = frozenset({"Accepted", ""})


def _year(released: str | None) -> int | None:
    """`"1999-03-00"` → 1999; `"0"`, `""`, `"?"` → None."""
    if not released:
        return None
    head = released.strip()[:4]
    if len(head) == 4 and head.isdigit():
        year = int(head)
        return year if year > 0 else None
    return None


def _clean_name(name: str) -> str:
    """`strip_disambiguation`, skipped for the many names that carry no suffix (hot path)."""
    name = name.strip()
    if name.endswith((")", "*")):
        return strip_disambiguation(name)
    return name


def _join_artists(artists: Any) -> str:
    """The credit line: names without disambiguation suffixes, joined as Discogs shows them."""
    parts: list[str] = []
    pending_join: str | None = None
    for artist in artists:
        name = ""
        join = ""
        for field in artist:
            tag = field.tag
            if tag == "name":
                name = field.text or ""
            elif tag == "join":
                join = field.text or ""
                break  # <join> comes after <name>; <role> and <tracks> are not needed
        if not name:
            continue
        if pending_join is not None:
            parts.append(pending_join)
        parts.append(_clean_name(name))
        join = join.strip()
        pending_join = ", " if join in ("", ",") else f" {join} "
    return "".join(parts)


def _texts(parent: Any) -> tuple[str, ...]:
    """The stripped, non-empty, distinct texts of `parent`'s children, in order."""
    texts: dict[str, None] = {}
    for child in parent:
        text = child.text
        if text and (text := text.strip()):
            texts[text] = None
    return tuple(texts)


def _is_catalog_no(catno: str) -> bool:
    # Discogs' placeholders ("none", "N/A", "unknown"...) hold no digits and are short.
    return catno[-1].isdigit() or len(catno) > 8 or normalize_catalog_no(catno) is not None


# The order of the values `release_values` returns: `Release`'s fields up to `status`.
_YEAR, _GENRES = 9, 11


def release_values(elem: Any, format_names: list[str]) -> tuple[Any, ...]:
    """Reads one `<release>` element by walking its children (no XPath: this is the hot loop).

    Returns the arguments of `Release(...)` in field order (a tuple is cheaper to build and
    to send between processes than the frozen dataclass). Appends every format name of the
    release to `format_names` (for the format filter).
    """
    artist = ""
    title = ""
    labels: dict[str, None] = {}
    catalog_nos: dict[str, None] = {}
    barcodes: dict[str, None] = {}
    descriptions: dict[str, None] = {}
    country: str | None = None
    year: int | None = None
    master_id: int | None = None
    genres: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    for child in elem:
        tag = child.tag
        if tag == "artists":
            artist = _join_artists(child)
        elif tag == "title":
            title = (child.text or "").strip()
        elif tag == "labels":
            for label in child:
                name = label.get("name")
                if name:
                    labels[_clean_name(name)] = None
                catno = label.get("catno")
                if catno:
                    catno = catno.strip()
                    if catno and _is_catalog_no(catno):
                        catalog_nos[catno] = None
        elif tag == "formats":
            for fmt in child:
                name = fmt.get("name")
                if name and name not in format_names:
                    format_names.append(name)
                for sub in fmt:
                    if sub.tag == "descriptions":
                        for description in sub:
                            text = description.text
                            if text and (text := text.strip()):
                                descriptions[text] = None
        elif tag == "genres":
            genres = _texts(child)
        elif tag == "styles":
            styles = _texts(child)
        elif tag == "country":
            country = (child.text or "").strip() or None
        elif tag == "released":
            year = _year(child.text)
        elif tag == "master_id":
            text = (child.text or "").strip()
            master_id = int(text) if text.isdigit() and int(text) > 0 else None
        elif tag == "identifiers":
            for identifier in child:
                if identifier.get("type") == "Barcode":
                    barcode = normalize_barcode(identifier.get("value") or "")
                    if barcode is not None:
                        barcodes[barcode] = None
    return (
        int(elem.get("id")),
        artist,
        title,
        tuple(labels),
        tuple(catalog_nos),
        tuple(barcodes),
        format_names[0] if format_names else None,
        tuple(descriptions),
        country,
        year,
        master_id,
        genres,
        styles,
        elem.get("status") or None,
    )


class ReleaseFilter:
    """The user's format/genre/year filters, checked on the element before building a Release."""

    def __init__(
        self,
        formats: Collection[str] | None,
        genres: Collection[str] | None,
        years: tuple[int | None, int | None] | None,
    ) -> None:
        self.formats = frozenset(f.strip().casefold() for f in formats) if formats else None
        self.genres = frozenset(g.strip().casefold() for g in genres) if genres else None
        self.years = years if years and (years[0] is not None or years[1] is not None) else None

    def accepts(self, values: tuple[Any, ...], all_formats: Collection[str]) -> bool:
        """Whether the release with these `release_values` (and formats) is wanted."""
        if self.formats is not None and not any(f.casefold() in self.formats for f in all_formats):
            return False
        if self.genres is not None and not any(
            g.casefold() in self.genres for g in values[_GENRES]
        ):
            return False
        if self.years is not None:
            low, high = self.years
            year = values[_YEAR]
            if year is None:
                return False
            if low is not None and year < low:
                return False
            if high is not None and year > high:
                return False
        return True


# Sub-trees of a <release> that the catalog never reads. Cutting them out of the bytes before
# lxml sees them halves the parse time. Safe because "<" never appears unescaped in XML text
# or attribute values, so these byte strings can only be the tags themselves (the dumps use
# neither comments nor CDATA). A sub-tree inside another (a track's <extraartists>) goes
# with it.
_UNUSED = tuple(
    (f"<{tag}>".encode(), f"</{tag}>".encode())
    for tag in ("tracklist", "videos", "extraartists", "companies", "notes", "images")
)
RELEASE_END = b"</release>"


_UNUSED_START = re.compile(rb"<(%s)>" % b"|".join(start[1:-1] for start, _end in _UNUSED))
_UNUSED_END = {start[1:-1]: end for start, end in _UNUSED}


def strip_unused(data: bytes) -> bytes:
    """`data` without the unused sub-trees, in one pass: from each one's start tag to the
    first end tag of its name (whatever it holds, other unused sub-trees included). A start
    tag with no end tag after it (damaged data) is left, and so are the later ones of its
    name."""
    pieces: list[bytes] = []
    pos = 0  # what is kept starts here
    at = 0  # where the next start tag is looked for
    unterminated: set[bytes] = set()
    search = _UNUSED_START.search
    find = data.find
    while (start := search(data, at)) is not None:
        name = start.group(1)
        at = start.end()
        if name in unterminated:
            continue
        end_tag = _UNUSED_END[name]
        end = find(end_tag, at)
        if end < 0:
            unterminated.add(name)
            continue
        pieces.append(data[pos : start.start()])
        pos = at = end + len(end_tag)
    if not pieces:
        return data
    pieces.append(data[pos:])
    return b"".join(pieces)


__all__ = [
    "KEPT_STATUSES",
    "PARSER_OPTIONS",
    "RELEASE_END",
    "ReleaseFilter",
    "release_values",
    "strip_unused",
]
