"""A small key/value store for settings the user changes at run time (global rule, ...)."""

from __future__ import annotations

import sqlalchemy as sa

from vinyl_detective.storage.db import insert_if_absent
from vinyl_detective.storage.schema import kv


def get_value(conn: sa.Connection, key: str) -> str | None:
    return conn.execute(sa.select(kv.c.value).where(kv.c.key == key)).scalar_one_or_none()


def set_value(conn: sa.Connection, key: str, value: str | None) -> None:
    """Set (or with None, remove) a value; safe when two workers set the same key."""
    if value is None:
        conn.execute(kv.delete().where(kv.c.key == key))
    elif not insert_if_absent(conn, kv, {"key": key, "value": value}, ["key"]):
        conn.execute(kv.update().where(kv.c.key == key).values(value=value))
