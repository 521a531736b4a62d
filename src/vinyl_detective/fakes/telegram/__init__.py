"""A fake Telegram Bot API server: the demo's chat and the tests' peer.

It speaks the real wire protocol closely enough for python-telegram-bot to run against it
unchanged: `/bot<token>/<method>` over GET or POST, with query-string, JSON or form-encoded
parameters (PTB posts forms whose nested values are JSON text), the `{"ok": ...}` envelope,
real HTTP status codes (PTB maps errors from the status), long polling with offset
confirmation, and Telegram's validation of HTML messages, message length and button data.

Use it from tests and the demo:

    fake = FakeTelegram()
    with LoopbackServer(fake.app) as base:          # or httpx.ASGITransport(app=fake.app)
        bot_base_url = f"{base}/bot"                # PTB appends the token
        fake.push_message(42, "/start")             # a user writes to the bot
        fake.wait_for_sent(1, chat_id=42)           # the bot's reply, as a dict
        fake.fail_next("sendMessage", 429, retry_after=3)
        fake.block_chat(42)                         # 403 on every send to chat 42
        fake.go_down(30)                            # an outage: 502 for 30 seconds

`GET /` is an inbox page showing what the bot sent (with its formatting and buttons), with
forms to write to the bot and press buttons — open it in a browser during the demo.
`POST /fake/down?seconds=30` and `POST /fake/up` flip the outage switch from outside (e.g.
with curl while `vinyl-detective fakes` runs).

What lives where:

- `fake.py`: `FakeTelegram`, the object tests and the demo make: its app and routes.
- `bot_api.py`: the Bot API methods and their dispatcher (`/bot<token>/<method>`).
- `state.py`: the chat and update state (one lock), and reading and waiting on it.
- `controls.py`: what a test or the demo does to the fake (users write and press
  buttons, faults, blocked chats, outages), and the outage switches over HTTP.
- `wire.py`: reading a call's parameters and Telegram's error envelope.
- `html_mode.py`: Telegram's HTML parse mode (`parse_telegram_html`).
- `inbox.py`: the inbox page.

Who may import it: tests, benchmarks, the demo and the CLI (the `fakes` layer and
above), through this package (`FakeTelegram`, `parse_telegram_html`,
`TelegramHTMLError`); the modules inside import each other, never this `__init__`.
"""

from vinyl_detective.fakes.telegram.fake import FakeTelegram
from vinyl_detective.fakes.telegram.html_mode import (
    ParsedHTML,
    TelegramHTMLError,
    parse_telegram_html,
)

__all__ = ["FakeTelegram", "ParsedHTML", "TelegramHTMLError", "parse_telegram_html"]
