"""What the routes need from the daemon, handed in once by `create_app`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Request
from sqlalchemy.engine import Engine

from vinyl_detective.api.ingest_schemas import IngestResult
from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.models import Listing

IngestFn = Callable[[list[Listing]], Awaitable[IngestResult]]
"""Hands listings to the deal pipeline (the same path every source uses)."""

TriggerFn = Callable[[int], Awaitable[str]]
"""Runs a saved search now; returns a description of the job it started."""

PublisherStatusFn = Callable[[], dict[str, object]]
"""The event publisher's status for /health (OutboxRelay.publisher_status, as a dict)."""


@dataclass(frozen=True, slots=True)
class Services:
    engine: Engine
    clock: Callable[[], datetime]
    ingest: IngestFn | None
    trigger_search: TriggerFn | None
    publisher_status: PublisherStatusFn | None
    # For the per-search feeds: the exchange rates and the global rule, as the daemon has them.
    rates: ExchangeRates = field(default_factory=ExchangeRates)
    global_rule: Callable[[], str | None] = lambda: None


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


class ApiError(Exception):
    """An error answer with a status; `allowed` lists the next states for a refused move."""

    def __init__(self, status: int, detail: str, *, allowed: list[object] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.allowed = allowed
