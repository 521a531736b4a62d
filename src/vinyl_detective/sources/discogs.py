"""The Discogs API client: releases, prices, database search and wantlists.

Everything Discogs-specific stops here: the rest of the product sees `Release`,
`PriceGuide` and `Money` values and the error types of `vinyl_detective.errors`. The
answers' JSON is read by `sources/discogs_parse.py`; this module fetches.

Every request waits for the shared `HeaderRateLimiter` (60/min, paced by Discogs'
X-Discogs-Ratelimit headers). A 429 holds every caller back for a growing pause (5 s, 10,
20 … up to the 60-s window) and retries; 5xx, timeouts and connection errors retry with
exponential back-off (1, 2, 4 s); what is left is raised as the product's error types.
The token is only ever sent in the Authorization header, never logged or put in errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from vinyl_detective.domain.models import Money, PriceGuide, Release
from vinyl_detective.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)
from vinyl_detective.sources.discogs_parse import (
    MalformedError,
    ReleasePage,
    parse_marketplace_stats,
    parse_price_suggestions,
    parse_release,
    parse_search_result,
    release_page,
)
from vinyl_detective.sources.http_owner import REQUEST_TIMEOUT, OwnsHttpClient, tls_context
from vinyl_detective.sources.ratelimit import HeaderRateLimiter

__all__ = ["DiscogsClient"]

log = logging.getLogger(__name__)

SERVICE = "discogs"
MAX_PER_PAGE = 100
MAX_BACKOFF = 30.0
# Currencies Discogs accepts in `curr_abbr`.
CURRENCIES = frozenset(
    {"USD", "GBP", "EUR", "CAD", "AUD", "JPY", "CHF", "MXN", "BRL", "NZD", "SEK", "ZAR"}
)

Sleep = Callable[[float], Awaitable[None]]
# Empty price-suggestion answers, with no suggestion ever, before the seller-settings hint.
EMPTY_SUGGESTIONS_HINT = 20


# --------------------------------------------------------------------------- the client


class DiscogsClient(OwnsHttpClient):
    """Async Discogs API client over an injected (or owned) `httpx.AsyncClient`.

        async with DiscogsClient(token, base_url=settings.discogs_api_base_url,
                                 user_agent=settings.user_agent) as discogs:
            release = await discogs.get_release(2825456)
            prices = await discogs.price_guide(2825456)

    `token` may be empty: public endpoints then work at Discogs' lower anonymous rate,
    and search raises AuthError asking for DISCOGS_TOKEN.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str,
        user_agent: str,
        http: httpx.AsyncClient | None = None,
        limiter: HeaderRateLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
        max_retries: int = 3,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        if not user_agent.strip():
            raise ConfigError(
                "The Discogs client needs a User-Agent naming this application "
                "(e.g. 'VinylDetective/0.1 +https://example.org'): Discogs blocks generic ones."
            )
        self._base_url = base_url.rstrip("/")
        self._headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Discogs token={token}"
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(verify=tls_context())
        self._limiter = limiter if limiter is not None else HeaderRateLimiter(sleep=sleep)
        self._sleep = sleep
        self._max_retries = max(0, max_retries)
        self._timeout = timeout
        self._seller_hint_logged = False
        # `{}` is also what Discogs answers for a release it has no suggestion for, so only
        # a run of empty answers and never a suggestion points at the seller settings.
        self._empty_suggestions = 0
        self._got_suggestions = False

    @property
    def limiter(self) -> HeaderRateLimiter:
        return self._limiter

    # ------------------------------------------------------------------ endpoints

    async def get_release(self, release_id: int) -> Release:
        """The release `release_id`; NotFoundError when Discogs does not know it."""
        data = await self._get_json(f"/releases/{int(release_id)}")
        try:
            return parse_release(_as_object(data))
        except MalformedError as exc:
            raise PermanentError(
                SERVICE, f"release {release_id} came back malformed: {exc}"
            ) from exc

    async def price_suggestions(self, release_id: int) -> PriceGuide | None:
        """Suggested prices by grade code (M, NM, VG+, ...); None when Discogs gives none.

        Discogs only suggests prices to users who filled in their seller settings; without
        them it refuses (403/404) or answers `{}` and this returns None. `{}` is also the
        answer for a release without a suggestion: the hint to fill in the seller settings
        is logged (once) on a refusal, or after EMPTY_SUGGESTIONS_HINT empty answers and
        not a single suggestion.
        """
        path = f"/marketplace/price_suggestions/{int(release_id)}"
        try:
            data = await self._get_json(path)
        except PermanentError as exc:
            if not isinstance(exc, AuthError) and exc.status in (403, 404):
                if "seller" in str(exc).lower() or exc.status == 403:
                    self._log_seller_hint(str(exc))
                else:  # the release itself is unknown: nothing to suggest, nothing to fix
                    log.debug("no price suggestions for release %s: %s", release_id, exc)
                return None
            raise
        guide = parse_price_suggestions(data)
        if guide is not None:
            self._got_suggestions = True
        elif not self._got_suggestions:
            self._empty_suggestions += 1
            if self._empty_suggestions >= EMPTY_SUGGESTIONS_HINT:
                self._log_seller_hint(f"{self._empty_suggestions} empty answers, no suggestion yet")
        return guide

    async def marketplace_stats(
        self, release_id: int, currency: str | None = None
    ) -> tuple[Money | None, int | None]:
        """(lowest price for sale, number for sale); (None, None) when nothing is for sale."""
        params: dict[str, str] = {}
        if currency:
            params["curr_abbr"] = currency.upper()
        data = await self._get_json(f"/marketplace/stats/{int(release_id)}", params)
        try:
            return parse_marketplace_stats(data, currency.upper() if currency else None)
        except MalformedError as exc:
            raise PermanentError(
                SERVICE, f"marketplace stats for {release_id} came back malformed: {exc}"
            ) from exc

    async def price_guide(self, release_id: int) -> PriceGuide | None:
        """Suggestions and marketplace stats together; None only when both are empty.

        The stats are asked in the suggestions' currency so that `lowest` is comparable.
        `updated_at` is left for the caller to stamp.
        """
        suggestions = await self.price_suggestions(release_id)
        currency = suggestions.currency if suggestions is not None else None
        lowest, num_for_sale = await self.marketplace_stats(
            release_id, currency if currency in CURRENCIES else None
        )
        if suggestions is None:
            if lowest is None:
                return None
            return PriceGuide(
                currency=lowest.currency, lowest=lowest.amount, num_for_sale=num_for_sale
            )
        same_currency = lowest is not None and lowest.currency == suggestions.currency
        if lowest is not None and not same_currency:
            log.warning(
                "discogs lowest price for %s is in %s, suggestions in %s: lowest dropped",
                release_id,
                lowest.currency,
                suggestions.currency,
            )
        return PriceGuide(
            currency=suggestions.currency,
            by_condition=dict(suggestions.by_condition),
            lowest=lowest.amount if lowest is not None and same_currency else None,
            num_for_sale=num_for_sale,
        )

    async def search_releases(
        self,
        query: str | None = None,
        *,
        artist: str | None = None,
        release_title: str | None = None,
        catno: str | None = None,
        barcode: str | None = None,
        format: str | None = None,  # Discogs' own parameter name
        year: int | str | None = None,
        page: int = 1,
        per_page: int = 100,
    ) -> ReleasePage:
        """One page of `GET /database/search?type=release` (needs a token)."""
        params: dict[str, str] = {"type": "release"}
        for name, value in (
            ("q", query),
            ("artist", artist),
            ("release_title", release_title),
            ("catno", catno),
            ("barcode", barcode),
            ("format", format),
            ("year", year),
        ):
            if value is not None and str(value).strip():
                params[name] = str(value).strip()
        params["page"] = str(max(1, page))
        params["per_page"] = str(min(MAX_PER_PAGE, max(1, per_page)))
        data = _as_object(await self._get_json("/database/search", params))
        results = data.get("results")
        if not isinstance(results, list):
            raise PermanentError(SERVICE, "search answer has no 'results' list")
        releases: list[Release] = []
        skipped = 0
        for result in results:
            if isinstance(result, Mapping) and result.get("type", "release") != "release":
                continue  # artists, labels, masters: not asked for, not malformed
            try:
                releases.append(parse_search_result(_as_object(result)))
            except (MalformedError, PermanentError) as exc:
                skipped += 1
                log.debug("discogs search result skipped: %s", exc)
        return release_page(data, releases, skipped, page)

    async def wantlist_page(self, username: str, page: int = 1, per_page: int = 100) -> ReleasePage:
        """One page of a user's wantlist (public, or the token owner's own)."""
        name = username.strip()
        if not name:
            raise ConfigError("A Discogs username is needed to read a wantlist.")
        params = {"page": str(max(1, page)), "per_page": str(min(MAX_PER_PAGE, max(1, per_page)))}
        data = _as_object(await self._get_json(f"/users/{quote(name, safe='')}/wants", params))
        wants = data.get("wants")
        if not isinstance(wants, list):
            raise PermanentError(SERVICE, "wantlist answer has no 'wants' list")
        releases: list[Release] = []
        skipped = 0
        for want in wants:
            info = want.get("basic_information") if isinstance(want, Mapping) else None
            try:
                releases.append(parse_release(_as_object(info)))
            except (MalformedError, PermanentError) as exc:
                skipped += 1
                log.debug("discogs wantlist entry skipped: %s", exc)
        return release_page(data, releases, skipped, page)

    # ------------------------------------------------------------------ transport

    async def _get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET `path` with pacing and retries; the parsed JSON body or one of our errors."""
        url = f"{self._base_url}{path}"
        attempt = 0
        while True:
            await self._limiter.acquire()
            try:
                response = await self._http.get(
                    url, params=params, headers=self._headers, timeout=self._timeout
                )
            except httpx.TransportError as exc:
                problem = _describe_transport_error(exc)
                if attempt >= self._max_retries:
                    raise RetryableError(
                        SERVICE, f"{problem} on GET {path} after {attempt + 1} attempts"
                    ) from exc
                await self._backoff(attempt, f"{problem} on GET {path}")
                attempt += 1
                continue

            status = response.status_code
            if status == 429:
                # Its headers say the window is full; the limiter's growing pause (5 s,
                # 10, 20 … up to the window) decides how long every caller holds back.
                retry_after = _retry_after(response.headers.get("Retry-After"))
                pause = self._limiter.rate_limited(retry_after)
                if attempt >= self._max_retries:
                    raise RateLimitedError(
                        SERVICE,
                        f"still rate limited on GET {path} after {attempt + 1} attempts: "
                        f"{_message(response)}",
                        retry_after=pause,
                    )
                log.info("discogs 429 on GET %s; holding back for %.0f s", path, pause)
                attempt += 1
                continue
            self._limiter.update(response.headers)
            if status >= 500:
                if attempt >= self._max_retries:
                    raise RetryableError(
                        SERVICE,
                        f"HTTP {status} on GET {path} after {attempt + 1} attempts: "
                        f"{_message(response)}",
                        status=status,
                    )
                await self._backoff(attempt, f"HTTP {status} on GET {path}")
                attempt += 1
                continue
            if status >= 400:
                raise _client_error(status, path, _message(response))
            try:
                return response.json()
            except ValueError as exc:
                # A cut or non-JSON 200 (a proxy's page, a reset mid-body): a glitch.
                if attempt >= self._max_retries:
                    raise RetryableError(
                        SERVICE,
                        f"GET {path} answered with malformed JSON {attempt + 1} times",
                        status=status,
                    ) from exc
                await self._backoff(attempt, f"malformed JSON on GET {path}")
                attempt += 1

    async def _backoff(self, attempt: int, problem: str) -> None:
        delay = min(MAX_BACKOFF, 2.0**attempt)
        log.info("discogs %s; retrying in %.0f s", problem, delay)
        await self._sleep(delay)

    def _log_seller_hint(self, reason: str) -> None:
        if self._seller_hint_logged:
            return
        self._seller_hint_logged = True
        log.warning(
            "discogs gives no price suggestions (%s). Discogs only suggests prices to users "
            "with seller settings: fill them in at https://www.discogs.com/settings/seller "
            "for the DISCOGS_TOKEN account; until then deals use the lowest marketplace price.",
            reason,
        )


# --------------------------------------------------------------------------- helpers


def _as_object(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise PermanentError(SERVICE, "expected a JSON object in Discogs' answer")
    return data


def _message(response: httpx.Response) -> str:
    """Discogs' `{"message": ...}` text, or a short fallback."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return str(body["message"])
    return response.reason_phrase or f"HTTP {response.status_code}"


def _client_error(status: int, path: str, message: str) -> PermanentError:
    if status == 401:
        return AuthError(
            SERVICE,
            f"Discogs refused the request to {path} (401: {message}). Check DISCOGS_TOKEN: "
            "create a personal access token at https://www.discogs.com/settings/developers.",
            status=status,
        )
    if status == 404:
        return NotFoundError(SERVICE, f"{message} (GET {path})", status=status)
    if status == 403:
        return PermanentError(
            SERVICE,
            f"Discogs refused GET {path} (403: {message}). Discogs blocks generic "
            "User-Agents; resources of other users need their permission.",
            status=status,
        )
    return PermanentError(SERVICE, f"GET {path} failed ({status}): {message}", status=status)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def _describe_transport_error(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    return f"network error ({type(exc).__name__})"
