"""The fake eBay's Browse API: item summary search and item lookups.

`GET /buy/browse/v1/item_summary/search` with eBay's traps (query.py: no
`buyingOptions` filter shows fixed-price listings only, only the first `category_ids`
value is honoured) and its paging rules: `offset` must be a multiple of `limit`,
`offset + limit` cannot pass 10,000, `itemSummaries` is absent from an empty page.
`GET /buy/browse/v1/item/{item_id}` and `…/item/get_item_by_legacy_id` answer the
detail shape, or 404 errorId 11001.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vinyl_detective.fakes.ebay.errors import ebay_error
from vinyl_detective.fakes.ebay.items import present
from vinyl_detective.fakes.ebay.oauth import EbayOAuth
from vinyl_detective.fakes.ebay.query import SORTS, Item, item_matcher, parse_filter, sort_items

MAX_WINDOW = 10_000


class BrowseApi(EbayOAuth):
    """Search and item lookups over the fake's listings."""

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
            selection = self._listings.select((q, category_id, raw_filter, gtin, epid), accept)
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
            body["itemSummaries"] = [present(i, request, summary=True) for i in page]
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
        return JSONResponse(present(item, request, summary=False))

    async def _item(self, request: Request) -> Response:
        if (refused := self._browse_gate(request)) is not None:
            return refused
        with self._lock:
            stored = self._listings.get(request.path_params["item_id"])
        return self._item_response(stored.item if stored else None, request)

    async def _item_by_legacy_id(self, request: Request) -> Response:
        if (refused := self._browse_gate(request)) is not None:
            return refused
        legacy = request.query_params.get("legacy_item_id", "")
        with self._lock:
            stored = self._listings.by_legacy_id(legacy)
        return self._item_response(stored.item if stored else None, request)
