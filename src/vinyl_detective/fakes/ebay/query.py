"""How the fake eBay selects and orders listings: `q`, `category_ids`, `filter`, `sort`.

Kept apart from the HTTP layer (browse.py). Items are plain dicts in eBay's item
JSON shape. Keyword semantics are the product's reading of eBay's syntax
(domain/query.py: words ANDed, `-word` excludes, `(a,b)` either, "quoted phrase").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from vinyl_detective.domain.query import fold, parse_query

Item = Mapping[str, Any]

# The buying options eBay search shows when the request carries no buyingOptions filter.
DEFAULT_BUYING_OPTIONS = frozenset({"FIXED_PRICE"})
SORTS = ("newlyListed", "price", "-price", "endingSoonest", "distance")

_SET = re.compile(r"^\{(.*)\}$")
_RANGE = re.compile(r"^\[(.*)\]$")


class FilterWarning(ValueError):
    """A filter eBay would accept with a warning and ignore (errorId, message)."""

    def __init__(self, error_id: int, message: str) -> None:
        self.error_id = error_id
        self.message = message
        super().__init__(message)


@dataclass
class SearchFilter:
    """The parsed `filter` parameter; only what the fake honours."""

    buying_options: frozenset[str] = DEFAULT_BUYING_OPTIONS
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    price_currency: str | None = None
    start_from: datetime | None = None
    start_to: datetime | None = None
    condition_ids: frozenset[str] | None = None
    location_country: str | None = None
    sellers: frozenset[str] | None = None
    warnings: list[FilterWarning] = field(default_factory=list)


def split_filters(raw: str) -> list[tuple[str, str]]:
    """`a:{x|y},b:[1..2]` → [("a", "{x|y}"), ("b", "[1..2]")]; commas inside {} or [] kept."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in raw:
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    pairs = []
    for part in parts:
        name, sep, value = part.strip().partition(":")
        if sep and name.strip():
            pairs.append((name.strip(), value.strip()))
    return pairs


def _set_values(name: str, value: str) -> frozenset[str]:
    match = _SET.match(value)
    inner = match.group(1) if match else value
    values = frozenset(v.strip() for v in inner.split("|") if v.strip())
    if not values:
        raise FilterWarning(12002, f"The value of the '{name}' filter is invalid.")
    return values


def _range(name: str, value: str) -> tuple[str | None, str | None]:
    match = _RANGE.match(value)
    if not match:
        raise FilterWarning(12002, f"The value of the '{name}' filter is invalid.")
    low, dots, high = match.group(1).partition("..")
    low, high = low.strip() or None, high.strip() or None
    if not dots:
        high = None  # "[10]" is "10 or more"
    if low is None and high is None:
        raise FilterWarning(12002, f"The value of the '{name}' filter is invalid.")
    return low, high


def _decimal(name: str, text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise FilterWarning(12002, f"The value of the '{name}' filter is invalid.") from None


def parse_time(text: str | None) -> datetime | None:
    """eBay's UTC timestamps ("2026-11-22T19:58:12.000Z"); naive ones are taken as UTC."""
    if not text:
        return None
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_filter(raw: str | None) -> SearchFilter:
    """The `filter` query parameter; bad values become warnings and are ignored, as on eBay."""
    result = SearchFilter()
    if not raw:
        return result
    pairs = split_filters(raw)
    price: tuple[Decimal | None, Decimal | None] | None = None
    for name, value in pairs:
        try:
            if name == "buyingOptions":
                result.buying_options = frozenset(v.upper() for v in _set_values(name, value))
            elif name == "price":
                low, high = _range(name, value)
                price = (_decimal(name, low), _decimal(name, high))
            elif name == "priceCurrency":
                result.price_currency = value.strip().upper() or None
            elif name == "itemStartDate":
                low, high = _range(name, value)
                try:
                    result.start_from, result.start_to = parse_time(low), parse_time(high)
                except ValueError:
                    raise FilterWarning(
                        12002, "The value of the 'itemStartDate' filter is invalid."
                    ) from None
            elif name == "conditionIds":
                result.condition_ids = _set_values(name, value)
            elif name == "itemLocationCountry":
                # A set here is silently ignored by eBay; a single value is honoured.
                if not value.startswith("{"):
                    result.location_country = value.strip().upper()
            elif name == "sellers":
                result.sellers = frozenset(v.casefold() for v in _set_values(name, value))
        except FilterWarning as warning:
            result.warnings.append(warning)
    if price is not None:
        if result.price_currency is None:
            result.warnings.append(
                FilterWarning(
                    12012, "The price filter was ignored because 'priceCurrency' is missing."
                )
            )
        else:
            result.price_min, result.price_max = price
    return result


def money(value: object) -> tuple[Decimal, str] | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return Decimal(str(value.get("value"))), str(value.get("currency"))
    except InvalidOperation:
        return None


def effective_price(item: Item) -> tuple[Decimal, str] | None:
    """What a buyer pays now: the current bid of an auction, else the listed price."""
    return money(item.get("currentBidPrice")) or money(item.get("price"))


def shipping_cost(item: Item) -> Decimal:
    options = item.get("shippingOptions")
    costs = [
        m[0]
        for option in (options if isinstance(options, list) else [])
        if isinstance(option, Mapping) and (m := money(option.get("shippingCost")))
    ]
    return min(costs) if costs else Decimal(0)


def origin_date(item: Item) -> datetime | None:
    try:
        return parse_time(item.get("itemOriginDate") or item.get("itemCreationDate"))
    except ValueError:
        return None


def in_category(item: Item, category_id: str) -> bool:
    leaves = item.get("leafCategoryIds") or []
    categories = item.get("categories") or []
    ids = {str(c) for c in leaves} | {
        str(c.get("categoryId")) for c in categories if isinstance(c, Mapping)
    }
    return category_id in ids


def item_matcher(
    *,
    q: str | None,
    category_id: str | None,
    search_filter: SearchFilter,
    gtin: str | None = None,
    epid: str | None = None,
) -> Callable[[Item], bool]:
    """The result-set test of one search request, with its keywords parsed once."""
    keywords = parse_query(q) if q else None

    def accept(item: Item) -> bool:
        if gtin is not None and item.get("gtin") != gtin:
            return False
        if epid is not None and item.get("epid") != epid:
            return False
        if keywords is not None and not keywords.matches(str(item.get("title", ""))):
            return False
        if category_id and not in_category(item, category_id):
            return False
        return _passes_filter(item, search_filter)

    return accept


def matches(
    item: Item, *, q: str | None, category_id: str | None, search_filter: SearchFilter
) -> bool:
    """Whether `item` is in the result set of one search request."""
    return item_matcher(q=q, category_id=category_id, search_filter=search_filter)(item)


def title_words(title: str) -> frozenset[str]:
    """The words of a title as keyword matching sees them (folded, punctuation dropped)."""
    return frozenset(fold(title).split())


def index_words(q: str | None) -> tuple[str, ...] | None:
    """Words one of which every title matching `q` must contain, or None if there are none.

    Each required group matches when one of its phrases does, so a matching title holds
    the first word of one of that group's phrases; the group with the fewest phrases is
    taken. A query of exclusions only (or no query) narrows nothing.
    """
    if not q:
        return None
    required = parse_query(q).required
    if not required:
        return None
    group = min(required, key=len)
    return tuple(phrase.split()[0] for phrase in group)


def _passes_filter(item: Item, search_filter: SearchFilter) -> bool:
    f = search_filter
    if not f.buying_options & set(item.get("buyingOptions") or []):
        return False
    if f.price_min is not None or f.price_max is not None:
        price = effective_price(item)
        if price is None or price[1] != f.price_currency:
            return False
        if f.price_min is not None and price[0] < f.price_min:
            return False
        if f.price_max is not None and price[0] > f.price_max:
            return False
    if f.start_from is not None or f.start_to is not None:
        started = origin_date(item)
        if started is None:
            return False
        if f.start_from is not None and started < f.start_from:
            return False
        if f.start_to is not None and started > f.start_to:
            return False
    if f.condition_ids is not None and str(item.get("conditionId")) not in f.condition_ids:
        return False
    location = item.get("itemLocation")
    country = location.get("country") if isinstance(location, Mapping) else None
    if f.location_country is not None and country != f.location_country:
        return False
    seller = item.get("seller")
    username = seller.get("username") if isinstance(seller, Mapping) else None
    return f.sellers is None or str(username).casefold() in f.sellers


def sort_items(items: Sequence[Item], sort: str | None) -> list[Item]:
    """Best match (insertion order) when `sort` is None or unknown."""
    result = list(items)
    if sort == "newlyListed":
        oldest = datetime.min.replace(tzinfo=UTC)
        result.sort(key=lambda i: origin_date(i) or oldest, reverse=True)
    elif sort in ("price", "-price"):
        result.sort(
            key=lambda i: (effective_price(i) or (Decimal(0), ""))[0] + shipping_cost(i),
            reverse=sort == "-price",
        )
    elif sort == "endingSoonest":
        latest = datetime.max.replace(tzinfo=UTC)

        def ends(item: Item) -> datetime:
            try:
                return parse_time(item.get("itemEndDate")) or latest
            except ValueError:
                return latest

        result.sort(key=ends)
    return result
