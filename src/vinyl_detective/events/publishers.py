"""Where domain events go: the log (default), an HTTP webhook, or a RabbitMQ exchange.

Every publisher has the same shape: `await publish(event)` returns when the event is
delivered and raises errors.RetryableError when it is not (yet). Delivery is at least
once: a consumer must dedupe on the event id (`X-Event-Id` header / AMQP message_id).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from typing import Protocol
from urllib.parse import urlsplit

import aio_pika
import aio_pika.abc
import httpx
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, AMQPException

from vinyl_detective.errors import RateLimitedError, RetryableError
from vinyl_detective.storage.outbox import OutboxEvent

log = logging.getLogger(__name__)

# What a broken broker, network or channel looks like from aio-pika.
_AMQP_FAILURES = (*CONNECTION_EXCEPTIONS, AMQPException, TimeoutError)

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


class RabbitMQPublisher:
    """Publishes to a durable topic exchange; routing key = event type.

    Messages are persistent JSON with `message_id` = event id and `type` = event
    type, on a channel with publisher confirms: `publish` returns once the broker
    has taken responsibility for the message. Connects lazily and reconnects after
    any failure. An event nobody's queue is bound for is dropped by the broker
    (topic exchange semantics): bind a durable queue before events matter.
    """

    name = "rabbitmq"

    def __init__(
        self,
        url: str = "amqp://guest:guest@127.0.0.1:5672/",
        exchange: str = "vinyl_detective",
        *,
        timeout: float = 10.0,
        app_id: str = "vinyl-detective",
    ) -> None:
        self.url = url
        self.exchange_name = exchange
        self._timeout = timeout
        self._app_id = app_id
        self._where = redact(url)
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._lock = asyncio.Lock()

    async def _ensure_exchange(self) -> aio_pika.abc.AbstractExchange:
        if self._exchange is not None and self._connection and not self._connection.is_closed:
            return self._exchange
        await self._reset()
        connection = await aio_pika.connect(self.url, timeout=self._timeout)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
        except BaseException:
            await connection.close()
            raise
        self._connection, self._exchange = connection, exchange
        return exchange

    async def publish(self, event: OutboxEvent) -> None:
        message = aio_pika.Message(
            event.body(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=event.event_id,
            type=event.event_type,
            timestamp=event.created_at,
            app_id=self._app_id,
            headers={"aggregate_id": event.aggregate_id},
        )
        async with self._lock:
            try:
                exchange = await self._ensure_exchange()
                await exchange.publish(
                    message, routing_key=event.event_type, mandatory=False, timeout=self._timeout
                )
            except _AMQP_FAILURES as exc:
                await self._reset()
                raise RetryableError(
                    "rabbitmq", f"could not publish to {self._where}: {exc!r}"
                ) from exc

    async def _reset(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection is not None and not connection.is_closed:
            try:
                await connection.close()
            except _AMQP_FAILURES:
                log.debug("closing a broken RabbitMQ connection failed", exc_info=True)

    async def aclose(self) -> None:
        async with self._lock:
            await self._reset()
