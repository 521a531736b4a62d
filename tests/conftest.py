"""Shared fixtures: real SQLite databases in tmp_path, a fixed clock, the console script."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from vinyl_detective.storage.db import open_database

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """A test that runs a CLI command (which sets up logging) leaves no trace in others."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(levels.get(name, logging.NOTSET))


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'vd.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_database(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str]]:
    """Run the console script as a user would: its exit code and all it printed."""
    from vinyl_detective.cli import main

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["vinyl-detective", *args])
        with pytest.raises(SystemExit) as ended:
            main()
        printed = capsys.readouterr()
        return int(ended.value.code or 0), printed.out + printed.err

    return run


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/vd.db"
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "160")
    return url


@pytest.fixture
def cli(database: str, run_cli: Callable[..., tuple[int, str]]) -> Callable[..., tuple[int, str]]:
    """The console script (conftest's run_cli) on this test's database."""
    return run_cli
