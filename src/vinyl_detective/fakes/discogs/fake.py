"""FakeDiscogs: the fake Discogs API server as one object, its data and its routes.

fake = FakeDiscogs(releases, price_suggestions={2825456: {...}}, wants={"ann": [2825456]})
http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app),
                         base_url="https://api.discogs.test")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vinyl_detective.fakes.discogs.errors import (
    MSG_AUTH,
    MSG_NO_USER,
    MSG_NOT_FOUND,
    MSG_SELLER,
    message_response,
)
from vinyl_detective.fakes.discogs.gate import DiscogsGate
from vinyl_detective.fakes.discogs.marketplace import marketplace_stats
from vinyl_detective.fakes.discogs.paging import pagination, requested_page
from vinyl_detective.fakes.discogs.search import matches, search_result


class FakeDiscogs(DiscogsGate):
    """An in-memory Discogs API (see the package docstring for what it serves)."""

    def __init__(
        self,
        releases: Iterable[dict[str, Any]] = (),
        *,
        price_suggestions: Mapping[int, dict[str, Any]] | None = None,
        wants: Mapping[str, list[int]] | None = None,
        token: str | None = "demo-discogs-token",  # noqa: S107 (the demo's public fake token)
        rate_limit: int = 60,
        clock: Callable[[], float] = time.monotonic,
        seller_settings: bool = True,
    ) -> None:
        super().__init__(token=token, rate_limit=rate_limit, clock=clock)
        # Discogs suggests prices only to an account with seller settings filled in.
        self.seller_settings = seller_settings
        self._releases: dict[int, dict[str, Any]] = {}
        self._suggestions: dict[int, dict[str, Any]] = {
            int(k): dict(v) for k, v in (price_suggestions or {}).items()
        }
        self._wants: dict[str, list[int]] = {
            name.casefold(): list(ids) for name, ids in (wants or {}).items()
        }
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

    def _release_or_none(self, raw_id: str) -> dict[str, Any] | None:
        if not raw_id.isdigit():
            return None
        return self._releases.get(int(raw_id))

    def _marketplace(self, release_id: int, currency: str | None) -> dict[str, Any]:
        release = self._releases.get(release_id, {})
        suggestions = self._suggestions.get(release_id) or {}
        return marketplace_stats(release, release_id, suggestions, currency)

    # ------------------------------------------------------------------ routes

    async def _release(self, request: Request) -> Response:
        refusal, headers = self._admit(request)
        if refusal is not None:
            return refusal
        release = self._release_or_none(request.path_params["release_id"])
        if release is None:
            return message_response(404, MSG_NOT_FOUND, headers)
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
            return message_response(404, MSG_NOT_FOUND, headers)
        currency = request.query_params.get("curr_abbr", "").upper() or None
        return JSONResponse(self._marketplace(int(release["id"]), currency), headers=headers)

    async def _suggestions_route(self, request: Request) -> Response:
        refusal, headers = self._admit(request)
        if refusal is not None:
            return refusal
        if not self._authenticated(request):
            return message_response(401, MSG_AUTH, headers)
        release = self._release_or_none(request.path_params["release_id"])
        if release is None:
            return message_response(404, MSG_NOT_FOUND, headers)
        if not self.seller_settings:
            return message_response(404, MSG_SELLER, headers)
        return JSONResponse(self._suggestions.get(int(release["id"]), {}), headers=headers)

    async def _search(self, request: Request) -> Response:
        refusal, headers = self._admit(request)
        if refusal is not None:
            return refusal
        if self.token is not None and self._presented_token(request) != self.token:
            return message_response(401, MSG_AUTH, headers)
        params = request.query_params
        page, per_page = requested_page(request)
        with self._lock:
            releases = list(self._releases.values())
        found = [r for r in releases if matches(r, params)]
        start = (page - 1) * per_page
        base = str(request.base_url).rstrip("/")
        body = {
            "pagination": pagination(request, page, per_page, len(found)),
            "results": [search_result(r, base) for r in found[start : start + per_page]],
        }
        return JSONResponse(body, headers=headers)

    async def _wantlist(self, request: Request) -> Response:
        refusal, headers = self._admit(request)
        if refusal is not None:
            return refusal
        username = request.path_params["username"]
        ids = self._wants.get(username.casefold())
        if ids is None:
            return message_response(404, MSG_NO_USER, headers)
        page, per_page = requested_page(request)
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
        body = {"pagination": pagination(request, page, per_page, len(known)), "wants": wants}
        return JSONResponse(body, headers=headers)
