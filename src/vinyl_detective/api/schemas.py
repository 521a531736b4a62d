"""What the admin API accepts and answers, as pydantic models, and the types every answer
shares (amounts, currencies, the error answer); the ingest webhook's are in
api/ingest_schemas.py.

Requests are validated here, so a bad payload is refused with the path of the field at
fault (`listings.3.price`) before any code of ours runs. Responses are built from the
storage records by the `from_*` constructors; money travels as decimal strings
("45.00"), never floats, and always next to its currency.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from vinyl_detective.domain.lifecycle import DealState
from vinyl_detective.domain.models import BuyingOption, Release
from vinyl_detective.storage.deals import DealRecord, Transition
from vinyl_detective.storage.listings import StoredListing

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
