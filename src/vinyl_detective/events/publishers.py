"""Where domain events go: the log (default), an HTTP webhook, or a RabbitMQ exchange
(events/rabbitmq.py, loaded only when EVENTS_URL names a broker).

Every publisher has the same shape: `await publish(event)` returns when the event is
delivered and raises errors.RetryableError when it is not (yet). Delivery is at least
once: a consumer must dedupe on the event id (`X-Event-Id` header / AMQP message_id).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from vinyl_detective.errors import RateLimitedError, RetryableError
from vinyl_detective.storage.outbox import OutboxEvent

log = logging.getLogger(__name__)

EVENT_ID_HEADER = "X-Event-Id"
EVENT_TYPE_HEADER = "X-Event-Type"
SIGNATURE_HEADER = "X-Signature-256"  # "sha256=<hex HMAC of the raw body>"


class EventPublisher(Protocol):
    """One destination for domain events."""

    @property
    def name(self) -> str: ...

    async def publish(self, event: OutboxEvent) -> None: ...

    async def aclose(self) -> None: ...


def sign(body: bytes, secret: str) -> str:
    """The signature header value a webhook receiver recomputes to trust a delivery."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def redact(url: str) -> str:
    """scheme://host:port/path with no credentials and no query, safe for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class LogPublisher:
    """The default: one log line per event, nothing else to configure."""

    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or log

    async def publish(self, event: OutboxEvent) -> None:
        self._log.info(
            "event %s id=%s aggregate=%s", event.event_type, event.event_id, event.aggregate_id
        )
        self._log.debug("event %s payload=%s", event.event_id, event.body().decode())

    async def aclose(self) -> None:
        return None


class WebhookPublisher:
    """POSTs each event's JSON envelope to `url`; any 2xx answer means delivered.

    Headers: `X-Event-Id` (dedupe on it), `X-Event-Type`, and with a `secret`
    `X-Signature-256: sha256=<HMAC-SHA256 of the body>`. The client (with its
    timeout) is the caller's; this class never closes it.
    """

    name = "webhook"

    def __init__(self, url: str, http: httpx.AsyncClient, secret: str | None = None) -> None:
        self.url = url
        self._http = http
        self._secret = secret
        self._where = redact(url)

    async def publish(self, event: OutboxEvent) -> None:
        body = event.body()
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: event.event_id,
            EVENT_TYPE_HEADER: event.event_type,
        }
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(body, self._secret)
        try:
            response = await self._http.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise RetryableError("webhook", f"{self._where} timed out ({exc!r})") from exc
        except httpx.TransportError as exc:
            raise RetryableError("webhook", f"{self._where} unreachable ({exc!r})") from exc
        if response.is_success:
            return
        status = response.status_code
        if status == 429:
            raise RateLimitedError(
                "webhook",
                f"{self._where} answered 429 Too Many Requests",
                retry_after=_retry_after(response),
            )
        # 4xx are retried too: dropping an event would break the order consumers rely on;
        # the error is visible in `status` and /health until the receiver is fixed.
        raise RetryableError(
            "webhook", f"{self._where} answered HTTP {status}: {response.text[:200]}", status=status
        )

    async def aclose(self) -> None:
        return None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
