"""The `import-dump` job: fill the local catalog from a Discogs monthly releases dump.

    stats = import_dump(engine, Path("discogs_20260201_releases.xml.gz"),
                        formats=["vinyl"], now=lambda: datetime.now(UTC))

Every run is a job-run record (type "import_dump", target the file name) with its counts
(`fetched` = releases read, `inserted` = releases written, `skipped` = filtered out or
already imported by an interrupted earlier run). A corrupt or truncated file marks the run
as failed and raises `DumpError`; the batches committed before stay complete and the
full-text index stays in step. An interrupted run (Ctrl-C, or any other error) is recorded
as failed with where it stopped ("interrupted after N releases (last id X); run the same
command to resume"), after its parser processes have stopped and the full-text index has
been restored; the KeyboardInterrupt is then raised again for the CLI to exit with.

Resuming: each batch records, in the same transaction, how many releases of this file
(same name, size and modification time) have been read. Rerunning the same import after
a crash or a Ctrl-C skips that many releases without writing them again. A checkpoint is
position-based rather than id-based, so it is right even if a dump is not sorted by id.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
from collections.abc import Callable, Collection, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy.engine import Engine

from vinyl_detective.errors import DumpError
from vinyl_detective.sources.dump import (
    DEFAULT_WORKERS,
    DumpStats,
    iter_dump_batches,
    iter_dump_releases,
)
from vinyl_detective.storage import kv
from vinyl_detective.storage.bulk_import import (
    ImportStats,
    driver_time,
    dump_release_rows,
    import_releases,
    import_row_batches,
    interrupts_deferred,
)
from vinyl_detective.storage.job_runs import finish_job, start_job

log = logging.getLogger(__name__)

JOB_TYPE = "import_dump"
# Files at least this big are parsed in a worker process when the machine has 2+ cores.
PARALLEL_MIN_BYTES = 32 * 1024 * 1024


class ImportProgress(Protocol):
    """Where the CLI (a Rich bar) or the log learns how an import is going."""

    def start(self, total_bytes: int) -> None:
        """The import begins; the file holds `total_bytes` (compressed, as stored)."""

    def advance(self, releases: int, bytes_read: int) -> None:
        """`releases` more were written; `bytes_read` of the file have been read so far."""

    def finish(self, stats: ImportStats) -> None:
        """The import completed with these counts (not called when it stops on an error or
        Ctrl-C: the error, logged and recorded, says where it stopped)."""


class LogProgress:
    """Progress as log lines every `every` releases, for when stdout is not a terminal."""

    def __init__(self, every: int = 100_000, logger: logging.Logger | None = None) -> None:
        self.every = every
        self.log = logger or log
        self.total_bytes = 0
        self.releases = 0
        self._next = every

    def start(self, total_bytes: int) -> None:
        self.total_bytes = total_bytes

    def advance(self, releases: int, bytes_read: int) -> None:
        self.releases += releases
        if self.releases >= self._next:
            self._next = self.releases + self.every
            share = f" ({bytes_read * 100 // self.total_bytes}%)" if self.total_bytes else ""
            self.log.info("import_dump releases=%d%s", self.releases, share)

    def finish(self, stats: ImportStats) -> None:
        self.log.info(
            "import_dump done parsed=%d written=%d filtered=%d resumed=%d in %.1fs",
            stats.parsed,
            stats.releases,
            stats.filtered,
            stats.resumed,
            stats.seconds,
        )


class RichProgress:
    """A Rich progress bar: bar over the compressed bytes, releases, releases/s and ETA."""

    def __init__(self, progress: Progress, description: str = "Importing releases") -> None:
        self.progress = progress
        self.task = progress.add_task(description, total=None, releases=0)
        self.releases = 0

    def start(self, total_bytes: int) -> None:
        self.progress.update(self.task, total=total_bytes or None)

    def advance(self, releases: int, bytes_read: int) -> None:
        self.releases += releases
        self.progress.update(self.task, completed=bytes_read, releases=self.releases)

    def finish(self, stats: ImportStats) -> None:
        task = self.progress.tasks[self.task]
        self.progress.update(self.task, completed=task.total or task.completed)


@contextlib.contextmanager
def rich_progress(*, force_terminal: bool | None = None) -> Iterator[ImportProgress]:
    """An `ImportProgress` for the CLI: a live Rich bar on a terminal, log lines otherwise.

    The bar advances with the compressed bytes read (the only size known up front), so
    its ETA is honest; the columns show releases written and releases per second.
    """
    console = Console(stderr=True, force_terminal=force_terminal)
    if not console.is_terminal:
        yield LogProgress()
        return

    class ReleasesPerSecond(ProgressColumn):
        def render(self, task: Task) -> Text:
            elapsed = task.elapsed or 0.0
            releases = int(task.fields.get("releases", 0))
            rate = releases / elapsed if elapsed > 0 else 0.0
            return Text(f"{rate:,.0f} releases/s", style="progress.data.speed")

    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[releases]:,} releases"),
        ReleasesPerSecond(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
    )
    with progress:
        yield RichProgress(progress)


class _CheckpointKey:
    """Identifies one dump file (name, size, mtime) for the resume checkpoint."""

    def __init__(self, path: Path, filters: object) -> None:
        info = path.stat()
        fingerprint = json.dumps(
            [path.name, info.st_size, int(info.st_mtime), repr(filters)], sort_keys=True
        )
        digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:24]
        self.key = f"import_dump:{digest}"


def _filters_repr(
    formats: Collection[str] | None,
    genres: Collection[str] | None,
    years: tuple[int | None, int | None] | None,
) -> object:
    return (
        sorted(f.casefold() for f in formats) if formats else None,
        sorted(g.casefold() for g in genres) if genres else None,
        list(years) if years else None,
    )


def import_dump(
    engine: Engine,
    path: Path,
    *,
    formats: Collection[str] | None = None,
    genres: Collection[str] | None = None,
    years: tuple[int | None, int | None] | None = None,
    now: Callable[[], datetime],
    progress: ImportProgress | None = None,
    batch_size: int = 5000,
    parallel: bool | None = None,
    workers: int = DEFAULT_WORKERS,
    resume: bool = True,
) -> ImportStats:
    """Import the releases dump at `path` into the catalog; returns the counts.

    `formats`/`genres`/`years` narrow what is imported (see `iter_dump_releases`).
    `parallel` parses in `workers` child processes that also build the database rows, so
    this process only writes (default: for big files on multi-core machines); a
    transaction then holds whole pieces of ~1 MB of XML, at least `batch_size` releases.
    `resume` continues an interrupted import of the same file from its checkpoint.
    Raises `DumpError` (after recording the failed run) for a bad file.
    """
    path = Path(path)
    started = now()
    with engine.begin() as conn:
        run_id = start_job(conn, JOB_TYPE, path.name, started)
    stats = DumpStats()
    written = ImportStats()
    committed = [0, 0]  # releases, batches: known even when the import fails midway
    # Where a rerun resumes: releases of the file read up to the last commit, and the id
    # of the last of them.
    resume_at: list[int | None] = [0, None]
    try:
        if not path.is_file():
            raise DumpError(
                f"no dump file at {path}: download discogs_YYYYMMDD_releases.xml.gz "
                "from https://data.discogs.com/ and pass its path"
            )
        total_bytes = path.stat().st_size
        checkpoint_key = _CheckpointKey(path, _filters_repr(formats, genres, years)).key
        skip_first = _read_checkpoint(engine, checkpoint_key) if resume else 0
        resume_at[0] = skip_first
        if skip_first:
            log.info("import_dump resuming %s after %d releases", path.name, skip_first)
        if parallel is None:
            parallel = total_bytes >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1
        source: Iterator[object]
        if parallel:
            build = functools.partial(dump_release_rows, updated_at=driver_time(engine, started))
            source = iter_dump_batches(
                path,
                build,
                formats=formats,
                genres=genres,
                years=years,
                stats=stats,
                skip_first=skip_first,
                workers=workers,
            )
        else:
            source = iter_dump_releases(
                path,
                formats=formats,
                genres=genres,
                years=years,
                stats=stats,
                skip_first=skip_first,
            )
        if progress is not None:
            progress.start(total_bytes)

        def record_checkpoint(conn: sa.Connection) -> None:
            kv.set_value(conn, checkpoint_key, str(stats.seen))
            resume_at[:] = [stats.seen, stats.last_id]

        def on_batch(count: int) -> None:
            committed[0] += count
            committed[1] += 1
            if progress is not None:
                progress.advance(count, stats.bytes_read)

        try:
            if parallel:
                written = import_row_batches(
                    engine,
                    source,  # type: ignore[arg-type]
                    batch_size=batch_size,
                    on_batch=on_batch,
                    checkpoint=record_checkpoint,
                )
            else:
                written = import_releases(
                    engine,
                    source,  # type: ignore[arg-type]
                    now=started,
                    batch_size=batch_size,
                    on_batch=on_batch,
                    checkpoint=record_checkpoint,
                )
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        with engine.begin() as conn:
            kv.set_value(conn, checkpoint_key, None)  # done: a rerun imports it all again
    except BaseException as exc:  # Ctrl-C too: the run record must not stay "running"
        finished = now()
        partial = ImportStats(releases=committed[0], batches=committed[1])
        result = _result(partial, stats, started, finished)
        reason = _error_text(exc, resume_at[0] or 0, resume_at[1])
        try:  # a second Ctrl-C must not leave the run "running"
            with interrupts_deferred(), engine.begin() as conn:
                finish_job(
                    conn,
                    run_id,
                    finished,
                    fetched=result.parsed,
                    inserted=result.releases,
                    skipped=result.filtered + result.resumed,
                    error=reason,
                )
        except Exception as record_error:  # never hide what stopped the import
            log.error("import_dump could not record the failed run: %s", record_error)
        if isinstance(exc, KeyboardInterrupt):
            log.warning("import_dump %s %s", path.name, reason)
        elif isinstance(exc, DumpError):  # a bad file: the caller shows it, once
            log.debug("import_dump %s failed: %s", path.name, reason)
        else:
            log.error("import_dump %s failed: %s", path.name, reason)
        raise
    finished = now()
    result = _result(written, stats, started, finished)
    with engine.begin() as conn:
        finish_job(
            conn,
            run_id,
            finished,
            fetched=result.parsed,
            inserted=result.releases,
            skipped=result.filtered + result.resumed,
        )
    log.info(
        "import_dump file=%s parsed=%d written=%d filtered=%d resumed=%d in %.1fs",
        path.name,
        result.parsed,
        result.releases,
        result.filtered,
        result.resumed,
        result.seconds,
    )
    if progress is not None:
        progress.finish(result)
    return result


def _result(
    written: ImportStats, stats: DumpStats, started: datetime, finished: datetime
) -> ImportStats:
    return replace(
        written,
        parsed=stats.seen,
        filtered=stats.filtered,
        resumed=stats.skipped,
        seconds=max((finished - started).total_seconds(), 0.0),
    )


def _error_text(exc: BaseException, position: int, last_id: int | None) -> str:
    """The run's error: what stopped it, and for anything but a bad file, where a rerun
    resumes (`position` releases of the file stored, the last one `last_id`)."""
    if isinstance(exc, DumpError):
        return str(exc)  # says how far the read got and what to do about the file
    last = f" (last id {last_id})" if last_id is not None else ""
    stored = f"after {position:,} releases{last}" if position else "before storing any release"
    where = f"{stored}; run the same command to resume"
    if isinstance(exc, KeyboardInterrupt):
        return f"interrupted {where}"
    text = str(exc).strip()
    reason = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
    return f"{reason}; interrupted {where}"


def _read_checkpoint(engine: Engine, key: str) -> int:
    with engine.connect() as conn:
        value = kv.get_value(conn, key)
    try:
        return max(int(value), 0) if value else 0
    except ValueError:
        return 0


__all__ = [
    "ImportProgress",
    "LogProgress",
    "RichProgress",
    "import_dump",
    "rich_progress",
]
