"""Reading the dump in worker processes: `iter_dump_batches` and
`iter_dump_releases_in_worker`.

Parsing XML holds the GIL, so the parse runs in child processes while the caller writes to
the database. This process reads and inflates the file (in a thread), cuts the XML into
pieces of whole releases and hands them round-robin to the workers; results come back in
piece order, so releases come out in dump order. Ctrl-C, an early close or a damaged file
stop the workers and release their pipes (`_shut_down`).
"""

from __future__ import annotations

import functools
import gzip
import marshal
import queue
import re
import signal
import threading
import time
from collections.abc import Callable, Collection, Generator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from vinyl_detective.domain.models import Release
from vinyl_detective.errors import DumpError
from vinyl_detective.sources.dump.fields import (
    RELEASE_END,
)
from vinyl_detective.sources.dump.stream import (
    ChunkReader,
    DumpStats,
    check_root,
    describe,
    open_dump,
)
from vinyl_detective.sources.dump.worker import piece_worker

# --- The pieces and the workers -------------------------------------------------------------
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
            check_root(chunk, self.name)
        data = self.pending + chunk if self.pending else chunk
        if self.header is None:
            start = _RELEASE_START.search(data)
            if start is None:
                self.pending = data
                return
            self.header, data = data[: start.start()], data[start.start() :]
        cut = data.rfind(RELEASE_END)
        if cut < 0:
            self.pending = data
            return
        cut += len(RELEASE_END)
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
            check_root(b"", self.name)
        try:
            etree.fromstring(
                header + tail, etree.XMLParser(resolve_entities=False, no_network=True)
            )
        except etree.XMLSyntaxError as exc:
            self.order.put(("end", str(exc)))
            return
        self.order.put(("end", None))


class _PieceReader(ChunkReader):
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
    """The queue interface `ChunkReader` writes to, feeding a `_Splitter`."""

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
    name = describe(path)
    stream, to_close = open_dump(path, stats)
    # fork: the children start at once and never re-import the caller's __main__; they only
    # parse what they are sent and never touch the parent's database connections.
    methods = multiprocessing.get_all_start_methods()
    context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    inboxes: list[Any] = [context.Queue(maxsize=_IN_FLIGHT) for _ in range(workers)]
    outboxes: list[Any] = [context.Queue(maxsize=_IN_FLIGHT + 1) for _ in range(workers)]
    processes = [
        context.Process(
            target=piece_worker,
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


__all__ = ["DEFAULT_WORKERS", "iter_dump_batches", "iter_dump_releases_in_worker"]
