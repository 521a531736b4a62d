"""Why (not)? — one listing's every decision, from the CLI, the bot, the API and the dashboard.

The market of tests/marketplace.py runs through the real daemon (fake eBay, Discogs and
Telegram on loopback); then the user asks about a deal that was alerted, a decoy that was
not, and a listing never seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from tests.marketplace import CHAT_ID, RELEASES, Market, running_market
from typer.testing import CliRunner

from vinyl_detective.api.app import create_app
from vinyl_detective.cli import app as cli_app
from vinyl_detective.daemon import Daemon
from vinyl_detective.explain import item_id_from
from vinyl_detective.sources.discogs_parse import parse_release
from vinyl_detective.storage import catalog, searches
from vinyl_detective.storage.db import open_database

BLAKEY = "v1|286000000001|0"  # "Art Blakey Moanin' LP Blue Note BLP 4003 VG+", $45: a deal
LOT = "v1|286000000004|0"  # "Lot of 25 jazz LP records": not a record
TOKEN = "admin-secret-token-123"


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def market_after_a_cycle(tmp_path: Path) -> Iterator[Market]:
    with running_market(tmp_path, _now()) as market:
        engine = open_database(market.settings.database_url)
        with engine.begin() as conn:
            catalog.upsert_releases(conn, [parse_release(r) for r in RELEASES], _now())
            searches.add_search(conn, query="lp", now=_now(), chat_id=CHAT_ID)
            searches.add_search(
                conn, query="blue note", now=_now(), chat_id=CHAT_ID, rule="price < 20"
            )
            searches.add_search(conn, query="coltrane", now=_now(), chat_id=CHAT_ID)
        engine.dispose()
        asyncio.run(Daemon(market.settings).run(once=True))
        yield market


def _explain_cli(market: Market, monkeypatch: pytest.MonkeyPatch, ref: str) -> tuple[int, str]:
    monkeypatch.chdir(market.settings.database_url.removeprefix("sqlite:///").rsplit("/", 1)[0])
    monkeypatch.setenv("DATABASE_URL", market.settings.database_url)
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(cli_app, ["explain", ref])
    return result.exit_code, result.output


def test_explain_tells_how_an_alerted_deal_was_found_matched_priced_and_sent(
    market_after_a_cycle: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = _explain_cli(market_after_a_cycle, monkeypatch, "286000000001")
    assert code == 0, out
    assert "catalog numbers in the title" in out
    assert "#1001 Art Blakey & The Jazz Messengers – Moanin'" in out
    assert "release 1001 by catalog_no" in out
    assert "VG+, read from the title" in out
    assert "Discogs suggestions" in out
    assert "fetched" in out
    assert "deal score" in out
    assert "a deal" in out
    assert f"telegram:{CHAT_ID} for search #1: alerted" in out
    # The other searches, each with its own reason.
    assert "search #2 ('blue note')" in out
    assert "price < 20: price is 45.00 → no" in out
    assert "search #3 ('coltrane'): not alerted — the title does not match" in out


def test_explain_says_why_a_decoy_was_not_alerted(
    market_after_a_cycle: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = _explain_cli(market_after_a_cycle, monkeypatch, LOT)
    assert code == 0, out
    assert "Answer now: no match" in out
    assert "Reference price\n  none: the listing is no release of the catalog" in out
    assert "not alerted — no deal" in out


def test_explain_of_a_listing_never_seen_says_so_and_when_the_streams_looked(
    market_after_a_cycle: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = _explain_cli(
        market_after_a_cycle, monkeypatch, "https://www.ebay.com/itm/123456789012?hash=x"
    )
    assert code == 1
    assert "v1|123456789012|0" in out
    assert "has not seen this listing" in out
    assert "stream of EBAY_US last looked" in out


def test_item_references_are_read_the_way_users_paste_them() -> None:
    assert item_id_from("286012345678") == "v1|286012345678|0"
    assert item_id_from(" v1|286012345678|0 ") == "v1|286012345678|0"
    assert item_id_from("https://www.ebay.co.uk/itm/Some-Title/286012345678?x=1") == (
        "v1|286012345678|0"
    )


def _client(engine: object) -> httpx.AsyncClient:
    app = create_app(engine=engine, admin_token=TOKEN)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vd.test")


async def test_the_admin_api_explains_a_listing_only_with_the_token(
    market_after_a_cycle: Market,
) -> None:
    engine = open_database(market_after_a_cycle.settings.database_url)
    client = _client(engine)
    path = f"/admin/listings/{BLAKEY}/explain"
    assert (await client.get(path)).status_code == 401
    answer = await client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["seen"] is True
    titles = [s["title"] for s in body["sections"]]
    assert titles == [
        "The listing",
        "Identification",
        "Grade",
        "Reference price",
        "Score",
        "Rules",
        "Recipients",
    ]
    recipients = next(s for s in body["sections"] if s["title"] == "Recipients")
    assert any("alerted" in line for line in recipients["lines"])
    never = await client.get(
        "/admin/listings/v1|1|0/explain", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert never.json()["seen"] is False
    await client.aclose()
    engine.dispose()


async def test_the_dashboard_why_page_shows_the_decisions_escaped(
    market_after_a_cycle: Market,
) -> None:
    engine = open_database(market_after_a_cycle.settings.database_url)
    client = _client(engine)
    login = await client.post("/login", data={"token": TOKEN, "next": "/"})
    assert login.status_code == 303
    page = await client.get("/listings/v1%7C286000000001%7C0/why")
    assert page.status_code == 200
    assert "Why (not)?" in page.text
    assert "Moanin&#39;" in page.text  # the release name, HTML-escaped
    assert "alerted" in page.text
    deals = await client.get("/")
    assert "/listings/v1%7C286000000001%7C0/why" in deals.text
    await client.aclose()
    engine.dispose()


async def test_the_bot_answers_why_in_the_chat(tmp_path: Path) -> None:
    with running_market(tmp_path, _now()) as market:
        engine = open_database(market.settings.database_url)
        with engine.begin() as conn:
            catalog.upsert_releases(conn, [parse_release(r) for r in RELEASES], _now())
            searches.add_search(conn, query="lp", now=_now(), chat_id=CHAT_ID)
        engine.dispose()
        daemon = Daemon(market.settings, tick_seconds=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        assert await asyncio.to_thread(
            market.telegram.wait_until, lambda: len(market.cards()) == 2, 10.0
        )
        market.telegram.push_message(CHAT_ID, "/why 286000000004")
        answered = await asyncio.to_thread(
            market.telegram.wait_until,
            lambda: any("Why (not)?" in m["plain_text"] for m in market.telegram.sent),
            5.0,
        )
        stop.set()
        await asyncio.wait_for(task, timeout=6)
        assert answered
        reply = next(m for m in market.telegram.sent if "Why (not)?" in m["plain_text"])
        assert "Lot of 25 jazz LP records" in reply["plain_text"]
        assert "no match" in reply["plain_text"]
