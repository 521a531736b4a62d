"""What the ingest webhook (`POST /webhooks/listings`) accepts and answers.

A listing arrives in the normalised shape every source produces (ListingIn); a batch is
`{"listings": [...]}` or a bare list of up to MAX_LISTINGS_PER_REQUEST. The answer counts
what the pipeline did with it (IngestOut). The shared types (amounts, currencies, URLs)
are in api/schemas.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from vinyl_detective.api.schemas import Currency, HttpUrl, ListingAmount, ShortText
from vinyl_detective.domain.models import BuyingOption, Listing
from vinyl_detective.jobs.pipeline import PipelineCounts

MAX_LISTINGS_PER_REQUEST = 500


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
