"""Persistence: the schema, its migrations, and repositories over SQLAlchemy Core."""
