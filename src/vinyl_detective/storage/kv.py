"""A small key/value store for settings the user changes at run time (global rule, ...)."""

from __future__ import annotations

import sqlalchemy as sa

from vinyl_detective.storage.schema import kv


def get_value(conn: sa.Connection, key: str) -> str | None:
    return conn.execute(sa.select(kv.c.value).where(kv.c.key == key)).scalar_one_or_none()


def set_value(conn: sa.Connection, key: str, value: str | None) -> None:
    conn.execute(kv.delete().where(kv.c.key == key))
    if value is not None:
        conn.execute(kv.insert().values(key=key, value=value))
