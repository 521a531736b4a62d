"""A local fake of eBay's OAuth token endpoint and Browse API, as an ASGI app.

It speaks the real paths, headers, JSON shapes and errors (REFERENCE.md, API-FACTS.md
§1), including the traps: search without a `buyingOptions` filter shows fixed-price
listings only, only the first `category_ids` value is honoured, `offset` must be a
multiple of `limit` and `offset + limit` cannot pass 10,000, `itemSummaries` is absent
from an empty page, `itemAffiliateWebUrl` appears only when the request carries an
`affiliateCampaignId`. Tests mount it with `httpx.ASGITransport(app=fake.app)`; the demo
serves it on loopback (fakes/server.py) and adds listings while it runs:

    fake = FakeEbay([make_item(1, "Art Blakey Moanin' LP Blue Note BLP 4003", "45.00",
                               listed_at=now)])
    fake.add_items([...])            # a new listing appears
    fake.fail_next(503, times=2)     # the next two Browse calls fail
    fake.calls, fake.token_requests  # what the client spent

Items are dicts in eBay's item-detail shape; search returns them as item summaries
(detail-only keys dropped).

It stays fast with tens of thousands of listings (benchmarks/freshness.py): each
distinct search (keywords, category, filter) keeps its result set sorted newest first and
only looks at the listings added since it last ran, found through a word index when the
search has keywords; `sort=newlyListed` pages are then slices. Replacing or removing a
listing rebuilds the result sets on their next use.
"""

from __future__ import annotations

import base64
import binascii
import copy
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vinyl_detective.fakes.ebay_query import (
    SORTS,
    Item,
    index_words,
    item_matcher,
    origin_date,
    parse_filter,
    sort_items,
    title_words,
)
from vinyl_detective.sources.ebay import MARKETPLACE_HOSTS, RECORDS
from vinyl_detective.sources.ebay_parse import ROTATION_IDS

__all__ = ["FakeEbay", "canned_error", "ebay_error", "invalid_token", "make_item"]

API_SCOPE = "https://api.ebay.com/oauth/api_scope"
MAX_WINDOW = 10_000
# eBay's quota day is reported to start at 07:00 UTC.
QUOTA_RESET = timedelta(hours=7)

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
# Result sets kept up to date (least recently used dropped first).
MAX_SELECTIONS = 2048
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNDATED = 2**62  # a listing without a start date sorts after every dated one


def _utc_now() -> datetime:
    return datetime.now(UTC)


def ebay_time(moment: datetime) -> str:
    """eBay's timestamp format: UTC, milliseconds, Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ebay_error(
    status: int,
    error_id: int,
    message: str,
    *,
    domain: str = "API_BROWSE",
    category: str = "REQUEST",
    long_message: str | None = None,
    parameters: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An error response in eBay's `{"errors": [{errorId, domain, category, …}]}` shape."""
    error: dict[str, Any] = {
        "errorId": error_id,
        "domain": domain,
        "category": category,
        "message": message,
        "longMessage": long_message or message,
    }
    if parameters:
        error["parameters"] = [{"name": k, "value": v} for k, v in parameters.items()]
    return JSONResponse({"errors": [error]}, status_code=status, headers=dict(headers or {}))


def canned_error(status: int, retry_after: float | None) -> JSONResponse:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
    if status == 429:
        return ebay_error(
            429,
            2001,
            "Too many requests.",
            domain="ACCESS",
            long_message="The request limit has been reached for the resource.",
            headers=headers,
        )
    if status == 401:
        return invalid_token()
    if status == 403:
        return ebay_error(
            403,
            1100,
            "Access denied",
            domain="OAuth",
            long_message=("Insufficient permissions to fulfill the request."),
        )
    if status == 404:
        return ebay_error(404, 2002, "Resource not found", domain="ACCESS")
    if status >= 500:
        return ebay_error(
            status,
            2003,
            "Internal error",
            domain="ACCESS",
            category="APPLICATION",
            long_message="There was a problem with an eBay internal system or process. "
            "Contact eBay developer support for assistance.",
            headers=headers,
        )
    return ebay_error(status, 2004, "Invalid request", domain="ACCESS", headers=headers)


def invalid_token() -> JSONResponse:
    return ebay_error(
        401,
        1001,
        "Invalid access token",
        domain="OAuth",
        long_message="Invalid access token. Check the value of the Authorization HTTP "
        "request header.",
    )


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


@dataclass
class _Failure:
    status: int
    remaining: int
    path_contains: str
    retry_after: float | None


@dataclass(frozen=True, slots=True)
class _Stored:
    """A listing as the fake holds it, with what searching needs precomputed."""

    item: dict[str, Any]
    seq: int  # insertion order: eBay's "best match" order here
    newest_first: tuple[int, int]  # sort key of `sort=newlyListed` (ties: insertion order)


def _stored(item: dict[str, Any], seq: int) -> _Stored:
    started = origin_date(item)
    micros = _UNDATED if started is None else -((started - _EPOCH) // timedelta(microseconds=1))
    return _Stored(item, seq, (micros, seq))


SelectionKey = tuple[str | None, str | None, str, str | None, str | None]


@dataclass(slots=True)
class _Selection:
    """The result set of one search (keywords, category, filter, gtin, epid), newest first."""

    accept: Callable[[Item], bool]
    words: tuple[str, ...] | None  # a matching title holds one of these (None: any title)
    checked: int  # listings added before this position of `_arrivals` were considered
    keys: list[tuple[int, int]] = field(default_factory=list)
    found: list[_Stored] = field(default_factory=list)

    def take(self, stored: _Stored) -> None:
        if self.accept(stored.item):
            at = bisect_right(self.keys, stored.newest_first)
            self.keys.insert(at, stored.newest_first)
            self.found.insert(at, stored)


@dataclass(frozen=True)
class RecordedRequest:
    """A Browse API request the fake received (the Authorization header left out)."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


class FakeEbay:
    """State and ASGI app of a fake eBay (token endpoint + Browse API)."""

    def __init__(
        self,
        items: Iterable[Mapping[str, Any]] = (),
        *,
        app_id: str = "demo-app-id",
        cert_id: str = "demo-cert-id",
        daily_limit: int = 5000,
        token_ttl: int = 7200,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.app_id = app_id
        self.cert_id = cert_id
        self.daily_limit = daily_limit
        self.token_ttl = token_ttl
        self.clock = clock
        self.calls = 0
        """Every Browse API request received (search, item, failed ones too)."""
        self.token_requests = 0
        """Every request to the token endpoint, granted or not."""
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._items: dict[str, _Stored] = {}
        self._by_legacy_id: dict[str, str] = {}
        self._arrivals: list[_Stored] = []  # listings in the order they were first added
        self._postings: dict[str, list[int]] = {}  # title word -> positions in _arrivals
        self._selections: OrderedDict[SelectionKey, _Selection] = OrderedDict()
        self._serial = 0
        self._tokens: dict[str, datetime] = {}
        self._failures: list[_Failure] = []
        self._quota_day: date | None = None
        self._quota_used = 0
        self._token_serial = 0
        self.add_items(items)
        self._app = Starlette(
            routes=[
                Route("/identity/v1/oauth2/token", self._token, methods=["POST"]),
                Route("/buy/browse/v1/item_summary/search", self._search, methods=["GET"]),
                Route(
                    "/buy/browse/v1/item/get_item_by_legacy_id",
                    self._item_by_legacy_id,
                    methods=["GET"],
                ),
                Route("/buy/browse/v1/item/{item_id:path}", self._item, methods=["GET"]),
                Route(
                    "/developer/analytics/v1_beta/rate_limit/", self._rate_limit, methods=["GET"]
                ),
            ]
        )

    # --- state the tests and the demo drive -------------------------------------------

    @property
    def app(self) -> Starlette:
        return self._app

    @property
    def items(self) -> list[dict[str, Any]]:
        """A copy of the listings the fake holds, in insertion (best match) order."""
        with self._lock:
            return copy.deepcopy([stored.item for stored in self._items.values()])

    def add_items(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Add (or replace, by itemId) listings; they show up in the next search."""
        with self._lock:
            for item in items:
                item_id = item.get("itemId")
                if not isinstance(item_id, str) or not item_id:
                    raise ValueError(f"a fake eBay item needs an itemId: {item!r:.80}")
                self._put(item_id, copy.deepcopy(dict(item)))

    def remove_item(self, item_id: str) -> None:
        """The listing ends: item lookups answer 404, searches no longer show it."""
        with self._lock:
            gone = self._items.pop(item_id, None)
            if gone is not None:
                self._forget(gone)

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        path_contains: str = "",
        retry_after: float | None = None,
    ) -> None:
        """Answer the next `times` Browse calls (whose path contains `path_contains`) with
        `status` and eBay's error body for it. A `path_contains` naming the token path
        (e.g. "oauth2") makes token requests fail instead."""
        with self._lock:
            self._failures.append(_Failure(status, times, path_contains, retry_after))

    def expire_tokens(self) -> None:
        """Every token issued so far becomes invalid (the next Browse call gets 401)."""
        with self._lock:
            self._tokens.clear()

    @property
    def quota_used(self) -> int:
        """Authenticated Browse calls in the current quota day (resets 07:00 UTC)."""
        with self._lock:
            self._roll_quota_day()
            return self._quota_used

    # --- internals ----------------------------------------------------------------------

    def _put(self, item_id: str, item: dict[str, Any]) -> None:
        """Store one listing (the lock held): indexed as new, or replacing one in place."""
        old = self._items.get(item_id)
        if old is not None:  # keeps its place in the best-match order
            self._forget(old)
            self._items[item_id] = _stored(item, old.seq)
        else:
            stored = self._items[item_id] = _stored(item, self._serial)
            self._serial += 1
            position = len(self._arrivals)
            self._arrivals.append(stored)
            for word in title_words(str(item.get("title", ""))):
                self._postings.setdefault(word, []).append(position)
        legacy = item.get("legacyItemId")
        if isinstance(legacy, str):
            self._by_legacy_id[legacy] = item_id

    def _forget(self, stored: _Stored) -> None:
        """A listing changed or went: result sets are rebuilt when next asked for."""
        self._selections.clear()
        legacy = stored.item.get("legacyItemId")
        if isinstance(legacy, str):
            self._by_legacy_id.pop(legacy, None)

    def _select(self, key: SelectionKey, accept: Callable[[Item], bool]) -> _Selection:
        """The up-to-date result set for `key` (the lock held), newest first."""
        selection = self._selections.get(key)
        if selection is None:
            selection = _Selection(accept, index_words(key[0]), len(self._arrivals))
            for stored in sorted(self._items.values(), key=lambda s: s.newest_first):
                if accept(stored.item):
                    selection.keys.append(stored.newest_first)
                    selection.found.append(stored)
            self._selections[key] = selection
            if len(self._selections) > MAX_SELECTIONS:
                self._selections.popitem(last=False)
            return selection
        self._selections.move_to_end(key)
        end = len(self._arrivals)
        if selection.checked < end:
            if selection.words is None:
                positions: Iterable[int] = range(selection.checked, end)
            else:
                candidates: set[int] = set()
                for word in selection.words:
                    posting = self._postings.get(word, [])
                    candidates.update(posting[bisect_left(posting, selection.checked) :])
                positions = sorted(candidates)
            for position in positions:
                selection.take(self._arrivals[position])
            selection.checked = end
        return selection

    def _roll_quota_day(self) -> date:
        day = (self.clock() - QUOTA_RESET).date()
        if day != self._quota_day:
            self._quota_day, self._quota_used = day, 0
        return day

    def _injected_failure(self, path: str, *, browse: bool) -> Response | None:
        with self._lock:
            for failure in self._failures:
                wanted = failure.path_contains in path if failure.path_contains else browse
                if wanted and failure.remaining > 0:
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        self._failures.remove(failure)
                    return canned_error(failure.status, failure.retry_after)
        return None

    def _browse_gate(self, request: Request) -> Response | None:
        """Count the call, then: injected failure, bearer token, daily quota."""
        with self._lock:
            self.calls += 1
            self.requests.append(
                RecordedRequest(
                    request.method,
                    request.url.path,
                    dict(request.query_params),
                    {
                        k.lower(): v
                        for k, v in request.headers.items()
                        if k.lower() != "authorization"
                    },
                )
            )
        failure = self._injected_failure(request.url.path, browse=True)
        if failure is not None:
            return failure
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return ebay_error(
                400,
                1002,
                "Missing access token",
                domain="OAuth",
                long_message="Access token is missing in the Authorization HTTP request header.",
            )
        with self._lock:
            expires = self._tokens.get(token.strip())
            if expires is None or self.clock() >= expires:
                return invalid_token()
            self._roll_quota_day()
            self._quota_used += 1
            over = self._quota_used > self.daily_limit
        if over:
            return canned_error(429, None)
        return None

    @staticmethod
    def _end_user_context(request: Request) -> dict[str, str]:
        raw = request.headers.get("x-ebay-c-enduserctx", "")
        pairs = (part.partition("=") for part in raw.split(","))
        return {k.strip(): unquote(v.strip()) for k, sep, v in pairs if sep and k.strip()}

    def _present(
        self, item: Mapping[str, Any], request: Request, *, summary: bool
    ) -> dict[str, Any]:
        """The item as eBay would return it to this request."""
        # A shallow copy: the response is serialised at once and stored items never change.
        shown = {k: v for k, v in item.items() if not (summary and k in DETAIL_ONLY_KEYS)}
        shown.pop("itemAffiliateWebUrl", None)
        context = self._end_user_context(request)
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

    # --- endpoints ----------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        with self._lock:
            self.token_requests += 1
        failure = self._injected_failure(request.url.path, browse=False)
        if failure is not None:
            return failure
        invalid_client = JSONResponse(
            {"error": "invalid_client", "error_description": "client authentication failed"},
            status_code=401,
        )
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return invalid_client
        try:
            user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return invalid_client
        if user != self.app_id or password != self.cert_id:
            return invalid_client
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type in request is not supported by the "
                    "authorization server",
                },
                status_code=400,
            )
        scopes = form.get("scope", API_SCOPE).split()
        if any(not s.startswith(API_SCOPE) for s in scopes):
            return JSONResponse(
                {
                    "error": "invalid_scope",
                    "error_description": "The requested scope is invalid, unknown, malformed, "
                    "or exceeds the scope granted to the client",
                },
                status_code=400,
            )
        with self._lock:
            self._token_serial += 1
            token = f"v^1.1#i^1#r^0#p^1#fake{self._token_serial:06d}#t^H4sI"
            self._tokens[token] = self.clock() + timedelta(seconds=self.token_ttl)
        return JSONResponse(
            {
                "access_token": token,
                "expires_in": self.token_ttl,
                "token_type": "Application Access Token",
            }
        )

    async def _search(self, request: Request) -> Response:
        if (refused := self._browse_gate(request)) is not None:
            return refused
        params = request.query_params
        q = (params.get("q") or "").strip()[:100] or None
        category_ids = [c.strip() for c in (params.get("category_ids") or "").split(",")]
        category_id = next((c for c in category_ids if c), None)  # eBay honours the first
        gtin, epid = params.get("gtin"), params.get("epid")
        if not (q or category_id or gtin or epid):
            return ebay_error(
                400,
                12001,
                "The call must have a valid 'q', 'category_ids', 'epid' or 'gtin' query parameter.",
            )
        try:
            limit = int(params.get("limit") or 50)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 200:
            return ebay_error(
                400,
                12006,
                "The 'limit' value should be between 1 and 200 (inclusive).",
                parameters={"limit": params.get("limit", "")},
            )
        try:
            offset = int(params.get("offset") or 0)
        except ValueError:
            offset = -1
        if offset < 0:
            return ebay_error(
                400,
                12004,
                "The 'offset' value cannot be negative or non-numeric.",
                parameters={"offset": params.get("offset", "")},
            )
        if offset >= MAX_WINDOW or offset + limit > MAX_WINDOW:
            return ebay_error(
                400,
                12029,
                "The 'offset' value plus the 'limit' value cannot be greater than 10000.",
                parameters={"offset": str(offset), "limit": str(limit)},
            )
        if offset % limit:
            return ebay_error(
                400,
                12005,
                "The 'offset' value must be zero or a multiple of the 'limit' value.",
                parameters={"offset": str(offset), "limit": str(limit)},
            )
        raw_filter = params.get("filter") or ""
        search_filter = parse_filter(raw_filter)
        sort = params.get("sort")
        accept = item_matcher(
            q=q, category_id=category_id, search_filter=search_filter, gtin=gtin, epid=epid
        )
        with self._lock:
            selection = self._select((q, category_id, raw_filter, gtin, epid), accept)
            total = len(selection.found)
            if sort == "newlyListed":
                page: list[Item] = [s.item for s in selection.found[offset : offset + limit]]
            else:
                in_order = [s.item for s in sorted(selection.found, key=lambda s: s.seq)]
                page = sort_items(in_order, sort if sort in SORTS else None)
                page = page[offset : offset + limit]
        body: dict[str, Any] = {
            "href": str(request.url),
            "total": total,
            "limit": limit,
            "offset": offset,
        }
        following = offset + limit
        if following < total and following + limit <= MAX_WINDOW:
            body["next"] = str(request.url.include_query_params(offset=following, limit=limit))
        if offset > 0:
            body["prev"] = str(
                request.url.include_query_params(offset=max(0, offset - limit), limit=limit)
            )
        if page:
            body["itemSummaries"] = [self._present(i, request, summary=True) for i in page]
        if search_filter.warnings:
            body["warnings"] = [
                {
                    "errorId": w.error_id,
                    "domain": "API_BROWSE",
                    "category": "REQUEST",
                    "message": w.message,
                }
                for w in search_filter.warnings
            ]
        return JSONResponse(body)

    def _item_response(self, item: Mapping[str, Any] | None, request: Request) -> Response:
        if item is None:
            return ebay_error(
                404,
                11001,
                "The specified item Id was not found.",
                parameters={"itemId": request.path_params.get("item_id", "")},
            )
        return JSONResponse(self._present(item, request, summary=False))

    async def _item(self, request: Request) -> Response:
        if (refused := self._browse_gate(request)) is not None:
            return refused
        with self._lock:
            stored = self._items.get(request.path_params["item_id"])
        return self._item_response(stored.item if stored else None, request)

    async def _item_by_legacy_id(self, request: Request) -> Response:
        if (refused := self._browse_gate(request)) is not None:
            return refused
        legacy = request.query_params.get("legacy_item_id", "")
        with self._lock:
            stored = self._items.get(self._by_legacy_id.get(legacy, ""))
        return self._item_response(stored.item if stored else None, request)

    async def _rate_limit(self, request: Request) -> Response:
        """Developer Analytics getRateLimits: the Browse quota as the fake counts it."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            expires = self._tokens.get(token.strip())
            if scheme.lower() != "bearer" or expires is None or self.clock() >= expires:
                return invalid_token()
            day = self._roll_quota_day()
            used = self._quota_used
        day_start = datetime.combine(day, datetime.min.time(), UTC)
        reset = day_start + QUOTA_RESET + timedelta(days=1)
        rate = {
            "count": used,
            "limit": self.daily_limit,
            "remaining": max(0, self.daily_limit - used),
            "reset": ebay_time(reset),
            "timeWindow": 86400,
        }
        return JSONResponse(
            {
                "rateLimits": [
                    {
                        "apiContext": "buy",
                        "apiName": "Browse",
                        "apiVersion": "v1",
                        "resources": [{"name": "buy.browse", "rates": [rate]}],
                    }
                ]
            }
        )
