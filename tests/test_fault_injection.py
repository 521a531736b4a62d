"""The fakes fail the way the real services do, on demand, and our clients survive it.

Each fake sits behind `with_faults(app, FaultPlan(...), style)` on a real loopback port,
so dropped connections, stalls and cut bodies happen on real sockets. The clients are
the daemon's own (EbayClient, DiscogsClient, PTB through TelegramNotifier), with short
timeouts and no real waiting between retries.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import telegram
from telegram.request import HTTPXRequest

from vinyl_detective.domain.models import Deal, Listing, Match, MatchMethod, Money, Priority
from vinyl_detective.domain.models import Release as CatalogRelease
from vinyl_detective.errors import RateLimitedError, RetryableError
from vinyl_detective.fakes.discogs import FakeDiscogs
from vinyl_detective.fakes.ebay import FakeEbay, make_item
from vinyl_detective.fakes.faults import (
    FAULT_KINDS,
    FaultPlan,
    discogs_style,
    ebay_style,
    telegram_style,
    with_faults,
)
from vinyl_detective.fakes.server import LoopbackServer
from vinyl_detective.fakes.telegram import FakeTelegram
from vinyl_detective.notify.telegram import TelegramNotifier
from vinyl_detective.sources.discogs import DiscogsClient
from vinyl_detective.sources.ebay import EbayClient, SearchPage
from vinyl_detective.sources.ratelimit import HeaderRateLimiter

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
TOKEN = "123456:DEMO-TOKEN"
CHAT = 42


async def no_wait(seconds: float) -> None:
    return None


def ebay_fake() -> FakeEbay:
    items = [make_item(n, f"Blue Note LP number {n}", "20.00", listed_at=NOW) for n in range(5)]
    return FakeEbay(items, app_id="app", cert_id="cert", clock=lambda: NOW)


def discogs_fake() -> FakeDiscogs:
    release = {
        "id": 4003,
        "title": "Moanin'",
        "artists": [{"name": "Art Blakey & The Jazz Messengers", "join": ""}],
        "labels": [{"name": "Blue Note", "catno": "BLP 4003"}],
        "formats": [{"name": "Vinyl", "descriptions": ["LP"]}],
    }
    return FakeDiscogs([release], token="tok", rate_limit=10_000)


def only(kind: str, **options: Any) -> FaultPlan:
    return FaultPlan(rate=1.0, seed=1, kinds=(kind,), **options)


@pytest.fixture
def served() -> Iterator[Any]:
    servers: list[LoopbackServer] = []

    def serve(app: Any) -> str:
        server = LoopbackServer(app)
        servers.append(server)
        return server.start()

    yield serve
    for server in servers:
        server.stop()


# -- the plan ---------------------------------------------------------------------------


def test_the_same_seed_fails_the_same_requests_in_the_same_way() -> None:
    def run(seed: int) -> list[str | None]:
        plan = FaultPlan(rate=0.2, seed=seed)
        return [plan.draw("ebay", FAULT_KINDS) for _ in range(500)]

    assert run(7) == run(7)
    assert run(7) != run(8)
    failures = [kind for kind in run(7) if kind is not None]
    assert 70 <= len(failures) <= 130  # about a fifth
    assert set(failures) == set(FAULT_KINDS)  # every kind turns up


def test_a_kind_the_service_cannot_make_is_never_drawn() -> None:
    plan = FaultPlan(rate=1.0, seed=3)
    offered = telegram_style().offered
    drawn = {plan.draw("telegram", offered) for _ in range(200)}
    assert "expired_token" not in drawn
    assert plan.injected[("telegram", "dropped")] > 0
    assert "telegram: 200" in plan.summary()


def test_a_rate_outside_zero_to_one_is_refused_with_what_it_should_be() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultPlan(rate=20)
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultPlan(rate=0.1, kinds=("gremlins",))


# -- what each failure looks like on the wire ---------------------------------------------


def test_each_service_rate_limits_with_its_own_headers_and_body(served: Any) -> None:
    ebay = served(with_faults(ebay_fake().app, only("rate_limited"), ebay_style(ebay_fake())))
    discogs = served(with_faults(discogs_fake().app, only("rate_limited"), discogs_style(60)))
    bot = served(with_faults(FakeTelegram(TOKEN).app, only("rate_limited"), telegram_style(3)))
    with httpx.Client() as http:
        answer = http.get(f"{ebay}/buy/browse/v1/item_summary/search?q=lp")
        assert answer.status_code == 429
        assert answer.json()["errors"][0]["errorId"] == 2001
        assert answer.headers["retry-after"] == "2"
        answer = http.get(f"{discogs}/releases/4003")
        assert answer.status_code == 429
        assert answer.json() == {"message": "You are making requests too quickly."}
        assert answer.headers["x-discogs-ratelimit-remaining"] == "0"
        assert answer.headers["x-discogs-ratelimit"] == "60"
        answer = http.post(f"{bot}/bot{TOKEN}/sendMessage", data={"chat_id": 1, "text": "x"})
        assert answer.status_code == 429
        assert answer.json()["parameters"] == {"retry_after": 3}
        assert answer.json()["description"] == "Too Many Requests: retry after 3"


@pytest.mark.parametrize(
    ("kind", "status", "type_"),
    [
        ("server_error", 500, "application/json"),
        ("bad_gateway", 502, "text/html"),
        ("unavailable", 503, "application/json"),
        ("not_json", 200, "text/html"),
    ],
)
def test_server_failures_answer_the_status_and_body_the_service_would(
    served: Any, kind: str, status: int, type_: str
) -> None:
    url = served(with_faults(discogs_fake().app, only(kind), discogs_style()))
    answer = httpx.get(f"{url}/releases/4003")
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith(type_)


def test_a_dropped_connection_and_a_cut_body_reach_the_client_as_network_errors(
    served: Any,
) -> None:
    dropped = served(with_faults(discogs_fake().app, only("dropped"), discogs_style()))
    cut = served(with_faults(discogs_fake().app, only("truncated"), discogs_style()))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{dropped}/releases/4003")
    with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|complete message body"):
        httpx.get(f"{cut}/releases/4003")


def test_a_stalled_answer_never_comes_before_the_client_gives_up(served: Any) -> None:
    url = served(with_faults(discogs_fake().app, only("stalled"), discogs_style()))
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{url}/releases/4003", timeout=0.3)


def test_an_expired_token_fault_expires_the_token_but_spares_a_fresh_one(served: Any) -> None:
    fake = ebay_fake()
    url = served(with_faults(fake.app, only("expired_token"), ebay_style(fake)))
    with httpx.Client(base_url=url) as http:
        granted = http.post(
            "/identity/v1/oauth2/token",
            auth=("app", "cert"),
            data={"grant_type": "client_credentials"},
        )
        token = granted.json()["access_token"]
        search = "/buy/browse/v1/item_summary/search?q=blue"
        headers = {"Authorization": f"Bearer {token}"}
        assert http.get(search, headers=headers).status_code == 200  # spared once
        expired = http.get(search, headers=headers)
    assert expired.status_code == 401
    assert expired.json()["errors"][0]["message"] == "Invalid access token"


def test_the_fakes_own_pages_never_fail(served: Any) -> None:
    url = served(with_faults(FakeTelegram(TOKEN).app, only("dropped"), telegram_style()))
    assert httpx.get(f"{url}/").status_code == 200  # the inbox page


# -- the fake Telegram's outage switch --------------------------------------------------


def test_telegram_can_be_switched_down_for_a_while_and_back(served: Any) -> None:
    fake = FakeTelegram(TOKEN)
    url = served(fake.app)
    send = f"{url}/bot{TOKEN}/sendMessage"
    with httpx.Client() as http:
        assert http.post(f"{url}/fake/down", params={"seconds": "30"}).status_code == 200
        during = http.post(send, data={"chat_id": CHAT, "text": "hello"})
        assert http.post(f"{url}/fake/up").status_code == 200
        after = http.post(send, data={"chat_id": CHAT, "text": "hello"})
        assert http.post(f"{url}/fake/down", params={"seconds": "soon"}).status_code == 400
    assert during.status_code == 502
    assert "Bad Gateway" in during.text
    assert after.status_code == 200
    assert [m["text"] for m in fake.sent] == ["hello"]  # nothing sent during the outage


def test_an_outage_ends_by_itself() -> None:
    moment = [1000.0]
    fake = FakeTelegram(TOKEN, clock=lambda: moment[0])
    fake.go_down(60)
    assert fake.down
    moment[0] += 61
    assert not fake.down


# -- the daemon's clients survive a fifth (and more) of requests failing ------------------


async def test_the_ebay_client_gets_every_page_through_a_third_of_requests_failing(
    served: Any,
) -> None:
    fake = ebay_fake()
    plan = FaultPlan(rate=0.33, seed=11, stall_seconds=5)
    url = served(with_faults(fake.app, plan, ebay_style(fake)))
    client = EbayClient("app", "cert", base_url=url, sleep=no_wait, max_retries=8, timeout=0.5)
    pages: list[SearchPage] = []
    paused: list[float | None] = []
    async with client:
        while len(pages) < 40:
            try:
                pages.append(await client.search(q="blue note"))
            except RateLimitedError as exc:  # twice in a row: the scheduler pauses that long
                paused.append(exc.retry_after)
    assert all(page.total == 5 for page in pages)
    assert set(paused) <= {2.0}  # a single 2-s 429 is waited out in the call
    kinds = {kind for (_, kind) in plan.injected}
    assert "rate_limited" in kinds
    assert {"dropped", "stalled", "truncated", "not_json", "server_error"} <= kinds
    assert fake.token_requests > 1  # expired tokens were renewed


async def test_the_discogs_client_gets_every_release_through_a_third_of_requests_failing(
    served: Any,
) -> None:
    plan = FaultPlan(rate=0.33, seed=5, stall_seconds=5)
    url = served(with_faults(discogs_fake().app, plan, discogs_style(10_000)))
    elapsed = [0.0]  # the limiter's clock: a 429 empties the window, waiting moves it on

    async def wait(seconds: float) -> None:
        elapsed[0] += seconds

    client = DiscogsClient(
        "tok",
        base_url=url,
        user_agent="VinylDetectiveTest/1.0",
        sleep=no_wait,
        limiter=HeaderRateLimiter(min_interval=0, clock=lambda: elapsed[0], sleep=wait),
        max_retries=8,
        timeout=0.5,
    )
    async with client:
        releases = [await client.get_release(4003) for _ in range(25)]
    assert {release.title for release in releases} == {"Moanin'"}
    assert sum(plan.injected.values()) >= 8


def deal(n: int) -> Deal:
    listing = Listing(
        item_id=f"v1|{n}|0",
        title=f"Blue Note LP {n}",
        price=Decimal("20.00"),
        currency="USD",
        url=f"https://www.ebay.com/itm/{n}",
    )
    return Deal(
        listing=listing,
        release=CatalogRelease(id=n, artist="Art Blakey", title="Moanin'"),
        match=Match(n, MatchMethod.CATALOG_NO, 1.0),
        reference=Money(Decimal("60.00"), "USD"),
        total=Money(Decimal("20.00"), "USD"),
        score=0.6,
        priority=Priority.HIGH,
    )


async def test_every_telegram_failure_is_retryable_and_none_sends_a_message_twice(
    served: Any,
) -> None:
    fake = FakeTelegram(TOKEN)
    plan = FaultPlan(rate=0.4, seed=5, stall_seconds=5)
    url = served(with_faults(fake.app, plan, telegram_style(retry_after=0)))
    quick = HTTPXRequest(read_timeout=0.5, connect_timeout=0.5, write_timeout=0.5)
    plan.rate = 0.0  # PTB's getMe at start goes through; the faults begin after it
    async with telegram.Bot(TOKEN, base_url=f"{url}/bot", request=quick) as bot:
        plan.rate = 0.4
        notifier = TelegramNotifier(bot, sleep=no_wait)
        tries: Counter[int] = Counter()
        for n in range(20):
            while True:
                tries[n] += 1
                try:
                    await notifier.send_deal(CHAT, deal(n))
                    break
                except RetryableError:
                    assert tries[n] < 20
    received = Counter(re.findall(r"Blue Note LP (\d+)", m["plain_text"])[0] for m in fake.sent)
    assert received == Counter({str(n): 1 for n in range(20)})
    assert sum(tries.values()) > 20  # some sends did fail first
    assert {"dropped", "stalled", "truncated", "not_json"} <= {k for (_, k) in plan.injected}


async def test_while_telegram_is_down_a_send_is_retryable_and_goes_through_after(
    served: Any,
) -> None:
    fake = FakeTelegram(TOKEN)
    url = served(fake.app)
    async with telegram.Bot(TOKEN, base_url=f"{url}/bot") as bot:
        notifier = TelegramNotifier(bot, sleep=no_wait)
        fake.go_down()
        with pytest.raises(RetryableError, match="Bad Gateway"):
            await notifier.send_deal(CHAT, deal(1))
        fake.come_back()
        await notifier.send_deal(CHAT, deal(1))
    assert len(fake.sent) == 1
