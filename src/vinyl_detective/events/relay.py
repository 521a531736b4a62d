"""The outbox relay: delivers stored events to a publisher, in order, at least once.

Each pass reads the oldest undelivered events and publishes them one by one,
marking each as published once the publisher accepted it. The first failure ends
the pass (later events wait, so order is kept), is recorded on the event
(attempts, last_error) and puts the relay in backoff: 1 s, 2 s, 4 s, … up to
5 minutes, or longer when the peer asked for it (429 Retry-After). A crash between
publishing and marking re-delivers that event: consumers dedupe on the event id.

Run one relay per database: two relays would both deliver every event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from vinyl_detective.errors import RateLimitedError, VinylDetectiveError
from vinyl_detective.events.publishers import EventPublisher
from vinyl_detective.storage.outbox import mark_published, pending_events, record_failure

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PublisherStatus:
    """How event delivery is doing, for /health and `status`."""

    publisher: str
    healthy: bool  # False while the last attempt failed
    consecutive_failures: int
    last_error: str | None
    last_delivered_at: datetime | None
    retry_at: datetime | None  # when the next attempt is due while failing
    delivered: int  # since this relay started


class OutboxRelay:
    """Moves events from the outbox to `publisher`. See the module docstring."""

    def __init__(
        self,
        engine: Engine,
        publisher: EventPublisher,
        *,
        batch: int = 100,
        clock: Clock = utc_now,
        sleep: Sleep | None = None,
        poll_interval: float = 1.0,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._batch = batch
        self._clock = clock
        self._sleep = sleep
        self._poll_interval = poll_interval
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._failures = 0
        self._last_error: str | None = None
        self._last_delivered_at: datetime | None = None
        self._retry_at: datetime | None = None
        self._delivered = 0

    @property
    def publisher(self) -> EventPublisher:
        return self._publisher

    def publisher_status(self) -> PublisherStatus:
        return PublisherStatus(
            publisher=self._publisher.name,
            healthy=self._failures == 0,
            consecutive_failures=self._failures,
            last_error=self._last_error,
            last_delivered_at=self._last_delivered_at,
            retry_at=self._retry_at,
            delivered=self._delivered,
        )

    def _backoff(self, exc: BaseException) -> float:
        delay = min(self._backoff_base * 2.0 ** max(self._failures - 1, 0), self._backoff_max)
        if isinstance(exc, RateLimitedError) and exc.retry_after:
            delay = max(delay, exc.retry_after)
        return delay

    async def run_once(self) -> int:
        """One pass: deliver pending events in order until done or the first failure.

        Returns how many were delivered. While in backoff it returns 0 without trying.
        """
        now = self._clock()
        if self._retry_at is not None and now < self._retry_at:
            return 0
        with self._engine.connect() as conn:
            events = pending_events(conn, self._batch)
        delivered = 0
        for event in events:
            try:
                await self._publisher.publish(event)
            except Exception as exc:
                self._failures += 1
                self._last_error = f"{type(exc).__name__}: {exc}"
                delay = self._backoff(exc)
                self._retry_at = self._clock() + timedelta(seconds=delay)
                with self._engine.begin() as conn:
                    record_failure(conn, event.id, self._last_error)
                log.warning(
                    "events: %s delivery of %s %s failed (attempt %d), retrying in %.0fs: %s",
                    self._publisher.name,
                    event.event_type,
                    event.event_id,
                    event.attempts + 1,
                    delay,
                    exc,
                    exc_info=not isinstance(exc, VinylDetectiveError),
                )
                break
            moment = self._clock()
            with self._engine.begin() as conn:
                mark_published(conn, event.id, moment)
            delivered += 1
            self._delivered += 1
            self._last_delivered_at = moment
            if self._failures:
                log.info("events: %s delivers again", self._publisher.name)
            self._failures, self._last_error, self._retry_at = 0, None, None
        return delivered

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; a full batch is followed at once by the next."""
        while not stop.is_set():
            try:
                delivered = await self.run_once()
            except Exception:  # the database, not the publisher: keep the loop alive
                log.exception("events: reading the outbox failed")
                delivered = 0
            if delivered >= self._batch:
                await asyncio.sleep(0)
                continue
            await self._wait(self._next_delay(), stop)

    def _next_delay(self) -> float:
        if self._retry_at is None:
            return self._poll_interval
        return max((self._retry_at - self._clock()).total_seconds(), 0.0)

    async def _wait(self, seconds: float, stop: asyncio.Event) -> None:
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        try:
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        except TimeoutError:
            return
