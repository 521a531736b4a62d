"""Opening a Discogs releases dump: the file or stream, gunzipped in a background thread,
counted, and checked to be a releases dump (its root element) before anything is parsed.

`ChunkReader` hands out the XML in chunks of about `CHUNK_SIZE` bytes (zlib releases the
GIL while it inflates, so decompression overlaps the parse); `DumpStats` are the counters
every reader keeps, with the position its errors quote.
"""

from __future__ import annotations

import contextlib
import gzip
import queue
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from vinyl_detective.errors import DumpError

CHUNK_SIZE = 1 << 20  # bytes of XML handed to the parser at a time
GZIP_MAGIC = b"\x1f\x8b"

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


def open_dump(source: Path | BinaryIO, stats: DumpStats) -> tuple[Any, BinaryIO | None]:
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


def describe(source: Path | BinaryIO) -> str:
    if isinstance(source, Path | str):
        return str(source)
    return str(getattr(source, "name", "the dump"))


def chunks_from(get: Callable[[], object], stats: DumpStats, name: str) -> Iterator[bytes]:
    """The chunks a `ChunkReader` sends: bytes, then None at the end, or an error text."""
    first = True
    while True:
        item = get()
        if item is None:
            if first:
                check_root(b"", name)
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
            check_root(item, name)
        yield item


class ChunkReader:
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


def check_root(chunk: bytes, name: str) -> None:
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


__all__ = [
    "CHUNK_SIZE",
    "GZIP_MAGIC",
    "ChunkReader",
    "DumpStats",
    "check_root",
    "chunks_from",
    "describe",
    "open_dump",
]
