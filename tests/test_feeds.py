"""Atom feeds and CSV exports as a user gets them: the feed URLs from the CLI, fetched
like a feed reader would; `deals --csv`; the dashboard's export links."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import lxml.html
import pytest
from lxml import etree
from tests.marketplace import CHAT_ID, RELEASES, Market, running_market

from vinyl_detective.daemon import Daemon
from vinyl_detective.fakes.ebay import make_item
from vinyl_detective.sources.discogs_parse import parse_release
from vinyl_detective.storage import catalog, searches
from vinyl_detective.storage.db import open_database

ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = 'Art Blakey Moanin\' <b>RARE</b> & "MINT" LP BLP 4003 VG+ </title>'
FORMULA = '=HYPERLINK("http://evil.example","Miles Davis Kind Of Blue LP Columbia CL 1355")'
ADMIN = "feeds-test-admin-token"
Cli = Callable[..., tuple[int, str]]


@pytest.fixture
def market(tmp_path: Path) -> Iterator[Market]:
    started = datetime.now(UTC)
    with running_market(tmp_path, started, admin_token=ADMIN) as market:
        market.ebay.add_items(
            [
                make_item(6, HOSTILE, "30.00", listed_at=started, shipping="5.00"),
                make_item(7, FORMULA, "20.00", listed_at=started, shipping="5.00"),
            ]
        )
        engine = open_database(market.settings.database_url)
        with engine.begin() as conn:
            catalog.upsert_releases(conn, [parse_release(r) for r in RELEASES], started)
            searches.add_search(conn, query="lp", now=started, chat_id=CHAT_ID)
            searches.add_search(
                conn, query="kind of blue", now=started, chat_id=CHAT_ID, rule="price < 42"
            )
        engine.dispose()
        yield market


@pytest.fixture
def cli(market: Market, run_cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(Path(market.settings.database_url.removeprefix("sqlite:///")).parent)
    monkeypatch.setenv("DATABASE_URL", market.settings.database_url)
    monkeypatch.setenv("COLUMNS", "200")
    return run_cli


@pytest.fixture
async def web(market: Market) -> AsyncIterator[httpx.AsyncClient]:
    await Daemon(market.settings).run(once=True)
    daemon = Daemon(market.settings)
    await daemon.open()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=daemon.api_app()), base_url="http://vd.test"
        ) as client:
            yield client
    finally:
        await daemon.close()


def _feed_urls(cli: Cli, *extra: str) -> dict[str, str]:
    code, output = cli("feeds", "--base-url", "http://vd.test", *extra)
    assert code == 0, output
    lines = [line.strip() for line in output.splitlines()]
    return {lines[i - 1]: line for i, line in enumerate(lines) if line.startswith("http")}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_the_deals_feed_is_valid_atom_with_every_seller_text_escaped(
    cli: Cli, web: httpx.AsyncClient
) -> None:
    urls = _feed_urls(cli)
    response = await web.get(_path(urls["every deal"]))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(response.content)  # well-formed, whatever the sellers wrote
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") or "" for e in entries]
    assert len(entries) == 4
    assert any("Moanin'" in t for t in titles)
    hostile = next(e for e in entries if HOSTILE in (e.findtext(f"{ATOM}summary") or ""))
    link = hostile.find(f"{ATOM}link")
    assert link is not None
    assert link.get("href") == "https://www.ebay.com/itm/286000000006"
    # The entry's HTML shows the seller's markup as text, never as markup.
    body = lxml.html.fragment_fromstring(hostile.findtext(f"{ATOM}content") or "", "div")
    assert body.findall(".//b")[0].text is not None  # our own bold headline
    assert [i.text_content() for i in body.findall(".//i")] == [" ".join(HOSTILE.split())]
    assert len(body.findall(".//b")) == 1


async def test_each_feed_opens_only_with_its_own_token_and_new_tokens_replace_them(
    cli: Cli, web: httpx.AsyncClient
) -> None:
    urls = _feed_urls(cli)
    own = urls["search #2: kind of blue"]
    feed = etree.fromstring((await web.get(_path(own))).content)
    ids = {e.findtext(f"{ATOM}id") or "" for e in feed.findall(f"{ATOM}entry")}
    # Its keywords, threshold and rule (price < 42): the 40.00 and 20.00 Kind of Blue,
    # not the one at 75.00 (no deal) nor Moanin' (other keywords).
    assert {i.rsplit("/", 1)[1] for i in ids} == {"v1%7C286000000003%7C0", "v1%7C286000000007%7C0"}

    token_of_search_2 = urlsplit(own).query
    refused = await web.get(f"/feeds/deals.atom?{token_of_search_2}")
    assert refused.status_code == 403
    assert "vinyl-detective feeds" in refused.text
    assert (await web.get("/feeds/searches/1.atom")).status_code == 403
    assert (await web.get(f"/admin/listings?{token_of_search_2}")).status_code == 401

    renewed = _feed_urls(cli, "--new-tokens")
    assert (await web.get(_path(urls["every deal"]))).status_code == 403
    assert (await web.get(_path(renewed["every deal"]))).status_code == 200


async def test_deals_csv_and_the_flip_ledger_from_the_cli(cli: Cli, web: httpx.AsyncClient) -> None:
    code, output = cli("deals", "--csv")
    assert code == 0, output
    rows = list(csv.DictReader(io.StringIO(output)))
    assert len(rows) == 4
    moanin = next(r for r in rows if r["item_id"] == "v1|286000000001|0")
    assert moanin["release_title"] == "Moanin'"
    assert moanin["total"] == "50.00"
    assert moanin["currency"] == "USD"
    assert moanin["tracked_state"] == "FOUND"
    formula = next(r for r in rows if r["item_id"] == "v1|286000000007|0")
    assert formula["listing_title"] == "'" + FORMULA  # a spreadsheet shows it as text

    item = "v1|286000000001|0"
    assert cli("transition", item, "PURCHASED", "--price", "45")[0] == 0
    assert cli("transition", item, "RECEIVED")[0] == 0
    assert cli("transition", item, "LISTED")[0] == 0
    assert cli("transition", item, "SOLD", "--price", "120", "--fees", "14.50")[0] == 0
    code, output = cli("deals", "--csv", "--ledger")
    assert code == 0, output
    ledger = {r["item_id"]: r for r in csv.DictReader(io.StringIO(output))}
    sold = ledger[item]
    assert sold["state"] == "SOLD"
    assert (sold["purchase_price"], sold["sale_price"], sold["fees"], sold["profit"]) == (
        "45.00",
        "120.00",
        "14.50",
        "60.50",
    )
    assert sold["bought_at"]
    assert sold["sold_at"] >= sold["bought_at"]

    code, output = cli("deals", "--ledger")
    assert code == 1
    assert "--ledger goes with --csv" in output


async def test_the_dashboard_exports_need_the_sign_in(web: httpx.AsyncClient) -> None:
    anonymous = await web.get("/export/flips.csv")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")

    signed = await web.post("/login", data={"token": ADMIN, "next": "/"})
    assert signed.status_code == 303
    page = await web.get("/")
    assert 'href="/export/deals.csv"' in page.text
    board = await web.get("/board")
    assert 'href="/export/flips.csv"' in board.text

    export = await web.get("/export/deals.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert {r["item_id"] for r in rows} >= {"v1|286000000001|0", "v1|286000000003|0"}
