"""The demo marketplace: the real daemon against local fake eBay, Discogs and Telegram.

`vinyl-detective demo` needs no account: it serves the bundled sample market on
loopback ports, saves a few searches, and runs the daemon exactly as it runs against
the real services (only the base URLs and keys differ). Alerts are printed here and
collected in the fake Telegram's inbox page. New listings keep arriving while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import secrets
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel

from vinyl_detective.api.server import api_url
from vinyl_detective.clock import utcnow
from vinyl_detective.config import Settings
from vinyl_detective.daemon import Daemon
from vinyl_detective.domain.normalize import strip_disambiguation
from vinyl_detective.domain.query import query_matches
from vinyl_detective.fakes.discogs import FakeDiscogs
from vinyl_detective.fakes.ebay import FakeEbay
from vinyl_detective.fakes.faults import (
    FaultPlan,
    discogs_style,
    ebay_style,
    telegram_style,
    with_faults,
)
from vinyl_detective.fakes.sample_data import SampleMarket, arrivals, build_sample_market
from vinyl_detective.fakes.server import LoopbackServer
from vinyl_detective.fakes.telegram import FakeTelegram
from vinyl_detective.logs import ALERTS_LOGGER
from vinyl_detective.service import SearchService
from vinyl_detective.storage.db import open_database

DEMO_CHAT_ID = 4242
DEMO_WANTLIST_USER = "crate_digger_88"
DEMO_APP_ID = "demo-app-id"
DEMO_CERT_ID = "demo-cert-id"
DEMO_DISCOGS_TOKEN = "demo-discogs-token"  # noqa: S105 - the fake's public demo token
DEMO_TELEGRAM_TOKEN = "123456:DEMO-TOKEN"  # noqa: S105 - the fake's public demo token


# The sample market's listings reach three days back: let the new searches' backfills
# alert on all of it (live, only listings from the last day alert), all in the first cycle.
# The category streams are polled every 15 s at most, so arriving listings show up fast.
DEMO_SCHEDULE = {
    "backfill_alert_within": timedelta(days=4),
    "backfills_per_cycle": 10,
    "firehose_min_minutes": 0.25,
}


@dataclass
class FakeServices:
    """The three fakes, served on loopback, and their base URLs."""

    market: SampleMarket
    ebay: FakeEbay
    discogs: FakeDiscogs
    telegram: FakeTelegram
    ebay_url: str
    discogs_url: str
    telegram_url: str


@contextlib.contextmanager
def serve_fakes(port: int = 0, faults: FaultPlan | None = None) -> Iterator[FakeServices]:
    """Start the fakes filled with the sample market; ports `port`, +1, +2 (0: any free).

    With `faults`, each fake answers that share of requests with the failures its real
    service makes (fakes/faults.py)."""
    market = build_sample_market(now=utcnow())
    ebay = FakeEbay(market.items, app_id=DEMO_APP_ID, cert_id=DEMO_CERT_ID)
    # The demo's Discogs allows 600 requests a minute (the real one: 60), so the demo is
    # lively; the client learns the limit from the rate-limit headers, as it would live.
    discogs = FakeDiscogs(
        market.releases,
        price_suggestions=market.price_suggestions,
        # A wantlist to try `sync-wantlist crate_digger_88` on: every 40th release.
        wants={DEMO_WANTLIST_USER: [r["id"] for r in market.releases[::40]]},
        token=DEMO_DISCOGS_TOKEN,
        rate_limit=600,
    )
    telegram = FakeTelegram(DEMO_TELEGRAM_TOKEN)
    apps = (
        with_faults(ebay.app, faults, ebay_style(ebay)),
        with_faults(discogs.app, faults, discogs_style(discogs.rate_limit)),
        with_faults(telegram.app, faults, telegram_style()),
    )
    servers = [LoopbackServer(app, port=port + i if port else 0) for i, app in enumerate(apps)]
    urls = [server.start() for server in servers]
    try:
        yield FakeServices(market, ebay, discogs, telegram, *urls)
    finally:
        for server in servers:
            server.stop()


def demo_settings(
    fakes: FakeServices,
    data_dir: Path,
    *,
    api_host: str = "127.0.0.1",
    admin_token: str | None = None,
) -> Settings:
    return Settings(
        discogs_token=DEMO_DISCOGS_TOKEN,
        ebay_app_id=DEMO_APP_ID,
        ebay_cert_id=DEMO_CERT_ID,
        telegram_token=DEMO_TELEGRAM_TOKEN,
        telegram_allowed_chat_ids=frozenset({DEMO_CHAT_ID}),
        ebay_campaign_id="5338000000",
        database_url=f"sqlite:///{data_dir / 'demo.db'}",
        poll_minutes=1,
        ebay_api_base_url=fakes.ebay_url,
        discogs_api_base_url=fakes.discogs_url,
        telegram_api_base_url=fakes.telegram_url,
        user_agent="VinylDetectiveDemo/0.1",
        admin_token=admin_token or secrets.token_urlsafe(12),
        api_host=api_host,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_queries(market: SampleMarket, count: int = 6) -> list[str]:
    """The artists with the most listings in the sample market: good demo searches."""
    artists = {r["id"]: strip_disambiguation(r["artists"][0]["name"]) for r in market.releases}
    tally = Counter(artists[rid] for rid in market.truth.values() if rid is not None)
    return [artist.lower() for artist, _ in tally.most_common(count)]


def plain_text(telegram_html: str) -> str:
    """A Telegram HTML card as console text."""
    text = re.sub(r"<a href=\"([^\"]*)\">([^<]*)</a>", r"\2 (\1)", telegram_html)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _reset(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    for leftover in data_dir.glob("demo.db*"):
        leftover.unlink()  # the demo always starts from a fresh market


def _save_demo_searches(settings: Settings, market: SampleMarket, console: Console) -> None:
    engine = open_database(settings.database_url)
    service = SearchService(engine, utcnow, default_poll_minutes=settings.poll_minutes)
    for query in demo_queries(market):
        service.add(query, chat_id=DEMO_CHAT_ID)
        console.print(f"Saved search: [bold]{query}[/bold]")
    engine.dispose()


async def _print_alerts(fakes: FakeServices, console: Console, stop: asyncio.Event) -> None:
    """Show each deal card the bot sends, as it arrives in the fake Telegram."""
    shown = 0
    while True:
        sent = fakes.telegram.sent
        for message in sent[shown:]:
            if message.get("reply_markup"):  # deal cards carry the Track/Bought buttons
                console.print(Panel(plain_text(message["text"]), border_style="green"))
        shown = len(sent)
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)


async def run_demo(
    stop: asyncio.Event,
    *,
    once: bool,
    data_dir: Path,
    console: Console,
    force: asyncio.Event | None = None,
    faults: FaultPlan | None = None,
    api_port: int | None = None,
    api_host: str = "127.0.0.1",
    admin_token: str | None = None,
) -> None:
    """The demo until `stop`; `once`: one cycle. The dashboard is served on `api_port` at
    `api_host` (any free loopback port when None), signed in with `admin_token` (a new
    one each run when None)."""
    await asyncio.to_thread(_reset, data_dir)
    # The cards are the show: one log line per event would drown them, and the line per
    # alert sent would repeat them.
    logging.getLogger("vinyl_detective.events").setLevel(logging.WARNING)
    logging.getLogger(ALERTS_LOGGER).setLevel(logging.WARNING)
    with serve_fakes(faults=faults) as fakes:
        settings = demo_settings(fakes, data_dir, api_host=api_host, admin_token=admin_token)
        console.print(
            Panel.fit(
                f"Demo marketplace: {len(fakes.market.releases)} Discogs releases, "
                f"{len(fakes.market.items)} eBay listings.\n"
                f"fake eBay     {fakes.ebay_url}\nfake Discogs  {fakes.discogs_url}\n"
                f"fake Telegram {fakes.telegram_url}  (open it in a browser: the bot's inbox)",
                title="Vinyl Detective demo",
            )
        )
        _save_demo_searches(settings, fakes.market, console)
        api_port = None if once else api_port or free_port()
        if api_port is not None:
            token = (
                "your ADMIN_TOKEN"
                if admin_token
                else f"the demo's admin token: {settings.admin_token}"
            )
            console.print(
                Panel.fit(
                    f"Dashboard and admin API: {api_url(api_host, api_port)}\nSign in with {token}",
                    title="Dashboard",
                )
            )
        printing = asyncio.Event()
        printer = asyncio.create_task(_print_alerts(fakes, console, printing))
        feeder = None if once else asyncio.create_task(_feed_new_listings(fakes, stop))
        if not once:
            fakes.telegram.push_message(DEMO_CHAT_ID, "/start")
            fakes.telegram.push_message(DEMO_CHAT_ID, "/my_searches")
        try:
            await Daemon(settings, tick_seconds=5, scheduler_options=DEMO_SCHEDULE).run(
                stop, once=once, api_port=api_port, force=force
            )
        finally:
            printing.set()
            await printer
            if feeder is not None:
                feeder.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feeder
        cards = sum(1 for m in fakes.telegram.sent if m.get("reply_markup"))
        where = "" if once else f" (the inbox was {fakes.telegram_url})"
        console.print(f"[bold]{cards} deal alert(s)[/bold] sent to the demo chat{where}.")
        if faults is not None:
            console.print(f"Failures the fakes made: {faults.summary()}", highlight=False)


async def _feed_new_listings(fakes: FakeServices, stop: asyncio.Event) -> None:
    """New listings keep appearing on the fake eBay, a few every few seconds; one of each
    few is by an artist the demo watches, so the watcher has something to find."""
    stream = arrivals(fakes.market, seed=11, start=utcnow(), per_hour=1200)
    queries = demo_queries(fakes.market)

    def watched(item: dict[str, Any]) -> bool:
        return any(query_matches(q, item["title"]) for q in queries)

    while not stop.is_set():
        batch = [next(stream), next(stream)]
        batch.append(next(item for item in stream if watched(item)))
        fakes.ebay.add_items(batch)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=8)


async def serve_fakes_forever(
    stop: asyncio.Event, *, port: int, console: Console, faults: FaultPlan | None = None
) -> None:
    with serve_fakes(port, faults) as fakes:
        if faults is not None:
            console.print(
                f"Failing {faults.rate:.0%} of requests the way the real services fail "
                f"(seed {faults.seed}); the fake Telegram goes down on "
                f"POST {fakes.telegram_url}/fake/down?seconds=60.",
                highlight=False,
            )
        console.print(
            "Fake eBay, Discogs and Telegram are running. Point a daemon at them with these\n"
            "lines in its .env (Ctrl+C stops the fakes):\n",
            highlight=False,
        )
        # Plain lines, so they copy and paste as they are.
        print(
            f"EBAY_API_BASE_URL={fakes.ebay_url}\nEBAY_APP_ID={DEMO_APP_ID}\n"
            f"EBAY_CERT_ID={DEMO_CERT_ID}\nDISCOGS_API_BASE_URL={fakes.discogs_url}\n"
            f"DISCOGS_TOKEN={DEMO_DISCOGS_TOKEN}\nTELEGRAM_API_BASE_URL={fakes.telegram_url}\n"
            f"TELEGRAM_TOKEN={DEMO_TELEGRAM_TOKEN}\nTELEGRAM_ALLOWED_CHAT_IDS={DEMO_CHAT_ID}",
            flush=True,
        )
        console.print(
            f"\nThe bot's inbox: {fakes.telegram_url}/\n"
            f"A Discogs wantlist to try: vinyl-detective sync-wantlist {DEMO_WANTLIST_USER}",
            highlight=False,
        )
        await stop.wait()
