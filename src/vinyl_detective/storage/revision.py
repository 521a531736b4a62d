"""The schema's newest revision, read from the migration files' names.

No SQLAlchemy or Alembic is needed to read it: `open_database` compares it with the
database's before deciding to migrate, and the quick `status` before reading SQLite with
the standard library's sqlite3.
"""

from __future__ import annotations

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Each migration is versions/NNNN_what.py with `revision = "NNNN"`, each on the one before
# (tests/test_storage_schema.py checks it), so the newest is the highest number.
_REVISION_FILES = "[0-9][0-9][0-9][0-9]_*.py"


def head_revision() -> str:
    """The newest migration's revision, read from the file names (no Alembic needed)."""
    return max(path.name[:4] for path in (MIGRATIONS_DIR / "versions").glob(_REVISION_FILES))
