"""A small, hand-made marketplace for end-to-end tests: three releases, five listings.

Two listings are real deals (Moanin' by catalog number, Kind of Blue by artist+title),
one is fairly priced, one is a decoy lot, one is an album not in the catalog.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vinyl_detective.config import Settings
from vinyl_detective.fakes.discogs import FakeDiscogs
from vinyl_detective.fakes.ebay import FakeEbay, make_item
from vinyl_detective.fakes.server import LoopbackServer
from vinyl_detective.fakes.telegram import FakeTelegram

CHAT_ID = 4242
TOKEN = "123456:TEST-TOKEN"


def release(
    rid: int,
    artist: str,
    title: str,
    label: str,
    catno: str,
    fmt: str,
    year: int,
    barcode: str | None = None,
) -> dict[str, Any]:
    return {
        "id": rid,
        "title": title,
        "artists": [{"name": artist, "anv": "", "join": "", "id": rid * 10}],
        "artists_sort": artist,
        "labels": [{"name": label, "catno": catno, "id": rid * 100}],
        "identifiers": [{"type": "Barcode", "value": barcode}] if barcode else [],
        "formats": [
            {"name": fmt, "qty": "1", "descriptions": ["LP" if fmt == "Vinyl" else "Album"]}
        ],
        "year": year,
        "released": str(year),
        "country": "US",
        "genres": ["Jazz"],
        "styles": [],
        "master_id": rid * 7,
        "status": "Accepted",
    }


def suggestions(vg_plus: float) -> dict[str, Any]:
    grades = {
        "Mint (M)": 2.0,
        "Near Mint (NM or M-)": 1.5,
        "Very Good Plus (VG+)": 1.0,
        "Very Good (VG)": 0.6,
        "Good Plus (G+)": 0.4,
        "Good (G)": 0.3,
        "Fair (F)": 0.2,
        "Poor (P)": 0.1,
    }
    return {name: {"currency": "USD", "value": round(vg_plus * f, 2)} for name, f in grades.items()}


RELEASES = [
    release(
        1001, "Art Blakey & The Jazz Messengers", "Moanin'", "Blue Note", "BLP 4003", "Vinyl", 1959
    ),
    release(1002, "Miles Davis", "Kind Of Blue", "Columbia", "CL 1355", "Vinyl", 1959),
    release(1003, "Nirvana", "Nevermind", "DGC", "DGCD-24425", "CD", 1991, "720642442524"),
]
PRICES = {1001: suggestions(120.0), 1002: suggestions(80.0), 1003: suggestions(12.0)}


def listings(now: datetime) -> list[dict[str, Any]]:
    at = [now - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)]
    return [
        make_item(
            1,
            "Art Blakey Moanin' LP Blue Note BLP 4003 VG+",
            "45.00",
            listed_at=at[0],
            shipping="5.00",
        ),
        make_item(
            2,
            "Miles Davis Kind Of Blue LP Columbia CL 1355 VG+",
            "75.00",
            listed_at=at[1],
            shipping="5.00",
        ),
        make_item(3, "Miles Davis - Kind of Blue LP 6-eye VG+ 🔥", "40.00", listed_at=at[2]),
        make_item(4, "Lot of 25 jazz LP records", "60.00", listed_at=at[3]),
        make_item(5, "John Coltrane Blue Train LP VG", "30.00", listed_at=at[4]),
    ]


DEAL_ITEMS = {"v1|286000000001|0", "v1|286000000003|0"}


@dataclass
class Market:
    ebay: FakeEbay
    discogs: FakeDiscogs
    telegram: FakeTelegram
    settings: Settings

    def cards(self) -> list[dict[str, Any]]:
        """Deal cards the bot sent (they are the messages with buttons)."""
        return [m for m in self.telegram.sent if m.get("reply_markup")]


@contextmanager
def running_market(
    tmp_path: Path,
    now: datetime,
    *,
    telegram_clock: Callable[[], float] = time.time,
    **overrides: Any,
) -> Iterator[Market]:
    """The fakes on loopback and the settings to reach them (`overrides` change those);
    `telegram_clock` is the fake Telegram's clock (its outages and message times)."""
    ebay = FakeEbay(listings(now), app_id="app", cert_id="cert")
    discogs = FakeDiscogs(RELEASES, price_suggestions=PRICES, token="discogs-token")
    telegram = FakeTelegram(TOKEN, clock=telegram_clock)
    servers = [LoopbackServer(fake.app) for fake in (ebay, discogs, telegram)]
    urls = [server.start() for server in servers]
    values: dict[str, Any] = {
        "discogs_token": "discogs-token",
        "ebay_app_id": "app",
        "ebay_cert_id": "cert",
        "telegram_token": TOKEN,
        "telegram_allowed_chat_ids": frozenset({CHAT_ID}),
        "database_url": f"sqlite:///{tmp_path / 'vd.db'}",
        "ebay_api_base_url": urls[0],
        "discogs_api_base_url": urls[1],
        "telegram_api_base_url": urls[2],
        "user_agent": "VinylDetectiveTests/1.0",
    }
    values.update(overrides)
    try:
        yield Market(ebay, discogs, telegram, Settings(**values))
    finally:
        for server in servers:
            server.stop()
