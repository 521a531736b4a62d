"""Watches from what the user listens to: their Spotify history's top albums, on vinyl.

    history = read_listening_history(Path("my_spotify_data.zip"))   # sources/spotify_export
    proposals = propose_watches(history, top=20)                     # show them
    created = create_watches(engine, proposals, clock)               # with --create

Each proposal is one album (one artist, when the export names no albums) ranked by
`domain/listening.rank_albums`. Its search:

* keywords: the album's first artist and its title, cleaned for eBay
  (`"Art Blakey Moanin"`); the artist alone when the album is unknown;
* rule: `artist contains "Art Blakey" AND release_title contains "Moanin'" AND
  format = "Vinyl"` - any vinyl pressing of that album, as the matcher identifies it.
  `contains` rather than `=` because Spotify and Discogs spell names slightly
  differently ("Moanin' (Remastered)" is cleaned to "Moanin'", but a Discogs title may
  carry more).

`create_watches` goes through `SearchService.add` (validation, the configured defaults)
and is idempotent: a proposal whose keywords some search already uses is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from vinyl_detective.domain.listening import (
    ListeningHistory,
    RankedAlbum,
    RankingThresholds,
    main_artist,
    rank_albums,
    watch_keywords,
)
from vinyl_detective.domain.rules_ast import format_string
from vinyl_detective.service import SearchService
from vinyl_detective.storage import job_runs, searches

__all__ = ["JOB_TYPE", "ProposedWatch", "create_watches", "propose_watches"]

JOB_TYPE = "history_import"

_TYPOGRAPHIC_APOSTROPHES = re.compile(r"[’‘`´]")


@dataclass(frozen=True, slots=True)
class ProposedWatch:
    """A saved search the listening history suggests, with the figures behind it."""

    rank: int
    artist: str
    album: str | None  # None: the export had no album names (account-data format)
    query: str
    rule: str
    name: str
    score: float
    listened_hours: float
    distinct_days: int
    full_plays: int
    skip_rate: float
    last_played: datetime | None


def _plain(text: str) -> str:
    return _TYPOGRAPHIC_APOSTROPHES.sub("'", " ".join(text.split()))


def _proposal(rank: int, ranked: RankedAlbum) -> ProposedWatch | None:
    stats = ranked.stats
    first = _plain(main_artist(stats.artist))
    album = _plain(stats.album) if stats.album else None
    query = watch_keywords(first, album) if album else watch_keywords(first)
    if not query:
        return None
    parts = [f"artist contains {format_string(first)}"]
    if album:
        parts.append(f"release_title contains {format_string(album)}")
    parts.append('format = "Vinyl"')
    name = f"Listening: {stats.artist} – {album}" if album else f"Listening: {stats.artist}"
    return ProposedWatch(
        rank=rank,
        artist=stats.artist,
        album=album,
        query=query,
        rule=" AND ".join(parts),
        name=name,
        score=round(ranked.score, 3),
        listened_hours=round(stats.listened_hours, 2),
        distinct_days=stats.distinct_days,
        full_plays=stats.full_plays,
        skip_rate=round(stats.skip_rate, 3),
        last_played=stats.last_played,
    )


def propose_watches(
    history: ListeningHistory,
    *,
    top: int = 20,
    thresholds: RankingThresholds | None = None,
) -> list[ProposedWatch]:
    """The `top` albums of `history` as proposed watches, best first (rank 1, 2, ...).

    Two albums that come out as the same keywords are proposed once (the better one).
    """
    proposals: list[ProposedWatch] = []
    queries: set[str] = set()
    for ranked in rank_albums(history, top=max(0, top) * 2, thresholds=thresholds):
        proposal = _proposal(len(proposals) + 1, ranked)
        if proposal is None or proposal.query.casefold() in queries:
            continue
        queries.add(proposal.query.casefold())
        proposals.append(proposal)
        if len(proposals) >= top:
            break
    return proposals


def create_watches(
    engine: Engine,
    proposals: Iterable[ProposedWatch],
    clock: Callable[[], datetime],
    *,
    service: SearchService | None = None,
    chat_id: int | None = None,
) -> int:
    """Save the proposals as searches; returns how many were created.

    A proposal whose keywords an existing search already uses (in any case) is skipped,
    so running this twice creates nothing the second time. `service` decides the new
    searches' defaults; by default a plain `SearchService(engine, clock)`. Recorded as a
    job run `history_import` (fetched = proposals, inserted = created, skipped = the rest).
    """
    searcher = service or SearchService(engine=engine, clock=clock)
    with engine.begin() as conn:
        run_id = job_runs.start_job(conn, JOB_TYPE, "spotify", clock())
        taken = {s.query.casefold() for s in searches.list_searches(conn, chat_id=chat_id)}
    seen = created = 0
    error: str | None = None
    try:
        for proposal in proposals:
            seen += 1
            key = " ".join(proposal.query.split()).casefold()
            if key in taken:
                continue
            searcher.add(proposal.query, rule=proposal.rule, name=proposal.name, chat_id=chat_id)
            taken.add(key)
            created += 1
    except Exception as exc:
        error = job_runs.failure_text(exc)
        raise
    finally:
        with engine.begin() as conn:
            job_runs.finish_job(
                conn,
                run_id,
                clock(),
                fetched=seen,
                inserted=created,
                skipped=seen - created,
                error=error,
            )
    return created
