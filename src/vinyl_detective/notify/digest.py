"""Digest mode: high-priority deals at once, the others in one summary per hour or day.

A channel whose URL carries `vd_digest=hourly|daily` (notify/channels.py) is wrapped in a
`DigestAwareChannel`. To the dispatcher it is an ordinary Channel with the same recipient
key, so the alert log's exactly-once claim is taken as usual; its `send` then either
delivers a HIGH-priority deal at once or queues the deal in `digest_queue`. Later,
`flush_digests` sends every digest channel whose period has elapsed one message listing
its queued deals (HTML e-mail with the plain-text part, Discord markdown, or text) and
marks them sent, so no deal appears in two digests of the same channel.

Wiring (the daemon):

    specs = channels_for_search(settings.apprise_urls, search)      # per deal
    channels = [channel_for_spec(s, engine=engine, clock=clock) for s in specs]
    await dispatcher.deliver(deal, channels, search_id=search.id)

    # once at start: every configured channel, kept for the whole run (it remembers
    # failed digest attempts to back off), then in each cycle:
    await flush_digests(engine, digest_channels, now)

`AlertRecipients.retry_pending` must rebuild the same wrapper (`channel_for_spec`) for an
"apprise:" recipient, so a re-sent low-priority deal is queued, not sent at once.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apprise import NotifyFormat
from sqlalchemy.engine import Engine

from vinyl_detective.domain.models import Deal, Priority
from vinyl_detective.errors import VinylDetectiveError
from vinyl_detective.notify.apprise_channel import AppriseChannel, saving_percent
from vinyl_detective.notify.cards import (
    DISCORD_MAX_LENGTH,
    PRIORITY_MARKERS,
    markdown_escape,
    markdown_url,
)
from vinyl_detective.notify.channels import (
    ChannelSpec,
    ChannelStyle,
    DigestPeriod,
    due_for_retry,
)
from vinyl_detective.storage import digests
from vinyl_detective.storage.digests import QueuedDeal

__all__ = [
    "INSTANT_PRIORITIES",
    "DigestAwareChannel",
    "channel_for_spec",
    "deal_summary",
    "flush_digests",
    "render_digest",
]

log = logging.getLogger(__name__)

# Deals of these priorities skip the digest and go out at once on every channel.
INSTANT_PRIORITIES = frozenset({Priority.HIGH})
TEXT_MAX_LENGTH = 4000  # Telegram's 4096 with room to spare; ntfy and Slack allow more
EMAIL_MAX_DEALS = 200
_TITLE_LIMIT = 160
_PERIOD_WORDS = {DigestPeriod.HOURLY: "the last hour", DigestPeriod.DAILY: "the last day"}


# --------------------------------------------------------------------------- the channel


class DigestAwareChannel:
    """A Channel that sends HIGH-priority deals at once and queues the rest for a digest."""

    def __init__(
        self,
        inner: AppriseChannel,
        period: DigestPeriod,
        *,
        engine: Engine,
        clock: Callable[[], datetime],
    ) -> None:
        self.inner = inner
        self.period = period
        self.engine = engine
        self.clock = clock
        # Failed digest deliveries in a row, and when the last one was: for the backoff.
        self.failures = 0
        self.last_failure: datetime | None = None

    @property
    def recipient(self) -> str:
        return self.inner.recipient

    @property
    def display(self) -> str:
        return self.inner.display

    def __repr__(self) -> str:
        return f"DigestAwareChannel({self.display!r}, {self.period.value})"

    async def send(self, deal: Deal) -> None:
        if deal.priority in INSTANT_PRIORITIES:
            await self.inner.send(deal)
            return
        with self.engine.begin() as conn:
            digests.enqueue(
                conn,
                self.recipient,
                deal.listing.item_id,
                deal_summary(deal),
                priority=deal.priority.value,
                now=self.clock(),
                deal_score=deal.score,
                occasion=digest_occasion(deal),
            )

    async def send_digest(self, items: Sequence[QueuedDeal]) -> None:
        """Deliver one summary of `items`; raises like `AppriseChannel.notify`."""
        title, body, body_format = render_digest(items, self.inner.style, self.period)
        await self.inner.notify(title, body, body_format)


def channel_for_spec(
    spec: ChannelSpec, *, engine: Engine, clock: Callable[[], datetime]
) -> AppriseChannel | DigestAwareChannel:
    """The Channel for a configured URL: digest-aware when the URL asks for a digest."""
    channel = AppriseChannel(spec)
    if spec.digest is None:
        return channel
    return DigestAwareChannel(channel, spec.digest, engine=engine, clock=clock)


# --------------------------------------------------------------------------- flushing


async def flush_digests(engine: Engine, channels: Iterable[object], now: datetime) -> int:
    """Send each digest channel whose period has elapsed one summary; returns how many went.

    A channel's period runs from its last digest (or, before the first, from its oldest
    waiting deal). Channels that are not digest channels are ignored. A failed delivery
    leaves the deals queued and is tried again with backoff; other channels go on.
    """
    sent = 0
    for channel in channels:
        if not isinstance(channel, DigestAwareChannel):
            continue
        if not due_for_retry(channel.failures, channel.last_failure, now):
            continue
        key = channel.recipient
        with engine.connect() as conn:
            items = digests.waiting(conn, key)
            if not items:
                continue
            since = digests.last_digest_at(conn, key) or digests.oldest_waiting_at(conn, key)
        if since is not None and now - since < channel.period.length:
            continue
        try:
            await channel.send_digest(items)
        except VinylDetectiveError as exc:
            channel.failures += 1
            channel.last_failure = now
            log.warning(
                "digest for %s (%d deals) not delivered, tried again later: %s",
                channel.display,
                len(items),
                exc,
            )
            continue
        channel.failures, channel.last_failure = 0, None
        with engine.begin() as conn:
            digests.mark_sent(conn, [item.id for item in items], now)
        log.info("digest sent to %s: %d deals", channel.display, len(items))
        sent += 1
    return sent


# --------------------------------------------------------------------------- rendering


def digest_occasion(deal: Deal) -> str:
    """A price drop's key in the digest queue (the deal was maybe in a digest already)."""
    if deal.previous_total is None:
        return ""
    return f"drop:{deal.previous_total.amount}>{deal.listing.total}"


def deal_summary(deal: Deal) -> dict[str, Any]:
    """What a digest shows of a deal, stored with it when it is queued (plain, unescaped)."""
    listing = deal.listing
    return {
        "release": " ".join(deal.release.display_name.split()),
        "title": " ".join(listing.title.split()),
        "total": str(deal.total),
        "reference": str(deal.reference),
        "reference_condition": deal.reference_condition,
        "percent": saving_percent(deal),
        "priority": deal.priority.value,
        "shipping_known": listing.shipping is not None,
        "link": listing.affiliate_url or listing.url or None,
        "link_label": "View on eBay" if listing.source == "ebay" else "View the listing",
        "dropped_from": str(deal.previous_total) if deal.previous_total else None,
    }


@dataclass(frozen=True, slots=True)
class _Line:
    """One queued deal's digest entry as plain text, before any format applies."""

    marker: str
    release: str
    listing_title: str
    price: str
    link: str | None
    link_label: str


def _line(item: QueuedDeal) -> _Line:
    s = item.summary
    try:
        marker = PRIORITY_MARKERS[Priority(str(s.get("priority", item.priority)))]
    except (ValueError, KeyError):
        marker = "•"
    grade = f" {s['reference_condition']}" if s.get("reference_condition") else ""
    shipping = "" if s.get("shipping_known", True) else " + shipping"
    price = (
        f"{s.get('total', '?')}{shipping}, {s.get('percent', 0)}% under "
        f"Discogs{grade} {s.get('reference', '?')}"
    )
    if s.get("dropped_from"):
        price = f"📉 price dropped from {s['dropped_from']}: {price}"
    link = s.get("link")
    return _Line(
        marker=marker,
        release=_shorten(str(s.get("release", item.item_id)), _TITLE_LIMIT),
        listing_title=_shorten(str(s.get("title", "")), _TITLE_LIMIT),
        price=price,
        link=str(link) if link else None,
        link_label=str(s.get("link_label") or "View the listing"),
    )


def render_digest(
    items: Sequence[QueuedDeal], style: ChannelStyle, period: DigestPeriod
) -> tuple[str, str, NotifyFormat]:
    """(title, body, body format) of one digest for a channel of `style`."""
    lines = [_line(item) for item in items]
    count = len(lines)
    noun = "deal" if count == 1 else "deals"
    title = f"Vinyl Detective {period.value} digest: {count} {noun}"
    heading = f"{count} {noun} from {_PERIOD_WORDS[period]}, best first"
    if style is ChannelStyle.EMAIL:
        return title, _render_html(lines, heading), NotifyFormat.HTML
    if style is ChannelStyle.DISCORD:
        # Discord counts the title against its 2000 characters: it goes in the body.
        body = _fit(
            f"**{markdown_escape(title)}**\n{markdown_escape(heading)}",
            [_md_entry(line) for line in lines],
            DISCORD_MAX_LENGTH,
            markdown_escape,
        )
        return "", body, NotifyFormat.MARKDOWN
    body = _fit(heading, [_text_entry(line) for line in lines], TEXT_MAX_LENGTH, str)
    if style is ChannelStyle.TELEGRAM:
        return "", f"{title}\n{body}", NotifyFormat.TEXT
    return title, body, NotifyFormat.TEXT


def _fit(heading: str, entries: list[str], limit: int, escape: Callable[[str], str]) -> str:
    """Heading plus as many entries as fit in `limit`, then how many were left out."""
    parts = [heading]
    length = len(heading)
    for shown, entry in enumerate(entries):
        after = len(entries) - shown - 1
        reserve = len(escape(f"…and {after} more")) + 2 if after else 0
        if length + 2 + len(entry) + reserve > limit:
            parts.append(escape(f"…and {len(entries) - shown} more"))
            break
        parts.append(entry)
        length += 2 + len(entry)
    return "\n\n".join(parts)


def _text_entry(line: _Line) -> str:
    rows = [f"{line.marker} {line.release}", f"   {line.listing_title}", f"   {line.price}"]
    if line.link:
        rows.append(f"   {line.link_label}: {line.link}")
    return "\n".join(rows)


def _md_entry(line: _Line) -> str:
    rows = [
        f"{line.marker} **{markdown_escape(line.release)}**",
        f"*{markdown_escape(line.listing_title)}*",
    ]
    price = markdown_escape(line.price)
    if line.link:
        price += f" · [{markdown_escape(line.link_label)}](<{markdown_url(line.link)}>)"
    rows.append(price)
    return "\n".join(rows)


def _render_html(lines: list[_Line], heading: str) -> str:
    esc = html.escape
    entries: list[str] = []
    for line in lines[:EMAIL_MAX_DEALS]:
        parts = [
            f"{esc(line.marker)} <b>{esc(line.release)}</b>",
            f"<i>{esc(line.listing_title)}</i>",
            esc(line.price),
        ]
        if line.link:
            href = esc(line.link, quote=True)
            # The link is also the visible text: the plain-text part keeps only visible text.
            parts.append(f'{esc(line.link_label)}: <a href="{href}">{href}</a>')
        entries.append("<li>" + "<br>\n".join(parts) + "</li>")
    left_out = len(lines) - len(entries)
    more = f"<p>…and {left_out} more</p>" if left_out > 0 else ""
    return (
        '<html><body><div style="font-family: sans-serif; line-height: 1.4">'
        f"<p>{esc(heading)}</p>\n<ol>\n" + "\n".join(entries) + f"\n</ol>{more}</div>"
        "</body></html>"
    )


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
