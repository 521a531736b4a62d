"""Persistence: the schema, its migrations, and repositories over SQLAlchemy Core.

`schema.py` declares the tables, `migrations/` carries Alembic's history of them (SQLite
and PostgreSQL), `db.py` opens an engine. One module per aggregate (catalog, listings,
alerts, deals, searches, job runs, backfill checkpoints, search schedules, firehose
stream state, leases, ...) holds plain functions that take a connection; `catalog.py`
and `fulltext.py` are the matcher's catalog lookups (FTS5 on SQLite, tsvector on
PostgreSQL).

May import: config, domain and the base modules. Imported by every layer above it.
"""
