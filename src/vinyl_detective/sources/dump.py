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
* Speed: the file is inflated in a background thread (zlib releases the GIL); sub-trees
  the catalog never reads (tracklist, videos, credits, companies, notes, images) are cut
  out of the bytes before lxml sees them; `iter_dump_releases_in_worker` and
  `iter_dump_batches` run the parse in child processes (two by default) so that the
  caller's database writes overlap it, and `iter_dump_batches` also runs the caller's
  `build` there (the bulk importer builds its database rows in the workers).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import marshal
import queue
import re
import signal
import threading
import time
import zlib
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
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
# lxml's options for reading the dump: no entities resolved, nothing fetched, no table of
# xml:id attributes (a few % of the parse: the dump has none worth finding).
_PARSER_OPTIONS: dict[str, Any] = {
    "huge_tree": True,
    "resolve_entities": False,
    "no_network": True,
    "collect_ids": False,
}
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


# The order of the values `_release_values` returns: `Release`'s fields up to `status`.
_YEAR, _GENRES = 9, 11


def _release_values(elem: Any, format_names: list[str]) -> tuple[Any, ...]:
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

    def accepts(self, values: tuple[Any, ...], all_formats: Collection[str]) -> bool:
        """Whether the release with these `_release_values` (and formats) is wanted."""
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
        return gzip.GzipFile(fileobj=counted, mode="rb"), to_close  # type: ignore[call-overload]
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
    reader = _ChunkReader(stream, stats)
    try:
        chunks = _chunks_from(reader.get, stats, name)
        for values in _parse(chunks, stats, wanted, skip_first, name):
            yield Release(*values)
    finally:
        reader.stop()
        if isinstance(stream, gzip.GzipFile):
            stream.close()  # closes the decompressor only, never the caller's file
        if to_close is not None:
            to_close.close()


def _parse(
    chunks: Iterable[bytes], stats: DumpStats, wanted: _Filter, skip_first: int, name: str
) -> Iterator[tuple[Any, ...]]:
    """XML chunks in, release values out: the pull parser fed one trimmed chunk at a time."""
    parser = etree.XMLPullParser(events=("end",), tag="release", **_PARSER_OPTIONS)
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


def _chunks_from(get: Callable[[], object], stats: DumpStats, name: str) -> Iterator[bytes]:
    """The chunks a `_ChunkReader` sends: bytes, then None at the end, or an error text."""
    first = True
    while True:
        item = get()
        if item is None:
            if first:
                _check_root(b"", name)
            return
        if isinstance(item, str):
            raise DumpError(
                f"the dump {name} is corrupt or truncated {stats.position()}: {item}. "
                "Download it again (check it with the CHECKSUM file), then rerun the import: "
                "releases already imported are kept."
            )
        assert isinstance(item, bytes)
        if first:
            first = False
            _check_root(item, name)
        yield item


class _ChunkReader:
    """Reads (and decompresses) the source in a background thread, a few chunks ahead.

    zlib releases the GIL while it inflates, so decompression overlaps with parsing. The
    thread puts XML chunks (bytes), then None at the end, or the text of a read error,
    into `out` (a local queue by default; the worker-process reader passes its own).
    """

    def __init__(self, stream: Any, stats: DumpStats, out: Any = None) -> None:
        self._stream = stream
        self._stats = stats
        self._local = out is None
        self._queue: Any = queue.Queue(maxsize=4) if out is None else out
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dump-reader", daemon=True)
        self._thread.start()

    def get(self) -> object:
        return self._queue.get()

    def _put(self, item: object) -> bool:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def _run(self) -> None:
        # read1 returns what one decompression step gives, so the data before a damaged
        # spot still reaches the parser (read(n) would drop it along with the error).
        read = getattr(self._stream, "read1", self._stream.read)
        parts: list[bytes] = []
        size = 0
        try:
            while True:
                data = read(CHUNK_SIZE)
                if not data:
                    break
                parts.append(data)
                size += len(data)
                if size >= CHUNK_SIZE:
                    chunk, parts, size = b"".join(parts), [], 0
                    if not self._put(chunk):
                        return
        except (EOFError, OSError, zlib.error) as exc:
            if parts and not self._put(b"".join(parts)):
                return
            self._put(str(exc) or type(exc).__name__)
            return
        if parts and not self._put(b"".join(parts)):
            return
        self._put(None)

    def stop(self, timeout: float | None = None) -> None:
        """Stop the thread; wait at most `timeout` seconds for it (it is a daemon thread)."""
        self._stopping.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._thread.is_alive():
            if deadline is not None and time.monotonic() >= deadline:
                return
            if self._local:
                with contextlib.suppress(queue.Empty):
                    self._queue.get(timeout=0.05)
            else:
                self._thread.join(timeout=0.05)
        self._thread.join()


# Sub-trees of a <release> that the catalog never reads. Cutting them out of the bytes before
# lxml sees them halves the parse time. Safe because "<" never appears unescaped in XML text
# or attribute values, so these byte strings can only be the tags themselves (the dumps use
# neither comments nor CDATA). A sub-tree inside another (a track's <extraartists>) goes
# with it.
_UNUSED = tuple(
    (f"<{tag}>".encode(), f"</{tag}>".encode())
    for tag in ("tracklist", "videos", "extraartists", "companies", "notes", "images")
)
_RELEASE_END = b"</release>"


_UNUSED_START = re.compile(rb"<(%s)>" % b"|".join(start[1:-1] for start, _end in _UNUSED))
_UNUSED_END = {start[1:-1]: end for start, end in _UNUSED}


def _strip_unused(data: bytes) -> bytes:
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


def _trimmed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The XML with the unused sub-trees removed, cut at release boundaries."""
    pending = b""
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        cut = data.rfind(_RELEASE_END)
        if cut < 0:
            pending = data  # a release longer than a chunk: wait for its end
            continue
        cut += len(_RELEASE_END)
        pending = data[cut:]
        yield _strip_unused(data[:cut])
    if pending:
        yield pending


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


def _releases(
    events: Any, stats: DumpStats, wanted: _Filter, skip_first: int
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
            values = _release_values(elem, format_names)
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


# --- Reading in worker processes -------------------------------------------------------------
# Parsing XML holds the GIL, so the parse runs in child processes while the caller writes to
# the database. This process reads and inflates the file (in a thread), cuts the XML into
# pieces of whole releases and hands them round-robin to the workers; each worker parses its
# pieces as small standalone documents (the dump's own header, the piece, the closing root
# tag) and sends back what it made of every kept release: its values, or whatever `build`
# turns them into (the bulk importer's database rows), so this process only has to write.
# Results are read back in piece order, so releases come out in dump order.

DEFAULT_WORKERS = 2
_IN_FLIGHT = 3  # pieces queued per worker: keeps every worker busy, bounds the memory
_RELEASE_START = re.compile(rb"<release[\s/>]")
_RELEASE_ID = re.compile(rb"""<release\b[^>]*?\sid\s*=\s*["'](\d+)["']""")


def _piece_document(header: bytes, piece: bytes) -> bytes:
    return header + _strip_unused(piece) + b"</releases>"


def _parse_piece(
    header: bytes,
    piece: bytes,
    wanted: _Filter,
    build: Callable[[tuple[Any, ...]], Any] | None,
    parser: Any,
) -> tuple[Any, ...]:
    """One piece of whole releases in, `("ok", items, seen, filtered, last_id)` out.

    Items are `build(values)` for the kept releases, or `(position in piece, values)` when
    there is no `build`. A piece that is not well-formed gives `("error", items, seen,
    filtered, last_id, message)` with the releases before the damaged spot.
    """
    document = _piece_document(header, piece)
    items: list[Any] = []
    seen = filtered = 0
    last_id: int | None = None
    try:
        root = etree.fromstring(document, parser)
        elements: Iterable[Any] = root
    except etree.XMLSyntaxError:
        # Find how far the piece is readable, for an error that says where.
        pull = etree.XMLPullParser(
            events=("end",), tag="release", huge_tree=True, resolve_entities=False, no_network=True
        )
        found: list[Any] = []
        try:
            pull.feed(document)
            found.extend(elem for _event, elem in pull.read_events())
            pull.close()
            message = "the document is not well-formed"
        except etree.XMLSyntaxError as exc:
            found.extend(elem for _event, elem in pull.read_events())
            message = str(exc)
        elements = found
    else:
        message = ""
    for elem in elements:
        if elem.tag != "release":
            continue
        seen += 1
        try:
            release_id = int(elem.get("id"))
        except (TypeError, ValueError):
            return ("error", items, seen, filtered, last_id, "a <release> without a valid id")
        last_id = release_id
        if (elem.get("status") or "") not in KEPT_STATUSES:
            filtered += 1
            continue
        format_names: list[str] = []
        values = _release_values(elem, format_names)
        if not wanted.accepts(values, format_names):
            filtered += 1
            continue
        items.append(build(values) if build is not None else (seen, values))
    if message:
        return ("error", items, seen, filtered, last_id, message)
    return ("ok", items, seen, filtered, last_id)


def _piece_worker(
    formats: Collection[str] | None,
    genres: Collection[str] | None,
    years: tuple[int | None, int | None] | None,
    build: Callable[[tuple[Any, ...]], Any] | None,
    inbox: Any,
    outbox: Any,
) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what happens (it stops the
    # workers itself), so a worker neither dies with a traceback nor leaves half a result.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # the parent blocked it around the fork
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    # Never wait at exit for the parent to drain a full pipe (it may have stopped reading).
    outbox.cancel_join_thread()
    wanted = _Filter(formats, genres, years)
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    while True:
        job = inbox.get()
        if job is None:
            return
        header, piece = job
        try:
            result = _parse_piece(header, piece, wanted, build, parser)
            # marshal: about twice as fast to load as pickle, for plain tuples and lists.
            with contextlib.suppress(ValueError):
                result = (result[0], marshal.dumps(result[1]), *result[2:])
            outbox.put(result)
        except Exception as exc:  # reported to the parent, which raises it
            outbox.put(("error", [], 0, 0, None, f"the dump reader failed: {exc!r}"))


class _Splitter:
    """Cuts the XML stream into pieces of whole releases (in the reader thread).

    Sends to `order` what the consumer must do next, in stream order: `("piece", worker)`,
    `("skipped", count, last_id)`, `("end", message or None)` or `("fatal", text)` /
    `("read-error", text)`; the pieces themselves go to the workers' inboxes.
    """

    def __init__(self, inboxes: list[Any], order: Any, skip_first: int, name: str) -> None:
        self.inboxes = inboxes
        self.order = order
        self.to_skip = skip_first
        self.name = name
        self.header: bytes | None = None
        self.pending = b""
        self.next_worker = 0
        self.first = True
        self.stopping = threading.Event()

    def _send(self, channel: Any, item: object) -> bool:
        while not self.stopping.is_set():
            try:
                channel.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def feed(self, chunk: bytes) -> None:
        if self.first:
            self.first = False
            _check_root(chunk, self.name)
        data = self.pending + chunk if self.pending else chunk
        if self.header is None:
            start = _RELEASE_START.search(data)
            if start is None:
                self.pending = data
                return
            self.header, data = data[: start.start()], data[start.start() :]
        cut = data.rfind(_RELEASE_END)
        if cut < 0:
            self.pending = data
            return
        cut += len(_RELEASE_END)
        piece, self.pending = data[:cut], data[cut:]
        if self.to_skip:
            piece = self._skip(piece)
            if not piece:
                return
        worker = self.next_worker
        self.next_worker = (worker + 1) % len(self.inboxes)
        if self._send(self.inboxes[worker], (self.header, piece)):
            self.order.put(("piece", worker))

    def _skip(self, piece: bytes) -> bytes:
        starts = [m.start() for m in _RELEASE_START.finditer(piece)]
        count = min(len(starts), self.to_skip)
        if count == 0:
            return piece
        self.to_skip -= count
        rest = piece[starts[count] :] if count < len(starts) else b""
        skipped = piece[: starts[count]] if count < len(starts) else piece
        ids = _RELEASE_ID.findall(skipped[starts[count - 1] :])
        self.order.put(("skipped", count, int(ids[0]) if ids else None))
        return rest

    def finish(self) -> None:
        """The stream ended: the rest must close the root element."""
        header = self.header if self.header is not None else b""
        tail = self.pending
        if self.first:
            _check_root(b"", self.name)
        try:
            etree.fromstring(
                header + tail, etree.XMLParser(resolve_entities=False, no_network=True)
            )
        except etree.XMLSyntaxError as exc:
            self.order.put(("end", str(exc)))
            return
        self.order.put(("end", None))


class _PieceReader(_ChunkReader):
    """The reader thread, splitting what it reads into pieces for the workers."""

    def __init__(self, stream: Any, stats: DumpStats, splitter: _Splitter) -> None:
        self._splitter = splitter
        super().__init__(stream, stats, out=_SplitterSink(splitter))

    def _run(self) -> None:
        try:
            super()._run()
        except DumpError as exc:
            self._splitter.order.put(("fatal", str(exc)))
        except Exception as exc:  # never leave the consumer waiting
            self._splitter.order.put(("fatal", f"the dump reader failed: {exc!r}"))


class _SplitterSink:
    """The queue interface `_ChunkReader` writes to, feeding a `_Splitter`."""

    def __init__(self, splitter: _Splitter) -> None:
        self.splitter = splitter

    def put(self, item: object, timeout: float | None = None) -> None:
        if item is None:
            self.splitter.finish()
        elif isinstance(item, str):
            self.splitter.order.put(("read-error", item))
        else:
            assert isinstance(item, bytes)
            self.splitter.feed(item)


def _iter_pieces(
    path: Path,
    *,
    build: Callable[[tuple[Any, ...]], Any] | None,
    formats: Collection[str] | None,
    genres: Collection[str] | None,
    years: tuple[int | None, int | None] | None,
    stats: DumpStats,
    skip_first: int,
    workers: int,
) -> Generator[tuple[int, list[Any]], None, None]:
    """`(releases read before this piece, items)` for every piece, in dump order."""
    import multiprocessing

    workers = max(1, workers)
    name = _describe(path)
    stream, to_close = _open(path, stats)
    # fork: the children start at once and never re-import the caller's __main__; they only
    # parse what they are sent and never touch the parent's database connections.
    methods = multiprocessing.get_all_start_methods()
    context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    inboxes: list[Any] = [context.Queue(maxsize=_IN_FLIGHT) for _ in range(workers)]
    outboxes: list[Any] = [context.Queue(maxsize=_IN_FLIGHT + 1) for _ in range(workers)]
    processes = [
        context.Process(
            target=_piece_worker,
            args=(formats, genres, years, build, inboxes[i], outboxes[i]),
            name=f"dump-parser-{i + 1}",
            daemon=True,
        )
        for i in range(workers)
    ]
    order: Any = queue.Queue()
    splitter = _Splitter(inboxes, order, skip_first, name)
    reader: _PieceReader | None = None
    try:
        _start_ignoring_sigint(processes)
        reader = _PieceReader(stream, stats, splitter)
        while True:
            step = order.get()
            kind = step[0]
            if kind == "piece":
                result = _result_from(outboxes[step[1]], processes[step[1]], stats)
                before = stats.seen
                status, items, seen, filtered, last_id = result[:5]
                if isinstance(items, bytes):
                    items = marshal.loads(items)  # noqa: S302 - made by our own worker
                stats.seen += seen
                stats.kept += len(items)
                stats.filtered += filtered
                if last_id is not None:
                    stats.last_id = last_id
                if items:
                    yield before, items
                if status == "error":
                    raise DumpError(
                        f"the dump {name} is not well-formed XML {stats.position()}: "
                        f"{result[5]}. Download it again, then rerun the import."
                    )
            elif kind == "skipped":
                stats.seen += step[1]
                stats.skipped += step[1]
                if step[2] is not None:
                    stats.last_id = step[2]
            elif kind == "end":
                if step[1] is not None:
                    raise DumpError(
                        f"the dump {name} ends early {stats.position()}: {step[1]}. "
                        "The download was probably cut off: download it again, then rerun "
                        "the import."
                    )
                return
            elif kind == "read-error":
                raise DumpError(
                    f"the dump {name} is corrupt or truncated {stats.position()}: {step[1]}. "
                    "Download it again (check it with the CHECKSUM file), then rerun the "
                    "import: releases already imported are kept."
                )
            else:
                raise DumpError(step[1])
    finally:
        _shut_down(splitter, reader, processes, [*inboxes, *outboxes], stream, to_close)


def _start_ignoring_sigint(processes: list[Any]) -> None:
    """Start the workers with SIGINT blocked, so that a Ctrl-C arriving before a worker has
    set it to be ignored stays pending (and is then dropped) instead of killing it."""
    block = hasattr(signal, "pthread_sigmask")
    if block:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for process in processes:
            process.start()
    finally:
        if block:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


# How long the workers get to exit after SIGTERM before they are killed.
_STOP_TIMEOUT = 1.0


def _shut_down(
    splitter: _Splitter,
    reader: _PieceReader | None,
    processes: list[Any],
    channels: list[Any],
    stream: Any,
    to_close: BinaryIO | None,
) -> None:
    """Stop the reader thread and the worker processes and release their pipes, however the
    parse ended (finished, failed, closed early, Ctrl-C). Every step runs even if one before
    it fails or a second Ctrl-C lands in the middle; the first such error is raised at the end.
    """
    first: BaseException | None = None

    def step(action: Callable[[], object]) -> None:
        nonlocal first
        try:
            action()
        except BaseException as exc:  # finish the cleanup, raise the first error after
            if first is None:
                first = exc

    splitter.stopping.set()
    # Our end of the pipes first: no thread of ours may stay blocked writing to a worker that
    # is gone, and nothing waits for the queues' feeder threads at exit.
    for channel in channels:
        step(channel.cancel_join_thread)
    deadline = time.monotonic() + _STOP_TIMEOUT

    def terminate(process: Any) -> None:
        if process.is_alive():
            process.terminate()

    def join(process: Any) -> None:
        process.join(max(deadline - time.monotonic(), 0.0))

    def kill(process: Any) -> None:
        if process.is_alive():  # did not stop on SIGTERM in time
            process.kill()
            process.join(_STOP_TIMEOUT)

    for action in (terminate, join, kill):
        for process in processes:
            step(functools.partial(action, process))
    for channel in channels:
        step(channel.close)
    if reader is not None:
        step(lambda: reader.stop(timeout=_STOP_TIMEOUT))
    if isinstance(stream, gzip.GzipFile):
        step(stream.close)
    if to_close is not None:
        step(to_close.close)
    if first is not None:
        raise first


def _result_from(outbox: Any, process: Any, stats: DumpStats) -> tuple[Any, ...]:
    while True:
        try:
            result: tuple[Any, ...] = outbox.get(timeout=1.0)
            return result
        except queue.Empty:
            if not process.is_alive():
                raise DumpError(
                    f"the dump parser process stopped unexpectedly {stats.position()} "
                    f"(exit code {process.exitcode})"
                ) from None


def iter_dump_batches(
    path: Path,
    build: Callable[[tuple[Any, ...]], Any],
    *,
    formats: Collection[str] | None = None,
    genres: Collection[str] | None = None,
    years: tuple[int | None, int | None] | None = None,
    stats: DumpStats | None = None,
    skip_first: int = 0,
    workers: int = DEFAULT_WORKERS,
) -> Iterator[list[Any]]:
    """The kept releases of the dump at `path` as `build(values)`, computed in `workers`
    child processes, in batches (one per ~1 MB of XML), in dump order.

    `values` is the tuple of `Release`'s fields in order (`Release(*values)` is the
    release); `build` must be a picklable module-level function (or a `functools.partial`
    of one). When a batch is yielded, `stats.seen` counts every release up to the end of
    that batch, kept or not: the position to resume from once the batch is stored.
    Same filters and errors as `iter_dump_releases`.
    """
    stats = stats if stats is not None else DumpStats()
    pieces = _iter_pieces(
        Path(path),
        build=build,
        formats=formats,
        genres=genres,
        years=years,
        stats=stats,
        skip_first=skip_first,
        workers=workers,
    )
    try:
        for _before, items in pieces:
            yield items
    finally:
        pieces.close()


def iter_dump_releases_in_worker(
    path: Path,
    *,
    formats: Collection[str] | None = None,
    genres: Collection[str] | None = None,
    years: tuple[int | None, int | None] | None = None,
    stats: DumpStats | None = None,
    skip_first: int = 0,
    workers: int = DEFAULT_WORKERS,
) -> Iterator[Release]:
    """`iter_dump_releases` with the XML parsing in `workers` child processes: same releases,
    same errors, faster end to end on a multi-core machine because the caller's work
    (writing to the database) overlaps the parse.

    `stats` follows along (`stats.seen` is exactly the position of the release just
    yielded). Closing the iterator early stops the workers.
    """
    stats = stats if stats is not None else DumpStats()
    pieces = _iter_pieces(
        Path(path),
        build=None,
        formats=formats,
        genres=genres,
        years=years,
        stats=stats,
        skip_first=skip_first,
        workers=workers,
    )
    try:
        for before, items in pieces:
            end = stats.seen
            for seen, values in items:
                # Exactly the position of this release, as the in-process reader keeps it:
                # a caller checkpointing between two releases must not get ahead.
                stats.seen = before + seen
                yield Release(*values)
            stats.seen = end
    finally:
        pieces.close()


__all__ = [
    "DEFAULT_WORKERS",
    "DumpStats",
    "iter_dump_batches",
    "iter_dump_releases",
    "iter_dump_releases_in_worker",
]
