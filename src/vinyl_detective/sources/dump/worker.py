"""What a dump parser process does (`piece_worker`): parse the pieces of whole releases it
is sent, each as a small standalone document (the dump's own header, the piece, the
closing root tag), and send back what it made of every kept release — its values, or
whatever the caller's `build` turns them into (the bulk importer's database rows).
"""

from __future__ import annotations

import contextlib
import marshal
import signal
from collections.abc import Callable, Collection, Iterable
from typing import Any

from lxml import etree

from vinyl_detective.sources.dump.fields import (
    KEPT_STATUSES,
    PARSER_OPTIONS,
    ReleaseFilter,
    release_values,
    strip_unused,
)


def piece_document(header: bytes, piece: bytes) -> bytes:
    return header + strip_unused(piece) + b"</releases>"


def parse_piece(
    header: bytes,
    piece: bytes,
    wanted: ReleaseFilter,
    build: Callable[[tuple[Any, ...]], Any] | None,
    parser: Any,
) -> tuple[Any, ...]:
    """One piece of whole releases in, `("ok", items, seen, filtered, last_id)` out.

    Items are `build(values)` for the kept releases, or `(position in piece, values)` when
    there is no `build`. A piece that is not well-formed gives `("error", items, seen,
    filtered, last_id, message)` with the releases before the damaged spot.
    """
    document = piece_document(header, piece)
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
        values = release_values(elem, format_names)
        if not wanted.accepts(values, format_names):
            filtered += 1
            continue
        items.append(build(values) if build is not None else (seen, values))
    if message:
        return ("error", items, seen, filtered, last_id, message)
    return ("ok", items, seen, filtered, last_id)


def piece_worker(
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
    wanted = ReleaseFilter(formats, genres, years)
    parser = etree.XMLParser(**PARSER_OPTIONS)
    while True:
        job = inbox.get()
        if job is None:
            return
        header, piece = job
        try:
            result = parse_piece(header, piece, wanted, build, parser)
            # marshal: about twice as fast to load as pickle, for plain tuples and lists.
            with contextlib.suppress(ValueError):
                result = (result[0], marshal.dumps(result[1]), *result[2:])
            outbox.put(result)
        except Exception as exc:  # reported to the parent, which raises it
            outbox.put(("error", [], 0, 0, None, f"the dump reader failed: {exc!r}"))


__all__ = ["parse_piece", "piece_document", "piece_worker"]
