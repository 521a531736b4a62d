"""After a kill -9: what the dead process had claimed is delivered at once, exactly once.

A claim names its claimer ("host:pid:tag"). A start on the same host that finds a claim
of a process that no longer runs sends it straight away; a claim of a live process (a
send that may still be in flight in another worker) waits out the in-flight grace.
"""

from __future__ import annotations

import os
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from tests.marketplace import CHAT_ID, RELEASES, running_market

from vinyl_detective.daemon import Daemon
from vinyl_detective.sources.discogs_parse import parse_release
from vinyl_detective.storage import alerts, catalog, job_runs, searches
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.schema import alert_log

MOANIN = "v1|286000000001|0"


def _now() -> datetime:
    return datetime.now(UTC)


def _dead_pid() -> int:
    probe = subprocess.Popen(["true"])  # noqa: S607
    probe.wait()
    return probe.pid


def _claimed_by(url: str, claimer: str) -> None:
    """A search over the market, and the Moanin' alert claimed by `claimer`, never sent."""
    engine = open_database(url)
    with engine.begin() as conn:
        catalog.upsert_releases(conn, [parse_release(r) for r in RELEASES], _now())
        searches.add_search(conn, query="lp", now=_now(), chat_id=CHAT_ID)
        assert alerts.claim(conn, f"telegram:{CHAT_ID}", MOANIN, now=_now())
        conn.execute(alert_log.update().values(claimed_by=claimer))
    engine.dispose()


def _moanin_cards(market: object) -> int:
    return sum("Moanin" in card["text"] for card in market.cards())  # type: ignore[attr-defined]


async def test_an_alert_claimed_by_a_killed_process_is_sent_at_the_next_start(
    tmp_path: Path,
) -> None:
    with running_market(tmp_path, _now()) as market:
        _claimed_by(market.settings.database_url, f"{socket.gethostname()}:{_dead_pid()}:dead")
        await Daemon(market.settings).run(once=True)
        assert _moanin_cards(market) == 1
        engine = open_database(market.settings.database_url)
        with engine.connect() as conn:
            status = conn.execute(
                sa.select(alert_log.c.status).where(alert_log.c.item_id == MOANIN)
            ).scalar_one()
        engine.dispose()
        assert status == "sent"


async def test_an_alert_claimed_by_a_live_process_is_not_sent_twice(tmp_path: Path) -> None:
    with running_market(tmp_path, _now()) as market:
        alive = f"{socket.gethostname()}:{os.getppid()}:busy"  # maybe still sending it
        _claimed_by(market.settings.database_url, alive)
        await Daemon(market.settings).run(once=True)
        assert _moanin_cards(market) == 0  # left to its claimer for the in-flight grace


def test_only_processes_of_this_host_that_ended_are_taken_for_gone() -> None:
    host = socket.gethostname()
    assert job_runs.owner_gone(f"{host}:{_dead_pid()}:tag")
    assert job_runs.owner_gone(f"{host}:{_dead_pid()}")
    assert not job_runs.owner_gone(f"{host}:{os.getppid()}:tag")
    assert not job_runs.owner_gone(f"{host}:{os.getpid()}:another-tag")
    assert not job_runs.owner_gone(f"other-host:{_dead_pid()}:tag")
    assert not job_runs.owner_gone("worker-1")
    assert not job_runs.owner_gone(None)
