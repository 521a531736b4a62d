"""Failures the fakes can be told to make, the way the real services fail.

`FaultPlan(rate=0.2, seed=7)` decides, request by request, whether a fake answers with a
failure and which one; `with_faults(app, plan, style)` wraps a fake's ASGI app so it does.
The same seed and the same sequence of requests give the same failures. What each kind
looks like on the wire:

    rate_limited   429 with the service's own body and headers (eBay errorId 2001 and a
                   Retry-After; Discogs' message and X-Discogs-Ratelimit-* with 0 left;
                   Telegram's envelope with parameters.retry_after)
    server_error   500 in the service's error shape
    bad_gateway    502 with an nginx HTML page (not JSON), as a proxy in front sends it
    unavailable    503 in the service's error shape
    dropped        the connection closes before any answer
    stalled        no answer until the client gives up (its timeout), then nothing
    truncated      a 200 whose body stops half-way (the connection closes mid-body)
    not_json       a 200 with an HTML maintenance page instead of JSON
    expired_token  (eBay only) every issued token expires: 401 "Invalid access token"

None of them reaches the service behind when the service would change something (a
Telegram message is never recorded for a request that failed), so every failure is one
the client can safely retry. Reads of eBay and Discogs get their truncated body from the
real answer. Over real sockets (LoopbackServer) `dropped` and `truncated` really close
the connection; mounted in-process (httpx.ASGITransport, which has no sockets and no
timeouts) they raise the error httpx would raise, and `stalled` raises httpx.ReadTimeout.

`vinyl-detective fakes --faults 0.2 --fault-seed 7` and `demo --faults 0.2` turn this on.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.responses import Response

__all__ = [
    "FAULT_KINDS",
    "FaultPlan",
    "FaultStyle",
    "FaultyApp",
    "discogs_style",
    "ebay_style",
    "telegram_style",
    "with_faults",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FAULT_KINDS = (
    "rate_limited",
    "server_error",
    "bad_gateway",
    "unavailable",
    "dropped",
    "stalled",
    "truncated",
    "not_json",
    "expired_token",
)

NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
MAINTENANCE_PAGE = (
    b"<!DOCTYPE html><html><head><title>Down for maintenance</title></head>"
    b"<body><h1>We'll be back soon</h1></body></html>"
)


@dataclass
class FaultPlan:
    """Which requests fail, and how: one seeded draw per request, shared by every fake
    it is given to (so one seed fixes the whole run's failures).

    `rate` is the share of requests that fail (0 to 1); `kinds` the failures to choose
    from (a kind a service cannot make, like eBay's expired token elsewhere, is skipped);
    `stall_seconds` how long a stalled answer waits for the client to give up.
    """

    rate: float
    seed: int = 0
    kinds: tuple[str, ...] = FAULT_KINDS
    stall_seconds: float = 60.0
    injected: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"a fault rate is a share between 0 and 1, got {self.rate:g}")
        unknown = sorted(set(self.kinds) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}: choose from {FAULT_KINDS}")
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, service: str, offered: tuple[str, ...]) -> str | None:
        """The failure for the next request to `service` (None: answer normally)."""
        kinds = [kind for kind in self.kinds if kind in offered]
        with self._lock:
            roll, pick = self._random.random(), self._random.random()
            if not kinds or roll >= self.rate:
                return None
            kind = kinds[int(pick * len(kinds)) % len(kinds)]
            self.injected[(service, kind)] += 1
            return kind

    def spared(self, service: str, kind: str) -> None:
        """A drawn failure that this request could not have (it is answered normally)."""
        with self._lock:
            self.injected[(service, kind)] -= 1
            if self.injected[(service, kind)] <= 0:
                del self.injected[(service, kind)]

    def summary(self) -> str:
        """e.g. "ebay: 12 (dropped 3, rate_limited 2, ...); telegram: 4 (...)"."""
        services = sorted({service for service, _ in self.injected})
        parts = []
        for service in services:
            kinds = {k: n for (s, k), n in self.injected.items() if s == service}
            listed = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
            parts.append(f"{service}: {sum(kinds.values())} ({listed})")
        return "; ".join(parts) or "none"


@dataclass(frozen=True)
class FaultStyle:
    """How one service fails: its error bodies, and which of its paths may fail.

    `error(status)` is the service's own answer for 429/500/503. `applies(path)` says
    whether a request may fail at all (the fakes' own pages and switches never do).
    `reads_behind(path)` says whether a truncated answer may come from the real one
    (only for requests that change nothing). `expire_tokens` makes the eBay fault (None
    from it: this request's token cannot expire yet, so it is answered normally).
    """

    service: str
    error: Callable[[int], Response]
    applies: Callable[[str], bool] = lambda path: True
    reads_behind: Callable[[str], bool] = lambda path: True
    expire_tokens: Callable[[Scope], Response | None] | None = None

    @property
    def offered(self) -> tuple[str, ...]:
        return tuple(k for k in FAULT_KINDS if k != "expired_token" or self.expire_tokens)


def ebay_style(fake: Any) -> FaultStyle:
    """eBay's failures for a FakeEbay: its error JSON, a Retry-After on a short 429, and
    token expiry on Browse calls (never on the token endpoint itself; the first time the
    fault picks a token it spares it, so a renewed token does not expire straight away)."""
    from vinyl_detective.fakes.ebay.errors import canned_error, invalid_token

    used: set[bytes] = set()

    def expire(scope: Scope) -> Response | None:
        token = dict(scope.get("headers", [])).get(b"authorization", b"")
        if token not in used:
            used.add(token)
            return None
        fake.expire_tokens()
        return invalid_token()

    return FaultStyle(
        service="ebay",
        error=lambda status: canned_error(status, 2.0 if status == 429 else None),
        applies=lambda path: not path.startswith("/developer/"),
        expire_tokens=expire,
    )


def discogs_style(rate_limit: int = 60) -> FaultStyle:
    """Discogs' failures: `{"message": ...}` bodies and the rate-limit headers, all used."""

    from vinyl_detective.fakes.discogs.errors import (
        MSG_SERVER,
        MSG_TOO_FAST,
        MSG_UNAVAILABLE,
        message_response,
        rate_headers,
    )

    def error(status: int) -> Response:
        headers = rate_headers(rate_limit, used=rate_limit if status == 429 else 1)
        message = {429: MSG_TOO_FAST, 503: MSG_UNAVAILABLE}.get(status, MSG_SERVER)
        return message_response(status, message, headers)

    return FaultStyle(service="discogs", error=error)


def telegram_style(retry_after: int = 1) -> FaultStyle:
    """Telegram's failures, in its `{"ok": false, ...}` envelope; only Bot API paths fail
    (not the inbox page or the fake's switches), and a failed call never takes effect."""

    from vinyl_detective.fakes.telegram.wire import error_response, too_many_requests

    def error(status: int) -> Response:
        if status == 429:
            return error_response(429, too_many_requests(retry_after), retry_after=retry_after)
        description = {503: "Service Unavailable"}.get(status, "Internal Server Error")
        return error_response(status, description)

    return FaultStyle(
        service="telegram",
        error=error,
        applies=lambda path: path.startswith("/bot"),
        reads_behind=lambda path: False,
    )


def with_faults(app: Any, plan: FaultPlan | None, style: FaultStyle) -> Any:
    """`app` failing as `plan` says, in `style`; `app` itself when there is no plan."""
    if plan is None or plan.rate <= 0:
        return app
    return FaultyApp(app, plan, style)


def _connection(receive: Receive) -> asyncio.Transport | None:
    """The socket's transport behind a uvicorn request (None in-process)."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


class FaultyApp:
    """An ASGI app that fails some requests to the app it wraps (see the module doc)."""

    def __init__(self, app: Any, plan: FaultPlan, style: FaultStyle) -> None:
        self.app = app
        self.plan = plan
        self.style = style
        # LoopbackServer looks for its start/stop hooks here (FakeTelegram has them).
        self.state = getattr(app, "state", None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope.get("type") != "http" or not self.style.applies(path):
            await self.app(scope, receive, send)
            return
        kind = self.plan.draw(self.style.service, self.style.offered)
        if kind is None:
            await self.app(scope, receive, send)
        elif kind in ("rate_limited", "server_error", "unavailable"):
            status = {"rate_limited": 429, "server_error": 500, "unavailable": 503}[kind]
            await self.style.error(status)(scope, receive, send)
        elif kind == "bad_gateway":
            await Response(NGINX_502, 502, media_type="text/html")(scope, receive, send)
        elif kind == "not_json":
            await Response(MAINTENANCE_PAGE, 200, media_type="text/html")(scope, receive, send)
        elif kind == "expired_token":
            expire = self.style.expire_tokens
            expired = None if path.startswith("/identity/") or not expire else expire(scope)
            if expired is None:
                self.plan.spared(self.style.service, kind)
            await (expired or self.app)(scope, receive, send)
        elif kind == "dropped":
            await self._drop(receive)
        elif kind == "stalled":
            await self._stall(receive)
        else:
            await self._truncate(scope, receive, send, path)

    async def _drop(self, receive: Receive) -> None:
        transport = _connection(receive)
        if transport is None:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        transport.abort()
        for _ in range(3):  # let uvicorn see the connection go, so it answers nothing
            await asyncio.sleep(0)

    async def _stall(self, receive: Receive) -> None:
        if _connection(receive) is None:
            raise httpx.ReadTimeout("The read operation timed out")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.plan.stall_seconds
        while (remaining := deadline - loop.time()) > 0:
            try:
                message = await asyncio.wait_for(receive(), timeout=remaining)
            except TimeoutError:
                break
            if message.get("type") == "http.disconnect":
                return  # the client gave up: the request is dropped unanswered
        await self._drop(receive)

    async def _truncate(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        if self.style.reads_behind(path):
            status, headers, body = await _answer_of(self.app, scope, receive)
        else:
            status, headers = 200, [(b"content-type", b"application/json")]
            body = json.dumps({"ok": True, "result": {"message_id": 0, "text": "x" * 64}}).encode()
        kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        kept.append((b"content-length", str(len(body)).encode()))
        transport = _connection(receive)
        if transport is None:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body"
            )
        await send({"type": "http.response.start", "status": status, "headers": kept})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        await self._drop(receive)


async def _answer_of(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list[Any], bytes]:
    """Run `app` for this request and collect its whole answer instead of sending it."""
    status = 200
    headers: list[Any] = []
    chunks: list[bytes] = []

    async def collect(message: Mapping[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await app(scope, receive, collect)
    return status, headers, b"".join(chunks)
