"""The admin API and the ingest webhook, over a real SQLite database.

Requests go through httpx's ASGI transport into the real app; listings sent to the
webhook run through the real deal pipeline, priced by the fake Discogs server.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vinyl_detective.api.app import create_app
from vinyl_detective.api.ingest_schemas import IngestResult
from vinyl_detective.domain.currency import ExchangeRates
from vinyl_detective.domain.lifecycle import Actor
from vinyl_detective.domain.models import Deal, Listing, Release
from vinyl_detective.fakes.discogs import FakeDiscogs
from vinyl_detective.jobs.pipeline import DealPipeline, Route
from vinyl_detective.notify.dispatch import AlertDispatcher
from vinyl_detective.sources.discogs import DiscogsClient
from vinyl_detective.sources.ratelimit import HeaderRateLimiter
from vinyl_detective.storage import catalog, deals, searches
from vinyl_detective.storage.outbox import events_for

TOKEN = "correct-horse-battery-staple"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BLUE_TRAIN = 7001
DISCOGS_TOKEN = "discogs-test-token"
USER_AGENT = "VinylDetectiveTests/1.0 +https://example.org/tests"


def blue_train_release() -> dict[str, Any]:
    """An invented release in the shape of Discogs' GET /releases/{id}."""
    return {
        "id": BLUE_TRAIN,
        "title": "Blue Train",
        "artists": [{"name": "John Coltrane", "join": ""}],
        "labels": [{"name": "Blue Note", "catno": "BLP 1577"}],
        "formats": [{"name": "Vinyl", "qty": "1", "descriptions": ["LP", "Album"]}],
        "year": 1958,
        "country": "US",
    }


SUGGESTIONS = {
    "Near Mint (NM or M-)": {"currency": "USD", "value": 110.0},
    "Very Good Plus (VG+)": {"currency": "USD", "value": 80.0},
    "Very Good (VG)": {"currency": "USD", "value": 45.0},
}


class RecordingChannel:
    """A recipient that keeps what it was sent (stands in for a Telegram chat)."""

    recipient = "test:collector"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, deal: Deal) -> None:
        self.sent.append(deal.listing.item_id)


def webhook_listing(item_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "item_id": item_id,
        "title": "John Coltrane Blue Train LP Blue Note BLP 1577",
        "price": {"value": "30.00", "currency": "USD"},
        "shipping": "5.00",
        "condition": "Very Good Plus (VG+)",
        "catalog_no": "BLP 1577",
        "url": f"https://www.ebay.com/itm/{item_id}",
        "seller": {"username": "crate_digger", "feedback_pct": 99.8, "feedback_score": 1200},
        "source": "scraper-x",
    }
    body.update(overrides)
    return body


@pytest.fixture
def seeded(engine: Engine, now: datetime) -> Engine:
    with engine.begin() as conn:
        catalog.upsert_releases(
            conn,
            [
                Release(
                    id=BLUE_TRAIN,
                    artist="John Coltrane",
                    title="Blue Train",
                    labels=("Blue Note",),
                    catalog_nos=("BLP 1577",),
                    format="Vinyl",
                    year=1958,
                )
            ],
            now,
        )
    return engine


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
async def pipeline(
    seeded: Engine, now: datetime, channel: RecordingChannel
) -> AsyncIterator[DealPipeline]:
    fake = FakeDiscogs(
        [blue_train_release()], price_suggestions={BLUE_TRAIN: SUGGESTIONS}, token=DISCOGS_TOKEN
    )

    elapsed = [0.0]  # the rate limiter's clock: waiting is instant and moves it on

    async def sleep(seconds: float) -> None:
        elapsed[0] += seconds

    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app))
    discogs = DiscogsClient(
        DISCOGS_TOKEN,
        base_url="https://api.discogs.test",
        user_agent=USER_AGENT,
        http=http,
        limiter=HeaderRateLimiter(clock=lambda: elapsed[0], sleep=sleep),
        sleep=sleep,
    )
    yield DealPipeline(
        engine=seeded,
        prices=discogs,
        items=None,
        dispatcher=AlertDispatcher(seeded, lambda: now),
        channels_for=lambda search: [channel],
        rates=ExchangeRates(),
        clock=lambda: now,
    )
    await http.aclose()


Ingest = Callable[[list[Listing]], Awaitable[IngestResult]]


@pytest.fixture
def ingest(pipeline: DealPipeline) -> Ingest:
    async def run(found: list[Listing]) -> IngestResult:
        counts = await pipeline.process(found, [Route(None, None)], check_keywords=False)
        return IngestResult.from_counts(counts)

    return run


@pytest.fixture
def triggered() -> list[int]:
    return []


@pytest.fixture
async def client(
    seeded: Engine, now: datetime, ingest: Ingest, triggered: list[int]
) -> AsyncIterator[httpx.AsyncClient]:
    async def trigger(search_id: int) -> str:
        triggered.append(search_id)
        return f"poll search={search_id}"

    app = create_app(
        engine=seeded,
        admin_token=TOKEN,
        ingest=ingest,
        trigger_search=trigger,
        publisher_status=lambda: {"publisher": "log", "healthy": True, "delivered": 3},
        clock=lambda: now,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://vd.test", headers=AUTH
    ) as http:
        yield http


async def track_via_webhook(client: httpx.AsyncClient, engine: Engine, item_id: str) -> None:
    """Ingest a Blue Train listing, then start tracking it (as the bot's Track button does)."""
    response = await client.post("/webhooks/listings", json=[webhook_listing(item_id)])
    assert response.status_code == 200, response.text
    with engine.begin() as conn:
        deals.create_found_from_listing(
            conn, item_id, datetime.fromisoformat("2026-11-22T20:00:00+00:00"), Actor.BOT
        )


# -- authentication -------------------------------------------------------------------


async def test_admin_routes_refuse_a_request_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/listings", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["detail"]


async def test_admin_routes_refuse_a_wrong_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/listings", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 403
    assert "ADMIN_TOKEN" in response.json()["detail"]


async def test_webhook_needs_the_token_too(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/webhooks/listings", json=[webhook_listing("1")], headers={"Authorization": "Basic x"}
    )
    assert response.status_code == 401


async def test_without_an_admin_token_configured_admin_routes_say_to_set_it(
    seeded: Engine,
) -> None:
    app = create_app(engine=seeded, admin_token=None)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://vd.test", headers=AUTH
    ) as http:
        listed = await http.get("/admin/listings")
        hooked = await http.post("/webhooks/listings", json=[webhook_listing("1")])
        health = await http.get("/health")
    assert listed.status_code == 503
    assert "set ADMIN_TOKEN" in listed.json()["detail"]
    assert hooked.status_code == 503
    assert health.status_code == 200


# -- health ---------------------------------------------------------------------------


async def test_health_reports_the_database_and_the_event_publisher(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/health", headers={"Authorization": ""})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["events"] == {"publisher": "log", "healthy": True, "delivered": 3}


async def test_health_is_degraded_while_events_fail_to_deliver(seeded: Engine) -> None:
    app = create_app(
        engine=seeded,
        admin_token=TOKEN,
        publisher_status=lambda: {"publisher": "webhook", "healthy": False, "last_error": "503"},
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://vd.test"
    ) as http:
        response = await http.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"


async def test_health_answers_503_when_the_database_is_unreachable(tmp_path: Any) -> None:
    missing = tmp_path / "no-such-dir" / "vd.db"
    engine = sa.create_engine(f"sqlite:///{missing}")
    app = create_app(engine=engine, admin_token=TOKEN)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://vd.test"
    ) as http:
        response = await http.get("/health")
    engine.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] == "unreachable"


# -- the ingest webhook ---------------------------------------------------------------


async def test_webhook_listings_go_through_the_pipeline_and_are_stored(
    client: httpx.AsyncClient, seeded: Engine, channel: RecordingChannel
) -> None:
    cheap = webhook_listing("111")
    unknown = webhook_listing(
        "222", title="Some obscure private press", catalog_no=None, price="12.00", currency="USD"
    )
    response = await client.post("/webhooks/listings", json={"listings": [cheap, unknown]})
    assert response.status_code == 200, response.text
    counts = response.json()
    assert counts["received"] == 2
    assert counts["new"] == 2
    assert counts["matched"] == 1
    assert counts["deals"] == 1
    assert counts["alerted"] == 1
    assert channel.sent == ["111"]

    with seeded.connect() as conn:
        rows = {
            r.item_id: r
            for r in conn.execute(
                sa.text("SELECT item_id, source, match_release_id, priority FROM listings")
            )
        }
    assert rows["111"].source == "scraper-x"
    assert rows["111"].match_release_id == BLUE_TRAIN
    assert rows["111"].priority == "high"  # 35 total against 80 for VG+
    assert rows["222"].match_release_id is None


async def test_sending_the_same_listings_twice_alerts_only_once(
    client: httpx.AsyncClient, channel: RecordingChannel
) -> None:
    first = await client.post("/webhooks/listings", json=[webhook_listing("111")])
    second = await client.post("/webhooks/listings", json=[webhook_listing("111")])
    assert first.json()["new"] == 1
    assert second.json() | {"errors": []} == {
        "received": 1,
        "new": 0,
        "matched": 0,
        "deals": 0,
        "alerted": 0,
        "skipped": 1,
        "price_drops": 0,
        "errors": [],
    }
    assert channel.sent == ["111"]


async def test_webhook_accepts_a_price_with_a_separate_currency_and_flat_seller_fields(
    client: httpx.AsyncClient,
) -> None:
    listing = webhook_listing("333", price=29.5, currency="usd", shipping=None)
    del listing["seller"]
    listing |= {"seller_username": "flat_seller", "seller_feedback_pct": 100}
    response = await client.post("/webhooks/listings", json=[listing])
    assert response.status_code == 200, response.text
    assert response.json()["deals"] == 1


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        ({"price": {"currency": "USD"}}, "listings.1.price"),
        ({"price": "-3.00"}, "listings.1.price"),
        ({"price": "12.345"}, "listings.1.price"),
        ({"price": "12.00", "currency": None}, "listings.1.currency"),
        ({"price": "12.00", "currency": "dollars"}, "listings.1.currency"),
        ({"url": "javascript:alert(1)"}, "listings.1.url"),
        ({"item_id": ""}, "listings.1.item_id"),
        ({"listed_at": "2026-11-22T10:00:00"}, "listings.1.listed_at"),
        ({"buying_option": "RAFFLE"}, "listings.1.buying_option"),
        ({"seller_feedback_score": 10**20}, "listings.1.seller_feedback_score"),
    ],
)
async def test_a_bad_listing_is_refused_with_the_path_of_its_field(
    client: httpx.AsyncClient, broken: dict[str, Any], field: str
) -> None:
    body = {"listings": [webhook_listing("1"), webhook_listing("2") | broken]}
    response = await client.post("/webhooks/listings", json=body)
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert field in fields
    assert field in response.json()["detail"]


async def test_a_bad_listing_in_a_bare_list_is_named_the_same_way(
    client: httpx.AsyncClient,
) -> None:
    body = [webhook_listing("1"), webhook_listing("2"), webhook_listing("3", title="")]
    response = await client.post("/webhooks/listings", json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["listings.2.title"]


async def test_nothing_is_stored_when_one_listing_of_a_batch_is_bad(
    client: httpx.AsyncClient, seeded: Engine
) -> None:
    body = [webhook_listing("1"), webhook_listing("2", price="free")]
    assert (await client.post("/webhooks/listings", json=body)).status_code == 422
    with seeded.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM listings")).scalar_one() == 0


async def test_shipping_in_another_currency_than_the_price_is_refused(
    client: httpx.AsyncClient,
) -> None:
    listing = webhook_listing("1", shipping={"value": "5.00", "currency": "EUR"})
    response = await client.post("/webhooks/listings", json=[listing])
    assert response.status_code == 422
    assert "shipping is in EUR" in response.json()["detail"]


async def test_a_price_whose_currency_contradicts_the_currency_field_is_refused(
    client: httpx.AsyncClient,
) -> None:
    listing = webhook_listing("1", currency="EUR")  # the price object says USD
    response = await client.post("/webhooks/listings", json=[listing])
    assert response.status_code == 422
    assert "price is in USD but currency says EUR" in response.json()["detail"]


async def test_an_empty_batch_and_a_non_json_body_are_refused(client: httpx.AsyncClient) -> None:
    empty = await client.post("/webhooks/listings", json=[])
    garbage = await client.post(
        "/webhooks/listings", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "listings"
    assert garbage.status_code == 422


# -- tracked deals --------------------------------------------------------------------


async def test_listing_deals_filters_by_state_and_pages(
    client: httpx.AsyncClient, seeded: Engine
) -> None:
    for item_id in ("a1", "a2", "a3"):
        await track_via_webhook(client, seeded, item_id)
    await client.post("/admin/listings/a2/transition", json={"to": "MESSAGING"})

    everything = (await client.get("/admin/listings")).json()
    assert everything["total"] == 3
    found = (await client.get("/admin/listings", params={"state": "FOUND"})).json()
    assert sorted(d["item_id"] for d in found["listings"]) == ["a1", "a3"]
    assert found["total"] == 2
    page = (await client.get("/admin/listings", params={"limit": 1, "offset": 1})).json()
    assert len(page["listings"]) == 1
    assert page["limit"] == 1
    assert page["offset"] == 1


async def test_an_unknown_state_filter_names_the_allowed_states(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/admin/listings", params={"state": "LOST"})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "state"
    for state in ("FOUND", "MESSAGING", "PURCHASED", "SOLD", "CANCELLED"):
        assert state in error["message"]


@pytest.mark.parametrize("limit", [0, 201, -1, "ten"])
async def test_limit_must_be_between_1_and_200(client: httpx.AsyncClient, limit: int | str) -> None:
    response = await client.get("/admin/listings", params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


async def test_one_deal_comes_with_its_listing_and_release(
    client: httpx.AsyncClient, seeded: Engine
) -> None:
    await track_via_webhook(client, seeded, "555")
    response = await client.get("/admin/listings/555")
    assert response.status_code == 200
    body = response.json()
    assert body["deal"]["state"] == "FOUND"
    assert body["deal"]["allowed_next"] == ["MESSAGING", "PURCHASED", "CANCELLED"]
    assert body["deal"]["found_price"] == "35.00"
    assert body["deal"]["reference_price"] == "80.00"
    assert body["listing"]["seller_username"] == "crate_digger"
    assert body["listing"]["match_method"] == "catalog_no"
    assert body["release"]["title"] == "Blue Train"
    assert body["release"]["prices"]["by_condition"]["VG+"] == "80.00"


async def test_an_untracked_item_is_a_404_with_a_json_error(client: httpx.AsyncClient) -> None:
    for path in ("/admin/listings/nope", "/admin/listings/nope/history"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "item 'nope' is not a tracked deal"}
    moved = await client.post("/admin/listings/nope/transition", json={"to": "MESSAGING"})
    assert moved.status_code == 404


async def test_a_flip_from_found_to_sold_records_money_history_and_events(
    client: httpx.AsyncClient, seeded: Engine
) -> None:
    await track_via_webhook(client, seeded, "777")
    steps: list[dict[str, Any]] = [
        {"to": "MESSAGING", "reason": "asked about the sleeve"},
        {"to": "NEGOTIATING"},
        {"to": "PURCHASED", "purchase_price": "45.00"},
        {"to": "RECEIVED"},
        {"to": "LISTED"},
        {"to": "SOLD", "sale_price": "95.50", "fees": "12.40"},
    ]
    for step in steps:
        response = await client.post("/admin/listings/777/transition", json=step)
        assert response.status_code == 200, response.text
        assert response.json()["state"] == step["to"]
    sold = response.json()
    assert sold["purchase_price"] == "45.00"
    assert sold["sale_price"] == "95.50"
    assert sold["fees"] == "12.40"
    assert sold["profit"] == "38.10"
    assert sold["allowed_next"] == []

    history = (await client.get("/admin/listings/777/history")).json()
    assert history["state"] == "SOLD"
    assert [(h["from_state"], h["to_state"]) for h in history["history"]] == [
        (None, "FOUND"),
        ("FOUND", "MESSAGING"),
        ("MESSAGING", "NEGOTIATING"),
        ("NEGOTIATING", "PURCHASED"),
        ("PURCHASED", "RECEIVED"),
        ("RECEIVED", "LISTED"),
        ("LISTED", "SOLD"),
    ]
    assert history["history"][1]["reason"] == "asked about the sleeve"
    assert history["history"][1]["actor"] == "api"
    with seeded.connect() as conn:
        kinds = [e.event_type for e in events_for(conn, "777")]
    assert kinds[-1] == "listing.state.sold"
    assert "listing.state.purchased" in kinds


async def test_the_seed_contract_field_to_state_is_accepted(
    client: httpx.AsyncClient, seeded: Engine
) -> None:
    await track_via_webhook(client, seeded, "888")
    response = await client.post(
        "/admin/listings/888/transition",
        json={"to_state": "cancelled", "reason": "Seller not responding"},
    )
    assert response.status_code == 200
    assert response.json()["state"] == "CANCELLED"


async def test_an_invalid_transition_is_409_naming_the_allowed_next_states(
    client: httpx.AsyncClient, seeded: Engine
) -> None:
    await track_via_webhook(client, seeded, "999")
    response = await client.post("/admin/listings/999/transition", json={"to": "SOLD"})
    assert response.status_code == 409
    body = response.json()
    assert "allowed next states: MESSAGING, PURCHASED, CANCELLED" in body["detail"]
    assert body["allowed"] == ["MESSAGING", "PURCHASED", "CANCELLED"]
    deal = (await client.get("/admin/listings/999")).json()["deal"]
    assert deal["state"] == "FOUND"


async def test_a_final_state_allows_no_further_move(
    client: httpx.AsyncClient, seeded: Engine
) -> None:
    await track_via_webhook(client, seeded, "990")
    await client.post("/admin/listings/990/transition", json={"to": "CANCELLED"})
    response = await client.post("/admin/listings/990/transition", json={"to": "MESSAGING"})
    assert response.status_code == 409
    assert "CANCELLED is final" in response.json()["detail"]
    assert response.json()["allowed"] == []


async def test_purchased_without_a_price_is_refused_saying_what_is_missing(
    client: httpx.AsyncClient, seeded: Engine
) -> None:
    await track_via_webhook(client, seeded, "991")
    response = await client.post("/admin/listings/991/transition", json={"to": "PURCHASED"})
    assert response.status_code == 422
    assert "purchase_price" in response.json()["detail"]
    with seeded.connect() as conn:
        assert deals.history(conn, "991")[-1].to_state == "FOUND"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "to"),
        ({"to": "BOUGHT"}, "to"),
        ({"to": "PURCHASED", "purchase_price": "a lot"}, "purchase_price"),
        ({"to": "PURCHASED", "purchase_price": "-1"}, "purchase_price"),
        ({"to": "MESSAGING", "colour": "blue"}, "colour"),
    ],
)
async def test_a_bad_transition_body_is_422_naming_the_field(
    client: httpx.AsyncClient, seeded: Engine, body: dict[str, Any], field: str
) -> None:
    await track_via_webhook(client, seeded, "992")
    response = await client.post("/admin/listings/992/transition", json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


# -- searches -------------------------------------------------------------------------


async def test_triggering_a_search_runs_it_and_answers_202_with_the_job(
    client: httpx.AsyncClient, seeded: Engine, now: datetime, triggered: list[int]
) -> None:
    with seeded.begin() as conn:
        search = searches.add_search(conn, query="blue note", now=now)
    response = await client.post(f"/admin/searches/{search.id}/trigger")
    assert response.status_code == 202
    assert response.json() == {"search_id": search.id, "job": f"poll search={search.id}"}
    assert triggered == [search.id]


async def test_triggering_an_unknown_search_is_404(
    client: httpx.AsyncClient, triggered: list[int]
) -> None:
    response = await client.post("/admin/searches/4242/trigger")
    assert response.status_code == 404
    assert "4242" in response.json()["detail"]
    assert triggered == []


async def test_the_openapi_document_describes_the_admin_contract(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/health",
        "/admin/listings",
        "/admin/listings/{item_id}",
        "/admin/listings/{item_id}/history",
        "/admin/listings/{item_id}/transition",
        "/admin/searches/{search_id}/trigger",
        "/webhooks/listings",
    ):
        assert path in paths
    assert "/board" not in paths  # the dashboard is not part of the API
    schemas = spec["components"]["schemas"]
    assert {"ListingIn", "TransitionIn", "DealOut", "IngestOut", "ErrorOut"} <= set(schemas)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


async def test_the_docs_page_needs_no_internet(client: httpx.AsyncClient) -> None:
    """/docs refers only to this server's own URLs, and those answer with Swagger UI."""
    docs = await client.get("/docs")
    assert docs.status_code == 200
    referenced = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: *["']([^"']+)["']""", docs.text)
    urls = {u for pair in referenced for u in pair if u}
    assert urls, "the page should load its script, style sheet and the OpenAPI document"
    assert all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    kinds: dict[str, tuple[str, int]] = {}
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        kinds[url.rsplit(".", 1)[-1]] = (asset.headers["content-type"], len(asset.content))
    assert kinds["js"][0].startswith(("text/javascript", "application/javascript"))
    assert kinds["js"][1] > 500_000  # the real Swagger UI bundle, not a stub
    assert kinds["css"][0].startswith("text/css")
    assert "SwaggerUIBundle" in docs.text
    assert "/openapi.json" in urls


def test_money_figures_never_travel_as_floats() -> None:
    from vinyl_detective.api.schemas import DealOut

    schema = DealOut.model_json_schema(mode="serialization")
    assert schema["properties"]["found_price"]["type"] == "string"


# -- the dashboard's guard rails (its pages are exercised in test_dashboard_browser.py) --


async def sign_in(http: httpx.AsyncClient, next_path: str = "/") -> httpx.Response:
    return await http.post(
        "/login",
        content=f"token={TOKEN}&next={next_path}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
    )


async def test_the_dashboard_sends_a_visitor_to_the_sign_in_form(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/board?x=1", headers={"Authorization": ""})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/board%3Fx%3D1"


async def test_signing_in_sets_a_strict_http_only_cookie_that_is_not_the_token(
    client: httpx.AsyncClient,
) -> None:
    response = await sign_in(client, "/jobs")
    assert response.status_code == 303
    assert response.headers["location"] == "/jobs"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert TOKEN not in cookie


async def test_sign_in_never_redirects_to_another_site(client: httpx.AsyncClient) -> None:
    response = await sign_in(client, "//evil.example/phish")
    assert response.headers["location"] == "/"


async def test_a_dashboard_move_without_the_form_token_is_refused(
    client: httpx.AsyncClient, seeded: Engine
) -> None:
    await track_via_webhook(client, seeded, "csrf-1")
    client.cookies = (await sign_in(client)).cookies
    response = await client.post(
        "/board/csrf-1/transition",
        content=b"to=CANCELLED",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
    )
    assert response.status_code == 403
    assert "expired" in response.text
    with seeded.connect() as conn:
        deal = deals.get_deal(conn, "csrf-1")
    assert deal is not None
    assert deal.state == "FOUND"


async def test_dashboard_pages_forbid_scripts_and_framing(client: httpx.AsyncClient) -> None:
    response = await client.get("/jobs")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "script-src" not in policy  # so no script runs at all


async def test_without_an_admin_token_the_dashboard_says_how_to_switch_it_on(
    seeded: Engine,
) -> None:
    app = create_app(engine=seeded, admin_token="")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://vd.test"
    ) as http:
        response = await http.get("/")
    assert response.status_code == 503
    assert "Set <code>ADMIN_TOKEN</code>" in response.text


async def test_an_absurd_release_id_is_refused_not_a_crash(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/releases/{10**30}")
    assert response.status_code == 422
    missing = await client.get("/releases/123456")
    assert missing.status_code == 404
    assert "not in the catalog" in missing.text


async def test_a_body_that_is_not_json_is_named_as_such(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/webhooks/listings",
        content=b'[{"item_id": "1", ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]
    assert "listings." not in response.json()["detail"]
