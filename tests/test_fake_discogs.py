"""The fake Discogs server answers like the real API: paths, shapes, errors, rate limits.

These tests speak raw HTTP to the fake (no client of ours in between), and compare its
answers with real responses captured from api.discogs.com when those are available.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from vinyl_detective.fakes.discogs import FakeDiscogs

REAL_API = Path("/work/shared/data/discogs-api")
TOKEN = "test-token-123"
UA = "VinylDetectiveTests/1.0 +https://example.org/tests"
AUTH = {"User-Agent": UA, "Authorization": f"Discogs token={TOKEN}"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def blue_train() -> dict[str, Any]:
    """An invented release in the shape of GET /releases/{id}."""
    return {
        "id": 7001,
        "status": "Accepted",
        "title": "Blue Train",
        "artists": [{"name": "John Coltrane (2)", "anv": "", "join": "", "id": 11}],
        "labels": [{"name": "Blue Note", "catno": "BLP 1577", "id": 281}],
        "companies": [{"name": "Plastylite", "entity_type_name": "Pressed By", "id": 9}],
        "identifiers": [
            {"type": "Barcode", "value": "0 7777-46095-1 4"},
            {"type": "Matrix / Runout", "value": "BN-LP-1577-A RVG"},
        ],
        "formats": [{"name": "Vinyl", "qty": "1", "descriptions": ["LP", "Album", "Mono"]}],
        "year": 1958,
        "country": "US",
        "genres": ["Jazz"],
        "styles": ["Hard Bop"],
        "master_id": 5150,
        "community": {"have": 900, "want": 1200},
    }


def other_release(release_id: int, title: str, artist: str = "Various") -> dict[str, Any]:
    return {
        "id": release_id,
        "title": title,
        "artists": [{"name": artist, "join": ""}],
        "labels": [{"name": "Test Label", "catno": f"TL {release_id}"}],
        "formats": [{"name": "CD", "qty": "1", "descriptions": ["Album"]}],
        "year": 0,
    }


SUGGESTIONS = {
    "Mint (M)": {"currency": "USD", "value": 120.0},
    "Very Good Plus (VG+)": {"currency": "USD", "value": 80.0},
    "Good (G)": {"currency": "USD", "value": 20.0},
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeDiscogs:
    releases = [blue_train(), *(other_release(8000 + i, f"Sampler {i}") for i in range(7))]
    return FakeDiscogs(
        releases,
        price_suggestions={7001: SUGGESTIONS},
        wants={"ann": [7001, *range(8000, 8007)]},
        token=TOKEN,
        rate_limit=60,
        clock=clock,
    )


@pytest.fixture
async def http(fake: FakeDiscogs) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fake.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://api.discogs.test", headers=AUTH
    ) as client:
        yield client


async def test_a_release_comes_back_as_stored_with_rate_limit_headers(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/releases/7001")

    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Blue Train"
    assert body["artists"][0]["name"] == "John Coltrane (2)"
    assert body["num_for_sale"] > 0
    assert response.headers["X-Discogs-Ratelimit"] == "60"
    assert response.headers["X-Discogs-Ratelimit-Used"] == "1"
    assert response.headers["X-Discogs-Ratelimit-Remaining"] == "59"


async def test_an_unknown_release_is_404_release_not_found(http: httpx.AsyncClient) -> None:
    response = await http.get("/releases/999999")

    assert response.status_code == 404
    assert response.json() == {"message": "Release not found."}
    assert "X-Discogs-Ratelimit-Remaining" in response.headers


async def test_an_unknown_path_is_404_with_a_message(http: httpx.AsyncClient) -> None:
    response = await http.get("/no/such/thing")

    assert response.status_code == 404
    assert "message" in response.json()


async def test_the_61st_request_in_a_minute_is_refused_until_the_window_moves(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    for second in range(60):
        clock.now = float(second) * 0.5
        assert (await http.get("/releases/7001")).status_code == 200

    refused = await http.get("/releases/7001")
    assert refused.status_code == 429
    assert refused.json() == {"message": "You are making requests too quickly."}
    assert refused.headers["X-Discogs-Ratelimit-Remaining"] == "0"

    clock.now = 60.0  # the first request leaves the moving window
    again = await http.get("/releases/7001")
    assert again.status_code == 200
    assert again.headers["X-Discogs-Ratelimit-Remaining"] == "0"


async def test_requests_without_a_user_agent_or_with_a_generic_one_are_refused(
    fake: FakeDiscogs,
) -> None:
    transport = httpx.ASGITransport(app=fake.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://api.discogs.test") as raw:
        generic = await raw.get("/releases/7001")  # httpx's own "python-httpx/x.y"
        missing = await raw.get("/releases/7001", headers={"User-Agent": ""})

    assert generic.status_code == 403
    assert missing.status_code == 403
    assert "User-Agent" in generic.json()["message"]


async def test_search_needs_a_token(fake: FakeDiscogs) -> None:
    transport = httpx.ASGITransport(app=fake.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://api.discogs.test", headers={"User-Agent": UA}
    ) as anonymous:
        response = await anonymous.get("/database/search", params={"q": "coltrane"})
        release = await anonymous.get("/releases/7001")

    assert response.status_code == 401
    assert response.json() == {"message": "You must authenticate to access this resource."}
    assert release.status_code == 200  # releases are public


async def test_a_wrong_token_is_401_everywhere(http: httpx.AsyncClient) -> None:
    response = await http.get("/releases/7001", headers={"Authorization": "Discogs token=nope"})

    assert response.status_code == 401


async def test_search_results_have_the_real_shape_and_pollution(http: httpx.AsyncClient) -> None:
    response = await http.get("/database/search", params={"q": "coltrane blue train"})

    body = response.json()
    assert body["pagination"] == {"page": 1, "pages": 1, "per_page": 50, "items": 1, "urls": {}}
    [result] = body["results"]
    assert result["title"] == "John Coltrane (2) - Blue Train"
    assert result["type"] == "release"
    assert result["catno"] == "BLP 1577"
    assert result["barcode"] == ["0 7777-46095-1 4", "BN-LP-1577-A RVG"]
    assert result["label"] == ["Blue Note", "Plastylite"]
    assert result["format"] == ["Vinyl", "LP", "Album", "Mono"]
    assert result["year"] == "1958"
    assert result["community"] == {"want": 1200, "have": 900}
    assert result["resource_url"].endswith("/releases/7001")


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"catno": "blp-1577"}, [7001]),
        ({"q": "BLP1577"}, [7001]),
        ({"barcode": "077774609514"}, [7001]),
        ({"barcode": "0 7777 46095 1 4"}, [7001]),
        ({"artist": "coltrane"}, [7001]),
        ({"artist": "coltrane", "release_title": "sampler"}, []),
        ({"format": "lp", "year": "1958"}, [7001]),
        ({"format": "Vinyl", "year": "1959"}, []),
        ({"q": "sampler 3"}, [8003]),
        ({"q": "coltrane", "type": "master"}, []),
    ],
)
async def test_search_filters(
    http: httpx.AsyncClient, params: dict[str, str], found: list[int]
) -> None:
    response = await http.get("/database/search", params=params)

    assert [r["id"] for r in response.json()["results"]] == found


async def test_search_pages_like_the_real_api(http: httpx.AsyncClient) -> None:
    first = (await http.get("/database/search", params={"q": "sampler", "per_page": 3})).json()
    last = (
        await http.get("/database/search", params={"q": "sampler", "per_page": 3, "page": 3})
    ).json()

    assert first["pagination"]["pages"] == 3
    assert first["pagination"]["items"] == 7
    assert "page=2" in first["pagination"]["urls"]["next"]
    assert "page=3" in first["pagination"]["urls"]["last"]
    assert "prev" not in first["pagination"]["urls"]
    assert len(last["results"]) == 1
    assert "next" not in last["pagination"]["urls"]
    assert "page=2" in last["pagination"]["urls"]["prev"]


async def test_marketplace_stats_are_derived_from_the_suggestions(
    http: httpx.AsyncClient,
) -> None:
    first = (await http.get("/marketplace/stats/7001")).json()
    second = (await http.get("/marketplace/stats/7001")).json()
    in_euros = (await http.get("/marketplace/stats/7001", params={"curr_abbr": "EUR"})).json()

    assert first == second
    assert first["lowest_price"]["currency"] == "USD"
    assert 0 < first["lowest_price"]["value"] < 80.0
    assert first["num_for_sale"] > 0
    assert in_euros["lowest_price"]["currency"] == "EUR"


async def test_nothing_for_sale_means_null_lowest_price(http: httpx.AsyncClient) -> None:
    body = (await http.get("/marketplace/stats/8001")).json()

    assert body["lowest_price"] is None


async def test_price_suggestions_by_grade_and_the_seller_settings_error(
    http: httpx.AsyncClient,
) -> None:
    known = await http.get("/marketplace/price_suggestions/7001")
    none = await http.get("/marketplace/price_suggestions/8001")

    assert known.json()["Very Good Plus (VG+)"] == {"currency": "USD", "value": 80.0}
    assert none.status_code == 200
    assert none.json() == {}  # Discogs has no suggestion for it


async def test_an_account_without_seller_settings_gets_no_suggestions_at_all(
    fake: FakeDiscogs, http: httpx.AsyncClient
) -> None:
    fake.seller_settings = False

    refused = await http.get("/marketplace/price_suggestions/7001")

    assert refused.status_code == 404
    assert refused.json() == {"message": "You must fill out your seller settings first."}


async def test_wantlist_pages(http: httpx.AsyncClient) -> None:
    first = (await http.get("/users/ann/wants", params={"per_page": 5})).json()
    second = (await http.get("/users/ann/wants", params={"per_page": 5, "page": 2})).json()
    nobody = await http.get("/users/nobody/wants")

    assert first["pagination"]["items"] == 8
    assert [w["id"] for w in first["wants"]][:1] == [7001]
    assert first["wants"][0]["basic_information"]["artists"][0]["name"] == "John Coltrane (2)"
    assert len(second["wants"]) == 3
    assert nobody.status_code == 404


async def test_injected_failures_hit_only_matching_paths_and_run_out(
    fake: FakeDiscogs, http: httpx.AsyncClient
) -> None:
    fake.fail_next(503, times=2, path_contains="/releases/")

    stats = await http.get("/marketplace/stats/7001")
    first = await http.get("/releases/7001")
    second = await http.get("/releases/7001")
    third = await http.get("/releases/7001")

    assert [stats.status_code, first.status_code, second.status_code, third.status_code] == [
        200,
        503,
        503,
        200,
    ]
    assert fake.request_count == 4


async def test_an_injected_failure_can_carry_a_body_and_retry_after(
    fake: FakeDiscogs, http: httpx.AsyncClient
) -> None:
    fake.fail_next(429, retry_after=3)
    fake.fail_next(200, body="{not json")

    limited = await http.get("/releases/7001")
    garbled = await http.get("/releases/7001")

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert garbled.status_code == 200
    assert garbled.text == "{not json"


# --------------------------------------------------------------------------- real shapes


def _real(relative: str) -> Any:
    path = REAL_API / relative
    if not path.is_file():
        pytest.skip(f"real Discogs sample {path} not available")
    return json.loads(path.read_text(encoding="utf-8"))


async def test_search_results_carry_every_field_real_results_have(
    http: httpx.AsyncClient,
) -> None:
    real = _real("database/search_artist=trash80&per_page=50&page=1.json")
    real_keys = set().union(*(r.keys() for r in real["results"] if r["type"] == "release"))

    fake = (await http.get("/database/search", params={"q": "coltrane"})).json()

    assert real_keys <= set(fake["results"][0])
    assert set(real["pagination"]) <= set(fake["pagination"])


async def test_wantlist_entries_carry_every_field_real_ones_have(http: httpx.AsyncClient) -> None:
    real = _real("users/example/wants_per_page=50&page=1.json")
    real_info_keys = set().union(*(w["basic_information"].keys() for w in real["wants"]))

    fake = (await http.get("/users/ann/wants")).json()

    assert {"id", "rating", "basic_information", "resource_url"} <= set(fake["wants"][0])
    assert real_info_keys <= set(fake["wants"][0]["basic_information"])


async def test_marketplace_stats_have_the_real_keys(http: httpx.AsyncClient) -> None:
    real = _real("marketplace/stats/1.json")

    fake = (await http.get("/marketplace/stats/7001")).json()

    assert set(real) <= set(fake)
    assert set(real["lowest_price"]) == set(fake["lowest_price"])


async def test_real_release_bodies_can_be_served(fake: FakeDiscogs) -> None:
    real = _real("releases/3329867.json")
    fake.add_releases([real])
    transport = httpx.ASGITransport(app=fake.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://api.discogs.test", headers=AUTH
    ) as http:
        served = (await http.get("/releases/3329867")).json()
        found = (await http.get("/database/search", params={"artist": "trash80"})).json()

    assert served["title"] == real["title"]
    assert [r["id"] for r in found["results"]] == [3329867]
    assert found["results"][0]["title"] == "Trash80 & Dma-Sc - Darwinia Soundtrack"
