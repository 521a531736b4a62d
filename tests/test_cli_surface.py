"""The command line as a user meets it: quick to start, readable help, one-line errors."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer

from vinyl_detective.cli import app

Cli = Callable[..., tuple[int, str]]

# What the daemon needs only for some setups (the API, Apprise channels, a RabbitMQ
# broker, a schema to migrate): a quick command and a plain daemon never load them.
OPTIONAL_LIBRARIES = {"fastapi", "starlette", "uvicorn", "apprise", "aio_pika", "alembic"}
# What nothing here needs, but libraries pull in (a Raspberry Pi's memory): pydantic (typer
# 0.29 coerces options through it), httpx's own command-line client (click, pygments).
UNUSED_LIBRARIES = {"pydantic", "click", "pygments"}

_LOADED = """
import sys
from vinyl_detective.cli import main
sys.argv = ["vinyl-detective", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
import json
loaded = {name.split(".")[0] for name, module in sys.modules.items() if module is not None}
print(json.dumps(sorted(loaded)), file=sys.__stderr__)
"""


def _libraries_loaded_by(database: str, *args: str) -> set[str]:
    """Run the console script in a fresh interpreter; the top-level packages it imported."""
    done = subprocess.run(  # noqa: S603 (our own interpreter, script and arguments)
        [sys.executable, "-c", _LOADED, *args],
        capture_output=True,
        text=True,
        env={"DATABASE_URL": database, "PATH": "/usr/bin:/bin"},
        check=True,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_and_status_start_without_the_heavy_libraries(cli: Cli, database: str) -> None:
    assert cli("search", "add", "blue note")[0] == 0  # a migrated database, as in real use
    on_help = _libraries_loaded_by(database, "--help")
    assert not on_help & (OPTIONAL_LIBRARIES | UNUSED_LIBRARIES | {"sqlalchemy", "httpx"})
    assert "telegram" not in on_help
    on_status = _libraries_loaded_by(database, "status")
    assert "sqlite3" in on_status  # it did read the database: with the standard library
    assert not on_status & (OPTIONAL_LIBRARIES | UNUSED_LIBRARIES | {"sqlalchemy", "httpx"})
    assert "telegram" not in on_status


def test_status_creates_a_new_database_and_says_the_daemon_has_not_run(cli: Cli) -> None:
    code, out = cli("status")
    assert code == 0, out
    assert "Daemon: has not run yet" in out
    code, out = cli("status")  # now at the newest schema: read without SQLAlchemy, the same
    assert code == 0, out
    assert "Daemon: has not run yet" in out


def test_status_on_a_file_that_is_no_database_is_one_line(
    cli: Cli, database: str, tmp_path: Path
) -> None:
    (tmp_path / "vd.db").write_bytes(b"not a database, but a file of the same name" * 100)
    code, out = cli("status")
    assert code == 1
    assert out.count("\n") == 1, out
    assert "Cannot use the database: file is not a database (check DATABASE_URL" in out


def test_a_telegram_only_daemon_does_not_load_the_optional_libraries() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, json, vinyl_detective.daemon; "
            "print(json.dumps(sorted(n for n, m in sys.modules.items() if m is not None)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = set(json.loads(done.stdout))
    loaded = {name.split(".")[0] for name in modules}
    assert {"telegram", "httpx", "sqlalchemy"} <= loaded
    assert not loaded & (OPTIONAL_LIBRARIES | UNUSED_LIBRARIES)
    assert "sqlalchemy.dialects.postgresql" not in modules  # a SQLite install never needs it


def _commands(group: typer.Typer) -> Iterator[tuple[str, object]]:
    root = typer.main.get_command(group)

    def walk(command: object, path: str) -> Iterator[tuple[str, object]]:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}".strip())

    yield from walk(root, "")


def test_every_argument_and_option_says_what_it_is_for() -> None:
    missing = [
        f"{path or 'vinyl-detective'} {param.name}"
        for path, command in _commands(app)
        for param in getattr(command, "params", [])
        if not (getattr(param, "help", None) or "").strip()
    ]
    assert missing == []


def test_help_shows_flags_as_flags_and_examples_as_written(cli: Cli) -> None:
    code, shown = cli("run", "--help")
    assert code == 0
    assert "<bool>" not in shown
    assert re.search(r"^  --once +Run every due search once", shown, re.MULTILINE)
    assert "  vinyl-detective run --once" in shown  # an example line, not re-wrapped
    code, shown = cli("search", "schedule", "--help")
    assert "--own-query / --firehose  Run its own eBay query" in shown


def test_every_help_text_wraps_cleanly_in_80_columns_and_quotes_item_ids(cli: Cli) -> None:
    for path, _command in _commands(app):
        code, shown = cli(*path.split(), "--help")
        assert code == 0, path
        for line in shown.splitlines():
            assert len(line) <= 80, f"{path}: {line!r}"
            assert not re.search(r"[a-z]-$", line), f"{path}: a word cut at its hyphen: {line!r}"
            if line.startswith("  "):  # a command's summary, cut short when too long
                assert not line.endswith("..."), f"{path}: {line!r}"
            # An eBay item id (v1|…|0) unquoted would be a shell pipe.
            assert not re.search(r"(?<!')v1\|", line), f"{path}: {line!r}"


def test_a_usage_error_is_one_line_naming_the_help(cli: Cli) -> None:
    code, shown = cli("run", "--onse")
    assert code == 2
    assert shown.strip().count("\n") == 0
    assert "No such option: --onse" in shown
    assert "vinyl-detective run --help" in shown
    code, shown = cli("search", "pause", "three")
    assert code == 2
    assert shown.strip().count("\n") == 0
    assert "'ID'" in shown


def test_an_unknown_deal_state_is_one_line(cli: Cli) -> None:
    code, shown = cli("deals", "--state", "flipped")
    assert code == 1
    assert shown.strip() == (
        "'flipped' is not a state; one of: FOUND, MESSAGING, NEGOTIATING, PURCHASED, "
        "RECEIVED, LISTED, SOLD, CANCELLED"
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_fakes_on_a_busy_port_say_so_in_one_line(cli: Cli, busy_port: int) -> None:
    code, shown = cli("fakes", "--port", str(busy_port))
    assert code == 1
    assert shown.strip() == (
        f"cannot serve on 127.0.0.1:{busy_port} (Address already in use): "
        "choose another port, or 0 for any free one"
    )


def test_run_with_a_busy_api_port_stops_before_any_work(
    cli: Cli, busy_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Live-looking keys for services that are not there: the port is checked first.
    for name, value in {
        "DISCOGS_TOKEN": "discogs-token",
        "EBAY_APP_ID": "app-id",
        "EBAY_CERT_ID": "cert-id",
        "TELEGRAM_TOKEN": "123456:TOKEN",
        "TELEGRAM_ALLOWED_CHAT_IDS": "42",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setenv(name, value)
    code, shown = cli("run", "--api-port", str(busy_port))
    assert code == 1
    assert shown.strip().splitlines()[-1] == (
        f"cannot serve the admin API on 127.0.0.1:{busy_port} (Address already in use): "
        "choose another port"
    )
    assert "Traceback" not in shown
