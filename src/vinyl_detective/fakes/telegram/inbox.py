"""The fake Telegram's inbox page (`GET /`): what the bot sent, as a chat shows it.

Each message with its formatting and buttons; forms to write to the bot and to press a
button post to `/inbox/send` and `/inbox/press` (fake.py). Open it in a browser while the
demo runs.
"""

from __future__ import annotations

import html
import time
from typing import Any

from vinyl_detective.fakes.telegram.html_mode import SAFE_LINK_SCHEMES


def render_inbox(
    messages: list[dict[str, Any]], commands: list[dict[str, str]], bot_username: str
) -> str:
    """The page for the bot's sent-message records `messages`, newest first."""
    cards = "\n".join(_inbox_card(m) for m in messages) or (
        '<p class="empty">The bot has not sent anything yet.</p>'
    )
    known = sorted({m["chat_id"] for m in messages if isinstance(m["chat_id"], int)})
    default_chat = known[0] if known else ""
    hints = " ".join(f"/{html.escape(c['command'])}" for c in commands)
    return _INBOX_PAGE.format(
        bot=html.escape(bot_username),
        count=len(messages),
        cards=cards,
        chat=html.escape(str(default_chat), quote=True),
        hints=html.escape(hints) if hints else "/help",
    )


def _inbox_card(record: dict[str, Any]) -> str:
    chat = html.escape(str(record["chat_id"]))
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record["date"]))
    edited = " · edited" if record.get("edited") else ""
    buttons: list[str] = []
    markup = record.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        cells: list[str] = []
        for button in row:
            label = html.escape(str(button.get("text", "")))
            if "callback_data" in button:
                cells.append(
                    '<form method="post" action="/inbox/press">'
                    f'<input type="hidden" name="chat_id" value="{chat}">'
                    f'<input type="hidden" name="message_id" value="{record["message_id"]}">'
                    '<input type="hidden" name="data" value="'
                    f'{html.escape(str(button["callback_data"]), quote=True)}">'
                    f"<button>{label}</button></form>"
                )
            elif str(button.get("url", "")).lower().startswith(SAFE_LINK_SCHEMES):
                href = html.escape(str(button["url"]), quote=True)
                cells.append(f'<a class="button" href="{href}" target="_blank">{label}</a>')
            else:
                cells.append(f'<span class="button">{label}</span>')
        buttons.append(f'<div class="row">{"".join(cells)}</div>')
    return (
        f"<article><header>to chat {chat} · message {record['message_id']} · {when} UTC"
        f"{edited}</header>"
        f'<div class="text">{record["html"]}</div>{"".join(buttons)}</article>'
    )


_INBOX_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Telegram inbox — @{bot}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto;
       background: #e7ebf0; color: #1b1f23; }}
article {{ background: #fff; border-radius: 12px; padding: .8rem 1rem; margin: .8rem 0;
          box-shadow: 0 1px 2px rgba(0,0,0,.15); }}
header {{ font-size: .75rem; color: #707579; margin-bottom: .4rem; }}
.text {{ white-space: pre-wrap; line-height: 1.4; }}
.row {{ display: flex; gap: .4rem; margin-top: .4rem; }}
.row form {{ flex: 1; margin: 0; }}
.row button, .button {{ width: 100%; padding: .4rem; border: 0; border-radius: 8px;
  background: #3390ec; color: #fff; cursor: pointer; text-align: center;
  text-decoration: none; display: block; }}
.tg-spoiler {{ background: #707579; color: transparent; }}
.tg-spoiler:hover {{ color: inherit; background: none; }}
pre, code {{ background: #f1f3f5; border-radius: 4px; }}
blockquote {{ border-left: 3px solid #3390ec; margin: .3rem 0; padding-left: .6rem; }}
.compose {{ display: flex; gap: .4rem; }}
.compose input[name=text] {{ flex: 1; }}
.empty {{ color: #707579; }}
</style></head>
<body>
<h1>@{bot} — {count} message(s) sent</h1>
<form class="compose" method="post" action="/inbox/send">
  <input name="chat_id" value="{chat}" size="12" placeholder="chat id" required>
  <input name="text" placeholder="Write to the bot, e.g. {hints}" required>
  <button>Send</button>
</form>
<p><a href="/">Refresh</a></p>
{cards}
</body></html>
"""
