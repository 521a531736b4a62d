"""The operator's minute line: what the polls did lately, and how much eBay budget is used.

Single polls that alerted nobody are DEBUG lines; instead the daemon counts every cycle
here and, at most once a minute, logs one line such as

    last minute: 9 polls, 14 new listings, 2 matched, 1 alerted · eBay calls today 212 of 5000

A minute in which nothing was polled logs nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vinyl_detective.jobs.pipeline import PipelineCounts
from vinyl_detective.jobs.schedule_planner import BudgetView
from vinyl_detective.logs import ACTIVITY_LOGGER

log = logging.getLogger(ACTIVITY_LOGGER)


@dataclass
class MinuteSummary:
    """Cycles counted since the last line; `take` gives the next line once it is due."""

    every: timedelta = timedelta(minutes=1)
    polls: int = 0
    failed: int = 0
    counts: PipelineCounts = field(default_factory=PipelineCounts)
    since: datetime | None = None

    def add(self, polls: int, failed: int, counts: PipelineCounts, now: datetime) -> None:
        if self.since is None:
            self.since = now
        self.polls += polls
        self.failed += failed
        self.counts.add(counts)

    def take(self, now: datetime, budget: BudgetView) -> str | None:
        """The line for the period that began at the first cycle counted, when `every`
        has passed since then and something was polled; then counting starts afresh."""
        if self.since is None or now - self.since < self.every:
            return None
        line = None
        if self.polls or self.failed:
            minutes = round((now - self.since) / timedelta(minutes=1))
            period = "last minute" if minutes <= 1 else f"last {minutes} minutes"
            polls = f"{self.polls} poll{'' if self.polls == 1 else 's'}"
            if self.failed:
                polls += f" ({self.failed} failed)"
            c = self.counts
            line = (
                f"{period}: {polls}, {c.new} new listing{'' if c.new == 1 else 's'}, "
                f"{c.matched} matched, {c.alerted} alerted"
                f" · eBay calls today {budget.used_today()} of {budget.limit}"
            )
        self.polls = self.failed = 0
        self.counts = PipelineCounts()
        self.since = now
        return line
