"""Deal alerts through Apprise: e-mail, Discord, json:// and form:// webhooks, on loopback.

Every peer here is real and local: an SMTP server (aiosmtpd) and a small HTTP server that
records what it receives. Discord's host is fixed inside Apprise, so its plugin is pointed
at the local server through the plugin's endpoint attribute — the request it builds is the
one Discord would get.
"""

from __future__ import annotations

import asyncio
import email
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from apprise.plugins.discord import NotifyDiscord
from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import (
    Deal,
    Listing,
    Match,
    MatchMethod,
    Money,
    Priority,
    Release,
    SavedSearch,
)
from vinyl_detective.errors import ConfigError, PermanentError, RetryableError
from vinyl_detective.notify.apprise_channel import AppriseChannel, describe
from vinyl_detective.notify.channels import (
    ChannelStyle,
    DigestPeriod,
    channels_for_search,
    due_for_retry,
    parse_channel_url,
    parse_channel_urls,
    retry_delay,
)
from vinyl_detective.notify.dispatch import AlertDispatcher
from vinyl_detective.storage import alerts
from vinyl_detective.storage.db import open_database

HOSTILE_TITLE = 'Art Blakey Moanin\' <b>RARE</b> & "MINT" LP BLP 4003'
AFFILIATE = "https://www.ebay.com/itm/286012345678?mkcid=1&mkrid=711-53200-19255-0&campid=5338"


def make_deal(item_id: str = "v1|286012345678|0", **changes: Any) -> Deal:
    listing = Listing(
        item_id=item_id,
        title=HOSTILE_TITLE,
        price=Decimal("45.00"),
        currency="USD",
        shipping=Decimal("5.99"),
        condition="Used",
        seller_username="crate_digger_88",
        url="https://www.ebay.com/itm/286012345678",
        affiliate_url=AFFILIATE,
    )
    listing = replace(listing, **changes)
    reference = Money(Decimal("90.00"), "USD")
    return Deal(
        listing=listing,
        release=Release(id=2825456, artist="Art Blakey & The Jazz Messengers", title="Moanin'"),
        match=Match(release_id=2825456, method=MatchMethod.CATALOG_NO, confidence=0.98),
        reference=reference,
        total=Money(listing.total, "USD"),
        score=float((reference.amount - listing.total) / reference.amount),
        priority=Priority.HIGH,
        reference_condition="VG+",
    )


# --------------------------------------------------------------------------- local peers


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class WebhookServer:
    """Records every request; answers with the status set for its path (default 200)."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)  # seconds before answering
    arrived: threading.Event = field(default_factory=threading.Event)  # any request came

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    state = WebhookServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            parts = urlsplit(self.path)
            state.received.append(
                Received(
                    parts.path,
                    parse_qs(parts.query),
                    self.headers.get("Content-Type", ""),
                    self.rfile.read(length),
                )
            )
            state.arrived.set()
            status = state.statuses.get(parts.path, 200)
            time.sleep(state.delays.get(parts.path, 0.0))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            if status != 204:
                self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


class MailBox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        out = []
        for envelope in self.envelopes:
            content = envelope.content
            assert isinstance(content, bytes)
            message = email.message_from_bytes(content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            out.append(message)
        return out


@pytest.fixture
def smtp() -> Iterator[tuple[MailBox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def mail_url(port: int, extra: str = "") -> str:
    return f"mailto://127.0.0.1:{port}?mode=insecure&from=bot@example.com&to=me@example.com{extra}"


# --------------------------------------------------------------------------- e-mail


async def test_email_alert_has_an_html_part_and_a_plain_text_part_with_the_link(
    smtp: tuple[MailBox, int],
) -> None:
    box, port = smtp
    channel = AppriseChannel(mail_url(port))
    assert channel.style is ChannelStyle.EMAIL

    await channel.send(make_deal())

    (message,) = box.messages()
    subject = str(message["Subject"])
    assert "Art Blakey & The Jazz Messengers – Moanin'" in subject
    assert "43% under Discogs" in subject
    assert "50.99 USD" in subject
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None
    assert rich is not None
    text, markup = plain.get_content(), rich.get_content()
    # The seller's markup arrives as text: escaped in HTML, verbatim in the plain part.
    assert "&lt;b&gt;RARE&lt;/b&gt; &amp; &quot;MINT&quot;" in markup
    assert "<b>RARE</b>" not in markup
    assert '<b>RARE</b> & "MINT"' in text
    # The affiliate link is clickable in HTML and readable in the plain-text part.
    assert 'href="https://www.ebay.com/itm/286012345678?mkcid=1&amp;mkrid=' in markup
    assert AFFILIATE in text
    assert "Saving: 39.01 USD (43%)" in text


async def test_email_to_a_server_that_is_down_is_retryable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    channel = AppriseChannel(mail_url(dead_port), timeout=5)
    with pytest.raises(RetryableError) as caught:
        await channel.send(make_deal())
    assert not isinstance(caught.value, PermanentError)
    assert "mailto://127.0.0.1" in str(caught.value)


# --------------------------------------------------------------------------- webhooks


async def test_json_webhook_gets_the_plain_text_card_with_a_title(webhook: WebhookServer) -> None:
    channel = AppriseChannel(f"json://{webhook.url}/hooks/deals")

    await channel.send(make_deal())

    (request,) = webhook.at("/hooks/deals")
    payload = request.json()
    assert payload["title"].startswith("🔥 43% under Discogs: Art Blakey")
    assert HOSTILE_TITLE in payload["message"]
    assert f"View on eBay: {AFFILIATE}" in payload["message"]
    assert "Price: 45.00 USD + 5.99 USD shipping = 50.99 USD" in payload["message"]


async def test_form_webhook_gets_title_and_message_fields(webhook: WebhookServer) -> None:
    channel = AppriseChannel(f"form://{webhook.url}/hooks/form")

    await channel.send(make_deal())

    (request,) = webhook.at("/hooks/form")
    assert request.content_type.startswith("application/x-www-form-urlencoded")
    fields = request.form()
    assert "Moanin'" in fields["title"]
    assert AFFILIATE in fields["message"]


async def test_discord_gets_escaped_markdown_without_a_title_within_its_limit(
    webhook: WebhookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(NotifyDiscord, "notify_url", f"http://{webhook.url}/api/webhooks")
    webhook.statuses["/api/webhooks/112233/discord-token-abc"] = 204
    channel = AppriseChannel("discord://112233/discord-token-abc")
    assert channel.style is ChannelStyle.DISCORD

    await channel.send(make_deal(title="@everyone " + "**RARE** " * 400))

    (request,) = webhook.at("/api/webhooks/112233/discord-token-abc")
    content = request.json()["content"]
    assert len(content) <= 2000
    assert content.startswith("🔥 HIGH priority deal")
    assert "@\u200beveryone" in content
    assert "@everyone" not in content
    assert "\\*\\*RARE\\*\\*" in content


async def test_digest_option_never_reaches_the_service(webhook: WebhookServer) -> None:
    spec = parse_channel_url(f"json://{webhook.url}/hooks/d?vd_digest=daily&-source=vd")
    assert spec.digest is DigestPeriod.DAILY
    assert "vd_digest" not in spec.url

    await AppriseChannel(spec).send(make_deal())

    (request,) = webhook.at("/hooks/d")
    assert request.query == {"source": ["vd"]}


# --------------------------------------------------------------------------- delivery


async def test_each_channel_is_alerted_once_per_listing_even_after_a_restart(
    webhook: WebhookServer, db_url: str, now: datetime
) -> None:
    urls = [f"json://{webhook.url}/a", f"form://{webhook.url}/b"]
    deal = make_deal()

    first = open_database(db_url)
    sent = await AlertDispatcher(first, lambda: now).deliver(
        deal, [AppriseChannel(u) for u in urls]
    )
    first.dispose()
    second = open_database(db_url)
    again = await AlertDispatcher(second, lambda: now).deliver(
        deal, [AppriseChannel(u) for u in urls]
    )
    second.dispose()

    assert (sent, again) == (2, 0)
    assert len(webhook.at("/a")) == 1
    assert len(webhook.at("/b")) == 1


async def test_a_stop_while_an_alert_is_on_its_way_waits_for_the_answer_and_records_it(
    webhook: WebhookServer, engine: Engine, now: datetime
) -> None:
    # The receiver has the alert, its answer is slow, and the daemon stops meanwhile: the
    # alert is recorded as sent (the next start must not send it again).
    webhook.delays["/slow"] = 0.5
    channel = AppriseChannel(f"json://{webhook.url}/slow")
    delivering = asyncio.create_task(
        AlertDispatcher(engine, lambda: now).deliver(make_deal(), [channel])
    )
    assert await asyncio.to_thread(webhook.arrived.wait, 10)
    delivering.cancel()

    with pytest.raises(asyncio.CancelledError):
        await delivering  # the stop still goes on
    with engine.connect() as conn:
        assert alerts.status_counts(conn) == {"sent": 1}
    assert len(webhook.at("/slow")) == 1


async def test_failing_channel_is_retried_with_backoff_while_the_other_gets_its_alert(
    webhook: WebhookServer, engine: Engine, now: datetime
) -> None:
    webhook.statuses["/broken"] = 500
    healthy = AppriseChannel(f"json://{webhook.url}/ok")
    broken = AppriseChannel(f"json://{webhook.url}/broken")
    dispatcher = AlertDispatcher(engine, lambda: now)
    deal = make_deal()

    assert await dispatcher.deliver(deal, [broken, healthy]) == 1

    assert len(webhook.at("/ok")) == 1
    with engine.connect() as conn:
        (waiting,) = alerts.pending(conn)
    assert waiting.recipient == broken.recipient
    assert waiting.attempts == 1
    # Backoff: not again within the first minute, then allowed.
    assert not due_for_retry(waiting.attempts, now, now + timedelta(seconds=30))
    assert due_for_retry(waiting.attempts, now, now + timedelta(minutes=1))

    webhook.statuses["/broken"] = 200
    assert await dispatcher.resend(deal, broken)
    with engine.connect() as conn:
        assert alerts.status_counts(conn) == {"sent": 2}
    assert len(webhook.at("/broken")) == 2
    assert len(webhook.at("/ok")) == 1


async def test_channel_that_refuses_for_good_is_failed_and_shown_without_secrets(
    webhook: WebhookServer, engine: Engine, now: datetime
) -> None:
    webhook.statuses["/gone"] = 404
    channel = AppriseChannel(f"json://hook-user:hunter2-secret@{webhook.url}/gone")

    assert await AlertDispatcher(engine, lambda: now).deliver(make_deal(), [channel]) == 0

    with engine.connect() as conn:
        assert alerts.pending(conn) == []
        ((recipient, item_id, error),) = alerts.recent_failures(conn)
    assert (recipient, item_id) == (channel.recipient, "v1|286012345678|0")
    assert error is not None
    assert "404" in error
    assert "json://hook-user:****@127.0.0.1" in error
    assert "hunter2-secret" not in error
    assert "hunter2-secret" not in recipient


async def test_server_error_is_retryable_and_not_found_is_permanent(
    webhook: WebhookServer,
) -> None:
    webhook.statuses["/busy"] = 503
    webhook.statuses["/missing"] = 404
    with pytest.raises(RetryableError):
        await AppriseChannel(f"json://{webhook.url}/busy").send(make_deal())
    with pytest.raises(PermanentError):
        await AppriseChannel(f"json://{webhook.url}/missing").send(make_deal())


# --------------------------------------------------------------------------- configuration


def test_unparseable_url_is_rejected_naming_the_setting_without_its_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_channel_urls(["ntfy://alerts", "discord://webhook-id-but-no-token-secret"])
    message = str(caught.value)
    assert "APPRISE_URLS" in message
    assert "discord://" in message
    assert "no-token-secret" not in message


def test_unknown_digest_period_is_rejected_with_the_accepted_values() -> None:
    with pytest.raises(ConfigError, match="vd_digest=hourly, vd_digest=daily"):
        parse_channel_url("ntfy://alerts?vd_digest=weekly")


def test_channel_is_known_by_a_stable_key_and_shown_redacted() -> None:
    url = "discord://998877/very-secret-webhook-token"
    spec = parse_channel_url(url)
    assert spec.recipient == parse_channel_url(url).recipient
    assert spec.recipient.startswith("apprise:")
    assert "very-secret-webhook-token" not in spec.recipient + spec.display + repr(spec)
    mail = describe("mailtos://me:app-password@smtp.example.com?to=me@example.com")
    assert "app-password" not in mail
    assert mail.startswith("mailtos://me:****@smtp.example.com")


def test_search_channels_add_to_the_global_ones_and_decide_their_own_digest() -> None:
    shared = "ntfy://vinyl-deals"
    search = SavedSearch(
        id=7,
        query="blue note",
        channels=(shared + "?vd_digest=hourly", "json://127.0.0.1:9/own", "nonsense"),
    )

    specs = channels_for_search(["discord://1/tok", shared], search)

    shown = [s.display for s in specs]
    assert shown == ["discord://1...1/t...k/", "ntfys://vinyl-deals", "json://127.0.0.1:9/own"]
    assert [s.digest for s in specs] == [None, DigestPeriod.HOURLY, None]
    assert channels_for_search(["discord://1/tok"], None)[0].digest is None
    with pytest.raises(ConfigError, match="search 7 channels"):
        channels_for_search([], search, strict=True)


def test_retry_waits_grow_and_are_capped_at_a_quarter_hour() -> None:
    waits = [retry_delay(n) for n in range(1, 8)]
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert waits[4] == waits[5] == waits[6] == timedelta(minutes=15)
    assert retry_delay(10_000) == timedelta(minutes=15)
    assert retry_delay(0) == timedelta(0)
