"""Daily API call budgets, persisted so a restart never forgets what was spent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# The quota day is pure date arithmetic (domain/quota.py); its names stay importable here.
from vinyl_detective.domain.quota import EBAY_RESET as EBAY_RESET
from vinyl_detective.domain.quota import budget_day as budget_day
from vinyl_detective.domain.quota import next_reset as next_reset
from vinyl_detective.errors import BudgetExhaustedError
from vinyl_detective.storage.db import insert_if_absent
from vinyl_detective.storage.schema import api_usage


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
