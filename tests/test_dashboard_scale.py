"""The dashboard with many deals: board columns are capped with a "show more" link, and
the deals page lists deals that reach their search's threshold, the rest on request."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from lxml import html
from sqlalchemy.engine import Engine

from vinyl_detective.api.app import create_app
from vinyl_detective.api.routes_board import BOARD_CARDS
from vinyl_detective.api.routes_dashboard import DEALS_PER_PAGE
from vinyl_detective.domain.models import (
    Deal,
    Listing,
    Match,
    MatchMethod,
    Money,
    Priority,
    Release,
)
from vinyl_detective.storage import catalog, deals, listings, searches

TOKEN = "scale-test-token-91c4"
RELEASE = Release(id=5001, artist="Sonny Rollins", title="Saxophone Colossus", format="Vinyl")


def _store(engine: Engine, item_id: str, title: str, score: float, at: datetime) -> Deal:
    """A scored listing as the pipeline leaves it: reference 100 USD, price to fit `score`."""
    price = (Decimal(100) * Decimal(1 - score)).quantize(Decimal("0.01"))
    listing = Listing(
        item_id=item_id,
        title=title,
        price=price,
        currency="USD",
        shipping=Decimal(0),
        url=f"https://www.ebay.com/itm/{item_id}",
    )
    deal = Deal(
        listing=listing,
        release=RELEASE,
        match=Match(RELEASE.id, MatchMethod.FUZZY, 0.9),
        reference=Money(Decimal(100), "USD"),
        total=Money(price, "USD"),
        score=score,
        priority=Priority.HIGH if score >= 0.4 else Priority.MEDIUM,
    )
    with engine.begin() as conn:
        listings.insert_new(conn, listing, search_id=None, now=at)
        listings.record_outcome(conn, item_id, match=deal.match, deal=deal, now=at)
    return deal


@pytest.fixture
async def http(engine: Engine, now: datetime) -> AsyncIterator[httpx.AsyncClient]:
    with engine.begin() as conn:
        catalog.upsert_releases(conn, [RELEASE], now)
    app = create_app(engine=engine, admin_token=TOKEN, clock=lambda: now)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as client:
        signed = await client.post(
            "/login",
            content=f"token={TOKEN}&next=/".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        client.cookies = signed.cookies
        yield client


def _page(response: httpx.Response) -> html.HtmlElement:
    assert response.status_code == 200, response.text[:300]
    return html.fromstring(response.text)


def _all(element: html.HtmlElement, tag: str, css_class: str = "") -> list[html.HtmlElement]:
    """Elements `tag` below `element` that carry `css_class` (any, when empty)."""
    where = f"[contains(concat(' ', @class, ' '), ' {css_class} ')]" if css_class else ""
    found: list[html.HtmlElement] = element.xpath(f".//{tag}{where}")
    return found


def _text(element: html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _titles(page: html.HtmlElement) -> list[str]:
    return [_text(td.xpath("./a")[0]) for td in _all(page, "td", "title-cell")]


async def test_a_long_board_column_shows_its_newest_cards_and_a_link_to_more(
    http: httpx.AsyncClient, engine: Engine, now: datetime
) -> None:
    for n in range(30):
        at = now - timedelta(minutes=n)
        deal = _store(engine, f"found-{n}", f"Saxophone Colossus LP copy {n}", 0.5, at)
        with engine.begin() as conn:
            deals.create_found(conn, deal, at)

    page = _page(await http.get("/board"))
    column = page.get_element_by_id("column-found")
    cards = _all(column, "article", "deal-card")
    assert len(cards) == BOARD_CARDS
    assert cards[0].get("data-item") == "found-0"  # the most recent first
    assert _text(_all(column, "span", "count")[0]) == "30"
    assert f"{BOARD_CARDS} of 30" in _text(_all(column, "p", "more")[0])
    more = _all(column, "a", "more-link")[0].get("href")
    assert more == f"/board?found={2 * BOARD_CARDS}#column-found"
    sold = page.get_element_by_id("column-sold")
    assert not _all(sold, "a", "more-link")  # an empty column has no link

    shown = BOARD_CARDS
    while more is not None:  # each link shows BOARD_CARDS more, until all 30 are there
        page = _page(await http.get(more.split("#")[0]))
        column = page.get_element_by_id("column-found")
        shown = min(shown + BOARD_CARDS, 30)
        assert len(_all(column, "article", "deal-card")) == shown
        links = _all(column, "a", "more-link")
        more = links[0].get("href") if links else None
    assert shown == 30


async def test_the_board_ignores_a_column_size_that_is_not_a_number(
    http: httpx.AsyncClient, engine: Engine, now: datetime
) -> None:
    for n in range(BOARD_CARDS + 1):
        deal = _store(engine, f"f-{n}", f"Colossus {n}", 0.5, now - timedelta(minutes=n))
        with engine.begin() as conn:
            deals.create_found(conn, deal, now)
    for query in ("found=lots", "found=-5", "found=99999999999", "found=0"):
        page = _page(await http.get(f"/board?{query}"))
        column = page.get_element_by_id("column-found")
        assert len(_all(column, "article")) == BOARD_CARDS, query


async def test_deals_below_their_searchs_threshold_are_left_out_unless_asked_for(
    http: httpx.AsyncClient, engine: Engine, now: datetime
) -> None:
    with engine.begin() as conn:
        searches.add_search(conn, query="colossus", now=now)  # default threshold 25 %
        searches.add_search(conn, query="rollins", now=now, min_deal_score=0.10)
    _store(engine, "big", "Saxophone Colossus first press", 0.45, now)
    _store(engine, "noise", "Saxophone Colossus reissue", 0.03, now - timedelta(minutes=1))
    # 15 %: below the colossus search's 25 %, but the rollins search alerts from 10 %.
    _store(engine, "rollins", "Sonny Rollins Saxophone Colossus", 0.15, now - timedelta(minutes=2))

    page = _page(await http.get("/"))
    assert _titles(page) == ["Saxophone Colossus first press", "Sonny Rollins Saxophone Colossus"]
    note = _text(_all(page, "p", "below-note")[0])
    assert "1 scored listing below its search's threshold is not listed" in note
    scores = [_text(b) for b in page.xpath("//table//td/strong")]
    assert scores == ["45%", "15%"]
    thresholds = [_text(d) for d in page.xpath("//td[strong]/div")]
    assert "≥ 10%" in thresholds  # the rollins listing shows the threshold it reached

    below = _all(page, "p", "below-note")[0].xpath(".//a")[0].get("href")
    assert below == "/?show=below"
    page = _page(await http.get(below))
    assert _titles(page) == ["Saxophone Colossus reissue"]
    assert "below 25%" in _text(_all(page, "tr", "row-below")[0])

    page = _page(await http.get("/?show=all"))
    assert len(_titles(page)) == 3


async def test_a_listing_no_search_claims_is_held_to_the_default_threshold(
    http: httpx.AsyncClient, engine: Engine, now: datetime
) -> None:
    _store(engine, "webhook-1", "Some record handed in by a scraper", 0.2, now)
    page = _page(await http.get("/"))
    assert _titles(page) == []
    assert "matches these filters" not in page.text_content()  # nothing was filtered by hand
    page = _page(await http.get("/?show=below"))
    assert _titles(page) == ["Some record handed in by a scraper"]


async def test_many_deals_are_paged_newest_first(
    http: httpx.AsyncClient, engine: Engine, now: datetime
) -> None:
    total = DEALS_PER_PAGE + 7
    for n in range(total):
        _store(engine, f"d-{n}", f"Colossus copy {n:03d}", 0.5, now - timedelta(minutes=n))
    page = _page(await http.get("/?priority=high"))
    titles = _titles(page)
    assert len(titles) == DEALS_PER_PAGE
    assert titles[0] == "Colossus copy 000"
    pager = _all(page, "nav", "pager")[0]
    assert f"1–{DEALS_PER_PAGE} of {total}" in _text(pager)
    older = pager.xpath(".//a[@rel='next']")[0].get("href")
    assert re.fullmatch(r"/\?priority=high&page=2", older)  # the filters are kept

    page = _page(await http.get(older))
    assert _titles(page) == [f"Colossus copy {n:03d}" for n in range(DEALS_PER_PAGE, total)]
    pager = _all(page, "nav", "pager")[0]
    assert pager.xpath(".//a[@rel='prev']")[0].get("href") == "/?priority=high"
    assert not pager.xpath(".//a[@rel='next']")
