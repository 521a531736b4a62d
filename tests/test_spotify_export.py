"""Reading Spotify data exports: both formats, podcasts left out, and every kind of bad file."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vinyl_detective.domain.listening import ExportFormat, ListeningHistory
from vinyl_detective.errors import VinylDetectiveError
from vinyl_detective.sources.spotify_export import SpotifyExportError, read_listening_history

EXTENDED_DIR = "Spotify Extended Streaming History"
START = datetime(2024, 3, 1, 18, 0, tzinfo=UTC)


def play(
    artist: str | None,
    album: str | None,
    ms: int = 215_000,
    when: datetime = START,
    *,
    track: str | None = "Track",
    skipped: bool | None = None,
) -> dict[str, Any]:
    """A row in the shape of Streaming_History_Audio_*.json (values invented)."""
    return {
        "ts": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "platform": "linux",
        "ms_played": ms,
        "conn_country": "US",
        "master_metadata_track_name": track if artist else None,
        "master_metadata_album_artist_name": artist,
        "master_metadata_album_album_name": album,
        "spotify_track_uri": "spotify:track:abc" if artist else None,
        "episode_name": None if artist else "Episode 12",
        "episode_show_name": None if artist else "A Podcast",
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": skipped,
        "offline": False,
        "incognito_mode": False,
    }


def old_play(
    artist: str, track: str, ms: int = 183_000, when: str = "2023-01-05 21:14"
) -> dict[str, Any]:
    """A row in the shape of the account-data StreamingHistory*.json."""
    return {"endTime": when, "artistName": artist, "trackName": track, "msPlayed": ms}


def make_zip(path: Path, files: dict[str, Any]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            data = content if isinstance(content, str | bytes) else json.dumps(content)
            archive.writestr(name, data)
    return path


def album_plays(history: ListeningHistory) -> dict[tuple[str, str | None], int]:
    return {(s.artist, s.album): s.full_plays for s in history.albums.values()}


# --------------------------------------------------------------------------- extended history


def test_extended_history_in_a_nested_folder_is_summed_per_album(tmp_path: Path) -> None:
    export = make_zip(
        tmp_path / "my_spotify_data.zip",
        {
            f"{EXTENDED_DIR}/Streaming_History_Audio_2019-2021_0.json": [
                play("Art Blakey & The Jazz Messengers", "Moanin'"),
                play("Art Blakey & The Jazz Messengers", "Moanin'", when=START + timedelta(days=1)),
            ],
            f"{EXTENDED_DIR}/Streaming_History_Audio_2021-2024_1.json": [
                play("Joni Mitchell", "Blue"),
            ],
            f"{EXTENDED_DIR}/ReadMeFirst_ExtendedStreamingHistory.pdf": b"%PDF-1.4",
        },
    )

    history = read_listening_history(export)

    assert history.format is ExportFormat.EXTENDED
    assert history.albums_known
    assert album_plays(history) == {
        ("Art Blakey & The Jazz Messengers", "Moanin'"): 2,
        ("Joni Mitchell", "Blue"): 1,
    }
    moanin = next(s for s in history.albums.values() if s.album == "Moanin'")
    assert moanin.listened_ms == 2 * 215_000
    assert moanin.days == {date(2024, 3, 1), date(2024, 3, 2)}
    assert len(history.files) == 2


def test_podcast_rows_and_video_files_are_left_out(tmp_path: Path) -> None:
    export = make_zip(
        tmp_path / "export.zip",
        {
            "Streaming_History_Audio_2024.json": [
                play("Joni Mitchell", "Blue"),
                play(None, None, 1_800_000),  # a podcast episode: null track fields
            ],
            "Streaming_History_Video_2024.json": [play("Some Artist", "A Video Album")],
        },
    )

    history = read_listening_history(export)

    assert album_plays(history) == {("Joni Mitchell", "Blue"): 1}
    assert history.rows_read == 2
    assert history.rows_skipped == 1
    assert history.files == ["Streaming_History_Audio_2024.json"]


def test_editions_of_one_album_add_up_under_its_plain_name(tmp_path: Path) -> None:
    export = make_zip(
        tmp_path / "export.zip",
        {
            "Streaming_History_Audio_0.json": [
                play("The Beatles", "Abbey Road (Remastered)"),
                play("The Beatles", "Abbey Road (Super Deluxe Edition)"),
                play("The Beatles", "Abbey Road - 2019 Mix"),
            ]
        },
    )

    assert album_plays(read_listening_history(export)) == {("The Beatles", "Abbey Road"): 3}


def test_short_and_skipped_plays_count_as_skips_not_listening(tmp_path: Path) -> None:
    export = make_zip(
        tmp_path / "export.zip",
        {
            "Streaming_History_Audio_0.json": [
                play("Joni Mitchell", "Blue", 200_000),
                play("Joni Mitchell", "Blue", 12_000),
                play("Joni Mitchell", "Blue", 120_000, skipped=True),
            ]
        },
    )

    (blue,) = read_listening_history(export).albums.values()

    assert (blue.full_plays, blue.skips, blue.listened_ms) == (1, 2, 200_000)


def test_a_large_history_file_is_read_across_many_chunks(tmp_path: Path) -> None:
    rows = [
        play(f"Artist {i % 7}", f"Album {i % 11}", when=START + timedelta(hours=i))
        for i in range(3000)
    ]
    export = make_zip(tmp_path / "export.zip", {"Streaming_History_Audio_0.json": rows})

    history = read_listening_history(export)

    assert history.rows_read == 3000
    assert sum(s.full_plays for s in history.albums.values()) == 3000


def test_an_unpacked_export_folder_reads_like_the_zip(tmp_path: Path) -> None:
    folder = tmp_path / "my_spotify_data" / EXTENDED_DIR
    folder.mkdir(parents=True)
    (folder / "Streaming_History_Audio_2024_0.json").write_text(
        json.dumps([play("Joni Mitchell", "Blue")])
    )

    history = read_listening_history(tmp_path / "my_spotify_data")

    assert album_plays(history) == {("Joni Mitchell", "Blue"): 1}


# --------------------------------------------------------------------------- account data


def test_account_data_export_is_summed_per_artist_with_albums_unknown(tmp_path: Path) -> None:
    export = make_zip(
        tmp_path / "my_spotify_data.zip",
        {
            "MyData/StreamingHistory_music_0.json": [
                old_play("Joni Mitchell", "A Case of You"),
                old_play("Joni Mitchell", "River", when="2023-01-06 08:00"),
            ],
            "MyData/StreamingHistory_music_1.json": [old_play("Nina Simone", "Sinnerman")],
            "MyData/StreamingHistory_podcast_0.json": [old_play("A Podcast", "Episode 1")],
            "MyData/Userdata.json": {"username": "someone"},
        },
    )

    history = read_listening_history(export)

    assert history.format is ExportFormat.ACCOUNT_DATA
    assert not history.albums_known
    assert album_plays(history) == {("Joni Mitchell", None): 2, ("Nina Simone", None): 1}
    joni = next(s for s in history.albums.values() if s.artist == "Joni Mitchell")
    assert joni.days == {date(2023, 1, 5), date(2023, 1, 6)}


def test_the_oldest_account_data_file_name_is_recognised(tmp_path: Path) -> None:
    export = make_zip(
        tmp_path / "export.zip", {"MyData/StreamingHistory0.json": [old_play("Nina Simone", "x")]}
    )

    assert album_plays(read_listening_history(export)) == {("Nina Simone", None): 1}


def test_when_both_formats_are_present_the_one_with_albums_is_read(tmp_path: Path) -> None:
    export = make_zip(
        tmp_path / "export.zip",
        {
            "MyData/StreamingHistory_music_0.json": [old_play("Nina Simone", "Sinnerman")],
            "Streaming_History_Audio_2024.json": [play("Nina Simone", "Pastel Blues")],
        },
    )

    history = read_listening_history(export)

    assert history.albums_known
    assert album_plays(history) == {("Nina Simone", "Pastel Blues"): 1}


# --------------------------------------------------------------------------- bad files


def test_a_file_that_is_not_a_zip_says_what_was_expected(tmp_path: Path) -> None:
    bogus = tmp_path / "history.zip"
    bogus.write_text("these are not the bytes you are looking for")

    with pytest.raises(SpotifyExportError, match="not a ZIP file") as caught:
        read_listening_history(bogus)

    assert "Streaming_History_Audio" in str(caught.value)
    assert isinstance(caught.value, VinylDetectiveError)


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SpotifyExportError, match="does not exist"):
        read_listening_history(tmp_path / "nowhere.zip")


def test_a_zip_without_listening_history_is_refused(tmp_path: Path) -> None:
    foreign = make_zip(tmp_path / "photos.zip", {"holiday/beach.json": {"x": 1}, "a.txt": "hi"})

    with pytest.raises(SpotifyExportError, match="holds no listening history"):
        read_listening_history(foreign)


def test_malformed_json_names_the_file(tmp_path: Path) -> None:
    export = make_zip(
        tmp_path / "export.zip",
        {"Streaming_History_Audio_0.json": '[{"ts": "2024-01-01T00:00:00Z", "ms_played": 3'},
    )

    with pytest.raises(SpotifyExportError, match=r"Streaming_History_Audio_0\.json"):
        read_listening_history(export)


def test_json_that_is_not_a_list_is_refused(tmp_path: Path) -> None:
    export = make_zip(tmp_path / "export.zip", {"Streaming_History_Audio_0.json": {"plays": []}})

    with pytest.raises(SpotifyExportError, match="not a JSON list of plays"):
        read_listening_history(export)


def test_a_zip_bomb_is_stopped_at_the_size_cap(tmp_path: Path) -> None:
    # 5 MB of spaces compresses to a few KB: the header is honest, the cap catches it.
    padding = "[" + " " * 5_000_000 + "]"
    export = make_zip(tmp_path / "bomb.zip", {"Streaming_History_Audio_0.json": padding})
    assert export.stat().st_size < 100_000

    with pytest.raises(SpotifyExportError, match="too big"):
        read_listening_history(export, max_total_bytes=1_000_000)
    with pytest.raises(SpotifyExportError, match="too big"):
        read_listening_history(export, max_file_bytes=1_000_000)


def test_the_total_size_cap_adds_up_every_history_file(tmp_path: Path) -> None:
    export = make_zip(
        tmp_path / "export.zip",
        {
            f"Streaming_History_Audio_{i}.json": [play("Joni Mitchell", "Blue")] * 50
            for i in range(3)
        },
    )
    one_file = len(json.dumps([play("Joni Mitchell", "Blue")] * 50))

    with pytest.raises(SpotifyExportError, match="too big"):
        read_listening_history(export, max_total_bytes=2 * one_file + 10)
    assert read_listening_history(export, max_total_bytes=3 * one_file).rows_read == 150
