"""`vinyl-detective test-alert`: a sample deal card to every configured channel.

Every Telegram chat (TELEGRAM_ALLOWED_CHAT_IDS and the owners of saved searches), every
APPRISE_URLS entry and every search's own `--notify` URL gets the same sample card, sent
at once (a digest channel too), without buttons and without touching the alert log. Each
channel's outcome comes back as one `ChannelCheck`: delivered, or what went wrong and
what to fix. Channels are named only in redacted form (Apprise URLs hold tokens and
passwords; the bot token is never shown).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from telegram import Bot
from telegram.error import TelegramError

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
from vinyl_detective.errors import (
    AuthError,
    ConfigError,
    PermanentError,
    RecipientBlockedError,
    VinylDetectiveError,
)
from vinyl_detective.notify.apprise_channel import (
    PERMANENT_ADVICE,
    AppriseChannel,
    scrub_secrets,
)
from vinyl_detective.notify.channels import ChannelSpec, parse_channel_url
from vinyl_detective.notify.telegram import TelegramNotifier, sending_bot, translate_error

__all__ = ["TEST_ITEM_ID", "ChannelCheck", "check_channels", "sample_deal"]

TEST_ITEM_ID = "vinyl-detective-test-alert"
TEST_TIMEOUT = 20.0  # seconds per Apprise channel: a test should not hang for long


@dataclass(frozen=True, slots=True)
class ChannelCheck:
    """One channel's outcome: `channel` is a redacted name; `fix` is set when it failed."""

    channel: str
    delivered: bool
    detail: str = "delivered"
    fix: str | None = None


def sample_deal(now: datetime) -> Deal:
    """A realistic card that says plainly it is a test, not a listing to buy."""
    listing = Listing(
        item_id=TEST_ITEM_ID,
        title="TEST ALERT from Vinyl Detective: this is how a deal looks (not a real listing)",
        price=Decimal("45.00"),
        currency="USD",
        shipping=Decimal("5.00"),
        condition="Used",
        seller_username="vinyl_detective_test",
        seller_feedback_pct=100.0,
        seller_feedback_score=1,
        url="https://www.ebay.com/",
        listed_at=now,
        ends_at=now + timedelta(days=7),
    )
    reference = Money(Decimal("90.00"), "USD")
    total = Money(listing.total, "USD")
    return Deal(
        listing=listing,
        release=Release(id=2825456, artist="Art Blakey & The Jazz Messengers", title="Moanin'"),
        match=Match(release_id=2825456, method=MatchMethod.CATALOG_NO, confidence=0.98),
        reference=reference,
        total=total,
        score=float((reference.amount - total.amount) / reference.amount),
        priority=Priority.HIGH,
        reference_condition="VG+",
    )


@dataclass(frozen=True, slots=True)
class _AppriseTarget:
    """One channel URL with where it was configured ("APPRISE_URLS", "search #3")."""

    sources: tuple[str, ...]
    spec: ChannelSpec | None = None
    problem: str | None = None


async def check_channels(
    *,
    telegram_token: str,
    telegram_base_url: str,
    chat_ids: Iterable[int],
    chat_states: Mapping[int, tuple[bool, bool]],
    apprise_urls: Sequence[str],
    searches: Sequence[SavedSearch],
    clock: Callable[[], datetime],
    apprise_timeout: float = TEST_TIMEOUT,
) -> list[ChannelCheck]:
    """Send the sample card everywhere; one check per channel, Telegram chats first.

    `chat_states` is (paused, blocked) per chat as the database knows it: a chat that gets
    the card but will not get deals is told so.
    """
    deal = sample_deal(clock())
    urls = [*apprise_urls, *(url for search in searches for url in search.channels)]
    checks: list[ChannelCheck] = []
    if telegram_token:
        checks += await _check_telegram(
            telegram_token, telegram_base_url, sorted(set(chat_ids)), chat_states, deal
        )
    targets = _apprise_targets(apprise_urls, searches)
    checks += await asyncio.gather(*(_check_apprise(t, deal, apprise_timeout) for t in targets))
    return [_scrubbed(check, telegram_token, urls) for check in checks]


# --------------------------------------------------------------------------- Telegram


async def _check_telegram(
    token: str,
    base_url: str,
    chat_ids: list[int],
    chat_states: Mapping[int, tuple[bool, bool]],
    deal: Deal,
) -> list[ChannelCheck]:
    if not chat_ids:
        return [
            ChannelCheck(
                "Telegram",
                False,
                "no chat to send to",
                "list your chat id in TELEGRAM_ALLOWED_CHAT_IDS (ask @userinfobot for it)",
            )
        ]
    bot: Bot = sending_bot(token, base_url)
    try:
        await bot.initialize()  # getMe: is the token good at all?
    except TelegramError as exc:
        error = translate_error(exc)
        fix = (
            "check TELEGRAM_TOKEN: @BotFather shows it (/mybots → API Token)"
            if isinstance(error, AuthError)
            else "check the network, and TELEGRAM_API_BASE_URL if you set it"
        )
        return [ChannelCheck(f"Telegram chat {c}", False, _words(error), fix) for c in chat_ids]
    try:
        notifier = TelegramNotifier(bot)
        results = await asyncio.gather(
            *(
                _send_telegram(notifier, c, chat_states.get(c, (False, False)), deal)
                for c in chat_ids
            )
        )
    finally:
        await bot.shutdown()
    return list(results)


async def _send_telegram(
    notifier: TelegramNotifier, chat_id: int, state: tuple[bool, bool], deal: Deal
) -> ChannelCheck:
    name = f"Telegram chat {chat_id}"
    try:
        await notifier.send_deal(chat_id, deal, buttons=False)
    except RecipientBlockedError as exc:
        return ChannelCheck(
            name,
            False,
            _words(exc).partition("; ")[0],  # "chat 5 refuses the bot (Forbidden: …)"
            f"open the bot in chat {chat_id} and send /start (a bot may not write first), "
            "or remove the id from TELEGRAM_ALLOWED_CHAT_IDS",
        )
    except PermanentError as exc:
        return ChannelCheck(
            name,
            False,
            _words(exc),
            "check the id in TELEGRAM_ALLOWED_CHAT_IDS (ask @userinfobot; a group's id starts "
            "with -100) and that the chat has written to the bot once",
        )
    except VinylDetectiveError as exc:
        return ChannelCheck(
            name, False, _words(exc), "Telegram did not answer: check the network and try again"
        )
    paused, blocked = state
    if blocked:
        return ChannelCheck(
            name,
            True,
            "delivered, but deals are not sent here: Telegram refused an earlier alert",
            "send /start to the bot in this chat to get deals again",
        )
    if paused:
        return ChannelCheck(
            name, True, "delivered, but alerts are paused here (/pause)", "send /resume"
        )
    return ChannelCheck(name, True)


# --------------------------------------------------------------------------- Apprise


def _apprise_targets(
    apprise_urls: Sequence[str], searches: Sequence[SavedSearch]
) -> list[_AppriseTarget]:
    """Every distinct channel URL once, with every place it is configured."""
    found: dict[str, _AppriseTarget] = {}
    configured = [(url, "APPRISE_URLS") for url in apprise_urls] + [
        (url, f"search #{search.id}") for search in searches for url in search.channels
    ]
    for raw, source in configured:
        if not raw.strip():
            continue
        try:
            spec = parse_channel_url(raw, source)
        except ConfigError as exc:
            found[f"bad:{raw}"] = _AppriseTarget((source,), problem=str(exc))
            continue
        known = found.get(spec.recipient)
        if known is None:
            found[spec.recipient] = _AppriseTarget((source,), spec)
        elif source not in known.sources:
            found[spec.recipient] = _AppriseTarget((*known.sources, source), spec)
    return list(found.values())


async def _check_apprise(target: _AppriseTarget, deal: Deal, wait: float) -> ChannelCheck:
    where = ", ".join(target.sources)
    if target.spec is None:
        # The message names the URL (redacted) and what it needs, e.g. "nonsense://… is
        # not a notification URL Apprise understands; check the scheme …".
        problem = (target.problem or "unusable").removeprefix(f"{where}: ")
        return ChannelCheck(f"a URL in {where}", False, problem, f"correct it in {_places(where)}")
    spec = target.spec
    name = f"{spec.display} ({where})"
    try:
        await AppriseChannel(spec, timeout=wait).send(deal)
    except PermanentError as exc:
        return ChannelCheck(
            name,
            False,
            _words(exc).removeprefix(f"{spec.display} ").removesuffix(f"; {PERMANENT_ADVICE}"),
            f"check the URL's token, webhook or password and correct it in {_places(where)}",
        )
    except VinylDetectiveError as exc:
        status = getattr(exc, "status", None)
        if status == 429:
            fix = "the service is rate limiting: wait a minute, then run test-alert again"
        elif status is not None:
            fix = f"the service had trouble (HTTP {status}): run test-alert again later"
        else:
            fix = (
                "the service could not be reached: check the URL's host and port and the "
                "network, then run test-alert again"
            )
        return ChannelCheck(name, False, _words(exc).removeprefix(f"{spec.display} "), fix)
    if spec.digest is not None:
        return ChannelCheck(
            name,
            True,
            f"delivered (a {spec.digest.value} digest channel: high-priority deals come at "
            "once, the others in the digest)",
        )
    return ChannelCheck(name, True)


# --------------------------------------------------------------------------- wording


def _places(where: str) -> str:
    """Where a URL is set, as the user edits it: a search's URL is its --notify."""
    return where.replace("search #", "the --notify URL of search #")


def _words(error: Exception) -> str:
    """The error's message without the "service: " prefix the error tree adds."""
    text = str(error)
    service = getattr(error, "service", None)
    if isinstance(service, str) and text.startswith(service + ": "):
        text = text[len(service) + 2 :]
    return text


def _scrubbed(check: ChannelCheck, token: str, urls: Sequence[str]) -> ChannelCheck:
    """A last guard: no piece of the bot token or of a URL's secrets survives in what is
    printed. What a URL's redacted display shows (scheme, host, port) stays readable."""

    def clean(text: str) -> str:
        if len(token) >= 6:
            text = text.replace(token, "***")
        for url in urls:
            text = scrub_secrets(text, url, keep=_display_of(url))
        return text

    return ChannelCheck(
        clean(check.channel),
        check.delivered,
        clean(check.detail),
        clean(check.fix) if check.fix else None,
    )


def _display_of(url: str) -> str:
    try:
        return parse_channel_url(url).display
    except ConfigError:
        return ""
