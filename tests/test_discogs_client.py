"""The Discogs client, against the fake Discogs server (and a few raw network peers)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from vinyl_detective.domain.models import Money
from vinyl_detective.errors import (
    AuthError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)
from vinyl_detective.fakes.discogs import FakeDiscogs
from vinyl_detective.sources.discogs import EMPTY_SUGGESTIONS_HINT, DiscogsClient
from vinyl_detective.sources.discogs_parse import parse_release, parse_search_result
from vinyl_detective.sources.ratelimit import HeaderRateLimiter

REAL_API = Path("/work/shared/data/discogs-api")
TOKEN = "s3cret-discogs-token"
BASE = "https://api.discogs.test"
UA = "VinylDetectiveTests/1.0 +https://example.org/tests"


class FakeTime:
    """A monotonic clock that jumps forward on every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def moanin() -> dict[str, Any]:
    """Invented data in the shape of GET /releases/{id}."""
    return {
        "id": 4003,
        "status": "Accepted",
        "title": "Moanin'",
        "artists": [
            {"name": "Art Blakey", "anv": "", "join": "&", "id": 1},
            {"name": "The Jazz Messengers (2)", "anv": "Jazz Messengers", "join": "", "id": 2},
        ],
        "labels": [
            {"name": "Blue Note (3)", "catno": "BLP 4003", "id": 281},
            {"name": "Blue Note (3)", "catno": "none", "id": 281},
            {"name": "Liberty", "catno": "BST-84003 ", "id": 282},
        ],
        "identifiers": [
            {"type": "Barcode", "value": "0 7777-46516-1 6"},
            {"type": "Barcode", "value": "Not a barcode"},
            {"type": "Matrix / Runout", "value": "077774651616"},
        ],
        "formats": [
            {"name": "Vinyl", "qty": "1", "descriptions": ["LP", "Album", "Mono"]},
            {"name": "CD", "qty": "1", "descriptions": ["Album"]},
        ],
        "year": 0,
        "released": "1959-01-00",
        "country": "US",
        "genres": ["Jazz"],
        "styles": ["Hard Bop"],
        "master_id": 59850,
    }


def trio() -> dict[str, Any]:
    return {
        "id": 5005,
        "title": "Live At The Club",
        "artists": [
            {"name": "Alpha*", "join": ","},
            {"name": "Beta (4)", "join": "&"},
            {"name": "Gamma", "join": ""},
        ],
        "labels": [{"name": "Small Label", "catno": "SL-1"}],
        "formats": [{"name": "Cassette", "descriptions": []}],
        "year": 1988,
        "master_id": 0,
    }


GRADES = {
    "Mint (M)": {"currency": "EUR", "value": 62.123456},
    "Near Mint (NM or M-)": {"currency": "EUR", "value": 55.0},
    "Very Good Plus (VG+)": {"currency": "EUR", "value": 40.005},
    "Very Good (VG)": {"currency": "EUR", "value": 25.0},
    "Good Plus (G+)": {"currency": "EUR", "value": 12.0},
    "Good (G)": {"currency": "EUR", "value": 8.0},
    "Fair (F)": {"currency": "EUR", "value": 4.0},
    "Poor (P)": {"currency": "EUR", "value": 2.0},
}


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def fake(fake_time: FakeTime) -> FakeDiscogs:
    fillers = [
        {
            "id": 9000 + i,
            "title": f"Filler {i}",
            "artists": [{"name": "Various", "join": ""}],
            "labels": [{"name": "Fill", "catno": f"F-{i}"}],
            "formats": [{"name": "Vinyl", "descriptions": ["LP"]}],
        }
        for i in range(5)
    ]
    return FakeDiscogs(
        [moanin(), trio(), *fillers],
        price_suggestions={4003: GRADES, 5005: {}},
        wants={"ann": [4003, 5005, 9000, 9001, 9002]},
        token=TOKEN,
        clock=fake_time.clock,
    )


MakeClient = Callable[..., DiscogsClient]


@pytest.fixture
async def make_client(fake_time: FakeTime) -> AsyncIterator[MakeClient]:
    """Builds clients over any ASGI app or MockTransport, with fake time, and closes them."""
    opened: list[httpx.AsyncClient] = []

    def build(
        peer: FakeDiscogs | httpx.MockTransport, *, token: str = TOKEN, max_retries: int = 3
    ) -> DiscogsClient:
        transport: httpx.AsyncBaseTransport = (
            httpx.ASGITransport(app=peer.app) if isinstance(peer, FakeDiscogs) else peer
        )
        http = httpx.AsyncClient(transport=transport)
        opened.append(http)
        limiter = HeaderRateLimiter(clock=fake_time.clock, sleep=fake_time.sleep)
        return DiscogsClient(
            token,
            base_url=BASE,
            user_agent=UA,
            http=http,
            limiter=limiter,
            sleep=fake_time.sleep,
            max_retries=max_retries,
        )

    yield build
    for http in opened:
        await http.aclose()


# --------------------------------------------------------------------------- releases


async def test_release_artist_credit_uses_join_words_without_suffixes(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    release = await make_client(fake).get_release(4003)

    assert release.artist == "Art Blakey & The Jazz Messengers"
    assert release.title == "Moanin'"


async def test_release_with_three_artists_reads_a_b_and_c(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    release = await make_client(fake).get_release(5005)

    assert release.artist == "Alpha, Beta & Gamma"
    assert release.master_id is None  # 0 means no master
    assert release.format == "Cassette"


async def test_release_identifiers_labels_and_formats(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    release = await make_client(fake).get_release(4003)

    assert release.labels == ("Blue Note", "Liberty")
    assert release.catalog_nos == ("BLP 4003", "BST-84003")
    assert release.barcodes == ("0077774651616",)  # matrix strings and junk are not barcodes
    assert release.format == "Vinyl"
    assert release.format_descriptions == ("LP", "Album", "Mono")
    assert release.year == 1959  # year 0, but "released" knows better
    assert release.country == "US"
    assert release.genres == ("Jazz",)
    assert release.styles == ("Hard Bop",)
    assert release.status == "Accepted"
    assert release.master_id == 59850


async def test_an_unknown_release_raises_not_found(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    with pytest.raises(NotFoundError, match="Release not found"):
        await make_client(fake).get_release(1)


# --------------------------------------------------------------------------- prices


async def test_price_suggestions_are_mapped_to_grade_codes(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    guide = await make_client(fake).price_suggestions(4003)

    assert guide is not None
    assert guide.currency == "EUR"
    assert guide.by_condition == {
        "M": Decimal("62.12"),
        "NM": Decimal("55.00"),
        "VG+": Decimal("40.01"),
        "VG": Decimal("25.00"),
        "G+": Decimal("12.00"),
        "G": Decimal("8.00"),
        "F": Decimal("4.00"),
        "P": Decimal("2.00"),
    }


async def test_no_suggestions_without_seller_settings_logs_a_hint(
    fake: FakeDiscogs, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    empty = await make_client(fake).price_suggestions(9000)  # no suggestion: {}
    assert empty is None
    assert "seller settings" not in caplog.text

    fake.seller_settings = False  # an account that never filled in its seller settings
    refused = await make_client(fake).price_suggestions(5005)  # 404 "seller settings"

    assert refused is None
    assert "seller settings" in caplog.text
    assert TOKEN not in caplog.text


async def test_releases_without_a_suggestion_are_not_a_settings_problem(
    fake: FakeDiscogs, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(fake)

    assert await client.price_suggestions(4003) is not None
    for _ in range(EMPTY_SUGGESTIONS_HINT + 5):
        assert await client.price_suggestions(9000) is None  # {}: nothing to suggest

    assert "seller settings" not in caplog.text


async def test_only_empty_answers_point_at_the_seller_settings_once(
    fake: FakeDiscogs, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(fake)

    for _ in range(EMPTY_SUGGESTIONS_HINT - 1):
        await client.price_suggestions(9001)
    assert "seller settings" not in caplog.text
    for _ in range(5):
        await client.price_suggestions(9002)

    assert caplog.text.count("seller settings") == 1
    assert "https://www.discogs.com/settings/seller" in caplog.text


async def test_marketplace_stats_give_lowest_price_and_count(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    client = make_client(fake)

    lowest, count = await client.marketplace_stats(4003, currency="EUR")
    nothing = await client.marketplace_stats(9000)

    assert isinstance(lowest, Money)
    assert lowest.currency == "EUR"
    assert Decimal(0) < lowest.amount < Decimal("40.01")
    assert count is not None
    assert count > 0
    assert nothing == (None, None)


async def test_price_guide_combines_suggestions_and_stats(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    client = make_client(fake)

    guide = await client.price_guide(4003)
    unpriced = await client.price_guide(9000)

    assert guide is not None
    assert guide.currency == "EUR"
    assert guide.by_condition["VG+"] == Decimal("40.01")
    assert guide.lowest is not None
    assert guide.num_for_sale
    assert unpriced is None


async def test_price_guide_without_suggestions_still_has_the_lowest_price(
    make_client: MakeClient,
) -> None:
    def peer(request: httpx.Request) -> httpx.Response:
        if "price_suggestions" in request.url.path:
            return httpx.Response(404, json={"message": "You must fill out your seller settings"})
        return httpx.Response(
            200, json={"lowest_price": {"value": 18.5, "currency": "USD"}, "num_for_sale": 4}
        )

    guide = await make_client(httpx.MockTransport(peer)).price_guide(1)

    assert guide is not None
    assert guide.by_condition == {}
    assert guide.lowest == Decimal("18.50")
    assert guide.currency == "USD"
    assert guide.num_for_sale == 4


# --------------------------------------------------------------------------- search


async def test_search_parses_results_and_filters_matrix_strings_from_barcodes(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    page = await make_client(fake).search_releases(catno="BLP-4003")

    [release] = page.releases
    assert release.id == 4003
    assert release.artist == "Art Blakey & The Jazz Messengers"
    assert release.title == "Moanin'"
    assert release.barcodes == ("0077774651616",)  # the runout "077774651616" too, as digits
    assert release.labels == ("Blue Note",)  # only the first label entry
    assert release.catalog_nos == ("BLP 4003",)
    assert release.format == "Vinyl"
    assert release.format_descriptions == ("LP", "Album", "Mono", "CD")  # deduplicated
    assert release.year is None  # the fake, like Discogs, omits an unknown year
    assert (page.page, page.pages, page.items, page.skipped) == (1, 1, 1, 0)


async def test_search_pages_through_all_results(fake: FakeDiscogs, make_client: MakeClient) -> None:
    client = make_client(fake)
    seen: list[int] = []
    page_no = 1
    while True:
        page = await client.search_releases("filler", page=page_no, per_page=2)
        seen.extend(r.id for r in page.releases)
        if not page.has_next:
            break
        page_no += 1

    assert seen == [9000, 9001, 9002, 9003, 9004]
    assert page.pages == 3
    assert page.items == 5


async def test_search_sends_only_the_filters_given(make_client: MakeClient) -> None:
    sent: list[httpx.Request] = []

    def peer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"pagination": {"page": 1, "pages": 1}, "results": []})

    await make_client(httpx.MockTransport(peer)).search_releases(
        artist="Art Blakey", year=1959, per_page=500
    )

    params = dict(sent[0].url.params)
    assert params == {
        "type": "release",
        "artist": "Art Blakey",
        "year": "1959",
        "page": "1",
        "per_page": "100",
    }
    assert sent[0].headers["Authorization"] == f"Discogs token={TOKEN}"
    assert sent[0].headers["User-Agent"] == UA


async def test_malformed_search_results_are_skipped_and_counted(make_client: MakeClient) -> None:
    results = [
        {"id": 1, "type": "release", "title": "Nirvana (2) - Bleach", "catno": "none"},
        {"id": 2, "type": "release", "title": "No separator here"},
        {"type": "release", "title": "A - No id"},
        "not even an object",
        {"id": 3, "type": "artist", "title": "Nirvana"},
    ]

    def peer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"pagination": {"items": 5}, "results": results})

    page = await make_client(httpx.MockTransport(peer)).search_releases("nirvana")

    assert [(r.id, r.artist, r.title, r.catalog_nos) for r in page.releases] == [
        (1, "Nirvana", "Bleach", ())
    ]
    assert page.skipped == 3


def test_search_result_with_several_suffixed_artists() -> None:
    release = parse_search_result(
        {"id": 7, "title": "Alpha (2), Beta* & Gamma (10) - Split - Part 2", "label": "Solo"}
    )

    assert release.artist == "Alpha, Beta & Gamma"
    assert release.title == "Split - Part 2"  # split on the FIRST " - "
    assert release.labels == ("Solo",)


# --------------------------------------------------------------------------- wantlist


async def test_wantlist_pages_from_basic_information(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    client = make_client(fake)

    first = await client.wantlist_page("ann", page=1, per_page=3)
    second = await client.wantlist_page("ann", page=2, per_page=3)

    assert [r.id for r in first.releases] == [4003, 5005, 9000]
    assert first.releases[0].artist == "Art Blakey & The Jazz Messengers"
    assert first.releases[0].catalog_nos == ("BLP 4003", "BST-84003")
    assert first.has_next
    assert [r.id for r in second.releases] == [9001, 9002]
    assert not second.has_next
    assert second.items == 5


async def test_unknown_wantlist_user_is_not_found(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    with pytest.raises(NotFoundError):
        await make_client(fake).wantlist_page("nobody")


# --------------------------------------------------------------------------- failures


async def test_a_stray_429_holds_back_seconds_not_the_whole_window(
    fake: FakeDiscogs, make_client: MakeClient, fake_time: FakeTime
) -> None:
    fake.fail_next(429, path_contains="/releases/")

    release = await make_client(fake).get_release(4003)

    assert release.id == 4003
    assert fake.request_count == 2
    assert fake_time.now == pytest.approx(5.0)  # a twelfth of the 60-s window


async def test_429s_in_a_row_back_off_up_to_the_window_and_an_answer_ends_the_streak(
    fake: FakeDiscogs, make_client: MakeClient, fake_time: FakeTime
) -> None:
    client = make_client(fake, max_retries=10)
    fake.fail_next(429, times=7)

    await client.get_release(4003)

    assert fake_time.sleeps == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0, 60.0]
    # Rate limited for a while, the window is probed at most a few times a minute.
    probes = [sum(fake_time.sleeps[:n]) for n in range(len(fake_time.sleeps) + 1)]
    assert max(sum(1 for t in probes if s <= t < s + 60) for s in probes) <= 5
    fake_time.sleeps.clear()
    fake.fail_next(429)
    await client.get_release(4003)
    assert max(fake_time.sleeps) == 5.0  # the answer before started the count again


async def test_a_429_with_retry_after_waits_that_long(
    fake: FakeDiscogs, make_client: MakeClient, fake_time: FakeTime
) -> None:
    fake.fail_next(429, retry_after=5)

    await make_client(fake).get_release(4003)

    assert fake_time.now == pytest.approx(5.0)


async def test_429_forever_ends_in_rate_limited_error(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    fake.fail_next(429, times=100)

    with pytest.raises(RateLimitedError, match="too quickly"):
        await make_client(fake, max_retries=3).get_release(4003)
    assert fake.request_count == 4


async def test_the_client_never_exceeds_the_fakes_rate_limit(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    client = make_client(fake)

    for _ in range(130):
        await client.get_release(4003)

    assert fake.request_count == 130  # no 429 ever came back: no retry was needed


async def test_server_errors_are_retried_with_backoff(
    fake: FakeDiscogs, make_client: MakeClient, fake_time: FakeTime
) -> None:
    fake.fail_next(502, times=2)

    release = await make_client(fake).get_release(4003)

    assert release.id == 4003
    assert 1.0 in fake_time.sleeps
    assert 2.0 in fake_time.sleeps


async def test_persistent_server_errors_end_in_retryable_error(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    fake.fail_next(500, times=10)

    with pytest.raises(RetryableError) as caught:
        await make_client(fake, max_retries=2).get_release(4003)

    assert caught.value.status == 500
    assert not isinstance(caught.value, RateLimitedError)
    assert fake.request_count == 3


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")],
    ids=["timeout", "connection-refused"],
)
async def test_network_failures_are_retried_then_retryable(
    make_client: MakeClient, fake_time: FakeTime, failure: httpx.TransportError
) -> None:
    attempts = 0

    def peer(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        raise failure

    with pytest.raises(RetryableError):
        await make_client(httpx.MockTransport(peer), max_retries=3).get_release(4003)

    assert attempts == 4
    assert [s for s in fake_time.sleeps if s >= 1.0][:3] == [1.0, 2.0, 4.0]


async def test_a_timeout_then_success_returns_the_release(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    app_transport = httpx.ASGITransport(app=fake.app)
    calls = 0

    async def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return await app_transport.handle_async_request(request)

    release = await make_client(httpx.MockTransport(flaky)).get_release(4003)

    assert release.title == "Moanin'"


async def test_a_bad_token_raises_auth_error_that_names_the_setting_not_the_token(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    with pytest.raises(AuthError) as caught:
        await make_client(fake, token="wrong-" + TOKEN).get_release(4003)

    assert "DISCOGS_TOKEN" in str(caught.value)
    assert TOKEN not in str(caught.value)


async def test_search_without_a_token_raises_auth_error(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    with pytest.raises(AuthError, match="DISCOGS_TOKEN"):
        await make_client(fake, token="").search_releases("moanin")


async def test_other_client_errors_are_permanent_with_discogs_message(
    make_client: MakeClient,
) -> None:
    def peer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"message": "Invalid status value."})

    with pytest.raises(PermanentError, match="Invalid status value"):
        await make_client(httpx.MockTransport(peer)).get_release(4003)


async def test_a_body_cut_short_is_retried_as_a_glitch(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    fake.fail_next(200, body="{not json")

    release = await make_client(fake).get_release(4003)

    assert release.id == 4003


async def test_a_body_that_stays_malformed_is_retryable_not_permanent(
    fake: FakeDiscogs, make_client: MakeClient
) -> None:
    fake.fail_next(200, times=10, body="<html>maintenance</html>")

    with pytest.raises(RetryableError, match="malformed JSON"):
        await make_client(fake).get_release(4003)


async def test_a_release_body_without_title_is_a_permanent_error(make_client: MakeClient) -> None:
    def peer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": 4003, "artists": []})

    with pytest.raises(PermanentError, match="malformed"):
        await make_client(httpx.MockTransport(peer)).get_release(4003)


async def test_the_client_closes_only_what_it_opened() -> None:
    injected = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    async with DiscogsClient(TOKEN, base_url=BASE, user_agent=UA, http=injected):
        pass

    assert not injected.is_closed
    await injected.aclose()


# --------------------------------------------------------------------------- real responses


def _real(relative: str) -> Any:
    path = REAL_API / relative
    if not path.is_file():
        pytest.skip(f"real Discogs sample {path} not available")
    return json.loads(path.read_text(encoding="utf-8"))


def test_real_release_bodies_parse() -> None:
    persuader = parse_release(_real("releases/1.json"))
    barth = parse_release(_real("releases/2.json"))
    wink = parse_release(_real("releases/3.json"))
    darwinia = parse_release(_real("releases/3329867.json"))

    assert (persuader.artist, persuader.title, persuader.catalog_nos) == (
        "Persuader, The",
        "Stockholm",
        ("SK032",),
    )
    assert persuader.format == "Vinyl"
    assert persuader.year == 1999
    assert barth.barcodes == ()  # only matrix/runout identifiers
    assert barth.catalog_nos == ("SK 026", "SK026")
    assert wink.barcodes == ("0074646362822",)
    assert wink.format == "CD"
    assert darwinia.artist == "Trash80 & Dma-Sc"
    assert darwinia.catalog_nos == ()  # "none"
    assert darwinia.master_id is None


async def test_real_search_and_wantlist_pages_parse(make_client: MakeClient) -> None:
    search = _real("database/search_q=trash80&per_page=50&page=1.json")
    wants = _real("users/example/wants_per_page=50&page=1.json")

    def peer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=wants if "/wants" in request.url.path else search)

    client = make_client(httpx.MockTransport(peer))
    page = await client.search_releases("trash80")
    wanted = await client.wantlist_page("example")

    releases = [r for r in search["results"] if r["type"] == "release"]
    assert len(page.releases) == len(releases)
    assert page.skipped == 0
    darwinia = next(r for r in page.releases if r.id == 3329867)
    assert (darwinia.artist, darwinia.title) == ("Trash80 & Dma-Sc", "Darwinia Soundtrack")
    assert darwinia.catalog_nos == ()
    assert darwinia.labels == ("Not On Label",)
    assert len(wanted.releases) == len(wants["wants"])
    assert wanted.releases[0].title == wants["wants"][0]["basic_information"]["title"]


async def test_real_marketplace_stats_parse(make_client: MakeClient) -> None:
    stats = _real("marketplace/stats/1.json")

    def peer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=stats)

    lowest, count = await make_client(httpx.MockTransport(peer)).marketplace_stats(1)

    price = stats["lowest_price"]
    assert lowest == Money(
        Decimal(str(price["value"])).quantize(Decimal("0.01")), price["currency"]
    )
    assert count == stats["num_for_sale"]
