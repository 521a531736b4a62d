"""Discogs' page-based pagination: the `page`/`per_page` parameters and the
`pagination` object (`page`, `pages`, `per_page`, `items`, `urls`) of search results
and wantlists.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100


def int_param(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        value = default
    return min(high, max(low, value))


def requested_page(request: Request) -> tuple[int, int]:
    """The requested (page, per_page), clamped as Discogs does."""
    params = request.query_params
    page = int_param(params.get("page"), 1, 1, 1_000_000)
    per_page = int_param(params.get("per_page"), DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    return page, per_page


def pagination(request: Request, page: int, per_page: int, items: int) -> dict[str, Any]:
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
