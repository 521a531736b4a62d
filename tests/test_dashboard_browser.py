"""The web dashboard in a real headless Chromium, as its user sees it.

The app is served by uvicorn on 127.0.0.1 over a real SQLite database; Chromium (Debian's,
driven by Playwright: tests/browser.py) signs in through the login form, reads the pages,
follows links and submits the board's forms, on a desktop screen, on a phone and in the
system's dark mode. Screenshots land in test-artifacts/ for a human look. Without
/usr/bin/chromium the test is skipped, except in CI (CI set), where that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route
from sqlalchemy.engine import Engine
from tests.browser import PHONE, chromium, chromium_available, colours, follow, shot, submit

from vinyl_detective.api.app import create_app
from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.lifecycle import Actor, DealState
from vinyl_detective.domain.models import Listing, Match, MatchMethod, PriceGuide, Release
from vinyl_detective.domain.scoring import score_deal
from vinyl_detective.fakes.server import LoopbackServer
from vinyl_detective.storage import catalog, deals, job_runs, listings, searches
from vinyl_detective.storage.db import open_database

if not chromium_available():
    if os.environ.get("CI"):
        pytest.fail(
            "the dashboard browser test needs Chromium in CI: apt-get install -y chromium",
            pytrace=False,
        )
    pytest.skip("/usr/bin/chromium is not installed", allow_module_level=True)

TOKEN = "dashboard-test-token-5f2c"
NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
BLUE_TRAIN = 7001
KIND_OF_BLUE = 7002
HOSTILE_TITLE = '<script>document.title="pwned"</script><img src=x onerror="alert(1)"> Blue Train'


@dataclass(frozen=True)
class Site:
    url: str
    engine: Engine


def _listing(item_id: str, title: str, price: str, condition: str, catno: str) -> Listing:
    return Listing(
        item_id=item_id,
        title=title,
        price=Decimal(price),
        currency="USD",
        shipping=Decimal("5.00"),
        condition=condition,
        seller_username="crate_digger",
        seller_feedback_pct=99.7,
        seller_feedback_score=800,
        url=f"https://www.ebay.com/itm/{item_id}",
        catalog_no=catno,
    )


# How each seeded deal got to its state: (target, figures recorded on the way).
PATHS: dict[str, list[tuple[DealState, dict[str, Decimal]]]] = {
    "FOUND": [],
    "MESSAGING": [(DealState.MESSAGING, {})],
    "PURCHASED": [(DealState.PURCHASED, {"purchase_price": Decimal("61.00")})],
    "SOLD": [
        (DealState.PURCHASED, {"purchase_price": Decimal("28.00")}),
        (DealState.RECEIVED, {}),
        (DealState.LISTED, {}),
        (DealState.SOLD, {"sale_price": Decimal("74.00"), "fees": Decimal("9.10")}),
    ],
}


def _seed(engine: Engine) -> None:
    """Two priced releases, listings seen over a week, deals at every stage, jobs, searches."""
    releases = [
        Release(
            id=BLUE_TRAIN,
            artist="John Coltrane",
            title="Blue Train",
            labels=("Blue Note",),
            catalog_nos=("BLP 1577",),
            format="Vinyl",
            format_descriptions=("LP", "Album", "Mono"),
            country="US",
            year=1958,
        ),
        Release(
            id=KIND_OF_BLUE,
            artist="Miles Davis",
            title="Kind Of Blue",
            labels=("Columbia",),
            catalog_nos=("CL 1355",),
            format="Vinyl",
            year=1959,
        ),
    ]
    guides = {
        BLUE_TRAIN: PriceGuide(
            "USD",
            {"NM": Decimal("110"), "VG+": Decimal("80"), "VG": Decimal("45")},
            lowest=Decimal("52"),
            num_for_sale=14,
            updated_at=NOW,
        ),
        KIND_OF_BLUE: PriceGuide(
            "USD", {"VG+": Decimal("60")}, lowest=Decimal("40"), updated_at=NOW
        ),
    }
    seen = [  # item id, title, price, condition, release, catalog no., days ago, tracked as
        ("bt-1", "John Coltrane Blue Train LP BLP 1577", "30.00", "VG+", BLUE_TRAIN, 6, "FOUND"),
        ("bt-2", "COLTRANE blue train blue note mono", "42.00", "VG+", BLUE_TRAIN, 4, "MESSAGING"),
        ("bt-3", "Blue Train 1958 Blue Note", "58.00", "NM", BLUE_TRAIN, 3, "PURCHASED"),
        ("bt-4", "Coltrane - Blue Train (BLP 1577)", "25.00", "VG", BLUE_TRAIN, 2, "SOLD"),
        ("bt-5", HOSTILE_TITLE, "33.00", "VG+", BLUE_TRAIN, 1, None),
        (
            "kob-1",
            "Miles Davis Kind of Blue CL 1355 six eye",
            "22.00",
            "VG+",
            KIND_OF_BLUE,
            1,
            "FOUND",
        ),
        ("kob-2", "Kind Of Blue Columbia LP", "38.00", "VG+", KIND_OF_BLUE, 0, None),
    ]
    with engine.begin() as conn:
        catalog.upsert_releases(conn, releases, NOW)
        for release_id, guide in guides.items():
            catalog.set_prices(conn, release_id, guide, NOW)
        priced = {r.id: catalog.get_release(conn, r.id) for r in releases}
        for item_id, title, price, condition, release_id, days, state in seen:
            catno = priced[release_id].catalog_nos[0]  # type: ignore[union-attr]
            listing = _listing(item_id, title, price, condition, catno)
            at = NOW - timedelta(days=days, hours=item_id.count("-") * 3)
            listings.insert_new(conn, listing, search_id=None, now=at)
            match = Match(release_id, MatchMethod.CATALOG_NO, 1.0)
            release = priced[release_id]
            assert release is not None
            deal = score_deal(listing, release, match, rates=ExchangeRates(), now=at)
            assert deal is not None, item_id
            listings.record_outcome(conn, item_id, match=match, deal=deal, now=at)
            if state is None:
                continue
            deals.create_found(conn, deal, at)
            for step, (target, figures) in enumerate(PATHS[state]):
                deals.transition(
                    conn,
                    item_id,
                    target,
                    at + timedelta(hours=step + 1),
                    Actor.CLI,
                    purchase_price=figures.get("purchase_price"),
                    sale_price=figures.get("sale_price"),
                    fees=figures.get("fees"),
                )
        for job, job_target, minutes, error in [
            ("poll", "search:1", 3, None),
            ("refresh", None, 40, None),
            ("poll", "search:2", 65, "ebay: 503 Service Unavailable (will retry)"),
            ("cleanup", None, 300, None),
        ]:
            run = job_runs.start_job(conn, job, job_target, NOW - timedelta(minutes=minutes))
            job_runs.finish_job(
                conn,
                run,
                NOW - timedelta(minutes=minutes - 1),
                fetched=50,
                inserted=7,
                skipped=43,
                error=error,
            )
        searches.add_search(
            conn,
            query="blue note mono",
            name="Blue Note monos",
            rule='price < 60 AND condition >= "VG+"',
            now=NOW,
        )
        broken = searches.add_search(conn, query="coltrane", rule="price <", now=NOW)
        searches.disable_search(conn, broken.id, "rule does not parse: expected a value at 8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db = tmp_path_factory.mktemp("dashboard") / "vd.db"
    engine = open_database(f"sqlite:///{db}")
    _seed(engine)
    started: list[int] = []

    async def trigger(search_id: int) -> str:
        started.append(search_id)
        return f"poll search={search_id}"

    app = create_app(engine=engine, admin_token=TOKEN, trigger_search=trigger, clock=lambda: NOW)
    with LoopbackServer(app) as url:
        yield Site(url, engine)
    engine.dispose()


@pytest.fixture(scope="module")
def chrome() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def _signed_in(chrome: Browser, site: Site, **options: object) -> BrowserContext:
    """A new browser profile (`options`: viewport, color_scheme, ...) that has signed in
    through the login form."""
    context = chrome.new_context(**options)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{site.url}/login")
    page.fill("#token", TOKEN)
    submit(page, "form[action='/login']")
    page.close()
    return context


@pytest.fixture(scope="module")
def browser(chrome: Browser, site: Site) -> Iterator[Page]:
    context = _signed_in(chrome, site, viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def fresh(chrome: Browser) -> Iterator[Page]:
    """A browser that has not signed in."""
    context = chrome.new_context()
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def card_state(page: Page, item_id: str) -> str | None:
    state = page.evaluate(
        '(item) => document.querySelector(`[data-item="${item}"]`)'
        "?.closest('section')?.getAttribute('aria-label') ?? null",
        item_id,
    )
    return None if state is None else str(state)


def rows(page: Page) -> int:
    return page.locator("table.deals tbody tr").count()


def test_a_visitor_is_asked_to_sign_in_and_then_sees_the_page_asked_for(
    site: Site, fresh: Page
) -> None:
    fresh.goto(f"{site.url}/board")
    assert "/login" in fresh.url
    assert "Sign in" in fresh.inner_text("h1")
    fresh.fill("#token", "not-the-token")
    submit(fresh, "form[action='/login']")
    assert "not the admin token" in fresh.inner_text(".alert")
    shot(fresh, "dashboard-login-refused")
    fresh.fill("#token", TOKEN)
    submit(fresh, "form[action='/login']")
    assert fresh.url == f"{site.url}/board"
    assert fresh.inner_text("h1") == "Deal board"


def test_the_deals_page_lists_scored_listings_with_priorities(site: Site, browser: Page) -> None:
    browser.goto(f"{site.url}/")
    assert browser.inner_text("h1") == "Current deals"
    assert rows(browser) == 7
    assert browser.locator(".badge-high").count() >= 1
    assert "Blue Train" in browser.inner_text("table.deals")
    shot(browser, "dashboard-deals")

    browser.goto(f"{site.url}/?q=kind+of+blue")
    assert rows(browser) == 2
    browser.goto(f"{site.url}/?priority=high&min_score=0.4")
    assert rows(browser) == browser.locator("table.deals tbody .badge-high").count() > 0


def test_tracking_a_deal_puts_it_on_the_board(site: Site, browser: Page) -> None:
    browser.goto(f"{site.url}/?q=columbia")
    submit(browser, "form[action='/deals/kob-2/track']")
    assert browser.url.startswith(f"{site.url}/board")
    assert card_state(browser, "kob-2") == "FOUND"
    browser.goto(f"{site.url}/?q=columbia")
    assert browser.inner_text("table.deals .state-pill") == "FOUND"


def test_a_listing_title_is_shown_as_text_never_run(site: Site, browser: Page) -> None:
    browser.goto(f"{site.url}/?q=script")
    assert rows(browser) == 1
    assert '<script>document.title="pwned"</script>' in browser.inner_text("table.deals")
    assert browser.title() != "pwned"
    assert browser.locator("main script, main img[src='x']").count() == 0


def test_the_release_page_draws_listing_prices_against_the_discogs_reference(
    site: Site, browser: Page
) -> None:
    browser.goto(f"{site.url}/?q=BLP+1577")
    follow(browser, "a[href='/releases/7001']")
    assert browser.url == f"{site.url}/releases/{BLUE_TRAIN}"
    assert browser.inner_text("h1") == "John Coltrane – Blue Train"
    assert browser.locator("svg.chart circle.dot").count() == 5  # every Blue Train listing
    labels = browser.locator("svg.chart .ref-label").all_text_contents()
    assert labels == ["NM 110.00", "VG+ 80.00", "lowest 52.00", "VG 45.00"]
    assert "80.00 USD" in browser.inner_text("table.compact")
    shot(browser, "dashboard-release")


def test_a_card_moves_when_its_transition_form_is_submitted(site: Site, browser: Page) -> None:
    browser.goto(f"{site.url}/board")
    assert card_state(browser, "kob-1") == "FOUND"
    shot(browser, "dashboard-board-before")
    form = "form[action='/board/kob-1/transition'].move-purchased"
    browser.fill(f"{form} input[name='purchase_price']", "24.50")
    submit(browser, form)
    assert browser.url.startswith(f"{site.url}/board")
    assert card_state(browser, "kob-1") == "PURCHASED"
    assert "24.50 USD" in browser.inner_text("[data-item='kob-1']")
    shot(browser, "dashboard-board-after")
    with site.engine.connect() as conn:
        last = deals.history(conn, "kob-1")[-1]
    assert (last.to_state, last.actor, last.purchase_price) == (
        DealState.PURCHASED,
        "api",
        Decimal("24.50"),
    )


def test_a_purchase_without_a_price_is_stopped_by_the_form(site: Site, browser: Page) -> None:
    browser.goto(f"{site.url}/board")
    form = "form[action='/board/bt-1/transition'].move-purchased"
    browser.locator(f"{form} [type=submit]").click()  # the price field is required
    assert browser.evaluate("document.querySelector('input:invalid')?.name") == "purchase_price"
    assert card_state(browser, "bt-1") == "FOUND"


def test_a_move_made_through_the_api_shows_on_the_board_after_a_reload(
    site: Site, browser: Page
) -> None:
    browser.goto(f"{site.url}/board")
    assert card_state(browser, "bt-2") == "MESSAGING"
    response = httpx.post(
        f"{site.url}/admin/listings/bt-2/transition",
        json={"to": "NEGOTIATING", "reason": "offer sent"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200
    browser.reload()
    assert card_state(browser, "bt-2") == "NEGOTIATING"


def test_a_stale_board_refuses_a_move_the_lifecycle_no_longer_allows(
    site: Site, browser: Page
) -> None:
    browser.goto(f"{site.url}/board")
    assert card_state(browser, "bt-1") == "FOUND"
    with site.engine.begin() as conn:  # meanwhile, the bot cancels it
        deals.transition(conn, "bt-1", DealState.CANCELLED, NOW, Actor.BOT)
    submit(browser, "form[action='/board/bt-1/transition'].move-messaging")
    assert "cannot go from CANCELLED to MESSAGING" in browser.inner_text(".alert.error")
    assert card_state(browser, "bt-1") == "CANCELLED"
    shot(browser, "dashboard-board-refused")


def test_the_board_totals_the_profit_of_sold_deals(site: Site, browser: Page) -> None:
    browser.goto(f"{site.url}/board")
    assert "profit 36.90 USD" in browser.inner_text(".totals")  # 74.00 - 28.00 - 9.10


def test_job_runs_and_saved_searches_are_listed(site: Site, browser: Page) -> None:
    browser.goto(f"{site.url}/jobs")
    assert browser.locator("tbody tr").count() == 4
    assert "503 Service Unavailable" in browser.inner_text("tbody")
    shot(browser, "dashboard-jobs")
    browser.goto(f"{site.url}/searches")
    assert "Blue Note monos" in browser.inner_text("tbody")
    assert "rule does not parse" in browser.inner_text("tbody")
    submit(browser, "form[action='/searches/1/run']")
    assert "Search #1 started." in browser.inner_text(".alert.ok")
    shot(browser, "dashboard-searches")


PAGES = ("/", "/board", "/jobs", "/searches", f"/releases/{BLUE_TRAIN}")


def test_every_page_fits_a_phone_and_the_board_stacks_its_columns(
    chrome: Browser, site: Site
) -> None:
    context = _signed_in(chrome, site, **PHONE)
    page = context.new_page()
    try:
        for path in PAGES:
            page.goto(f"{site.url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
            for link in page.locator(".top nav a").all():  # the menu is all on screen
                box = link.bounding_box()
                assert box is not None
                assert box["x"] >= 0
                assert box["x"] + box["width"] <= 390, path
        page.goto(f"{site.url}/board")
        widths = page.locator(".board-open .column").evaluate_all(
            "columns => columns.map(c => c.getBoundingClientRect().width)"
        )
        assert min(widths) > 300  # one column a row, not six squeezed side by side
        shot(page, "dashboard-phone-board")
        page.goto(f"{site.url}/")
        # The deals table scrolls inside its frame; the page itself does not.
        assert page.evaluate("document.querySelector('.table-wrap').scrollWidth") > 390
        shot(page, "dashboard-phone-deals")
    finally:
        context.close()


def test_in_the_systems_dark_mode_pages_are_dark_and_readable(chrome: Browser, site: Site) -> None:
    light = _signed_in(chrome, site, color_scheme="light").new_page()
    light.goto(f"{site.url}/board")
    assert colours(light, "main")["background"] > 0.8  # light paper by default
    light.context.close()

    context = _signed_in(chrome, site, color_scheme="dark")
    page = context.new_page()
    try:
        for path in PAGES:
            page.goto(f"{site.url}{path}")
            main = colours(page, "main h1")
            assert main["background"] < 0.05, path  # dark paper
            assert main["contrast"] >= 7, path
            for selector in ("main a", "main .muted, main .small", "main input, main select"):
                if page.locator(selector).count():
                    found = colours(page, selector)
                    assert found["contrast"] >= 4.5, (path, selector, found)
        page.goto(f"{site.url}/board")
        card = colours(page, "article.deal-card h3 a")
        assert card["background"] < 0.05  # a card is not a white box on dark paper
        assert card["contrast"] >= 4.5
        shot(page, "dashboard-dark-board")
        page.goto(f"{site.url}/")
        shot(page, "dashboard-dark-deals")
    finally:
        context.close()


def test_the_api_docs_render_with_no_internet(site: Site, fresh: Page) -> None:
    """/docs in a browser that may reach this server only: Swagger UI still renders."""
    refused: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(site.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    fresh.route("**/*", only_this_server)
    fresh.goto(f"{site.url}/docs")
    fresh.wait_for_selector(".opblock")
    assert "Vinyl Detective" in fresh.inner_text(".info .title")
    paths = fresh.locator(".opblock-summary-path").all_text_contents()
    assert "/admin/listings/{item_id}/transition" in [p.replace("\u200b", "") for p in paths]
    assert refused == []
    shot(fresh, "dashboard-api-docs", full_page=False)


def test_signing_out_ends_the_session(site: Site, fresh: Page) -> None:
    fresh.goto(f"{site.url}/login?next=/jobs")
    fresh.fill("#token", TOKEN)
    submit(fresh, "form[action='/login']")
    assert fresh.url == f"{site.url}/jobs"
    submit(fresh, "form.signout")
    fresh.goto(f"{site.url}/jobs")
    assert "/login" in fresh.url
