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
stops at the LIMIT. Triggers on `releases` keep it in step with inserts, updates of the
three columns, deletes and TRUNCATE; a future change to `vinyl_detective_words` must
rebuild it. This revision also indexes identifiers for prefix lookups (LIKE 'BLP40%'),
which PostgreSQL's default collations cannot answer from the primary key. SQLite has
FTS5; this revision does nothing there.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"

# The words of a release `r` (NEW or OLD in a trigger, a table alias otherwise) and its
# artist + title word count.
_WORDS = (
    "string_to_array(vinyl_detective_words(concat_ws(' ', {r}.artist, {r}.title, "
    "{r}.catalog_no)), ' ')"
)
_NAME_WORDS = (
    "coalesce(array_length(string_to_array(vinyl_detective_words({r}.artist || ' ' || "
    "{r}.title), ' '), 1), 0)"
)
_INSERT = "INSERT INTO release_words (word, release_id, name_words) "
_ADD_NEW = (
    _INSERT + "SELECT DISTINCT w, NEW.id, "
    f"{_NAME_WORDS.format(r='NEW')} FROM unnest({_WORDS.format(r='NEW')}) AS w WHERE w <> '';"
)
# A release's rows are found by their keys: the words of its old text (the folding is
# IMMUTABLE: the same text gives the same words).
_REMOVE_OLD = (
    "DELETE FROM release_words x WHERE x.release_id = OLD.id "
    f"AND x.word = ANY({_WORDS.format(r='OLD')});"
)
# Row-level: an executemany (the dump import) runs one statement per release, where a
# statement-level trigger with transition tables cost ~0.3 ms each.
_FUNCTIONS = {
    "vinyl_detective_words_added": _ADD_NEW,
    "vinyl_detective_words_removed": _REMOVE_OLD,
    "vinyl_detective_words_changed": f"{_REMOVE_OLD} {_ADD_NEW}",
    "vinyl_detective_words_truncated": "TRUNCATE release_words;",
}
_CHANGED = (
    "OLD.artist IS DISTINCT FROM NEW.artist OR OLD.title IS DISTINCT FROM NEW.title "
    "OR OLD.catalog_no IS DISTINCT FROM NEW.catalog_no"
)
# (name, event, FOR EACH ..., function)
_TRIGGERS = (
    ("release_words_insert", "INSERT", "ROW", "added"),
    ("release_words_delete", "DELETE", "ROW", "removed"),
    # A price update, or an import of the same names, does not even call the function.
    (
        "release_words_update",
        "UPDATE OF artist, title, catalog_no",
        f"ROW WHEN ({_CHANGED})",
        "changed",
    ),
    ("release_words_truncate", "TRUNCATE", "STATEMENT", "truncated"),
)
# The fuzzy prefilter's steps on the server (storage/postgres_words.py calls them): the
# same as SqliteWords.candidate_ids (storage/sqlite_words.py) takes on SQLite, in one
# round trip instead of one per step. vinyl_detective_holding reads a set of words'
# releases in id order (probed from the rarest word's list, or merged with the next
# rarest's); _conjunction picks the driving word and asks the tsvector's GIN index first
# when the words are all common; _candidates counts the words and looks them up pair by
# pair.
_SEARCH_FUNCTIONS = (
    """CREATE OR REPLACE FUNCTION vinyl_detective_holding(
    driver text, partner text, probed text[], some_of text[], lim integer)
RETURNS TABLE (release_id bigint, name_words smallint)
LANGUAGE plpgsql STABLE AS $fn$
#variable_conflict use_column
BEGIN
    IF partner IS NULL THEN
        RETURN QUERY SELECT h.release_id, h.name_words FROM (
            SELECT d.release_id, d.name_words FROM release_words d WHERE d.word = driver
            ORDER BY d.release_id OFFSET 0) h
        WHERE (cardinality(probed) = 0 OR (SELECT count(*) FROM release_words o
               WHERE o.word = ANY(probed) AND o.release_id = h.release_id) = cardinality(probed))
          AND (cardinality(some_of) = 0 OR (SELECT count(*) FROM release_words s
               WHERE s.word = ANY(some_of) AND s.release_id = h.release_id)
               >= cardinality(some_of) - 1)
        ORDER BY h.release_id LIMIT lim;
    ELSE
        RETURN QUERY SELECT h.release_id, h.name_words FROM (
            SELECT d.release_id, d.name_words FROM release_words d
            JOIN release_words p ON p.release_id = d.release_id AND p.word = partner
            WHERE d.word = driver ORDER BY d.release_id OFFSET 0) h
        WHERE (cardinality(probed) = 0 OR (SELECT count(*) FROM release_words o
               WHERE o.word = ANY(probed) AND o.release_id = h.release_id) = cardinality(probed))
          AND (cardinality(some_of) = 0 OR (SELECT count(*) FROM release_words s
               WHERE s.word = ANY(some_of) AND s.release_id = h.release_id)
               >= cardinality(some_of) - 1)
        ORDER BY h.release_id LIMIT lim;
    END IF;
END $fn$
    """,
    """CREATE OR REPLACE FUNCTION vinyl_detective_conjunction(
    holding text[], some_of text[], lim integer, ws text[], ns integer[], probe_cost integer,
    gin_cap integer)
RETURNS TABLE (release_id bigint, name_words smallint)
LANGUAGE plpgsql STABLE ROWS 16 AS $fn$
#variable_conflict use_column
DECLARE
    ordered text[];
    driver_n integer;
    partner_n integer;
    query tsquery;
    either tsquery;
    one tsquery;
    few bigint[];
BEGIN
    -- The rarest word drives; when even it is common, it is merged with the next rarest.
    SELECT array_agg(x.w ORDER BY ns[array_position(ws, x.w)], x.w COLLATE "C")
      INTO ordered FROM unnest(holding) AS x(w);
    driver_n := ns[array_position(ws, ordered[1])];
    partner_n := ns[array_position(ws, ordered[2])];
    IF cardinality(ordered) > 1 AND driver_n * probe_cost > driver_n + partner_n THEN
        -- Common words: the tsvector's GIN index intersects their whole lists at once;
        -- when fewer than gin_cap releases hold them all, those are all there is.
        query := plainto_tsquery('simple', array_to_string(holding, ' '));
        IF cardinality(some_of) > 1 THEN
            FOR i IN 1..cardinality(some_of) LOOP
                one := plainto_tsquery('simple', array_to_string(
                    array_remove(some_of, some_of[i]), ' '));
                either := CASE WHEN either IS NULL THEN one ELSE either || one END;
            END LOOP;
            query := query && either;
        END IF;
        few := ARRAY(SELECT r.id FROM releases r WHERE r.search_words @@ query LIMIT gin_cap);
        IF cardinality(few) < gin_cap THEN
            RETURN QUERY SELECT d.release_id, d.name_words FROM release_words d
                WHERE d.word = ordered[1] AND d.release_id = ANY(few)
                ORDER BY d.release_id LIMIT lim;
            RETURN;
        END IF;
        RETURN QUERY SELECT * FROM vinyl_detective_holding(
            ordered[1], ordered[2], ordered[3:], some_of, lim);
    ELSE
        RETURN QUERY SELECT * FROM vinyl_detective_holding(
            ordered[1], NULL, ordered[2:], some_of, lim);
    END IF;
END $fn$
    """,
    """CREATE OR REPLACE FUNCTION vinyl_detective_candidates(
    words text[], known_words text[], known_counts integer[], lim integer,
    common_word integer, common_ceiling integer, pair_words integer,
    common_partners integer, crowd_thirds integer, crowd_sample integer,
    fullest_drops integer, probe_cost integer, gin_cap integer)
RETURNS TABLE (release_id bigint, word text, frequency integer)
LANGUAGE plpgsql STABLE ROWS 16 AS $fn$
#variable_conflict use_column
DECLARE
    ws text[] := '{}';
    ns integer[] := '{}';
    w text;
    n integer;
    i integer;
    present text[];
    rare text[];
    common text[];
    pa text[] := '{}';
    pb text[] := '{}';
    pk bigint[] := '{}';
    found bigint[] := '{}';
    ids bigint[];
    fullest bigint[];
    tried bigint[];
    every boolean;
    crowded boolean := false;
    narrow boolean := false;
    wanted integer;
    third text;
    thirds integer;
    droppable text[];
    kept text[];
    named text[];
BEGIN
    -- How many releases hold each word: exact below common_word, else up to
    -- common_ceiling; common words are returned for the caller to remember.
    FOREACH w IN ARRAY words LOOP
        i := array_position(known_words, w);
        IF i IS NOT NULL THEN
            n := known_counts[i];
        ELSE
            SELECT count(*) INTO n FROM (SELECT 1 FROM release_words r WHERE r.word = w
                                         LIMIT common_word) c;
            IF n >= common_word THEN
                SELECT count(*) INTO n FROM (SELECT 1 FROM release_words r WHERE r.word = w
                                             LIMIT common_ceiling) c;
                release_id := NULL; word := w; frequency := n;
                RETURN NEXT;
            END IF;
        END IF;
        ws := ws || w;
        ns := ns || n;
    END LOOP;
    SELECT array_agg(x.w ORDER BY x.n, x.w COLLATE "C") INTO present
      FROM unnest(ws, ns) AS x(w, n) WHERE x.n > 0;
    present := coalesce(present, '{}');
    IF cardinality(present) <= 1 THEN
        -- One word: its releases with the shortest names first.
        RETURN QUERY SELECT r.release_id, NULL::text, NULL::integer FROM release_words r
            WHERE r.word = present[1] ORDER BY r.name_words, r.release_id LIMIT lim;
        RETURN;
    END IF;

    -- The pairs to look up, the most selective first (sqlite_words.word_pairs).
    SELECT coalesce(array_agg(x.w ORDER BY x.o), '{}') INTO rare FROM (
        SELECT p.w, p.o FROM unnest(present) WITH ORDINALITY AS p(w, o)
        WHERE ns[array_position(ws, p.w)] < common_word ORDER BY p.o LIMIT pair_words) x;
    SELECT coalesce(array_agg(x.w ORDER BY x.o), '{}') INTO common FROM (
        SELECT p.w, p.o FROM unnest(present) WITH ORDINALITY AS p(w, o)
        WHERE ns[array_position(ws, p.w)] >= common_word ORDER BY p.o
        LIMIT common_partners) x;
    IF cardinality(rare) < 2 AND cardinality(common) = 0 THEN
        rare := present[1:pair_words];
    END IF;
    IF cardinality(rare) = 0 THEN
        rare := present[1:3];
        common := '{}';
    END IF;
    FOR a IN 1..cardinality(rare) LOOP
        FOR b IN a + 1..cardinality(rare) LOOP
            pa := pa || rare[a];
            pb := pb || rare[b];
        END LOOP;
    END LOOP;
    FOR a IN 1..least(2, cardinality(rare)) LOOP
        FOREACH w IN ARRAY common LOOP
            pa := pa || rare[a];
            pb := pb || w;
        END LOOP;
    END LOOP;
    SELECT array_agg(x.a ORDER BY x.f, x.o), array_agg(x.b ORDER BY x.f, x.o) INTO pa, pb
      FROM (SELECT p.a, p.b, p.o, ns[array_position(ws, p.a)]::bigint
                   * ns[array_position(ws, p.b)] AS f
            FROM unnest(pa, pb) WITH ORDINALITY AS p(a, b, o)) x;

    FOR k IN 1..coalesce(cardinality(pa), 0) LOOP
        wanted := lim - cardinality(found);
        SELECT coalesce(array_agg(c.release_id ORDER BY c.release_id), '{}') INTO ids FROM (
            SELECT h.release_id FROM vinyl_detective_conjunction(
                ARRAY[pa[k], pb[k]], '{}', wanted + cardinality(found) + 1, ws, ns,
                probe_cost, gin_cap) h
            WHERE h.release_id <> ALL(found) ORDER BY h.release_id LIMIT wanted + 1) c;
        IF cardinality(ids) > wanted THEN
            IF NOT crowded THEN
                -- A crowd: first the releases holding the most of the words, the
                -- shortest names first (SqliteWords._fullest).
                crowded := true;
                SELECT coalesce(array_agg(s.release_id ORDER BY s.name_words, s.release_id),
                                '{}') INTO fullest
                  FROM (SELECT * FROM vinyl_detective_conjunction(
                      present, '{}', crowd_sample, ws, ns, probe_cost, gin_cap)
                      ORDER BY name_words, release_id LIMIT lim) s;
                every := cardinality(fullest) > 0;
                IF NOT every AND cardinality(present) >= 3 THEN
                    droppable := present[greatest(2, cardinality(present) - fullest_drops + 1):];
                    kept := present[1:cardinality(present) - cardinality(droppable)];
                    SELECT coalesce(array_agg(s.release_id ORDER BY s.name_words,
                                              s.release_id), '{}') INTO fullest
                      FROM (SELECT * FROM vinyl_detective_conjunction(
                          kept, droppable, crowd_sample, ws, ns, probe_cost, gin_cap)
                          ORDER BY name_words, release_id LIMIT lim) s;
                    IF cardinality(fullest) > 0 THEN
                        FOR d IN REVERSE cardinality(droppable)..2 LOOP
                            SELECT coalesce(array_agg(s.release_id ORDER BY s.name_words,
                                                      s.release_id), '{}') INTO tried
                              FROM (SELECT * FROM vinyl_detective_conjunction(
                                  array_remove(present, droppable[d]), '{}', crowd_sample,
                                  ws, ns, probe_cost, gin_cap)
                                  ORDER BY name_words, release_id LIMIT lim) s;
                            IF cardinality(tried) > 0 THEN
                                fullest := tried;
                                EXIT;
                            END IF;
                        END LOOP;
                    END IF;
                END IF;
                found := fullest || ARRAY(SELECT f FROM unnest(found) AS f
                                          WHERE f <> ALL(fullest));
                wanted := lim - cardinality(found);
                narrow := NOT every;
            END IF;
            thirds := 0;
            IF narrow THEN
                FOREACH third IN ARRAY present LOOP
                    CONTINUE WHEN third = pa[k] OR third = pb[k];
                    EXIT WHEN thirds >= crowd_thirds;
                    thirds := thirds + 1;
                    EXIT WHEN wanted <= 0;
                    found := found || ARRAY(
                        SELECT h.release_id FROM vinyl_detective_conjunction(
                            ARRAY[pa[k], pb[k], third], '{}', wanted + cardinality(found) + 1,
                            ws, ns, probe_cost, gin_cap) h
                        WHERE h.release_id <> ALL(found) ORDER BY h.release_id LIMIT wanted);
                    wanted := lim - cardinality(found);
                END LOOP;
            END IF;
            ids := ARRAY(SELECT x FROM unnest(ids) AS x WHERE x <> ALL(found));
        END IF;
        found := found || ARRAY(SELECT x FROM unnest(ids) WITH ORDINALITY AS u(x, o)
                                WHERE x <> ALL(found) ORDER BY o LIMIT greatest(wanted, 0));
        EXIT WHEN cardinality(found) >= lim;
    END LOOP;
    IF cardinality(found) = 0 THEN
        named := ARRAY(SELECT p FROM unnest(present) AS p WHERE p !~ '^[0-9]+$');
        IF cardinality(named) = 1 THEN
            -- A self-titled album: the shortest names holding its one name word.
            found := ARRAY(SELECT s.release_id FROM (SELECT * FROM vinyl_detective_conjunction(
                ARRAY[named[1]], '{}', crowd_sample, ws, ns, probe_cost, gin_cap)) s
                ORDER BY s.name_words, s.release_id LIMIT lim);
        END IF;
    END IF;
    RETURN QUERY SELECT f, NULL::text, NULL::integer
        FROM unnest(found[1:lim]) WITH ORDINALITY AS u(f, o) ORDER BY o;
END $fn$
    """,
)
_SEARCH_SIGNATURES = (
    "vinyl_detective_holding(text, text, text[], text[], integer)",
    "vinyl_detective_conjunction(text[], text[], integer, text[], integer[], integer, integer)",
    "vinyl_detective_candidates(text[], text[], integer[], integer, integer, integer, integer, "
    "integer, integer, integer, integer, integer, integer)",
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
    for trigger, event, each, function in _TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER {event} ON releases FOR EACH {each} "
            f"EXECUTE FUNCTION vinyl_detective_words_{function}()"
        )
    op.execute(
        f"{_INSERT} SELECT DISTINCT w, r.id, {_NAME_WORDS.format(r='r')} "
        f"FROM releases r, unnest({_WORDS.format(r='r')}) AS w WHERE w <> ''"
    )
    for function in _SEARCH_FUNCTIONS:
        op.execute(function)
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
    for trigger, _event, _each, _function in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON releases")
    for name in _FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    for signature in _SEARCH_SIGNATURES:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.execute("DROP TABLE IF EXISTS release_words")
    op.execute("DROP INDEX IF EXISTS ix_release_identifiers_prefix")
