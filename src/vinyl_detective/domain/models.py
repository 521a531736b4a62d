"""The product's nouns, as plain immutable values shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class MatchMethod(StrEnum):
    """How a listing was identified as a release, strongest first."""

    CATALOG_NO = "catalog_no"
    BARCODE = "barcode"
    FUZZY = "fuzzy"
    # The album is certain, the pressing is not: priced as the cheapest of its pressings.
    ALBUM = "album"


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class BuyingOption(StrEnum):
    FIXED_PRICE = "FIXED_PRICE"
    AUCTION = "AUCTION"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount with its currency. Two currencies are never compared without converting."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount:.2f} {self.currency}"


@dataclass(frozen=True, slots=True)
class Listing:
    """One marketplace listing, normalised from whatever source found it.

    `shipping` is None when unknown (eBay "CALCULATED" with no cost): unknown is not free.
    `catalog_no` and `barcode` come from item specifics when the source had them.
    """

    item_id: str
    title: str
    price: Decimal
    currency: str
    shipping: Decimal | None = None
    condition: str | None = None
    condition_id: str | None = None
    buying_option: BuyingOption = BuyingOption.FIXED_PRICE
    seller_username: str | None = None
    seller_feedback_pct: float | None = None
    seller_feedback_score: int | None = None
    url: str = ""
    affiliate_url: str | None = None
    image_url: str | None = None
    country: str | None = None
    category_id: str | None = None
    listed_at: datetime | None = None
    ends_at: datetime | None = None
    catalog_no: str | None = None
    barcode: str | None = None
    format_hint: str | None = None
    source: str = "ebay"
    marketplace: str = "EBAY_US"
    # False when the source says nothing is left to buy (eBay: OUT_OF_STOCK, i.e. sold).
    available: bool = True

    @property
    def total(self) -> Decimal:
        """Price plus shipping; unknown shipping counts as zero here, see `shipping_known`."""
        return self.price + (self.shipping or Decimal(0))

    @property
    def shipping_known(self) -> bool:
        return self.shipping is not None


@dataclass(frozen=True, slots=True)
class PriceGuide:
    """What Discogs says a release is worth.

    `by_condition` maps a grade code ("M", "NM", "VG+", "VG", "G+", "G", "F", "P")
    to a suggested price; `lowest` is the lowest current marketplace price.
    """

    currency: str
    by_condition: dict[str, Decimal] = field(default_factory=dict)
    lowest: Decimal | None = None
    num_for_sale: int | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Release:
    """A Discogs release as the local catalog knows it."""

    id: int
    artist: str
    title: str
    labels: tuple[str, ...] = ()
    catalog_nos: tuple[str, ...] = ()
    barcodes: tuple[str, ...] = ()
    format: str | None = None
    format_descriptions: tuple[str, ...] = ()
    country: str | None = None
    year: int | None = None
    master_id: int | None = None
    genres: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    status: str | None = None
    prices: PriceGuide | None = None

    @property
    def display_name(self) -> str:
        return f"{self.artist} – {self.title}"


@dataclass(frozen=True, slots=True)
class Match:
    """The outcome of identifying a listing: which release, how, how sure (0..1).

    For an ALBUM match `pressings` are the album's pressings that the listing may be
    (`release_id` is one of them: after pricing, the cheapest for the listing's grade), and
    `pressing_outside_catalog` says that the title names a pressing none of them is (its
    catalog number, barcode or year): then no price of theirs is a safe reference.
    """

    release_id: int
    method: MatchMethod
    confidence: float
    pressings: tuple[int, ...] = ()
    pressing_outside_catalog: bool = False


@dataclass(frozen=True, slots=True)
class Deal:
    """A matched, priced listing that is cheaper than its reference price."""

    listing: Listing
    release: Release
    match: Match
    reference: Money
    total: Money
    score: float
    priority: Priority
    reference_condition: str | None = None
    # Set when the alert is about a price drop: the listing's price + shipping before it,
    # in the listing's currency (cards say "price dropped from A to B").
    previous_total: Money | None = None

    @property
    def saving(self) -> Money:
        return Money(self.reference.amount - self.total.amount, self.reference.currency)


# A search's default alert threshold (deal score), also what applies to a listing that no
# search claims (one handed in through the ingest webhook).
DEFAULT_MIN_DEAL_SCORE = 0.25


@dataclass(frozen=True, slots=True)
class SavedSearch:
    """A user's standing eBay query, with its own threshold and filter rule."""

    id: int
    query: str
    chat_id: int | None = None
    name: str | None = None
    min_deal_score: float = DEFAULT_MIN_DEAL_SCORE
    poll_minutes: int = 30
    active: bool = True
    rule: str | None = None
    category_id: str | None = None
    marketplace: str = "EBAY_US"
    channels: tuple[str, ...] = ()
