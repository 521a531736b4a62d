"""Daily API call budgets, persisted so a restart never forgets what was spent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.errors import BudgetExhaustedError
from vinyl_detective.storage.db import insert_if_absent
from vinyl_detective.storage.schema import api_usage

# eBay's daily quota window is reported to reset at 07:00 UTC.
EBAY_RESET = time(7, 0)


def budget_day(now: datetime, reset: time = EBAY_RESET) -> date:
    """The quota day `now` falls in: days start at `reset` UTC, not midnight."""
    shifted = now.astimezone(UTC) - timedelta(hours=reset.hour, minutes=reset.minute)
    return shifted.date()


def next_reset(now: datetime, reset: time = EBAY_RESET) -> datetime:
    day = budget_day(now, reset) + timedelta(days=1)
    return datetime.combine(day, reset, tzinfo=UTC)


def calls_on(conn: sa.Connection, service: str, day: date) -> int:
    value = conn.execute(
        sa.select(api_usage.c.calls).where(
            api_usage.c.service == service, api_usage.c.day == day.isoformat()
        )
    ).scalar_one_or_none()
    return int(value or 0)


def _ensure_day(conn: sa.Connection, service: str, day: str) -> None:
    """The day's counter row, created at zero unless it exists (race-free on both backends)."""
    insert_if_absent(
        conn, api_usage, {"service": service, "day": day, "calls": 0}, ("service", "day")
    )


class DbCallBudget:
    """Counts every call to `service` in the database and refuses once `limit` is reached.

    Implements sources.ebay.CallBudget. Each `acquire()` is one transaction, so several
    workers sharing a database share one budget.
    """

    def __init__(
        self, engine: Engine, service: str, limit: int, clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self.service = service
        self.limit = limit
        self.clock = clock

    async def acquire(self) -> None:
        now = self.clock()
        day = budget_day(now).isoformat()
        with self.engine.begin() as conn:
            _ensure_day(conn, self.service, day)
            # One conditional increment: concurrent workers (PostgreSQL) queue on the row
            # lock and each re-checks the limit against the committed count.
            taken = conn.execute(
                api_usage.update()
                .where(
                    api_usage.c.service == self.service,
                    api_usage.c.day == day,
                    api_usage.c.calls < self.limit,
                )
                .values(calls=api_usage.c.calls + 1)
            ).rowcount
            if not taken:
                raise BudgetExhaustedError(self.service, next_reset(now))

    def used_today(self) -> int:
        with self.engine.connect() as conn:
            return calls_on(conn, self.service, budget_day(self.clock()))

    def remaining_today(self) -> int:
        return max(0, self.limit - self.used_today())
