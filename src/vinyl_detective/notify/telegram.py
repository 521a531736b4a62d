"""Sending to Telegram: deal cards and plain texts, and PTB's errors in the product's terms.

`TelegramNotifier` sends deal cards (HTML, no link preview, Track/Bought/Dismiss buttons)
and plain texts on python-telegram-bot (PTB), translating PTB's errors into the product's
error tree once, here (`translate_error`): 429 → wait `retry_after` once, then
`RateLimitedError`; 403 → `RecipientBlockedError`; bad request → `PermanentError`;
network trouble → `RetryableError`. The bot token is in every request URL, so
`redact_token_in_logs` keeps it out of the loggers that print URLs. The bot's commands
are in notify/telegram_bot.py.

Point it at the fake with `base_url=<loopback base URL>` (no "/bot" suffix: it is added).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot as TelegramBot
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from vinyl_detective.domain.models import Deal
from vinyl_detective.errors import (
    AuthError,
    PermanentError,
    RateLimitedError,
    RecipientBlockedError,
    RetryableError,
)
from vinyl_detective.notify.cards import (
    TELEGRAM_MAX_LENGTH,
    deal_buttons,
    telegram_card,
)

__all__ = [
    "NO_PREVIEW",
    "TELEGRAM_API_BASE_URL",
    "TelegramNotifier",
    "redact_token_in_logs",
    "sending_bot",
    "shorten",
    "translate_error",
]

log = logging.getLogger(__name__)


SERVICE = "telegram"


TELEGRAM_API_BASE_URL = "https://api.telegram.org"


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


Sleep = Callable[[float], Awaitable[None]]


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _retry_after_seconds(exc: RetryAfter) -> float:
    # PTB 22 warns that `retry_after` will become a timedelta; `_seconds` takes either.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return _seconds(exc.retry_after)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def translate_error(exc: TelegramError, chat_id: int | str | None = None) -> Exception:
    """PTB's exception → the product's error tree (RetryAfter is handled by the caller)."""
    where = f" for chat {chat_id}" if chat_id is not None else ""
    if isinstance(exc, RetryAfter):
        wait = _retry_after_seconds(exc)
        return RateLimitedError(
            SERVICE, f"flood control{where}: Telegram asks to wait {wait:g}s", retry_after=wait
        )
    if isinstance(exc, Forbidden):
        return RecipientBlockedError(
            SERVICE,
            f"chat {chat_id} refuses the bot ({exc.message}); stop sending to it until the "
            "user writes /start again",
            status=403,
        )
    if isinstance(exc, InvalidToken):
        return AuthError(
            SERVICE, "the bot token was rejected: check TELEGRAM_TOKEN with @BotFather"
        )
    if isinstance(exc, ChatMigrated):
        return PermanentError(
            SERVICE,
            f"chat {chat_id} became a supergroup: use chat id {exc.new_chat_id} instead",
            status=400,
        )
    if isinstance(exc, BadRequest):  # a NetworkError subclass in PTB: test it first
        return PermanentError(SERVICE, f"Telegram refused the message{where}: {exc.message}")
    if isinstance(exc, TimedOut | NetworkError):
        return RetryableError(SERVICE, f"could not reach Telegram{where}: {exc.message}")
    if type(exc) is TelegramError:  # PTB's "Invalid server response": a cut or non-JSON body
        return RetryableError(SERVICE, f"Telegram's answer was unreadable{where}: {exc.message}")
    return PermanentError(SERVICE, f"Telegram error{where}: {exc.message}")


class TelegramNotifier:
    """Sends deal alerts and texts through a PTB `Bot` (e.g. `application.bot`).

    On 429 it waits the `retry_after` Telegram asked for (through the injectable `sleep`)
    and tries once more; a second 429, or a wait longer than `max_retry_wait`, raises
    `RateLimitedError(retry_after=...)` at once so the caller can schedule the retry.
    """

    def __init__(
        self, bot: TelegramBot, *, sleep: Sleep = asyncio.sleep, max_retry_wait: float = 30.0
    ) -> None:
        self.bot = bot
        self._sleep = sleep
        self._max_retry_wait = max_retry_wait

    async def send_deal(self, chat_id: int, deal: Deal, *, buttons: bool = True) -> int:
        """Send the deal card, with its buttons unless `buttons=False` (a sample card has
        no deal to act on); returns Telegram's message_id."""
        keyboard = (
            InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                    for row in deal_buttons(deal.listing.item_id)
                ]
            )
            if buttons
            else None
        )
        return await self._send(chat_id, telegram_card(deal), ParseMode.HTML, keyboard)

    async def send_text(self, chat_id: int, text: str) -> int:
        """Send plain text (no formatting is interpreted); returns the message_id."""
        return await self._send(chat_id, shorten(text, TELEGRAM_MAX_LENGTH), None, None)

    async def _send(
        self,
        chat_id: int,
        text: str,
        parse_mode: str | None,
        keyboard: InlineKeyboardMarkup | None,
    ) -> int:
        attempt = 0
        while True:
            attempt += 1
            try:
                message: Message = await self.bot.send_message(
                    chat_id,
                    text,
                    parse_mode=parse_mode,
                    link_preview_options=NO_PREVIEW,
                    reply_markup=keyboard,
                )
            except RetryAfter as exc:
                wait = _retry_after_seconds(exc)
                if attempt > 1 or wait > self._max_retry_wait:
                    raise translate_error(exc, chat_id) from exc
                log.info("telegram flood control: waiting %.1fs before chat %s", wait, chat_id)
                await self._sleep(wait)
            except TelegramError as exc:
                raise translate_error(exc, chat_id) from exc
            else:
                return message.message_id


def sending_bot(token: str, base_url: str = TELEGRAM_API_BASE_URL) -> TelegramBot:
    """A bare PTB `Bot` that only sends (no commands, no polling), e.g. for test-alert."""
    redact_token_in_logs(token)
    base = base_url.rstrip("/")
    return TelegramBot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")


class _RedactToken(logging.Filter):
    """Telegram's request URLs contain the bot token: replace it before a record is emitted."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token and self.token in message:
            record.msg = message.replace(self.token, "<telegram-token>")
            record.args = None
        return True


# Loggers that may print request URLs (httpx at INFO; PTB's bot at DEBUG). Logger filters
# are not inherited, so each is named.
_URL_LOGGERS = (
    "httpx",
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.request",
    "telegram.ext.Updater",
    "telegram.ext.Application",
)


def redact_token_in_logs(token: str) -> None:
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactToken) and f.token == token for f in logger.filters):
            logger.addFilter(_RedactToken(token))
