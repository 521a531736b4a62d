"""eBay's error bodies, as the fake sends them: `{"errors": [{errorId, domain, …}]}`.

`ebay_error` builds any of them; `canned_error` is the one eBay sends for a status (429
with Retry-After, 401, 403, 404, 5xx); `invalid_token` is the 401 of an expired or
unknown bearer token. faults.py answers with them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse


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
