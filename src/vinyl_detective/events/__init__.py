"""Domain events: the outbox relay and the publishers it delivers to.

    relay = OutboxRelay(engine, publisher_for(settings_url, http=client))
    await relay.run(stop)          # in the daemon's task group

Events are written by storage (storage/outbox.py `emit_event`), never sent directly.

May import: storage, domain and the base modules. Imported by: the daemon.
"""

from __future__ import annotations

import httpx

from vinyl_detective.errors import ConfigError
from vinyl_detective.events.publishers import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    EventPublisher,
    LogPublisher,
    WebhookPublisher,
    redact,
    sign,
)
from vinyl_detective.events.relay import OutboxRelay, PublisherStatus
from vinyl_detective.storage.outbox import OutboxEvent

__all__ = [
    "EVENT_ID_HEADER",
    "EVENT_TYPE_HEADER",
    "SIGNATURE_HEADER",
    "EventPublisher",
    "LogPublisher",
    "OutboxEvent",
    "OutboxRelay",
    "PublisherStatus",
    "WebhookPublisher",
    "publisher_for",
    "sign",
]


def publisher_for(
    url: str | None,
    *,
    http: httpx.AsyncClient | None = None,
    secret: str | None = None,
    exchange: str = "vinyl_detective",
    setting: str = "EVENTS_URL",
) -> EventPublisher:
    """The publisher a URL names: empty or "log" → log, http(s):// → webhook, amqp(s):// →
    RabbitMQ. A webhook needs `http` (the daemon's client, with its timeout). `setting`
    is the variable the URL came from, named in the error for anything else."""
    if not url or url.strip().lower() == "log":
        return LogPublisher()
    url = url.strip()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("http", "https"):
        if http is None:
            raise ConfigError(f"{setting} is a webhook URL but no HTTP client was given")
        return WebhookPublisher(url, http, secret=secret)
    if scheme in ("amqp", "amqps"):
        from vinyl_detective.events.rabbitmq import RabbitMQPublisher  # aio-pika: only here

        return RabbitMQPublisher(url, exchange=exchange)
    raise ConfigError(
        f"{setting}={redact(url)!r} is not understood: it must be empty or 'log' (log lines), "
        "http(s)://… (a webhook) or amqp://user:password@host:5672/ (RabbitMQ)"
    )
