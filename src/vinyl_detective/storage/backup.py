"""Backing up and restoring the SQLite database (PostgreSQL has pg_dump for that).

    backup_sqlite(url, Path("vd-backup.db"))        # safe while the daemon runs
    restore_sqlite(Path("vd-backup.db"), url, now)  # refuses while a daemon uses it

Both use SQLite's online backup API, never a file copy: a backup taken while the daemon
writes is one consistent snapshot (WAL readers never block the writer), and a restore
writes into the database through SQLite, so its write-ahead log cannot be mixed with the
restored file. A backup is one self-contained file (journal mode DELETE, no -wal beside
it) that passed SQLite's quick check.

A restore first checks the file is a Vinyl Detective database (the tables, a schema
revision this version knows), migrates a copy to the current schema (a backup from an
older version restores into a newer one), keeps the database it replaces beside it as
`<name>.before-restore-<time>`, and only then writes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from vinyl_detective.config import redact_url
from vinyl_detective.errors import VinylDetectiveError
from vinyl_detective.storage.db import MIGRATIONS_DIR, open_database
from vinyl_detective.storage.job_runs import pid_alive

if TYPE_CHECKING:  # Alembic is imported by the restore check alone, not by every importer
    from alembic.config import Config

__all__ = [
    "DAEMON_OWNER_KEY",
    "BackupError",
    "BackupSummary",
    "RestoreSummary",
    "backup_sqlite",
    "postgres_advice",
    "restore_sqlite",
    "running_daemon",
    "sqlite_path",
]

# The daemon's "host:pid" while it runs (daemon.py), to tell a live one from a crashed one.
DAEMON_OWNER_KEY = "daemon:owner"
# With no process to check (another host), a daemon that did something this recently is
# taken to be alive: `status` uses the same bound.
RECENT_ACTIVITY = timedelta(minutes=45)
_REQUIRED_TABLES = ("alembic_version", "saved_searches", "listings", "alert_log", "kv")
_SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(VinylDetectiveError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class BackupSummary:
    path: Path
    revision: str
    searches: int
    listings: int
    deals: int
    size_bytes: int


@dataclass(frozen=True, slots=True)
class RestoreSummary:
    backup: BackupSummary  # what the file held (its own revision)
    revision: str  # the schema it was migrated to
    kept_as: Path | None  # the replaced database, kept


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite DATABASE_URL; None for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError(f"DATABASE_URL={url!r} is an in-memory database: nothing to keep.")
    return Path(parsed.database).expanduser()


def postgres_advice(url: str, verb: str) -> str:
    """What to run instead of `backup`/`restore` for a PostgreSQL DATABASE_URL."""
    plain = redact_url(url).replace("postgresql+psycopg://", "postgresql://", 1)
    if verb == "backup":
        return (
            "DATABASE_URL is PostgreSQL: back it up with PostgreSQL's own tool, safe while "
            f"the daemon runs:\n  pg_dump --format=custom --file=FILE '{plain}'"
        )
    return (
        "DATABASE_URL is PostgreSQL: stop the daemon and workers, then restore with\n"
        f"  pg_restore --clean --if-exists --dbname='{plain}' FILE\n"
        "The next vinyl-detective command migrates it to this version's schema."
    )


# --------------------------------------------------------------------------- backup


def backup_sqlite(url: str, dest: Path, *, overwrite: bool = False) -> BackupSummary:
    """Copy the live database at `url` into `dest`, consistently, while others write."""
    source = sqlite_path(url)
    if source is None:
        raise BackupError(postgres_advice(url, "backup"))
    if not source.is_file():
        raise BackupError(
            f"There is no database at {source} (DATABASE_URL): nothing to back up yet."
        )
    if dest.is_dir():
        raise BackupError(f"{dest} is a directory: give a file name, e.g. {dest}/vd-backup.db")
    if dest.exists() and dest.resolve() == source.resolve():
        raise BackupError(f"{dest} is the database itself: back it up to another file.")
    if dest.exists() and not overwrite:
        raise BackupError(f"{dest} already exists: choose another name, or --force to replace it.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    _remove(partial)
    try:
        with _connect(source) as src, _connect(partial) as copy:
            src.backup(copy)  # one step: a single consistent snapshot
            copy.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
            _check(copy, dest)
        summary = _summary(partial, dest)
        os.replace(partial, dest)
    except sqlite3.Error as exc:
        raise BackupError(f"The backup to {dest} failed: {exc}") from None
    finally:
        _remove(partial)
    return summary


# --------------------------------------------------------------------------- restore


def restore_sqlite(file: Path, url: str, now: datetime, *, force: bool = False) -> RestoreSummary:
    """Replace the database at `url` with the backup `file`, migrated to this version."""
    target = sqlite_path(url)
    if target is None:
        raise BackupError(postgres_advice(url, "restore"))
    backup = inspect_backup(file)
    if target.exists() and file.resolve() == target.resolve():
        raise BackupError(f"{file} is the database itself: nothing to restore.")
    if target.is_file() and not force:
        with _connect(target) as conn:
            alive = running_daemon(conn, now)
        if alive:
            raise BackupError(
                f"A Vinyl Detective daemon is using {target} ({alive}): stop it first "
                "(Ctrl+C, or systemctl stop vinyl-detective), then restore. "
                "If it is not running, add --force."
            )
    target.parent.mkdir(parents=True, exist_ok=True)  # a fresh installation has none yet
    staging = target.with_name(target.name + ".restoring")
    _remove(staging)
    kept: Path | None = None
    try:
        with _connect(file) as src, _connect(staging) as copy:
            src.backup(copy)
        engine = open_database(f"sqlite:///{staging}")  # migrates to the current schema
        engine.dispose()
        with _connect(staging) as copy:
            revision = _revision(copy) or "?"
            # The backup's daemon is not running here: `status` should not say it is.
            copy.execute(
                "INSERT INTO kv (key, value) SELECT 'daemon:stopped_at', ? "
                "WHERE EXISTS (SELECT 1 FROM kv WHERE key = 'daemon:started_at') "
                "AND NOT EXISTS (SELECT 1 FROM kv WHERE key = 'daemon:stopped_at')",
                (now.isoformat(),),
            )
            copy.execute("DELETE FROM kv WHERE key = ?", (DAEMON_OWNER_KEY,))
            copy.commit()
        if target.is_file():
            kept = target.with_name(f"{target.name}.before-restore-{now:%Y%m%d-%H%M%S}")
            with _connect(target) as current, _connect(kept) as safe:
                current.backup(safe)
                safe.execute("PRAGMA journal_mode = DELETE")
        with _connect(staging) as copy, _connect(target) as live:
            copy.backup(live)  # through SQLite: the live WAL stays consistent
    except sqlite3.Error as exc:
        raise BackupError(f"Restoring {file} failed, the database is unchanged: {exc}") from None
    finally:
        for leftover in (staging, *_sidecars(staging)):
            _remove(leftover)
    return RestoreSummary(backup=backup, revision=revision, kept_as=kept)


def inspect_backup(file: Path) -> BackupSummary:
    """What a backup file holds; BackupError unless it is a usable Vinyl Detective database."""
    if not file.is_file():
        raise BackupError(f"{file} does not exist (or is not a file).")
    with file.open("rb") as handle:
        if handle.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
            raise BackupError(
                f"{file} is not an SQLite database: give a file made by vinyl-detective backup."
            )
    try:
        with _connect(file, read_only=True) as conn:
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            missing = [t for t in _REQUIRED_TABLES if t not in tables]
            if missing:
                raise BackupError(
                    f"{file} is an SQLite database but not a Vinyl Detective one "
                    f"(it has no {', '.join(missing)} table{'s' if len(missing) > 1 else ''})."
                )
            revision = _revision(conn)
            _check(conn, file)
        from alembic.script import ScriptDirectory

        known = ScriptDirectory.from_config(_alembic_config())
        if revision is None:
            raise BackupError(f"{file} has no schema revision: it is not a usable backup.")
        try:
            known.get_revision(revision)
        except Exception:  # alembic raises several kinds for an unknown id
            raise BackupError(
                f"{file} was made by a newer Vinyl Detective (schema {revision}; this version "
                f"knows up to {known.get_current_head()}): upgrade this installation first."
            ) from None
        return _summary(file, file, revision=revision)
    except sqlite3.Error as exc:
        raise BackupError(f"{file} cannot be read as a database: {exc}") from None


def running_daemon(conn: sqlite3.Connection, now: datetime) -> str | None:
    """How a daemon using this database shows itself ("pid 812 on this host, started …"),
    or None when none is: it stopped cleanly, its process is gone, or (on another host)
    it has done nothing for RECENT_ACTIVITY."""
    values = dict(conn.execute("SELECT key, value FROM kv WHERE key LIKE 'daemon:%'").fetchall())
    started = values.get("daemon:started_at")
    if not started or values.get("daemon:stopped_at"):
        return None
    since = f"started {started[:16].replace('T', ' ')} UTC"
    host, _, pid_text = (values.get(DAEMON_OWNER_KEY) or "").rpartition(":")
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        return f"pid {pid} on this host, {since}" if pid_alive(pid) else None
    finished = conn.execute("SELECT MAX(finished_at) FROM job_runs").fetchone()
    stamps = [_moment(started, now)]
    if finished and finished[0]:
        stamps.append(_moment(str(finished[0]), now))
    moment = max(stamps)
    if now - moment < RECENT_ACTIVITY:
        where = f" on {host}" if host else ""
        return f"{since}{where}, last active {(now - moment).total_seconds() / 60:.0f} min ago"
    return None


# --------------------------------------------------------------------------- helpers


def _moment(text: str, now: datetime) -> datetime:
    """A stored time (ISO, aware or the naive UTC the schema writes) as an aware one."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=now.tzinfo)


@contextlib.contextmanager
def _connect(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    uri = f"file:{path.resolve()}" + ("?mode=ro" if read_only else "")
    conn = sqlite3.connect(uri, uri=True, timeout=30)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        yield conn
    finally:
        conn.close()


def _check(conn: sqlite3.Connection, named: Path) -> None:
    result = conn.execute("PRAGMA quick_check").fetchone()
    if not result or result[0] != "ok":
        raise BackupError(
            f"{named} is damaged (SQLite quick check: {result[0] if result else '?'})."
        )


def _revision(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def _summary(path: Path, shown: Path, *, revision: str | None = None) -> BackupSummary:
    with _connect(path, read_only=True) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}

        def count(table: str) -> int:  # `deals` came with schema 0002
            if table not in tables:
                return 0
            row = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
            return int(row[0]) if row else 0

        return BackupSummary(
            path=shown,
            revision=revision or _revision(conn) or "?",
            searches=count("saved_searches"),
            listings=count("listings"),
            deals=count("deals"),
            size_bytes=path.stat().st_size,
        )


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _sidecars(path: Path) -> list[Path]:
    """The files SQLite may keep beside a database."""
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
