"""PostgreSQL: every release's words in a table of their own, ordered like FTS5's doclists.

SQLite's matcher reads FTS5 doclists: the releases holding a word, in id order, read only
as far as needed (the first 16 releases holding two words, the size of a word up to 300).
The tsvector of 0006 cannot do that: GIN hands over every release holding the words, in
heap order, before the first one can be looked at — tens of thousands for a common word.

`release_words` holds one row per (word, release): the words of artist, title and catalog
no. folded by `vinyl_detective_words` (0006: the SQL twin of the matcher's
normalize_text), with the release's artist + title word count beside them (the crowd's
"shortest names first", as FTS5's docsize table gives it). Its primary key (word,
release_id) is the doclist: an index-only scan reads a word's releases in id order and
stops at the LIMIT. Statement-level triggers on `releases` keep it in step with inserts,
updates of the three columns, deletes and TRUNCATE (a COPY of a million releases is one
INSERT … SELECT). It also indexes identifiers for prefix lookups (LIKE 'BLP40%'), which
PostgreSQL's default collations cannot answer from the primary key. SQLite has FTS5; this
revision does nothing there.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"

# The words and the name's word count of the releases in the transition table `rows`.
_WORDS_OF = (
    "SELECT DISTINCT w.word, r.id, "
    "coalesce(array_length(string_to_array(vinyl_detective_words(r.artist || ' ' || r.title), "
    "' '), 1), 0) "
    "FROM {rows} r, regexp_split_to_table(vinyl_detective_words("
    "concat_ws(' ', r.artist, r.title, r.catalog_no)), ' ') AS w(word) WHERE w.word <> ''"
)

_RENAMED = "(n.artist, n.title, n.catalog_no) IS DISTINCT FROM (o.artist, o.title, o.catalog_no)"

_FUNCTIONS = {
    "vinyl_detective_words_inserted": (
        f"INSERT INTO release_words (word, release_id, name_words) "
        f"{_WORDS_OF.format(rows='new_rows')};"
    ),
    "vinyl_detective_words_deleted": (
        "DELETE FROM release_words w USING old_rows o WHERE w.release_id = o.id;"
    ),
    # An update rewrites the words of the releases whose artist, title or catalog no.
    # changed (a price update changes none: nothing to do).
    "vinyl_detective_words_updated": (
        "DELETE FROM release_words w USING old_rows o LEFT JOIN new_rows n ON n.id = o.id "
        f"WHERE w.release_id = o.id AND (n.id IS NULL OR {_RENAMED}); "
        "INSERT INTO release_words (word, release_id, name_words) "
        + _WORDS_OF.format(
            rows=f"(SELECT n.* FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id "
            f"WHERE o.id IS NULL OR {_RENAMED})"
        )
        + ";"
    ),
    "vinyl_detective_words_truncated": "TRUNCATE release_words;",
}
_TRIGGERS = (
    ("release_words_insert", "INSERT", "REFERENCING NEW TABLE AS new_rows", "inserted"),
    ("release_words_delete", "DELETE", "REFERENCING OLD TABLE AS old_rows", "deleted"),
    (
        "release_words_update",
        "UPDATE",
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "updated",
    ),
    ("release_words_truncate", "TRUNCATE", "", "truncated"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE release_words (word text NOT NULL, release_id bigint NOT NULL, "
        "name_words smallint NOT NULL, "
        "CONSTRAINT pk_release_words PRIMARY KEY (word, release_id) INCLUDE (name_words))"
    )
    for name, body in _FUNCTIONS.items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$body$ BEGIN {body} RETURN NULL; END $body$"
        )
    for trigger, event, referencing, function in _TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER {event} ON releases {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION vinyl_detective_words_{function}()"
        )
    op.execute(
        "INSERT INTO release_words (word, release_id, name_words) "
        + _WORDS_OF.format(rows="releases")
    )
    # Identifiers by prefix (`value LIKE 'BLP40%'`, a title cut at 80 characters): the
    # primary key's order follows the database's collation, which LIKE cannot use unless
    # it is "C"; text_pattern_ops orders by bytes.
    op.execute(
        "CREATE INDEX ix_release_identifiers_prefix ON release_identifiers "
        "(kind, value text_pattern_ops)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for trigger, _event, _referencing, _function in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON releases")
    for name in _FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.execute("DROP TABLE IF EXISTS release_words")
    op.execute("DROP INDEX IF EXISTS ix_release_identifiers_prefix")
