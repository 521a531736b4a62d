"""How a listing is priced against Discogs and ranked as a deal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from vinyl_detective.domain.currency import DEFAULT_RATES, ExchangeRates
from vinyl_detective.domain.grading import Grade
from vinyl_detective.domain.models import (
    BuyingOption,
    Listing,
    Match,
    MatchMethod,
    Money,
    PriceGuide,
    Priority,
    Release,
)
from vinyl_detective.domain.scoring import (
    MAX_PRICED_PRESSINGS,
    Thresholds,
    album_reference,
    cheapest_pressing,
    explain_score,
    reference_price,
    score_deal,
    typical_shipping,
)

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
RATES = ExchangeRates({"USD": Decimal(1), "EUR": Decimal("1.10"), "GBP": Decimal("1.25")})
SURE = Match(release_id=1, method=MatchMethod.CATALOG_NO, confidence=1.0)

SUGGESTIONS = {
    "M": Decimal("62.00"),
    "NM": Decimal("55.00"),
    "VG+": Decimal("40.00"),
    "VG": Decimal("25.00"),
    "G+": Decimal("15.00"),
}


def release(
    *,
    by_condition: dict[str, Decimal] | None = None,
    lowest: Decimal | None = None,
    currency: str = "USD",
    fmt: str = "Vinyl",
    descriptions: tuple[str, ...] = ("LP", "Album"),
) -> Release:
    guide = PriceGuide(
        currency=currency,
        by_condition=SUGGESTIONS if by_condition is None else by_condition,
        lowest=lowest,
    )
    return Release(
        id=1,
        artist="Art Blakey & The Jazz Messengers",
        title="Moanin'",
        format=fmt,
        format_descriptions=descriptions,
        prices=guide,
    )


def listing(
    price: str = "20.00",
    shipping: str | None = "0.00",
    *,
    title: str = "Art Blakey Moanin' LP Blue Note BLP 4003 VG+",
    currency: str = "USD",
    **extra: object,
) -> Listing:
    base = Listing(
        item_id="v1|1|0",
        title=title,
        price=Decimal(price),
        currency=currency,
        shipping=None if shipping is None else Decimal(shipping),
        condition="Used",
        condition_id="3000",
        seller_feedback_pct=99.8,
        seller_feedback_score=2400,
    )
    return replace(base, **extra)  # type: ignore[arg-type]


# --- the formula and the priorities ---------------------------------------------------


def test_deal_score_is_the_saving_as_a_share_of_the_reference_price() -> None:
    deal = score_deal(listing("24.00", "6.00"), release(), SURE, rates=RATES)
    assert deal is not None
    assert deal.reference == Money(Decimal("40.00"), "USD")
    assert deal.total == Money(Decimal("30.00"), "USD")
    assert deal.score == pytest.approx(0.25)
    assert deal.reference_condition == "VG+"
    assert deal.saving == Money(Decimal("10.00"), "USD")


@pytest.mark.parametrize(
    ("price", "priority"),
    [
        ("24.00", Priority.HIGH),
        ("24.01", Priority.MEDIUM),
        ("30.00", Priority.MEDIUM),
        ("30.01", Priority.LOW),
        ("39.00", Priority.LOW),
    ],
)
def test_priority_is_high_from_40_percent_and_medium_from_25(
    price: str, priority: Priority
) -> None:
    deal = score_deal(listing(price), release(), SURE, rates=RATES)
    assert deal is not None
    assert deal.priority is priority


def test_thresholds_can_be_changed() -> None:
    deal = score_deal(
        listing("30.00"),
        release(),
        SURE,
        rates=RATES,
        thresholds=Thresholds(high=0.20, medium=0.10),
    )
    assert deal is not None
    assert deal.priority is Priority.HIGH


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="medium <= high"):
        Thresholds(high=0.2, medium=0.3)


def test_an_overpriced_listing_is_not_a_deal() -> None:
    assert score_deal(listing("45.00"), release(), SURE, rates=RATES) is None
    assert score_deal(listing("40.00"), release(), SURE, rates=RATES) is None


def test_an_unpriced_release_gives_no_deal() -> None:
    unpriced = replace(release(), prices=None)
    assert score_deal(listing("1.00"), unpriced, SURE, rates=RATES) is None
    empty = release(by_condition={}, lowest=None)
    assert score_deal(listing("1.00"), empty, SURE, rates=RATES) is None


# --- the reference price by condition -------------------------------------------------


def test_the_reference_is_the_suggestion_for_the_listings_grade() -> None:
    nm = score_deal(listing(title="Moanin' LP NM/VG+"), release(), SURE, rates=RATES)
    vg = score_deal(listing(title="Moanin' LP VG/VG"), release(), SURE, rates=RATES)
    assert nm is not None
    assert vg is not None
    assert (nm.reference.amount, nm.reference_condition) == (Decimal("55.00"), "NM")
    assert (vg.reference.amount, vg.reference_condition) == (Decimal("25.00"), "VG")


def test_a_grade_discogs_has_no_suggestion_for_uses_the_next_lower_grade() -> None:
    assert reference_price(release(), Grade.P) is None  # nothing at or below P, no lowest
    partial = release(by_condition={"VG+": Decimal("40"), "G+": Decimal("15")})
    assert reference_price(partial, Grade.VG) == (Money(Decimal("15"), "USD"), "G+")
    assert reference_price(partial, Grade.M) == (Money(Decimal("40"), "USD"), "VG+")


def test_discogs_long_grade_names_are_understood_too() -> None:
    named = release(by_condition={"Very Good Plus (VG+)": Decimal("33.3")})
    assert reference_price(named, Grade.VG_PLUS) == (Money(Decimal("33.3"), "USD"), "VG+")


def test_an_ungraded_listing_is_priced_as_vg_plus_with_lower_confidence() -> None:
    graded = score_deal(listing(title="Moanin' LP VG+"), release(), SURE, rates=RATES)
    ungraded = score_deal(listing(title="Moanin' LP"), release(), SURE, rates=RATES)
    assert graded is not None
    assert ungraded is not None
    assert ungraded.reference_condition == "VG+"
    assert ungraded.score == pytest.approx(graded.score - 0.05)


def test_a_sealed_copy_is_priced_as_mint() -> None:
    deal = score_deal(
        listing(title="Moanin' LP", condition="Brand New", condition_id="1000"),
        release(),
        SURE,
        rates=RATES,
    )
    assert deal is not None
    assert deal.reference_condition == "M"


def test_without_suggestions_the_lowest_marketplace_price_is_the_reference() -> None:
    deal = score_deal(
        listing("20.00"), release(by_condition={}, lowest=Decimal("35")), SURE, rates=RATES
    )
    assert deal is not None
    assert deal.reference == Money(Decimal("35"), "USD")
    assert deal.reference_condition is None


def test_a_worn_copy_is_not_priced_against_the_lowest_copy_for_sale() -> None:
    guide_without_grades = release(by_condition={}, lowest=Decimal("35"))
    assert reference_price(guide_without_grades, Grade.G) is None
    assert reference_price(guide_without_grades, Grade.VG) is not None


# --- currencies ----------------------------------------------------------------------


def test_the_total_is_converted_into_the_reference_currency() -> None:
    # 22 GBP * 1.25 / 1.10 = 25.00 EUR against a 40 EUR reference.
    deal = score_deal(
        listing("20.00", "2.00", currency="GBP"), release(currency="EUR"), SURE, rates=RATES
    )
    assert deal is not None
    assert deal.total == Money(Decimal("25.00"), "EUR")
    assert deal.score == pytest.approx(0.375)


def test_an_unknown_currency_is_refused_rather_than_compared() -> None:
    assert score_deal(listing("1.00", currency="XYZ"), release(), SURE, rates=RATES) is None


def test_exchange_rates_refuse_unknown_currencies() -> None:
    assert RATES.convert(Decimal(10), "USD", "SEK") is None
    assert RATES.convert(Decimal(10), "xyz", "XYZ") == Decimal(10)
    assert RATES.convert(Decimal(11), "EUR", "usd") == Decimal("12.10")


def test_default_rates_cover_the_common_currencies() -> None:
    for currency in ("USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CHF", "SEK"):
        assert DEFAULT_RATES.knows(currency)
    assert DEFAULT_RATES.convert(Decimal(1000), "JPY", "USD") == Decimal("6.80")
    assert ExchangeRates() == DEFAULT_RATES


def test_rates_can_be_overridden_from_configuration() -> None:
    rates = ExchangeRates().with_rates({"EUR": "1.00", "NOK": "0.1"})
    assert rates.convert(Decimal(5), "EUR", "USD") == Decimal("5.00")
    assert rates.convert(Decimal(10), "NOK", "USD") == Decimal("1.00")
    with pytest.raises(ValueError, match="NOK"):
        ExchangeRates().with_rates({"NOK": "lots"})
    with pytest.raises(ValueError, match="positive"):
        ExchangeRates({"EUR": Decimal(0)})


# --- modifiers -----------------------------------------------------------------------


def _score(lst: Listing, match: Match = SURE, now: datetime | None = NOW) -> float:
    deal = score_deal(lst, release(), match, rates=RATES, now=now)
    assert deal is not None
    return deal.score


def test_unknown_shipping_is_not_free_a_typical_cost_is_assumed() -> None:
    breakdown = explain_score(listing("20.00", None), release(), SURE, rates=RATES)
    assert breakdown is not None
    assert breakdown.assumed_shipping == Money(Decimal("6.00"), "USD")
    assert breakdown.total == Money(Decimal("26.00"), "USD")


def test_typical_shipping_depends_on_the_format() -> None:
    assert typical_shipping(release(fmt="CD", descriptions=("Album",))).amount == Decimal("4.00")
    assert typical_shipping(release(descriptions=('7"', "Single"))).amount == Decimal("4.50")
    assert typical_shipping(release(descriptions=("LP", "Box Set"))).amount == Decimal("15.00")


def test_assumed_shipping_is_converted_into_the_listings_currency() -> None:
    breakdown = explain_score(listing("10.00", None, currency="GBP"), release(), SURE, rates=RATES)
    assert breakdown is not None
    assert breakdown.assumed_shipping == Money(Decimal("4.80"), "GBP")  # 6 USD / 1.25


def test_low_seller_feedback_lowers_the_score() -> None:
    good = _score(listing())
    assert _score(listing(seller_feedback_pct=97.5)) == pytest.approx(good - 0.05)
    assert _score(listing(seller_feedback_pct=90.0)) == pytest.approx(good - 0.15)


def test_a_seller_with_few_ratings_lowers_the_score_a_little() -> None:
    good = _score(listing())
    assert _score(listing(seller_feedback_score=3)) == pytest.approx(good - 0.03)


def test_an_auction_scores_lower_the_further_off_its_end_is() -> None:
    fixed = _score(listing())
    soon = _score(listing(buying_option=BuyingOption.AUCTION, ends_at=NOW + timedelta(hours=2)))
    later = _score(listing(buying_option=BuyingOption.AUCTION, ends_at=NOW + timedelta(days=2)))
    far = _score(listing(buying_option=BuyingOption.AUCTION, ends_at=NOW + timedelta(days=6)))
    unknown = _score(listing(buying_option=BuyingOption.AUCTION), now=None)
    assert fixed > soon > later > far
    assert unknown == pytest.approx(later)


def test_a_less_certain_fuzzy_match_lowers_the_score() -> None:
    sure = _score(listing())
    fuzzy = _score(listing(), Match(release_id=1, method=MatchMethod.FUZZY, confidence=0.9))
    assert fuzzy == pytest.approx(sure - 0.05)


def test_modifiers_can_turn_a_marginal_saving_into_no_deal() -> None:
    marginal = listing("37.00", seller_feedback_pct=90.0)
    assert score_deal(marginal, release(), SURE, rates=RATES) is None


def test_the_breakdown_explains_every_adjustment() -> None:
    breakdown = explain_score(
        listing(seller_feedback_pct=96.0, buying_option=BuyingOption.AUCTION),
        release(),
        SURE,
        rates=RATES,
    )
    assert breakdown is not None
    reasons = [reason for reason, _ in breakdown.adjustments]
    assert reasons == [
        "seller feedback 96% is below 98%",
        "auction: the current bid is not the final price",
    ]
    assert breakdown.score == pytest.approx(breakdown.raw_score - 0.20)


def test_the_score_never_leaves_minus_one_to_one() -> None:
    free = score_deal(listing("0.00"), release(), SURE, rates=RATES)
    assert free is not None
    assert free.score == pytest.approx(1.0)
    pricey = explain_score(listing("500.00"), release(), SURE, rates=RATES)
    assert pricey is not None
    assert pricey.score == -1.0


# --- grades written as letter pairs and album matches (issue 10) ------------------------


def test_a_copy_graded_g_g_is_priced_as_good_never_as_vg_plus() -> None:
    # G/G is media Good, sleeve Good. Discogs has no G price here: nothing at or below G
    # and no lowest price for sale, so it is not a deal at all — never the VG+ $40.
    assert score_deal(listing("9.00", title="Moanin' LP G/G"), release(), SURE, rates=RATES) is None
    fair = release(by_condition={**SUGGESTIONS, "G": Decimal("8.00")})
    priced = score_deal(listing("5.00", title="Moanin' LP G/G"), fair, SURE, rates=RATES)
    assert priced is not None
    assert (priced.reference.amount, priced.reference_condition) == (Decimal("8.00"), "G")


def test_an_album_match_is_priced_against_its_cheapest_pressing_for_the_grade() -> None:
    original = replace(release(), id=1)
    reissue = replace(release(by_condition={"NM": Decimal("20.00"), "VG+": Decimal("12.00")}), id=2)
    assert cheapest_pressing([original, reissue], Grade.NM, RATES) == reissue
    unpriced = replace(release(by_condition={}), id=3)
    # One pressing without a price: no reference is safe for the album.
    assert cheapest_pressing([original, unpriced], Grade.NM, RATES) is None


def test_an_album_match_is_priced_only_when_every_pressing_is_known_and_few() -> None:
    pressings = [replace(release(), id=i) for i in range(1, 4)]
    album = Match(release_id=1, method=MatchMethod.ALBUM, confidence=0.9, pressings=(1, 2, 3))
    graded = listing(condition="Near Mint")
    assert album_reference(graded, album, pressings, RATES) in pressings
    # A pressing whose record could not be fetched: nothing is a safe price.
    assert album_reference(graded, album, pressings[:2], RATES) is None
    # The title names a pressing the catalog lacks.
    outside = replace(album, pressing_outside_catalog=True)
    assert album_reference(graded, outside, pressings, RATES) is None
    # More pressings than are worth pricing for one listing.
    many_ids = tuple(range(1, MAX_PRICED_PRESSINGS + 2))
    many = replace(album, pressings=many_ids)
    assert (
        album_reference(graded, many, [replace(release(), id=i) for i in many_ids], RATES) is None
    )
