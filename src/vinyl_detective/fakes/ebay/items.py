"""Listings in eBay's item shape: `make_item` for tests and the demo, and how the fake
shows a stored listing to one request (`present`: a search summary drops the
detail-only keys; an affiliate campaign in X-EBAY-C-ENDUSERCTX adds
`itemAffiliateWebUrl`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from starlette.requests import Request

from vinyl_detective.sources.ebay import MARKETPLACE_HOSTS, RECORDS
from vinyl_detective.sources.ebay_parse import ROTATION_IDS

# Keys only the item-detail resource returns; search summaries leave them out.
DETAIL_ONLY_KEYS = frozenset(
    {
        "gtin",
        "mpn",
        "brand",
        "localizedAspects",
        "shortDescription",
        "description",
        "product",
        "conditionDescription",
        "categoryId",
        "categoryPath",
        "categoryIdPath",
        "returnTerms",
        "shipToLocations",
        "estimatedAvailabilities",
        "primaryItemGroup",
        "lotSize",
        "minimumPriceToBid",
        "uniqueBidderCount",
    }
)

_CATEGORY_NAMES = {"176985": "Records", "176984": "CDs", "176983": "Cassettes"}


def ebay_time(moment: datetime) -> str:
    """eBay's timestamp format: UTC, milliseconds, Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def make_item(
    n: int,
    title: str,
    price: str | Decimal,
    *,
    listed_at: datetime,
    currency: str = "USD",
    shipping: str | Decimal | None = "4.99",
    auction: bool = False,
    current_bid: str | Decimal | None = None,
    ends_at: datetime | None = None,
    condition: str = "Used",
    condition_id: str = "3000",
    seller: str = "crate_digger_88",
    feedback_pct: str = "99.5",
    feedback_score: int = 1200,
    category_id: str = RECORDS,
    country: str = "US",
    marketplace: str = "EBAY_US",
    catalog_no: str | None = None,
    upc: str | None = None,
    aspects: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A realistic eBay item (detail shape) numbered `n`, for tests and the demo.

    `marketplace` is the eBay site it is listed on (`listingMarketplaceId`, and the host
    of its URL). Like eBay, the fake shows it to a search on any site (cross-border).
    `shipping=None` gives a CALCULATED shipping option with no cost (unknown shipping).
    An auction gets `currentBidPrice` (defaulting to `price`) and an `itemEndDate`.
    """
    legacy = str(286_000_000_000 + n)
    stamp = ebay_time(listed_at)
    item: dict[str, Any] = {
        "itemId": f"v1|{legacy}|0",
        "legacyItemId": legacy,
        "title": title,
        "price": {"value": str(price), "currency": currency},
        "shippingOptions": [
            {"shippingCostType": "CALCULATED"}
            if shipping is None
            else {
                "shippingCostType": "FIXED",
                "shippingCost": {"value": str(shipping), "currency": currency},
            }
        ],
        "condition": condition,
        "conditionId": condition_id,
        "buyingOptions": ["AUCTION"] if auction else ["FIXED_PRICE", "BEST_OFFER"],
        "seller": {
            "username": seller,
            "feedbackPercentage": feedback_pct,
            "feedbackScore": feedback_score,
        },
        "itemWebUrl": f"https://{MARKETPLACE_HOSTS.get(marketplace, 'www.ebay.com')}/itm/{legacy}",
        "listingMarketplaceId": marketplace,
        "image": {"imageUrl": f"https://i.ebayimg.com/images/g/{legacy}/s-l225.jpg"},
        "itemLocation": {"postalCode": "112**", "country": country},
        "categories": [
            {"categoryId": category_id, "categoryName": _CATEGORY_NAMES.get(category_id, "")},
            {"categoryId": "11233", "categoryName": "Music"},
        ],
        "leafCategoryIds": [category_id],
        "itemCreationDate": stamp,
        "itemOriginDate": stamp,
        "categoryId": category_id,
        "shortDescription": title,
        "localizedAspects": [],
    }
    if auction:
        item["currentBidPrice"] = {"value": str(current_bid or price), "currency": currency}
        item["bidCount"] = 1 if current_bid is not None else 0
        item["itemEndDate"] = ebay_time(ends_at or listed_at + timedelta(days=7))
    specifics = dict(aspects or {})
    if catalog_no is not None:
        specifics.setdefault("Catalog Number", catalog_no)
    if upc is not None:
        item["gtin"] = upc
        specifics.setdefault("UPC", upc)
    item["localizedAspects"] = [
        {"type": "STRING", "name": name, "value": value} for name, value in specifics.items()
    ]
    return item


def _end_user_context(request: Request) -> dict[str, str]:
    raw = request.headers.get("x-ebay-c-enduserctx", "")
    pairs = (part.partition("=") for part in raw.split(","))
    return {k.strip(): unquote(v.strip()) for k, sep, v in pairs if sep and k.strip()}


def present(item: Mapping[str, Any], request: Request, *, summary: bool) -> dict[str, Any]:
    """The item as eBay would return it to this request."""
    # A shallow copy: the response is serialised at once and stored items never change.
    shown = {k: v for k, v in item.items() if not (summary and k in DETAIL_ONLY_KEYS)}
    shown.pop("itemAffiliateWebUrl", None)
    context = _end_user_context(request)
    campaign = context.get("affiliateCampaignId")
    web_url = shown.get("itemWebUrl")
    if campaign and isinstance(web_url, str):
        marketplace = request.headers.get("x-ebay-c-marketplace-id", "EBAY_US")
        rotation = ROTATION_IDS.get(marketplace, ROTATION_IDS["EBAY_US"])
        params = {"mkevt": "1", "mkcid": "1", "mkrid": rotation, "campid": campaign}
        if reference := context.get("affiliateReferenceId"):
            params["customid"] = reference
        params["toolid"] = "10049"
        parts = urlsplit(web_url)
        query = urlencode([*parse_qsl(parts.query), *params.items()])
        shown["itemAffiliateWebUrl"] = urlunsplit(parts._replace(query=query))
    return shown
