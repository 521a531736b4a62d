"""Publishing domain events to RabbitMQ (EVENTS_URL=amqp://…), through aio-pika.

Its own module so that aio-pika is imported only by installs that use a broker.
"""

from __future__ import annotations

import asyncio
import logging

import aio_pika
import aio_pika.abc
from aio_pika.exceptions import CONNECTION_EXCEPTIONS, AMQPException

from vinyl_detective.errors import RetryableError
from vinyl_detective.events.publishers import redact
from vinyl_detective.storage.outbox import OutboxEvent

log = logging.getLogger(__name__)

# What a broken broker, network or channel looks like from aio-pika.
_AMQP_FAILURES = (*CONNECTION_EXCEPTIONS, AMQPException, TimeoutError)


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
