"""`backup` and `restore` of the SQLite database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vinyl_detective.cli.common import cli_settings, console
from vinyl_detective.cli.root import app

if TYPE_CHECKING:
    from vinyl_detective.storage.backup import BackupSummary


def _backup_line(what: str, summary: BackupSummary) -> str:
    return (
        f"{what} {summary.path}: {summary.searches} searches, {summary.listings:,} listings, "
        f"{summary.deals} deals, schema {summary.revision}, "
        f"{summary.size_bytes / 1_000_000:.1f} MB."
    )


@app.command()
def backup(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="Where to write the backup, e.g. vd-backup.db."),
    ],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Back up the SQLite database, safely while the daemon runs.

    A consistent snapshot, through SQLite's online backup API, in a single file. With
    PostgreSQL it says how to use pg_dump instead.

    \b
    Example:
      vinyl-detective backup backups/vd-$(date +%F).db
    """
    from vinyl_detective.storage.backup import backup_sqlite

    settings = cli_settings()
    with console.status("Backing up the database…"):
        summary = backup_sqlite(settings.database_url, file, overwrite=force)
    console.print(_backup_line("Backed up to", summary), highlight=False)


@app.command()
def restore(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A file made by vinyl-detective backup.")
    ],
    force: Annotated[
        bool,
        typer.Option("--force", help="Restore even though a daemon seems to use the database."),
    ] = False,
) -> None:
    """Replace the database with a backup (migrated if older).

    It refuses while a daemon uses the database and checks FILE is a Vinyl Detective
    backup. The database it replaces is kept beside it, as NAME.before-restore-TIME.
    With PostgreSQL it says how to use pg_restore instead.

    \b
    Example:
      vinyl-detective restore backups/vd-2026-12-01.db
    """
    from vinyl_detective.clock import utcnow
    from vinyl_detective.storage.backup import restore_sqlite

    settings = cli_settings()
    with console.status("Restoring the database…"):
        result = restore_sqlite(file, settings.database_url, utcnow(), force=force)
    console.print(_backup_line("Restored", result.backup), highlight=False)
    if result.revision != result.backup.revision:
        console.print(f"Migrated from schema {result.backup.revision} to {result.revision}.")
    if result.kept_as is not None:
        console.print(f"The database it replaced is kept as {result.kept_as}.", highlight=False)
