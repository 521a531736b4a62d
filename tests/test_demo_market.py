"""The demo marketplace, run once the way `vinyl-detective demo --once` runs it, judged
against the sample market's ground truth: real deals are found, decoys never alert."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from rich.console import Console

from vinyl_detective.daemon import Daemon
from vinyl_detective.demo import (
    DEMO_SCHEDULE,
    _save_demo_searches,
    demo_queries,
    demo_settings,
    serve_fakes,
)
from vinyl_detective.domain.query import query_matches
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.schema import alert_log, listings


async def test_demo_cycle_alerts_real_deals_and_no_false_alarms(tmp_path: Path) -> None:
    with serve_fakes() as fakes:
        settings = demo_settings(fakes, tmp_path)
        _save_demo_searches(settings, fakes.market, Console(file=None, quiet=True))
        await Daemon(settings, scheduler_options=DEMO_SCHEDULE).run(once=True)
        market = fakes.market
        cards = [m for m in fakes.telegram.sent if m.get("reply_markup")]

    engine = open_database(settings.database_url)
    with engine.connect() as conn:
        matches = {r.item_id: r.match_release_id for r in conn.execute(sa.select(listings))}
        alerted = {r.item_id for r in conn.execute(sa.select(alert_log))}
    engine.dispose()
    masters = {r["id"]: r.get("master_id") for r in market.releases}

    # Identification: a match names the right album (a repress that keeps the original's
    # catalog number cannot be told apart from the title, so the master is what counts).
    matched = {item: rid for item, rid in matches.items() if rid is not None}
    wrong = {
        item: rid
        for item, rid in matched.items()
        if market.truth.get(item) is None or masters[market.truth[item]] != masters[rid]
    }
    assert len(matched) >= 100
    assert len(wrong) <= len(matched) // 50, f"wrong matches: {wrong}"

    # Alerts: every card names the album the listing truly is, decoys (lots, sleeves,
    # tributes, posters) never alert, and most watched deals by construction are found.
    assert len(cards) == len(alerted) >= 15
    assert not {item for item in alerted if market.truth.get(item) is None}
    assert not {item for item in alerted if item in wrong}
    queries = demo_queries(market)
    titles = {item["itemId"]: item["title"] for item in market.items}
    watched_deals = {
        item
        for item in market.deals
        if item in matches and any(query_matches(q, titles[item]) for q in queries)
    }
    found = watched_deals & alerted
    assert len(found) >= 0.6 * len(watched_deals), sorted(watched_deals - alerted)
