"""Domain events on a real RabbitMQ broker (127.0.0.1:5672, guest/guest).

Needs the broker: skipped when it is not running, except under CI (env var CI set),
where an unreachable broker fails the run.
"""

from __future__ import annotations

import json
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import aio_pika
import aio_pika.abc
import pytest
from sqlalchemy.engine import Engine

from vinyl_detective.domain.lifecycle import Actor, DealState
from vinyl_detective.domain.models import (
    Deal,
    Listing,
    Match,
    MatchMethod,
    Money,
    Priority,
    Release,
)
from vinyl_detective.errors import RetryableError
from vinyl_detective.events import OutboxEvent, OutboxRelay
from vinyl_detective.events.rabbitmq import RabbitMQPublisher
from vinyl_detective.storage import deals as store

pytestmark = pytest.mark.rabbitmq

BROKER_URL = os.environ.get("VD_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _broker_reachable(host: str = "127.0.0.1", port: int = 5672) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module", autouse=True)
def _require_broker() -> None:
    if _broker_reachable():
        return
    if os.environ.get("CI"):
        pytest.fail("RabbitMQ is not reachable on 127.0.0.1:5672; CI must provide it")
    pytest.skip("RabbitMQ is not running on 127.0.0.1:5672")


@dataclass
class Consumer:
    exchange: str
    queue: aio_pika.abc.AbstractQueue

    async def take(self, count: int) -> list[aio_pika.abc.AbstractIncomingMessage]:
        """The next `count` messages; publisher confirms mean they are already queued."""
        messages = []
        for _ in range(count):
            message = await self.queue.get(no_ack=True, fail=False, timeout=5)
            assert message is not None, f"expected {count} messages, got {len(messages)}"
            messages.append(message)
        return messages


@pytest.fixture
async def consumer() -> AsyncIterator[Consumer]:
    """A temporary queue bound to a fresh exchange for every `listing.#` event."""
    name = f"vd_test_{uuid.uuid4().hex[:10]}"
    connection = await aio_pika.connect(BROKER_URL, timeout=5)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="listing.#")
        try:
            yield Consumer(name, queue)
        finally:
            await exchange.delete()


def event(n: int, event_type: str = "listing.state.messaging") -> OutboxEvent:
    return OutboxEvent(
        id=n,
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        aggregate_id=f"item-{n}",
        payload={"n": n},
        created_at=datetime.fromisoformat("2026-11-22T20:00:00+00:00"),
    )


async def test_events_reach_a_bound_queue_as_persistent_json_with_their_id(
    consumer: Consumer,
) -> None:
    publisher = RabbitMQPublisher(BROKER_URL, exchange=consumer.exchange)
    sent = [event(1, "listing.created"), event(2, "listing.state.sold")]
    try:
        for one in sent:
            await publisher.publish(one)
    finally:
        await publisher.aclose()

    received = await consumer.take(2)
    assert [m.message_id for m in received] == [e.event_id for e in sent]
    assert [m.routing_key for m in received] == ["listing.created", "listing.state.sold"]
    assert [m.type for m in received] == ["listing.created", "listing.state.sold"]
    assert all(m.delivery_mode == aio_pika.DeliveryMode.PERSISTENT for m in received)
    assert all(m.content_type == "application/json" for m in received)
    body = json.loads(received[1].body)
    assert body["event_id"] == sent[1].event_id
    assert body["aggregate_id"] == "item-2"
    assert body["payload"] == {"n": 2}


async def test_consumers_can_bind_to_just_the_events_they_want(consumer: Consumer) -> None:
    connection = await aio_pika.connect(BROKER_URL, timeout=5)
    async with connection:
        channel = await connection.channel()
        sold_only = await channel.declare_queue(exclusive=True, auto_delete=True)
        await sold_only.bind(consumer.exchange, routing_key="listing.state.sold")
        publisher = RabbitMQPublisher(BROKER_URL, exchange=consumer.exchange)
        try:
            await publisher.publish(event(1, "listing.created"))
            await publisher.publish(event(2, "listing.state.sold"))
        finally:
            await publisher.aclose()
        only = await sold_only.get(no_ack=True, timeout=5)
        assert only.routing_key == "listing.state.sold"
        assert await sold_only.get(no_ack=True, fail=False, timeout=5) is None
    assert len(await consumer.take(2)) == 2


async def test_the_publisher_reconnects_after_losing_the_broker(consumer: Consumer) -> None:
    publisher = RabbitMQPublisher(BROKER_URL, exchange=consumer.exchange)
    try:
        await publisher.publish(event(1))
        await publisher.aclose()  # as if the broker had dropped the connection
        await publisher.publish(event(2))
    finally:
        await publisher.aclose()
    assert [m.routing_key for m in await consumer.take(2)] == ["listing.state.messaging"] * 2


async def test_an_unreachable_broker_is_retryable_and_keeps_the_password_out() -> None:
    publisher = RabbitMQPublisher("amqp://guest:hunter2@127.0.0.1:1/", timeout=2)
    with pytest.raises(
        RetryableError, match=re.escape("could not publish to amqp://127.0.0.1:1/")
    ) as err:
        await publisher.publish(event(1))
    assert "hunter2" not in str(err.value)
    await publisher.aclose()


def _deal(item_id: str) -> Deal:
    listing = Listing(
        item_id=item_id, title="Coltrane Blue Train LP", price=Decimal(30), currency="USD"
    )
    return Deal(
        listing=listing,
        release=Release(id=1577, artist="John Coltrane", title="Blue Train"),
        match=Match(1577, MatchMethod.FUZZY, 0.93),
        reference=Money(Decimal(80), "USD"),
        total=Money(Decimal(30), "USD"),
        score=0.62,
        priority=Priority.HIGH,
    )


async def test_a_deals_lifecycle_arrives_on_the_exchange_in_order(
    consumer: Consumer, engine: Engine, now: datetime
) -> None:
    with engine.begin() as conn:
        store.create_found(conn, _deal("bt-1"), now, Actor.PIPELINE)
        store.transition(conn, "bt-1", DealState.MESSAGING, now, Actor.BOT)
        store.transition(conn, "bt-1", DealState.CANCELLED, now, Actor.API, reason="sold elsewhere")
    publisher = RabbitMQPublisher(BROKER_URL, exchange=consumer.exchange)
    relay = OutboxRelay(engine, publisher, clock=lambda: now)
    try:
        assert await relay.run_once() == 3
    finally:
        await publisher.aclose()
    received = await consumer.take(3)
    assert [m.routing_key for m in received] == [
        "listing.created",
        "listing.state.messaging",
        "listing.state.cancelled",
    ]
    assert json.loads(received[2].body)["payload"]["reason"] == "sold elsewhere"
    assert relay.publisher_status().publisher == "rabbitmq"
