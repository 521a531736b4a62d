"""No alert lost to a long outage, none repeated: the daemon against a fake Telegram that
is down for hours, on a simulated clock (each retry pass is the daemon's own, run as its
loop would, the clock moved on between them; nothing sleeps).

An alert that cannot be delivered is tried again, with waits that grow to at most
RETRY_CAP, for as long as it is worth sending: ALERT_LIFETIME after it was found, or
until the auction it is about has ended. Then it is given up, and `status` says so. A
refusal that retrying cannot change (a chat that does not exist) stops it at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.marketplace import CHAT_ID, RELEASES, Market, running_market

from vinyl_detective.daemon import Daemon
from vinyl_detective.fakes.ebay import make_item
from vinyl_detective.jobs.preparation import PREPARE_RETRY
from vinyl_detective.notify.channels import ALERT_LIFETIME, RETRY_CAP
from vinyl_detective.sources.discogs import parse_release
from vinyl_detective.storage import catalog, searches
from vinyl_detective.storage.db import open_database

Cli = Callable[..., tuple[int, str]]
PASS_EVERY = timedelta(minutes=5)  # how often the simulated daemon runs its retry pass
MOANIN, KIND_OF_BLUE, AUCTION = "286000000001", "286000000003", "286000000008"


class SimClock:
    """The daemon's and the fake Telegram's clock: it moves only when told."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def timestamp(self) -> float:
        return self.now.timestamp()

    def advance(self, by: timedelta) -> None:
        self.now += by


@pytest.fixture
def clock() -> SimClock:
    return SimClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def market(tmp_path: Path, clock: SimClock) -> Iterator[Market]:
    """The small market (two deals) plus an auction deal that ends three hours from now."""
    with running_market(tmp_path, clock.now, telegram_clock=clock.timestamp) as market:
        market.ebay.add_items(
            [
                make_item(
                    8,
                    "Art Blakey Moanin' LP Blue Note BLP 4003 VG+",
                    "20.00",
                    listed_at=clock.now - timedelta(minutes=5),
                    auction=True,
                    ends_at=clock.now + timedelta(hours=3),
                )
            ]
        )
        engine = open_database(market.settings.database_url)
        with engine.begin() as conn:
            catalog.upsert_releases(conn, [parse_release(r) for r in RELEASES], clock.now)
            searches.add_search(conn, query="lp", now=clock.now, chat_id=CHAT_ID)
        engine.dispose()
        yield market


@pytest.fixture
def status(
    market: Market, run_cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[[], str]:
    """What `vinyl-detective status` prints for this market's database."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", market.settings.database_url)
    monkeypatch.setenv("COLUMNS", "200")

    def show() -> str:
        code, shown = run_cli("status")
        assert code == 0, shown
        return shown

    return show


def cards_per_item(market: Market) -> Counter[str]:
    return Counter(
        next(i for i in (MOANIN, KIND_OF_BLUE, AUCTION, "") if i in c["text"])
        for c in market.cards()
    )


async def run_for(daemon: Daemon, clock: SimClock, span: timedelta) -> None:
    """The daemon's retry pass every PASS_EVERY for `span` of simulated time."""
    end = clock.now + span
    while clock.now < end:
        clock.advance(PASS_EVERY)
        await daemon.retry_pending_alerts()


async def test_alerts_wait_out_a_six_hour_telegram_outage_and_arrive_once(
    market: Market, clock: SimClock, status: Callable[[], str]
) -> None:
    daemon = Daemon(market.settings, clock=clock)
    await daemon.open()
    try:
        outage = timedelta(hours=6)
        market.telegram.go_down(outage.total_seconds())
        back_at = clock.now + outage
        await daemon.cycle()  # the three deals are found; Telegram answers 502
        assert market.cards() == []
        await run_for(daemon, clock, outage - PASS_EVERY)
        # Hours into the outage nothing arrived, and nothing was given up but the
        # auction, which ended after three hours: an alert about it is no use now.
        assert market.cards() == []
        shown = status()
        assert "Alerts: sent 0, pending 2, failed 1" in shown
        assert "the auction ended" in shown
        arrived: dict[str, datetime] = {}
        for _ in range(int(2 * RETRY_CAP / PASS_EVERY) + 2):
            clock.advance(PASS_EVERY)
            await daemon.retry_pending_alerts()
            for item in cards_per_item(market):
                arrived.setdefault(item, clock.now)
        await run_for(daemon, clock, timedelta(hours=3))  # later passes repeat nothing
    finally:
        await daemon.close()
    assert cards_per_item(market) == Counter({MOANIN: 1, KIND_OF_BLUE: 1})
    for item, at in arrived.items():
        # Within the longest wait between two tries (and one pass) of Telegram's return.
        assert at - back_at <= RETRY_CAP + PASS_EVERY, item
    assert "Alerts: sent 2, pending 0, failed 1" in status()


async def test_an_alert_is_given_up_when_its_useful_life_is_over_and_status_says_so(
    market: Market, clock: SimClock, status: Callable[[], str]
) -> None:
    daemon = Daemon(market.settings, clock=clock)
    await daemon.open()
    try:
        market.telegram.go_down()  # for good
        await daemon.cycle()
        await run_for(daemon, clock, ALERT_LIFETIME - timedelta(hours=1))
        assert "Alerts: sent 0, pending 2, failed 1" in status()
        await run_for(daemon, clock, timedelta(hours=2))
        shown = status()
        assert "Alerts: sent 0, pending 0, failed 3" in shown
        assert f"not delivered within {ALERT_LIFETIME.total_seconds() / 3600:.0f} h" in shown
        assert "Bad Gateway" in shown or "502" in shown  # the last error, to act on
        market.telegram.come_back()
        await run_for(daemon, clock, timedelta(hours=2))  # given up: not sent after all
    finally:
        await daemon.close()
    assert market.cards() == []


async def test_a_chat_that_does_not_exist_stops_its_alerts_at_once(
    market: Market, clock: SimClock, status: Callable[[], str]
) -> None:
    market.telegram.fail_next(
        "sendMessage", 400, description="Bad Request: chat not found", times=3
    )
    daemon = Daemon(market.settings, clock=clock)
    await daemon.open()
    try:
        await daemon.cycle()
        sends = market.telegram.calls.count("sendMessage")
        assert sends == 3
        await run_for(daemon, clock, timedelta(hours=2))
        assert market.telegram.calls.count("sendMessage") == sends  # never tried again
    finally:
        await daemon.close()
    shown = status()
    assert "Alerts: sent 0, pending 0, failed 3" in shown
    assert "Chat not found" in shown


async def test_after_a_glitch_the_failed_alert_goes_with_the_next_pass_not_its_back_off(
    market: Market, clock: SimClock
) -> None:
    # One send fails (a 502), the next ones to the same chat get through: the chat is
    # fine, so the failed alert is tried again at the next pass (the one that ends this
    # cycle, the clock not moved at all), not a minute later.
    market.telegram.fail_next("sendMessage", 502)
    daemon = Daemon(market.settings, clock=clock)
    await daemon.open()
    try:
        await daemon.cycle()
        assert len(market.cards()) == 3
        assert market.telegram.calls.count("sendMessage") == 4
        await run_for(daemon, clock, timedelta(hours=1))  # and never again
    finally:
        await daemon.close()
    assert cards_per_item(market) == Counter({MOANIN: 1, KIND_OF_BLUE: 1, AUCTION: 1})


async def test_while_a_chat_keeps_failing_its_alerts_keep_their_back_off(
    market: Market, clock: SimClock
) -> None:
    market.telegram.fail_next("sendMessage", 502, times=4)  # every card, and one retry
    daemon = Daemon(market.settings, clock=clock)
    await daemon.open()
    try:
        await daemon.cycle()
        clock.advance(timedelta(seconds=10))
        await daemon.retry_pending_alerts()
        sends = market.telegram.calls.count("sendMessage")
        assert (market.cards(), sends) == ([], 3)  # nothing is due before its minute
        clock.advance(timedelta(seconds=55))
        await daemon.retry_pending_alerts()  # the first retry fails: one try this pass
        assert (market.cards(), market.telegram.calls.count("sendMessage")) == ([], 4)
        clock.advance(timedelta(minutes=2))
        await daemon.retry_pending_alerts()  # back: the first due one, then the others
    finally:
        await daemon.close()
    assert cards_per_item(market) == Counter({MOANIN: 1, KIND_OF_BLUE: 1, AUCTION: 1})


async def test_alerts_a_retry_delivers_count_in_the_cycles_summary(
    market: Market, clock: SimClock
) -> None:
    # The log's minute line says how many alerts went out: those that went on a retry,
    # after Telegram came back, count too.
    daemon = Daemon(market.settings, clock=clock)
    await daemon.open()
    try:
        market.telegram.go_down(PASS_EVERY.total_seconds())
        found = await daemon.cycle()  # the three deals are found; Telegram answers 502
        assert (found.counts.alerted, market.cards()) == (0, [])
        clock.advance(2 * PASS_EVERY)
        retried = await daemon.cycle()  # Telegram is back: the cycle's retry pass sends
    finally:
        await daemon.close()
    assert len(market.cards()) == 3
    assert retried.counts.alerted == 3


@contextmanager
def new_search_while_discogs_fails(
    tmp_path: Path, clock: SimClock, *, failures: int
) -> Iterator[Market]:
    """The small market with a new search for Moanin' on an empty catalog, and Discogs'
    search failing the next `failures` times (so its catalog seeding fails)."""
    with running_market(tmp_path, clock.now, telegram_clock=clock.timestamp) as market:
        engine = open_database(market.settings.database_url)
        with engine.begin() as conn:
            searches.add_search(conn, query="art blakey moanin", now=clock.now, chat_id=CHAT_ID)
        engine.dispose()
        market.discogs.fail_next(404, times=failures, path_contains="/database/search")
        yield market


async def test_a_search_whose_catalog_seeding_failed_is_seeded_when_discogs_is_back(
    tmp_path: Path, clock: SimClock
) -> None:
    # A new search on an empty catalog: its seeding from Discogs' search fails (Discogs
    # down), so listings cannot be identified yet. Once Discogs answers again the seeding
    # is tried again: the deal seen during the outage (Moanin' at 20.00, judged against
    # the empty catalog) is identified again and alerts, and so does one listed after.
    with new_search_while_discogs_fails(tmp_path, clock, failures=2) as market:
        daemon = Daemon(market.settings, clock=clock)
        await daemon.open()
        try:
            for _ in range(2):  # Discogs fails twice: at the first cycle and the next try
                await daemon.cycle()
                assert market.cards() == []  # nothing in the catalog to know the record by
                clock.advance(PREPARE_RETRY)
            market.ebay.add_items(
                [
                    make_item(
                        11,
                        "Art Blakey Moanin' LP Blue Note BLP 4003 VG+",
                        "40.00",
                        listed_at=clock.now - timedelta(seconds=30),
                    )
                ]
            )
            await daemon.cycle()
        finally:
            await daemon.close()
    alerted = Counter(
        item for c in market.cards() for item in (MOANIN, "286000000011") if item in c["text"]
    )
    assert alerted == {MOANIN: 1, "286000000011": 1}


async def test_a_deal_seen_while_seeding_failed_alerts_when_a_restarted_daemon_seeds(
    tmp_path: Path, clock: SimClock
) -> None:
    # The daemon is stopped while Discogs is still down; the one started after it seeds
    # the catalog and the deal it saw during the outage (Moanin' at 20.00) alerts, once.
    with new_search_while_discogs_fails(tmp_path, clock, failures=1) as market:
        first = Daemon(market.settings, clock=clock)
        await first.open()
        try:
            await first.cycle()
        finally:
            await first.close()
        assert market.cards() == []
        clock.advance(PREPARE_RETRY)
        second = Daemon(market.settings, clock=clock)
        await second.open()
        try:
            for _ in range(2):
                await second.cycle()
                clock.advance(PASS_EVERY)
        finally:
            await second.close()
    assert [c["text"].count(MOANIN) for c in market.cards()] == [1]
