"""Is this listing a deal? The price Discogs gives its release against what it costs here.

    deal_score = (reference - total) / reference      total = price + shipping

`reference` is the Discogs price suggestion for the listing's grade (or the lowest
marketplace price when there are no suggestions); `total` is converted into the
reference's currency first. The raw score is then lowered by the modifiers below (each
a documented constant), clamped to [-1, 1], and ranked: high ≥ 0.40, medium ≥ 0.25,
low otherwise. Overpriced (score ≤ 0 after modifiers) or unpriced → no deal (None).

Modifiers, in score points subtracted:
- seller feedback below 98 % → 0.05; below 95 % → 0.15;
- a seller with fewer than 10 ratings → 0.03;
- an auction: its current bid is not the final price → 0.10 when it ends within a day,
  0.15 within three days or when the end (or `now`) is unknown, 0.20 later;
- a fuzzy match → half of the missing confidence ((1 - confidence) / 2);
- an ungraded listing (priced as VG+, the typical used copy) → 0.05.
Unknown shipping is not free: a typical cost for the format is assumed (see
`TYPICAL_SHIPPING_USD`) and counted in the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.grading import Grade, grade_code, grade_from_listing, parse_grade
from vinyl_detective.domain.models import (
    BuyingOption,
    Deal,
    Listing,
    Match,
    MatchMethod,
    Money,
    Priority,
    Release,
)

UNGRADED_REFERENCE = Grade.VG_PLUS
"""The grade an ungraded used listing is priced as: the typical used copy."""

FEEDBACK_WARNING_PCT = 98.0
FEEDBACK_WARNING_PENALTY = 0.05
FEEDBACK_POOR_PCT = 95.0
FEEDBACK_POOR_PENALTY = 0.15
FEW_RATINGS = 10
FEW_RATINGS_PENALTY = 0.03
AUCTION_ENDING_SOON = timedelta(days=1)
AUCTION_ENDING_SOON_PENALTY = 0.10
AUCTION_ENDING_LATER = timedelta(days=3)
AUCTION_ENDING_LATER_PENALTY = 0.15
AUCTION_FAR_PENALTY = 0.20
AUCTION_UNKNOWN_END_PENALTY = AUCTION_ENDING_LATER_PENALTY
FUZZY_PENALTY_FACTOR = 0.5
UNGRADED_PENALTY = 0.05

TYPICAL_SHIPPING_USD: dict[str, Decimal] = {
    # Domestic tracked shipping for one item, in USD, assumed when a listing does not say.
    "box set": Decimal("15.00"),
    "lp": Decimal("6.00"),  # 12" LP in a mailer (US media mail is about $5-6)
    '12"': Decimal("6.00"),
    '10"': Decimal("6.00"),
    '7"': Decimal("4.50"),
    "cd": Decimal("4.00"),
    "cassette": Decimal("4.00"),
    "vinyl": Decimal("6.00"),
}
DEFAULT_SHIPPING_USD = Decimal("6.00")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where the priorities start: a score ≥ `high` is HIGH, ≥ `medium` MEDIUM, else LOW."""

    high: float = 0.40
    medium: float = 0.25

    def __post_init__(self) -> None:
        if not 0 <= self.medium <= self.high <= 1:
            msg = (
                f"priority thresholds must satisfy 0 <= medium <= high <= 1, "
                f"got medium={self.medium} high={self.high}"
            )
            raise ValueError(msg)

    def priority(self, score: float) -> Priority:
        if score >= self.high:
            return Priority.HIGH
        if score >= self.medium:
            return Priority.MEDIUM
        return Priority.LOW


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    """How a score came about, for deal cards and `deals --explain`.

    `adjustments` are (reason, points subtracted) in the order applied; `assumed_shipping`
    is set when the listing's shipping was unknown and a typical cost was counted.
    """

    reference: Money
    reference_condition: str | None
    total: Money
    grade: Grade | None
    raw_score: float
    adjustments: tuple[tuple[str, float], ...]
    score: float
    assumed_shipping: Money | None = None


def reference_price(release: Release, grade: Grade | None) -> tuple[Money, str | None] | None:
    """The price a copy of `release` in `grade` is worth, and the grade code it is for.

    With Discogs price suggestions: the suggestion for that grade; if Discogs has none for
    it, the nearest *lower* grade it has (never a better grade's price). An unknown grade
    is priced as VG+ (`UNGRADED_REFERENCE`; `score_deal` lowers the score for it).
    Without suggestions: the lowest marketplace price (condition None). Otherwise None.
    """
    guide = release.prices
    if guide is None:
        return None
    wanted = grade if grade is not None else UNGRADED_REFERENCE
    suggestions: dict[Grade, Decimal] = {}
    for code, value in guide.by_condition.items():
        parsed = parse_grade(code)
        if parsed is not None and value > 0:
            suggestions[parsed] = value
    usable = [g for g in suggestions if g <= wanted]
    if usable:
        best = max(usable)
        return Money(suggestions[best], guide.currency), grade_code(best)
    # The lowest price for sale is for a copy of unknown condition, typically a played
    # one: fair against a VG or better copy, flattering for a worn one — refused there.
    worn = grade is not None and grade < Grade.VG
    if guide.lowest is not None and guide.lowest > 0 and not worn:
        return Money(guide.lowest, guide.currency), None
    return None


def cheapest_pressing(
    pressings: Sequence[Release], grade: Grade | None, rates: ExchangeRates
) -> Release | None:
    """The pressing of an album whose reference for `grade` is the lowest: the price an
    album match is scored against, so that a deal is a deal whichever pressing the listing
    is. None when one of them has no reference (or none that converts): then nothing is a
    safe price for the album.
    """
    best: tuple[Decimal, Release] | None = None
    for release in pressings:
        priced = reference_price(release, grade)
        if priced is None:
            return None
        amount = rates.convert(priced[0].amount, priced[0].currency, "USD")
        if amount is None:
            return None
        if best is None or amount < best[0]:
            best = (amount, release)
    return best[1] if best else None


# An album with more pressings than this is not priced: fetching every one's prices
# would cost more Discogs calls than one listing is worth.
MAX_PRICED_PRESSINGS = 15


def album_can_be_priced(match: Match) -> bool:
    """Whether an album match is priced at all: not when the title names a pressing the
    catalog lacks, nor when the album has no pressings or more than MAX_PRICED_PRESSINGS."""
    return not match.pressing_outside_catalog and 0 < len(match.pressings) <= MAX_PRICED_PRESSINGS


def album_reference(
    listing: Listing, match: Match, pressings: Sequence[Release], rates: ExchangeRates
) -> Release | None:
    """The pressing an album match is scored against: the cheapest of all its pressings
    for the listing's grade, so that a deal is a deal whichever pressing the listing is.
    None when the album cannot be priced, or one of its pressings is missing from
    `pressings` or has no price."""
    if not album_can_be_priced(match) or len(pressings) != len(match.pressings):
        return None
    grade = grade_from_listing(listing.condition, listing.condition_id, listing.title)
    return cheapest_pressing(pressings, grade, rates)


def typical_shipping(release: Release) -> Money:
    """The shipping cost assumed for a listing that does not state one (USD)."""
    words = [d.lower() for d in release.format_descriptions]
    if release.format:
        words.append(release.format.lower())
    for key, cost in TYPICAL_SHIPPING_USD.items():
        if key in words:
            return Money(cost, "USD")
    return Money(DEFAULT_SHIPPING_USD, "USD")


def _adjustments(
    listing: Listing, match: Match, grade: Grade | None, now: datetime | None
) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    pct = listing.seller_feedback_pct
    if pct is not None:
        if pct < FEEDBACK_POOR_PCT:
            out.append(
                (f"seller feedback {pct:g}% is below {FEEDBACK_POOR_PCT:g}%", FEEDBACK_POOR_PENALTY)
            )
        elif pct < FEEDBACK_WARNING_PCT:
            out.append(
                (
                    f"seller feedback {pct:g}% is below {FEEDBACK_WARNING_PCT:g}%",
                    FEEDBACK_WARNING_PENALTY,
                )
            )
    ratings = listing.seller_feedback_score
    if ratings is not None and ratings < FEW_RATINGS:
        out.append((f"seller has only {ratings} ratings", FEW_RATINGS_PENALTY))
    if listing.buying_option is BuyingOption.AUCTION:
        if listing.ends_at is None or now is None:
            out.append(
                ("auction: the current bid is not the final price", AUCTION_UNKNOWN_END_PENALTY)
            )
        else:
            left = listing.ends_at - now
            if left <= AUCTION_ENDING_SOON:
                out.append(("auction ending within a day", AUCTION_ENDING_SOON_PENALTY))
            elif left <= AUCTION_ENDING_LATER:
                out.append(("auction ending within three days", AUCTION_ENDING_LATER_PENALTY))
            else:
                out.append(("auction ending in more than three days", AUCTION_FAR_PENALTY))
    if match.method in (MatchMethod.FUZZY, MatchMethod.ALBUM):
        confidence = min(max(match.confidence, 0.0), 1.0)
        penalty = (1.0 - confidence) * FUZZY_PENALTY_FACTOR
        kind = "fuzzy" if match.method is MatchMethod.FUZZY else "album"
        if penalty > 0:
            out.append((f"{kind} match ({confidence:.0%} sure)", penalty))
    if grade is None:
        out.append(("grade not stated; priced as VG+", UNGRADED_PENALTY))
    return out


def explain_score(
    listing: Listing,
    release: Release,
    match: Match,
    *,
    rates: ExchangeRates,
    now: datetime | None = None,
) -> ScoreBreakdown | None:
    """The full reckoning behind `score_deal`, or None when it cannot be priced.

    None when the release has no price, or when the listing's currency (or the
    assumed shipping's) cannot be converted into the reference's currency.
    """
    grade = grade_from_listing(listing.condition, listing.condition_id, listing.title)
    priced = reference_price(release, grade)
    if priced is None:
        return None
    reference, condition = priced
    assumed: Money | None = None
    shipping = listing.shipping
    if shipping is None:
        typical = typical_shipping(release)
        shipping = rates.convert(typical.amount, typical.currency, listing.currency)
        if shipping is None:
            return None
        assumed = Money(shipping, listing.currency)
    total_amount = rates.convert(listing.price + shipping, listing.currency, reference.currency)
    if total_amount is None:
        return None
    raw = float((reference.amount - total_amount) / reference.amount)
    adjustments = _adjustments(listing, match, grade, now)
    score = raw - sum(points for _, points in adjustments)
    score = min(max(score, -1.0), 1.0)
    return ScoreBreakdown(
        reference=reference,
        reference_condition=condition,
        total=Money(total_amount, reference.currency),
        grade=grade,
        raw_score=raw,
        adjustments=tuple(adjustments),
        score=score,
        assumed_shipping=assumed,
    )


def score_deal(
    listing: Listing,
    release: Release,
    match: Match,
    *,
    rates: ExchangeRates,
    thresholds: Thresholds = Thresholds(),
    now: datetime | None = None,
) -> Deal | None:
    """The deal `listing` is, or None when it is overpriced, unpriced or not comparable.

    `now` only matters for auctions (how far off their end is); without it an auction
    gets the middle penalty.
    """
    breakdown = explain_score(listing, release, match, rates=rates, now=now)
    return deal_of(listing, release, match, breakdown, thresholds)


def deal_of(
    listing: Listing,
    release: Release,
    match: Match,
    breakdown: ScoreBreakdown | None,
    thresholds: Thresholds = Thresholds(),
) -> Deal | None:
    """The deal a reckoning (`explain_score`) makes, or None when it is no deal."""
    if breakdown is None or breakdown.score <= 0:
        return None
    return Deal(
        listing=listing,
        release=release,
        match=match,
        reference=breakdown.reference,
        total=breakdown.total,
        score=breakdown.score,
        priority=thresholds.priority(breakdown.score),
        reference_condition=breakdown.reference_condition,
    )
