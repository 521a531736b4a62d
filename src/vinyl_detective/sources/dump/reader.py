"""Reading the dump in this process: `iter_dump_releases`, lxml's pull parser fed the
trimmed XML a chunk at a time, each finished `<release>` turned into a `Release` and
thrown away, so memory stays flat however big the file is.
"""

from __future__ import annotations

import gzip
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from vinyl_detective.domain.models import Release
from vinyl_detective.errors import DumpError
from vinyl_detective.sources.dump.fields import (
    KEPT_STATUSES,
    PARSER_OPTIONS,
    RELEASE_END,
    ReleaseFilter,
    release_values,
    strip_unused,
)
from vinyl_detective.sources.dump.stream import (
    ChunkReader,
    DumpStats,
    chunks_from,
    describe,
    open_dump,
)


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
    wanted = ReleaseFilter(formats, genres, years)
    name = describe(source)
    stream, to_close = open_dump(source, stats)
    reader = ChunkReader(stream, stats)
    try:
        chunks = chunks_from(reader.get, stats, name)
        for values in _parse(chunks, stats, wanted, skip_first, name):
            yield Release(*values)
    finally:
        reader.stop()
        if isinstance(stream, gzip.GzipFile):
            stream.close()  # closes the decompressor only, never the caller's file
        if to_close is not None:
            to_close.close()


def _parse(
    chunks: Iterable[bytes], stats: DumpStats, wanted: ReleaseFilter, skip_first: int, name: str
) -> Iterator[tuple[Any, ...]]:
    """XML chunks in, release values out: the pull parser fed one trimmed chunk at a time."""
    parser = etree.XMLPullParser(events=("end",), tag="release", **PARSER_OPTIONS)
    for chunk in _trimmed(chunks):
        try:
            parser.feed(chunk)
            yield from _releases(parser.read_events(), stats, wanted, skip_first)
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


def _trimmed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The XML with the unused sub-trees removed, cut at release boundaries."""
    pending = b""
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        cut = data.rfind(RELEASE_END)
        if cut < 0:
            pending = data  # a release longer than a chunk: wait for its end
            continue
        cut += len(RELEASE_END)
        pending = data[cut:]
        yield strip_unused(data[:cut])
    if pending:
        yield pending


def _releases(
    events: Any, stats: DumpStats, wanted: ReleaseFilter, skip_first: int
) -> Iterator[tuple[Any, ...]]:
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
            format_names: list[str] = []
            values = release_values(elem, format_names)
            if wanted.accepts(values, format_names):
                stats.kept += 1
                _free(elem)
                yield values
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


__all__ = ["iter_dump_releases"]
