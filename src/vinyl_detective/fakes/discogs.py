"""A fake Discogs API server: the real paths, shapes, errors and rate-limit headers.

    fake = FakeDiscogs(releases, price_suggestions={2825456: {...}}, wants={"ann": [2825456]})
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app),
                             base_url="https://api.discogs.test")

or served on loopback by the demo (`LoopbackServer(fake.app)`). What it imitates:

* `GET /releases/{id}` — the stored dict, exactly as given (the real body's shape), with
  `lowest_price`/`num_for_sale` filled in from the marketplace stats when absent.
* `GET /marketplace/stats/{id}` — `lowest_price` and `num_for_sale` derived
  deterministically from the release's VG+ (or best) suggestion, unless the release dict
  carries its own; both null when there are no suggestions (nothing for sale).
* `GET /marketplace/price_suggestions/{id}` — the given suggestions; for a release
  without any, 404 "You must fill out your seller settings first." (a release given an
  empty dict answers `{}`, as Discogs does for a seller without suggestions).
* `GET /database/search` — authentication required; `q` words must all appear in the
  artist, title, catalog numbers or labels; `artist`, `release_title`, `label` word-wise,
  `catno` normalised, `barcode` by digits, `format`, `year`, `country`, `genre`, `style`,
  `type`; results in the real search-result shape, with every identifier in `barcode[]`
  and companies in `label[]` (as the real API pollutes them); real pagination.
* `GET /users/{username}/wants` — paginated, from `basic_information`.
* Every response carries X-Discogs-Ratelimit, -Used and -Remaining over a moving 60 s
  window on the injected clock; beyond the limit 429 "You are making requests too
  quickly.". A missing or wrong token (where one is needed) gives 401, a missing or
  generic User-Agent 403, an unknown release 404 "Release not found.".

`fail_next(status, times, path_contains)` makes the next matching requests fail (5xx,
429, anything; `body` replaces the JSON body, e.g. to send malformed JSON).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vinyl_detective.domain.normalize import normalize_catalog_no, strip_disambiguation

__all__ = ["FakeDiscogs"]

WINDOW_SECONDS = 60.0
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100

MSG_TOO_FAST = "You are making requests too quickly."
MSG_AUTH = "You must authenticate to access this resource."
MSG_INVALID_CREDENTIALS = (
    "Invalid consumer token. Please register an app before making API requests."
)
MSG_USER_AGENT = "Please supply a unique User-Agent identifying your application."
MSG_NOT_FOUND = "Release not found."
MSG_NO_RESOURCE = "The requested resource was not found."
MSG_SELLER = "You must fill out your seller settings first."
MSG_NO_USER = "User does not exist or may have been deleted."
MSG_SERVER = "An internal server error occurred."

# User-Agents of HTTP libraries and tools used as-is: the real API refuses to serve them.
_GENERIC_AGENTS = re.compile(
    r"^(python-httpx|python-requests|python-urllib|python/|aiohttp|curl|wget|"
    r"go-http-client|java/|okhttp|axios|node-fetch|undici|libwww-perl)",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
# Fixed demo exchange rates to USD, for `curr_abbr` (not real rates).
_USD_PER_UNIT: Mapping[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "CAD": Decimal("0.73"),
    "AUD": Decimal("0.66"),
    "JPY": Decimal("0.0067"),
    "CHF": Decimal("1.13"),
    "MXN": Decimal("0.058"),
    "BRL": Decimal("0.2"),
    "NZD": Decimal("0.61"),
    "SEK": Decimal("0.095"),
    "ZAR": Decimal("0.055"),
}
_CENT = Decimal("0.01")


@dataclass(slots=True)
class _Failure:
    status: int
    times: int
    path_contains: str
    body: str | None
    retry_after: float | None


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit()).lstrip("0")


def _int_param(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        value = default
    return min(high, max(low, value))


def _message(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"message": message}, status_code=status, headers=dict(headers or {}))


class FakeDiscogs:
    """An in-memory Discogs API (see the module docstring for what it serves)."""

    def __init__(
        self,
        releases: Iterable[dict[str, Any]] = (),
        *,
        price_suggestions: Mapping[int, dict[str, Any]] | None = None,
        wants: Mapping[str, list[int]] | None = None,
        token: str | None = "demo-discogs-token",  # noqa: S107 (the demo's public fake token)
        rate_limit: int = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._releases: dict[int, dict[str, Any]] = {}
        self._suggestions: dict[int, dict[str, Any]] = {
            int(k): dict(v) for k, v in (price_suggestions or {}).items()
        }
        self._wants: dict[str, list[int]] = {
            name.casefold(): list(ids) for name, ids in (wants or {}).items()
        }
        self.token = token
        self.rate_limit = rate_limit
        self._clock = clock
        self._window: deque[float] = deque()
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()  # the demo serves from another thread
        self._request_count = 0
        self.request_paths: list[str] = []  # every request's path, in order
        self.add_releases(releases)
        self._app = Starlette(
            routes=[
                Route("/releases/{release_id}", self._release),
                Route("/marketplace/stats/{release_id}", self._stats),
                Route("/marketplace/price_suggestions/{release_id}", self._suggestions_route),
                Route("/database/search", self._search),
                Route("/users/{username}/wants", self._wantlist),
            ],
        )
        self._app.add_exception_handler(404, self._not_found)
        self._app.add_exception_handler(405, self._not_allowed)

    # ------------------------------------------------------------------ control

    @property
    def app(self) -> Starlette:
        """The ASGI app: mount with httpx.ASGITransport or serve on loopback."""
        return self._app

    @property
    def request_count(self) -> int:
        """Every request received, refused ones included."""
        return self._request_count

    def add_releases(self, releases: Iterable[dict[str, Any]]) -> None:
        """Add (or replace) releases, each in the `GET /releases/{id}` JSON shape."""
        with self._lock:
            for release in releases:
                self._releases[int(release["id"])] = dict(release)

    def set_price_suggestions(self, release_id: int, suggestions: dict[str, Any]) -> None:
        with self._lock:
            self._suggestions[int(release_id)] = dict(suggestions)

    def set_wants(self, username: str, release_ids: list[int]) -> None:
        with self._lock:
            self._wants[username.casefold()] = list(release_ids)

    def fail_next(
        self,
        status: int,
        times: int = 1,
        path_contains: str = "",
        *,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """The next `times` requests whose path contains `path_contains` answer `status`.

        `body` replaces the usual `{"message": ...}` (e.g. "{not json" with status 200);
        `retry_after` adds a Retry-After header.
        """
        with self._lock:
            self._failures.append(_Failure(status, times, path_contains, body, retry_after))

    # ------------------------------------------------------------------ plumbing

    def _rate_headers(self, used: int) -> dict[str, str]:
        return {
            "X-Discogs-Ratelimit": str(self.rate_limit),
            "X-Discogs-Ratelimit-Used": str(used),
            "X-Discogs-Ratelimit-Remaining": str(max(0, self.rate_limit - used)),
        }

    def _admit(self, request: Request) -> tuple[Response | None, dict[str, str]]:
        """Count the request; a refusal (429, injected failure, 403, 401) or None."""
        with self._lock:
            self._request_count += 1
            self.request_paths.append(request.url.path)
            now = self._clock()
            while self._window and self._window[0] + WINDOW_SECONDS <= now:
                self._window.popleft()
            if len(self._window) >= self.rate_limit:
                headers = self._rate_headers(len(self._window))
                return _message(429, MSG_TOO_FAST, headers), headers
            self._window.append(now)
            headers = self._rate_headers(len(self._window))
            failure = self._take_failure(request.url.path)
        if failure is not None:
            return self._failure_response(failure, headers), headers
        agent = request.headers.get("user-agent", "").strip()
        if not agent or _GENERIC_AGENTS.match(agent):
            return _message(403, MSG_USER_AGENT, headers), headers
        presented = self._presented_token(request)
        if self.token is not None and presented is not None and presented != self.token:
            return _message(401, MSG_INVALID_CREDENTIALS, headers), headers
        return None, headers

    def _take_failure(self, path: str) -> _Failure | None:
        for failure in self._failures:
            if failure.path_contains in path:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    @staticmethod
    def _failure_response(failure: _Failure, headers: dict[str, str]) -> Response:
        headers = dict(headers)
        if failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        if failure.body is not None:
            return Response(
                failure.body,
                status_code=failure.status,
                headers=headers,
                media_type="application/json",
            )
        message = {429: MSG_TOO_FAST, 401: MSG_AUTH, 404: MSG_NO_RESOURCE}.get(
            failure.status, MSG_SERVER if failure.status >= 500 else "Request refused."
        )
        return _message(failure.status, message, headers)

    @staticmethod
    def _presented_token(request: Request) -> str | None:
        auth = request.headers.get("authorization", "").strip()
        if auth:
            match = re.match(r"^Discogs\s+token\s*=\s*(\S+)$", auth, re.IGNORECASE)
            return match.group(1) if match else ""
        return request.query_params.get("token")

    def _authenticated(self, request: Request) -> bool:
        return self.token is None or self._presented_token(request) == self.token

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        refusal, headers = self._admit(request)
        return refusal or _message(404, MSG_NO_RESOURCE, headers)

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        refusal, headers = self._admit(request)
        return refusal or _message(405, "Method not allowed.", headers)

    def _release_or_none(self, raw_id: str) -> dict[str, Any] | None:
        if not raw_id.isdigit():
            return None
        return self._releases.get(int(raw_id))

    # ------------------------------------------------------------------ derived data

    def _marketplace(self, release_id: int, currency: str | None) -> dict[str, Any]:
        release = self._releases.get(release_id, {})
        suggestions = self._suggestions.get(release_id) or {}
        if "num_for_sale" in release or "lowest_price" in release:
            count = release.get("num_for_sale")
            price = release.get("lowest_price")
            amount = Decimal(str(price)) if isinstance(price, int | float) else None
            return self._stats_body(amount, "USD", count, currency)
        reference = suggestions.get("Very Good Plus (VG+)") or next(
            (v for v in suggestions.values() if isinstance(v, Mapping)), None
        )
        if not isinstance(reference, Mapping) or reference.get("value") is None:
            return {"lowest_price": None, "num_for_sale": None, "blocked_from_sale": False}
        count = 1 + release_id % 23
        lowest = Decimal(str(reference["value"])) * Decimal("0.85")
        return self._stats_body(lowest, str(reference.get("currency", "USD")), count, currency)

    @staticmethod
    def _stats_body(
        amount: Decimal | None, from_currency: str, count: Any, currency: str | None
    ) -> dict[str, Any]:
        if amount is None or not count:
            return {"lowest_price": None, "num_for_sale": count or None, "blocked_from_sale": False}
        target = currency if currency is not None and currency in _USD_PER_UNIT else from_currency
        if target != from_currency and from_currency in _USD_PER_UNIT:
            amount = amount * _USD_PER_UNIT[from_currency] / _USD_PER_UNIT[target]
        value = float(amount.quantize(_CENT, rounding=ROUND_HALF_UP))
        return {
            "lowest_price": {"currency": target, "value": value},
            "num_for_sale": count,
            "blocked_from_sale": False,
        }

    def _search_result(self, release: dict[str, Any], base: str) -> dict[str, Any]:
        release_id = int(release["id"])
        artists = [a for a in release.get("artists") or [] if isinstance(a, Mapping)]
        credit = ""
        for index, artist in enumerate(artists):
            credit += str(artist.get("name", ""))
            join = str(artist.get("join") or "").strip()
            if index < len(artists) - 1:
                credit += ", " if join in ("", ",") else f" {join} "
        title = f"{credit} - {release.get('title', '')}"
        labels = [lab for lab in release.get("labels") or [] if isinstance(lab, Mapping)]
        companies = [c for c in release.get("companies") or [] if isinstance(c, Mapping)]
        formats = [f for f in release.get("formats") or [] if isinstance(f, Mapping)]
        flat_formats: list[str] = []
        for fmt in formats:
            flat_formats.append(str(fmt.get("name", "")))
            flat_formats.extend(str(d) for d in fmt.get("descriptions") or [])
        community = release.get("community") or {}
        year = release.get("year")
        master_id = release.get("master_id") or None
        slug = re.sub(r"[^\w]+", "-", title).strip("-")
        result: dict[str, Any] = {
            "id": release_id,
            "type": "release",
            "title": title,
            "catno": str(labels[0].get("catno", "")).strip() if labels else "",
            "barcode": [
                str(i.get("value", ""))
                for i in release.get("identifiers") or []
                if isinstance(i, Mapping) and i.get("value")
            ],
            "format": flat_formats,
            "label": [str(x.get("name", "")) for x in [*labels, *companies]],
            "country": release.get("country", ""),
            "genre": list(release.get("genres") or []),
            "style": list(release.get("styles") or []),
            "master_id": master_id,
            "master_url": f"{base}/masters/{master_id}" if master_id else None,
            "community": {
                "want": int(community.get("want", 0)) if isinstance(community, Mapping) else 0,
                "have": int(community.get("have", 0)) if isinstance(community, Mapping) else 0,
            },
            "uri": f"/release/{release_id}-{slug}",
            "resource_url": f"{base}/releases/{release_id}",
            "thumb": release.get("thumb", ""),
            "cover_image": release.get("thumb", ""),
            "format_quantity": release.get("format_quantity", len(formats)),
            "formats": formats,
            "user_data": {"in_wantlist": False, "in_collection": False},
        }
        if isinstance(year, int) and year > 0:
            result["year"] = str(year)
        return result

    @staticmethod
    def _matches(release: dict[str, Any], params: Mapping[str, str]) -> bool:
        artists = " ".join(
            strip_disambiguation(str(a.get("name", "")))
            for a in release.get("artists") or []
            if isinstance(a, Mapping)
        )
        title = str(release.get("title", ""))
        labels = [lab for lab in release.get("labels") or [] if isinstance(lab, Mapping)]
        label_names = " ".join(strip_disambiguation(str(x.get("name", ""))) for x in labels)
        catnos = [str(x.get("catno", "")) for x in labels]
        norm_catnos = {n for n in (normalize_catalog_no(c) for c in catnos) if n}
        formats = [f for f in release.get("formats") or [] if isinstance(f, Mapping)]
        format_words = {
            str(v).casefold()
            for f in formats
            for v in [f.get("name", ""), *(f.get("descriptions") or [])]
        }

        def words_in(query: str, haystack: set[str]) -> bool:
            wanted = _words(query)
            return bool(wanted) and wanted <= haystack

        q = params.get("q", "").strip()
        if q:
            haystack = _words(" ".join([artists, title, label_names, *catnos]))
            haystack |= {n.casefold() for n in norm_catnos}
            if not words_in(q, haystack):
                return False
        checks: list[tuple[str, Callable[[str], bool]]] = [
            ("artist", lambda v: words_in(v, _words(artists))),
            ("release_title", lambda v: words_in(v, _words(title))),
            ("title", lambda v: words_in(v, _words(f"{artists} {title}"))),
            ("label", lambda v: words_in(v, _words(label_names))),
            ("catno", lambda v: normalize_catalog_no(v) in norm_catnos),
            (
                "barcode",
                lambda v: (
                    bool(_digits(v))
                    and any(
                        _digits(str(i.get("value", ""))) == _digits(v)
                        for i in release.get("identifiers") or []
                        if isinstance(i, Mapping)
                    )
                ),
            ),
            ("format", lambda v: v.casefold() in format_words),
            ("year", lambda v: str(release.get("year", "")) == v),
            ("country", lambda v: str(release.get("country", "")).casefold() == v.casefold()),
            ("genre", lambda v: v.casefold() in {g.casefold() for g in release.get("genres", [])}),
            ("style", lambda v: v.casefold() in {s.casefold() for s in release.get("styles", [])}),
            ("type", lambda v: v.casefold() == "release"),
        ]
        for name, check in checks:
            value = params.get(name, "").strip()
            if value and not check(value):
                return False
        return True

    @staticmethod
    def _pagination(request: Request, page: int, per_page: int, items: int) -> dict[str, Any]:
        pages = max(1, math.ceil(items / per_page))
        query = dict(parse_qsl(request.url.query, keep_blank_values=True))
        query.pop("token", None)
        base = f"{request.base_url}".rstrip("/") + request.url.path

        def url(target: int) -> str:
            return f"{base}?{urlencode({**query, 'page': target, 'per_page': per_page})}"

        urls: dict[str, str] = {}
        if page > 1:
            urls["first"] = url(1)
            urls["prev"] = url(min(page - 1, pages))
        if page < pages:
            urls["next"] = url(page + 1)
            urls["last"] = url(pages)
        return {"page": page, "pages": pages, "per_page": per_page, "items": items, "urls": urls}

    # ------------------------------------------------------------------ routes

    async def _release(self, request: Request) -> Response:
        refusal, headers = self._admit(request)
        if refusal is not None:
            return refusal
        release = self._release_or_none(request.path_params["release_id"])
        if release is None:
            return _message(404, MSG_NOT_FOUND, headers)
        body = dict(release)
        if "lowest_price" not in body or "num_for_sale" not in body:
            stats = self._marketplace(int(body["id"]), "USD")
            price = stats["lowest_price"]
            body.setdefault("lowest_price", price["value"] if price else None)
            body.setdefault("num_for_sale", stats["num_for_sale"])
        return JSONResponse(body, headers=headers)

    async def _stats(self, request: Request) -> Response:
        refusal, headers = self._admit(request)
        if refusal is not None:
            return refusal
        release = self._release_or_none(request.path_params["release_id"])
        if release is None:
            return _message(404, MSG_NOT_FOUND, headers)
        currency = request.query_params.get("curr_abbr", "").upper() or None
        return JSONResponse(self._marketplace(int(release["id"]), currency), headers=headers)

    async def _suggestions_route(self, request: Request) -> Response:
        refusal, headers = self._admit(request)
        if refusal is not None:
            return refusal
        if not self._authenticated(request):
            return _message(401, MSG_AUTH, headers)
        release = self._release_or_none(request.path_params["release_id"])
        if release is None:
            return _message(404, MSG_NOT_FOUND, headers)
        suggestions = self._suggestions.get(int(release["id"]))
        if suggestions is None:
            return _message(404, MSG_SELLER, headers)
        return JSONResponse(suggestions, headers=headers)

    async def _search(self, request: Request) -> Response:
        refusal, headers = self._admit(request)
        if refusal is not None:
            return refusal
        if self.token is not None and self._presented_token(request) != self.token:
            return _message(401, MSG_AUTH, headers)
        params = request.query_params
        page = _int_param(params.get("page"), 1, 1, 1_000_000)
        per_page = _int_param(params.get("per_page"), DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        with self._lock:
            releases = list(self._releases.values())
        found = [r for r in releases if self._matches(r, params)]
        start = (page - 1) * per_page
        base = str(request.base_url).rstrip("/")
        body = {
            "pagination": self._pagination(request, page, per_page, len(found)),
            "results": [self._search_result(r, base) for r in found[start : start + per_page]],
        }
        return JSONResponse(body, headers=headers)

    async def _wantlist(self, request: Request) -> Response:
        refusal, headers = self._admit(request)
        if refusal is not None:
            return refusal
        username = request.path_params["username"]
        ids = self._wants.get(username.casefold())
        if ids is None:
            return _message(404, MSG_NO_USER, headers)
        params = request.query_params
        page = _int_param(params.get("page"), 1, 1, 1_000_000)
        per_page = _int_param(params.get("per_page"), DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        known = [self._releases[i] for i in ids if i in self._releases]
        start = (page - 1) * per_page
        base = str(request.base_url).rstrip("/")
        wants = [
            {
                "id": int(r["id"]),
                "rating": 0,
                "resource_url": f"{base}/users/{username}/wants/{r['id']}",
                "basic_information": {
                    "id": int(r["id"]),
                    "title": r.get("title", ""),
                    "year": r.get("year", 0),
                    "resource_url": f"{base}/releases/{r['id']}",
                    "thumb": r.get("thumb", ""),
                    "cover_image": r.get("thumb", ""),
                    "formats": r.get("formats", []),
                    "labels": r.get("labels", []),
                    "artists": r.get("artists", []),
                    "genres": r.get("genres", []),
                    "styles": r.get("styles", []),
                    "master_id": r.get("master_id") or 0,
                },
            }
            for r in known[start : start + per_page]
        ]
        body = {"pagination": self._pagination(request, page, per_page, len(known)), "wants": wants}
        return JSONResponse(body, headers=headers)
