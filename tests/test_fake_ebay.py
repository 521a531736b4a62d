"""The fake eBay behaves like eBay: same paths, same traps, same error bodies."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vinyl_detective.domain.query import query_matches
from vinyl_detective.fakes.ebay import FakeEbay, make_item
from vinyl_detective.sources.ebay import CDS, RECORDS

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
SEARCH = "/buy/browse/v1/item_summary/search"
BOTH = "buyingOptions:{FIXED_PRICE|AUCTION}"


def catalogue() -> list[dict[str, Any]]:
    return [
        make_item(1, "Art Blakey Moanin' LP Blue Note BLP 4003", "45.00", listed_at=NOW),
        make_item(
            2,
            "John Coltrane Blue Train LP Blue Note 1577",
            "120.00",
            listed_at=NOW - timedelta(hours=1),
        ),
        make_item(
            3,
            "Miles Davis Kind of Blue vinyl bootleg",
            "9.00",
            listed_at=NOW - timedelta(hours=2),
        ),
        make_item(
            4,
            "Miles Davis Kind of Blue LP auction",
            "20.00",
            auction=True,
            current_bid="25.00",
            listed_at=NOW - timedelta(minutes=30),
        ),
        make_item(
            5,
            "Miles Davis Kind of Blue CD",
            "6.00",
            category_id=CDS,
            listed_at=NOW - timedelta(hours=3),
            upc="074646593527",
            catalog_no="CK 64935",
        ),
    ]


@pytest.fixture
def fake() -> FakeEbay:
    return FakeEbay(catalogue(), clock=lambda: NOW, daily_limit=50)


@pytest.fixture
async def http(fake: FakeEbay) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fake.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://api.ebay.test") as c:
        yield c


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def token_for(http: httpx.AsyncClient) -> str:
    response = await http.post(
        "/identity/v1/oauth2/token",
        headers={"Authorization": basic("demo-app-id", "demo-cert-id")},
        data={
            "grant_type": "client_credentials",
            "scope": "https://api.ebay.com/oauth/api_scope",
        },
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


async def search(http: httpx.AsyncClient, **params: str) -> httpx.Response:
    token = await token_for(http)
    return await http.get(SEARCH, params=params, headers={"Authorization": f"Bearer {token}"})


def titles(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [i["title"] for i in response.json().get("itemSummaries", [])]


async def test_token_endpoint_grants_an_application_token(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/identity/v1/oauth2/token",
        headers={"Authorization": basic("demo-app-id", "demo-cert-id")},
        data={"grant_type": "client_credentials", "scope": "https://api.ebay.com/oauth/api_scope"},
    )
    body = response.json()
    assert body["expires_in"] == 7200
    assert body["token_type"] == "Application Access Token"


async def test_wrong_credentials_get_invalid_client(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/identity/v1/oauth2/token",
        headers={"Authorization": basic("demo-app-id", "wrong")},
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "client authentication failed",
    }


async def test_other_grant_types_are_refused(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/identity/v1/oauth2/token",
        headers={"Authorization": basic("demo-app-id", "demo-cert-id")},
        data={"grant_type": "authorization_code"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_search_without_a_token_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.get(SEARCH, params={"q": "blue"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["errorId"] == 1002


async def test_expired_tokens_get_ebays_invalid_token_error(
    http: httpx.AsyncClient, fake: FakeEbay
) -> None:
    token = await token_for(http)
    fake.expire_tokens()
    response = await http.get(
        SEARCH, params={"q": "blue"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["errorId"] == 1001
    assert error["domain"] == "OAuth"
    assert set(error) >= {"errorId", "domain", "category", "message", "longMessage"}


async def test_tokens_stop_working_after_their_lifetime() -> None:
    now = [NOW]
    fake = FakeEbay(catalogue(), token_ttl=60, clock=lambda: now[0])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url="https://api.ebay.test"
    ) as http:
        token = await token_for(http)
        headers = {"Authorization": f"Bearer {token}"}
        assert (await http.get(SEARCH, params={"q": "blue"}, headers=headers)).status_code == 200
        now[0] += timedelta(seconds=61)
        assert (await http.get(SEARCH, params={"q": "blue"}, headers=headers)).status_code == 401


async def test_search_without_buying_options_filter_hides_auctions(
    http: httpx.AsyncClient,
) -> None:
    plain = titles(await search(http, q="kind of blue"))
    both = titles(await search(http, q="kind of blue", filter=BOTH))
    assert "Miles Davis Kind of Blue LP auction" not in plain
    assert "Miles Davis Kind of Blue LP auction" in both


async def test_keywords_are_anded_case_insensitively(http: httpx.AsyncClient) -> None:
    assert titles(await search(http, q="BLUE NOTE moanin")) == [
        "Art Blakey Moanin' LP Blue Note BLP 4003"
    ]


async def test_minus_word_excludes_and_parentheses_mean_either(http: httpx.AsyncClient) -> None:
    found = titles(await search(http, q="kind of blue -bootleg", filter=BOTH))
    assert "Miles Davis Kind of Blue vinyl bootleg" not in found
    assert len(found) == 2
    either = titles(await search(http, q="(moanin,train) blue"))
    assert sorted(either) == [
        "Art Blakey Moanin' LP Blue Note BLP 4003",
        "John Coltrane Blue Train LP Blue Note 1577",
    ]


async def test_only_the_first_category_id_is_honoured(http: httpx.AsyncClient) -> None:
    cds_first = titles(await search(http, category_ids=f"{CDS},{RECORDS}"))
    assert cds_first == ["Miles Davis Kind of Blue CD"]


async def test_category_alone_is_a_valid_search(http: httpx.AsyncClient) -> None:
    assert len(titles(await search(http, category_ids=RECORDS, filter=BOTH))) == 4


async def test_a_search_needs_keywords_or_a_category(http: httpx.AsyncClient) -> None:
    response = await search(http, limit="10")
    assert response.status_code == 400
    assert response.json()["errors"][0]["errorId"] == 12001


async def test_newly_listed_sorts_newest_first(http: httpx.AsyncClient) -> None:
    response = await search(http, category_ids=RECORDS, filter=BOTH, sort="newlyListed")
    assert titles(response) == [
        "Art Blakey Moanin' LP Blue Note BLP 4003",
        "Miles Davis Kind of Blue LP auction",
        "John Coltrane Blue Train LP Blue Note 1577",
        "Miles Davis Kind of Blue vinyl bootleg",
    ]


async def test_price_sort_counts_the_current_bid_and_shipping(http: httpx.AsyncClient) -> None:
    cheapest_first = titles(await search(http, category_ids=RECORDS, filter=BOTH, sort="price"))
    assert cheapest_first[:2] == [
        "Miles Davis Kind of Blue vinyl bootleg",
        "Miles Davis Kind of Blue LP auction",
    ]
    dearest_first = titles(await search(http, category_ids=RECORDS, filter=BOTH, sort="-price"))
    assert dearest_first[0] == "John Coltrane Blue Train LP Blue Note 1577"


async def test_price_filter_needs_a_currency(http: httpx.AsyncClient) -> None:
    with_currency = await search(
        http, category_ids=RECORDS, filter="price:[..30],priceCurrency:USD"
    )
    assert titles(with_currency) == ["Miles Davis Kind of Blue vinyl bootleg"]
    without = await search(http, category_ids=RECORDS, filter="price:[..30]")
    assert len(titles(without)) == 3
    assert without.json()["warnings"][0]["errorId"] == 12012


async def test_item_start_date_window(http: httpx.AsyncClient) -> None:
    response = await search(
        http,
        category_ids=RECORDS,
        filter=f"{BOTH},itemStartDate:[2026-11-22T19:15:00.000Z..]",
    )
    assert titles(response) == [
        "Art Blakey Moanin' LP Blue Note BLP 4003",
        "Miles Davis Kind of Blue LP auction",
    ]


async def test_condition_ids_filter(http: httpx.AsyncClient) -> None:
    assert titles(await search(http, category_ids=RECORDS, filter="conditionIds:{1000}")) == []


@pytest.mark.parametrize("limit", ["0", "201", "many"])
async def test_limit_outside_1_to_200_is_an_error(http: httpx.AsyncClient, limit: str) -> None:
    response = await search(http, q="blue", limit=limit)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["errorId"] == 12006
    assert error["parameters"] == [{"name": "limit", "value": limit}]


async def test_offset_must_be_a_multiple_of_limit(http: httpx.AsyncClient) -> None:
    response = await search(http, q="blue", limit="2", offset="3")
    assert response.status_code == 400
    assert response.json()["errors"][0]["errorId"] == 12005


async def test_results_stop_at_ten_thousand(http: httpx.AsyncClient) -> None:
    response = await search(http, q="blue", limit="200", offset="9900")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["errorId"] == 12029
    assert {"name": "offset", "value": "9900"} in error["parameters"]


async def test_paging_offers_next_only_while_more_remain(http: httpx.AsyncClient) -> None:
    first = (await search(http, category_ids=RECORDS, filter=BOTH, limit="3")).json()
    assert first["total"] == 4
    assert len(first["itemSummaries"]) == 3
    assert "offset=3" in first["next"]
    last = (await search(http, category_ids=RECORDS, filter=BOTH, limit="3", offset="3")).json()
    assert len(last["itemSummaries"]) == 1
    assert "next" not in last


async def test_default_limit_is_50(http: httpx.AsyncClient) -> None:
    assert (await search(http, q="blue")).json()["limit"] == 50


async def test_an_empty_result_has_no_item_summaries_key(http: httpx.AsyncClient) -> None:
    body = (await search(http, q="nothing matches this")).json()
    assert body["total"] == 0
    assert "itemSummaries" not in body


async def test_summaries_are_summaries_and_money_is_text(http: httpx.AsyncClient) -> None:
    body = (await search(http, q="kind of blue cd")).json()
    summary = body["itemSummaries"][0]
    assert summary["price"] == {"value": "6.00", "currency": "USD"}
    assert "localizedAspects" not in summary
    assert "gtin" not in summary
    assert "itemAffiliateWebUrl" not in summary


async def test_affiliate_url_only_for_a_campaign(http: httpx.AsyncClient) -> None:
    token = await token_for(http)
    response = await http.get(
        SEARCH,
        params={"q": "moanin"},
        headers={
            "Authorization": f"Bearer {token}",
            "X-EBAY-C-MARKETPLACE-ID": "EBAY_US",
            "X-EBAY-C-ENDUSERCTX": "affiliateCampaignId=5338000000,affiliateReferenceId=vd",
        },
    )
    url = response.json()["itemSummaries"][0]["itemAffiliateWebUrl"]
    assert url.startswith("https://www.ebay.com/itm/286000000001?")
    assert "campid=5338000000" in url
    assert "mkrid=711-53200-19255-0" in url
    assert "customid=vd" in url


async def test_item_detail_carries_gtin_and_aspects(http: httpx.AsyncClient) -> None:
    token = await token_for(http)
    response = await http.get(
        "/buy/browse/v1/item/v1%7C286000000005%7C0", headers={"Authorization": f"Bearer {token}"}
    )
    item = response.json()
    assert item["gtin"] == "074646593527"
    assert {"type": "STRING", "name": "Catalog Number", "value": "CK 64935"} in item[
        "localizedAspects"
    ]


async def test_a_missing_item_is_a_404_with_ebays_error_body(
    http: httpx.AsyncClient, fake: FakeEbay
) -> None:
    fake.remove_item("v1|286000000001|0")
    token = await token_for(http)
    response = await http.get(
        "/buy/browse/v1/item/v1%7C286000000001%7C0", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 404
    assert response.json()["errors"][0]["errorId"] == 11001


async def test_new_items_appear_in_the_next_search(http: httpx.AsyncClient, fake: FakeEbay) -> None:
    fake.add_items([make_item(9, "Sonny Clark Cool Struttin' LP", "300.00", listed_at=NOW)])
    assert titles(await search(http, q="cool struttin")) == ["Sonny Clark Cool Struttin' LP"]


async def test_daily_limit_answers_429_too_many_requests(http: httpx.AsyncClient) -> None:
    fake = FakeEbay(catalogue(), daily_limit=2, clock=lambda: NOW)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url="https://api.ebay.test"
    ) as client:
        token = await token_for(client)
        headers = {"Authorization": f"Bearer {token}"}
        statuses = [
            (await client.get(SEARCH, params={"q": "blue"}, headers=headers)).status_code
            for _ in range(3)
        ]
        refused = await client.get(SEARCH, params={"q": "blue"}, headers=headers)
    assert statuses == [200, 200, 429]
    error = refused.json()["errors"][0]
    assert (error["errorId"], error["message"]) == (2001, "Too many requests.")
    assert fake.calls == 4
    assert fake.token_requests == 1


async def test_the_quota_resets_at_seven_utc() -> None:
    now = [datetime(2026, 11, 22, 6, 59, tzinfo=UTC)]
    fake = FakeEbay(catalogue(), daily_limit=1, clock=lambda: now[0])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url="https://api.ebay.test"
    ) as client:
        token = await token_for(client)
        headers = {"Authorization": f"Bearer {token}"}
        assert (await client.get(SEARCH, params={"q": "x"}, headers=headers)).status_code == 200
        assert (await client.get(SEARCH, params={"q": "x"}, headers=headers)).status_code == 429
        now[0] = datetime(2026, 11, 22, 7, 1, tzinfo=UTC)
        assert (await client.get(SEARCH, params={"q": "x"}, headers=headers)).status_code == 200


async def test_injected_failures_come_first_then_service_resumes(
    http: httpx.AsyncClient, fake: FakeEbay
) -> None:
    fake.fail_next(503, times=2)
    fake.fail_next(429, path_contains="/item/", retry_after=30)
    token = await token_for(http)
    headers = {"Authorization": f"Bearer {token}"}
    first = await http.get(SEARCH, params={"q": "blue"}, headers=headers)
    second = await http.get(SEARCH, params={"q": "blue"}, headers=headers)
    third = await http.get(SEARCH, params={"q": "blue"}, headers=headers)
    item = await http.get("/buy/browse/v1/item/v1%7C286000000001%7C0", headers=headers)
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.json()["errors"][0]["errorId"] == 2003
    assert item.status_code == 429
    assert item.headers["Retry-After"] == "30"


async def test_rate_limit_resource_reports_the_quota(
    http: httpx.AsyncClient, fake: FakeEbay
) -> None:
    await search(http, q="blue")
    token = await token_for(http)
    response = await http.get(
        "/developer/analytics/v1_beta/rate_limit/", headers={"Authorization": f"Bearer {token}"}
    )
    rate = response.json()["rateLimits"][0]["resources"][0]["rates"][0]
    assert (rate["count"], rate["limit"], rate["remaining"]) == (1, 50, 49)
    assert rate["reset"] == "2026-11-23T07:00:00.000Z"


# --- result sets kept up to date as listings come and go ---------------------------------


async def test_listings_added_between_searches_appear_newest_first(
    http: httpx.AsyncClient, fake: FakeEbay
) -> None:
    assert titles(await search(http, q="(train,moanin) blue", sort="newlyListed")) == [
        "Art Blakey Moanin' LP Blue Note BLP 4003",
        "John Coltrane Blue Train LP Blue Note 1577",
    ]
    fake.add_items(
        [
            make_item(10, "Blue Train mono LP", "80.00", listed_at=NOW + timedelta(minutes=5)),
            make_item(11, "Blue Moanin' reissue", "15.00", listed_at=NOW - timedelta(minutes=90)),
            make_item(
                12, "Blue Train", "15.00", listed_at=NOW + timedelta(minutes=1), auction=True
            ),
            make_item(13, "Red Train LP", "15.00", listed_at=NOW + timedelta(minutes=2)),
        ]
    )
    response = await search(http, q="(train,moanin) blue", sort="newlyListed")
    assert titles(response) == [
        "Blue Train mono LP",
        "Art Blakey Moanin' LP Blue Note BLP 4003",
        "John Coltrane Blue Train LP Blue Note 1577",
        "Blue Moanin' reissue",
    ]
    assert response.json()["total"] == 4


async def test_exclusions_only_and_categories_see_new_listings_too(
    http: httpx.AsyncClient, fake: FakeEbay
) -> None:
    before = await search(http, category_ids=RECORDS, filter=BOTH, sort="newlyListed")
    assert before.json()["total"] == 4
    fake.add_items(
        [
            make_item(20, "Sun Ra Lanquidity LP", "60.00", listed_at=NOW + timedelta(minutes=1)),
            make_item(21, "Sun Ra CD", "9.00", category_id=CDS, listed_at=NOW),
        ]
    )
    after = await search(http, category_ids=RECORDS, filter=BOTH, sort="newlyListed")
    assert titles(after)[0] == "Sun Ra Lanquidity LP"
    assert after.json()["total"] == 5
    found = titles(await search(http, q="-blue", filter=BOTH, sort="newlyListed"))
    assert found == ["Sun Ra Lanquidity LP", "Sun Ra CD"]


async def test_a_replaced_listing_is_searched_by_its_new_title(
    http: httpx.AsyncClient, fake: FakeEbay
) -> None:
    assert titles(await search(http, q="moanin")) == ["Art Blakey Moanin' LP Blue Note BLP 4003"]
    fake.add_items([make_item(1, "Art Blakey Mosaic LP Blue Note", "45.00", listed_at=NOW)])
    assert titles(await search(http, q="moanin")) == []
    assert titles(await search(http, q="mosaic")) == ["Art Blakey Mosaic LP Blue Note"]
    best_match = titles(await search(http, q="blue note"))
    assert best_match[0] == "Art Blakey Mosaic LP Blue Note"  # keeps its place


async def test_a_removed_listing_leaves_searches_already_made(
    http: httpx.AsyncClient, fake: FakeEbay
) -> None:
    assert len(titles(await search(http, q="blue note"))) == 2
    fake.remove_item("v1|286000000001|0")
    assert titles(await search(http, q="blue note")) == [
        "John Coltrane Blue Train LP Blue Note 1577"
    ]


async def test_item_by_legacy_id_finds_the_current_listing(
    http: httpx.AsyncClient, fake: FakeEbay
) -> None:
    fake.add_items([make_item(2, "John Coltrane Blue Train mono", "99.00", listed_at=NOW)])
    token = await token_for(http)
    response = await http.get(
        "/buy/browse/v1/item/get_item_by_legacy_id",
        params={"legacy_item_id": "286000000002"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json()["title"] == "John Coltrane Blue Train mono"
    fake.remove_item("v1|286000000002|0")
    gone = await http.get(
        "/buy/browse/v1/item/get_item_by_legacy_id",
        params={"legacy_item_id": "286000000002"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert gone.status_code == 404


WORDS = ["blue", "note", "train", "moanin", "kind", "of", "lp", "mono", "sun-ra", "o'day"]


@settings(max_examples=40, deadline=None)
@given(
    batches=st.lists(
        st.lists(
            st.tuples(
                st.lists(st.sampled_from(WORDS), min_size=1, max_size=5), st.integers(-99, 99)
            ),
            max_size=6,
        ),
        min_size=1,
        max_size=4,
    ),
    query=st.lists(
        st.sampled_from([*WORDS, "-blue", "-lp", "(train,mono)", '"blue note"', "(kind,sun)"]),
        min_size=1,
        max_size=3,
    ),
)
async def test_searches_answer_what_a_full_scan_would(
    batches: list[list[tuple[list[str], int]]], query: list[str]
) -> None:
    fake = FakeEbay(clock=lambda: NOW)
    q = " ".join(query)
    added: list[tuple[str, datetime, int]] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url="https://api.ebay.test"
    ) as client:
        token = await token_for(client)
        for batch in batches:
            items = []
            for words, minutes in batch:
                n = len(added)
                listed = NOW + timedelta(minutes=minutes)
                items.append(make_item(n, " ".join(words), "5.00", listed_at=listed))
                added.append((" ".join(words), listed, n))
            fake.add_items(items)
            response = await client.get(
                SEARCH,
                params={"q": q, "sort": "newlyListed", "limit": "200"},
                headers={"Authorization": f"Bearer {token}"},
            )
            expected = sorted(
                (a for a in added if query_matches(q, a[0])),
                key=lambda a: (-a[1].timestamp(), a[2]),
            )
            assert titles(response) == [title for title, _, _ in expected]
