"""What a running daemon writes to its terminal or journal: alerts and one line a minute,
not a line per quiet poll."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.marketplace import running_market
from tests.test_end_to_end import _add_search

from vinyl_detective.activity import MinuteSummary
from vinyl_detective.daemon import Daemon
from vinyl_detective.jobs.pipeline import PipelineCounts
from vinyl_detective.logs import ACTIVITY_LOGGER, ALERTS_LOGGER

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Budget:
    limit = 5000

    def used_today(self) -> int:
        return 212


def test_the_minute_line_sums_the_cycles_of_that_minute_and_starts_afresh() -> None:
    minute = MinuteSummary()
    minute.add(2, 0, PipelineCounts(new=10, matched=2, alerted=1), T0)
    assert minute.take(T0 + timedelta(seconds=30), Budget()) is None  # not a minute yet
    minute.add(1, 1, PipelineCounts(new=4, matched=0), T0 + timedelta(seconds=30))
    line = minute.take(T0 + timedelta(seconds=61), Budget())
    assert line == (
        "last minute: 3 polls (1 failed), 14 new listings, 2 matched, 1 alerted"
        " · eBay calls today 212 of 5000"
    )
    # The next minute counts only its own cycles.
    minute.add(1, 0, PipelineCounts(new=1), T0 + timedelta(seconds=70))
    line = minute.take(T0 + timedelta(seconds=125), Budget())
    assert line is not None
    assert line.startswith("last minute: 1 poll, 1 new listing, 0 matched, 0 alerted")


def test_a_minute_that_polled_nothing_says_nothing() -> None:
    minute = MinuteSummary()
    minute.add(0, 0, PipelineCounts(), T0)
    assert minute.take(T0 + timedelta(minutes=2), Budget()) is None


def test_after_a_quiet_spell_the_line_names_the_whole_period() -> None:
    minute = MinuteSummary()
    minute.add(1, 0, PipelineCounts(new=3), T0)
    line = minute.take(T0 + timedelta(minutes=30), Budget())
    assert line is not None
    assert line.startswith("last 30 minutes: 1 poll, 3 new listings")


def _alerted_in_summaries(records: list[logging.LogRecord]) -> int:
    """The alerts the summary lines written so far have counted, together."""
    lines = [r.getMessage() for r in records if r.name == ACTIVITY_LOGGER]
    return sum(int(m.group(1)) for line in lines if (m := re.search(r"(\d+) alerted", line)))


async def test_the_running_log_shows_alerts_and_summaries_not_each_quiet_poll(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running_market(tmp_path, datetime.now(UTC)) as market:
        _add_search(market.settings.database_url)
        daemon = Daemon(market.settings, tick_seconds=0.2)
        daemon.minute = MinuteSummary(every=timedelta(seconds=0.5))
        caplog.set_level(logging.INFO, logger="vinyl_detective")
        caplog.set_level(logging.INFO, logger=ALERTS_LOGGER)
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        # Until the summary lines have counted both deals (a loaded machine takes longer:
        # the two may fall in different lines), then a few quiet polls.
        for _ in range(300):
            await asyncio.sleep(0.1)
            if _alerted_in_summaries(caplog.records) >= 2:
                break
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    info = [r for r in caplog.records if r.levelno == logging.INFO]
    alerts = [r.getMessage() for r in info if r.name == ALERTS_LOGGER]
    assert len(alerts) == 2  # the market's two deals, one line each, naming the record
    assert any("Moanin'" in line and "under Discogs" in line for line in alerts)
    summaries = [r.getMessage() for r in info if r.name == ACTIVITY_LOGGER]
    assert summaries
    # Every alert is counted in a summary line once (both in the first line, or split over
    # the first lines when the summary's period ends between the two deals' polls).
    assert _alerted_in_summaries(caplog.records) == 2
    assert "eBay calls today" in summaries[0]
    messages = [r.getMessage() for r in info]
    # Polls after the first found nothing to alert: none of them is an INFO line.
    assert not [m for m in messages if "alerted=0" in m]
    assert not [m for m in messages if m.startswith("scheduler cycle")]
