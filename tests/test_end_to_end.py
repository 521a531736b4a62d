"""The whole product against the fake eBay, Discogs and Telegram on loopback ports."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.marketplace import CHAT_ID, DEAL_ITEMS, RELEASES, running_market

from vinyl_detective.daemon import Daemon
from vinyl_detective.sources.discogs_parse import parse_release
from vinyl_detective.storage import catalog, chats, search_schedules, searches
from vinyl_detective.storage import deals as deal_store
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.schema import alert_log, job_runs, listings


def _now() -> datetime:
    return datetime.now(UTC)


def _add_search(url: str, query: str = "lp", **values: object) -> int:
    """Save a search over a catalog that holds the market's releases (as a dump import would)."""
    engine = open_database(url)
    with engine.begin() as conn:
        catalog.upsert_releases(conn, [parse_release(r) for r in RELEASES], _now())
        search = searches.add_search(conn, query=query, now=_now(), chat_id=CHAT_ID, **values)
    engine.dispose()
    return search.id


async def test_one_cycle_alerts_exactly_the_real_deals_and_stores_everything(
    tmp_path: Path,
) -> None:
    with running_market(tmp_path, _now()) as market:
        _add_search(market.settings.database_url)
        await Daemon(market.settings).run(once=True)

        cards = market.cards()
        assert {c["chat_id"] for c in cards} == {CHAT_ID}
        assert len(cards) == 2
        texts = " ".join(c["text"] for c in cards)
        assert "Moanin" in texts
        assert "Kind Of Blue" in texts or "Kind of Blue" in texts

        engine = open_database(market.settings.database_url)
        with engine.connect() as conn:
            rows = {r.item_id: r for r in conn.execute(sa.select(listings))}
            sent = {r.item_id for r in conn.execute(sa.select(alert_log))}
            tracked = {d.item_id for d in deal_store.list_deals(conn)}
        engine.dispose()
        assert len(rows) == 5
        assert rows["v1|286000000001|0"].match_release_id == 1001
        assert rows["v1|286000000001|0"].match_method == "catalog_no"
        assert rows["v1|286000000003|0"].match_release_id == 1002
        assert rows["v1|286000000004|0"].match_release_id is None  # the decoy lot
        assert rows["v1|286000000002|0"].deal_score is None  # fairly priced
        assert sent == DEAL_ITEMS
        assert tracked == DEAL_ITEMS  # alerted deals start their lifecycle in FOUND


async def test_second_run_sends_no_duplicate_alert(tmp_path: Path) -> None:
    with running_market(tmp_path, _now()) as market:
        search_id = _add_search(market.settings.database_url)
        await Daemon(market.settings).run(once=True)
        first = len(market.cards())
        engine = open_database(market.settings.database_url)
        with engine.begin() as conn:  # make the search due again at once
            searches.mark_run(conn, search_id, ran_at=_now(), next_run_at=_now())
        engine.dispose()
        await Daemon(market.settings).run(once=True)
        assert first == 2
        assert len(market.cards()) == 2


async def test_prices_are_fetched_only_for_matched_releases(tmp_path: Path) -> None:
    with running_market(tmp_path, _now()) as market:
        _add_search(market.settings.database_url)
        await Daemon(market.settings).run(once=True)
        priced_paths = [p for p in market.discogs.request_paths if "price_suggestions" in p]
        assert sorted(priced_paths) == [
            "/marketplace/price_suggestions/1001",
            "/marketplace/price_suggestions/1002",
        ]


async def test_a_failing_search_does_not_stop_the_others(tmp_path: Path) -> None:
    with running_market(tmp_path, _now()) as market:
        url = market.settings.database_url
        ids = [_add_search(url, "nothing matches this"), _add_search(url, "lp")]
        engine = open_database(url)
        with engine.begin() as conn:  # both poll with their own eBay query
            for search_id in ids:
                search_schedules.set_search_options(conn, search_id, mode="query")
        engine.dispose()
        market.ebay.fail_next(400, times=1, path_contains="item_summary")
        await Daemon(market.settings, concurrency=1).run(once=True)
        assert len(market.cards()) == 2
        engine = open_database(url)
        with engine.connect() as conn:
            statuses = [
                r.status
                for r in conn.execute(sa.select(job_runs))
                if r.target and r.target.startswith("search:")
            ]
        engine.dispose()
        assert "error" in statuses
        assert "success" in statuses


async def test_spent_budget_stops_polling_until_the_reset(tmp_path: Path) -> None:
    with running_market(tmp_path, _now(), ebay_daily_call_budget=1) as market:
        _add_search(market.settings.database_url, "lp")
        _add_search(market.settings.database_url, "miles")
        daemon = Daemon(market.settings)
        await daemon.run(once=True)
        assert market.ebay.calls <= 1
        assert daemon.paused_until is not None
        assert daemon.paused_until > _now()


async def test_daemon_stops_within_five_seconds_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running_market(tmp_path, _now()) as market:
        _add_search(market.settings.database_url)
        daemon = Daemon(market.settings, tick_seconds=0.2)
        stop = asyncio.Event()
        caplog.set_level(logging.INFO, logger="vinyl_detective")
        task = asyncio.create_task(daemon.run(stop))
        await asyncio.sleep(1.5)
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        assert time.monotonic() - started < 5
        assert "Vinyl Detective stopped." in caplog.text
        assert len(market.cards()) == 2


async def test_bot_commands_work_while_the_daemon_runs(tmp_path: Path) -> None:
    with running_market(tmp_path, _now()) as market:
        daemon = Daemon(market.settings, tick_seconds=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        market.telegram.push_message(CHAT_ID, "/add_search blue note | price < 100")
        replies = await market.telegram.wait_for_sent_async(1, chat_id=CHAT_ID, timeout=10)
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        assert "Saved search #1: blue note" in replies[0]["text"]
        engine = open_database(market.settings.database_url)
        with engine.connect() as conn:
            saved = searches.list_searches(conn, chat_id=CHAT_ID)
        engine.dispose()
        assert [(s.query, s.rule) for s in saved] == [("blue note", "price < 100")]


def test_cleanup_forgets_old_listings_and_alerts(tmp_path: Path) -> None:
    from decimal import Decimal

    from vinyl_detective.domain.models import Listing
    from vinyl_detective.jobs.cleanup import cleanup
    from vinyl_detective.storage import alerts
    from vinyl_detective.storage import listings as listing_store

    engine = open_database(f"sqlite:///{tmp_path / 'c.db'}")
    now = _now()
    with engine.begin() as conn:
        for item, age in (("old", 60), ("recent", 5)):
            listing_store.insert_new(
                conn,
                Listing(item, item, Decimal(1), "USD"),
                search_id=None,
                now=now - timedelta(days=age),
            )
        alerts.claim(conn, "telegram:1", "ancient", now=now - timedelta(days=100))
        alerts.claim(conn, "telegram:1", "recent", now=now - timedelta(days=10))
    assert cleanup(engine, now) == (1, 1)
    with engine.connect() as conn:
        assert listing_store.get_listing(conn, "recent") is not None
        assert listing_store.get_listing(conn, "old") is None
    engine.dispose()


async def test_deal_buttons_move_the_deal_through_its_lifecycle(tmp_path: Path) -> None:
    with running_market(tmp_path, _now()) as market:
        _add_search(market.settings.database_url)
        daemon = Daemon(market.settings, tick_seconds=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        ok = await asyncio.to_thread(
            market.telegram.wait_until, lambda: len(market.cards()) == 2, 10.0
        )
        card = market.cards()[0]
        track = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        market.telegram.push_callback(CHAT_ID, card["message_id"], track)
        answered = await asyncio.to_thread(
            market.telegram.wait_until, lambda: bool(market.telegram.answered_callbacks), 5.0
        )
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        assert ok
        assert answered
        assert "MESSAGING" in market.telegram.answered_callbacks[0]["text"]
        engine = open_database(market.settings.database_url)
        with engine.connect() as conn:
            states = {d.item_id: d.state.value for d in deal_store.list_deals(conn)}
            history = deal_store.history(conn, track.split(":", 1)[1])
        engine.dispose()
        assert sorted(states.values()) == ["FOUND", "MESSAGING"]
        assert [(h.to_state.value, h.actor) for h in history] == [
            ("FOUND", "pipeline"),
            ("MESSAGING", "bot"),
        ]


async def test_a_chat_that_blocked_the_bot_gets_alerts_again_after_resume(
    tmp_path: Path,
) -> None:
    with running_market(tmp_path, _now()) as market:
        _add_search(market.settings.database_url)
        market.telegram.block_chat(CHAT_ID)
        await Daemon(market.settings).run(once=True)
        assert market.cards() == []
        market.telegram.unblock_chat(CHAT_ID)
        daemon = Daemon(market.settings, tick_seconds=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        market.telegram.push_message(CHAT_ID, "/resume")
        await market.telegram.wait_for_sent_async(1, chat_id=CHAT_ID, timeout=10)
        stop.set()
        await asyncio.wait_for(task, timeout=6)
        engine = open_database(market.settings.database_url)
        with engine.connect() as conn:
            reachable = chats.is_reachable(conn, CHAT_ID)
        engine.dispose()
        assert reachable


async def test_the_global_rule_set_from_the_bot_filters_every_search(tmp_path: Path) -> None:
    with running_market(tmp_path, _now()) as market:
        daemon = Daemon(market.settings, tick_seconds=30)
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        market.telegram.push_message(CHAT_ID, '/global_rule title contains "moanin"')
        replies = await market.telegram.wait_for_sent_async(1, chat_id=CHAT_ID, timeout=10)
        stop.set()
        await asyncio.wait_for(task, timeout=6)
        assert 'Global rule: title contains "moanin"' in replies[0]["plain_text"]

        _add_search(market.settings.database_url)
        await Daemon(market.settings).run(once=True)
        cards = market.cards()
        assert len(cards) == 1  # Kind of Blue is a deal too, but not "moanin"
        assert "Moanin" in cards[0]["text"]


async def test_status_shows_each_search_its_yield_the_budget_and_health(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from vinyl_detective.cli import app

    with running_market(tmp_path, _now()) as market:
        _add_search(market.settings.database_url, "lp")
        _add_search(market.settings.database_url, "coltrane")
        await Daemon(market.settings).run(once=True)
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DATABASE_URL", market.settings.database_url)
    monkeypatch.setenv("COLUMNS", "160")
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    lp = next(line for line in lines if "│ 1 " in line)
    coltrane = next(line for line in lines if "│ 2 " in line)
    assert "2/2" in lp  # two deals alerted for "lp"
    assert "0/0" in coltrane
    assert "firehose" in lp
    assert "eBay calls today:" in result.output
    assert "Daemon: stopped at" in result.output  # run --once ended cleanly


async def test_a_broken_rule_disables_only_its_own_search(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running_market(tmp_path, _now()) as market:
        url = market.settings.database_url
        broken = _add_search(url, "lp", rule="price <<< 3")  # stored behind the CLI's back
        _add_search(url, "lp")
        caplog.set_level(logging.ERROR, logger="vinyl_detective")
        await Daemon(market.settings).run(once=True)
        assert len(market.cards()) == 2  # the healthy search still alerts
        engine = open_database(url)
        with engine.connect() as conn:
            plan = searches.schedules(conn)[broken]
        engine.dispose()
        assert plan.disabled_reason is not None
        assert "rule does not parse" in plan.disabled_reason
        assert f"search {broken} disabled" in caplog.text


async def test_a_forced_stop_cancels_running_work_at_once_and_still_closes_cleanly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running_market(tmp_path, _now()) as market:
        _add_search(market.settings.database_url)
        market.ebay.fail_next(503, times=1000)  # every poll now retries with backoff
        daemon = Daemon(market.settings, tick_seconds=0.2)
        stop, force = asyncio.Event(), asyncio.Event()
        caplog.set_level(logging.INFO, logger="vinyl_detective")
        task = asyncio.create_task(daemon.run(stop, force=force))
        await asyncio.sleep(1.5)  # a poll is now waiting between retries
        started = time.monotonic()
        stop.set()
        force.set()
        await asyncio.wait_for(task, timeout=5)
        assert time.monotonic() - started < 2
        assert "Vinyl Detective stopped." in caplog.text


async def test_bought_asks_for_the_price_and_records_the_answer(tmp_path: Path) -> None:
    with running_market(tmp_path, _now()) as market:
        _add_search(market.settings.database_url)
        daemon = Daemon(market.settings, tick_seconds=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        assert await asyncio.to_thread(
            market.telegram.wait_until, lambda: len(market.cards()) == 2, 10.0
        )
        card = market.cards()[0]
        bought = card["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
        item_id = bought.split(":", 1)[1]
        market.telegram.push_callback(CHAT_ID, card["message_id"], bought)
        question = await asyncio.to_thread(
            market.telegram.wait_until,
            lambda: any("What did you pay" in m["plain_text"] for m in market.telegram.sent),
            5.0,
        )
        market.telegram.push_message(CHAT_ID, "$42,50")
        answered = await asyncio.to_thread(
            market.telegram.wait_until,
            lambda: any("Marked as bought" in m["plain_text"] for m in market.telegram.sent),
            5.0,
        )
        stop.set()
        await asyncio.wait_for(task, timeout=6)
        assert question
        assert answered
        engine = open_database(market.settings.database_url)
        with engine.connect() as conn:
            deal = deal_store.require_deal(conn, item_id)
        engine.dispose()
        assert deal.state.value == "PURCHASED"
        assert deal.purchase_price == Decimal("42.50")
