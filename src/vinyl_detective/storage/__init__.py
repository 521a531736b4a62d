"""Persistence: the schema, its migrations, and repositories over SQLAlchemy Core.

`schema.py` declares the tables, `migrations/` carries Alembic's history of them (SQLite
and PostgreSQL), `db.py` opens an engine. One module per aggregate (catalog, listings,
alerts, deals, searches, job runs, backfill checkpoints, search schedules, firehose
stream state, leases, ...) holds plain functions that take a connection; `catalog_lookup.py`
is the matcher's view of the catalog, its fuzzy prefilter in `sqlite_words.py` (FTS5),
`postgres_words.py` (migration 0012's word lists) and `fulltext.py` (tsvector, and the
portable fallback).

May import: config, domain and the base modules. Imported by every layer above it.
"""
