"""The largest request body the service reads: bigger ones are refused with 413 as soon
as that is known (their Content-Length, or the bytes read so far), before any of it is
parsed, and before the token is checked: an unauthenticated 1 GB POST costs nothing.

The ingest webhook's largest useful body is MAX_LISTINGS_PER_REQUEST listings of a few
kilobytes each; the dashboard's forms are tiny.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from vinyl_detective.api.ingest_schemas import MAX_LISTINGS_PER_REQUEST

MAX_BODY_BYTES = 8 * 1024 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def too_big_detail(limit: int) -> str:
    return (
        f"the request body is over {limit / (1024 * 1024):g} MiB: send at most "
        f"{MAX_LISTINGS_PER_REQUEST} listings a request (more in further requests)"
    )


class BodyTooLarge(HTTPException):
    """Raised while reading a body past the limit; answered 413 by the app's handlers."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_big_detail(limit))


class BodyLimit:
    """ASGI middleware: refuse request bodies over `limit` bytes with 413."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.strip().isdigit() and int(declared) > self.limit:
            refusal = JSONResponse({"detail": too_big_detail(self.limit)}, status_code=413)
            await refusal(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)
