"""Digest channels: high-priority deals at once, the rest in one summary per period.

The peers are real and local: a small HTTP server behind json:// and an SMTP server
(aiosmtpd) behind mailto://. Time is passed in; nothing sleeps.
"""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import (
    Deal,
    Listing,
    Match,
    MatchMethod,
    Money,
    Priority,
    Release,
)
from vinyl_detective.notify.channels import ChannelStyle, DigestPeriod, parse_channel_url
from vinyl_detective.notify.digest import (
    DigestAwareChannel,
    channel_for_spec,
    deal_summary,
    flush_digests,
    render_digest,
)
from vinyl_detective.notify.dispatch import AlertDispatcher, PriceDrop
from vinyl_detective.storage import alerts, digests
from vinyl_detective.storage.db import open_database
from vinyl_detective.storage.digests import QueuedDeal

HOUR = timedelta(hours=1)


def make_deal(
    n: int, priority: Priority = Priority.MEDIUM, price: str = "60.00", title: str = ""
) -> Deal:
    listing = Listing(
        item_id=f"v1|{n}|0",
        title=title or f"Blue Note LP number {n}",
        price=Decimal(price),
        currency="USD",
        shipping=Decimal("0"),
        url=f"https://www.ebay.com/itm/{n}",
        affiliate_url=f"https://www.ebay.com/itm/{n}?campid=5338&item={n}",
    )
    reference = Money(Decimal("100.00"), "USD")
    return Deal(
        listing=listing,
        release=Release(id=n, artist=f"Artist {n}", title=f"Album {n}"),
        match=Match(release_id=n, method=MatchMethod.CATALOG_NO, confidence=0.97),
        reference=reference,
        total=Money(listing.total, "USD"),
        score=float((reference.amount - listing.total) / reference.amount),
        priority=priority,
        reference_condition="VG+",
    )


@dataclass
class WebhookServer:
    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    state = WebhookServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            state.bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"json://127.0.0.1:{server.server_address[1]}/digest"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def digest_channel(url: str, engine: Engine, clock: Clock) -> DigestAwareChannel:
    channel = channel_for_spec(parse_channel_url(url), engine=engine, clock=clock)
    assert isinstance(channel, DigestAwareChannel)
    return channel


# --------------------------------------------------------------------------- behaviour


async def test_high_priority_deal_goes_out_at_once_on_a_digest_channel(
    webhook: WebhookServer, engine: Engine, now: datetime
) -> None:
    clock = Clock(now)
    channel = digest_channel(webhook.url + "?vd_digest=daily", engine, clock)

    await AlertDispatcher(engine, clock).deliver(make_deal(1, Priority.HIGH, "40.00"), [channel])

    (body,) = webhook.bodies
    assert "Artist 1 – Album 1" in body["message"]
    with engine.connect() as conn:
        assert digests.waiting(conn, channel.recipient) == []


async def test_lower_priority_deals_arrive_together_once_per_period(
    webhook: WebhookServer, engine: Engine, now: datetime
) -> None:
    clock = Clock(now)
    channel = digest_channel(webhook.url + "?vd_digest=hourly", engine, clock)
    dispatcher = AlertDispatcher(engine, clock)
    for n, price, minutes in ((1, "70.00", 0), (2, "62.00", 10), (3, "80.00", 20)):
        clock.now = now + timedelta(minutes=minutes)
        priority = Priority.MEDIUM if Decimal(price) <= 75 else Priority.LOW
        await dispatcher.deliver(make_deal(n, priority, price), [channel])
    assert webhook.bodies == []

    assert await flush_digests(engine, [channel], now + timedelta(minutes=59)) == 0
    assert await flush_digests(engine, [channel], now + HOUR) == 1
    assert await flush_digests(engine, [channel], now + HOUR + timedelta(minutes=5)) == 0

    (digest,) = webhook.bodies
    assert digest["title"] == "Vinyl Detective hourly digest: 3 deals"
    message = digest["message"]
    # Best deal first: 38% (n=2), then 30% (n=1), then 20% (n=3).
    order = [message.index(f"Artist {n} – Album {n}") for n in (2, 1, 3)]
    assert order == sorted(order)
    assert "https://www.ebay.com/itm/2?campid=5338&item=2" in message
    assert "62.00 USD, 38% under Discogs VG+ 100.00 USD" in message

    # The next period starts at the last digest: a new deal waits a full hour from it.
    clock.now = now + HOUR + timedelta(minutes=10)
    await dispatcher.deliver(make_deal(4, Priority.LOW, "85.00"), [channel])
    assert await flush_digests(engine, [channel], now + HOUR + timedelta(minutes=50)) == 0
    assert await flush_digests(engine, [channel], now + 2 * HOUR) == 1
    assert "Artist 4" in webhook.bodies[1]["message"]
    assert "Artist 1" not in webhook.bodies[1]["message"]
    with engine.connect() as conn:
        assert alerts.status_counts(conn) == {"sent": 4}


async def test_a_deal_is_never_in_two_digests_even_after_a_restart(
    webhook: WebhookServer, db_url: str, now: datetime
) -> None:
    url = webhook.url + "?vd_digest=daily"
    deal = make_deal(5, Priority.LOW, "90.00")
    for restart in range(2):
        clock = Clock(now + restart * 2 * timedelta(days=1))
        engine = open_database(db_url)
        channel = digest_channel(url, engine, clock)
        await AlertDispatcher(engine, clock).deliver(deal, [channel])
        await flush_digests(engine, [channel], clock.now + timedelta(days=1))
        engine.dispose()

    assert len(webhook.bodies) == 1
    assert "Artist 5" in webhook.bodies[0]["message"]


async def test_a_price_drop_lists_a_digested_deal_again_with_its_old_price(
    webhook: WebhookServer, engine: Engine, now: datetime
) -> None:
    clock = Clock(now)
    channel = digest_channel(webhook.url + "?vd_digest=daily", engine, clock)
    dispatcher = AlertDispatcher(engine, clock)
    await dispatcher.deliver(make_deal(6, Priority.LOW, "85.00"), [channel])
    assert await flush_digests(engine, [channel], now + timedelta(days=1)) == 1

    # The listing drops from 85 to 70: 15 points better, above the 10-point step.
    cheaper = replace(
        make_deal(6, Priority.MEDIUM, "70.00"), previous_total=Money(Decimal("85.00"), "USD")
    )
    clock.now = now + timedelta(days=1, hours=1)
    drop = PriceDrop(number=1, min_rise=0.10)
    await dispatcher.deliver(cheaper, [channel], drop=drop)
    await dispatcher.deliver(cheaper, [channel], drop=drop)  # the same drop seen again
    assert await flush_digests(engine, [channel], now + timedelta(days=2)) == 1

    assert len(webhook.bodies) == 2
    message = webhook.bodies[1]["message"]
    assert "Artist 6" in message
    assert "📉 price dropped from 85.00 USD: 70.00 USD, 30% under Discogs" in message


async def test_failed_digest_keeps_its_deals_and_is_tried_again_with_backoff(
    webhook: WebhookServer, engine: Engine, now: datetime
) -> None:
    clock = Clock(now)
    channel = digest_channel(webhook.url + "?vd_digest=hourly", engine, clock)
    await AlertDispatcher(engine, clock).deliver(make_deal(6, Priority.LOW, "85.00"), [channel])
    webhook.status = 500

    assert await flush_digests(engine, [channel], now + HOUR) == 0
    assert await flush_digests(engine, [channel], now + HOUR + timedelta(seconds=20)) == 0
    assert len(webhook.bodies) == 1  # the second flush waited instead of hammering

    webhook.status = 200
    assert await flush_digests(engine, [channel], now + HOUR + timedelta(minutes=1)) == 1
    assert "Artist 6" in webhook.bodies[-1]["message"]
    with engine.connect() as conn:
        assert digests.waiting(conn, channel.recipient) == []


async def test_channels_without_a_digest_are_left_to_the_dispatcher(
    webhook: WebhookServer, engine: Engine, now: datetime
) -> None:
    plain = channel_for_spec(parse_channel_url(webhook.url), engine=engine, clock=Clock(now))
    assert not isinstance(plain, DigestAwareChannel)
    assert await flush_digests(engine, [plain], now + HOUR) == 0


# --------------------------------------------------------------------------- e-mail


class MailBox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_port() -> Iterator[tuple[MailBox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


async def test_daily_email_digest_lists_every_deal_in_html_and_plain_text(
    smtp_port: tuple[MailBox, int], engine: Engine, now: datetime
) -> None:
    box, port = smtp_port
    clock = Clock(now)
    url = (
        f"mailto://127.0.0.1:{port}?mode=insecure&from=bot@example.com&to=me@example.com"
        "&vd_digest=daily"
    )
    channel = digest_channel(url, engine, clock)
    dispatcher = AlertDispatcher(engine, clock)
    await dispatcher.deliver(make_deal(7, title='<script>alert("x")</script> & LP'), [channel])
    await dispatcher.deliver(make_deal(8, Priority.LOW, "85.00"), [channel])

    assert await flush_digests(engine, [channel], now + timedelta(days=1)) == 1

    (envelope,) = box.envelopes
    assert isinstance(envelope.content, bytes)
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Vinyl Detective daily digest: 2 deals"
    plain, rich = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert rich is not None
    text, markup = plain.get_content(), rich.get_content()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; LP" in markup
    assert "<script>" not in markup
    assert '<script>alert("x")</script> & LP' in text
    for n in (7, 8):
        assert f"https://www.ebay.com/itm/{n}?campid=5338&item={n}" in text
        assert f'href="https://www.ebay.com/itm/{n}?campid=5338&amp;item={n}"' in markup


# --------------------------------------------------------------------------- rendering


def queued(deals: list[Deal], now: datetime) -> list[QueuedDeal]:
    return [
        QueuedDeal(i, "apprise:x", d.listing.item_id, deal_summary(d), "low", d.score, now)
        for i, d in enumerate(deals)
    ]


def test_discord_digest_fits_its_limit_and_says_how_many_more(now: datetime) -> None:
    deals = [make_deal(n, Priority.LOW, title="@everyone **" + "x" * 150) for n in range(40)]

    title, body, _ = render_digest(queued(deals, now), ChannelStyle.DISCORD, DigestPeriod.DAILY)

    assert title == ""
    assert len(body) <= 2000
    assert body.startswith("**Vinyl Detective daily digest: 40 deals**")
    shown = body.count("Artist ")
    assert 1 <= shown < 40
    assert body.rstrip().endswith(f"…and {40 - shown} more")
    assert "@everyone" not in body
    assert "\\*\\*xxx" in body


def test_text_digest_of_one_deal_reads_naturally(now: datetime) -> None:
    title, body, _ = render_digest(
        queued([make_deal(9)], now), ChannelStyle.TEXT, DigestPeriod.HOURLY
    )
    assert title == "Vinyl Detective hourly digest: 1 deal"
    assert body.splitlines()[0] == "1 deal from the last hour, best first"
    assert "View on eBay: https://www.ebay.com/itm/9?campid=5338&item=9" in body


def test_cleanup_forgets_old_digest_rows_but_remembers_the_last_digest(
    engine: Engine, now: datetime
) -> None:
    with engine.begin() as conn:
        for n in range(3):
            digests.enqueue(conn, "apprise:k", f"v1|{n}|0", {}, priority="low", now=now)
        ids = [item.id for item in digests.waiting(conn, "apprise:k")]
        digests.mark_sent(conn, ids, now)
        assert digests.delete_sent_before(conn, now + timedelta(days=90)) == 2
        assert digests.last_digest_at(conn, "apprise:k") == now
        # The newest row stays (it dates the last digest); the others may be queued anew.
        assert not digests.enqueue(conn, "apprise:k", "v1|2|0", {}, priority="low", now=now)
        assert digests.enqueue(conn, "apprise:k", "v1|0|0", {}, priority="low", now=now)
