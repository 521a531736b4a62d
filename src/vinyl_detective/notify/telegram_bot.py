"""The Telegram bot: the commands users send and the deal buttons they press.

`build_bot_application` builds the PTB `Application` for the commands (/start /help
/add_search /my_searches /remove_search /set_threshold /pause /resume /status /why) and
the deal buttons. It holds no business rules: each command calls the `BotBackend` the
service layer provides and shows its reply. Only allow-listed chats are served; any other
chat gets one polite refusal naming its chat id, once per run, and nothing else happens.
`start_bot`/`stop_bot` run it inside the daemon's own asyncio loop (long polling).
Sending cards is notify/telegram.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, Protocol

from telegram import (
    BotCommand,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    InvalidToken,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from vinyl_detective.errors import (
    RetryableError,
    VinylDetectiveError,
)
from vinyl_detective.notify.cards import (
    TELEGRAM_MAX_LENGTH,
    parse_callback_data,
)
from vinyl_detective.notify.telegram import (
    NO_PREVIEW,
    TELEGRAM_API_BASE_URL,
    redact_token_in_logs,
    shorten,
    translate_error,
)
from vinyl_detective.sources.http_owner import tls_context

__all__ = [
    "BOT_COMMANDS",
    "REFUSED_CHATS_REMEMBERED",
    "BotApplication",
    "BotBackend",
    "build_bot_application",
    "help_text",
    "initialize_bot",
    "start_bot",
    "stop_bot",
]

log = logging.getLogger(__name__)

# How long a start waits before asking Telegram again when getMe fails on a glitch.
BOT_START_RETRIES = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)

CALLBACK_ANSWER_MAX = 200  # Telegram shows at most 200 characters in a button's toast


BotApplication = Application[Any, Any, Any, Any, Any, Any]


# Chats refused (not allow-listed) that were logged already; anyone can write to a bot,
# so the set is bounded: ~10,000 ids, under 1 MB.
REFUSED_CHATS_REMEMBERED = 10_000


Context = ContextTypes.DEFAULT_TYPE


class BotBackend(Protocol):
    """What the bot's commands call; the service layer implements it.

    `chat_id` identifies the user. Every method returns the reply as plain text (the bot
    escapes it). Bad input raises ValueError or a VinylDetectiveError whose message tells
    the user what to fix; the bot shows that message. Methods may be plain or `async def`
    (awaitable results are awaited); plain ones run on the event loop, so keep them quick.
    """

    def add_search(self, chat_id: int, text: str) -> str | Awaitable[str]:
        """`text` is everything after /add_search: "keywords" or "keywords | rule"."""
        ...

    def list_searches(self, chat_id: int) -> str | Awaitable[str]: ...

    def remove_search(self, chat_id: int, arg: str) -> str | Awaitable[str]: ...

    def set_threshold(self, chat_id: int, arg: str) -> str | Awaitable[str]:
        """`arg` is e.g. "3 0.35": search #3 alerts from a deal score of 0.35."""
        ...

    def pause(self, chat_id: int) -> str | Awaitable[str]: ...

    def resume(self, chat_id: int) -> str | Awaitable[str]: ...

    def status(self, chat_id: int) -> str | Awaitable[str]: ...

    def global_rule(self, chat_id: int, arg: str) -> str | Awaitable[str]:
        """`arg` empty: show the global rule; "off": remove it; else the new rule."""
        ...

    def why(self, chat_id: int, arg: str) -> str | Awaitable[str]:
        """`arg` is an eBay item number, a "v1|…|0" id or an eBay item URL."""
        ...

    def text_reply(self, chat_id: int, text: str) -> str | Awaitable[str]:
        """A plain (non-command) message, e.g. the price the bot asked for after Bought."""
        ...

    def deal_action(self, chat_id: int, action: str, item_id: str) -> str | Awaitable[str]:
        """A deal button: `action` is "track", "bought" or "dismiss".

        `item_id` is the listing's item id, or for ids too long for Telegram's 64-byte
        button data a "#..." ref: map it back with `notify.cards.resolve_item_ref`.
        """
        ...


# (command, short description, example arguments or None)
BOT_COMMANDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "add_search",
        "Watch eBay for a record (keywords, optionally | a rule)",
        (
            "miles davis kind of blue",
            'blue note 1500 | price < 80 AND condition >= "VG+"',
        ),
    ),
    ("my_searches", "List your saved searches", ()),
    ("remove_search", "Stop watching a search", ("3",)),
    (
        "set_threshold",
        "Alert for a search only from this deal score (0.35 = 35% under Discogs)",
        ("3 0.35",),
    ),
    (
        "global_rule",
        "Show or set the rule every search must pass (off removes it)",
        ("", 'seller_feedback >= 98 AND NOT title contains "lot"', "off"),
    ),
    (
        "why",
        "Why a listing was alerted or not (an eBay item number or link)",
        ("286012345678", "https://www.ebay.com/itm/286012345678"),
    ),
    ("pause", "Pause all alerts", ()),
    ("resume", "Resume alerts", ()),
    ("status", "What the watcher is doing", ()),
    ("help", "How to use this bot", ()),
)


_NEEDS_ARGUMENT = {"add_search", "remove_search", "set_threshold", "why"}


def help_text() -> str:
    """The /help message (Telegram HTML): every command with an example."""
    lines = [
        "<b>Vinyl Detective</b> watches eBay for underpriced records and alerts you here.",
        "",
    ]
    for command, description, examples in BOT_COMMANDS:
        lines.append(f"/{command} — {html.escape(description)}")
        for example in examples or (("",) if command != "help" else ()):
            lines.append(f"   <code>{html.escape(f'/{command} {example}'.rstrip())}</code>")
    lines += [
        "",
        "Each deal comes with buttons: <b>Track</b> it, mark it <b>Bought</b>, "
        "or <b>Dismiss</b> it.",
    ]
    return "\n".join(lines)


def _usage(command: str) -> str:
    examples = next((ex for name, _, ex in BOT_COMMANDS if name == command), ())
    shown = "\n".join(f"/{command} {example}" for example in examples)
    return f"/{command} needs more: for example\n{shown}"


def _refusal(chat_id: int) -> str:
    return (
        "Sorry, this Vinyl Detective bot is private and does not serve this chat.\n"
        f"Your chat id is {chat_id}. If you run this bot, add it to "
        "TELEGRAM_ALLOWED_CHAT_IDS and restart."
    )


async def _resolve(value: str | Awaitable[str]) -> str:
    result = await value if inspect.isawaitable(value) else value
    return str(result)


async def _backend_reply(what: str, call: Callable[[], str | Awaitable[str]]) -> str:
    """Run one backend call; expected errors become the reply, others are logged."""
    try:
        return await _resolve(call())
    except (VinylDetectiveError, ValueError) as exc:
        log.info("telegram bot: %s refused: %s", what, exc)
        return f"⚠️ {exc}"
    except Exception:
        log.exception("telegram bot: %s failed", what)
        return "Sorry, that failed on our side. The details are in the daemon's log."


async def _reply(update: Update, text: str, *, is_html: bool = False) -> None:
    message = update.effective_message
    if message is None:
        return
    body = text if is_html else html.escape(shorten(text, TELEGRAM_MAX_LENGTH - 200))
    await message.reply_text(body, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)


def _command_argument(update: Update) -> str:
    """Everything after the command word, spacing and `|` kept ("/add_search a | b")."""
    message = update.effective_message
    if message is None or not message.text:
        return ""
    parts = message.text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def build_bot_application(
    token: str,
    backend: BotBackend,
    *,
    allowed_chat_ids: frozenset[int],
    base_url: str = TELEGRAM_API_BASE_URL,
) -> BotApplication:
    """The PTB application for the commands and buttons; run it with `start_bot`."""
    redact_token_in_logs(token)
    # PTB logs a traceback for every answer that is not JSON (a proxy's 502 page); the
    # error it raises is translated and logged once, in one line, by our callers.
    logging.getLogger("telegram.request.BaseRequest").setLevel(logging.CRITICAL)
    _quiet_shutdown_errors()
    base = base_url.rstrip("/")
    application: BotApplication = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        # PTB's own pool sizes, with the process's one TLS context (each client would
        # load its own copy of the CA bundle).
        .request(HTTPXRequest(connection_pool_size=256, httpx_kwargs={"verify": tls_context()}))
        .get_updates_request(
            HTTPXRequest(connection_pool_size=1, httpx_kwargs={"verify": tls_context()})
        )
        .build()
    )
    refused: set[int] = set()

    async def gate(update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is not None and chat.id in allowed_chat_ids:
            return
        if update.callback_query is not None:
            await update.callback_query.answer("This bot is private.")
        if chat is not None and chat.id not in refused:
            if len(refused) >= REFUSED_CHATS_REMEMBERED:
                refused.clear()  # strangers then get logged once more; memory stays bounded
            refused.add(chat.id)
            log.info("telegram bot: refused chat %s (not in TELEGRAM_ALLOWED_CHAT_IDS)", chat.id)
            await context.bot.send_message(chat.id, _refusal(chat.id))
        raise ApplicationHandlerStop

    async def start(update: Update, context: Context) -> None:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        # Writing /start means the chat talks to the bot again (also after blocking it):
        # alerts resume.
        await _backend_reply("start", lambda: backend.resume(chat_id))
        await _reply(
            update,
            "👋 <b>Vinyl Detective</b> is watching eBay for you.\n"
            f"Deals for this chat (id <code>{chat_id}</code>) arrive here.\n"
            "Start with <code>/add_search miles davis kind of blue</code>, "
            "or send /help for every command.",
            is_html=True,
        )

    async def show_help(update: Update, context: Context) -> None:
        await _reply(update, help_text(), is_html=True)

    def backend_command(
        command: str,
    ) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
        async def handle(update: Update, context: Context) -> None:
            chat_id = update.effective_chat.id if update.effective_chat else 0
            argument = _command_argument(update)
            if command in _NEEDS_ARGUMENT and not argument:
                await _reply(update, _usage(command))
                return
            calls: dict[str, Callable[[], str | Awaitable[str]]] = {
                "add_search": lambda: backend.add_search(chat_id, argument),
                "my_searches": lambda: backend.list_searches(chat_id),
                "remove_search": lambda: backend.remove_search(chat_id, argument),
                "set_threshold": lambda: backend.set_threshold(chat_id, argument),
                "pause": lambda: backend.pause(chat_id),
                "resume": lambda: backend.resume(chat_id),
                "status": lambda: backend.status(chat_id),
                "global_rule": lambda: backend.global_rule(chat_id, argument),
                "why": lambda: backend.why(chat_id, argument),
            }
            await _reply(update, await _backend_reply(f"/{command}", calls[command]))

        return handle

    async def button(update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        parsed = parse_callback_data(query.data or "")
        if parsed is None:
            await query.answer("This button is no longer in use.")
            return
        action, item_ref = parsed
        chat_id = update.effective_chat.id if update.effective_chat else 0
        failed = False

        def call() -> str | Awaitable[str]:
            return backend.deal_action(chat_id, action, item_ref)

        try:
            reply = await _resolve(call())
        except (VinylDetectiveError, ValueError) as exc:
            log.info("telegram bot: %s button refused: %s", action, exc)
            reply, failed = f"⚠️ {exc}", True
        except Exception:
            log.exception("telegram bot: %s button failed", action)
            reply, failed = "Sorry, that failed on our side.", True
        await query.answer(shorten(reply, CALLBACK_ANSWER_MAX), show_alert=failed)
        if action == "bought" and not failed and chat_id:
            await context.bot.send_message(chat_id, reply)  # a question: it needs an answer
        if action == "dismiss" and not failed and query.message is not None:
            try:
                await query.edit_message_reply_markup(reply_markup=None)
            except BadRequest as exc:  # already without buttons, or too old to edit
                log.info("telegram bot: could not remove buttons: %s", exc.message)

    async def on_error(update: object, context: Context) -> None:
        error = context.error
        if isinstance(error, TelegramError | VinylDetectiveError):
            log.warning("telegram bot: %s: %s", type(error).__name__, error)
        else:
            log.error("telegram bot: unexpected error", exc_info=error)
        if isinstance(update, Update) and update.effective_message is not None:
            with contextlib.suppress(TelegramError):
                await _reply(update, "Sorry, something went wrong. Please try again.")

    application.add_handler(TypeHandler(Update, gate), group=-1)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", show_help))
    for command, _, _ in BOT_COMMANDS:
        if command != "help":
            application.add_handler(CommandHandler(command, backend_command(command)))
    application.add_handler(CallbackQueryHandler(button))

    async def plain_text(update: Update, context: Context) -> None:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        text = update.effective_message.text if update.effective_message else ""
        await _reply(
            update, await _backend_reply("message", lambda: backend.text_reply(chat_id, text or ""))
        )

    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, plain_text))
    application.add_error_handler(on_error)
    return application


async def initialize_bot(bot_app: BotApplication) -> None:
    """getMe checks the token at start. A token Telegram refuses stops the start; a
    glitch (a 502, a dropped connection) is retried for about a minute, so a start
    while Telegram hiccups does not fail."""
    for wait in (*BOT_START_RETRIES, None):
        try:
            await bot_app.initialize()
            return
        except TelegramError as exc:
            error = translate_error(exc)
            if not isinstance(error, RetryableError) or wait is None:
                raise error from None
            log.warning("telegram: %s; trying again in %.0f s", error, wait)
            await asyncio.sleep(wait)


async def start_bot(
    application: BotApplication,
    *,
    poll_timeout: float = 10.0,
    poll_interval: float = 0.0,
    set_commands: bool = True,
) -> None:
    """Initialize (getMe), start, publish the command list, and start long polling.

    Raises AuthError for a rejected token and RetryableError when Telegram is unreachable.
    """
    try:
        await application.initialize()
    except InvalidToken:  # PTB's message repeats the token: never pass it on
        raise translate_error(InvalidToken("rejected")) from None
    except TelegramError as exc:
        raise translate_error(exc) from exc
    await application.start()
    if set_commands:
        try:
            await application.bot.set_my_commands(
                [BotCommand(name, description) for name, description, _ in BOT_COMMANDS]
            )
        except TelegramError as exc:
            log.warning("telegram bot: could not publish the command list: %s", exc)
    updater = application.updater
    if updater is None:
        raise RuntimeError("the bot application was built without an updater")
    await updater.start_polling(
        poll_interval=poll_interval,
        timeout=timedelta(seconds=poll_timeout),
        allowed_updates=["message", "callback_query"],
        drop_pending_updates=False,
        error_callback=_log_polling_error,
    )
    log.info("telegram bot: polling as @%s", application.bot.username)


async def stop_bot(application: BotApplication) -> None:
    """Stop polling, finish the updates in hand, release resources (idempotent)."""
    updater = application.updater
    if updater is not None and updater.running:
        await updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


def _log_polling_error(error: TelegramError) -> None:
    log.warning("telegram bot: polling failed, retrying: %s: %s", type(error).__name__, error)


class _OneLineShutdownError(logging.Filter):
    """PTB's updater logs a whole traceback, at ERROR, when its last getUpdates on stop
    fails (Telegram glitching as the daemon stops): one warning line says the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and "graceful shutdown" in str(record.msg):
            record.msg = "telegram bot: the last getUpdates on stop failed (%s); ignored"
            record.args = (translate_error(exc) if isinstance(exc, TelegramError) else exc,)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _quiet_shutdown_errors() -> None:
    logger = logging.getLogger("telegram.ext.Updater")
    if not any(isinstance(f, _OneLineShutdownError) for f in logger.filters):
        logger.addFilter(_OneLineShutdownError())
