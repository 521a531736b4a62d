"""Alembic environment: runs on the connection handed over by storage/db.py:migrate."""

from __future__ import annotations

from alembic import context

from vinyl_detective.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through `alembic` CLI without our helper
    raise RuntimeError("run migrations through vinyl_detective.storage.db.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
