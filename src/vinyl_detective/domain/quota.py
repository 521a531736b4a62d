"""eBay's daily call quota: which quota day a moment falls in, and when the next begins."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

# eBay's daily quota window is reported to reset at 07:00 UTC.
EBAY_RESET = time(7, 0)


def budget_day(now: datetime, reset: time = EBAY_RESET) -> date:
    """The quota day `now` falls in: days start at `reset` UTC, not midnight."""
    shifted = now.astimezone(UTC) - timedelta(hours=reset.hour, minutes=reset.minute)
    return shifted.date()


def next_reset(now: datetime, reset: time = EBAY_RESET) -> datetime:
    day = budget_day(now, reset) + timedelta(days=1)
    return datetime.combine(day, reset, tzinfo=UTC)
