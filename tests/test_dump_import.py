"""Importing a Discogs dump into the catalog: the job, re-imports, damaged files, resuming."""

from __future__ import annotations

import functools
import gzip
import multiprocessing
import os
import signal
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import PriceGuide, Release
from vinyl_detective.errors import DumpError
from vinyl_detective.fakes.dump_generator import write_corrupt_variants, write_synthetic_dump
from vinyl_detective.jobs.import_dump import LogProgress, RichProgress, import_dump, rich_progress
from vinyl_detective.sources.dump import iter_dump_releases
from vinyl_detective.storage import kv
from vinyl_detective.storage.bulk_import import ImportStats, ensure_fulltext, import_releases
from vinyl_detective.storage.catalog import get_release, set_prices
from vinyl_detective.storage.fulltext import FTS5_TRIGGER_NAMES, candidate_release_ids
from vinyl_detective.storage.job_runs import recent_runs
from vinyl_detective.storage.schema import releases

COUNT = 700
BATCH = 200


@pytest.fixture(scope="module")
def dump_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dumps") / "discogs_20260101_releases.xml.gz"
    write_synthetic_dump(path, COUNT, seed=5)
    return path


@pytest.fixture
def clock(now: datetime) -> Callable[[], datetime]:
    ticks = iter(now + timedelta(seconds=i) for i in range(10_000))
    return lambda: next(ticks)


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(sql).scalar_one())


def _triggers(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {r[0] for r in rows}


def _fulltext_is_consistent(engine: Engine) -> None:
    with engine.connect() as conn:  # raises when the index disagrees with `releases`
        conn.exec_driver_sql(
            "INSERT INTO releases_fts(releases_fts, rank) VALUES ('integrity-check', 1)"
        )


def test_importing_a_dump_fills_the_catalog_and_records_the_run(
    engine: Engine, dump_file: Path, clock: Callable[[], datetime]
) -> None:
    stats = import_dump(engine, dump_file, now=clock, batch_size=BATCH)

    assert stats.releases == stats.parsed == COUNT
    assert _count(engine, "SELECT count(*) FROM releases") == COUNT
    first = next(iter_dump_releases(dump_file))
    with engine.connect() as conn:
        stored = get_release(conn, first.id)
        assert stored is not None
        assert (stored.artist, stored.title) == (first.artist, first.title)
        # The full-text prefilter finds it by its words.
        hits = candidate_release_ids(conn, first.title.split(), limit=COUNT)
        assert first.id in hits
        runs = recent_runs(conn, job_type="import_dump")
    assert runs[0].status == "success"
    assert runs[0].target == dump_file.name
    assert (runs[0].fetched, runs[0].inserted) == (COUNT, COUNT)
    assert set(FTS5_TRIGGER_NAMES) <= _triggers(engine)
    _fulltext_is_consistent(engine)


def test_releases_are_found_by_barcode_and_catalog_number(
    engine: Engine, dump_file: Path, clock: Callable[[], datetime]
) -> None:
    import_dump(engine, dump_file, now=clock, batch_size=BATCH)
    with_barcode = next(r for r in iter_dump_releases(dump_file) if r.barcodes)
    with engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT release_id FROM release_identifiers WHERE kind = 'barcode' AND value = ?",
            (with_barcode.barcodes[0],),
        ).scalar_one()
    assert found == with_barcode.id


def test_filters_import_only_matching_releases(
    engine: Engine, dump_file: Path, clock: Callable[[], datetime]
) -> None:
    stats = import_dump(engine, dump_file, formats=["vinyl"], years=(1970, 1989), now=clock)
    assert 0 < stats.releases < COUNT
    assert stats.filtered == COUNT - stats.releases
    with engine.connect() as conn:
        years = [r[0] for r in conn.exec_driver_sql("SELECT DISTINCT year FROM releases")]
        run = recent_runs(conn, job_type="import_dump")[0]
    assert all(1970 <= y <= 1989 for y in years)
    assert run.skipped == stats.filtered


def test_reimporting_a_newer_dump_updates_releases_but_keeps_prices(
    engine: Engine, dump_file: Path, tmp_path: Path, clock: Callable[[], datetime], now: datetime
) -> None:
    import_dump(engine, dump_file, now=clock, batch_size=BATCH)
    first = next(iter_dump_releases(dump_file))
    with engine.begin() as conn:
        set_prices(conn, first.id, PriceGuide("USD", {"VG+": Decimal("21.50")}), now)

    # Next month's dump: the first release got a corrected title and a new barcode.
    xml = gzip.decompress(dump_file.read_bytes()).decode()
    start = xml.index(f'<release id="{first.id}"')
    end = xml.index("</release>", start)
    record = xml[start:end]
    title_start = record.index("<title>") + len("<title>")
    title_end = record.index("</title>")
    changed = record[:title_start] + "Corrected Title" + record[title_end:]
    changed = changed.replace(
        "<identifiers>", '<identifiers><identifier type="Barcode" value="4 006381 333931"/>', 1
    ).replace(
        "<identifiers/>",
        '<identifiers><identifier type="Barcode" value="4006381333931"/></identifiers>',
        1,
    )
    newer = tmp_path / "discogs_20260201_releases.xml.gz"
    newer.write_bytes(gzip.compress((xml[:start] + changed + xml[end:]).encode()))

    import_dump(engine, newer, now=clock, batch_size=BATCH)

    with engine.connect() as conn:
        stored = get_release(conn, first.id)
        assert stored is not None
        assert stored.title == "Corrected Title"
        assert "4006381333931" in stored.barcodes
        assert stored.prices is not None
        assert stored.prices.by_condition == {"VG+": Decimal("21.50")}
        assert candidate_release_ids(conn, ["Corrected"], limit=5) == [first.id]
    assert _count(engine, "SELECT count(*) FROM releases") == COUNT
    _fulltext_is_consistent(engine)


def test_a_truncated_dump_fails_the_run_and_keeps_complete_batches(
    engine: Engine, dump_file: Path, tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    broken = write_corrupt_variants(dump_file, tmp_path / "broken")["truncated_gzip"]

    with pytest.raises(DumpError, match=r"after [\d,]+ releases \(last id \d+\)") as caught:
        import_dump(engine, broken, now=clock, batch_size=BATCH)

    stored = _count(engine, "SELECT count(*) FROM releases")
    assert stored > 0
    assert stored % BATCH == 0  # only whole batches were committed
    # Every stored release is complete: its identifiers came with it.
    assert (
        _count(
            engine,
            "SELECT count(*) FROM releases r WHERE r.barcode IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM release_identifiers i "
            "WHERE i.release_id = r.id AND i.kind = 'barcode')",
        )
        == 0
    )
    with engine.connect() as conn:
        run = recent_runs(conn, job_type="import_dump")[0]
    assert run.status == "error"
    assert run.error == str(caught.value)
    assert run.inserted == stored
    assert set(FTS5_TRIGGER_NAMES) <= _triggers(engine)  # restored despite the failure
    _fulltext_is_consistent(engine)


def test_a_file_that_is_not_a_dump_fails_the_run_with_a_clear_message(
    engine: Engine, tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    artists = tmp_path / "discogs_20260101_artists.xml.gz"
    artists.write_bytes(gzip.compress(b"<artists><artist><id>1</id></artist></artists>"))
    with pytest.raises(DumpError, match="not a Discogs releases dump"):
        import_dump(engine, artists, now=clock)
    with pytest.raises(DumpError, match="no dump file at"):
        import_dump(engine, tmp_path / "missing.xml.gz", now=clock)
    with engine.connect() as conn:
        runs = recent_runs(conn, job_type="import_dump")
    assert [r.status for r in runs] == ["error", "error"]
    assert _count(engine, "SELECT count(*) FROM releases") == 0


class StopAfter(LogProgress):
    """A progress display whose user presses Ctrl-C after `batches` batches."""

    def __init__(self, batches: int) -> None:
        super().__init__(every=10**9)
        self.batches = batches

    def advance(self, releases: int, bytes_read: int) -> None:
        super().advance(releases, bytes_read)
        self.batches -= 1
        if self.batches == 0:
            raise KeyboardInterrupt


def test_an_interrupted_import_resumes_where_it_stopped(
    engine: Engine, dump_file: Path, clock: Callable[[], datetime]
) -> None:
    with pytest.raises(KeyboardInterrupt):
        import_dump(engine, dump_file, now=clock, batch_size=BATCH, progress=StopAfter(2))
    assert _count(engine, "SELECT count(*) FROM releases") == 2 * BATCH
    assert set(FTS5_TRIGGER_NAMES) <= _triggers(engine)
    with engine.connect() as conn:
        interrupted = recent_runs(conn, job_type="import_dump")[0]
    assert interrupted.status == "error"
    last_stored = [r.id for r in iter_dump_releases(dump_file)][2 * BATCH - 1]
    assert interrupted.error == (
        f"interrupted after {2 * BATCH:,} releases (last id {last_stored}); "
        "run the same command to resume"
    )

    stats = import_dump(engine, dump_file, now=clock, batch_size=BATCH)

    assert stats.resumed == 2 * BATCH
    assert stats.releases == COUNT - 2 * BATCH
    assert _count(engine, "SELECT count(*) FROM releases") == COUNT
    _fulltext_is_consistent(engine)
    # Finished: the next run of the same file imports everything again.
    assert import_dump(engine, dump_file, now=clock, batch_size=BATCH).resumed == 0


def test_importing_in_a_worker_process_gives_the_same_catalog(
    engine: Engine, dump_file: Path, clock: Callable[[], datetime]
) -> None:
    stats = import_dump(engine, dump_file, now=clock, batch_size=BATCH, parallel=True)
    assert stats.releases == COUNT
    with engine.connect() as conn:
        artists = dict(conn.exec_driver_sql("SELECT id, artist FROM releases").all())
    assert artists == {r.id: r.artist for r in iter_dump_releases(dump_file)}


def test_a_killed_import_leaves_an_index_that_is_repaired_on_the_next_start(
    engine: Engine, dump_file: Path, now: datetime
) -> None:
    import_releases(engine, iter_dump_releases(dump_file), now=now, batch_size=BATCH)
    with engine.begin() as conn:  # what a kill -9 between two batches leaves behind
        for name in FTS5_TRIGGER_NAMES:
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        conn.exec_driver_sql("UPDATE releases SET title = 'Changed Meanwhile' WHERE id = 1")

    assert ensure_fulltext(engine) is True

    assert set(FTS5_TRIGGER_NAMES) <= _triggers(engine)
    _fulltext_is_consistent(engine)
    with engine.connect() as conn:
        assert candidate_release_ids(conn, ["Meanwhile"], limit=5) == [1]
    assert ensure_fulltext(engine) is False


def test_a_small_import_keeps_the_index_up_to_date_through_the_triggers(
    engine: Engine, dump_file: Path, now: datetime
) -> None:
    releases = list(iter_dump_releases(dump_file))[:50]
    stats = import_releases(engine, releases, now=now, batch_size=BATCH)
    assert stats == ImportStats(releases=50, identifiers=stats.identifiers, batches=1)
    _fulltext_is_consistent(engine)


def test_progress_reports_releases_and_bytes(
    engine: Engine, dump_file: Path, clock: Callable[[], datetime]
) -> None:
    seen: list[tuple[int, int]] = []

    class Recorder(LogProgress):
        def advance(self, releases: int, bytes_read: int) -> None:
            seen.append((releases, bytes_read))

    progress = Recorder()
    import_dump(engine, dump_file, now=clock, batch_size=BATCH, progress=progress)
    assert progress.total_bytes == dump_file.stat().st_size
    assert sum(n for n, _ in seen) == COUNT
    positions = [b for _, b in seen]
    assert positions == sorted(positions)
    assert positions[-1] == dump_file.stat().st_size


def test_rich_progress_is_a_bar_on_a_terminal_and_log_lines_elsewhere(
    engine: Engine, dump_file: Path, clock: Callable[[], datetime]
) -> None:
    with rich_progress(force_terminal=True) as progress:
        assert isinstance(progress, RichProgress)
        import_dump(engine, dump_file, now=clock, batch_size=BATCH, progress=progress)
        assert progress.releases == COUNT
    with rich_progress(force_terminal=False) as progress:
        assert isinstance(progress, LogProgress)


def test_a_database_error_midway_still_restores_the_index(
    engine: Engine, dump_file: Path, now: datetime
) -> None:
    def exploding() -> object:
        yield from list(iter_dump_releases(dump_file))[: BATCH * 2]
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        import_releases(engine, exploding(), now=now, batch_size=BATCH)  # type: ignore[arg-type]
    assert _count(engine, "SELECT count(*) FROM releases") == 2 * BATCH
    assert set(FTS5_TRIGGER_NAMES) <= _triggers(engine)
    _fulltext_is_consistent(engine)


def test_the_job_uses_the_worker_process_only_for_big_files(
    engine: Engine, dump_file: Path, clock: Callable[[], datetime]
) -> None:
    # Small files are parsed in-process (no process start-up cost); the result is the same.
    assert os.path.getsize(dump_file) < 32 * 1024 * 1024
    assert import_dump(engine, dump_file, now=clock).releases == COUNT


def test_prices_json_column_is_untouched_by_an_import(
    engine: Engine, dump_file: Path, now: datetime
) -> None:
    releases = list(iter_dump_releases(dump_file))[:10]
    import_releases(engine, releases, now=now)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE releases SET prices_json = '{\"NM\": \"30\"}', price_currency='EUR'")
        )
    import_releases(engine, releases, now=now + timedelta(days=30))
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT DISTINCT prices_json, price_currency FROM releases"
        ).all()
    assert rows == [('{"NM": "30"}', "EUR")]


# --- The fast path: rows built in the parser processes -----------------------------------

REAL_SAMPLE = Path("/work/shared/data/discogs-dump/discogs_20200806_releases.sample.xml.gz")


def _rows_the_catalog_stores(path: Path, now: datetime) -> list[object]:
    from vinyl_detective.storage.catalog import release_rows

    out: list[object] = []
    for release in iter_dump_releases(path):
        row, idents = release_rows(release, now)
        out.append((row, [(i["release_id"], i["kind"], i["value"]) for i in idents]))
    return out


def _rows_the_workers_build(path: Path, now: datetime) -> list[object]:
    from vinyl_detective.sources.dump import iter_dump_batches
    from vinyl_detective.storage.bulk_import import ROW_COLUMNS, dump_release_rows

    build = functools.partial(dump_release_rows, updated_at=now)
    return [
        (dict(zip(ROW_COLUMNS, row, strict=True)), idents)
        for batch in iter_dump_batches(path, build)
        for row, idents in batch
    ]


@pytest.mark.parametrize("sample", ["synthetic", "real"])
def test_rows_built_in_the_parser_processes_are_exactly_the_catalogs_rows(
    sample: str, dump_file: Path, now: datetime
) -> None:
    path = dump_file if sample == "synthetic" else REAL_SAMPLE
    if not path.exists():
        pytest.skip("the real Discogs dump sample is not on this machine")
    expected = _rows_the_catalog_stores(path, now)
    assert len(expected) > 500
    assert _rows_the_workers_build(path, now) == expected


def test_the_parallel_import_stores_what_the_plain_import_stores(
    dump_file: Path, tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    from vinyl_detective.storage.db import open_database

    tables: list[object] = []
    for parallel in (False, True):
        engine = open_database(f"sqlite:///{tmp_path / f'parallel-{parallel}.db'}")
        import_dump(
            engine, dump_file, now=lambda: clock().replace(microsecond=0), parallel=parallel
        )
        with engine.connect() as conn:
            tables.append(
                (
                    conn.exec_driver_sql("SELECT * FROM releases ORDER BY id").all(),
                    conn.exec_driver_sql(
                        "SELECT * FROM release_identifiers ORDER BY release_id, kind, value"
                    ).all(),
                )
            )
        _fulltext_is_consistent(engine)
        engine.dispose()
    serial, parallel_ = tables
    # Only updated_at (the run's start time) may differ between the two runs.
    assert [r[:-1] for r in serial[0]] == [r[:-1] for r in parallel_[0]]  # type: ignore[index]
    assert serial[1] == parallel_[1]  # type: ignore[index]


def test_a_parallel_reimport_keeps_prices_and_the_index_right(
    engine: Engine, dump_file: Path, clock: Callable[[], datetime], now: datetime
) -> None:
    import_dump(engine, dump_file, now=clock, parallel=True)
    first = next(iter_dump_releases(dump_file))
    with engine.begin() as conn:
        set_prices(conn, first.id, PriceGuide("USD", {"VG+": Decimal("21.50")}), now)
        conn.exec_driver_sql("UPDATE releases SET title = 'Stale Title' WHERE id = ?", (first.id,))

    stats = import_dump(engine, dump_file, now=clock, parallel=True)

    assert stats.releases == COUNT
    with engine.connect() as conn:
        stored = get_release(conn, first.id)
        assert stored is not None
        assert stored.title == first.title
        assert stored.prices is not None
        assert stored.prices.by_condition == {"VG+": Decimal("21.50")}
        assert candidate_release_ids(conn, ["Stale"], limit=5) == []
    assert _count(engine, "SELECT count(*) FROM releases") == COUNT
    _fulltext_is_consistent(engine)


def test_a_truncated_dump_in_the_parallel_import_keeps_a_consistent_catalog(
    engine: Engine,
    dump_file: Path,
    tmp_path: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vinyl_detective.sources.dump import stream

    monkeypatch.setattr(stream, "CHUNK_SIZE", 32 * 1024)  # many small pieces
    broken = write_corrupt_variants(dump_file, tmp_path / "broken")["truncated_gzip"]

    with pytest.raises(DumpError, match=r"after [\d,]+ releases \(last id \d+\)") as caught:
        import_dump(engine, broken, now=clock, batch_size=BATCH, parallel=True)

    stored = _count(engine, "SELECT count(*) FROM releases")
    assert stored > 0
    with engine.connect() as conn:
        run = recent_runs(conn, job_type="import_dump")[0]
    assert run.status == "error"
    assert run.error == str(caught.value)
    assert run.inserted == stored
    assert set(FTS5_TRIGGER_NAMES) <= _triggers(engine)
    _fulltext_is_consistent(engine)


def test_an_interrupted_parallel_import_resumes_where_it_stopped(
    engine: Engine,
    dump_file: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vinyl_detective.sources.dump import stream

    monkeypatch.setattr(stream, "CHUNK_SIZE", 32 * 1024)
    with pytest.raises(KeyboardInterrupt):
        import_dump(
            engine, dump_file, now=clock, batch_size=BATCH, parallel=True, progress=StopAfter(2)
        )
    kept = _count(engine, "SELECT count(*) FROM releases")
    assert BATCH * 2 <= kept < COUNT  # two transactions of at least BATCH releases each

    stats = import_dump(engine, dump_file, now=clock, batch_size=BATCH, parallel=True)

    assert stats.resumed == kept
    assert stats.releases == COUNT - kept
    assert _count(engine, "SELECT count(*) FROM releases") == COUNT
    _fulltext_is_consistent(engine)
    with engine.connect() as conn:
        artists = dict(conn.exec_driver_sql("SELECT id, artist FROM releases").all())
    assert artists == {r.id: r.artist for r in iter_dump_releases(dump_file)}


def test_a_release_repeated_in_the_dump_is_stored_once_the_last_way(
    engine: Engine, now: datetime
) -> None:
    from vinyl_detective.storage.bulk_import import (
        ROW_COLUMNS,
        driver_time,
        import_row_batches,
    )

    def row(title: str, barcode: str) -> tuple[tuple[object, ...], list[tuple[int, str, str]]]:
        values = dict.fromkeys(ROW_COLUMNS)
        values.update(id=7, artist="A", title=title, barcode=barcode)
        values["updated_at"] = driver_time(engine, now)
        return tuple(values.values()), [(7, "barcode", barcode)]

    stats = import_row_batches(
        engine, [[row("Old", "0000000000017")], [row("New", "0000000000024")]], batch_size=10
    )
    assert stats.releases == 1
    with engine.connect() as conn:
        stored = get_release(conn, 7)
    assert stored is not None
    assert (stored.title, stored.barcodes) == ("New", ("0000000000024",))
    with engine.connect() as conn:
        updated_at = conn.execute(sa.select(releases.c.updated_at)).scalar_one()
    assert updated_at == now


# --- Ctrl-C and other interruptions --------------------------------------------------------


def _run_error(engine: Engine) -> tuple[str, str | None]:
    with engine.connect() as conn:
        run = recent_runs(conn, job_type="import_dump")[0]
    return run.status, run.error


def test_ctrl_c_during_a_parallel_import_stops_the_parsers_and_leaves_a_consistent_catalog(
    engine: Engine,
    dump_file: Path,
    clock: Callable[[], datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vinyl_detective.sources.dump import stream

    monkeypatch.setattr(stream, "CHUNK_SIZE", 32 * 1024)  # many pieces even in a small file
    with pytest.raises(KeyboardInterrupt):
        import_dump(
            engine,
            dump_file,
            now=clock,
            batch_size=BATCH,
            parallel=True,
            workers=2,
            progress=StopAfter(2),  # Ctrl-C right after the second batch has committed
        )

    assert multiprocessing.active_children() == []
    assert ensure_fulltext(engine) is False  # the triggers are back: nothing to repair
    assert set(FTS5_TRIGGER_NAMES) <= _triggers(engine)
    _fulltext_is_consistent(engine)
    with engine.connect() as conn:
        stored = list(conn.execute(sa.select(releases.c.id, releases.c.title)).all())
        last_id, last_title = max(stored)
        assert last_id in candidate_release_ids(conn, last_title.split(), limit=COUNT)
    in_file = [r.id for r in iter_dump_releases(dump_file)]
    assert {i for i, _ in stored} == set(in_file[: len(stored)])  # whole batches, in order
    status, error = _run_error(engine)
    assert status == "error"
    assert error == (
        f"interrupted after {len(stored):,} releases (last id {in_file[len(stored) - 1]}); "
        "run the same command to resume"
    )

    stats = import_dump(engine, dump_file, now=clock, batch_size=BATCH, parallel=True)

    assert (stats.resumed, stats.releases) == (len(stored), COUNT - len(stored))
    assert _count(engine, "SELECT count(*) FROM releases") == COUNT
    _fulltext_is_consistent(engine)
    assert _run_error(engine) == ("success", None)


@pytest.fixture
def interactive_sigint() -> Iterator[None]:
    """Ctrl+C as in a terminal. A CI runner may start the tests with SIGINT ignored (as
    background jobs of a shell are): Python's own handler is put back for the test."""
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def press_ctrl_c_now() -> None:
    """What Python does on Ctrl+C, synchronously: call the installed SIGINT handler.

    (Synchronous, so the moment of the "press" inside the batch is exact.)
    """
    handler = signal.getsignal(signal.SIGINT)
    assert callable(handler)
    handler(signal.SIGINT, None)


@pytest.mark.usefixtures("interactive_sigint")
def test_a_ctrl_c_while_a_batch_is_written_stops_the_import_once_that_batch_is_stored(
    engine: Engine, dump_file: Path, now: datetime
) -> None:
    stored: list[int] = []

    def press_ctrl_c(conn: sa.Connection) -> None:  # inside the batch's transaction
        press_ctrl_c_now()

    with pytest.raises(KeyboardInterrupt):
        import_releases(
            engine,
            iter_dump_releases(dump_file),
            now=now,
            batch_size=BATCH,
            checkpoint=press_ctrl_c,
            on_batch=stored.append,
        )

    assert stored == [BATCH]  # the batch was committed and reported, then the import stopped
    assert _count(engine, "SELECT count(*) FROM releases") == BATCH
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    _fulltext_is_consistent(engine)


@pytest.mark.usefixtures("interactive_sigint")
def test_a_second_ctrl_c_stops_at_once_and_the_catalog_still_holds_only_whole_batches(
    engine: Engine, dump_file: Path, now: datetime
) -> None:
    batches = 0

    def press_ctrl_c_twice_in_the_second_batch(conn: sa.Connection) -> None:
        if batches == 1:  # the full-text triggers are dropped by now
            press_ctrl_c_now()
            press_ctrl_c_now()

    def count(n: int) -> None:
        nonlocal batches
        batches += 1

    with pytest.raises(KeyboardInterrupt):
        import_releases(
            engine,
            iter_dump_releases(dump_file),
            now=now,
            batch_size=BATCH,
            checkpoint=press_ctrl_c_twice_in_the_second_batch,
            on_batch=count,
        )

    assert batches == 1
    assert _count(engine, "SELECT count(*) FROM releases") == BATCH  # the second rolled back
    assert set(FTS5_TRIGGER_NAMES) <= _triggers(engine)
    _fulltext_is_consistent(engine)


def test_the_index_is_restored_even_if_the_database_is_locked_for_a_moment(
    db_url: str, dump_file: Path, now: datetime
) -> None:
    from sqlalchemy import event

    from vinyl_detective.storage.db import create_db_engine, migrate

    engine = create_db_engine(db_url)

    @event.listens_for(engine, "connect")
    def _wait_briefly(dbapi_conn: object, _record: object) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout = 20")  # type: ignore[attr-defined]

    migrate(engine)
    other = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("PRAGMA busy_timeout = 20")
    pauses: list[float] = []

    def another_writer_stops(seconds: float) -> None:  # the lock goes away during the pause
        pauses.append(seconds)
        other.execute("ROLLBACK")

    def failing_after_two_batches() -> Iterator[Release]:
        yield from list(iter_dump_releases(dump_file))[: BATCH * 2]
        other.execute("BEGIN IMMEDIATE")  # someone else is writing when the import fails
        raise OSError("disk full")

    try:
        with pytest.raises(OSError, match="disk full"):
            import_releases(
                engine,
                failing_after_two_batches(),
                now=now,
                batch_size=BATCH,
                sleep=another_writer_stops,
            )
        assert len(pauses) == 1
        assert set(FTS5_TRIGGER_NAMES) <= _triggers(engine)
        _fulltext_is_consistent(engine)
    finally:
        other.close()
        engine.dispose()


def test_a_restore_that_keeps_failing_is_logged_and_the_original_error_still_raised(
    db_url: str, dump_file: Path, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy import event

    from vinyl_detective.storage.db import create_db_engine, migrate

    engine = create_db_engine(db_url)

    @event.listens_for(engine, "connect")
    def _wait_briefly(dbapi_conn: object, _record: object) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout = 20")  # type: ignore[attr-defined]

    migrate(engine)
    other = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)

    def failing_after_two_batches() -> Iterator[Release]:
        yield from list(iter_dump_releases(dump_file))[: BATCH * 2]
        other.execute("BEGIN IMMEDIATE")  # and keeps writing
        raise OSError("disk full")

    try:
        with pytest.raises(OSError, match="disk full"):
            import_releases(
                engine, failing_after_two_batches(), now=now, batch_size=BATCH, sleep=lambda s: None
            )
        assert "rebuilt at the next start" in caplog.text
    finally:
        other.close()
    assert _count(engine, "SELECT count(*) FROM releases") == 2 * BATCH
    assert ensure_fulltext(engine) is True  # what the next start does
    _fulltext_is_consistent(engine)
    engine.dispose()


def test_an_error_without_a_message_is_recorded_by_its_name_and_where_to_resume(
    engine: Engine, dump_file: Path, clock: Callable[[], datetime]
) -> None:
    class Broken(LogProgress):
        def advance(self, releases: int, bytes_read: int) -> None:
            raise RuntimeError

    with pytest.raises(RuntimeError):
        import_dump(engine, dump_file, now=clock, batch_size=BATCH, progress=Broken())

    last_stored = [r.id for r in iter_dump_releases(dump_file)][BATCH - 1]
    assert _run_error(engine) == (
        "error",
        f"RuntimeError; interrupted after {BATCH:,} releases (last id {last_stored}); "
        "run the same command to resume",
    )


# --- The import connection's bulk-load settings -----------------------------------------------


def _settings(conn: sa.Connection) -> tuple[int, int]:
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    synchronous = dbapi.execute("PRAGMA synchronous").fetchone()[0]
    checkpoint_pages = dbapi.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    return int(synchronous), int(checkpoint_pages)


def _pooled_settings(engine: Engine) -> set[tuple[int, int]]:
    """The settings of every connection the pool hands out (several held at once)."""
    conns = [engine.connect() for _ in range(3)]
    try:
        return {_settings(conn) for conn in conns}
    finally:
        for conn in conns:
            conn.close()


NORMAL = (1, 1000)  # synchronous = NORMAL, a WAL checkpoint every 1,000 pages


@pytest.mark.parametrize("parallel", [False, True])
def test_the_import_loads_without_syncs_and_leaves_every_connection_as_it_was(
    engine: Engine,
    dump_file: Path,
    db_url: str,
    clock: Callable[[], datetime],
    parallel: bool,
) -> None:
    assert _pooled_settings(engine) == {NORMAL}
    during: list[tuple[int, int]] = []
    real_set_value = kv.set_value

    def spy(conn: sa.Connection, key: str, value: str | None) -> None:
        if key.startswith("import_dump:") and value is not None:
            during.append(_settings(conn))  # the checkpoint, inside an import batch
        real_set_value(conn, key, value)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kv, "set_value", spy)
        import_dump(engine, dump_file, now=clock, batch_size=BATCH, parallel=parallel)

    assert during
    assert set(during) == {(0, 16000)}
    assert _pooled_settings(engine) == {NORMAL}
    # What was imported was checkpointed into the database file: the WAL holds only the
    # few pages the job wrote after it (its run record), not the catalog.
    wal = Path(db_url.removeprefix("sqlite:///") + "-wal")
    assert not wal.exists() or wal.stat().st_size < 64 * 1024
    _fulltext_is_consistent(engine)


def test_a_failed_import_also_leaves_every_connection_as_it_was(
    engine: Engine, dump_file: Path, tmp_path: Path, clock: Callable[[], datetime]
) -> None:
    broken = write_corrupt_variants(dump_file, tmp_path / "broken")["truncated_xml"]
    with pytest.raises(DumpError):
        import_dump(engine, broken, now=clock, batch_size=BATCH, parallel=True)
    assert _count(engine, "SELECT count(*) FROM releases") > 0
    assert _pooled_settings(engine) == {NORMAL}
    _fulltext_is_consistent(engine)
