"""The local catalog: upserts that keep prices, identifiers, full text, price staleness."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import PriceGuide, Release
from vinyl_detective.storage.catalog import (
    count_releases,
    get_release,
    release_rows,
    set_prices,
    stale_price_release_ids,
    upsert_releases,
)
from vinyl_detective.storage.catalog_lookup import SqlCatalog
from vinyl_detective.storage.fulltext import candidate_release_ids
from vinyl_detective.storage.schema import listings

MOANIN = Release(
    id=2825456,
    artist="Art Blakey & The Jazz Messengers",
    title="Moanin'",
    labels=("Blue Note", "Liberty"),
    catalog_nos=("BLP 4003 ", "none", "BLP-4003", "BST 84003"),
    barcodes=("0 7777-46516-1 6", "IFPI L042", "077774651616"),
    format="Vinyl",
    format_descriptions=("LP", "Album", "Mono"),
    country="US",
    year=1959,
    master_id=59850,
    genres=("Jazz",),
    styles=("Hard Bop",),
    status="Accepted",
)
GUIDE = PriceGuide(
    currency="USD",
    by_condition={"VG+": Decimal("120.50"), "NM": Decimal("310.00")},
    lowest=Decimal("95.00"),
    num_for_sale=7,
)


def release(release_id: int, title: str = "Untitled", **fields: object) -> Release:
    return Release(id=release_id, artist="Somebody", title=title, **fields)  # type: ignore[arg-type]


def add_listing(conn: sa.Connection, item_id: str, release_id: int, now: datetime) -> None:
    conn.execute(
        sa.insert(listings).values(
            item_id=item_id,
            title="a listing",
            price=Decimal("10.00"),
            currency="USD",
            first_seen=now,
            last_seen=now,
            match_release_id=release_id,
        )
    )


def test_release_rows_normalise_and_deduplicate_identifiers(now: datetime) -> None:
    row, identifiers = release_rows(MOANIN, now)
    assert row["catalog_no"] == "BLP 4003"
    assert row["barcode"] == "0077774651616"
    assert row["labels"] == "Blue Note; Liberty"
    assert row["format_descriptions"] == "LP, Album, Mono"
    assert row["genres"] == "Jazz"
    assert "prices_json" not in row
    assert "lowest_price" not in row
    assert sorted((i["kind"], i["value"]) for i in identifiers) == [
        ("barcode", "0077774651616"),
        ("catno", "BLP4003"),
        ("catno", "BST84003"),
    ]


def test_get_release_round_trips_what_was_stored(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        assert upsert_releases(conn, [MOANIN], now) == 1
        set_prices(conn, MOANIN.id, GUIDE, now)
    with engine.connect() as conn:
        stored = get_release(conn, MOANIN.id)
    assert stored is not None
    assert stored.artist == MOANIN.artist
    assert stored.title == MOANIN.title
    assert stored.labels == ("Blue Note", "Liberty")
    assert stored.catalog_nos == ("BLP 4003", "BST84003")
    assert stored.barcodes == ("0077774651616",)
    assert stored.format_descriptions == ("LP", "Album", "Mono")
    assert (stored.country, stored.year, stored.master_id) == ("US", 1959, 59850)
    assert stored.genres == ("Jazz",)
    assert stored.styles == ("Hard Bop",)
    assert stored.prices is not None
    assert stored.prices.currency == "USD"
    assert stored.prices.by_condition == {"VG+": Decimal("120.50"), "NM": Decimal("310.00")}
    assert stored.prices.lowest == Decimal("95.00")
    assert stored.prices.num_for_sale == 7
    assert stored.prices.updated_at == now


def test_an_unknown_release_is_none_and_an_unpriced_one_has_no_prices(
    engine: Engine, now: datetime
) -> None:
    with engine.begin() as conn:
        upsert_releases(conn, [release(1)], now)
    with engine.connect() as conn:
        assert get_release(conn, 999) is None
        unpriced = get_release(conn, 1)
    assert unpriced is not None
    assert unpriced.prices is None


def test_re_importing_a_release_keeps_its_cached_prices(engine: Engine, now: datetime) -> None:
    later = now + timedelta(days=3)
    with engine.begin() as conn:
        upsert_releases(conn, [MOANIN], now)
        set_prices(conn, MOANIN.id, GUIDE, now)
        upsert_releases(conn, [release(MOANIN.id, "Moanin' (Remastered)")], later)
    with engine.connect() as conn:
        stored = get_release(conn, MOANIN.id)
    assert stored is not None
    assert stored.title == "Moanin' (Remastered)"
    assert stored.prices is not None
    assert stored.prices.lowest == Decimal("95.00")
    assert stored.prices.updated_at == now


def test_re_importing_a_release_replaces_its_identifiers(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        upsert_releases(conn, [MOANIN], now)
        upsert_releases(conn, [release(MOANIN.id, catalog_nos=("BST 84003",))], now)
    with engine.connect() as conn:
        catalog = SqlCatalog(conn)
        hits = catalog.by_catalog_nos(["BLP4003", "BST84003"])
        assert "BLP4003" not in hits
        assert [e.release_id for e in hits["BST84003"]] == [MOANIN.id]
        assert catalog.by_barcode("0077774651616") == []


def test_full_text_index_follows_inserts_updates_and_re_imports(
    engine: Engine, now: datetime
) -> None:
    with engine.begin() as conn:
        upsert_releases(conn, [release(1, "Moanin'"), release(2, "Blue Train")], now)
    with engine.connect() as conn:
        assert candidate_release_ids(conn, ["moanin"], 10) == [1]
    with engine.begin() as conn:
        upsert_releases(conn, [release(1, "Mosaic")], now)
    with engine.connect() as conn:
        assert candidate_release_ids(conn, ["moanin"], 10) == []
        assert candidate_release_ids(conn, ["mosaic"], 10) == [1]
        assert candidate_release_ids(conn, ["train"], 10) == [2]


def test_sql_catalog_answers_many_catalog_numbers_at_once(engine: Engine, now: datetime) -> None:
    shared = [release(i, f"Pressing {i}", catalog_nos=("ABC 1",)) for i in (1, 2)]
    with engine.begin() as conn:
        upsert_releases(conn, [*shared, release(3, catalog_nos=("XYZ-9",), format="CD")], now)
    with engine.connect() as conn:
        hits = SqlCatalog(conn).by_catalog_nos(["ABC1", "XYZ9", "NOPE1"])
    assert sorted(e.release_id for e in hits["ABC1"]) == [1, 2]
    (cd,) = hits["XYZ9"]
    assert (cd.format, cd.catalog_nos) == ("CD", ("XYZ9",))
    assert "NOPE1" not in hits


def test_sql_catalog_fuzzy_candidates_carry_labels_and_identifiers(
    engine: Engine, now: datetime
) -> None:
    with engine.begin() as conn:
        upsert_releases(conn, [MOANIN, release(5, "Something Else")], now)
    with engine.connect() as conn:
        (entry,) = SqlCatalog(conn).fuzzy_candidates(["blakey", "moanin"], 10)
    assert entry.release_id == MOANIN.id
    assert entry.labels == ("Blue Note", "Liberty")
    assert entry.barcodes == ("0077774651616",)
    assert set(entry.catalog_nos) == {"BLP4003", "BST84003"}
    assert entry.year == 1959


def test_stale_prices_put_matched_releases_first_then_never_priced(
    engine: Engine, now: datetime
) -> None:
    week_ago = now - timedelta(days=7)
    with engine.begin() as conn:
        upsert_releases(conn, [release(i) for i in range(1, 7)], now)
        set_prices(conn, 1, GUIDE, now)  # fresh: never chosen
        set_prices(conn, 2, GUIDE, week_ago - timedelta(days=1))  # stale, not matched
        set_prices(conn, 3, GUIDE, week_ago - timedelta(days=1))  # stale and matched
        add_listing(conn, "a", 3, now)
        add_listing(conn, "b", 5, now)  # never priced and matched
        add_listing(conn, "c", 1, now)  # matched but fresh
    with engine.connect() as conn:
        chosen = stale_price_release_ids(conn, week_ago, limit=10)
        assert chosen == [5, 3, 4, 6, 2]
        assert stale_price_release_ids(conn, week_ago, limit=2) == [5, 3]
        assert stale_price_release_ids(conn, week_ago, limit=10, only_ids=[1, 2, 3, 42]) == [3, 2]
        assert stale_price_release_ids(conn, week_ago, limit=10, only_ids=[]) == []


def test_count_releases_counts_each_release_once(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        assert count_releases(conn) == 0
        upsert_releases(conn, [release(1), release(2), release(1, "Again")], now)
        upsert_releases(conn, [release(2, "Updated")], now)
        assert count_releases(conn) == 2


def test_fuzzy_candidates_find_the_release_among_hundreds_sharing_a_common_word(
    engine: Engine, now: datetime
) -> None:
    crowd = [
        Release(id=i, artist=f"Singer {chr(97 + i % 26)}{chr(97 + i // 26 % 26)}", title="Love")
        for i in range(1, 401)
    ]
    target = Release(id=1000, artist="Dexter Gordon", title="Love For Sale")
    with engine.begin() as conn:
        upsert_releases(conn, [*crowd, target], now)
    with engine.connect() as conn:
        found = SqlCatalog(conn).fuzzy_candidates(["dexter", "gordon", "love", "sale"], 15)
        assert found[0].release_id == 1000
        assert len(found) <= 15
        # Only the common word: some of the crowd, never more than asked for.
        assert len(SqlCatalog(conn).fuzzy_candidates(["love", "singer"], 15)) == 15
