"""The real python-telegram-bot stack against the fake Telegram server on loopback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import telegram

from vinyl_detective.domain.models import (
    BuyingOption,
    Deal,
    Listing,
    Match,
    MatchMethod,
    Money,
    Priority,
    Release,
)
from vinyl_detective.errors import (
    AuthError,
    PermanentError,
    RateLimitedError,
    RecipientBlockedError,
    RetryableError,
    RuleSyntaxError,
)
from vinyl_detective.fakes.server import LoopbackServer
from vinyl_detective.fakes.telegram import FakeTelegram, parse_telegram_html
from vinyl_detective.notify.telegram import TelegramNotifier
from vinyl_detective.notify.telegram_bot import (
    BotApplication,
    build_bot_application,
    start_bot,
    stop_bot,
)

# PTB 22 itself warns, while building RetryAfter, that `retry_after` will become a timedelta.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)

TOKEN = "123456:DEMO-TOKEN"
OWNER = 42
STRANGER = 666


@dataclass
class InMemoryBackend:
    """What the service layer will provide, reduced to a dict of searches per chat."""

    searches: dict[int, list[str]] = field(default_factory=dict)
    calls: list[tuple[str, int, str]] = field(default_factory=list)
    actions: list[tuple[int, str, str]] = field(default_factory=list)
    paused: set[int] = field(default_factory=set)
    explode: bool = False

    def add_search(self, chat_id: int, text: str) -> str:
        self.calls.append(("add_search", chat_id, text))
        if self.explode:
            raise RuntimeError("database is on fire")
        query, _, rule = (part.strip() for part in text.partition("|"))
        if rule.startswith("price <<"):
            raise RuleSyntaxError("unexpected '<'", rule, 7)
        self.searches.setdefault(chat_id, []).append(query)
        return f"Saved search #{len(self.searches[chat_id])}: {query}"

    def list_searches(self, chat_id: int) -> str:
        self.calls.append(("list_searches", chat_id, ""))
        found = self.searches.get(chat_id, [])
        return "\n".join(f"#{i}: {q}" for i, q in enumerate(found, 1)) or "No searches yet."

    def remove_search(self, chat_id: int, arg: str) -> str:
        self.calls.append(("remove_search", chat_id, arg))
        if not arg.isdigit():
            raise ValueError(f"{arg!r} is not a search number: try /my_searches")
        return f"Removed search #{arg}."

    def set_threshold(self, chat_id: int, arg: str) -> str:
        self.calls.append(("set_threshold", chat_id, arg))
        return f"Threshold set: {arg}"

    def pause(self, chat_id: int) -> str:
        self.paused.add(chat_id)
        return "Paused."

    def resume(self, chat_id: int) -> str:
        self.paused.discard(chat_id)
        return "Resumed."

    async def status(self, chat_id: int) -> str:  # backends may be async too
        return f"Watching {len(self.searches.get(chat_id, []))} search(es) <fast>."

    def text_reply(self, chat_id: int, text: str) -> str:
        self.calls.append(("text_reply", chat_id, text))
        return "Send /help to see what I can do."

    def global_rule(self, chat_id: int, arg: str) -> str:
        self.calls.append(("global_rule", chat_id, arg))
        return f"Global rule: {arg}" if arg else "No global rule."

    def deal_action(self, chat_id: int, action: str, item_id: str) -> str:
        self.actions.append((chat_id, action, item_id))
        return {"track": "Tracking it.", "bought": "Marked as bought.", "dismiss": "Dismissed."}[
            action
        ]


def make_deal(item_id: str = "v1|286012345678|0") -> Deal:
    listing = Listing(
        item_id=item_id,
        title='Art Blakey Moanin\' <LP> Blue Note & "Mono"',
        price=Decimal("45.00"),
        currency="USD",
        shipping=None,
        condition="Used",
        buying_option=BuyingOption.AUCTION,
        ends_at=datetime(2026, 11, 23, 20, 0, tzinfo=UTC),
        url="https://www.ebay.com/itm/286012345678",
    )
    return Deal(
        listing=listing,
        release=Release(id=2825456, artist="Art Blakey & The Jazz Messengers", title="Moanin'"),
        match=Match(2825456, MatchMethod.BARCODE, 1.0),
        reference=Money(Decimal("90.00"), "USD"),
        total=Money(Decimal("45.00"), "USD"),
        score=0.5,
        priority=Priority.HIGH,
    )


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(TOKEN)


@pytest.fixture
def base_url(fake: FakeTelegram) -> Iterator[str]:
    with LoopbackServer(fake.app) as url:
        yield url


@pytest.fixture
def backend() -> InMemoryBackend:
    return InMemoryBackend()


@pytest.fixture
async def bot_app(base_url: str, backend: InMemoryBackend) -> AsyncIterator[BotApplication]:
    application = build_bot_application(
        TOKEN, backend, allowed_chat_ids=frozenset({OWNER}), base_url=base_url
    )
    await start_bot(application, poll_timeout=1.0)
    try:
        yield application
    finally:
        await stop_bot(application)


async def reply_to(fake: FakeTelegram, text: str, chat_id: int = OWNER) -> str:
    """Write `text` to the bot as a user and return the text of the bot's next reply."""
    before = len(fake.messages_to(chat_id))
    fake.push_message(chat_id, text)
    sent = await fake.wait_for_sent_async(before + 1, chat_id=chat_id)
    return str(sent[before]["plain_text"])


# ------------------------------------------------------------------ commands


async def test_start_greets_the_user_with_their_chat_id(
    fake: FakeTelegram, bot_app: BotApplication
) -> None:
    reply = await reply_to(fake, "/start")

    assert "Vinyl Detective" in reply
    assert str(OWNER) in reply
    assert "/help" in reply


async def test_help_lists_every_command_with_an_example(
    fake: FakeTelegram, bot_app: BotApplication
) -> None:
    reply = await reply_to(fake, "/help")

    for example in (
        "/add_search miles davis kind of blue",
        '/add_search blue note 1500 | price < 80 AND condition >= "VG+"',
        "/set_threshold 3 0.35",
        "/remove_search 3",
        "/my_searches",
        "/pause",
        "/resume",
        "/status",
    ):
        assert example in reply


async def test_bot_publishes_its_command_list_at_start(
    fake: FakeTelegram, bot_app: BotApplication
) -> None:
    names = [c["command"] for c in fake.commands]

    assert names[:2] == ["add_search", "my_searches"]
    assert {"pause", "resume", "status", "help", "set_threshold", "remove_search"} <= set(names)
    assert {"getMe", "deleteWebhook"} <= set(fake.calls)


async def test_add_search_reaches_the_backend_and_the_reply_arrives(
    fake: FakeTelegram, bot_app: BotApplication, backend: InMemoryBackend
) -> None:
    reply = await reply_to(fake, '/add_search blue note 1500 | price < 80 AND condition >= "VG+"')
    listing = await reply_to(fake, "/my_searches")

    assert backend.calls[0] == (
        "add_search", OWNER, 'blue note 1500 | price < 80 AND condition >= "VG+"'
    )  # fmt: skip
    assert reply == "Saved search #1: blue note 1500"
    assert listing == "#1: blue note 1500"


async def test_backend_replies_are_shown_verbatim_not_as_markup(
    fake: FakeTelegram, bot_app: BotApplication
) -> None:
    reply = await reply_to(fake, "/status")

    assert reply == "Watching 0 search(es) <fast>."


async def test_bad_input_gets_the_backends_explanation(
    fake: FakeTelegram, bot_app: BotApplication
) -> None:
    bad_rule = await reply_to(fake, "/add_search blue note | price << 3")
    bad_number = await reply_to(fake, "/remove_search three")

    assert "unexpected '<' at position 8" in bad_rule
    assert "'three' is not a search number: try /my_searches" in bad_number


async def test_a_command_missing_its_argument_gets_an_example_and_skips_the_backend(
    fake: FakeTelegram, bot_app: BotApplication, backend: InMemoryBackend
) -> None:
    reply = await reply_to(fake, "/set_threshold")

    assert "/set_threshold 3 0.35" in reply
    assert backend.calls == []


async def test_an_internal_failure_gets_a_short_apology_and_the_bot_keeps_working(
    fake: FakeTelegram,
    bot_app: BotApplication,
    backend: InMemoryBackend,
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend.explode = True
    apology = await reply_to(fake, "/add_search anything")
    backend.explode = False
    after = await reply_to(fake, "/add_search kind of blue")

    assert apology.startswith("Sorry, that failed on our side")
    assert "fire" not in apology
    assert after == "Saved search #1: kind of blue"
    assert "database is on fire" in caplog.text


async def test_pause_and_resume_reach_the_backend(
    fake: FakeTelegram, bot_app: BotApplication, backend: InMemoryBackend
) -> None:
    assert await reply_to(fake, "/pause") == "Paused."
    assert backend.paused == {OWNER}
    assert await reply_to(fake, "/resume") == "Resumed."
    assert backend.paused == set()


async def test_an_unknown_chat_is_refused_once_with_its_chat_id_and_nothing_happens(
    fake: FakeTelegram, bot_app: BotApplication, backend: InMemoryBackend
) -> None:
    refusal = await reply_to(fake, "/add_search free records", chat_id=STRANGER)
    fake.push_message(STRANGER, "/add_search more free records")
    # The owner's command is handled after the stranger's second one: by then it was ignored.
    await reply_to(fake, "/status")

    assert str(STRANGER) in refusal
    assert "TELEGRAM_ALLOWED_CHAT_IDS" in refusal
    assert len(fake.messages_to(STRANGER)) == 1
    assert backend.calls == []


async def test_the_bot_token_never_reaches_the_logs(
    fake: FakeTelegram, base_url: str, backend: InMemoryBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    application = build_bot_application(
        TOKEN, backend, allowed_chat_ids=frozenset({OWNER}), base_url=base_url
    )
    await start_bot(application, poll_timeout=1.0)
    try:
        await reply_to(fake, "/start")
    finally:
        await stop_bot(application)

    assert "getUpdates" in caplog.text
    assert TOKEN not in caplog.text


async def test_a_rejected_token_says_what_to_fix_without_repeating_it(base_url: str) -> None:
    application = build_bot_application(
        "999:WRONG-TOKEN", InMemoryBackend(), allowed_chat_ids=frozenset(), base_url=base_url
    )

    with pytest.raises(AuthError) as caught:
        await start_bot(application)

    assert "TELEGRAM_TOKEN" in str(caught.value)
    assert "WRONG-TOKEN" not in str(caught.value)
    await stop_bot(application)


# ------------------------------------------------------------------ deal buttons


async def send_deal_card(base_url: str, chat_id: int = OWNER) -> int:
    async with telegram.Bot(TOKEN, base_url=f"{base_url}/bot") as bot:
        return await TelegramNotifier(bot).send_deal(chat_id, make_deal())


async def test_a_button_press_reaches_deal_action_and_is_answered(
    fake: FakeTelegram, base_url: str, bot_app: BotApplication, backend: InMemoryBackend
) -> None:
    message_id = await send_deal_card(base_url)

    fake.push_callback(OWNER, message_id, "track:v1|286012345678|0")
    assert await fake.wait_until_async(lambda: len(fake.answered_callbacks) == 1)

    assert backend.actions == [(OWNER, "track", "v1|286012345678|0")]
    assert fake.answered_callbacks[0]["text"] == "Tracking it."
    assert fake.message(OWNER, message_id)["reply_markup"] is not None  # type: ignore[index]


async def test_dismiss_removes_the_buttons(
    fake: FakeTelegram, base_url: str, bot_app: BotApplication, backend: InMemoryBackend
) -> None:
    message_id = await send_deal_card(base_url)

    fake.push_callback(OWNER, message_id, "dismiss:v1|286012345678|0")

    def buttons_gone() -> bool:
        record = fake.message(OWNER, message_id)
        return record is not None and record["reply_markup"] is None

    assert await fake.wait_until_async(buttons_gone)
    assert fake.answered_callbacks[0]["text"] == "Dismissed."


async def test_a_stranger_pressing_a_button_gets_no_action(
    fake: FakeTelegram, base_url: str, bot_app: BotApplication, backend: InMemoryBackend
) -> None:
    message_id = await send_deal_card(base_url, chat_id=STRANGER)

    fake.push_callback(STRANGER, message_id, "bought:v1|286012345678|0")
    assert await fake.wait_until_async(lambda: len(fake.answered_callbacks) == 1)

    assert backend.actions == []
    assert fake.answered_callbacks[0]["text"] == "This bot is private."


# ------------------------------------------------------------------ sending deals


@pytest.fixture
async def bot(base_url: str) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(TOKEN, base_url=f"{base_url}/bot") as b:
        yield b


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_a_deal_card_arrives_formatted_with_buttons_and_no_link_preview(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    message_id = await TelegramNotifier(bot).send_deal(OWNER, make_deal())

    [sent] = fake.messages_to(OWNER)
    assert sent["message_id"] == message_id
    assert sent["parse_mode"] == "HTML"
    assert sent["link_preview_options"] == {"is_disabled": True}
    assert 'Moanin\' <LP> Blue Note & "Mono"' in sent["plain_text"]
    assert "shipping (not stated, typical cost assumed)" in sent["plain_text"]
    assert "Auction, ends 2026-11-23 20:00 UTC" in sent["plain_text"]
    datas = [b["callback_data"] for row in sent["reply_markup"]["inline_keyboard"] for b in row]
    assert datas == [
        "track:v1|286012345678|0",
        "bought:v1|286012345678|0",
        "dismiss:v1|286012345678|0",
    ]
    parse_telegram_html(sent["text"])


async def test_flood_control_waits_retry_after_then_sends(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    sleep = RecordingSleep()
    fake.fail_next("sendMessage", 429, retry_after=3)

    message_id = await TelegramNotifier(bot, sleep=sleep).send_deal(OWNER, make_deal())

    assert sleep.waits == [3.0]
    assert [m["message_id"] for m in fake.messages_to(OWNER)] == [message_id]


async def test_flood_control_twice_in_a_row_raises_rate_limited(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    sleep = RecordingSleep()
    fake.fail_next("sendMessage", 429, retry_after=2, times=2)

    with pytest.raises(RateLimitedError) as caught:
        await TelegramNotifier(bot, sleep=sleep).send_deal(OWNER, make_deal())

    assert caught.value.retry_after == 2.0
    assert sleep.waits == [2.0]
    assert fake.sent == []


async def test_a_long_flood_wait_is_handed_back_instead_of_slept(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    sleep = RecordingSleep()
    fake.fail_next("sendMessage", 429, retry_after=600)

    with pytest.raises(RateLimitedError) as caught:
        await TelegramNotifier(bot, sleep=sleep, max_retry_wait=30).send_text(OWNER, "hi")

    assert caught.value.retry_after == 600.0
    assert sleep.waits == []


async def test_a_chat_that_blocked_the_bot_raises_recipient_blocked(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.block_chat(OWNER)

    with pytest.raises(RecipientBlockedError) as caught:
        await TelegramNotifier(bot).send_deal(OWNER, make_deal())

    assert str(OWNER) in str(caught.value)


async def test_a_refused_message_raises_permanent_error(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.fail_next("sendMessage", 400, description="Bad Request: chat not found")

    with pytest.raises(PermanentError) as caught:
        await TelegramNotifier(bot).send_text(OWNER, "hello")

    assert "chat not found" in str(caught.value).lower()
    assert not isinstance(caught.value, RecipientBlockedError)


async def test_a_telegram_outage_raises_retryable_error(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    fake.fail_next("sendMessage", 502)

    with pytest.raises(RetryableError):
        await TelegramNotifier(bot).send_text(OWNER, "hello")


async def test_send_text_is_shown_verbatim(fake: FakeTelegram, bot: telegram.Bot) -> None:
    await TelegramNotifier(bot).send_text(OWNER, "Price < 30 & <b>not bold</b>")

    assert fake.messages_to(OWNER)[0]["plain_text"] == "Price < 30 & <b>not bold</b>"
