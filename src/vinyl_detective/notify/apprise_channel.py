"""Deal alerts through one Apprise URL: Discord, e-mail, Slack, ntfy, json:// and the rest.

    channel = AppriseChannel("discord://webhook_id/webhook_token")
    channel.recipient         # "apprise:3f9c…" — the alert-log key, never the URL itself
    await channel.send(deal)  # raises RetryableError / PermanentError when it did not arrive

Each service gets the card that renders best there (notify/cards.py):

- e-mail (`mailto://`, `mailtos://`): an HTML body; Apprise's e-mail plugin sends it as
  multipart/alternative and derives the text/plain part from the HTML itself. That
  conversion drops link targets, so the HTML shows the listing's link as visible text too.
- Discord: the Discord-markdown card (≤ 2000 characters) with no separate title, because
  Discord counts Apprise's title against the same 2000-character limit.
- Telegram (`tgram://`): the Telegram HTML card.
- everything else: the plain-text card, with a one-line title.

Apprise does not raise: it returns a result whose logs say what went wrong. A rejection
that retrying cannot fix (HTTP 400/401/403/404/410, e.g. a deleted webhook) becomes a
PermanentError — the alert is marked failed and shows in `status`; anything else (5xx,
429, timeouts, SMTP trouble) a RetryableError, retried later with backoff. Messages name
the channel only in redacted form (`describe`).
"""

from __future__ import annotations

import html
import logging
import re
from decimal import ROUND_HALF_UP, Decimal

from apprise import Apprise, AppriseAsset, NotifyFormat, PersistentStoreMode
from apprise.result import AppriseResult, AppriseResultStatus

from vinyl_detective.domain.models import Deal
from vinyl_detective.errors import PermanentError, RateLimitedError, RetryableError
from vinyl_detective.notify.cards import (
    PRIORITY_MARKERS,
    markdown_card,
    plain_text_card,
    telegram_card,
)
from vinyl_detective.notify.channels import (
    ChannelSpec,
    ChannelStyle,
    describe,
    parse_channel_url,
)

__all__ = [
    "SERVICE",
    "AppriseChannel",
    "deal_title",
    "describe",
    "email_html_card",
    "render_deal",
    "saving_percent",
    "scrub_secrets",
]

log = logging.getLogger(__name__)

SERVICE = "apprise"
DEFAULT_TIMEOUT = 30.0  # seconds for one delivery, whatever the service
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 410})
PERMANENT_ADVICE = (
    "check the URL's token/webhook and update it in APPRISE_URLS or the search's channels"
)
_TITLE_RELEASE_LIMIT = 120
_PROBLEM_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})
_STATUS_IN_LOG = re.compile(r"error=(\d{3})\b")


# --------------------------------------------------------------------------- rendering


def deal_title(deal: Deal) -> str:
    """A one-line title (the e-mail subject): what, how cheap, for how much."""
    marker = PRIORITY_MARKERS.get(deal.priority, "•")
    release = " ".join(deal.release.display_name.split())
    if len(release) > _TITLE_RELEASE_LIMIT:
        release = release[: _TITLE_RELEASE_LIMIT - 1].rstrip() + "…"
    title = f"{marker} {saving_percent(deal)}% under Discogs: {release} for {deal.total}"
    if deal.previous_total is not None:
        return f"📉 Price drop from {deal.previous_total}: {title}"
    return title


def email_html_card(deal: Deal) -> str:
    """The deal as an HTML e-mail body: the Telegram card's markup, plus the link as text.

    Every untrusted field is already escaped by `telegram_card`; the link is escaped here.
    """
    card = telegram_card(deal).replace("\n", "<br>\n")
    parts = [
        "<html><body>",
        f'<div style="font-family: sans-serif; line-height: 1.4">{card}</div>',
    ]
    link = deal.listing.affiliate_url or deal.listing.url
    if link:
        href = html.escape(link, quote=True)
        parts.append(f'<p style="font-size: small"><a href="{href}">{href}</a></p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def render_deal(deal: Deal, style: ChannelStyle) -> tuple[str, str, NotifyFormat]:
    """(title, body, body format) of `deal` for a channel of `style`."""
    if style is ChannelStyle.EMAIL:
        return deal_title(deal), email_html_card(deal), NotifyFormat.HTML
    if style is ChannelStyle.DISCORD:
        return "", markdown_card(deal), NotifyFormat.MARKDOWN
    if style is ChannelStyle.TELEGRAM:
        return "", telegram_card(deal), NotifyFormat.HTML
    return deal_title(deal), plain_text_card(deal), NotifyFormat.TEXT


def saving_percent(deal: Deal) -> int:
    """The saving as a whole percentage of the reference, as the cards show it."""
    if deal.reference.amount <= 0:
        return 0
    ratio = deal.saving.amount / deal.reference.amount * 100
    return int(ratio.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------- the channel


class AppriseChannel:
    """One Apprise URL as a `Channel` (notify/dispatch.py)."""

    def __init__(
        self,
        spec: ChannelSpec | str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        source: str = "APPRISE_URLS",
    ) -> None:
        """`spec` is a validated ChannelSpec, or a URL validated here (ConfigError if bad)."""
        self.spec = spec if isinstance(spec, ChannelSpec) else parse_channel_url(spec, source)
        self.timeout = timeout
        # Apprise's own retries stay off (retry=0 by default): the alert log retries, with
        # backoff, across restarts. Its persistent store stays off: no files written for us.
        self._apprise = Apprise(asset=AppriseAsset(storage_mode=PersistentStoreMode.MEMORY))
        if not self._apprise.add(self.spec.url):
            raise PermanentError(SERVICE, f"{self.spec.display} cannot be used by Apprise")

    @property
    def recipient(self) -> str:
        return self.spec.recipient

    @property
    def style(self) -> ChannelStyle:
        return self.spec.style

    @property
    def display(self) -> str:
        return self.spec.display

    def __repr__(self) -> str:
        return f"AppriseChannel({self.display!r})"

    async def send(self, deal: Deal) -> None:
        title, body, body_format = render_deal(deal, self.style)
        await self.notify(title, body, body_format)

    async def notify(self, title: str, body: str, body_format: NotifyFormat) -> None:
        """Deliver one message; raises RetryableError or PermanentError when it did not arrive."""
        try:
            result = await self._apprise.async_notify(
                body=body, title=title, body_format=body_format, timeout=self.timeout
            )
        except Exception as exc:  # Apprise catches plugin errors; this is a last guard
            raise RetryableError(
                SERVICE, f"{self.display}: delivery crashed ({type(exc).__name__})"
            ) from None
        if result:
            return
        raise self._failure(result)

    def _failure(self, result: AppriseResult) -> RetryableError | PermanentError:
        reason = self._reason(result)
        statuses = [int(m) for m in _STATUS_IN_LOG.findall(reason)]
        status = statuses[-1] if statuses else None
        where = self.display
        if result.status == AppriseResultStatus.NOMATCH:
            return PermanentError(SERVICE, f"{where}: no service to deliver to")
        if result.status == AppriseResultStatus.TIMEOUT:
            return RetryableError(SERVICE, f"{where}: no answer within {self.timeout:g}s")
        if status in PERMANENT_STATUSES:
            return PermanentError(
                SERVICE,
                f"{where} refused the alert for good ({reason}); {PERMANENT_ADVICE}",
                status=status,
            )
        if status == 429:
            return RateLimitedError(SERVICE, f"{where} is rate limiting us ({reason})")
        return RetryableError(SERVICE, f"{where} did not take the alert ({reason})", status=status)

    def _reason(self, result: AppriseResult) -> str:
        """The service's own words about the failure, with any secret of the URL masked."""
        messages: list[str] = []
        for service in result.results:
            for entry in service.logs():
                if entry.level in _PROBLEM_LEVELS and entry.message not in messages:
                    messages.append(str(entry.message))
        reason = " / ".join(messages[-2:]) or "no details"
        return scrub_secrets(reason, self.spec.url, keep=self.display)[:300]


def scrub_secrets(text: str, url: str, *, keep: str = "") -> str:
    """Mask every piece of `url` that could be a secret should Apprise have echoed it;
    pieces that also appear in `keep` (e.g. the URL's redacted display) are not secret."""
    pieces = {
        p
        for p in re.split(r"[/:@?&=#,]+", url.split("://", 1)[-1])
        if len(p) >= 6 and p not in keep
    }
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text
