"""The database is created and migrated by itself, with WAL and a working FTS5 index."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.storage import fulltext
from vinyl_detective.storage.db import (
    MIGRATIONS_DIR,
    create_db_engine,
    current_revision,
    head_revision,
    migrate,
    open_database,
)
from vinyl_detective.storage.schema import metadata, releases


def test_new_database_has_every_table_of_the_schema(engine: Engine) -> None:
    names = set(sa.inspect(engine).get_table_names())
    assert set(metadata.tables) <= names
    assert "releases_fts" in names


def test_migrated_columns_match_the_schema_definition(engine: Engine) -> None:
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        actual = {c["name"] for c in inspector.get_columns(table.name)}
        assert actual == set(table.columns.keys()), table.name


def test_sqlite_runs_in_wal_mode_with_foreign_keys(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migrating_twice_is_harmless(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert version is not None


def test_fulltext_index_follows_inserts_updates_and_deletes(engine: Engine) -> None:
    stamp = datetime(2026, 11, 22, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            releases.insert(),
            [
                {
                    "id": 1,
                    "artist": "Art Blakey",
                    "title": "Moanin'",
                    "catalog_no": "BLP 4003",
                    "updated_at": stamp,
                },
                {
                    "id": 2,
                    "artist": "Miles Davis",
                    "title": "Kind of Blue",
                    "catalog_no": None,
                    "updated_at": stamp,
                },
            ],
        )
    with engine.begin() as conn:
        assert fulltext.candidate_release_ids(conn, ["blakey"], 10) == [1]
        assert fulltext.candidate_release_ids(conn, ["4003"], 10) == [1]
        conn.execute(releases.update().where(releases.c.id == 2).values(title="Milestones"))
        assert fulltext.candidate_release_ids(conn, ["kind"], 10) == []
        assert fulltext.candidate_release_ids(conn, ["milestones"], 10) == [2]
        conn.execute(releases.delete().where(releases.c.id == 1))
        assert fulltext.candidate_release_ids(conn, ["blakey"], 10) == []


def test_fulltext_query_survives_quotes_and_operators(engine: Engine) -> None:
    with engine.begin() as conn:
        assert fulltext.candidate_release_ids(conn, ['"', "AND", "NEAR(", "*"], 5) == []


def test_database_file_is_created_in_missing_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'vd.db'}"
    engine = open_database(url)
    engine.dispose()
    assert (tmp_path / "deep" / "er" / "vd.db").exists()


def test_head_revision_read_from_the_file_names_is_alembics_head() -> None:
    """open_database skips Alembic when the database is at head_revision(): the two must
    agree, or a new migration would never run. Name migrations NNNN_what.py."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    assert scripts.get_heads() == [head_revision()]
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_"), script.path


def test_a_database_behind_the_newest_revision_is_migrated_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vd.db'}"
    engine = create_db_engine(url)
    migrate(engine, "0007")
    engine.dispose()
    engine = open_database(url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
