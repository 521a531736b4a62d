"""Domain events: stored in the outbox with their change, relayed in order, at least once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vinyl_detective.domain.lifecycle import DealState
from vinyl_detective.errors import ConfigError, RetryableError
from vinyl_detective.events import (
    LogPublisher,
    OutboxEvent,
    OutboxRelay,
    WebhookPublisher,
    publisher_for,
)
from vinyl_detective.events.rabbitmq import RabbitMQPublisher
from vinyl_detective.storage.outbox import (
    backlog,
    emit_event,
    events_for,
    mark_published,
    pending_events,
    purge_published,
)

SECRET = "s3cret-webhook-key"


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Receiver:
    """A consumer's webhook endpoint that is down for a while and dedupes by event id."""

    fail_next: int = 0  # answer 503 to this many requests
    lose_ack_next: int = 0  # store the event, then answer 500 (the ack gets lost)
    status: int = 200
    requests: int = 0
    deliveries: list[str] = field(default_factory=list)  # event ids, as received
    bodies: dict[str, dict[str, object]] = field(default_factory=dict)
    bad_signatures: int = 0

    @property
    def unique_ids(self) -> list[str]:
        return list(dict.fromkeys(self.deliveries))

    def app(self) -> Starlette:
        async def events(request: Request) -> Response:
            self.requests += 1
            if self.fail_next:
                self.fail_next -= 1
                return JSONResponse({"error": "down for maintenance"}, status_code=503)
            body = await request.body()
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            if request.headers.get("x-signature-256") != expected:
                self.bad_signatures += 1
                return JSONResponse({"error": "bad signature"}, status_code=401)
            event_id = request.headers["x-event-id"]
            self.deliveries.append(event_id)
            self.bodies[event_id] = json.loads(body)
            if self.lose_ack_next:
                self.lose_ack_next -= 1
                return Response(status_code=500)
            return Response(status_code=self.status)

        return Starlette(routes=[Route("/hooks/events", events, methods=["POST"])])


def webhook(receiver: Receiver) -> tuple[WebhookPublisher, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app()), timeout=5)
    return WebhookPublisher("http://consumer.test/hooks/events", http, secret=SECRET), http


def emit_many(engine: Engine, now: datetime, count: int, start: int = 0) -> list[str]:
    ids = []
    with engine.begin() as conn:
        for n in range(start, start + count):
            event = emit_event(
                conn, "listing.state.messaging", f"item-{n}", {"n": n, "to_state": "MESSAGING"}, now
            )
            ids.append(event.event_id)
    return ids


def test_payloads_keep_amounts_exact_and_times_readable(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        emit_event(
            conn,
            "listing.state.sold",
            "v-1",
            {"profit": Decimal("25.85"), "at": now, "to_state": DealState.SOLD, "fees": None},
            now,
        )
    with engine.connect() as conn:
        (event,) = pending_events(conn)
    assert event.payload == {
        "profit": "25.85",
        "at": "2026-11-22T20:00:00+00:00",
        "to_state": "SOLD",
        "fees": None,
    }
    envelope = json.loads(event.body())
    assert envelope["event_type"] == "listing.state.sold"
    assert envelope["aggregate_id"] == "v-1"
    assert envelope["event_id"] == event.event_id
    assert envelope["occurred_at"] == "2026-11-22T20:00:00+00:00"


async def test_relay_delivers_events_in_order_and_marks_them_published(
    engine: Engine, now: datetime
) -> None:
    receiver = Receiver()
    publisher, http = webhook(receiver)
    ids = emit_many(engine, now, 5)
    clock = FakeClock(now + timedelta(seconds=3))
    relay = OutboxRelay(engine, publisher, clock=clock, sleep=clock.sleep)
    async with http:
        assert await relay.run_once() == 5
        assert await relay.run_once() == 0
    assert receiver.deliveries == ids
    assert receiver.bodies[ids[2]]["payload"] == {"n": 2, "to_state": "MESSAGING"}
    with engine.connect() as conn:
        assert pending_events(conn) == []
        stored = events_for(conn, "item-0")[0]
    assert stored.published_at == clock.now
    assert backlog_is_empty(engine)


def backlog_is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return backlog(conn).pending == 0


async def test_every_event_arrives_once_after_the_receiver_comes_back(
    engine: Engine, now: datetime
) -> None:
    # Down for 4 requests, then it stores one event but its answer gets lost.
    receiver = Receiver(fail_next=4, lose_ack_next=1)
    publisher, http = webhook(receiver)
    first = emit_many(engine, now, 3)
    clock = FakeClock(now)
    stop = asyncio.Event()
    naps: list[float] = []
    later: list[str] = []

    async def sleep(seconds: float) -> None:
        naps.append(seconds)
        await clock.sleep(seconds)
        if len(naps) == 3:  # while the receiver is down, the daemon keeps finding deals
            later.extend(emit_many(engine, now, 2, start=3))
        if len(receiver.unique_ids) == 5 or len(naps) > 50:
            stop.set()

    relay = OutboxRelay(engine, publisher, clock=clock, sleep=sleep, batch=2)
    async with http:
        await relay.run(stop)

    assert receiver.unique_ids == first + later  # all of them, in the order they happened
    assert len(receiver.deliveries) == 6  # the lost acknowledgement cost one redelivery
    assert receiver.bad_signatures == 0
    assert naps[:4] == [1.0, 2.0, 4.0, 8.0]  # backing off while the receiver is down
    assert relay.publisher_status().healthy
    assert backlog_is_empty(engine)


async def test_a_failed_delivery_is_recorded_and_retried_after_a_pause(
    engine: Engine, now: datetime
) -> None:
    receiver = Receiver(fail_next=2)
    publisher, http = webhook(receiver)
    ids = emit_many(engine, now, 2)
    clock = FakeClock(now)
    relay = OutboxRelay(engine, publisher, clock=clock, sleep=clock.sleep, backoff_base=10)
    async with http:
        assert await relay.run_once() == 0
        status = relay.publisher_status()
        assert not status.healthy
        assert status.retry_at == now + timedelta(seconds=10)
        assert "HTTP 503" in (status.last_error or "")
        with engine.connect() as conn:
            held = backlog(conn)
        assert held.pending == 2
        assert held.failing_attempts == 1
        assert "down for maintenance" in (held.last_error or "")

        assert await relay.run_once() == 0  # still pausing: the receiver is not asked
        assert receiver.requests == 1
        clock.now += timedelta(seconds=10)
        assert await relay.run_once() == 0  # asked again, still down; pause doubles
        assert relay.publisher_status().retry_at == clock.now + timedelta(seconds=20)
        clock.now += timedelta(seconds=20)
        assert await relay.run_once() == 2
    assert receiver.deliveries == ids
    status = relay.publisher_status()
    assert status.healthy
    assert status.last_error is None
    assert status.delivered == 2
    with engine.connect() as conn:
        assert events_for(conn, "item-0")[0].attempts == 3


async def test_a_rejected_event_holds_back_the_ones_after_it(engine: Engine, now: datetime) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        envelope = json.loads(request.content)
        if envelope["aggregate_id"] == "item-1" and "refused" not in seen:
            seen.append("refused")
            return httpx.Response(500)
        seen.append(envelope["aggregate_id"])
        return httpx.Response(204)

    emit_many(engine, now, 3)
    clock = FakeClock(now)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        relay = OutboxRelay(engine, WebhookPublisher("http://c.test/e", http), clock=clock)
        assert await relay.run_once() == 1
        clock.now += timedelta(minutes=10)
        assert await relay.run_once() == 2
    assert seen == ["item-0", "refused", "item-1", "item-2"]


async def test_a_receiver_asking_to_slow_down_gets_its_pause(engine: Engine, now: datetime) -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "120"}), httpx.Response(200)]
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: answers.pop(0))) as http:
        emit_many(engine, now, 1)
        clock = FakeClock(now)
        relay = OutboxRelay(engine, WebhookPublisher("http://c.test/e", http), clock=clock)
        assert await relay.run_once() == 0
        assert relay.publisher_status().retry_at == now + timedelta(seconds=120)


async def test_an_unreachable_webhook_is_retryable_and_hides_its_token() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    event = OutboxEvent(1, "e-1", "listing.created", "v-1", {}, datetime.now().astimezone())
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        publisher = WebhookPublisher("https://hooks.example/in?token=abc123", http)
        with pytest.raises(
            RetryableError, match=re.escape("hooks.example/in unreachable")
        ) as failed:
            await publisher.publish(event)
    assert "abc123" not in str(failed.value)


async def test_log_publisher_writes_one_line_per_event(
    engine: Engine, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    ids = emit_many(engine, now, 2)
    relay = OutboxRelay(engine, LogPublisher(), clock=FakeClock(now))
    with caplog.at_level(logging.INFO, logger="vinyl_detective.events"):
        assert await relay.run_once() == 2
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("event ")]
    assert len(lines) == 2
    assert lines[0].startswith(f"event listing.state.messaging id={ids[0]} aggregate=item-0")


async def test_relay_loop_stops_when_asked(engine: Engine, now: datetime) -> None:
    stop = asyncio.Event()
    stop.set()
    relay = OutboxRelay(engine, LogPublisher(), clock=FakeClock(now))
    await asyncio.wait_for(relay.run(stop), timeout=5)


async def test_an_idle_relay_wakes_up_at_once_to_stop(engine: Engine, now: datetime) -> None:
    emit_many(engine, now, 1)
    stop = asyncio.Event()
    arrived = asyncio.Event()

    class Inbox(LogPublisher):
        async def publish(self, event: OutboxEvent) -> None:
            arrived.set()

    relay = OutboxRelay(engine, Inbox(), clock=FakeClock(now), poll_interval=3600)
    waiting = asyncio.create_task(relay.run(stop))
    await asyncio.wait_for(arrived.wait(), timeout=5)
    stop.set()  # the relay is now idle for an hour unless it listens
    await asyncio.wait_for(waiting, timeout=5)
    assert backlog_is_empty(engine)


def test_delivered_events_can_be_purged(engine: Engine, now: datetime) -> None:
    emit_many(engine, now, 2)
    with engine.begin() as conn:
        first = pending_events(conn)[0]
        mark_published(conn, first.id, now)
        assert purge_published(conn, now + timedelta(days=1)) == 1
        assert len(pending_events(conn)) == 1


async def test_the_events_url_picks_the_publisher() -> None:
    async with httpx.AsyncClient() as http:
        assert isinstance(publisher_for(None), LogPublisher)
        assert isinstance(publisher_for("log"), LogPublisher)
        assert isinstance(publisher_for("https://x.test/hook", http=http), WebhookPublisher)
    rabbit = publisher_for("amqp://guest:guest@127.0.0.1:5672/")
    assert isinstance(rabbit, RabbitMQPublisher)
    with pytest.raises(
        ConfigError, match=re.escape("EVENTS_URL='ftp://files.test/x' is not understood")
    ):
        publisher_for("ftp://user:hunter2@files.test/x")
    with pytest.raises(ConfigError) as bad:
        publisher_for("redis://:hunter2@127.0.0.1/0")
    assert "hunter2" not in str(bad.value)
