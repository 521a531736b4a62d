"""A throw-away PostgreSQL database for the tests that need the real server.

`temporary_database()` creates a database with a unique name on the server at
VD_TEST_POSTGRES_URL (default: the local server, user postgres), yields its URL, and
drops it afterwards, so parallel runs never share or collide. `require_postgres()` skips
the calling test when the server is unreachable — or fails it when CI is set, where the
server is part of the machine and its absence is a broken setup, not a reason to pass.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get(
    "VD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PREFIX = "vd_test"


def _admin_engine() -> sa.Engine:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    return sa.create_engine(
        ADMIN_URL,
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
        connect_args={"connect_timeout": 3},
    )


def unreachable_reason() -> str | None:
    """None when the server answers; otherwise why it does not."""
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure to connect means: no server for these tests
        return f"PostgreSQL at {make_url(ADMIN_URL).render_as_string()} is unreachable: {exc}"
    finally:
        engine.dispose()
    return None


def require_postgres() -> None:
    """Skip (locally) or fail (CI) when the PostgreSQL server cannot be reached."""
    reason = unreachable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the server must be running)", pytrace=False)
    pytest.skip(reason)


def unique_name() -> str:
    return f"{PREFIX}_{os.getpid()}_{uuid.uuid4().hex[:10]}"


@contextmanager
def temporary_database() -> Iterator[str]:
    """A new, empty database; yields its SQLAlchemy URL and drops it on the way out."""
    name = unique_name()
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                # FORCE ends sessions a failed test may have left open (PostgreSQL 13+).
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
