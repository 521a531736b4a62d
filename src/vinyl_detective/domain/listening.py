"""What a user listens to most, from their plays: the albums worth watching for on vinyl.

Pure: the Spotify export reader (`sources/spotify_export.py`) feeds plays in one at a time
through `ListeningHistory.add_play`, and `rank_albums` turns the totals into a short list.

How plays count (Spotify's own convention for a "stream"):

* a play of at least 30 seconds that was not marked skipped is a **full play**; anything
  shorter, or marked `skipped`, is a **skip**;
* **listened time** is the time of full plays only, so skipping through an album earns
  it nothing.

How albums rank (`rank_albums`):

    score = listened hours × (1 + ln(distinct days with a full play))

Time says how much you listen; distinct days reward an album you come back to over one
you played all night once. An album must clear every threshold of `RankingThresholds`
(by default: full plays on at least 3 different days, at least 5 full plays, 30 minutes
listened, at most half its plays skipped) to be proposed at all; that keeps one-off
curiosities and background shuffle out of the list.

Spotify's album names carry edition noise ("Moanin' (Remastered 1999)", "Abbey Road -
2019 Mix", "Blue (Deluxe Edition)"): `clean_album_title` removes it, and plays of every
edition of an album add up under the cleaned name.

The older account-data export has no album field: its plays are kept per artist
(`album` None) and `ListeningHistory.albums_known` is False.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

__all__ = [
    "FULL_PLAY_MS",
    "MAX_KEYWORDS_LENGTH",
    "AlbumStats",
    "ExportFormat",
    "ListeningHistory",
    "RankedAlbum",
    "RankingThresholds",
    "clean_album_title",
    "main_artist",
    "rank_albums",
    "watch_keywords",
]

FULL_PLAY_MS = 30_000
"""A play this long (or longer) counts as a stream, as Spotify counts them."""

MAX_KEYWORDS_LENGTH = 100
"""eBay's limit for the `q` keywords."""

_EDITION_WORDS = (
    r"remaster(?:ed)?|deluxe|expanded|edition|anniversary|version|bonus|mono|stereo|"
    r"mix|reissue|legacy|collector'?s|special|super|explicit|clean"
)
# "(Remastered 1999)", "[Deluxe Edition]": a bracketed tail naming an edition.
_BRACKETED_EDITION = re.compile(
    rf"\s*[\(\[][^\)\]]*\b(?:{_EDITION_WORDS})\b[^\)\]]*[\)\]]\s*$", re.IGNORECASE
)
# "Abbey Road - 2019 Mix", "Blue - Remastered": a dashed tail naming an edition.
_DASHED_EDITION = re.compile(rf"\s+[-–—]\s+[^-–—]*\b(?:{_EDITION_WORDS})\b[^-–—]*$", re.IGNORECASE)
# Characters eBay's keyword syntax gives a meaning to, and other punctuation.
_APOSTROPHES = re.compile(r"['’`´]")
_NOT_WORD = re.compile(r"[^\w]+")
_NO_ARTIST = frozenset({"various", "various artists", "various artist"})
_ARTICLES = frozenset({"the", "a", "an"})
# Where a credit line moves on to a second artist: "A & B", "A, B", "A feat. B", "A / B".
_CREDIT_SPLIT = re.compile(
    r"\s*(?:&|,|/|\+|;)\s*|\s+(?:and|feat\.?|featuring|ft\.|with|vs\.?|x)\s+", re.IGNORECASE
)


class ExportFormat(StrEnum):
    """Which kind of Spotify export a history came from."""

    EXTENDED = "extended"  # Streaming_History_Audio_*.json: has album names
    ACCOUNT_DATA = "account_data"  # StreamingHistory*.json: artist and track only


def clean_album_title(album: str) -> str:
    """`"Moanin' (Remastered 1999)"` → `"Moanin'"`; edition tails removed, repeatedly.

    A title that is nothing but an edition note is kept as it was.
    """
    text = " ".join(album.split())
    while True:
        shorter = _DASHED_EDITION.sub("", _BRACKETED_EDITION.sub("", text)).strip()
        if not shorter or shorter == text:
            return text
        text = shorter


def _key(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_APOSTROPHES.sub("'", folded).split())


def main_artist(credit: str) -> str:
    """The first artist of a credit line: `"Art Blakey & The Jazz Messengers"` → `"Art Blakey"`.

    Listings rarely spell out a whole credit; the first name is what sellers write.
    """
    first = _CREDIT_SPLIT.split(" ".join(credit.split()), maxsplit=1)[0].strip()
    return first or credit.strip()


def watch_keywords(*parts: str, limit: int = MAX_KEYWORDS_LENGTH) -> str:
    """eBay keywords for watching `parts` (artist, title): plain words, safe in eBay syntax.

    eBay ANDs every word, so fewer words find more listings (the watch's rule, not its
    keywords, says which release is wanted). Apostrophes are dropped inside words
    ("Moanin'" → "Moanin"), every other punctuation mark becomes a space (so no `-`, `(`,
    `,`, `"` or `*` reaches eBay with its special meaning), the articles "the", "a" and
    "an" go (sellers drop them: "Beatles Abbey Road"), a part that is only "Various"
    (Discogs' compilations) goes, repeated words are kept once, and the result is cut at
    a word boundary to at most `limit` characters. Articles stay when nothing else would.
    """
    kept = _keyword_list(parts, drop_articles=True) or _keyword_list(parts, drop_articles=False)
    out = ""
    for word in kept:
        candidate = f"{out} {word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out


def _keyword_list(parts: tuple[str, ...], *, drop_articles: bool) -> list[str]:
    words: list[str] = []
    seen: set[str] = set()
    for part in parts:
        if _key(part) in _NO_ARTIST:
            continue
        text = _APOSTROPHES.sub("", part)
        for word in _NOT_WORD.sub(" ", text).split():
            word = word.strip("_")
            folded = word.casefold()
            if not word or folded in seen or (drop_articles and folded in _ARTICLES):
                continue
            seen.add(folded)
            words.append(word)
    return words


@dataclass(slots=True)
class AlbumStats:
    """Totals for one album (or one artist, when the export names no albums)."""

    artist: str
    album: str | None
    listened_ms: int = 0
    full_plays: int = 0
    skips: int = 0
    days: set[date] = field(default_factory=set)
    first_played: datetime | None = None
    last_played: datetime | None = None

    @property
    def plays(self) -> int:
        return self.full_plays + self.skips

    @property
    def skip_rate(self) -> float:
        return self.skips / self.plays if self.plays else 0.0

    @property
    def distinct_days(self) -> int:
        return len(self.days)

    @property
    def listened_hours(self) -> float:
        return self.listened_ms / 3_600_000


@dataclass(slots=True)
class ListeningHistory:
    """Plays summed per album (per artist when `albums_known` is False).

    `rows_read` counts every row seen; `rows_skipped` the ones that were not music
    (podcast episodes, audiobooks) or lacked what a play needs.
    """

    format: ExportFormat
    albums: dict[tuple[str, str], AlbumStats] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_skipped: int = 0

    @property
    def albums_known(self) -> bool:
        return self.format is ExportFormat.EXTENDED

    def add_play(
        self,
        *,
        artist: str,
        album: str | None,
        ms_played: int,
        played_at: datetime | None,
        skipped: bool = False,
    ) -> None:
        """Count one play. `album` is ignored (None) for an account-data history."""
        artist = " ".join(artist.split())
        name = clean_album_title(album) if album and self.albums_known else None
        key = (_key(artist), _key(name) if name else "")
        stats = self.albums.get(key)
        if stats is None:
            stats = self.albums[key] = AlbumStats(artist=artist, album=name)
        ms = max(0, ms_played)
        if ms >= FULL_PLAY_MS and not skipped:
            stats.full_plays += 1
            stats.listened_ms += ms
            if played_at is not None:
                stats.days.add(played_at.date())
        else:
            stats.skips += 1
        if played_at is not None:
            if stats.first_played is None or played_at < stats.first_played:
                stats.first_played = played_at
            if stats.last_played is None or played_at > stats.last_played:
                stats.last_played = played_at


@dataclass(frozen=True, slots=True)
class RankingThresholds:
    """What an album must reach to be proposed (see the module docstring)."""

    min_days: int = 3
    min_full_plays: int = 5
    min_minutes: float = 30.0
    max_skip_rate: float = 0.5


@dataclass(frozen=True, slots=True)
class RankedAlbum:
    stats: AlbumStats
    score: float

    @property
    def artist(self) -> str:
        return self.stats.artist

    @property
    def album(self) -> str | None:
        return self.stats.album


def album_score(stats: AlbumStats) -> float:
    """listened hours × (1 + ln(distinct days)); 0 for an album never fully played."""
    if stats.listened_ms <= 0:
        return 0.0
    days = max(1, stats.distinct_days)
    return stats.listened_hours * (1.0 + math.log(days))


def _qualifies(stats: AlbumStats, thresholds: RankingThresholds) -> bool:
    return (
        bool(stats.artist)
        and stats.distinct_days >= thresholds.min_days
        and stats.full_plays >= thresholds.min_full_plays
        and stats.listened_ms >= thresholds.min_minutes * 60_000
        and stats.skip_rate <= thresholds.max_skip_rate
    )


def rank_albums(
    history: ListeningHistory,
    *,
    top: int = 20,
    thresholds: RankingThresholds | None = None,
) -> list[RankedAlbum]:
    """The `top` albums (artists, for an account-data history) by score, best first.

    Ties go to the album with more distinct days, then alphabetically, so the order is
    the same on every run.
    """
    limits = thresholds or RankingThresholds()
    ranked = [
        RankedAlbum(stats, album_score(stats))
        for stats in history.albums.values()
        if _qualifies(stats, limits)
    ]
    ranked.sort(
        key=lambda r: (
            -r.score,
            -r.stats.distinct_days,
            _key(r.stats.artist),
            _key(r.stats.album or ""),
        )
    )
    return ranked[: max(0, top)]
