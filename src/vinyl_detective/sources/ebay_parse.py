"""Reading eBay's Browse API JSON into `Listing` values, and eBay Partner Network links.

No I/O: `listing_from_item` takes an item summary or a getItem body and gives the listing
the rest of the product sees (price and shipping as Decimal with their currency, the
catalog number and barcode from the item specifics when the seller gave them, the format
from the category); `MalformedItemError` when it lacks what a listing needs.
`affiliate_link` adds the ePN campaign parameters to an item URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from vinyl_detective.domain.ebay_sites import CASSETTES as CASSETTES
from vinyl_detective.domain.ebay_sites import CDS as CDS
from vinyl_detective.domain.ebay_sites import MARKETPLACE_HOSTS as MARKETPLACE_HOSTS
from vinyl_detective.domain.ebay_sites import MUSIC as MUSIC
from vinyl_detective.domain.ebay_sites import RECORDS as RECORDS
from vinyl_detective.domain.models import BuyingOption, Listing
from vinyl_detective.domain.normalize import normalize_barcode, normalize_catalog_no

FORMAT_BY_CATEGORY: Mapping[str, str] = {RECORDS: "Vinyl", CDS: "CD", CASSETTES: "Cassette"}


# eBay Partner Network rotation ids (mkrid) by marketplace, from ePN's link docs.
ROTATION_IDS: Mapping[str, str] = {
    "EBAY_US": "711-53200-19255-0",
    "EBAY_GB": "710-53481-19255-0",
    "EBAY_DE": "707-53477-19255-0",
    "EBAY_FR": "709-53476-19255-0",
    "EBAY_IT": "724-53478-19255-0",
    "EBAY_ES": "1185-53479-19255-0",
    "EBAY_AT": "5221-53469-19255-0",
    "EBAY_AU": "705-53470-19255-0",
    "EBAY_BE": "1553-53471-19255-0",
    "EBAY_CA": "706-53473-19255-0",
    "EBAY_CH": "5222-53480-19255-0",
    "EBAY_IE": "5282-53468-19255-0",
    "EBAY_NL": "1346-53482-19255-0",
    "EBAY_PL": "4908-226936-19255-0",
}


# Item-specific names, compared after dropping case and everything but letters/digits.
_CATALOG_ASPECTS = frozenset(
    {
        "catalognumber",
        "cataloguenumber",
        "catalogno",
        "catalogueno",
        "catno",
        "catalog",
        "catalognr",
        "katalognummer",
        "numerodecatalogue",
        "numerodicatalogo",
    }
)


_BARCODE_ASPECTS = frozenset({"upc", "ean", "upcean", "eanupc", "barcode", "gtin", "ean13"})


# Values sellers put in item specifics that mean "no value".
_PLACEHOLDERS = frozenset(
    {"doesnotapply", "na", "none", "unknown", "notapplicable", "nichtzutreffend", "sansobjet"}
)


class MalformedItemError(ValueError):
    """An item summary that cannot become a Listing (no id, no title, no usable price)."""


def affiliate_link(
    url: str, marketplace: str, campaign_id: str, custom_id: str | None = None
) -> str:
    """`url` with eBay Partner Network tracking parameters, for `campaign_id`.

    Existing tracking parameters in `url` are replaced, other query parameters kept.
    Raises ValueError for a marketplace ePN has no rotation id for.
    """
    try:
        rotation = ROTATION_IDS[marketplace]
    except KeyError:
        raise ValueError(
            f"no eBay Partner Network rotation id for marketplace {marketplace!r}; "
            f"use one of {', '.join(ROTATION_IDS)}"
        ) from None
    tracking = {
        "mkevt": "1",
        "mkcid": "1",
        "mkrid": rotation,
        "campid": campaign_id,
        "toolid": "10001",
    }
    if custom_id:
        tracking["customid"] = custom_id
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in tracking]
    if not custom_id:
        kept = [(k, v) for k, v in kept if k != "customid"]
    query = urlencode([*kept, *tracking.items()])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def str_or_none(value: object) -> str | None:
    """A JSON value as trimmed text: a non-empty string, or a number written out; else None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _money(value: object) -> tuple[Decimal, str] | None:
    """eBay's `{"value": "12.50", "currency": "USD"}` as (Decimal, currency), else None."""
    if not isinstance(value, Mapping):
        return None
    raw, currency = str_or_none(value.get("value")), str_or_none(value.get("currency"))
    if raw is None or currency is None:
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return amount, currency.upper()


def _timestamp(value: object) -> datetime | None:
    text = str_or_none(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _shipping(options: object, currency: str) -> Decimal | None:
    """The cheapest known shipping cost; None when no option states a cost in `currency`."""
    if not isinstance(options, list):
        return None
    costs = []
    for option in options:
        if not isinstance(option, Mapping):
            continue
        cost = _money(option.get("shippingCost"))
        if cost is not None and cost[1] == currency:
            costs.append(cost[0])
    return min(costs) if costs else None


def _category(item: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(leaf category id, format hint) from leafCategoryIds / categoryId / categories."""
    ids: list[str] = []
    leaves = item.get("leafCategoryIds")
    if isinstance(leaves, list):
        ids.extend(s for s in map(str_or_none, leaves) if s)
    if (detail_id := str_or_none(item.get("categoryId"))) is not None:
        ids.append(detail_id)
    categories = item.get("categories")
    if isinstance(categories, list):
        ids.extend(
            s
            for c in categories
            if isinstance(c, Mapping) and (s := str_or_none(c.get("categoryId")))
        )
    hint = next((FORMAT_BY_CATEGORY[i] for i in ids if i in FORMAT_BY_CATEGORY), None)
    return (ids[0] if ids else None), hint


def _aspect_key(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _identifiers(item: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(catalog number as written, 13-digit barcode) from `gtin` and `localizedAspects`."""
    catalog_no: str | None = None
    barcode = normalize_barcode(str_or_none(item.get("gtin")) or "")
    aspects = item.get("localizedAspects")
    if not isinstance(aspects, list):
        return catalog_no, barcode
    for aspect in aspects:
        if not isinstance(aspect, Mapping):
            continue
        name, value = str_or_none(aspect.get("name")), str_or_none(aspect.get("value"))
        if name is None or value is None or _aspect_key(value) in _PLACEHOLDERS:
            continue
        key = _aspect_key(name)
        if catalog_no is None and key in _CATALOG_ASPECTS and normalize_catalog_no(value):
            catalog_no = value
        elif barcode is None and (
            key in _BARCODE_ASPECTS or "upc" in key or "ean" in key or "barcode" in key
        ):
            # A STRING_ARRAY aspect arrives comma-separated; the first valid code wins.
            barcode = next((b for part in value.split(",") if (b := normalize_barcode(part))), None)
    return catalog_no, barcode


def listing_from_item(
    item: Mapping[str, Any], *, marketplace: str = "EBAY_US", campaign_id: str | None = None
) -> Listing:
    """An eBay item summary or item detail as a Listing.

    Auctions are priced at their current bid (`currentBidPrice`), unless the listing also
    offers Buy It Now at a stated price. Raises MalformedItemError when the item has no
    id, no title or no usable price.
    """
    item_id = str_or_none(item.get("itemId"))
    title = str_or_none(item.get("title"))
    if item_id is None or title is None:
        raise MalformedItemError(f"item {item_id or '?'} has no itemId or no title")
    options = item.get("buyingOptions")
    options = [o for o in options if isinstance(o, str)] if isinstance(options, list) else []
    fixed = _money(item.get("price"))
    bid = _money(item.get("currentBidPrice"))
    if "AUCTION" in options and not ("FIXED_PRICE" in options and fixed is not None):
        buying_option = BuyingOption.AUCTION
        money = bid or fixed
    else:
        buying_option = BuyingOption.FIXED_PRICE
        money = fixed
    if money is None:
        raise MalformedItemError(f"item {item_id} has no usable price")
    price, currency = money

    seller = item.get("seller")
    seller = seller if isinstance(seller, Mapping) else {}
    feedback_pct: float | None
    try:
        feedback_pct = float(seller.get("feedbackPercentage"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        feedback_pct = None
    score = seller.get("feedbackScore")
    feedback_score = score if isinstance(score, int) and not isinstance(score, bool) else None

    url = str_or_none(item.get("itemWebUrl"))
    if url is None:
        legacy = (
            str_or_none(item.get("legacyItemId")) or item_id.split("|")[1 if "|" in item_id else 0]
        )
        url = f"https://{MARKETPLACE_HOSTS.get(marketplace, 'www.ebay.com')}/itm/{legacy}"
    affiliate_url = str_or_none(item.get("itemAffiliateWebUrl"))
    if affiliate_url is None and campaign_id:
        affiliate_url = affiliate_link(url, marketplace, campaign_id)

    image = item.get("image")
    image_url = str_or_none(image.get("imageUrl")) if isinstance(image, Mapping) else None
    if image_url is None and isinstance(thumbs := item.get("thumbnailImages"), list) and thumbs:
        first = thumbs[0]
        image_url = str_or_none(first.get("imageUrl")) if isinstance(first, Mapping) else None
    location = item.get("itemLocation")
    country = str_or_none(location.get("country")) if isinstance(location, Mapping) else None
    category_id, format_hint = _category(item)
    catalog_no, barcode = _identifiers(item)

    return Listing(
        item_id=item_id,
        title=title,
        price=price,
        currency=currency,
        shipping=_shipping(item.get("shippingOptions"), currency),
        condition=str_or_none(item.get("condition")),
        condition_id=str_or_none(item.get("conditionId")),
        buying_option=buying_option,
        seller_username=str_or_none(seller.get("username")),
        seller_feedback_pct=feedback_pct,
        seller_feedback_score=feedback_score,
        url=url,
        affiliate_url=affiliate_url,
        image_url=image_url,
        country=country,
        category_id=category_id,
        listed_at=_timestamp(item.get("itemOriginDate"))
        or _timestamp(item.get("itemCreationDate")),
        ends_at=_timestamp(item.get("itemEndDate")),
        catalog_no=catalog_no,
        barcode=barcode,
        format_hint=format_hint,
        source="ebay",
        marketplace=marketplace,
        available=not _sold_out(item.get("estimatedAvailabilities")),
    )


def _sold_out(availabilities: object) -> bool:
    """True when eBay's item detail says nothing is left to buy (OUT_OF_STOCK)."""
    if not isinstance(availabilities, list) or not availabilities:
        return False
    statuses = [
        a.get("estimatedAvailabilityStatus") for a in availabilities if isinstance(a, Mapping)
    ]
    return bool(statuses) and all(status == "OUT_OF_STOCK" for status in statuses)
