# ruff: noqa: E501 - the XML fixture keeps the dump's one-element-per-line shape
"""Reading the Discogs monthly releases dump: fields, filters, and damaged files."""

from __future__ import annotations

import gzip
import io
import multiprocessing
import os
import signal
import types
from pathlib import Path

import pytest

from vinyl_detective.domain.models import Release
from vinyl_detective.domain.normalize import normalize_barcode, normalize_catalog_no
from vinyl_detective.errors import DumpError
from vinyl_detective.fakes.dump_generator import write_corrupt_variants, write_synthetic_dump
from vinyl_detective.sources.dump import (
    DumpStats,
    iter_dump_releases,
    iter_dump_releases_in_worker,
)

REAL_SAMPLE = Path("/work/shared/data/discogs-dump/discogs_20200806_releases.sample.xml.gz")
needs_real_sample = pytest.mark.skipif(
    not REAL_SAMPLE.exists(), reason="the real Discogs dump sample is not on this machine"
)

# A tiny hand-written dump in the real structure, to check fields and filters exactly.
SMALL_DUMP = b"""<?xml version="1.0" encoding="UTF-8"?>
<releases>
<release id="10" status="Accepted"><images/><artists>
  <artist><id>1</id><name>Ann Example (2)</name><anv>A. Example</anv><join>,</join><role/><tracks/></artist>
  <artist><id>2</id><name>Bob Sample*</name><anv/><join>&amp;</join><role/><tracks/></artist>
  <artist><id>3</id><name>The Placeholders</name><anv/><join>Feat.</join><role/><tracks/></artist>
  <artist><id>4</id><name>Cy Guest</name><anv/><join/><role/><tracks/></artist></artists>
  <title>First Light</title>
  <labels><label name="Test Label (3)" catno="TL-001 " id="9"/><label name="Other Label" catno="none" id="8"/></labels>
  <extraartists><artist><id>5</id><name>Not The Artist</name><anv/><join/><role>Mastered By</role><tracks/></artist></extraartists>
  <formats><format name="Vinyl" qty="1" text=""><descriptions><description>LP</description><description>Album</description></descriptions></format>
           <format name="CD" qty="1" text=""><descriptions><description>Album</description></descriptions></format></formats>
  <genres><genre>Jazz</genre></genres><styles><style>Hard Bop</style></styles>
  <country>US</country><released>1959-03-00</released>
  <notes>Liner notes mention &lt;tracklist&gt; and 1 &gt; 0.</notes>
  <data_quality>Correct</data_quality><master_id is_main_release="true">77</master_id>
  <tracklist><track><position>A1</position><title>Intro</title><duration>1:00</duration>
    <artists><artist><id>9</id><name>Track Artist</name><anv/><join/><role/><tracks/></artist></artists></track></tracklist>
  <identifiers><identifier type="Barcode" value="0 7777-46516-1 6"/>
    <identifier type="Barcode" value="none"/>
    <identifier type="Matrix / Runout" value="TL 001 A1"/></identifiers>
  <videos/><companies/></release>
<release id="11" status="Accepted"><artists><artist><id>6</id><name>Solo Act</name><anv/><join/><role/><tracks/></artist></artists>
  <title>Tape Days</title><labels><label name="Tape Co" catno="TC 2" id="7"/></labels>
  <formats><format name="Cassette" qty="1" text=""><descriptions><description>Album</description></descriptions></format></formats>
  <genres><genre>Rock</genre></genres><country>UK</country><released>0</released>
  <master_id is_main_release="false">0</master_id></release>
<release id="12" status="Draft"><artists><artist><id>6</id><name>Solo Act</name><anv/><join/><role/><tracks/></artist></artists>
  <title>Unfinished</title><formats><format name="Vinyl" qty="1" text=""/></formats><released>1990</released></release>
<release id="13"><artists><artist><id>6</id><name>Solo Act</name><anv/><join/><role/><tracks/></artist></artists>
  <title>No Status</title><formats><format name="CD" qty="1" text=""/></formats>
  <genres><genre>Rock</genre></genres><released>2001-05-04</released></release>
</releases>
"""


@pytest.fixture
def small_dump(tmp_path: Path) -> Path:
    path = tmp_path / "small_releases.xml.gz"
    path.write_bytes(gzip.compress(SMALL_DUMP))
    return path


@pytest.fixture(scope="module")
def synthetic_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dump") / "discogs_20260101_releases.xml.gz"
    write_synthetic_dump(path, 600, seed=3)
    return path


@needs_real_sample
def test_real_dump_sample_reads_all_thousand_releases() -> None:
    stats = DumpStats()
    releases = {r.id: r for r in iter_dump_releases(REAL_SAMPLE, stats=stats)}
    assert len(releases) == 1000
    assert stats.seen == 1000
    assert stats.bytes_read == REAL_SAMPLE.stat().st_size

    stockholm = releases[1]
    assert stockholm.display_name == "The Persuader – Stockholm"
    assert stockholm.labels == ("Svek",)
    assert stockholm.catalog_nos == ("SK032",)
    assert stockholm.format == "Vinyl"
    assert stockholm.country == "Sweden"
    assert stockholm.year == 1999
    assert stockholm.master_id == 1660109
    assert stockholm.genres == ("Electronic",)
    assert stockholm.barcodes == ()  # only matrix/runout strings, no barcode

    assert releases[2].artist == "Mr. James Barth & A.D."
    assert releases[3].barcodes == ("0074646362822",)
    assert releases[3].format == "CD"
    assert releases[21].artist == "E.B.E."  # "E.B.E. (2)" in the dump


@needs_real_sample
def test_real_dump_sample_has_no_disambiguation_left_in_names() -> None:
    for release in iter_dump_releases(REAL_SAMPLE):
        assert not release.artist.endswith("*")
        assert not release.artist.endswith(")") or "(" in release.artist[:-4]
        for label in release.labels:
            assert not label.rstrip().endswith(("(2)", "(3)", "(4)"))
        for barcode in release.barcodes:
            assert len(barcode) == 13
            assert barcode.isdigit()


def test_artists_are_joined_the_way_discogs_shows_them(small_dump: Path) -> None:
    first = next(iter_dump_releases(small_dump))
    assert first.artist == "Ann Example, Bob Sample & The Placeholders Feat. Cy Guest"
    assert first.title == "First Light"


def test_fields_of_a_release(small_dump: Path) -> None:
    first = next(iter_dump_releases(small_dump))
    assert first.labels == ("Test Label", "Other Label")
    assert first.catalog_nos == ("TL-001",)  # trimmed; "none" is no catalog number
    assert first.barcodes == ("0077774651616",)  # the text "none" is refused
    assert first.format == "Vinyl"
    assert first.format_descriptions == ("LP", "Album")
    assert first.year == 1959
    assert first.master_id == 77
    assert first.styles == ("Hard Bop",)
    assert first.status == "Accepted"


def test_unknown_year_and_missing_master_are_none(small_dump: Path) -> None:
    tape = next(r for r in iter_dump_releases(small_dump) if r.id == 11)
    assert tape.year is None
    assert tape.master_id is None
    assert tape.format == "Cassette"


def test_draft_releases_are_left_out_and_counted(small_dump: Path) -> None:
    stats = DumpStats()
    ids = [r.id for r in iter_dump_releases(small_dump, stats=stats)]
    assert ids == [10, 11, 13]  # 12 is a draft; 13 has no status, as newer dumps do
    assert (stats.seen, stats.kept, stats.filtered, stats.last_id) == (4, 3, 1, 13)


def test_format_filter_matches_any_format_of_a_release(small_dump: Path) -> None:
    assert [r.id for r in iter_dump_releases(small_dump, formats=["vinyl"])] == [10]
    assert [r.id for r in iter_dump_releases(small_dump, formats=["CD"])] == [10, 13]
    assert [r.id for r in iter_dump_releases(small_dump, formats=["cassette", "vinyl"])] == [10, 11]


def test_genre_and_year_filters(small_dump: Path) -> None:
    assert [r.id for r in iter_dump_releases(small_dump, genres=["rock"])] == [11, 13]
    assert [r.id for r in iter_dump_releases(small_dump, years=(1950, 1960))] == [10]
    assert [r.id for r in iter_dump_releases(small_dump, years=(2000, None))] == [13]
    # A release of unknown year is outside every year range.
    assert [r.id for r in iter_dump_releases(small_dump, years=(None, 2100))] == [10, 13]


def test_plain_xml_and_gzip_give_the_same_releases(synthetic_dump: Path, tmp_path: Path) -> None:
    plain = tmp_path / "releases.xml"
    plain.write_bytes(gzip.decompress(synthetic_dump.read_bytes()))
    from_gzip = list(iter_dump_releases(synthetic_dump))
    assert len(from_gzip) == 600
    assert list(iter_dump_releases(plain)) == from_gzip


def test_reads_from_a_non_seekable_stream(synthetic_dump: Path) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            chunk = self._data.read(min(len(buffer), 4096))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    stream = Pipe(synthetic_dump.read_bytes())
    assert len(list(iter_dump_releases(stream))) == 600  # type: ignore[arg-type]


def test_synthetic_dump_looks_like_the_real_one(synthetic_dump: Path) -> None:
    releases = list(iter_dump_releases(synthetic_dump))
    xml = gzip.decompress(synthetic_dump.read_bytes())
    assert xml.startswith(b"<releases>")
    assert 1000 < len(xml) / len(releases) < 2500  # bytes per release
    assert any(" & " in r.artist or ", " in r.artist for r in releases)
    assert any(r.barcodes for r in releases)
    assert any(len(r.labels) > 1 for r in releases)
    assert {r.format for r in releases} >= {"Vinyl", "CD", "Cassette"}
    assert b'catno="none"' in xml
    assert b"Matrix / Runout" in xml
    assert b" (2)</name>" in xml or b" (3)</name>" in xml
    ids = [r.id for r in releases]
    assert ids == sorted(ids)


def test_synthetic_identifiers_are_shared_only_by_pressings_of_one_album(tmp_path: Path) -> None:
    # As on Discogs: a catalog number belongs to one label's one album (its represses may
    # keep it), a barcode to one release. Unrelated namesakes are told apart by them.
    path = tmp_path / "ids.xml.gz"
    write_synthetic_dump(path, 4000, seed=11)
    by_catno: dict[str, list[Release]] = {}
    by_barcode: dict[str, list[int]] = {}
    for release in iter_dump_releases(path):
        for raw in release.catalog_nos:
            value = normalize_catalog_no(raw)
            if value:
                by_catno.setdefault(value, []).append(release)
        for raw in release.barcodes:
            value = normalize_barcode(raw)
            if value:
                by_barcode.setdefault(value, []).append(release.id)
    shared = [group for group in by_catno.values() if len({r.id for r in group}) > 1]
    assert shared, "represses keeping their catalog number"
    for group in shared:
        assert len({(r.artist, r.title, r.master_id) for r in group}) == 1
        assert set.intersection(*(set(r.labels) for r in group))
    assert all(len(set(ids)) == 1 for ids in by_barcode.values())


def test_same_seed_same_dump(tmp_path: Path) -> None:
    write_synthetic_dump(tmp_path / "a.xml", 50, seed=9)
    write_synthetic_dump(tmp_path / "b.xml", 50, seed=9)
    assert (tmp_path / "a.xml").read_bytes() == (tmp_path / "b.xml").read_bytes()


@pytest.fixture(scope="module")
def broken(synthetic_dump: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_corrupt_variants(synthetic_dump, tmp_path_factory.mktemp("broken"))


@pytest.mark.parametrize("variant", ["truncated_gzip", "truncated_xml"])
def test_a_cut_off_download_says_how_far_it_got(variant: str, broken: dict[str, Path]) -> None:
    stats = DumpStats()
    read: list[int] = []
    with pytest.raises(DumpError) as caught:
        read.extend(r.id for r in iter_dump_releases(broken[variant], stats=stats))
    message = str(caught.value)
    assert 0 < stats.seen < 600
    assert f"after {stats.seen:,} releases (last id {stats.last_id})" in message
    assert "download it again" in message.lower()
    assert read
    assert read[-1] <= (stats.last_id or 0)


@pytest.mark.parametrize("variant", ["bad_crc", "garbage_gzip"])
def test_a_corrupt_gzip_is_a_dump_error(variant: str, broken: dict[str, Path]) -> None:
    with pytest.raises(DumpError, match=r"corrupt|not well-formed"):
        list(iter_dump_releases(broken[variant]))


def test_an_artists_dump_is_refused_with_what_to_use_instead(broken: dict[str, Path]) -> None:
    with pytest.raises(DumpError, match=r"root element is <artists>.*releases\.xml\.gz"):
        list(iter_dump_releases(broken["not_a_dump"]))


def test_random_bytes_are_not_a_dump(broken: dict[str, Path]) -> None:
    with pytest.raises(DumpError, match="not a Discogs releases dump"):
        list(iter_dump_releases(broken["not_gzip_nor_xml"]))


def test_an_empty_file_is_not_a_dump(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xml.gz"
    empty.write_bytes(b"")
    with pytest.raises(DumpError, match="not a Discogs releases dump"):
        list(iter_dump_releases(empty))


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DumpError, match="cannot open the dump"):
        list(iter_dump_releases(tmp_path / "nope.xml.gz"))


def test_skip_first_passes_over_releases_already_imported(synthetic_dump: Path) -> None:
    everything = list(iter_dump_releases(synthetic_dump))
    stats = DumpStats()
    rest = list(iter_dump_releases(synthetic_dump, skip_first=250, stats=stats))
    assert rest == everything[250:]
    assert stats.skipped == 250


def test_worker_process_reader_gives_the_same_releases(synthetic_dump: Path) -> None:
    stats = DumpStats()
    in_worker = list(iter_dump_releases_in_worker(synthetic_dump, formats=["vinyl"], stats=stats))
    assert in_worker == list(iter_dump_releases(synthetic_dump, formats=["vinyl"]))
    assert stats.seen == 600
    assert stats.kept == len(in_worker)


def test_worker_process_reader_reports_a_truncated_dump(broken: dict[str, Path]) -> None:
    stats = DumpStats()
    with pytest.raises(DumpError, match=r"after [\d,]+ releases \(last id \d+\)"):
        list(iter_dump_releases_in_worker(broken["truncated_gzip"], stats=stats))
    assert stats.seen > 0


# --- The parallel reader: several parser processes, pieces of the file, same results ------


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read the file 16 KB at a time, so even a small dump is cut into many pieces that
    the parser processes share (the real reader uses 1 MB)."""
    from vinyl_detective.sources.dump import stream

    monkeypatch.setattr(stream, "CHUNK_SIZE", 16 * 1024)


@pytest.mark.usefixtures("small_pieces")
def test_several_parser_processes_give_the_same_releases_in_dump_order(
    synthetic_dump: Path,
) -> None:
    stats = DumpStats()
    parallel = list(iter_dump_releases_in_worker(synthetic_dump, workers=3, stats=stats))
    assert parallel == list(iter_dump_releases(synthetic_dump))
    assert (stats.seen, stats.kept, stats.bytes_read) == (
        600,
        600,
        synthetic_dump.stat().st_size,
    )


@needs_real_sample
@pytest.mark.usefixtures("small_pieces")
def test_several_parser_processes_read_the_real_sample_like_the_plain_reader() -> None:
    assert list(iter_dump_releases_in_worker(REAL_SAMPLE, workers=2)) == list(
        iter_dump_releases(REAL_SAMPLE)
    )


def test_the_parallel_reader_keeps_the_hand_written_fields_and_filters(small_dump: Path) -> None:
    everything = list(iter_dump_releases_in_worker(small_dump))
    assert everything == list(iter_dump_releases(small_dump))
    assert [r.id for r in everything] == [10, 11, 13]  # the draft is left out
    vinyl = list(iter_dump_releases_in_worker(small_dump, formats=["vinyl"]))
    assert [r.id for r in vinyl] == [10]


@pytest.mark.usefixtures("small_pieces")
def test_the_parallel_reader_resumes_after_the_releases_already_imported(
    synthetic_dump: Path,
) -> None:
    everything = list(iter_dump_releases(synthetic_dump))
    stats = DumpStats()
    rest = list(iter_dump_releases_in_worker(synthetic_dump, skip_first=250, stats=stats))
    assert rest == everything[250:]
    assert (stats.skipped, stats.seen) == (250, 600)


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize("variant", ["truncated_gzip", "truncated_xml"])
def test_the_parallel_reader_says_how_far_a_cut_off_download_got(
    variant: str, broken: dict[str, Path]
) -> None:
    serial_stats = DumpStats()
    with pytest.raises(DumpError):
        list(iter_dump_releases(broken[variant], stats=serial_stats))
    stats = DumpStats()
    read: list[int] = []
    with pytest.raises(DumpError) as caught:
        read.extend(r.id for r in iter_dump_releases_in_worker(broken[variant], stats=stats))
    message = str(caught.value)
    assert f"after {stats.seen:,} releases (last id {stats.last_id})" in message
    assert "download it again" in message.lower()
    # Every complete release before the cut is delivered, as the plain reader does.
    assert stats.seen == serial_stats.seen
    assert read
    assert read[-1] == stats.last_id


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ("bad_crc", r"corrupt|not well-formed"),
        ("garbage_gzip", r"corrupt|not well-formed"),
        ("not_a_dump", r"root element is <artists>.*releases\.xml\.gz"),
        ("not_gzip_nor_xml", "not a Discogs releases dump"),
    ],
)
def test_the_parallel_reader_refuses_damaged_or_wrong_files(
    variant: str, message: str, broken: dict[str, Path]
) -> None:
    with pytest.raises(DumpError, match=message):
        list(iter_dump_releases_in_worker(broken[variant]))


def test_the_parallel_reader_refuses_an_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xml.gz"
    empty.write_bytes(b"")
    with pytest.raises(DumpError, match="not a Discogs releases dump"):
        list(iter_dump_releases_in_worker(empty))


@pytest.mark.usefixtures("small_pieces")
def test_a_damaged_release_in_the_middle_stops_the_parallel_reader_where_it_is(
    synthetic_dump: Path, tmp_path: Path
) -> None:
    xml = gzip.decompress(synthetic_dump.read_bytes())
    releases = list(iter_dump_releases(synthetic_dump))
    damaged_id = releases[300].id
    start = xml.index(f'<release id="{damaged_id}"'.encode())
    title = xml.index(b"<title>", start)
    broken = tmp_path / "damaged.xml"
    broken.write_bytes(xml[:title] + b"<title>Broken</titel>" + xml[title + 7 :])

    stats = DumpStats()
    read: list[int] = []
    with pytest.raises(DumpError, match="not well-formed") as caught:
        read.extend(r.id for r in iter_dump_releases_in_worker(broken, stats=stats))
    assert read == [r.id for r in releases[:300]]
    assert f"after 300 releases (last id {releases[299].id})" in str(caught.value)
    with pytest.raises(DumpError, match="not well-formed"):
        list(iter_dump_releases(broken))  # the plain reader refuses it too


def test_an_empty_releases_dump_has_no_releases(tmp_path: Path) -> None:
    path = tmp_path / "empty_releases.xml.gz"
    path.write_bytes(
        gzip.compress(b'<?xml version="1.0" encoding="UTF-8"?>\n<releases>\n</releases>\n')
    )
    assert list(iter_dump_releases_in_worker(path)) == []


# --- Stopping the parallel reader: Ctrl-C, closing early ----------------------------------


def _parser_processes() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name.startswith("dump-parser")]


@pytest.mark.usefixtures("small_pieces")
def test_a_ctrl_c_reaching_the_parser_processes_leaves_them_parsing(
    synthetic_dump: Path,
) -> None:
    # A terminal's Ctrl-C goes to the whole process group: the parsers must leave the
    # decision to the importing process, not die with a traceback halfway through.
    releases = iter_dump_releases_in_worker(synthetic_dump, workers=2)
    first = next(releases)
    parsers = _parser_processes()
    assert len(parsers) == 2
    for process in parsers:
        assert process.pid is not None
        os.kill(process.pid, signal.SIGINT)

    rest = list(releases)

    assert [first, *rest] == list(iter_dump_releases(synthetic_dump))
    assert _parser_processes() == []


@pytest.mark.usefixtures("small_pieces")
def test_stopping_the_parallel_reader_midway_ends_its_parser_processes(
    synthetic_dump: Path,
) -> None:
    releases = iter_dump_releases_in_worker(synthetic_dump, workers=2)
    next(releases)  # the parsers are now blocked, their queues full: nobody reads them
    assert len(_parser_processes()) == 2
    assert isinstance(releases, types.GeneratorType)

    releases.close()

    assert _parser_processes() == []
    assert multiprocessing.active_children() == []
