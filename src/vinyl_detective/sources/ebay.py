"""The eBay Browse API client: application token, listing search, item detail.

Everything eBay-specific stops here: the rest of the product sees `Listing` values and
the error types of `vinyl_detective.errors`. The traps it handles (see REFERENCE.md):

- search returns only FIXED_PRICE listings unless a `buyingOptions` filter is sent, so
  this client always sends one (auctions included by default);
- `total` is an estimate: page with `SearchPage.has_next`, not with `total`;
- `offset` must be a multiple of `limit` and `offset + limit` can never pass 10,000;
- only one `category_ids` value is honoured: poll each record category on its own;
- money values are strings, shipping may be unknown ("CALCULATED" with no cost): read
  into `Listing` values by `sources/ebay_parse.py`.

Every Browse API attempt (retries and failures included) first goes through the
injected `CallBudget`; the token call does not, eBay counts it separately.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from vinyl_detective.domain.ebay_sites import CASSETTES as CASSETTES
from vinyl_detective.domain.ebay_sites import CDS as CDS
from vinyl_detective.domain.ebay_sites import MARKETPLACE_CURRENCIES
from vinyl_detective.domain.ebay_sites import MARKETPLACE_HOSTS as MARKETPLACE_HOSTS
from vinyl_detective.domain.ebay_sites import MUSIC as MUSIC
from vinyl_detective.domain.ebay_sites import RECORDS as RECORDS
from vinyl_detective.domain.models import Listing
from vinyl_detective.errors import (
    AuthError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)
from vinyl_detective.sources.ebay_parse import (
    MalformedItemError,
    listing_from_item,
    str_or_none,
)
from vinyl_detective.sources.http_owner import REQUEST_TIMEOUT, OwnsHttpClient, tls_context

log = logging.getLogger(__name__)

log = logging.getLogger(__name__)


SERVICE = "ebay"


API_SCOPE = "https://api.ebay.com/oauth/api_scope"


TOKEN_PATH = "/identity/v1/oauth2/token"  # noqa: S105 (a URL path, not a secret)


SEARCH_PATH = "/buy/browse/v1/item_summary/search"


ITEM_PATH = "/buy/browse/v1/item/"


MAX_LIMIT = 200


MAX_RESULT_WINDOW = 10_000


# How long before a token's stated expiry we fetch a new one.
TOKEN_REFRESH_MARGIN = 120.0
# A 429 whose Retry-After is at most this (seconds) is waited out and tried once more in
# the call; a longer one, or none (the daily limit), is raised for the scheduler to pause.
SHORT_RETRY_AFTER = 5.0


class CallBudget(Protocol):
    """A daily allowance of Browse API calls (storage.usage.DbCallBudget is the real one)."""

    async def acquire(self) -> None:
        """Spend one call, or raise errors.BudgetExhaustedError when none are left."""
        ...


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of search results.

    `total` is eBay's estimate; use `has_next` to decide whether to read another page.
    `skipped` counts malformed item summaries that were left out of `listings`.
    """

    listings: list[Listing]
    total: int
    offset: int
    limit: int
    has_next: bool
    skipped: int = 0


class ListingSource(Protocol):
    """What the polling jobs need of a listing source: EbayClient.search, or a fake."""

    async def search(
        self,
        *,
        q: str | None = ...,
        category_id: str | None = ...,
        limit: int = ...,
        offset: int = ...,
        sort: str | None = ...,
        marketplace: str | None = ...,
    ) -> SearchPage: ...


def _filter_time(moment: datetime) -> str:
    """eBay's filter timestamp: UTC with milliseconds and a Z. Naive times are taken as UTC."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# getItem's "item not found" / "item not available" arrive as 400s with these ids.
_GONE_ERROR_IDS = frozenset({11001, 11004})


def _error_id(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, Mapping) and isinstance(errors := body.get("errors"), list) and errors:
        first = errors[0]
        error_id = first.get("errorId") if isinstance(first, Mapping) else None
        return error_id if isinstance(error_id, int) else None
    return None


def _error_message(response: httpx.Response) -> str:
    """eBay's own words for a failed call: errors[0].message, or the OAuth description."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            first = errors[0]
            message = str_or_none(first.get("message")) or str_or_none(first.get("longMessage"))
            if message:
                error_id = first.get("errorId")
                return f"{message} (errorId {error_id})" if error_id is not None else message
        description = str_or_none(body.get("error_description")) or str_or_none(body.get("error"))
        if description:
            return description
    return f"HTTP {response.status_code}"


class EbayClient(OwnsHttpClient):
    """Async eBay Browse API client over an injected (or owned) httpx.AsyncClient.

    `base_url` is the API host (`https://api.ebay.com`, the sandbox, or a fake).
    `sleep` and `clock` are injectable so retries and token expiry are testable without
    waiting. `max_retries` is how many times a 5xx/timeout/connection error is retried.
    """

    def __init__(
        self,
        app_id: str,
        cert_id: str,
        *,
        base_url: str,
        marketplace: str = "EBAY_US",
        campaign_id: str | None = None,
        http: httpx.AsyncClient | None = None,
        budget: CallBudget | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_retries: int = 3,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.marketplace = marketplace
        self.campaign_id = campaign_id or None
        self._app_id = app_id
        self._cert_id = cert_id
        self._base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = (
            http if http is not None else httpx.AsyncClient(timeout=timeout, verify=tls_context())
        )
        self._budget = budget
        self._sleep = sleep
        self._clock = clock
        self._max_retries = max(0, max_retries)
        self._timeout = timeout
        self._token: str | None = None
        self._token_renew_at = 0.0
        self._token_lock = asyncio.Lock()

    # --- public API ------------------------------------------------------------------

    async def search(
        self,
        *,
        q: str | None = None,
        category_id: str | None = None,
        limit: int = 200,
        offset: int = 0,
        sort: str | None = "newlyListed",
        buying_options: Sequence[str] = ("FIXED_PRICE", "AUCTION"),
        price_max: Decimal | None = None,
        listed_after: datetime | None = None,
        price_currency: str | None = None,
        marketplace: str | None = None,
    ) -> SearchPage:
        """One page of `item_summary/search`, newest first by default.

        `q` and/or `category_id` (one category: eBay honours only the first). Auctions
        are included unless `buying_options` says otherwise. `price_max` is in
        `price_currency` (default: the marketplace's currency). `listed_after` becomes an
        `itemStartDate:[..]` window. `marketplace` (default: the client's) is the site
        searched, sent as `X-EBAY-C-MARKETPLACE-ID`. Raises ValueError for a request eBay
        would refuse.
        """
        site = self._site(marketplace)
        if not (q and q.strip()) and not category_id:
            raise ValueError("an eBay search needs keywords (q) or a category_id, or both")
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        if offset < 0 or offset % limit:
            raise ValueError(f"offset must be a multiple of limit ({limit}), got {offset}")
        if offset + limit > MAX_RESULT_WINDOW:
            raise ValueError(
                f"eBay never returns results past {MAX_RESULT_WINDOW:,}: offset {offset} + "
                f"limit {limit} is too far; narrow the search (e.g. a listed_after window)"
            )
        options = [o.strip().upper() for o in buying_options if o.strip()]
        if not options:
            raise ValueError(
                "buying_options cannot be empty: without it eBay returns fixed-price only"
            )
        filters = ["buyingOptions:{" + "|".join(options) + "}"]
        if price_max is not None:
            currency = price_currency or MARKETPLACE_CURRENCIES.get(site, "USD")
            filters += [f"price:[..{price_max}]", f"priceCurrency:{currency}"]
        if listed_after is not None:
            filters.append(f"itemStartDate:[{_filter_time(listed_after)}..]")
        params: dict[str, str] = {}
        if q and q.strip():
            params["q"] = q.strip()
        if category_id:
            params["category_ids"] = category_id
        params["filter"] = ",".join(filters)
        if sort:
            params["sort"] = sort
        params["limit"] = str(limit)
        params["offset"] = str(offset)

        body = await self._browse_get(SEARCH_PATH, params, site)
        raw_items = body.get("itemSummaries", [])
        if not isinstance(raw_items, list):
            raise PermanentError(SERVICE, "search response has an itemSummaries that is no list")
        listings: list[Listing] = []
        skipped = 0
        for raw in raw_items:
            try:
                if not isinstance(raw, Mapping):
                    raise MalformedItemError("item summary is not an object")
                listings.append(self._listing(raw, site))
            except MalformedItemError as exc:
                skipped += 1
                log.warning("ebay: skipped a malformed item summary: %s", exc)
        total = body.get("total")
        got_offset, got_limit = body.get("offset"), body.get("limit")
        return SearchPage(
            listings=listings,
            total=total if isinstance(total, int) else len(listings) + skipped,
            offset=got_offset if isinstance(got_offset, int) else offset,
            limit=got_limit if isinstance(got_limit, int) else limit,
            has_next=bool(body.get("next")),
            skipped=skipped,
        )

    async def get_item(self, item_id: str, marketplace: str | None = None) -> Listing:
        """The item detail for `item_id` ("v1|<n>|0"), with catalog number and barcode.

        `marketplace` is the site the listing was found on (default: the client's).
        Raises NotFoundError when the listing is gone, PermanentError when eBay's answer
        is not a usable item.
        """
        site = self._site(marketplace)
        body = await self._browse_get(ITEM_PATH + quote(item_id, safe=""), {}, site)
        try:
            return self._listing(body, site)
        except MalformedItemError as exc:
            raise PermanentError(SERVICE, f"item {item_id} is malformed: {exc}") from exc

    def _site(self, marketplace: str | None) -> str:
        """The marketplace to ask: `marketplace` if eBay knows it, else the client's own."""
        code = (marketplace or "").strip().upper()
        return code if code in MARKETPLACE_HOSTS else self.marketplace

    def _listing(self, item: Mapping[str, Any], marketplace: str) -> Listing:
        return listing_from_item(item, marketplace=marketplace, campaign_id=self.campaign_id)

    # --- transport -------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: about 1, 2, 4 … seconds, capped at 60."""
        base: float = min(60.0, 2.0 ** (attempt - 1))
        return base / 2 + random.uniform(0, base / 2)

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        """One HTTP attempt. Returns None for a retryable transport failure."""
        try:
            return await self._http.request(method, url, timeout=self._timeout, **kwargs)
        except httpx.UnsupportedProtocol as exc:
            raise PermanentError(SERVICE, f"bad eBay API URL {url!r}: {exc}") from exc
        except httpx.TransportError as exc:
            log.warning("ebay: %s %s failed: %s", method, url, type(exc).__name__)
            return None

    async def _retry_or_raise(self, attempt: int, what: str) -> None:
        if attempt > self._max_retries:
            raise RetryableError(SERVICE, f"{what} after {attempt} attempts; eBay may be down")
        await self._sleep(self._backoff(attempt))

    async def _access_token(self, *, rejected: str | None = None) -> str:
        """The cached token, or a new one when it is due for renewal or was `rejected`.

        Several calls that saw the same token rejected renew it only once.
        """
        async with self._token_lock:
            fresh = self._token is not None and self._clock() < self._token_renew_at
            if self._token is not None and fresh and self._token != rejected:
                return self._token
            self._token = None
            self._token = await self._fetch_token()
            return self._token

    async def _fetch_token(self) -> str:
        credentials = base64.b64encode(f"{self._app_id}:{self._cert_id}".encode()).decode()
        headers = {
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        form = {"grant_type": "client_credentials", "scope": API_SCOPE}
        attempt = 0
        while True:
            attempt += 1
            response = await self._send(
                "POST", self._base_url + TOKEN_PATH, headers=headers, data=form
            )
            if response is None or response.status_code >= 500:
                what = "the token request failed" if response is None else "token HTTP 5xx"
                await self._retry_or_raise(attempt, what)
                continue
            if response.status_code == 429:
                raise RateLimitedError(
                    SERVICE,
                    f"token request refused: {_error_message(response)}",
                    retry_after=_retry_after(response),
                )
            if response.status_code in (400, 401, 403):
                body = _error_message(response)
                if response.status_code != 400 or "invalid_client" in response.text:
                    raise AuthError(
                        SERVICE,
                        f"eBay refused the application credentials ({body}): check EBAY_APP_ID "
                        "and EBAY_CERT_ID (the App ID and Cert ID of one production keyset, "
                        "which must be enabled)",
                        status=response.status_code,
                    )
                raise PermanentError(
                    SERVICE, f"token request refused: {body}", status=response.status_code
                )
            if response.status_code != 200:
                raise PermanentError(
                    SERVICE,
                    f"token request answered HTTP {response.status_code}: "
                    f"{_error_message(response)}",
                    status=response.status_code,
                )
            try:
                body_json = response.json()
            except ValueError:
                await self._retry_or_raise(attempt, "the token answer was not JSON")
                continue
            token = body_json.get("access_token") if isinstance(body_json, Mapping) else None
            expires_in = body_json.get("expires_in", 7200) if isinstance(body_json, Mapping) else 0
            if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
                raise PermanentError(SERVICE, "token response is not the expected JSON")
            margin = min(TOKEN_REFRESH_MARGIN, float(expires_in) / 2)
            self._token_renew_at = self._clock() + float(expires_in) - margin
            return token

    def _headers(self, token: str, marketplace: str) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token}",
            "X-EBAY-C-MARKETPLACE-ID": marketplace,
            "Accept": "application/json",
        }
        if self.campaign_id:
            headers["X-EBAY-C-ENDUSERCTX"] = f"affiliateCampaignId={self.campaign_id}"
        return headers

    async def _browse_get(
        self, path: str, params: Mapping[str, str], marketplace: str
    ) -> dict[str, Any]:
        """GET a Browse API resource with budget, token refresh and retries."""
        url = self._base_url + path
        attempt = 0
        renewed = slowed = False
        while True:
            token = await self._access_token()
            if self._budget is not None:
                await self._budget.acquire()
            attempt += 1
            response = await self._send(
                "GET", url, params=params, headers=self._headers(token, marketplace)
            )
            if response is None:
                await self._retry_or_raise(attempt, f"GET {path} failed")
                continue
            status = response.status_code
            if status == 401 and not renewed:
                renewed = True
                await self._access_token(rejected=token)
                continue
            if status >= 500:
                log.warning("ebay: GET %s answered HTTP %d", path, status)
                await self._retry_or_raise(attempt, f"GET {path} answered HTTP {status}")
                continue
            if status == 429:
                retry_after = _retry_after(response)
                if retry_after is not None and retry_after <= SHORT_RETRY_AFTER and not slowed:
                    # A moment's wait asked for (not the daily limit): wait, try once more.
                    slowed = True
                    log.info("ebay: GET %s answered 429; retrying in %.0f s", path, retry_after)
                    await self._sleep(retry_after)
                    continue
                raise RateLimitedError(
                    SERVICE,
                    f"eBay call limit reached: {_error_message(response)}",
                    retry_after=retry_after,
                )
            if status in (401, 403):
                raise AuthError(
                    SERVICE,
                    f"eBay refused access ({_error_message(response)}): check EBAY_APP_ID and "
                    "EBAY_CERT_ID and that the keyset is enabled for the Browse API",
                    status=status,
                )
            if status == 404 or _error_id(response) in _GONE_ERROR_IDS:
                raise NotFoundError(SERVICE, f"{path}: {_error_message(response)}", status=404)
            if status >= 400:
                raise PermanentError(
                    SERVICE, f"{path} refused: {_error_message(response)}", status=status
                )
            try:
                body = response.json()
            except ValueError:
                # A cut or non-JSON 200 (a proxy's page, a reset mid-body): a glitch.
                await self._retry_or_raise(attempt, f"GET {path} answered a body that is not JSON")
                continue
            if not isinstance(body, dict):
                raise PermanentError(
                    SERVICE, f"{path} answered something that is not eBay's JSON", status=status
                )
            return body
