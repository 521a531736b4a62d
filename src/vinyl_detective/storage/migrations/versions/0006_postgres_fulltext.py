"""PostgreSQL full text: a generated tsvector over artist, title and catalog no., GIN-indexed.

SQLite has had its FTS5 table since 0001; this revision does nothing there.

On PostgreSQL, `vinyl_detective_words(text)` folds text the way the matcher does
(domain/title_noise.normalize_text: NFKD without accents, lower case, "&" as "and",
apostrophes dropped, everything but [0-9a-z] a separator), so "Moanin'" is indexed as
`moanin` and "Björk" as `bjork`, exactly the words the matcher asks for. The column
`releases.search_words` is GENERATED from it (always in step with inserts, updates and
bulk loads; no trigger to forget) and a GIN index answers `@@` queries. Only built-in
functions are used: no extension is needed.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

# Combining marks (Unicode category Mn) that NFKD splits off accented letters.
_MARKS = r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
_APOSTROPHES = r"['’‘`´]"


def _folding_sql(unicode: bool) -> str:
    """The body of vinyl_detective_words(t): the SQL twin of normalize_text."""
    if unicode:
        text = f"replace(regexp_replace(lower(normalize(t, NFKD)), '{_MARKS}', '', 'g'), 'ß', 'ss')"
        apostrophes = _APOSTROPHES.replace("'", "''")
    else:  # no normalize() before PostgreSQL 13 or outside UTF8: ASCII folding only
        text = "lower(t)"
        apostrophes = "['`]".replace("'", "''")
    text = f"replace({text}, '&', ' and ')"
    text = f"regexp_replace({text}, '{apostrophes}', '', 'g')"
    return f"btrim(regexp_replace({text}, '[^0-9a-z]+', ' ', 'g'))"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    encoding = str(bind.execute(sa.text("SHOW server_encoding")).scalar_one())
    version = int(bind.execute(sa.text("SHOW server_version_num")).scalar_one())
    body = _folding_sql(encoding.upper() in ("UTF8", "UTF-8") and version >= 130000)
    op.execute(
        "CREATE OR REPLACE FUNCTION vinyl_detective_words(t text) RETURNS text "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
        f"AS $fold$ SELECT {body} $fold$"
    )
    op.execute(
        "ALTER TABLE releases ADD COLUMN search_words tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('simple'::regconfig, "
        "coalesce(vinyl_detective_words(artist || ' ' || title), '')), 'A') || "
        "setweight(to_tsvector('simple'::regconfig, "
        "coalesce(vinyl_detective_words(catalog_no), '')), 'B')"
        ") STORED"
    )
    op.execute("CREATE INDEX ix_releases_search_words ON releases USING gin (search_words)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_releases_search_words")
    op.execute("ALTER TABLE releases DROP COLUMN IF EXISTS search_words")
    op.execute("DROP FUNCTION IF EXISTS vinyl_detective_words(text)")
