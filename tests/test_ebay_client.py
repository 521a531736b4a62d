"""The eBay client against the fake eBay (and a few hand-made peers for broken networks)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from vinyl_detective.domain.models import BuyingOption
from vinyl_detective.errors import (
    AuthError,
    BudgetExhaustedError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)
from vinyl_detective.fakes.ebay import FakeEbay, make_item
from vinyl_detective.sources.ebay import CDS, RECORDS, EbayClient
from vinyl_detective.sources.ebay_parse import affiliate_link

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
BASE = "https://api.ebay.test"


class CountingBudget:
    """An in-memory daily budget: `limit` calls, then BudgetExhaustedError."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    async def acquire(self) -> None:
        if self.used >= self.limit:
            raise BudgetExhaustedError("ebay", NOW + timedelta(hours=11))
        self.used += 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def records() -> list[dict[str, Any]]:
    return [
        make_item(
            1,
            "Art Blakey Moanin' LP Blue Note BLP 4003 Mono VG+",
            "45.00",
            listed_at=NOW,
            feedback_pct="99.6",
            feedback_score=2412,
            country="GB",
        ),
        make_item(
            2,
            "Miles Davis Kind of Blue LP 1959 six-eye",
            "30.00",
            auction=True,
            current_bid="12.50",
            ends_at=NOW + timedelta(days=2),
            listed_at=NOW - timedelta(minutes=10),
        ),
        make_item(
            3,
            "Bill Evans Sunday at the Village Vanguard LP",
            "25.00",
            listed_at=NOW - timedelta(minutes=20),
            shipping=None,
        ),
        make_item(
            4,
            "Thelonious Monk Brilliant Corners LP",
            "35.00",
            listed_at=NOW - timedelta(minutes=30),
            shipping="0.00",
        ),
        make_item(
            5,
            "Miles Davis Kind of Blue CD",
            "6.00",
            category_id=CDS,
            listed_at=NOW - timedelta(minutes=40),
        ),
    ]


@pytest.fixture
def fake() -> FakeEbay:
    return FakeEbay(records(), clock=lambda: NOW)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make_client(
    fake: FakeEbay, clock: Clock, sleeps: Sleeps
) -> AsyncIterator[Callable[..., EbayClient]]:
    opened: list[httpx.AsyncClient] = []

    def build(**kwargs: Any) -> EbayClient:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app))
        opened.append(http)
        options: dict[str, Any] = {
            "base_url": BASE,
            "http": http,
            "sleep": sleeps,
            "clock": clock,
        }
        options.update(kwargs)
        app_id = options.pop("app_id", "demo-app-id")
        cert_id = options.pop("cert_id", "demo-cert-id")
        return EbayClient(app_id, cert_id, **options)

    yield build
    for http in opened:
        await http.aclose()


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> EbayClient:
    """A client whose peer is `handler`; the token endpoint always grants a token."""

    def peer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 7200})
        return handler(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(peer))
    options: dict[str, Any] = {"base_url": BASE, "http": http, "sleep": Sleeps()}
    options.update(kwargs)
    return EbayClient("app", "cert", **options)


def search_body(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "href": f"{BASE}/x",
        "total": len(items),
        "limit": 50,
        "offset": 0,
        "itemSummaries": items,
        **extra,
    }


# --- the application token --------------------------------------------------------------


async def test_token_is_fetched_once_and_reused(
    make_client: Callable[..., EbayClient], fake: FakeEbay
) -> None:
    async with make_client() as ebay:
        await ebay.search(q="blue note")
        await ebay.search(q="kind of blue")
        await ebay.get_item("v1|286000000001|0")
    assert fake.token_requests == 1
    assert fake.calls == 3


async def test_concurrent_searches_share_one_token(
    make_client: Callable[..., EbayClient], fake: FakeEbay
) -> None:
    async with make_client() as ebay:
        await asyncio.gather(*(ebay.search(q="lp") for _ in range(5)))
    assert fake.token_requests == 1


async def test_token_is_renewed_two_minutes_before_it_expires(
    make_client: Callable[..., EbayClient], fake: FakeEbay, clock: Clock
) -> None:
    async with make_client() as ebay:
        await ebay.search(q="lp")
        clock.now += 7200 - 125
        await ebay.search(q="lp")
        assert fake.token_requests == 1
        clock.now += 10
        await ebay.search(q="lp")
        assert fake.token_requests == 2


async def test_a_rejected_token_is_replaced_once_and_the_call_retried(
    make_client: Callable[..., EbayClient], fake: FakeEbay
) -> None:
    async with make_client() as ebay:
        await ebay.search(q="lp")
        fake.expire_tokens()
        page = await ebay.search(q="moanin")
    assert [lst.item_id for lst in page.listings] == ["v1|286000000001|0"]
    assert fake.token_requests == 2


async def test_concurrent_calls_that_see_a_rejected_token_renew_it_once(
    make_client: Callable[..., EbayClient], fake: FakeEbay
) -> None:
    async with make_client() as ebay:
        await ebay.search(q="lp")
        fake.expire_tokens()
        pages = await asyncio.gather(*(ebay.search(q="lp") for _ in range(4)))
    assert all(len(page.listings) == 4 for page in pages)
    assert fake.token_requests == 2


async def test_a_second_401_in_a_row_is_an_auth_error(
    make_client: Callable[..., EbayClient], fake: FakeEbay
) -> None:
    fake.fail_next(401, times=2)
    async with make_client() as ebay:
        with pytest.raises(AuthError, match="EBAY_APP_ID"):
            await ebay.search(q="lp")
    assert fake.calls == 2


async def test_bad_credentials_say_which_settings_to_check_without_the_secret(
    make_client: Callable[..., EbayClient], fake: FakeEbay
) -> None:
    async with make_client(cert_id="SBX-s3cr3t-cert-value") as ebay:
        with pytest.raises(AuthError) as caught:
            await ebay.search(q="lp")
    message = str(caught.value)
    assert "EBAY_APP_ID" in message
    assert "EBAY_CERT_ID" in message
    assert "s3cr3t" not in message
    assert fake.calls == 0


# --- search -----------------------------------------------------------------------------


async def test_auctions_are_included_and_priced_at_the_current_bid(
    make_client: Callable[..., EbayClient],
) -> None:
    async with make_client() as ebay:
        page = await ebay.search(q="kind of blue", category_id=RECORDS)
    (auction,) = page.listings
    assert auction.buying_option is BuyingOption.AUCTION
    assert auction.price == Decimal("12.50")
    assert auction.ends_at == NOW + timedelta(days=2)


async def test_fixed_price_only_when_asked(make_client: Callable[..., EbayClient]) -> None:
    async with make_client() as ebay:
        page = await ebay.search(q="kind of blue", buying_options=["FIXED_PRICE"])
    assert [lst.format_hint for lst in page.listings] == ["CD"]


async def test_a_listing_carries_what_a_deal_card_needs(
    make_client: Callable[..., EbayClient], fake: FakeEbay
) -> None:
    async with make_client(marketplace="EBAY_GB") as ebay:
        page = await ebay.search(q="moanin")
    (listing,) = page.listings
    assert listing.title == "Art Blakey Moanin' LP Blue Note BLP 4003 Mono VG+"
    assert (listing.price, listing.currency, listing.shipping) == (
        Decimal("45.00"),
        "USD",
        Decimal("4.99"),
    )
    assert listing.total == Decimal("49.99")
    assert (listing.seller_username, listing.seller_feedback_pct) == ("crate_digger_88", 99.6)
    assert listing.seller_feedback_score == 2412
    assert (listing.country, listing.category_id, listing.format_hint) == ("GB", RECORDS, "Vinyl")
    assert listing.listed_at == NOW
    assert listing.url == "https://www.ebay.com/itm/286000000001"
    assert listing.affiliate_url is None
    assert listing.marketplace == "EBAY_GB"
    assert fake.requests[-1].headers["x-ebay-c-marketplace-id"] == "EBAY_GB"


async def test_newest_listings_come_first(make_client: Callable[..., EbayClient]) -> None:
    async with make_client() as ebay:
        page = await ebay.search(category_id=RECORDS)
    stamps = [lst.listed_at for lst in page.listings]
    assert stamps == sorted(stamps, reverse=True)  # type: ignore[type-var]
    assert len(stamps) == 4


async def test_shipping_unknown_is_not_free(make_client: Callable[..., EbayClient]) -> None:
    async with make_client() as ebay:
        calculated = (await ebay.search(q="vanguard")).listings[0]
        free = (await ebay.search(q="brilliant corners")).listings[0]
    assert calculated.shipping is None
    assert not calculated.shipping_known
    assert free.shipping == Decimal("0.00")
    assert free.shipping_known


async def test_paging_follows_has_next_until_the_last_page(
    make_client: Callable[..., EbayClient],
) -> None:
    seen: list[str] = []
    async with make_client() as ebay:
        offset = 0
        while True:
            page = await ebay.search(q="lp", limit=2, offset=offset)
            seen += [lst.item_id for lst in page.listings]
            if not page.has_next:
                break
            offset += page.limit
    assert len(seen) == len(set(seen)) == 4


async def test_price_ceiling_and_listed_after_reach_ebay_as_filters(
    make_client: Callable[..., EbayClient], fake: FakeEbay
) -> None:
    async with make_client(marketplace="EBAY_US") as ebay:
        page = await ebay.search(
            category_id=RECORDS,
            price_max=Decimal("40"),
            listed_after=NOW - timedelta(minutes=25),
        )
    assert [lst.item_id for lst in page.listings] == ["v1|286000000002|0", "v1|286000000003|0"]
    sent = fake.requests[-1].params["filter"]
    assert "buyingOptions:{FIXED_PRICE|AUCTION}" in sent
    assert "price:[..40],priceCurrency:USD" in sent
    assert "itemStartDate:[2026-11-22T19:35:00.000Z..]" in sent


@pytest.mark.parametrize(("limit", "offset"), [(2, 3), (200, 9900), (0, 0), (201, 0), (50, -50)])
async def test_pages_ebay_would_refuse_are_refused_before_spending_a_call(
    make_client: Callable[..., EbayClient], fake: FakeEbay, limit: int, offset: int
) -> None:
    async with make_client() as ebay:
        with pytest.raises(ValueError, match=r"limit|offset"):
            await ebay.search(q="lp", limit=limit, offset=offset)
    assert fake.calls == 0


async def test_a_search_needs_keywords_or_a_category(
    make_client: Callable[..., EbayClient],
) -> None:
    async with make_client() as ebay:
        with pytest.raises(ValueError, match="category_id"):
            await ebay.search(q="  ")


async def test_last_allowed_window_is_accepted(make_client: Callable[..., EbayClient]) -> None:
    async with make_client() as ebay:
        page = await ebay.search(q="lp", limit=200, offset=9800)
    assert page.listings == []
    assert not page.has_next


async def test_malformed_items_are_skipped_and_counted(
    make_client: Callable[..., EbayClient], fake: FakeEbay
) -> None:
    no_price = make_item(10, "No price LP", "1.00", listed_at=NOW)
    del no_price["price"]
    bad_price = make_item(11, "Bad price LP", "1.00", listed_at=NOW)
    bad_price["price"] = {"value": "call me", "currency": "USD"}
    no_title = make_item(12, "", "1.00", listed_at=NOW)
    fake.add_items([no_price, bad_price, no_title])
    async with make_client() as ebay:
        page = await ebay.search(category_id=RECORDS)
    assert page.skipped == 3
    assert len(page.listings) == 4


async def test_an_empty_result_is_an_empty_page(make_client: Callable[..., EbayClient]) -> None:
    async with make_client() as ebay:
        page = await ebay.search(q="no such record anywhere")
    assert (page.listings, page.total, page.has_next, page.skipped) == ([], 0, False, 0)


@pytest.mark.parametrize("body", [b"[]", b'{"itemSummaries": {"oops": 1}}'])
async def test_json_that_is_not_ebays_shape_is_a_permanent_error(body: bytes) -> None:
    ebay = mock_client(lambda request: httpx.Response(200, content=body))
    async with ebay:
        with pytest.raises(PermanentError):
            await ebay.search(q="lp")


async def test_a_body_that_is_not_json_is_retried_as_a_glitch() -> None:
    answers = iter([b"<html>Service Unavailable</html>", b'{"total": 0', b'{"total": 0}'])
    ebay = mock_client(lambda request: httpx.Response(200, content=next(answers)))
    async with ebay:
        page = await ebay.search(q="lp")
    assert page.total == 0


async def test_a_body_that_stays_non_json_is_retryable_not_permanent() -> None:
    ebay = mock_client(lambda request: httpx.Response(200, content=b"<html>maintenance"))
    async with ebay:
        with pytest.raises(RetryableError, match="not JSON"):
            await ebay.search(q="lp")


# --- failures, retries, budget ----------------------------------------------------------


async def test_429_is_rate_limited_with_the_peers_retry_after(
    make_client: Callable[..., EbayClient], fake: FakeEbay, sleeps: Sleeps
) -> None:
    fake.fail_next(429, retry_after=30)
    async with make_client() as ebay:
        with pytest.raises(RateLimitedError) as caught:
            await ebay.search(q="lp")
    assert caught.value.retry_after == 30
    assert "Too many requests" in str(caught.value)
    assert fake.calls == 1
    assert sleeps.seconds == []


async def test_a_429_asking_for_a_moment_is_waited_out_once(
    make_client: Callable[..., EbayClient], fake: FakeEbay, sleeps: Sleeps
) -> None:
    fake.fail_next(429, retry_after=2)
    async with make_client() as ebay:
        page = await ebay.search(q="lp")
    assert page.listings
    assert (fake.calls, sleeps.seconds) == (2, [2.0])

    fake.fail_next(429, retry_after=2, times=2)  # asked again: the scheduler decides
    async with make_client() as ebay:
        with pytest.raises(RateLimitedError) as caught:
            await ebay.search(q="lp")
    assert caught.value.retry_after == 2


async def test_the_daily_limit_surfaces_as_rate_limited() -> None:
    limited = FakeEbay(records(), daily_limit=1, clock=lambda: NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=limited.app)) as http:
        ebay = EbayClient("demo-app-id", "demo-cert-id", base_url=BASE, http=http)
        await ebay.search(q="lp")
        with pytest.raises(RateLimitedError):
            await ebay.search(q="lp")


async def test_server_errors_are_retried_with_growing_backoff(
    make_client: Callable[..., EbayClient], fake: FakeEbay, sleeps: Sleeps
) -> None:
    fake.fail_next(503, times=2)
    async with make_client() as ebay:
        page = await ebay.search(q="moanin")
    assert len(page.listings) == 1
    assert fake.calls == 3
    assert len(sleeps.seconds) == 2
    assert 0 < sleeps.seconds[0] <= sleeps.seconds[1]


async def test_persistent_server_errors_give_up_as_retryable(
    make_client: Callable[..., EbayClient], fake: FakeEbay, sleeps: Sleeps
) -> None:
    fake.fail_next(500, times=10)
    async with make_client(max_retries=3) as ebay:
        with pytest.raises(RetryableError) as caught:
            await ebay.search(q="lp")
    assert not isinstance(caught.value, RateLimitedError)
    assert fake.calls == 4
    assert len(sleeps.seconds) == 3


async def test_timeouts_are_retried() -> None:
    attempts: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.path)
        if len(attempts) < 3:
            raise httpx.ReadTimeout("slow", request=request)
        item = make_item(1, "Moanin' LP", "45.00", listed_at=NOW)
        return httpx.Response(200, json=search_body([item]))

    async with mock_client(flaky) as ebay:
        page = await ebay.search(q="moanin")
    assert len(attempts) == 3
    assert page.listings[0].title == "Moanin' LP"


async def test_a_peer_that_never_answers_gives_up_as_retryable() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    sleeps = Sleeps()
    async with mock_client(down, sleep=sleeps, max_retries=2) as ebay:
        with pytest.raises(RetryableError, match="3 attempts"):
            await ebay.search(q="lp")
    assert len(sleeps.seconds) == 2


async def test_other_client_errors_carry_ebays_message() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        error = {
            "errorId": 12002,
            "domain": "API_BROWSE",
            "category": "REQUEST",
            "message": "The 'filter' value is invalid.",
        }
        return httpx.Response(400, json={"errors": [error]})

    async with mock_client(refuse) as ebay:
        with pytest.raises(PermanentError, match="'filter' value is invalid") as caught:
            await ebay.search(q="lp")
    assert caught.value.status == 400


async def test_every_attempt_spends_budget_and_an_empty_budget_stops_calls(
    make_client: Callable[..., EbayClient], fake: FakeEbay
) -> None:
    fake.fail_next(503, times=10)
    budget = CountingBudget(limit=3)
    async with make_client(budget=budget) as ebay:
        with pytest.raises(BudgetExhaustedError):
            await ebay.search(q="lp")
        with pytest.raises(BudgetExhaustedError):
            await ebay.get_item("v1|286000000001|0")
    assert budget.used == 3
    assert fake.calls == 3


async def test_the_retry_after_a_rejected_token_spends_budget_too(
    make_client: Callable[..., EbayClient], fake: FakeEbay
) -> None:
    budget = CountingBudget(limit=2)
    async with make_client(budget=budget) as ebay:
        await ebay.search(q="lp")
        fake.expire_tokens()
        with pytest.raises(BudgetExhaustedError):
            await ebay.search(q="lp")
    assert fake.calls == 2
    assert fake.token_requests == 2


# --- affiliate links --------------------------------------------------------------------


async def test_campaign_id_asks_ebay_for_affiliate_links(
    make_client: Callable[..., EbayClient], fake: FakeEbay
) -> None:
    async with make_client(campaign_id="5338000000") as ebay:
        listing = (await ebay.search(q="moanin")).listings[0]
    assert fake.requests[-1].headers["x-ebay-c-enduserctx"] == "affiliateCampaignId=5338000000"
    assert listing.affiliate_url is not None
    assert "campid=5338000000" in listing.affiliate_url
    assert "toolid=10049" in listing.affiliate_url  # eBay's own link, not ours


async def test_affiliate_link_is_built_when_ebay_sends_none() -> None:
    item = make_item(1, "Moanin' LP", "45.00", listed_at=NOW)
    ebay = mock_client(
        lambda request: httpx.Response(200, json=search_body([item])),
        campaign_id="5338000000",
        marketplace="EBAY_DE",
    )
    async with ebay:
        listing = (await ebay.search(q="moanin")).listings[0]
    assert listing.affiliate_url is not None
    query = parse_qs(urlsplit(listing.affiliate_url).query)
    assert query["campid"] == ["5338000000"]
    assert query["mkrid"] == ["707-53477-19255-0"]
    assert (query["mkevt"], query["mkcid"], query["toolid"]) == (["1"], ["1"], ["10001"])


def test_affiliate_link_keeps_the_listing_url_and_adds_epn_parameters() -> None:
    link = affiliate_link("https://www.ebay.co.uk/itm/123?hash=item1", "EBAY_GB", "99", "vd-1")
    parts = urlsplit(link)
    assert parts.netloc == "www.ebay.co.uk"
    assert parts.path == "/itm/123"
    query = parse_qs(parts.query)
    assert query["hash"] == ["item1"]
    assert query["mkrid"] == ["710-53481-19255-0"]
    assert query["campid"] == ["99"]
    assert query["customid"] == ["vd-1"]


def test_affiliate_link_refuses_a_marketplace_without_rotation_id() -> None:
    with pytest.raises(ValueError, match="EBAY_JP"):
        affiliate_link("https://www.ebay.com/itm/1", "EBAY_JP", "99")


# --- item detail ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("aspects", "gtin", "catalog_no", "barcode"),
    [
        ({"Catalog Number": "BLP 4003"}, None, "BLP 4003", None),
        ({"Catalogue Number": "BLP-4003"}, None, "BLP-4003", None),
        ({"Cat. No.": "BLP 4003"}, None, "BLP 4003", None),
        ({"UPC": "077774651616"}, None, None, "0077774651616"),
        ({"EAN": "5099902987316"}, None, None, "5099902987316"),
        ({"UPC/EAN": "0 77774-65161 6"}, None, None, "0077774651616"),
        ({"Barcode": "077774651616"}, None, None, "0077774651616"),
        ({}, "077774651616", None, "0077774651616"),
        ({"Catalog Number": "Does not apply", "UPC": "Does not apply"}, None, None, None),
    ],
)
async def test_item_specifics_give_catalog_number_and_barcode(
    make_client: Callable[..., EbayClient],
    fake: FakeEbay,
    aspects: dict[str, str],
    gtin: str | None,
    catalog_no: str | None,
    barcode: str | None,
) -> None:
    item = make_item(20, "Moanin' LP", "45.00", listed_at=NOW, aspects=aspects)
    if gtin is not None:
        item["gtin"] = gtin
    fake.add_items([item])
    async with make_client() as ebay:
        listing = await ebay.get_item("v1|286000000020|0")
    assert (listing.catalog_no, listing.barcode) == (catalog_no, barcode)


async def test_item_id_pipes_are_url_encoded() -> None:
    paths: list[bytes] = []

    def peer(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path)
        return httpx.Response(200, json=make_item(1, "Moanin' LP", "45.00", listed_at=NOW))

    async with mock_client(peer) as ebay:
        await ebay.get_item("v1|286000000001|0")
    assert paths == [b"/buy/browse/v1/item/v1%7C286000000001%7C0"]


async def test_a_listing_that_is_gone_is_not_found(
    make_client: Callable[..., EbayClient],
) -> None:
    async with make_client() as ebay:
        with pytest.raises(NotFoundError):
            await ebay.get_item("v1|111|0")


async def test_an_item_body_without_a_price_is_a_permanent_error() -> None:
    item = make_item(1, "Moanin' LP", "45.00", listed_at=NOW)
    del item["price"]
    async with mock_client(lambda request: httpx.Response(200, content=json.dumps(item))) as ebay:
        with pytest.raises(PermanentError, match="malformed"):
            await ebay.get_item("v1|286000000001|0")
