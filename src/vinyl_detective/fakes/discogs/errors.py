"""Discogs' error bodies, as the fake sends them: `{"message": ...}` with the real wording.

`message_response()` builds one (with the rate-limit headers the caller passes); `Failure` is a
failure queued by `fail_next`, and `failure_response` answers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response

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
MSG_UNAVAILABLE = "The service is temporarily unavailable."


@dataclass(slots=True)
class Failure:
    """A failure queued by `fail_next` for the next requests whose path contains a text."""

    status: int
    times: int
    path_contains: str
    body: str | None
    retry_after: float | None


def rate_headers(limit: int, used: int) -> dict[str, str]:
    """The rate-limit headers every Discogs answer carries: `used` of `limit` this minute."""
    return {
        "X-Discogs-Ratelimit": str(limit),
        "X-Discogs-Ratelimit-Used": str(used),
        "X-Discogs-Ratelimit-Remaining": str(max(0, limit - used)),
    }


def message_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse({"message": message}, status_code=status, headers=dict(headers or {}))


def failure_response(failure: Failure, headers: dict[str, str]) -> Response:
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
    return message_response(failure.status, message, headers)
