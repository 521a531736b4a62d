"""Identifying listings as releases, against a real SQLite catalog built in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.domain.catalog_entry import Identification
from vinyl_detective.domain.matching import identify, match_listing
from vinyl_detective.domain.models import Listing, MatchMethod, Release
from vinyl_detective.domain.title_identifiers import barcode_candidates, catalog_no_candidates
from vinyl_detective.domain.title_noise import clean_title
from vinyl_detective.storage.catalog import upsert_releases
from vinyl_detective.storage.catalog_lookup import SqlCatalog

MOANIN = Release(
    id=101,
    artist="Art Blakey & The Jazz Messengers",
    title="Moanin'",
    labels=("Blue Note",),
    catalog_nos=("BLP 4003",),
    format="Vinyl",
    format_descriptions=("LP", "Album", "Mono"),
    country="US",
    year=1959,
    master_id=59850,
)
MOANIN_JAPAN = Release(
    id=103,
    artist="Art Blakey & The Jazz Messengers",
    title="Moanin'",
    labels=("Blue Note", "King Records"),
    catalog_nos=("GXK 8155",),
    format="Vinyl",
    format_descriptions=("LP", "Album", "Reissue", "Mono"),
    country="Japan",
    year=1978,
    master_id=59850,
)
MOANIN_CANADA = Release(
    id=104,
    artist="Art Blakey & The Jazz Messengers",
    title="Moanin'",
    labels=("Blue Note",),
    catalog_nos=("BLP 4003",),
    format="Vinyl",
    format_descriptions=("LP", "Album", "Mono"),
    country="Canada",
    year=1959,
    master_id=59850,
)
KIND_OF_BLUE = Release(
    id=201,
    artist="Miles Davis",
    title="Kind Of Blue",
    labels=("Columbia",),
    catalog_nos=("CS 8163",),
    format="Vinyl",
    format_descriptions=("LP", "Album", "Stereo"),
    country="US",
    year=1959,
    master_id=5460,
)
KIND_OF_BLUE_UK = Release(
    id=203,
    artist="Miles Davis",
    title="Kind Of Blue",
    labels=("Fontana",),
    catalog_nos=("TFL 5072",),
    format="Vinyl",
    format_descriptions=("LP", "Album", "Mono"),
    country="UK",
    year=1960,
    master_id=5460,
)
SKETCHES = Release(
    id=202,
    artist="Miles Davis",
    title="Sketches Of Spain",
    labels=("Columbia",),
    catalog_nos=("CS 8271",),
    format="Vinyl",
    format_descriptions=("LP", "Album"),
    year=1960,
)
DARK_SIDE = Release(
    id=301,
    artist="Pink Floyd",
    title="The Dark Side Of The Moon",
    labels=("Harvest",),
    catalog_nos=("SHVL 804",),
    format="Vinyl",
    format_descriptions=("LP", "Album", "Gatefold"),
    country="UK",
    year=1973,
)
DARK_SIDE_CD = Release(
    id=302,
    artist="Pink Floyd",
    title="The Dark Side Of The Moon",
    labels=("Harvest", "EMI"),
    catalog_nos=("CDP 7 46001 2",),
    barcodes=("0 7777-46001-2 5",),
    format="CD",
    format_descriptions=("Album", "Reissue"),
    country="Europe",
    year=1984,
)
BLACKSTAR_CD = Release(
    id=401,
    artist="David Bowie",
    title="★ (Blackstar)",
    labels=("ISO Records", "Columbia"),
    catalog_nos=("88875173852",),
    barcodes=("888751738522",),  # printed as a 12-digit UPC-A
    format="CD",
    format_descriptions=("Album",),
    year=2016,
)
BLUE = Release(
    id=501,
    artist="Joni Mitchell",
    title="Blue",
    labels=("Reprise Records",),
    catalog_nos=("MS 2038",),
    format="Vinyl",
    format_descriptions=("LP", "Album"),
    country="US",
    year=1971,
)
TRIBUTE = Release(
    id=601,
    artist="Ozzy Osbourne & Randy Rhoads",
    title="Tribute",
    labels=("Epic",),
    catalog_nos=("E2 40714",),
    format="Vinyl",
    format_descriptions=("LP", "Album"),
    year=1987,
)
GREATEST_HITS = Release(
    id=701,
    artist="Queen",
    title="Greatest Hits",
    labels=("EMI",),
    catalog_nos=("EMTV 30",),
    barcodes=("5099924695517",),
    format="Vinyl",
    format_descriptions=("LP", "Compilation"),
    year=1981,
)

CATALOG = (
    MOANIN,
    MOANIN_JAPAN,
    KIND_OF_BLUE,
    SKETCHES,
    DARK_SIDE,
    BLACKSTAR_CD,
    BLUE,
    TRIBUTE,
    GREATEST_HITS,
)


@pytest.fixture
def catalog_conn(engine: Engine, now: datetime) -> Iterator[sa.Connection]:
    with engine.begin() as conn:
        upsert_releases(conn, CATALOG, now)
    with engine.connect() as conn:
        yield conn


@pytest.fixture
def catalog(catalog_conn: sa.Connection) -> SqlCatalog:
    return SqlCatalog(catalog_conn)


def add(engine: Engine, now: datetime, *extra: Release) -> None:
    with engine.begin() as conn:
        upsert_releases(conn, extra, now)


def listing(title: str, **fields: object) -> Listing:
    return Listing(
        item_id="v1|1|0",
        title=title,
        price=Decimal("20.00"),
        currency="USD",
        **fields,  # type: ignore[arg-type]
    )


def found(title: str, catalog: SqlCatalog, **fields: object) -> Identification:
    return identify(listing(title, **fields), catalog)


# ------------------------------------------------------------------ noise


def test_clean_title_strips_grades_formats_boasts_and_emoji() -> None:
    cleaned = clean_title("🔥 RARE Art Blakey Moanin' LP Blue Note BLP-4003 VG+ 1st press!!")
    assert cleaned == "art blakey moanin blue note blp 4003"


def test_clean_title_strips_weights_sizes_and_shipping_talk() -> None:
    title = 'Pink Floyd Dark Side of the Moon 12" 180 gram 180g NEW SEALED w/ insert FREE SHIPPING'
    assert clean_title(title) == "pink floyd dark side of the moon"


def test_clean_title_strips_coloured_vinyl_and_split_grades() -> None:
    assert clean_title("Beatles Abbey Road RED VINYL LP NM/VG+ 33 rpm") == "beatles abbey road"


def test_catalog_numbers_are_read_from_runs_of_tokens_with_digits() -> None:
    assert "BLP4003" in catalog_no_candidates("Art Blakey Moanin' LP Blue Note BLP-4003 VG+")
    assert "ST8406" in catalog_no_candidates("Cannonball Adderley Somethin' Else (ST-8406)")
    assert "CDP7465162" in catalog_no_candidates("Beatles Sgt Pepper CD CDP 7 46516 2 UK")


def test_sizes_weights_and_years_are_not_catalog_numbers() -> None:
    assert catalog_no_candidates('Kind of Blue 12" 180g 2LP 1959 VG+') == []


def test_a_spaced_barcode_in_the_title_reads_as_an_ean() -> None:
    assert barcode_candidates("Dark Side CD 0 7777-46001-2 5 sealed") == ["0077774600125"]


# ------------------------------------------------------------------ tier 1: catalog number


def test_noisy_title_with_catalog_number_matches_by_catalog_number(catalog: SqlCatalog) -> None:
    result = found("🔥 RARE Art Blakey Moanin' LP Blue Note BLP-4003 VG+ 1st press!!", catalog)
    assert result.match is not None
    assert result.match.release_id == MOANIN.id
    assert result.match.method is MatchMethod.CATALOG_NO
    assert result.match.confidence >= 0.95
    assert not result.ambiguous


def test_catalog_number_from_item_specifics_matches(catalog: SqlCatalog) -> None:
    result = found("Miles Davis Kind of Blue Columbia 6 eye", catalog, catalog_no="cs-8163")
    assert result.match is not None
    assert result.match.release_id == KIND_OF_BLUE.id
    assert result.match.method is MatchMethod.CATALOG_NO


def test_catalog_number_from_item_specifics_beats_the_one_in_the_title(
    catalog: SqlCatalog,
) -> None:
    # The title names the US number, the seller's item specifics the Japanese pressing.
    result = found("Art Blakey Moanin BLP 4003 reissue", catalog, catalog_no="GXK-8155")
    assert result.match is not None
    assert result.match.release_id == MOANIN_JAPAN.id


def test_colliding_catalog_number_without_the_artist_or_title_is_refused(
    catalog: SqlCatalog,
) -> None:
    # CS 8163 is Kind of Blue in the catalog; this listing is another record entirely.
    result = found("Frank Sinatra Songs For Swingin Lovers LP CS 8163", catalog)
    assert result.match is None
    assert not result.ambiguous


def test_catalog_number_alone_is_not_enough(catalog: SqlCatalog) -> None:
    assert match_listing(listing("Blue Note BLP 4003 LP"), catalog) is None


def test_catalog_number_hit_in_the_wrong_format_is_refused(catalog: SqlCatalog) -> None:
    result = found("Miles Davis Kind of Blue CS 8163", catalog, format_hint="CD")
    assert result.match is None


def test_pressings_sharing_a_catalog_number_are_one_album_of_unknown_pressing(
    engine: Engine, now: datetime, catalog: SqlCatalog
) -> None:
    add(engine, now, MOANIN_CANADA)
    result = found("Art Blakey Moanin' Blue Note BLP 4003 LP", catalog)
    assert result.match is not None
    assert result.match.method is MatchMethod.ALBUM
    assert set(result.match.pressings) == {MOANIN.id, MOANIN_CANADA.id}
    assert not result.match.pressing_outside_catalog


def test_a_country_in_the_title_settles_pressings_sharing_a_catalog_number(
    engine: Engine, now: datetime, catalog: SqlCatalog
) -> None:
    add(engine, now, MOANIN_CANADA)
    result = found("Art Blakey Moanin' Blue Note BLP 4003 Canada pressing", catalog)
    assert result.match is not None
    assert result.match.release_id == MOANIN_CANADA.id
    assert result.match.confidence < 1.0


# ------------------------------------------------------------------ tier 2: barcode


def test_upc_from_item_specifics_finds_the_release_stored_as_ean(catalog: SqlCatalog) -> None:
    result = found("Bowie Blackstar", catalog, barcode="888751738522")
    assert result.match is not None
    assert result.match.release_id == BLACKSTAR_CD.id
    assert result.match.method is MatchMethod.BARCODE
    assert result.match.confidence == 1.0


def test_ean_written_with_leading_zero_matches_the_same_release(catalog: SqlCatalog) -> None:
    result = found("David Bowie Blackstar CD 0888751738522 new", catalog)
    assert result.match is not None
    assert result.match.release_id == BLACKSTAR_CD.id
    assert result.match.method is MatchMethod.BARCODE


def test_barcode_from_item_specifics_beats_a_catalog_number_in_the_title(
    catalog: SqlCatalog,
) -> None:
    result = found("Queen Greatest Hits LP MS 2038", catalog, barcode="5099924695517")
    assert result.match is not None
    assert result.match.release_id == GREATEST_HITS.id
    assert result.match.method is MatchMethod.BARCODE


def test_barcode_of_a_cd_is_refused_for_a_listing_in_the_records_category(
    catalog: SqlCatalog,
) -> None:
    result = found("Bowie Blackstar", catalog, barcode="888751738522", category_id="176985")
    assert result.match is None


# ------------------------------------------------------------------ tier 3: fuzzy


def test_artist_and_title_without_identifiers_match_fuzzily(catalog: SqlCatalog) -> None:
    result = found("Miles Davis - Kind Of Blue - LP 1959 Jazz Modal NM", catalog)
    assert result.match is not None
    assert result.match.release_id == KIND_OF_BLUE.id
    assert result.match.method is MatchMethod.FUZZY
    assert 0.8 <= result.match.confidence < 0.96


def test_a_shortened_artist_name_and_a_typo_still_match(catalog: SqlCatalog) -> None:
    result = found("Art Blakey Moanin' Blue Note hard bop LP VG Japan", catalog)
    assert result.match is not None
    assert result.match.release_id == MOANIN_JAPAN.id
    typo = found("Mlies Davis Kind of Blue vinyl", catalog)
    assert typo.match is not None
    assert typo.match.release_id == KIND_OF_BLUE.id


def test_same_artist_different_album_does_not_match(catalog: SqlCatalog) -> None:
    result = found("Miles Davis Bitches Brew 2LP Columbia", catalog)
    assert result.match is None
    assert not result.ambiguous


def test_a_one_word_title_inside_a_longer_title_does_not_match(catalog: SqlCatalog) -> None:
    # Joni Mitchell's "Blue" must not stand in for her other albums.
    assert match_listing(listing("Joni Mitchell Court and Spark LP"), catalog) is None
    assert match_listing(listing("Joni Mitchell Hejira blue vinyl"), catalog) is None
    blue = match_listing(listing("Joni Mitchell Blue LP Reprise 1971"), catalog)
    assert blue is not None
    assert blue.release_id == BLUE.id


def test_wrong_format_does_not_match(catalog: SqlCatalog) -> None:
    assert match_listing(listing("Miles Davis Kind of Blue", format_hint="CD"), catalog) is None
    assert match_listing(listing("Miles Davis Kind of Blue", category_id="176984"), catalog) is None
    assert match_listing(listing("Miles Davis Kind Of Blue CD remastered"), catalog) is None


def test_vinyl_and_cd_of_one_album_are_told_apart_by_the_listing_format(
    engine: Engine, now: datetime, catalog: SqlCatalog
) -> None:
    add(engine, now, DARK_SIDE_CD)
    vinyl = match_listing(listing("Pink Floyd Dark Side of the Moon LP Harvest"), catalog)
    assert vinyl is not None
    assert vinyl.release_id == DARK_SIDE.id
    cd = match_listing(listing("Pink Floyd Dark Side of the Moon", format_hint="CD"), catalog)
    assert cd is not None
    assert cd.release_id == DARK_SIDE_CD.id
    unknown = found("Pink Floyd Dark Side of the Moon", catalog)
    assert unknown.match is not None
    assert unknown.match.method is MatchMethod.ALBUM  # priced as the cheaper of the two
    assert set(unknown.match.pressings) == {DARK_SIDE.id, DARK_SIDE_CD.id}


def test_pressings_of_one_album_are_an_album_match_until_item_specifics_settle_it(
    engine: Engine, now: datetime, catalog: SqlCatalog
) -> None:
    add(engine, now, KIND_OF_BLUE_UK)
    first = found("Miles Davis Kind of Blue LP", catalog)
    assert first.match is not None
    assert first.match.method is MatchMethod.ALBUM
    assert set(first.match.pressings) == {KIND_OF_BLUE.id, KIND_OF_BLUE_UK.id}
    settled = found("Miles Davis Kind of Blue LP", catalog, catalog_no="TFL 5072")
    assert settled.match is not None
    assert settled.match.release_id == KIND_OF_BLUE_UK.id


def test_year_and_country_in_the_title_settle_pressings(
    engine: Engine, now: datetime, catalog: SqlCatalog
) -> None:
    add(engine, now, KIND_OF_BLUE_UK)
    result = found("Miles Davis Kind of Blue UK 1960 mono LP", catalog)
    assert result.match is not None
    assert result.match.release_id == KIND_OF_BLUE_UK.id


def test_a_release_named_like_a_decoy_word_still_matches(catalog: SqlCatalog) -> None:
    result = match_listing(listing("Ozzy Osbourne Tribute 2LP Epic 1987 Randy Rhoads"), catalog)
    assert result is not None
    assert result.release_id == TRIBUTE.id


@pytest.mark.parametrize(
    "title",
    [
        "Lot of 10 jazz records Art Blakey Moanin Miles Davis Kind of Blue",
        "Art Blakey Moanin' BLP 4003 EMPTY SLEEVE ONLY",
        "Miles Davis Kind of Blue cover only no vinyl",
        "Pink Floyd Dark Side of the Moon poster 24x36",
        "Pink Floyd Dark Side Of The Moon T-Shirt XL",
        "Miles Davis Kind of Blue sheet music book",
        "Pink Floyd Dark Side of the Moon slipmat",
        "Kind of Blue Miles Davis record cleaner kit",
        "A Tribute to Pink Floyd The Dark Side of the Moon LP",
        "Karaoke: in the style of Pink Floyd Dark Side of the Moon",
        "London Symphony Orchestra plays the music of Pink Floyd Dark Side of the Moon",
        "Rockabye Baby Lullaby renditions of Pink Floyd The Dark Side of the Moon",
    ],
)
def test_decoys_do_not_match(title: str, catalog: SqlCatalog) -> None:
    assert match_listing(listing(title), catalog) is None


def test_unrelated_titles_find_nothing(catalog: SqlCatalog) -> None:
    assert match_listing(listing("Vintage Technics SL-1200 turntable"), catalog) is None
    assert match_listing(listing("!!! LP VG+ !!!"), catalog) is None
    assert match_listing(listing(""), catalog) is None


def test_tiers_are_ranked_catalog_number_over_barcode_over_fuzzy(catalog: SqlCatalog) -> None:
    by_catno = match_listing(listing("Miles Davis Kind of Blue CS 8163"), catalog)
    by_barcode = match_listing(listing("Bowie Blackstar", barcode="888751738522"), catalog)
    fuzzy = match_listing(listing("Miles Davis Kind of Blue"), catalog)
    assert by_catno is not None
    assert by_barcode is not None
    assert fuzzy is not None
    assert by_catno.confidence >= 0.95
    assert by_barcode.confidence == 1.0
    assert fuzzy.confidence < by_catno.confidence


# ------------------------------------------------------------------ crowds in the full-text index


def _made_up_word(i: int) -> str:
    return "Zo" + "".join("bcdfghjklmnpqrstvwxz"[int(d)] for d in f"{i:04d}")


def test_namesakes_hidden_in_a_crowd_are_reported_ambiguous(engine: Engine, now: datetime) -> None:
    # Two unrelated releases called "Jazz Messengers – Funk" (other labels, other masters),
    # the second stored after dozens of longer "Funk …" titles by the same artist. The
    # full-text prefilter must not hand the matcher only the first one to pick.
    first = Release(id=3, artist="Jazz Messengers", title="Funk", format="Vinyl", master_id=3)
    crowd = [
        Release(id=1000 + i, artist="Jazz Messengers", title=f"Funk {_made_up_word(i)}")
        for i in range(40)
    ]
    second = Release(id=6000, artist="Jazz Messengers", title="Funk", format="Vinyl", master_id=6)
    add(engine, now, first, *crowd, second)
    with engine.connect() as conn:
        result = identify(listing("Jazz Messengers - Funk LP NM"), SqlCatalog(conn))
    assert result.match is None
    assert result.ambiguous
    assert set(result.candidates) == {first.id, second.id}


def test_the_named_release_is_found_when_crowds_share_every_pair_of_its_words(
    engine: Engine, now: datetime
) -> None:
    # Hundreds of releases share each of the listing's words (all "common"), and the first
    # ones by id that share two of them are not the record the listing names.
    artist_crowd = [
        Release(id=10 + i, artist="Jazz Messengers", title=f"{_made_up_word(i)} Revisited")
        for i in range(320)
    ]
    title_crowd = [
        Release(
            id=400 + i,
            artist="Nina Simone",
            title=f"Train Midnight Song Stockholm {_made_up_word(i)}",
        )
        for i in range(320)
    ]
    near = Release(id=2, artist="Jazz Messengers", title="Stockholm Train Midnight")
    named = Release(id=5000, artist="Jazz Messengers", title="Song Stockholm Train Midnight")
    add(engine, now, near, *artist_crowd, *title_crowd, named)
    with engine.connect() as conn:
        result = identify(
            listing("Jazz Messengers - Song Stockholm Train Midnight LP"), SqlCatalog(conn)
        )
    assert result.match is not None
    assert result.match.release_id == named.id


# ------------------------------------------------------------------ records the catalog lacks

MOVING = Release(
    id=801,
    artist="Broadcast",
    title="Moving",
    labels=("Blue Note",),
    catalog_nos=("SD 48657",),
    format="Vinyl",
    master_id=8010,
)
GARDEN_CD = Release(
    id=802,
    artist="Kraftwerk",
    title="Moving Garden Stockholm",
    labels=("4AD",),
    catalog_nos=("A-88925",),
    format="CD",
    master_id=8020,
)
GARDEN_LP = Release(
    id=803,
    artist="Kraftwerk",
    title="Garden Stockholm",
    labels=("Creation Records",),
    catalog_nos=("RT.33684",),
    format="Vinyl",
    master_id=8030,
)


def test_a_catalog_number_shared_with_a_record_named_by_one_listing_word_is_refused(
    engine: Engine, now: datetime
) -> None:
    # The listing's record is not in the catalog; another label's "Moving" carries the same
    # number, and its one-word title happens to be among the listing's words.
    add(engine, now, MOVING)
    with engine.connect() as conn:
        result = identify(
            listing("Dee Rollins - Drift Paradise Moving Of LP 1st press SD48657"),
            SqlCatalog(conn),
        )
    assert result.match is None


def test_a_catalog_number_with_the_title_and_little_else_still_matches(
    engine: Engine, now: datetime
) -> None:
    add(engine, now, MOVING)
    with engine.connect() as conn:
        result = identify(listing("Moving LP Blue Note SD-48657 VG+"), SqlCatalog(conn))
    assert result.match is not None
    assert result.match.release_id == MOVING.id


def test_a_lesser_title_is_not_matched_when_the_listing_names_an_album_held_in_another_format(
    engine: Engine, now: datetime
) -> None:
    # The catalog holds "Moving Garden Stockholm" on CD only; the LP listing names it
    # exactly. "Garden Stockholm" on vinyl fits the format but leaves "Moving" unexplained.
    add(engine, now, GARDEN_CD, GARDEN_LP)
    with engine.connect() as conn:
        result = identify(listing("Kraftwerk - Moving Garden Stockholm LP"), SqlCatalog(conn))
        other = identify(listing("Kraftwerk - Garden Stockholm LP"), SqlCatalog(conn))
    assert result.match is None
    assert result.ambiguous
    assert set(result.candidates) == {GARDEN_CD.id, GARDEN_LP.id}
    assert other.match is not None
    assert other.match.release_id == GARDEN_LP.id
