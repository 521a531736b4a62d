"""The demo marketplace's bundled sample: a realistic Discogs catalog and noisy eBay listings."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vinyl_detective.domain.normalize import (
    has_valid_check_digit,
    normalize_barcode,
    normalize_catalog_no,
)
from vinyl_detective.fakes.sample_data import (
    CATEGORIES,
    DEAL_MAX_RATIO,
    DETAIL_ONLY_FIELDS,
    GRADES,
    NORMAL_MIN_RATIO,
    SampleMarket,
    arrivals,
    arrivals_with_truth,
    build_sample_market,
)

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
REAL_RELEASES = Path("/work/shared/data/discogs-api/releases")
ITEM_ID = re.compile(r"^v1\|(\d{12})\|0$")
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")
SUMMARY_FIELDS = {
    "itemId",
    "legacyItemId",
    "title",
    "price",
    "condition",
    "conditionId",
    "buyingOptions",
    "seller",
    "itemWebUrl",
    "itemLocation",
    "categories",
    "leafCategoryIds",
    "itemCreationDate",
    "itemOriginDate",
}


@pytest.fixture(scope="module")
def market() -> SampleMarket:
    return build_sample_market(7, now=NOW)


@pytest.fixture(scope="module")
def releases_by_id(market: SampleMarket) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in market.releases}


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC)


def _total(item: dict[str, Any]) -> float | None:
    """Price plus shipping, or None when the shipping cost is not known."""
    options = item.get("shippingOptions")
    if not options or options[0]["shippingCostType"] != "FIXED":
        return None
    return float(item["price"]["value"]) + float(options[0]["shippingCost"]["value"])


def _barcodes(release: dict[str, Any]) -> set[str]:
    found = set()
    for identifier in release["identifiers"]:
        if identifier["type"] == "Barcode":
            digits = normalize_barcode(identifier["value"])
            assert digits is not None
            found.add(digits)
    return found


def _catnos(release: dict[str, Any]) -> set[str]:
    return {k for label in release["labels"] if (k := normalize_catalog_no(label["catno"]))}


def _squeezed(text: str) -> str:
    return re.sub(r"[\s\-_./:·#]+", "", text.upper())


# --- determinism, size, speed ----------------------------------------------------------------


def test_same_seed_and_clock_always_give_the_same_market(market: SampleMarket) -> None:
    again = build_sample_market(7, now=NOW)
    assert again.releases == market.releases
    assert again.price_suggestions == market.price_suggestions
    assert again.items == market.items
    assert again.truth == market.truth
    assert again.deals == market.deals


def test_another_seed_gives_another_market(market: SampleMarket) -> None:
    other = build_sample_market(8, now=NOW)
    assert [i["title"] for i in other.items] != [i["title"] for i in market.items]


def test_market_has_exactly_the_requested_numbers_of_releases_and_listings(
    market: SampleMarket,
) -> None:
    assert len(market.releases) == 600
    assert len({r["id"] for r in market.releases}) == 600
    assert len(market.items) == 2400
    assert len({i["itemId"] for i in market.items}) == 2400
    assert set(market.truth) == {i["itemId"] for i in market.items}


def test_small_markets_can_be_asked_for() -> None:
    small = build_sample_market(3, releases=40, listings=100, now=NOW)
    assert len(small.releases) == 40
    assert len(small.items) == 100


def test_asking_for_more_releases_than_the_catalog_can_make_says_how_many_it_can() -> None:
    with pytest.raises(ValueError, match="at most"):
        build_sample_market(releases=100_000, listings=10, now=NOW)


def test_building_the_default_market_is_fast() -> None:
    started = time.perf_counter()
    build_sample_market(11, now=NOW)
    # Well under a second on an idle machine; the margin absorbs a busy CI runner.
    assert time.perf_counter() - started < 3.0


# --- Discogs releases ------------------------------------------------------------------------


def test_releases_carry_every_field_a_real_discogs_release_has(market: SampleMarket) -> None:
    if not (REAL_RELEASES / "2.json").exists():
        pytest.skip("real Discogs release samples are not available here")
    real = json.loads((REAL_RELEASES / "2.json").read_text())
    for release in market.releases:
        assert set(real) <= set(release)
        for ours, theirs in [("artists", "artists"), ("labels", "labels"), ("formats", "formats")]:
            assert set(real[theirs][0]) - {"entity_type_name"} <= set(release[ours][0])
        for identifier in release["identifiers"]:
            assert {"type", "value"} <= set(identifier)


def test_releases_carry_the_current_api_fields_the_discogs_client_reads(
    market: SampleMarket,
) -> None:
    for release in market.releases:
        assert isinstance(release["artists_sort"], str)
        assert {"have", "want", "rating"} <= set(release["community"])
        assert isinstance(release["num_for_sale"], int)
        assert release["lowest_price"] is None or isinstance(release["lowest_price"], float)
        assert isinstance(release["year"], int)
        assert release["formats"][0]["name"] in CATEGORIES


def test_every_barcode_is_a_valid_upc_or_ean(market: SampleMarket) -> None:
    seen = 0
    for release in market.releases:
        for identifier in release["identifiers"]:
            if identifier["type"] == "Barcode":
                digits = normalize_barcode(identifier["value"])
                assert digits is not None, identifier
                assert has_valid_check_digit(digits), identifier
                seen += 1
    assert seen > 200


def test_barcodes_are_printed_the_ways_discogs_prints_them(market: SampleMarket) -> None:
    values = [
        i["value"] for r in market.releases for i in r["identifiers"] if i["type"] == "Barcode"
    ]
    assert any(re.fullmatch(r"\d \d{4}-\d{5}-\d \d", v) for v in values)  # 0 7777-46516-1 6
    assert any(re.fullmatch(r"\d{12,13}", v) for v in values)


def test_cds_always_have_a_barcode_and_old_vinyl_never_does(market: SampleMarket) -> None:
    for release in market.releases:
        name = release["formats"][0]["name"]
        if name == "CD":
            assert _barcodes(release)
        if name == "Vinyl" and release["year"] < 1980:
            assert not _barcodes(release)


def test_no_two_masters_share_a_barcode(market: SampleMarket) -> None:
    owner: dict[str, int] = {}
    for release in market.releases:
        for digits in _barcodes(release):
            assert owner.setdefault(digits, release["master_id"]) == release["master_id"]


def test_identifiers_mix_barcodes_with_matrix_strings(market: SampleMarket) -> None:
    types = Counter(i["type"] for r in market.releases for i in r["identifiers"])
    assert types["Matrix / Runout"] > types["Barcode"] > 0
    assert types["Label Code"] > 0


def test_several_pressings_share_a_master(market: SampleMarket) -> None:
    by_master: dict[int, list[dict[str, Any]]] = {}
    for release in market.releases:
        by_master.setdefault(release["master_id"], []).append(release)
    big = [group for group in by_master.values() if len(group) >= 3]
    assert len(big) >= 20
    for group in by_master.values():
        assert len({r["title"] for r in group}) == 1
    assert any({r["formats"][0]["name"] for r in g} == {"Vinyl", "CD", "Cassette"} for g in big)
    assert any(len({r["country"] for r in g}) >= 3 for g in big)


def test_catalog_has_the_awkward_shapes_real_discogs_data_has(market: SampleMarket) -> None:
    artists = [a for r in market.releases for a in r["artists"]]
    assert any(re.search(r" \(\d+\)$", a["name"]) for a in artists)
    assert {"&", ",", "/"} <= {a["join"] for a in artists}
    assert any(a["anv"] for a in artists)
    labels = [label for r in market.releases for label in r["labels"]]
    assert any(label["catno"] == "none" for label in labels)
    assert any(len(r["labels"]) > 1 for r in market.releases)
    assert any(int(r["formats"][0]["qty"]) > 1 for r in market.releases)
    genres = {g for r in market.releases for g in r["genres"]}
    assert {"Jazz", "Rock", "Funk / Soul", "Hip Hop", "Electronic", "Classical", "Reggae"} <= genres
    assert any("Heavy Metal" in r["styles"] or "Thrash" in r["styles"] for r in market.releases)


def test_price_suggestions_cover_every_grade_in_usd_best_grade_dearest(
    market: SampleMarket, releases_by_id: dict[int, dict[str, Any]]
) -> None:
    for release_id, suggestion in market.price_suggestions.items():
        assert release_id in releases_by_id
        assert list(suggestion) == list(GRADES)
        values = [suggestion[g]["value"] for g in GRADES]
        assert all(suggestion[g]["currency"] == "USD" for g in GRADES)
        assert values == sorted(values, reverse=True)


def test_a_few_releases_are_unpriced(market: SampleMarket) -> None:
    unpriced = [r for r in market.releases if r["id"] not in market.price_suggestions]
    assert 0 < len(unpriced) < 0.08 * len(market.releases)
    assert all(r["lowest_price"] is None for r in unpriced)


def test_original_first_presses_are_worth_far_more_than_reissues_and_cds(
    market: SampleMarket,
) -> None:
    def median_vg_plus(predicate: Any) -> float:
        values = sorted(
            market.price_suggestions[r["id"]]["Very Good Plus (VG+)"]["value"]
            for r in market.releases
            if r["id"] in market.price_suggestions and predicate(r)
        )
        return float(values[len(values) // 2])

    blue_note_originals = median_vg_plus(
        lambda r: r["labels"][0]["catno"].startswith("BLP ") and r["year"] < 1968
    )
    modern_reissues = median_vg_plus(lambda r: "180 Gram" in r["formats"][0]["descriptions"])
    cds = median_vg_plus(lambda r: r["formats"][0]["name"] == "CD")
    assert blue_note_originals > 3 * modern_reissues
    assert cds < 15 < modern_reissues


# --- eBay listings ---------------------------------------------------------------------------


def test_items_have_the_fields_the_browse_api_returns(market: SampleMarket) -> None:
    for item in market.items:
        assert set(item) >= SUMMARY_FIELDS, item["itemId"]
        match = ITEM_ID.match(item["itemId"])
        assert match
        assert match.group(1) == item["legacyItemId"]
        assert item["itemWebUrl"] == f"https://www.ebay.com/itm/{item['legacyItemId']}"
        assert re.fullmatch(r"\d+\.\d\d", item["price"]["value"])
        assert (item["condition"], item["conditionId"]) in {("New", "1000"), ("Used", "3000")}
        assert item["leafCategoryIds"][0] in {"176985", "176984", "176983"}
        assert item["categories"][0]["categoryId"] == item["leafCategoryIds"][0]
        assert isinstance(item["seller"]["feedbackPercentage"], str)
        assert isinstance(item["seller"]["feedbackScore"], int)
        assert ISO_MILLIS.match(item["itemCreationDate"])
        assert ISO_MILLIS.match(item["itemOriginDate"])


def test_titles_fit_ebays_80_characters(market: SampleMarket) -> None:
    assert all(0 < len(item["title"]) <= 80 for item in market.items)


def test_listings_were_created_over_the_three_days_before_now(market: SampleMarket) -> None:
    created = [_parse(item["itemCreationDate"]) for item in market.items]
    assert all(NOW - timedelta(days=3) <= moment <= NOW for moment in created)
    assert max(created) - min(created) > timedelta(days=2)


def test_auctions_carry_a_current_bid_and_an_end_date(market: SampleMarket) -> None:
    auctions = [i for i in market.items if "AUCTION" in i["buyingOptions"]]
    assert 0.10 < len(auctions) / len(market.items) < 0.20
    for item in auctions:
        assert re.fullmatch(r"\d+\.\d\d", item["currentBidPrice"]["value"])
        assert _parse(item["itemEndDate"]) > _parse(item["itemCreationDate"])
    assert any(i["buyingOptions"] == ["FIXED_PRICE", "BEST_OFFER"] for i in market.items)


def test_shipping_is_sometimes_free_sometimes_calculated_sometimes_missing(
    market: SampleMarket,
) -> None:
    kinds = Counter(
        "missing"
        if "shippingOptions" not in item
        else "free"
        if item["shippingOptions"][0].get("shippingCost", {}).get("value") == "0.00"
        else item["shippingOptions"][0]["shippingCostType"]
        for item in market.items
    )
    assert kinds["FIXED"] > kinds["free"] > 0
    assert kinds["CALCULATED"] > 0
    assert kinds["missing"] > 0
    calculated = [i for i in market.items if "CALCULATED" in json.dumps(i.get("shippingOptions"))]
    assert all("shippingCost" not in i["shippingOptions"][0] for i in calculated)


def test_some_listings_are_abroad_in_their_own_currency(market: SampleMarket) -> None:
    places = Counter(i["itemLocation"]["country"] for i in market.items)
    assert places.most_common(1)[0][0] == "US"
    assert {"GB", "DE", "CA", "JP"} <= set(places)
    currencies = {(i["itemLocation"]["country"], i["price"]["currency"]) for i in market.items}
    assert ("GB", "GBP") in currencies
    assert ("DE", "EUR") in currencies
    assert all(c in {"USD", "GBP", "EUR"} for _, c in currencies)


def test_every_true_release_exists_and_its_master_is_recorded(
    market: SampleMarket, releases_by_id: dict[int, dict[str, Any]]
) -> None:
    for item_id, release_id in market.truth.items():
        if release_id is None:
            assert market.truth_master[item_id] is None
        else:
            assert releases_by_id[release_id]["master_id"] == market.truth_master[item_id]


def test_about_a_quarter_of_listings_are_decoys(market: SampleMarket) -> None:
    decoys = sum(release_id is None for release_id in market.truth.values())
    assert 0.21 <= decoys / len(market.items) <= 0.29


def test_decoys_include_tributes_merchandise_lots_and_gear(market: SampleMarket) -> None:
    decoy_titles = " | ".join(i["title"] for i in market.items if market.truth[i["itemId"]] is None)
    for word in ("Tribute", "Poster", "T-Shirt", "EMPTY", "Lot Of", "Turntable", "Performed By"):
        assert word.lower() in decoy_titles.lower(), word


def test_catalog_numbers_appear_in_titles_specifics_or_not_at_all(
    market: SampleMarket, releases_by_id: dict[int, dict[str, Any]]
) -> None:
    in_title = only_in_specifics = 0
    for item in market.items:
        release_id = market.truth[item["itemId"]]
        if release_id is None:
            continue
        catnos = _catnos(releases_by_id[release_id])
        aspects = {a["name"]: a["value"] for a in item.get("localizedAspects", [])}
        if any(c in _squeezed(item["title"]) for c in catnos):
            in_title += 1
        elif "Catalog Number" in aspects:
            only_in_specifics += 1
        if "Catalog Number" in aspects:
            assert normalize_catalog_no(aspects["Catalog Number"]) in catnos
    assert 0.28 <= in_title / len(market.items) <= 0.42
    assert 0.10 <= only_in_specifics / len(market.items) <= 0.20


def test_item_specifics_are_on_a_good_share_of_items_and_gtins_are_the_true_barcodes(
    market: SampleMarket, releases_by_id: dict[int, dict[str, Any]]
) -> None:
    with_aspects = sum("localizedAspects" in i for i in market.items)
    assert 0.30 <= with_aspects / len(market.items) <= 0.50
    gtins = [i for i in market.items if "gtin" in i]
    assert gtins
    for item in gtins:
        release_id = market.truth[item["itemId"]]
        assert release_id is not None
        assert normalize_barcode(item["gtin"]) in _barcodes(releases_by_id[release_id])


def test_titles_are_as_noisy_as_sellers_write_them(
    market: SampleMarket, releases_by_id: dict[int, dict[str, Any]]
) -> None:
    matched = [i for i in market.items if market.truth[i["itemId"]] is not None]
    titles = [i["title"] for i in matched]
    assert sum(t.isupper() for t in titles) > 0.1 * len(titles)
    assert any("🔥" in t for t in titles)
    assert any(re.search(r"\b(VG\+|NM|EX|M-)\b", t) for t in titles)
    assert any("1st press" in t.lower() or "orig" in t.lower() for t in titles)
    assert any("180g" in t.lower() or "sealed" in t.lower() for t in titles)
    not_verbatim = sum(
        releases_by_id[market.truth[i["itemId"]] or 0]["title"].lower() not in i["title"].lower()
        for i in matched
    )
    assert not_verbatim > 0.1 * len(matched)


def test_detail_only_fields_are_named_for_the_fake_ebay_server(market: SampleMarket) -> None:
    assert {"gtin", "mpn", "localizedAspects", "shortDescription"} <= DETAIL_ONLY_FIELDS
    assert any(DETAIL_ONLY_FIELDS & set(item) for item in market.items)


# --- deals -------------------------------------------------------------------------------------


def test_about_a_tenth_of_listings_are_deals(market: SampleMarket) -> None:
    assert 0.08 <= len(market.deals) / len(market.items) <= 0.12


def test_deals_are_far_under_the_suggestion_for_their_grade_and_others_are_not(
    market: SampleMarket,
) -> None:
    checked = 0
    for item in market.items:
        item_id = item["itemId"]
        release_id, grade = market.truth[item_id], market.grades[item_id]
        total = _total(item)
        suggestion = market.price_suggestions.get(release_id or 0)
        if item_id in market.deals:
            assert suggestion
            assert grade
            assert total is not None
            assert item["price"]["currency"] == "USD"
            assert total <= DEAL_MAX_RATIO * suggestion[grade]["value"]
            assert GRADES.index(grade) <= 3  # VG or better
            assert float(item["seller"]["feedbackPercentage"]) >= 98.0
        elif suggestion and grade and total is not None and item["price"]["currency"] == "USD":
            assert total >= NORMAL_MIN_RATIO * suggestion[grade]["value"] - 0.01
            checked += 1
    assert checked > 500


def test_some_listings_are_overpriced(market: SampleMarket) -> None:
    over = 0
    for item in market.items:
        release_id, grade = market.truth[item["itemId"]], market.grades[item["itemId"]]
        suggestion = market.price_suggestions.get(release_id or 0)
        total = _total(item)
        if suggestion and grade and total and item["price"]["currency"] == "USD":
            over += total > 1.4 * suggestion[grade]["value"]
    assert over > 50


# --- arrivals ----------------------------------------------------------------------------------


def test_arrivals_are_new_listings_arriving_over_time(market: SampleMarket) -> None:
    start = NOW + timedelta(minutes=5)
    new = list(itertools.islice(arrivals(market, seed=1, start=start, per_hour=60), 200))
    ids = [item["itemId"] for item in new]
    assert len(set(ids)) == 200
    assert not set(ids) & set(market.truth)
    origins = [_parse(item["itemOriginDate"]) for item in new]
    assert origins == sorted(origins)
    assert origins[0] >= start
    # 200 listings at 60 an hour take about 200 minutes.
    assert timedelta(minutes=120) < origins[-1] - start < timedelta(minutes=320)
    assert all(len(item["title"]) <= 80 for item in new)


def test_arrivals_are_deterministic(market: SampleMarket) -> None:
    first = list(itertools.islice(arrivals(market, seed=2, start=NOW, per_hour=30), 20))
    again = list(itertools.islice(arrivals(market, seed=2, start=NOW, per_hour=30), 20))
    assert first == again


def test_arrivals_with_truth_name_catalog_releases_and_deals(
    market: SampleMarket, releases_by_id: dict[int, dict[str, Any]]
) -> None:
    stream = arrivals_with_truth(market, seed=3, start=NOW, per_hour=120)
    sample = list(itertools.islice(stream, 400))
    known = [a for a in sample if a.release_id is not None]
    assert all(a.release_id in releases_by_id for a in known)
    assert 0.6 < len(known) / len(sample) < 0.9
    assert any(a.is_deal for a in sample)


def test_arrivals_refuse_a_rate_that_is_not_positive(market: SampleMarket) -> None:
    with pytest.raises(ValueError, match="per_hour"):
        next(arrivals(market, seed=1, start=NOW, per_hour=0))
