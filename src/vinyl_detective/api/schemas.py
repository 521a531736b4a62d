"""What the admin API and the ingest webhook accept and answer, as pydantic models.

Requests are validated here, so a bad payload is refused with the path of the field at
fault (`listings.3.price`) before any code of ours runs. Responses are built from the
storage records by the `from_*` constructors; money travels as decimal strings
("45.00"), never floats, and always next to its currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from vinyl_detective.domain.lifecycle import DealState
from vinyl_detective.domain.models import BuyingOption, Listing, Release
from vinyl_detective.jobs.pipeline import PipelineCounts
from vinyl_detective.storage.deals import DealRecord, Transition
from vinyl_detective.storage.listings import StoredListing

MAX_LISTINGS_PER_REQUEST = 500

# Money in: a non-negative decimal with at most two decimals ("45.00", 45, 45.5). The
# documented schema names the exact forms (a string, or a whole number); other JSON numbers
# are accepted when they are exact cents.
AMOUNT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^\d{1,10}(\.\d{1,2})?$"},
        {"type": "integer", "minimum": 0, "maximum": 9_999_999_999},
    ],
    "examples": ["45.00"],
}
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    WithJsonSchema(AMOUNT_SCHEMA, mode="validation"),
]
# `price` and `shipping` of a listing also accept {"value", "currency"} (see ListingIn); the
# schema documents the plain amount, which is what most scrapers send.
MONEY_SCHEMA: dict[str, Any] = {
    **AMOUNT_SCHEMA,
    "description": 'An amount, or {"value": "35.00", "currency": "USD"}',
}
ListingAmount = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    WithJsonSchema(MONEY_SCHEMA, mode="validation"),
]
# Money out: always a string, so no client ever sees a binary float.
AmountOut = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]
Currency = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$"),
    Field(description="ISO 4217 code, e.g. USD", examples=["USD"]),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
HttpUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2000, pattern=r"^https?://\S+$"),
]


# -- errors ---------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the field at fault, e.g. listings.3.price")
    message: str


class ErrorOut(BaseModel):
    """Every error answer: a sentence saying what is wrong and what to do."""

    detail: str
    errors: list[FieldError] | None = None
    allowed: list[DealState] | None = Field(
        default=None, description="For a refused transition: the states the deal may move to"
    )


# -- ingest webhook -------------------------------------------------------------------


def _money_parts(value: Any) -> tuple[Any, Any]:
    """`{"value": "12.50", "currency": "USD"}` → ("12.50", "USD"); an amount → (it, None)."""
    if isinstance(value, dict):
        return value.get("value"), value.get("currency")
    return value, None


LISTING_EXAMPLE: dict[str, Any] = {
    "item_id": "v1|405512345678|0",
    "title": "John Coltrane Blue Train LP Blue Note BLP 1577 VG+",
    "price": {"value": "35.00", "currency": "USD"},
    "shipping": "5.00",
    "condition": "Used",
    "url": "https://www.ebay.com/itm/405512345678",
    "seller": {"username": "crate_digger", "feedback_pct": 99.6},
    "source": "my-scraper",
}


def _document_listing(schema: dict[str, Any]) -> None:
    """The published schema: the nested `seller` form next to the flat fields."""
    schema["properties"]["seller"] = {
        "type": "object",
        "description": "The seller, instead of the flat seller_* fields",
        "properties": {
            "username": {"type": "string", "maxLength": 200},
            "feedback_pct": {"type": "number", "minimum": 0, "maximum": 100},
            "feedback_score": {"type": "integer", "minimum": 0},
        },
    }
    schema["examples"] = [LISTING_EXAMPLE]


class ListingIn(BaseModel):
    """One listing in the normalised shape every source produces.

    `price` is either an amount with a separate `currency`, or `{"value", "currency"}`;
    `shipping` likewise (in the same currency; null or absent = unknown, not free).
    The seller may be given flat (`seller_username`, ...) or as
    `seller: {"username", "feedback_pct", "feedback_score"}`. Unknown fields are ignored.
    """

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra=_document_listing,
    )

    item_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    price: ListingAmount
    currency: Currency = Field(description="May be left out when `price` carries it")
    shipping: ListingAmount | None = None
    condition: ShortText | None = None
    condition_id: ShortText | None = None
    buying_option: BuyingOption = BuyingOption.FIXED_PRICE
    seller_username: ShortText | None = None
    seller_feedback_pct: Annotated[float, Field(ge=0, le=100)] | None = None
    seller_feedback_score: Annotated[int, Field(ge=0, le=2_000_000_000)] | None = None
    url: HttpUrl
    affiliate_url: HttpUrl | None = None
    image_url: HttpUrl | None = None
    country: ShortText | None = None
    category_id: ShortText | None = None
    listed_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    catalog_no: ShortText | None = None
    barcode: ShortText | None = None
    format_hint: ShortText | None = None
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    marketplace: ShortText = "EBAY_US"

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        price, price_currency = _money_parts(data.get("price"))
        if "price" in data:
            data["price"] = price
        if price_currency is not None:
            if data.get("currency") is None:
                data["currency"] = price_currency
            elif str(price_currency).strip().upper() != str(data["currency"]).strip().upper():
                raise ValueError(
                    f"price is in {price_currency} but currency says {data['currency']}: "
                    "send one currency"
                )
        shipping, shipping_currency = _money_parts(data.get("shipping"))
        data["shipping"] = shipping
        if (
            shipping_currency is not None
            and data.get("currency") is not None
            and str(shipping_currency).strip().upper() != str(data["currency"]).strip().upper()
        ):
            raise ValueError(
                f"shipping is in {shipping_currency} but the price in {data['currency']}: "
                "send both in the listing's currency"
            )
        seller = data.pop("seller", None)
        if isinstance(seller, dict):
            for key in ("username", "feedback_pct", "feedback_score"):
                data.setdefault(f"seller_{key}", seller.get(key))
        return data

    @field_validator("buying_option", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    def to_listing(self) -> Listing:
        return Listing(
            item_id=self.item_id,
            title=self.title,
            price=self.price,
            currency=self.currency,
            shipping=self.shipping,
            condition=self.condition,
            condition_id=self.condition_id,
            buying_option=self.buying_option,
            seller_username=self.seller_username,
            seller_feedback_pct=self.seller_feedback_pct,
            seller_feedback_score=self.seller_feedback_score,
            url=self.url,
            affiliate_url=self.affiliate_url,
            image_url=self.image_url,
            country=self.country,
            category_id=self.category_id,
            listed_at=self.listed_at,
            ends_at=self.ends_at,
            catalog_no=self.catalog_no,
            barcode=self.barcode,
            format_hint=self.format_hint,
            source=self.source,
            marketplace=self.marketplace,
        )


class IngestIn(BaseModel):
    """`{"listings": [...]}`; a bare JSON list of listings is accepted too."""

    model_config = ConfigDict(extra="forbid")

    listings: Annotated[list[ListingIn], Field(min_length=1, max_length=MAX_LISTINGS_PER_REQUEST)]

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, data: Any) -> Any:
        return {"listings": data} if isinstance(data, list) else data


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What the pipeline did with a batch of ingested listings."""

    received: int
    new: int
    matched: int
    deals: int
    alerted: int
    skipped: int = 0
    errors: tuple[str, ...] = field(default_factory=tuple)
    price_drops: int = 0

    @classmethod
    def from_counts(cls, counts: PipelineCounts) -> IngestResult:
        return cls(
            received=counts.fetched,
            new=counts.new,
            matched=counts.matched,
            deals=counts.deals,
            alerted=counts.alerted,
            skipped=counts.skipped,
            errors=tuple(counts.errors),
            price_drops=counts.drops,
        )


class IngestOut(BaseModel):
    received: int = Field(description="Listings in the request")
    new: int = Field(description="Listings not seen before (the others are skipped)")
    matched: int = Field(description="New listings identified as a Discogs release")
    deals: int = Field(description="Matched listings priced below their reference")
    alerted: int = Field(description="Alerts sent (for new deals and for price drops)")
    skipped: int = Field(description="Listings already known")
    price_drops: int = Field(
        0, description="Known listings sent again at a lower price (re-scored, maybe alerted)"
    )
    errors: list[str] = Field(description="Listings that could not be evaluated, and why")

    @classmethod
    def of(cls, result: IngestResult) -> IngestOut:
        return cls(
            received=result.received,
            new=result.new,
            matched=result.matched,
            deals=result.deals,
            alerted=result.alerted,
            skipped=result.skipped,
            price_drops=result.price_drops,
            errors=list(result.errors),
        )


# -- deals ----------------------------------------------------------------------------


class TransitionIn(BaseModel):
    """Move a tracked deal. PURCHASED needs `purchase_price`; SOLD needs `sale_price`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"to": "PURCHASED", "reason": "seller accepted", "purchase_price": "45.00"}
            ]
        },
    )

    to: DealState = Field(
        validation_alias=AliasChoices("to", "to_state"),
        description="The target state (`to_state` is accepted as well)",
    )
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    purchase_price: Amount | None = Field(
        default=None, description="What you paid, shipping included (moving to PURCHASED)"
    )
    sale_price: Amount | None = Field(
        default=None, description="What the buyer paid (moving to SOLD)"
    )
    fees: Amount | None = Field(default=None, description="Selling fees (moving to SOLD)")

    @field_validator("to", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value


class DealOut(BaseModel):
    item_id: str
    state: DealState
    allowed_next: list[DealState] = Field(description="The states this deal may move to next")
    state_changed_at: datetime
    title: str
    artist: str | None
    release_id: int | None
    release_title: str | None
    url: str | None
    image_url: str | None
    currency: str
    found_price: AmountOut
    reference_price: AmountOut | None
    deal_score: float | None
    priority: str | None
    purchase_price: AmountOut | None
    sale_price: AmountOut | None
    fees: AmountOut | None
    profit: AmountOut | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, deal: DealRecord, allowed_next: list[DealState]) -> DealOut:
        return cls(
            item_id=deal.item_id,
            state=deal.state,
            allowed_next=allowed_next,
            state_changed_at=deal.state_changed_at,
            title=deal.title,
            artist=deal.artist,
            release_id=deal.release_id,
            release_title=deal.release_title,
            url=deal.url,
            image_url=deal.image_url,
            currency=deal.currency,
            found_price=deal.found_price,
            reference_price=deal.reference_price,
            deal_score=deal.deal_score,
            priority=deal.priority,
            purchase_price=deal.purchase_price,
            sale_price=deal.sale_price,
            fees=deal.fees,
            profit=deal.profit,
            created_at=deal.created_at,
            updated_at=deal.updated_at,
        )


class DealPage(BaseModel):
    listings: list[DealOut]
    total: int = Field(description="Deals matching the filter, all pages together")
    limit: int
    offset: int


class ListingOut(BaseModel):
    item_id: str
    title: str
    source: str
    price: AmountOut
    shipping: AmountOut | None
    currency: str
    condition: str | None
    buying_option: BuyingOption
    seller_username: str | None
    url: str
    image_url: str | None
    first_seen: datetime
    match_method: str | None
    match_confidence: float | None
    deal_score: float | None
    priority: str | None
    reference_price: AmountOut | None
    reference_currency: str | None

    @classmethod
    def of(cls, stored: StoredListing) -> ListingOut:
        lst = stored.listing
        return cls(
            item_id=lst.item_id,
            title=lst.title,
            source=lst.source,
            price=lst.price,
            shipping=lst.shipping,
            currency=lst.currency,
            condition=lst.condition,
            buying_option=lst.buying_option,
            seller_username=lst.seller_username,
            url=lst.affiliate_url or lst.url,
            image_url=lst.image_url,
            first_seen=stored.first_seen,
            match_method=stored.match.method.value if stored.match else None,
            match_confidence=stored.match.confidence if stored.match else None,
            deal_score=stored.deal_score,
            priority=stored.priority,
            reference_price=stored.reference_price,
            reference_currency=stored.reference_currency,
        )


class PricesOut(BaseModel):
    currency: str
    by_condition: dict[str, AmountOut]
    lowest: AmountOut | None
    num_for_sale: int | None
    updated_at: datetime | None


class ReleaseOut(BaseModel):
    id: int
    artist: str
    title: str
    labels: list[str]
    catalog_nos: list[str]
    barcodes: list[str]
    format: str | None
    country: str | None
    year: int | None
    prices: PricesOut | None

    @classmethod
    def of(cls, release: Release) -> ReleaseOut:
        guide = release.prices
        return cls(
            id=release.id,
            artist=release.artist,
            title=release.title,
            labels=list(release.labels),
            catalog_nos=list(release.catalog_nos),
            barcodes=list(release.barcodes),
            format=release.format,
            country=release.country,
            year=release.year,
            prices=PricesOut(
                currency=guide.currency,
                by_condition=dict(guide.by_condition),
                lowest=guide.lowest,
                num_for_sale=guide.num_for_sale,
                updated_at=guide.updated_at,
            )
            if guide is not None
            else None,
        )


class DealDetailOut(BaseModel):
    deal: DealOut
    listing: ListingOut | None = Field(
        description="The listing as last seen; null once the cleanup job forgot it"
    )
    release: ReleaseOut | None = Field(description="The matched Discogs release, when known")


class TransitionOut(BaseModel):
    from_state: DealState | None = Field(description="null for the creation step")
    to_state: DealState
    at: datetime
    reason: str | None
    actor: str
    purchase_price: AmountOut | None
    sale_price: AmountOut | None
    fees: AmountOut | None

    @classmethod
    def of(cls, step: Transition) -> TransitionOut:
        return cls(
            from_state=step.from_state,
            to_state=step.to_state,
            at=step.at,
            reason=step.reason,
            actor=step.actor,
            purchase_price=step.purchase_price,
            sale_price=step.sale_price,
            fees=step.fees,
        )


class HistoryOut(BaseModel):
    item_id: str
    state: DealState
    history: list[TransitionOut] = Field(description="Every step, oldest first")


class ExplainSectionOut(BaseModel):
    title: str = Field(description="What this part covers: the listing, identification, …")
    lines: list[str]


class ExplainOut(BaseModel):
    """Why (not)? Every decision taken about one listing (see `vinyl-detective explain`)."""

    item_id: str
    seen: bool = Field(description="False when the listing never came through a poll")
    title: str | None
    sections: list[ExplainSectionOut]
    text: str = Field(description="The same, as the plain text the CLI prints")


# -- searches, health -----------------------------------------------------------------


class TriggerOut(BaseModel):
    search_id: int
    job: str = Field(description="What was started, as the scheduler describes it")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="ok; degraded when event delivery is failing (events wait in the "
        "outbox); unavailable when the database cannot be reached (HTTP 503)"
    )
    database: Literal["ok", "unreachable"]
    events: dict[str, Any] | None = Field(description="The event publisher's status, if any")
    time: datetime
