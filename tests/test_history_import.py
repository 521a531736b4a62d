"""From listening history to watches: ranking, thresholds, proposals, and creating them once."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.engine import Engine

from vinyl_detective.domain.listening import (
    ExportFormat,
    ListeningHistory,
    RankingThresholds,
    clean_album_title,
    main_artist,
    rank_albums,
    watch_keywords,
)
from vinyl_detective.domain.models import Listing, Release
from vinyl_detective.domain.rules import parse_rule, rule_fields
from vinyl_detective.jobs.history_import import create_watches, propose_watches
from vinyl_detective.service import SearchService
from vinyl_detective.sources.spotify_export import read_listening_history
from vinyl_detective.storage import job_runs, searches

DAY0 = datetime(2024, 1, 1, 20, 0, tzinfo=UTC)
MINUTES = 60_000


def listen(
    history: ListeningHistory,
    artist: str,
    album: str | None,
    *,
    days: int,
    plays_a_day: int = 1,
    minutes: int = 4,
    skips_a_day: int = 0,
) -> None:
    for day in range(days):
        when = DAY0 + timedelta(days=day)
        for _ in range(plays_a_day):
            history.add_play(
                artist=artist, album=album, ms_played=minutes * MINUTES, played_at=when
            )
        for _ in range(skips_a_day):
            history.add_play(artist=artist, album=album, ms_played=5_000, played_at=when)


def extended() -> ListeningHistory:
    return ListeningHistory(format=ExportFormat.EXTENDED)


# --------------------------------------------------------------------------- ranking


def test_albums_rank_by_listening_time_weighted_by_how_many_days() -> None:
    history = extended()
    listen(history, "Joni Mitchell", "Blue", days=20, plays_a_day=3)  # 4 h over 20 days
    listen(history, "Miles Davis", "Kind of Blue", days=4, plays_a_day=15)  # 4 h over 4 days
    listen(history, "Nina Simone", "Pastel Blues", days=10, plays_a_day=2)  # 1.3 h

    ranked = rank_albums(history)

    assert [r.album for r in ranked] == ["Blue", "Kind of Blue", "Pastel Blues"]
    assert ranked[0].score > ranked[1].score


def test_a_one_night_binge_or_a_few_plays_is_not_proposed() -> None:
    history = extended()
    listen(history, "Joni Mitchell", "Blue", days=5, plays_a_day=2)
    listen(history, "Binge Band", "All Night Long", days=1, plays_a_day=40)  # one day only
    listen(history, "Brief Encounter", "Short Songs", days=4, minutes=1)  # 4 minutes in all

    assert [r.album for r in rank_albums(history)] == ["Blue"]


def test_an_album_mostly_skipped_is_not_proposed() -> None:
    history = extended()
    listen(history, "Shuffle Victim", "Background", days=10, plays_a_day=3, skips_a_day=4)
    listen(history, "Joni Mitchell", "Blue", days=10, plays_a_day=1, skips_a_day=1)

    ranked = rank_albums(history)

    assert [r.album for r in ranked] == ["Blue"]
    assert rank_albums(history, thresholds=RankingThresholds(max_skip_rate=0.6))[0].album == (
        "Background"
    )


def test_only_the_top_n_are_kept() -> None:
    history = extended()
    for i in range(30):
        listen(history, f"Artist {i}", f"Album {i}", days=3 + i, plays_a_day=2)

    ranked = rank_albums(history, top=5)

    assert [r.album for r in ranked] == [f"Album {i}" for i in (29, 28, 27, 26, 25)]


def test_edition_names_are_cleaned_for_display_and_grouping() -> None:
    assert clean_album_title("Moanin' (Remastered 1999)") == "Moanin'"
    assert clean_album_title("Blue (Deluxe Edition) [2021 Remaster]") == "Blue"
    assert clean_album_title("Abbey Road - 2019 Mix") == "Abbey Road"
    assert clean_album_title("Live at Birdland") == "Live at Birdland"
    assert clean_album_title("Hey - Jude") == "Hey - Jude"


def test_keywords_are_few_plain_words_within_ebays_limit() -> None:
    assert main_artist("Art Blakey & The Jazz Messengers") == "Art Blakey"
    assert watch_keywords("Art Blakey", "Moanin'") == "Art Blakey Moanin"
    assert watch_keywords("The Beatles", "Abbey Road") == "Beatles Abbey Road"
    assert watch_keywords("Various", 'Jazz -Best (Vol. 1), "x"*') == "Jazz Best Vol 1 x"
    long = watch_keywords("a" * 60, "b" * 30, "c" * 20)
    assert len(long) <= 100
    assert long.split() == ["a" * 60, "b" * 30]


# --------------------------------------------------------------------------- proposals


def test_proposals_watch_any_vinyl_pressing_of_the_album() -> None:
    history = extended()
    listen(
        history, "Art Blakey & The Jazz Messengers", "Moanin’ (Remastered)", days=6, plays_a_day=2
    )

    (proposal,) = propose_watches(history)

    assert proposal.rank == 1
    assert proposal.query == "Art Blakey Moanin"
    assert proposal.rule == (
        'artist contains "Art Blakey" AND release_title contains "Moanin\'" AND format = "Vinyl"'
    )
    assert proposal.name == "Listening: Art Blakey & The Jazz Messengers – Moanin'"
    assert (proposal.distinct_days, proposal.full_plays) == (6, 12)
    listing = Listing(item_id="v1|9|0", title="Moanin LP", price=Decimal(30), currency="USD")
    vinyl = Release(
        id=1, artist="Art Blakey & The Jazz Messengers", title="Moanin'", format="Vinyl"
    )
    compact_disc = Release(
        id=2, artist="Art Blakey & The Jazz Messengers", title="Moanin'", format="CD"
    )
    rule = parse_rule(proposal.rule)
    assert rule.evaluate(rule_fields(listing, vinyl))
    assert not rule.evaluate(rule_fields(listing, compact_disc))


def test_an_account_data_history_proposes_artists() -> None:
    history = ListeningHistory(format=ExportFormat.ACCOUNT_DATA)
    listen(history, "Nina Simone", "ignored: this export has no albums", days=8)

    (proposal,) = propose_watches(history)

    assert proposal.album is None
    assert proposal.query == "Nina Simone"
    assert proposal.rule == 'artist contains "Nina Simone" AND format = "Vinyl"'


def test_albums_that_come_out_as_the_same_keywords_are_proposed_once() -> None:
    history = extended()
    listen(history, "Joni Mitchell", "Blue", days=10)
    listen(history, "Joni Mitchell & Friends", "Blue", days=5)

    proposals = propose_watches(history)

    assert [(p.rank, p.artist) for p in proposals] == [(1, "Joni Mitchell")]


# --------------------------------------------------------------------------- creating


def test_proposals_become_watches_once(engine: Engine, now: datetime) -> None:
    def clock() -> datetime:
        return now

    history = extended()
    listen(history, "Joni Mitchell", "Blue", days=10)
    listen(history, "Miles Davis", "Kind of Blue", days=5, plays_a_day=2)
    proposals = propose_watches(history)

    first = create_watches(engine, proposals, clock)
    second = create_watches(engine, proposals, clock)

    assert (first, second) == (2, 0)
    with engine.connect() as conn:
        saved = searches.list_searches(conn)
        runs = job_runs.recent_runs(conn, job_type="history_import")
    assert {s.query for s in saved} == {"Joni Mitchell Blue", "Miles Davis Kind of Blue"}
    assert all(s.rule and s.rule.endswith('format = "Vinyl"') for s in saved)
    assert [(r.status, r.inserted, r.skipped) for r in runs] == [
        ("success", 0, 2),
        ("success", 2, 0),
    ]


def test_a_search_the_user_already_has_is_not_duplicated(engine: Engine, now: datetime) -> None:
    clock: Callable[[], datetime] = lambda: now  # noqa: E731
    SearchService(engine=engine, clock=clock).add("joni mitchell blue", rule="price < 25")
    history = extended()
    listen(history, "Joni Mitchell", "Blue", days=10)

    assert create_watches(engine, propose_watches(history), clock) == 0
    with engine.connect() as conn:
        (only,) = searches.list_searches(conn)
    assert only.rule == "price < 25"


def test_from_a_spotify_zip_to_watches(tmp_path: Path, engine: Engine, now: datetime) -> None:
    rows = [
        {
            "ts": (DAY0 + timedelta(days=d, minutes=m)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ms_played": 240_000,
            "master_metadata_track_name": f"Track {m}",
            "master_metadata_album_artist_name": "Joni Mitchell",
            "master_metadata_album_album_name": "Blue (2021 Remaster)",
            "skipped": None,
        }
        for d in range(4)
        for m in range(3)
    ]
    podcast = {"ts": "2024-01-02T10:00:00Z", "ms_played": 3_600_000, "episode_name": "Ep 1"}
    export = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr(
            "Spotify Extended Streaming History/Streaming_History_Audio_2024_0.json",
            json.dumps([*rows, podcast]),
        )

    proposals = propose_watches(read_listening_history(export), top=20)
    created = create_watches(engine, proposals, lambda: now)

    assert [(p.artist, p.album) for p in proposals] == [("Joni Mitchell", "Blue")]
    assert created == 1
