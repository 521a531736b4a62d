"""The `vinyl-detective` command itself: the Typer app and its groups, and `main`, which
turns every failure into one line saying what to fix.
"""

from __future__ import annotations

import signal
import sys
import threading

import typer

from vinyl_detective.cli.common import err, say_error
from vinyl_detective.errors import VinylDetectiveError

app = typer.Typer(
    name="vinyl-detective",
    help="Finds underpriced records on eBay by pricing each listing against Discogs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
search_app = typer.Typer(help="Manage saved searches.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(search_app, name="search")
rules_app = typer.Typer(
    help="Watch rules: check them, and the global rule.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(rules_app, name="rules")


def main() -> None:
    """The console script: every failure ends in one line saying what to fix (a config
    problem: one line per variable), never a traceback."""
    previous = signal.getsignal(signal.SIGTERM)
    try:
        _stop_cleanly_on_sigterm()
        # Not standalone: typer returns a command's exit code and raises usage errors
        # here instead of printing them as a usage block.
        code = app(standalone_mode=False)
    except StoppedBeforeStart:
        err.print("Stopped.")
        code = 0
    except KeyboardInterrupt:
        err.print("Interrupted.")
        code = 130
    except typer.Abort:
        err.print("Aborted.")
        code = 1
    except typer.TyperException as exc:  # a usage error: unknown option, missing argument…
        _usage_error(exc)
        code = exc.exit_code
    except VinylDetectiveError as exc:
        say_error(str(exc))
        code = 1
    except OSError as exc:  # a busy port, an unreadable file: the system says why
        say_error(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        code = 1
    except Exception as exc:
        reason = _database_problem(exc)
        if reason is None:
            raise
        say_error(f"Cannot use the database: {reason} (check DATABASE_URL; see .env.example)")
        code = 1
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)  # as it was (main may be called in-process)
    raise SystemExit(code if isinstance(code, int) else 0)


class StoppedBeforeStart(BaseException):
    """SIGTERM before a command set its own handling (the daemon does, once started)."""


def _stop_cleanly_on_sigterm() -> None:
    """Until a command sets its own (run_until_signalled), SIGTERM ends it cleanly, exit
    0, instead of killing it mid-start (a `systemctl stop` while the daemon loads)."""

    def stop(signum: int, frame: object) -> None:
        raise StoppedBeforeStart

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def _database_problem(exc: Exception) -> str | None:
    """What went wrong with the database, if `exc` is a database error: SQLAlchemy's, or
    sqlite3's (`status` reads SQLite without SQLAlchemy)."""
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(exc, sqlite3.Error):
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "sqlalchemy" not in sys.modules:  # nothing failed in SQLAlchemy, then
        return None
    from sqlalchemy import exc as sa_exc

    if not isinstance(exc, sa_exc.SQLAlchemyError):
        return None
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _usage_error(exc: typer.TyperException) -> None:
    message = exc.format_message()
    if "\n" in message:  # a group called with no command: its help is the message
        err.print(message, markup=False, highlight=False)
        return
    command = getattr(getattr(exc, "ctx", None), "command_path", None) or app.info.name
    say_error(f"{message.rstrip('.')} (see {command} --help)")
