"""The eBay daily budget is counted in the database and never exceeded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from vinyl_detective.errors import BudgetExhaustedError
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.usage import DbCallBudget, budget_day, next_reset


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


async def test_budget_refuses_the_call_after_the_limit(engine: Engine) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    budget = DbCallBudget(engine, "ebay", 3, clock)
    for _ in range(3):
        await budget.acquire()
    with pytest.raises(BudgetExhaustedError) as caught:
        await budget.acquire()
    assert caught.value.resets_at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert budget.used_today() == 3


async def test_budget_resets_at_seven_utc_not_midnight(engine: Engine) -> None:
    clock = Clock(datetime(2026, 11, 22, 23, 0, tzinfo=UTC))
    budget = DbCallBudget(engine, "ebay", 1, clock)
    await budget.acquire()
    clock.moment = datetime(2026, 11, 23, 6, 59, tzinfo=UTC)
    with pytest.raises(BudgetExhaustedError):
        await budget.acquire()
    clock.moment = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    await budget.acquire()
    assert budget.remaining_today() == 0


async def test_spent_calls_survive_a_restart(db_url: str) -> None:
    clock = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    first = open_database(db_url)
    await DbCallBudget(first, "ebay", 2, clock).acquire()
    first.dispose()
    second = open_database(db_url)
    budget = DbCallBudget(second, "ebay", 2, clock)
    await budget.acquire()
    with pytest.raises(BudgetExhaustedError):
        await budget.acquire()
    second.dispose()


def test_budget_day_boundaries() -> None:
    before = datetime(2026, 11, 22, 6, 59, tzinfo=UTC)
    assert budget_day(before).isoformat() == "2026-11-21"
    assert next_reset(before) == datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    assert next_reset(before + timedelta(minutes=1)) == datetime(2026, 11, 23, 7, tzinfo=UTC)
