"""What every request to the fake Discogs passes before it is answered.

In order: it is counted; the moving 60 s rate-limit window on the injected clock (429
"You are making requests too quickly." beyond the limit); a failure queued by
`fail_next`; a User-Agent that is missing or a bare HTTP library's (403); a wrong token
(401). Every answer carries X-Discogs-Ratelimit, -Used and -Remaining.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from vinyl_detective.fakes.discogs.errors import (
    MSG_INVALID_CREDENTIALS,
    MSG_NO_RESOURCE,
    MSG_TOO_FAST,
    MSG_USER_AGENT,
    Failure,
    failure_response,
    message_response,
    rate_headers,
)

WINDOW_SECONDS = 60.0

# User-Agents of HTTP libraries and tools used as-is: the real API refuses to serve them.
_GENERIC_AGENTS = re.compile(
    r"^(python-httpx|python-requests|python-urllib|python/|aiohttp|curl|wget|"
    r"go-http-client|java/|okhttp|axios|node-fetch|undici|libwww-perl)",
    re.IGNORECASE,
)


class DiscogsGate:
    """The fake's request counting, rate-limit window, queued failures and credentials."""

    def __init__(self, *, token: str | None, rate_limit: int, clock: Callable[[], float]) -> None:
        self.token = token
        self.rate_limit = rate_limit
        self._clock = clock
        self._window: deque[float] = deque()
        self._failures: list[Failure] = []
        self._lock = threading.Lock()  # the demo serves from another thread
        self._request_count = 0
        self.request_paths: list[str] = []  # every request's path, in order

    @property
    def request_count(self) -> int:
        """Every request received, refused ones included."""
        return self._request_count

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
            self._failures.append(Failure(status, times, path_contains, body, retry_after))

    # ------------------------------------------------------------------ admission

    def _admit(self, request: Request) -> tuple[Response | None, dict[str, str]]:
        """Count the request; a refusal (429, injected failure, 403, 401) or None."""
        with self._lock:
            self._request_count += 1
            self.request_paths.append(request.url.path)
            now = self._clock()
            while self._window and self._window[0] + WINDOW_SECONDS <= now:
                self._window.popleft()
            if len(self._window) >= self.rate_limit:
                headers = rate_headers(self.rate_limit, len(self._window))
                return message_response(429, MSG_TOO_FAST, headers), headers
            self._window.append(now)
            headers = rate_headers(self.rate_limit, len(self._window))
            failure = self._take_failure(request.url.path)
        if failure is not None:
            return failure_response(failure, headers), headers
        agent = request.headers.get("user-agent", "").strip()
        if not agent or _GENERIC_AGENTS.match(agent):
            return message_response(403, MSG_USER_AGENT, headers), headers
        presented = self._presented_token(request)
        if self.token is not None and presented is not None and presented != self.token:
            return message_response(401, MSG_INVALID_CREDENTIALS, headers), headers
        return None, headers

    def _take_failure(self, path: str) -> Failure | None:
        for failure in self._failures:
            if failure.path_contains in path:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

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
        return refusal or message_response(404, MSG_NO_RESOURCE, headers)

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        refusal, headers = self._admit(request)
        return refusal or message_response(405, "Method not allowed.", headers)
