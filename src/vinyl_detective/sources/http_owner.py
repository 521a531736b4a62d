"""What every API client shares: an httpx client it closes only if it created it."""

from __future__ import annotations

import functools
import ssl
from types import TracebackType
from typing import Self

import httpx

# Seconds an API request may wait for the connection, and then between two chunks of the
# answer (httpx's per-phase timeout: not the whole download, so a big page on a slow link
# is fine). eBay and Discogs answer within a second or two; a request silent for this
# long has stalled, and is retried rather than holding up the job behind it for longer.
REQUEST_TIMEOUT = 10.0


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one TLS context of the process: httpx's default (certifi's CA bundle, or
    SSL_CERT_FILE / SSL_CERT_DIR), loaded once. Each HTTP client that built its own would
    keep its own copy of the bundle, ~0.8 MB apiece: eBay, Discogs, the events webhook and
    the bot's two Telegram clients share this one instead."""
    return httpx.create_ssl_context()


class OwnsHttpClient:
    """Mixin for the API clients: `aclose()` and `async with`.

    An injected `httpx.AsyncClient` (tests, a shared pool) stays open; one the client
    created itself is closed with it.
    """

    _http: httpx.AsyncClient
    _owns_http: bool

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it (an injected one stays open)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
