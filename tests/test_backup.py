"""`backup` and `restore` as a user runs them, on real SQLite files (and PostgreSQL's advice)."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vinyl_detective.storage import kv, searches
from vinyl_detective.storage.db import create_db_engine, migrate, open_database

Cli = Callable[..., tuple[int, str]]


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data" / "vd.db"
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("COLUMNS", "200")
    return path


@pytest.fixture
def cli(db_file: Path, run_cli: Cli) -> Cli:
    return run_cli


def _daemon_started(db_file: Path, owner: str) -> None:
    """What a running daemon keeps in its database: when it started, and its process."""
    engine = open_database(f"sqlite:///{db_file}")
    with engine.begin() as conn:
        kv.set_value(conn, "daemon:started_at", datetime.now(UTC).isoformat())
        kv.set_value(conn, "daemon:owner", owner)
    engine.dispose()


def _queries(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT query FROM saved_searches ORDER BY id")]


def test_a_backup_restores_what_was_saved_and_keeps_the_database_it_replaces(
    cli: Cli, db_file: Path, tmp_path: Path
) -> None:
    cli("search", "add", "blue note")
    cli("search", "add", "miles davis")
    code, output = cli("backup", "vd-backup.db")
    assert code == 0, output
    assert "Backed up to vd-backup.db: 2 searches, 0 listings, 0 deals" in output
    backup = tmp_path / "vd-backup.db"
    assert not (tmp_path / "vd-backup.db-wal").exists()  # one self-contained file

    cli("search", "remove", "1")
    cli("search", "add", "coltrane")
    code, output = cli("restore", "vd-backup.db")

    assert code == 0, output
    assert "Restored vd-backup.db: 2 searches" in output
    assert "kept as" in output
    assert _queries(db_file) == ["blue note", "miles davis"]
    (kept,) = db_file.parent.glob("vd.db.before-restore-*")
    assert _queries(kept) == ["miles davis", "coltrane"]
    assert "miles davis" in cli("search", "list")[1]
    assert backup.stat().st_size > 0

    code, output = cli("backup", "vd-backup.db")
    assert code == 1
    assert "vd-backup.db already exists: choose another name, or --force" in output
    assert cli("backup", "vd-backup.db", "--force")[0] == 0


def test_a_backup_taken_while_another_process_writes_is_one_consistent_snapshot(
    cli: Cli, db_file: Path, tmp_path: Path
) -> None:
    cli("search", "add", "blue note")  # creates the database
    engine = create_db_engine(f"sqlite:///{db_file}")
    stop = threading.Event()

    def write() -> None:  # each transaction writes two rows: a snapshot has both or neither
        n = 0
        while not stop.is_set():
            with engine.begin() as conn:
                kv.set_value(conn, f"a-{n}", "x" * 2000)
                kv.set_value(conn, f"b-{n}", "y" * 2000)
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        outputs = [cli("backup", f"snap-{i}.db") for i in range(3)]
    finally:
        stop.set()
        writer.join()
        engine.dispose()
    assert all(code == 0 for code, _ in outputs), outputs
    for i in range(3):
        with sqlite3.connect(tmp_path / f"snap-{i}.db") as conn:
            a = conn.execute("SELECT COUNT(*) FROM kv WHERE key LIKE 'a-%'").fetchone()[0]
            b = conn.execute("SELECT COUNT(*) FROM kv WHERE key LIKE 'b-%'").fetchone()[0]
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert a == b


def test_restore_refuses_while_a_daemon_process_uses_the_database(cli: Cli, db_file: Path) -> None:
    cli("search", "add", "blue note")
    daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _daemon_started(db_file, f"{socket.gethostname()}:{daemon.pid}")
        assert cli("backup", "vd-backup.db")[0] == 0  # taken while it runs
        code, output = cli("restore", "vd-backup.db")
        assert code == 1
        assert f"A Vinyl Detective daemon is using {db_file}" in output
        assert f"pid {daemon.pid}" in output
        assert "stop it first" in output
        assert "--force" in output
    finally:
        daemon.kill()
        daemon.wait()
    # The process is gone (a crash): the restore goes ahead, and the restored database
    # does not claim the backup's daemon runs.
    code, output = cli("restore", "vd-backup.db")
    assert code == 0, output
    assert "Daemon: stopped" in cli("status")[1]


def test_restore_force_restores_even_though_a_daemon_seems_alive(cli: Cli, db_file: Path) -> None:
    cli("search", "add", "blue note")
    cli("backup", "vd-backup.db")
    _daemon_started(db_file, "elsewhere:123")  # a daemon on another host, just started
    code, output = cli("restore", "vd-backup.db")
    assert code == 1
    assert "on elsewhere" in output
    assert cli("restore", "vd-backup.db", "--force")[0] == 0


def test_a_backup_from_an_older_version_is_migrated_and_a_newer_one_refused(
    cli: Cli, db_file: Path, tmp_path: Path
) -> None:
    old = tmp_path / "old.db"
    engine = create_db_engine(f"sqlite:///{old}")
    migrate(engine, "0004")  # as an older Vinyl Detective left it
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO saved_searches (query, marketplace, min_deal_score, poll_minutes, "
            "active, created_at) VALUES ('blue note', 'EBAY_US', 0.25, 30, 1, '2026-01-01')"
        )
    engine.dispose()

    code, output = cli("restore", "old.db")

    assert code == 0, output
    assert "schema 0004" in output
    assert "Migrated from schema 0004 to" in output
    assert _queries(db_file) == ["blue note"]
    engine = open_database(f"sqlite:///{db_file}")
    with engine.connect() as conn:
        assert [s.query for s in searches.list_searches(conn)] == ["blue note"]
    engine.dispose()

    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999'")
    code, output = cli("restore", "old.db")
    assert code == 1
    assert "made by a newer Vinyl Detective (schema 0999" in output
    assert "upgrade this installation first" in output


def test_restore_refuses_files_that_are_not_vinyl_detective_backups(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with sqlite3.connect(tmp_path / "other.db") as conn:
        conn.execute("CREATE TABLE things (a)")
    assert cli("restore", "notes.txt") == (
        1,
        "notes.txt is not an SQLite database: give a file made by vinyl-detective backup.\n",
    )
    code, output = cli("restore", "other.db")
    assert code == 1
    assert "not a Vinyl Detective one" in output
    code, output = cli("restore", "missing.db")
    assert code == 1
    assert "missing.db does not exist" in output
    assert "Traceback" not in output


def test_with_postgresql_it_says_to_use_pg_dump_without_the_password(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://vd:s3cret-pw@db.example.com/vd")
    code, output = cli("backup", "vd.dump")
    assert code == 1
    assert "pg_dump --format=custom --file=FILE 'postgresql://***@db.example.com/vd'" in output
    code, output = cli("restore", "vd.dump")
    assert code == 1
    assert "pg_restore" in output
    assert "s3cret-pw" not in output
