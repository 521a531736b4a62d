"""The full-text index during a bulk import (SQLite): its triggers dropped for the load,
the index rebuilt once at the end and the triggers recreated exactly as the first
migration made them; `ensure_fulltext` repairs the index if a killed import left the
triggers dropped (safe to call at every start).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.storage.fulltext import FTS5_SQLITE_DDL, FTS5_TRIGGER_NAMES, rebuild

log = logging.getLogger(__name__)


def _triggers_present(conn: sa.Connection) -> bool:
    names = {
        row[0]
        for row in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'releases'"
        )
    }
    return all(name in names for name in FTS5_TRIGGER_NAMES)


def drop_triggers(conn: sa.Connection) -> None:
    for name in FTS5_TRIGGER_NAMES:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


def restore_fulltext(conn: sa.Connection) -> None:
    """Rebuild the index from `releases` and recreate the triggers as migration 0001 did."""
    drop_triggers(conn)
    rebuild(conn)
    for statement in FTS5_SQLITE_DDL:
        if statement.startswith("CREATE TRIGGER"):
            conn.exec_driver_sql(statement)


def ensure_fulltext(engine: Engine) -> bool:
    """Repair the full-text index if a killed import left its triggers dropped.

    Returns True when a repair was needed. A no-op on databases other than SQLite.
    """
    if engine.dialect.name != "sqlite":
        return False
    with engine.begin() as conn:
        if _triggers_present(conn):
            return False
        log.warning("full-text triggers missing (an import was interrupted): rebuilding the index")
        restore_fulltext(conn)
    return True


__all__ = ["drop_triggers", "ensure_fulltext", "restore_fulltext"]
