"""Reading a Spotify data export: what the user listened to, summed per album.

    history = read_listening_history(Path("my_spotify_data.zip"))
    rank_albums(history, top=20)          # domain/listening.py

Spotify sends two kinds of export, both as a ZIP (an unpacked folder works too):

* **Extended streaming history** (the whole account's life): files
  `Streaming_History_Audio_<years>_<n>.json` in a folder such as
  `Spotify Extended Streaming History/` (older exports: `endsong_<n>.json`), each a JSON
  array of plays with `master_metadata_album_artist_name`,
  `master_metadata_album_album_name`, `ms_played`, `ts` and `skipped`. Podcast and
  audiobook rows have null track fields and are skipped; `Streaming_History_Video_*`
  files are ignored.
* **Account data** (the last year only): `MyData/StreamingHistory_music_<n>.json` (older:
  `StreamingHistory<n>.json`) with `artistName`, `trackName`, `msPlayed` and `endTime`:
  there is **no album**, so plays are summed per artist (`history.albums_known` False).

When an export holds both, the extended history is read (it has the albums and covers
the same plays). Each file is parsed as a stream, one play at a time, so memory stays
small whatever the export's size; what is read is capped (1 GiB in all, 256 MiB a file by
default, counted as the bytes come out of the ZIP, not as its headers claim) so a ZIP
bomb ends in an error rather than a full disk or memory.

Every problem (not a ZIP, no history inside, malformed JSON, too big) raises
`SpotifyExportError` saying what was expected.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from vinyl_detective.domain.listening import ExportFormat, ListeningHistory
from vinyl_detective.errors import VinylDetectiveError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_TOTAL_BYTES",
    "SpotifyExportError",
    "read_listening_history",
]

log = logging.getLogger(__name__)

MAX_TOTAL_BYTES = 1 << 30
"""The most history JSON read from one export, uncompressed (1 GiB)."""

MAX_FILE_BYTES = 256 << 20
"""The most read from one history file, uncompressed (256 MiB; Spotify's are ~10-15 MB)."""

MAX_ELEMENT_CHARS = 1 << 20
"""The longest single play record accepted (a real one is well under 1 KB)."""

_CHUNK = 64 * 1024

_EXTENDED = re.compile(r"^(?:Streaming_History_Audio_.*|endsong_\d+)\.json$", re.IGNORECASE)
_ACCOUNT_DATA = re.compile(r"^StreamingHistory(?:_music)?_?\d*\.json$", re.IGNORECASE)
_UNKNOWN = frozenset({"unknown artist", "unknown"})

EXPECTED = (
    "Expected a Spotify data export: the ZIP Spotify e-mails you (request it at "
    "https://www.spotify.com/account/privacy/), holding either "
    "'Streaming_History_Audio_*.json' files (Extended streaming history) or "
    "'MyData/StreamingHistory_music_*.json' files (Account data)."
)


class SpotifyExportError(VinylDetectiveError):
    """A file that is not a readable Spotify data export; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class _Member:
    """One history file inside the export: its name, declared size and how to open it."""

    name: str
    size: int
    open: Callable[[], AbstractContextManager[IO[bytes]]]


def read_listening_history(
    path: Path,
    *,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> ListeningHistory:
    """Read the Spotify export at `path` (a ZIP, or the folder it unpacks to)."""
    if not path.exists():
        raise SpotifyExportError(f"{path} does not exist. {EXPECTED}")
    if path.is_dir():
        return _read_members(path, _folder_members(path), max_total_bytes, max_file_bytes)
    if not zipfile.is_zipfile(path):
        raise SpotifyExportError(f"{path.name} is not a ZIP file. {EXPECTED}")
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                _Member(info.filename, info.file_size, _zip_opener(archive, info))
                for info in archive.infolist()
                if not info.is_dir()
            ]
            return _read_members(path, members, max_total_bytes, max_file_bytes)
    except zipfile.BadZipFile as exc:
        raise SpotifyExportError(f"{path.name} is a damaged ZIP file ({exc}). {EXPECTED}") from exc


def _zip_opener(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo
) -> Callable[[], AbstractContextManager[IO[bytes]]]:
    def opener() -> AbstractContextManager[IO[bytes]]:
        return archive.open(info)

    return opener


def _file_opener(file: Path) -> Callable[[], AbstractContextManager[IO[bytes]]]:
    def opener() -> AbstractContextManager[IO[bytes]]:
        return file.open("rb")

    return opener


def _folder_members(folder: Path) -> list[_Member]:
    return [
        _Member(file.relative_to(folder).as_posix(), file.stat().st_size, _file_opener(file))
        for file in sorted(folder.rglob("*.json"))
        if file.is_file()
    ]


def _classify(members: list[_Member]) -> tuple[ExportFormat, list[_Member]]:
    extended: list[_Member] = []
    account: list[_Member] = []
    for member in members:
        pure = PurePosixPath(member.name)
        if "__MACOSX" in pure.parts or pure.name.startswith("._"):
            continue
        if _EXTENDED.match(pure.name):
            extended.append(member)
        elif _ACCOUNT_DATA.match(pure.name):
            account.append(member)
    if extended:
        if account:
            log.info("spotify export has both kinds of history: reading the extended one")
        return ExportFormat.EXTENDED, sorted(extended, key=lambda m: m.name)
    return ExportFormat.ACCOUNT_DATA, sorted(account, key=lambda m: m.name)


def _read_members(
    path: Path, members: list[_Member], max_total_bytes: int, max_file_bytes: int
) -> ListeningHistory:
    export_format, chosen = _classify(members)
    if not chosen:
        raise SpotifyExportError(f"{path.name} holds no listening history. {EXPECTED}")
    for member in chosen:
        if member.size > max_file_bytes:
            raise _too_big(path, f"{member.name} unpacks to {member.size:,} bytes", max_file_bytes)
    declared = sum(member.size for member in chosen)
    if declared > max_total_bytes:
        raise _too_big(path, f"its history unpacks to {declared:,} bytes", max_total_bytes)

    history = ListeningHistory(format=export_format)
    budget = _ByteBudget(path, max_total_bytes)
    add_row = _add_extended_row if export_format is ExportFormat.EXTENDED else _add_account_row
    for member in chosen:
        history.files.append(member.name)
        try:
            with member.open() as stream:
                chunks = _decoded_chunks(stream, member.name, budget, max_file_bytes)
                for row in _json_array(chunks, member.name):
                    history.rows_read += 1
                    if not (isinstance(row, Mapping) and add_row(history, row)):
                        history.rows_skipped += 1
        except (RuntimeError, NotImplementedError, zipfile.BadZipFile, OSError) as exc:
            # encrypted or damaged members, unsupported compression methods
            raise SpotifyExportError(
                f"{member.name} in {path.name} cannot be read ({exc}). {EXPECTED}"
            ) from exc
    log.info(
        "spotify export %s: %s history, %d files, %d rows (%d skipped), %d %s",
        path.name,
        export_format.value,
        len(history.files),
        history.rows_read,
        history.rows_skipped,
        len(history.albums),
        "albums" if history.albums_known else "artists",
    )
    return history


def _too_big(path: Path, what: str, limit: int) -> SpotifyExportError:
    return SpotifyExportError(
        f"{path.name} is too big to be a Spotify export: {what}, more than the "
        f"{limit:,} bytes allowed. A real export's history files are a few MB each; check "
        "that this is the file Spotify sent."
    )


class _ByteBudget:
    """Counts uncompressed bytes across every file of one export."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.used = 0

    def spend(self, count: int) -> None:
        self.used += count
        if self.used > self.limit:
            raise _too_big(self.path, "its history unpacks to more than that", self.limit)


def _decoded_chunks(
    stream: IO[bytes], name: str, budget: _ByteBudget, max_file_bytes: int
) -> Iterator[str]:
    """The file's text in chunks, counting bytes against both caps as they are read."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    read = 0
    while True:
        data = stream.read(_CHUNK)
        if not data:
            break
        read += len(data)
        if read > max_file_bytes:
            raise _too_big(budget.path, f"{name} unpacks to more than that", max_file_bytes)
        budget.spend(len(data))
        try:
            yield decoder.decode(data)
        except UnicodeDecodeError as exc:
            raise SpotifyExportError(f"{name} is not UTF-8 text JSON. {EXPECTED}") from exc
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise SpotifyExportError(f"{name} is not UTF-8 text JSON. {EXPECTED}") from exc
    if tail:
        yield tail


def _json_array(chunks: Iterator[str], name: str) -> Iterator[Any]:
    """The elements of the top-level JSON array in `chunks`, one at a time."""
    decoder = json.JSONDecoder()
    buffer = ""
    pos = 0
    eof = False

    def malformed(what: str) -> SpotifyExportError:
        return SpotifyExportError(f"{name} is not a JSON list of plays ({what}). {EXPECTED}")

    def more() -> bool:
        nonlocal buffer, pos, eof
        if eof:
            return False
        chunk = next(chunks, None)
        if chunk is None:
            eof = True
            return False
        buffer = buffer[pos:] + chunk
        pos = 0
        return True

    def next_char() -> str:
        """The next non-space character (not consumed), "" at the end of the file."""
        nonlocal pos
        while True:
            while pos < len(buffer) and buffer[pos].isspace():
                pos += 1
            if pos < len(buffer):
                return buffer[pos]
            if not more():
                return ""

    if next_char() != "[":
        raise malformed("it does not start with '['")
    pos += 1
    if next_char() == "]":
        return
    while True:
        if next_char() == "":
            raise malformed("it ends in the middle of the list")
        while True:
            try:
                value, end = decoder.raw_decode(buffer, pos)
            except json.JSONDecodeError as exc:
                if len(buffer) - pos > MAX_ELEMENT_CHARS or not more():
                    raise malformed(f"{exc.msg} near character {exc.pos}") from exc
                continue
            if end >= len(buffer) and not eof and more():
                continue  # a number or keyword may go on in the next chunk
            break
        pos = end
        yield value
        separator = next_char()
        if separator == "]":
            return
        if separator != ",":
            raise malformed(f"expected ',' or ']' but found {separator or 'the end'!r}")
        pos += 1


# --------------------------------------------------------------------------- rows


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _ms(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value >= 0 else None


def _timestamp(value: Any) -> datetime | None:
    """`"2021-03-01T18:22:01Z"` or `"2023-01-05 21:14"` (UTC both) → aware datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _add_extended_row(history: ListeningHistory, row: Mapping[str, Any]) -> bool:
    """One Streaming_History_Audio row; False for podcasts, audiobooks and broken rows."""
    artist = _text(row.get("master_metadata_album_artist_name"))
    album = _text(row.get("master_metadata_album_album_name"))
    ms = _ms(row.get("ms_played"))
    if not artist or not album or ms is None or artist.casefold() in _UNKNOWN:
        return False
    history.add_play(
        artist=artist,
        album=album,
        ms_played=ms,
        played_at=_timestamp(row.get("ts")),
        skipped=row.get("skipped") is True,
    )
    return True


def _add_account_row(history: ListeningHistory, row: Mapping[str, Any]) -> bool:
    """One StreamingHistory row (artist and track only); False for local-file and broken rows."""
    artist = _text(row.get("artistName"))
    ms = _ms(row.get("msPlayed"))
    if not artist or ms is None or artist.casefold() in _UNKNOWN:
        return False
    history.add_play(
        artist=artist, album=None, ms_played=ms, played_at=_timestamp(row.get("endTime"))
    )
    return True
