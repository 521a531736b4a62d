"""Streaming reader for the Discogs monthly releases dump (`discogs_YYYYMMDD_releases.xml.gz`).

The dump is one `<releases>` root holding millions of `<release>` elements (10+ GB
gzipped). `iter_dump_releases` reads it in fixed-size chunks, feeds lxml's pull parser,
turns every complete `<release>` into a `Release` and throws the element away, so memory
stays flat however big the file is.

Decisions worth knowing:

* Only releases whose `status` is "Accepted" (or that carry no status at all, as some newer
  dumps do) are kept; "Draft", "Deleted" and "Rejected" releases are counted as filtered.
  Nobody sells a deleted release, and a draft is not a catalog entry yet.
* `artist` is the credit line as Discogs displays it: each name without its " (2)"
  disambiguation or "*" name-variation marker, joined with its join word ("A, B & C",
  "A Feat. B"); the `anv` (name as credited) is ignored.
* `format` is the first format's name ("Vinyl"); `format_descriptions` gathers the
  descriptions of every format. The format filter matches any of the release's formats.
* `catalog_nos` keep the spelling printed by Discogs (trimmed, "none" dropped);
  `barcodes` are normalised 13-digit EANs (invalid ones are dropped).
* Corrupt or truncated input raises `DumpError` saying how far the read got.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from vinyl_detective.domain.models import Release
from vinyl_detective.domain.normalize import (
    normalize_barcode,
    normalize_catalog_no,
    strip_disambiguation,
)
from vinyl_detective.errors import DumpError

CHUNK_SIZE = 1 << 20  # bytes of XML handed to the parser at a time
GZIP_MAGIC = b"\x1f\x8b"
KEPT_STATUSES = frozenset({"Accepted", ""})

# The first element of a releases dump, after an optional XML declaration and comments.
_ROOT_START = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<([A-Za-z_][\w.-]*)", re.S
)


@dataclass(slots=True)
class DumpStats:
    """Counters the reader keeps up to date while it runs (read them at any time).

    `seen` counts every `<release>` read so far, `kept` those yielded, `filtered` those
    dropped by status or filters, `skipped` those passed over because of `skip_first`.
    `bytes_read` counts the bytes taken from the source (compressed bytes for a .gz).
    """

    seen: int = 0
    kept: int = 0
    filtered: int = 0
    skipped: int = 0
    last_id: int | None = None
    bytes_read: int = 0

    def position(self) -> str:
        """Where the reader is, for error messages: `"after 1,204 releases (last id 1310)"`."""
        last = f" (last id {self.last_id})" if self.last_id is not None else ""
        return f"after {self.seen:,} releases{last}"


class _CountingReader:
    """Wraps a binary stream and counts the bytes read from it."""

    def __init__(self, raw: BinaryIO, stats: DumpStats) -> None:
        self._raw = raw
        self._stats = stats

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._stats.bytes_read += len(data)
        return data

    def readable(self) -> bool:
        return True


def _peek(raw: BinaryIO, size: int) -> tuple[bytes, BinaryIO]:
    """The first `size` bytes of `raw`, and a stream that still starts at the beginning."""
    peek = getattr(raw, "peek", None)
    if peek is not None:
        head: bytes = peek(size)[:size]
        if len(head) >= size:
            return head, raw
    if raw.seekable():
        start = raw.tell()
        head = raw.read(size)
        raw.seek(start)
        return head, raw
    head = raw.read(size)
    return head, _Prefixed(head, raw)  # type: ignore[return-value]


class _Prefixed:
    """A non-seekable stream with some already-read bytes put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(size)


def _year(released: str | None) -> int | None:
    """`"1999-03-00"` → 1999; `"0"`, `""`, `"?"` → None."""
    if not released:
        return None
    head = released.strip()[:4]
    if len(head) == 4 and head.isdigit():
        year = int(head)
        return year if year > 0 else None
    return None


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
        if not name:
            continue
        if pending_join is not None:
            parts.append(pending_join)
        parts.append(strip_disambiguation(name))
        join = join.strip()
        pending_join = ", " if join in ("", ",") else f" {join} "
    return "".join(parts)


def _add_unique(values: list[str], value: str) -> None:
    if value and value not in values:
        values.append(value)


def _release_from_element(elem: Any) -> Release:
    """Reads one `<release>` element by walking its children (no XPath: this is the hot loop)."""
    artist = ""
    title = ""
    labels: list[str] = []
    catalog_nos: list[str] = []
    barcodes: list[str] = []
    format_names: list[str] = []
    descriptions: list[str] = []
    country: str | None = None
    year: int | None = None
    master_id: int | None = None
    genres: list[str] = []
    styles: list[str] = []
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
                    _add_unique(labels, strip_disambiguation(name))
                catno = (label.get("catno") or "").strip()
                if catno and normalize_catalog_no(catno) is not None:
                    _add_unique(catalog_nos, catno)
        elif tag == "formats":
            for fmt in child:
                name = fmt.get("name")
                if name:
                    _add_unique(format_names, name)
                for sub in fmt:
                    if sub.tag == "descriptions":
                        for description in sub:
                            _add_unique(descriptions, (description.text or "").strip())
        elif tag == "genres":
            for genre in child:
                _add_unique(genres, (genre.text or "").strip())
        elif tag == "styles":
            for style in child:
                _add_unique(styles, (style.text or "").strip())
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
                        _add_unique(barcodes, barcode)
    return Release(
        id=int(elem.get("id")),
        artist=artist,
        title=title,
        labels=tuple(labels),
        catalog_nos=tuple(catalog_nos),
        barcodes=tuple(barcodes),
        format=format_names[0] if format_names else None,
        format_descriptions=tuple(descriptions),
        country=country,
        year=year,
        master_id=master_id,
        genres=tuple(genres),
        styles=tuple(styles),
        status=elem.get("status") or None,
    )


class _Filter:
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

    def accepts(self, release: Release, all_formats: Collection[str]) -> bool:
        if self.formats is not None and not any(f.casefold() in self.formats for f in all_formats):
            return False
        if self.genres is not None and not any(g.casefold() in self.genres for g in release.genres):
            return False
        if self.years is not None:
            low, high = self.years
            if release.year is None:
                return False
            if low is not None and release.year < low:
                return False
            if high is not None and release.year > high:
                return False
        return True


def _format_names(elem: Any) -> list[str]:
    for child in elem:
        if child.tag == "formats":
            return [fmt.get("name") or "" for fmt in child]
    return []


def _open(source: Path | BinaryIO, stats: DumpStats) -> tuple[Any, BinaryIO | None]:
    """A readable stream of XML bytes for `source`, and the file to close afterwards."""
    to_close: BinaryIO | None = None
    if isinstance(source, Path | str):
        try:
            raw: BinaryIO = open(source, "rb")  # noqa: SIM115 - closed by the caller
        except OSError as exc:
            raise DumpError(f"cannot open the dump {source}: {exc.strerror or exc}") from exc
        to_close = raw
    else:
        raw = source
    try:
        head, raw = _peek(raw, 2)
    except OSError as exc:
        raise DumpError(f"cannot read the dump: {exc}") from exc
    counted = _CountingReader(raw, stats)
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=counted, mode="rb"), to_close  # type: ignore[arg-type]
    return counted, to_close


def _describe(source: Path | BinaryIO) -> str:
    if isinstance(source, Path | str):
        return str(source)
    return str(getattr(source, "name", "the dump"))


def iter_dump_releases(
    source: Path | BinaryIO,
    *,
    formats: Collection[str] | None = None,
    genres: Collection[str] | None = None,
    years: tuple[int | None, int | None] | None = None,
    stats: DumpStats | None = None,
    skip_first: int = 0,
) -> Iterator[Release]:
    """Yield every release of a Discogs releases dump (.xml.gz or .xml) that passes the filters.

    `formats` ("vinyl", "cd", "cassette"...) and `genres` match case-insensitively against any
    of a release's formats/genres; `years` is an inclusive (from, to) range, either end open,
    and drops releases of unknown year. Pass a `DumpStats` to watch counts and bytes read;
    `skip_first` passes over that many releases without building them (resuming an import).
    Raises `DumpError` when the file is not a releases dump, is corrupt or ends early.
    """
    stats = stats if stats is not None else DumpStats()
    wanted = _Filter(formats, genres, years)
    name = _describe(source)
    stream, to_close = _open(source, stats)
    parser = etree.XMLPullParser(
        events=("end",), tag="release", huge_tree=True, resolve_entities=False, no_network=True
    )
    try:
        first = True
        while True:
            try:
                chunk = stream.read(CHUNK_SIZE)
            except (EOFError, OSError, zlib.error) as exc:
                raise DumpError(
                    f"the dump {name} is corrupt or truncated {stats.position()}: {exc}. "
                    "Download it again (check it with the CHECKSUM file), then rerun the import: "
                    "releases already imported are kept."
                ) from exc
            if first:
                first = False
                _check_root(chunk, name)
            if not chunk:
                break
            try:
                parser.feed(chunk)
                events = parser.read_events()
                yield from _releases(events, stats, wanted, skip_first)
            except etree.XMLSyntaxError as exc:
                raise DumpError(
                    f"the dump {name} is not well-formed XML {stats.position()}: {exc}. "
                    "Download it again, then rerun the import."
                ) from exc
        try:
            parser.close()
            yield from _releases(parser.read_events(), stats, wanted, skip_first)
        except etree.XMLSyntaxError as exc:
            raise DumpError(
                f"the dump {name} ends early {stats.position()}: {exc}. "
                "The download was probably cut off: download it again, then rerun the import."
            ) from exc
    finally:
        if isinstance(stream, gzip.GzipFile):
            stream.close()  # closes the decompressor only, never the caller's file
        if to_close is not None:
            to_close.close()


def _check_root(chunk: bytes, name: str) -> None:
    found = _ROOT_START.match(chunk[:65536])
    if found is None:
        raise DumpError(
            f"{name} is not a Discogs releases dump (no XML root element found). "
            "Use the discogs_YYYYMMDD_releases.xml.gz file from https://data.discogs.com/."
        )
    root = found.group(1).decode("ascii", "replace")
    if root != "releases":
        raise DumpError(
            f"{name} is not a Discogs releases dump: its root element is <{root}>, not "
            "<releases>. Use the discogs_YYYYMMDD_releases.xml.gz file, not the artists, "
            "labels or masters one."
        )


def _releases(events: Any, stats: DumpStats, wanted: _Filter, skip_first: int) -> Iterator[Release]:
    for _event, elem in events:
        stats.seen += 1
        try:
            release_id = int(elem.get("id"))
        except (TypeError, ValueError) as exc:
            raise DumpError(
                f"a <release> without a valid id {stats.position()}: the dump is damaged"
            ) from exc
        stats.last_id = release_id
        if stats.seen <= skip_first:
            stats.skipped += 1
        elif (elem.get("status") or "") not in KEPT_STATUSES:
            stats.filtered += 1
        else:
            release = _release_from_element(elem)
            if wanted.accepts(release, _format_names(elem) if wanted.formats else ()):
                stats.kept += 1
                _free(elem)
                yield release
                continue
            stats.filtered += 1
        _free(elem)


def _free(elem: Any) -> None:
    """Drop a finished element and anything before it, so the tree never grows."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


__all__ = ["DumpStats", "iter_dump_releases"]
