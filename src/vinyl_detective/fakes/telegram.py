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

State is guarded by one lock, so a test thread may drive the fake while uvicorn serves it
from another thread; long polls wait on asyncio events woken thread-safely.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from vinyl_detective.fakes.faults import NGINX_502

__all__ = ["FakeTelegram", "TelegramHTMLError", "parse_telegram_html"]

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64

# Parameters whose values are always plain strings, even when they look like JSON
# ("123" as a message text must stay text).
_RAW_STRING_FIELDS = frozenset(
    {
        "text",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "caption",
        "description",
        "short_description",
        "name",
        "language_code",
        "secret_token",
        "business_connection_id",
        "data",
    }
)

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: (
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running"
    ),
    500: "Internal Server Error",
    502: "Bad Gateway",
}

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


# --------------------------------------------------------------------------- HTML parse mode


class TelegramHTMLError(ValueError):
    """Text that Telegram would refuse with "can't parse entities"."""


_ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
        "tg-emoji",
    }
)
_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
# How each tag is shown on the inbox page (a browser does not know tg-spoiler).
_BROWSER_TAGS = {
    "strong": "b",
    "em": "i",
    "ins": "u",
    "strike": "s",
    "del": "s",
    "tg-spoiler": "span",
    "tg-emoji": "span",
}
_SAFE_LINK_SCHEMES = ("http://", "https://", "tg://", "mailto:")

_TAG_RE = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z][a-zA-Z0-9_-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>"
)
_ATTR_RE = re.compile(
    r"([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?"
)
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _utf16_len(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _decode_entities(value: str, where: int, source: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            match = _ENTITY_RE.match(value, i)
            if match is None:
                raise TelegramHTMLError(_bare_ampersand(source, where))
            out.append(_entity_char(match))
            i = match.end()
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _entity_char(match: re.Match[str]) -> str:
    named, dec, hexa = match.groups()
    if named:
        return _NAMED[named]
    code = int(dec) if dec else int(hexa, 16)
    return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _bare_ampersand(source: str, index: int) -> str:
    return f'Unsupported HTML entity or unescaped "&" at byte offset {_byte_offset(source, index)}'


@dataclass
class _Open:
    name: str
    start: int  # UTF-16 offset in the visible text
    attrs: dict[str, str]
    language: str | None = None


@dataclass
class ParsedHTML:
    """The visible text, its entities (UTF-16 offsets) and a browser-safe rendering."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    safe_html: str = ""


def parse_telegram_html(source: str) -> ParsedHTML:
    """Parse `source` the way Telegram's HTML parse mode does, or raise TelegramHTMLError.

    Only the documented tags are allowed, they must nest and close properly, `<a>` needs an
    href, `<span>` must be `class="tg-spoiler"`, and `&` must start `&lt;`, `&gt;`, `&amp;`,
    `&quot;` or a numeric entity. A bare `>` is tolerated, as Telegram does.
    """
    visible: list[str] = []
    safe: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[_Open] = []
    offset = 0  # UTF-16 length of `visible` so far
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "<":
            match = _TAG_RE.match(source, i)
            if match is None:
                raise TelegramHTMLError(
                    f"Unclosed start tag at byte offset {_byte_offset(source, i)}"
                )
            closing, raw_name, raw_attrs = match.groups()
            name = raw_name.lower()
            if closing:
                if not stack:
                    raise TelegramHTMLError(
                        f'Unexpected end tag "{name}" at byte offset {_byte_offset(source, i)}'
                    )
                top = stack[-1]
                if top.name != name:
                    raise TelegramHTMLError(
                        f'Can\'t find end tag corresponding to start tag "{top.name}"'
                    )
                stack.pop()
                _close_entity(top, stack, offset, entities)
                safe.append(f"</{_BROWSER_TAGS.get(name, name)}>")
            else:
                if name not in _ALLOWED_TAGS:
                    raise TelegramHTMLError(
                        f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, i)}'
                    )
                attrs = _parse_attrs(raw_attrs, i, source)
                _check_tag(name, attrs, stack, source, i)
                stack.append(_Open(name, offset, attrs))
                safe.append(_browser_open_tag(name, attrs))
            i = match.end()
        elif ch == "&":
            match = _ENTITY_RE.match(source, i)
            if match is None:
                raise TelegramHTMLError(_bare_ampersand(source, i))
            char = _entity_char(match)
            visible.append(char)
            safe.append(html.escape(char, quote=False))
            offset += _utf16_len(char)
            i = match.end()
        else:
            visible.append(ch)
            safe.append(html.escape(ch, quote=False))
            offset += _utf16_len(ch)
            i += 1
    if stack:
        raise TelegramHTMLError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedHTML("".join(visible), entities, "".join(safe))


def _parse_attrs(raw: str, where: int, source: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _ATTR_RE.finditer(raw):
        key = match.group(1).lower()
        value = next((g for g in match.groups()[1:] if g is not None), "")
        attrs[key] = _decode_entities(value, where, source)
    return attrs


def _check_tag(
    name: str, attrs: dict[str, str], stack: list[_Open], source: str, where: int
) -> None:
    at = f"at byte offset {_byte_offset(source, where)}"
    if name == "a" and not attrs.get("href"):
        raise TelegramHTMLError(f'Tag "a" must have attribute "href" {at}')
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise TelegramHTMLError(f'Tag "span" must have class "tg-spoiler" {at}')
    if name == "tg-emoji" and not attrs.get("emoji-id"):
        raise TelegramHTMLError(f'Tag "tg-emoji" must have attribute "emoji-id" {at}')
    if name == "blockquote" and any(o.name == "blockquote" for o in stack):
        raise TelegramHTMLError(f"Blockquotes can't be nested {at}")


def _close_entity(
    top: _Open, stack: list[_Open], offset: int, entities: list[dict[str, Any]]
) -> None:
    if top.name == "code" and stack and stack[-1].name == "pre":
        language = top.attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].language = language.removeprefix("language-")
        return
    length = offset - top.start
    if length <= 0:
        return
    entity: dict[str, Any] = {"type": _ENTITY_TYPES[top.name], "offset": top.start}
    entity["length"] = length
    if top.name == "a":
        entity["url"] = top.attrs["href"]
    elif top.name == "pre" and top.language:
        entity["language"] = top.language
    elif top.name == "blockquote" and "expandable" in top.attrs:
        entity["type"] = "expandable_blockquote"
    elif top.name == "tg-emoji":
        entity["custom_emoji_id"] = top.attrs["emoji-id"]
    entities.append(entity)


def _browser_open_tag(name: str, attrs: dict[str, str]) -> str:
    if name == "a":
        href = attrs["href"]
        if href.lower().startswith(_SAFE_LINK_SCHEMES):
            return f'<a href="{html.escape(href, quote=True)}" rel="noopener" target="_blank">'
        return "<a>"
    if name in ("tg-spoiler", "span"):
        return '<span class="tg-spoiler">'
    return f"<{_BROWSER_TAGS.get(name, name)}>"


# --------------------------------------------------------------------------- the server


class _ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


@dataclass
class _Fault:
    status: int
    description: str
    retry_after: int | None
    times: int


def _error_response(
    status: int, description: str, *, retry_after: int | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)


def _decode_value(key: str, raw: str) -> Any:
    """Form and query values: nested values arrive as JSON text; strings arrive raw."""
    if key in _RAW_STRING_FIELDS:
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return raw if isinstance(value, str) else value


class FakeTelegram:
    """An in-memory Telegram Bot API for one bot, served as an ASGI app (`.app`)."""

    def __init__(
        self,
        token: str = "123456:DEMO-TOKEN",  # noqa: S107 - the fake's own demo token
        *,
        bot_username: str = "VinylDetectiveDemoBot",
        bot_name: str = "Vinyl Detective (demo)",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 777000
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self._clock = clock
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        # Public state (read it; change it through the methods below).
        self.sent: list[dict[str, Any]] = []
        self.answered_callbacks: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.commands: list[dict[str, str]] = []
        self.blocked_chats: set[int] = set()
        # Private state.
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 100_000_001
        self._next_message_id: dict[int | str, int] = {}
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._next_callback = 4_382_001_234_567_890_001
        self._allowed_updates: list[str] | None = None
        self._faults: dict[str, list[_Fault]] = {}
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._closing = False
        self._down_until: float | None = None  # an outage (go_down) ends then
        self._app = self._build_app()
        self._app.state.loopback_on_stop = self.release_long_polls
        self._app.state.loopback_on_start = self._reopen

    # ------------------------------------------------------------------ driving the fake

    @property
    def app(self) -> Starlette:
        """The ASGI app: mount it with LoopbackServer or httpx.ASGITransport."""
        return self._app

    def push_message(
        self, chat_id: int, text: str, *, user_id: int | None = None, first_name: str = "Ann"
    ) -> int:
        """Queue a message from a user to the bot; returns its message_id.

        Text starting with "/" carries a bot_command entity, as Telegram's clients send it.
        In a private chat (positive id) the user id defaults to the chat id.
        """
        user = self._user(chat_id, user_id, first_name)
        with self._lock:
            message_id = self._new_message_id(chat_id)
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": user,
                "chat": self._chat(chat_id, first_name),
                "date": int(self._clock()),
                "text": text,
            }
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
                ]
            self._messages[(chat_id, message_id)] = message
            self._queue_update({"message": message})
        return message_id

    def push_callback(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        first_name: str = "Ann",
    ) -> str:
        """Queue a press on an inline button of message `message_id`; returns the query id."""
        user = self._user(chat_id, user_id, first_name)
        with self._lock:
            query_id = str(self._next_callback)
            self._next_callback += 1
            message = self._messages.get((chat_id, message_id)) or {
                "message_id": message_id,
                "date": 0,
                "chat": self._chat(chat_id, first_name),
            }
            query = {
                "id": query_id,
                "from": user,
                "chat_instance": str(-5_512_345_678_901_234_567 - abs(chat_id)),
                "message": json.loads(json.dumps(message)),
                "data": data,
            }
            self._callbacks[query_id] = {
                "chat_id": chat_id,
                "message_id": message_id,
                "data": data,
                "answered": False,
            }
            self._queue_update({"callback_query": query})
        return query_id

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail with `status` (429 carries retry_after)."""
        if status == 429:
            wait = 1 if retry_after is None else retry_after
            text = description or f"Too Many Requests: retry after {wait}"
            fault = _Fault(status, text, wait, times)
        else:
            text = description or _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
            fault = _Fault(status, text, retry_after, times)
        with self._lock:
            self._faults.setdefault(method.lower(), []).append(fault)

    def go_down(self, seconds: float | None = None) -> None:
        """An outage: every Bot API call answers 502 Bad Gateway (an nginx page, as
        Telegram's front end sends it) for `seconds`, or until `come_back()`."""
        with self._changed:
            self._down_until = self._clock() + seconds if seconds is not None else float("inf")
            self._changed.notify_all()

    def come_back(self) -> None:
        """The outage is over."""
        with self._changed:
            self._down_until = None
            self._changed.notify_all()

    @property
    def down(self) -> bool:
        with self._lock:
            return self._down_until is not None and self._clock() < self._down_until

    def block_chat(self, chat_id: int) -> None:
        """The user of `chat_id` blocks the bot: every send to it fails with 403."""
        with self._changed:
            self.blocked_chats.add(chat_id)
            self._changed.notify_all()

    def unblock_chat(self, chat_id: int) -> None:
        with self._changed:
            self.blocked_chats.discard(chat_id)
            self._changed.notify_all()

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message the bot sent to `chat_id`, oldest first (edits applied)."""
        with self._lock:
            return [m for m in self.sent if m["chat_id"] == chat_id]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The bot's sent-message record for (chat_id, message_id), if any."""
        with self._lock:
            return next(
                (m for m in self.sent if m["chat_id"] == chat_id and m["message_id"] == message_id),
                None,
            )

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._lock:
            return len(self._updates)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until `predicate()` is true (re-checked on every change); False on timeout."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def wait_for_sent(
        self, count: int = 1, *, chat_id: int | None = None, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Block until the bot has sent `count` messages (to `chat_id`); return them all.

        Raises TimeoutError naming what did arrive, so a failing test says why.
        """

        def chosen() -> list[dict[str, Any]]:
            return [m for m in self.sent if chat_id is None or m["chat_id"] == chat_id]

        if not self.wait_until(lambda: len(chosen()) >= count, timeout):
            with self._lock:
                texts = [m["text"] for m in chosen()]
            raise TimeoutError(f"expected {count} message(s), the bot sent {texts!r}")
        with self._lock:
            return chosen()

    async def wait_for_sent_async(
        self,
        count: int = 1,
        *,
        chat_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """`wait_for_sent` for async code: waits in a worker thread, not on the loop."""
        return await asyncio.to_thread(self.wait_for_sent, count, chat_id=chat_id, timeout=timeout)

    async def wait_until_async(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - bounds the worker thread's wait
    ) -> bool:
        return await asyncio.to_thread(self.wait_until, predicate, timeout)

    # ------------------------------------------------------------------ internals

    def _user(self, chat_id: int, user_id: int | None, first_name: str) -> dict[str, Any]:
        uid = user_id if user_id is not None else (chat_id if chat_id > 0 else 1_000_001)
        return {"id": uid, "is_bot": False, "first_name": first_name, "language_code": "en"}

    @staticmethod
    def _chat(chat_id: int | str, first_name: str = "Ann") -> dict[str, Any]:
        if isinstance(chat_id, str):
            return {"id": -1_001_000_000_001, "type": "channel", "username": chat_id.lstrip("@")}
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": first_name}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": "Record diggers"}

    def _new_message_id(self, chat_id: int | str) -> int:
        next_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = next_id + 1
        return next_id

    def release_long_polls(self) -> None:
        """End every pending and future long poll at once (empty result): server shutdown."""
        with self._changed:
            self._closing = True
            self._wake()

    def _reopen(self) -> None:
        with self._lock:
            self._closing = False

    def _queue_update(self, body: dict[str, Any]) -> None:
        """Append an update and wake the long polls (caller holds the lock)."""
        self._updates.append({"update_id": self._next_update_id, **body})
        self._next_update_id += 1
        self._wake()

    def _wake(self) -> None:
        self._changed.notify_all()
        for loop, event in list(self._waiters):
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed: its poll is gone
                self._waiters.discard((loop, event))

    def _take_fault(self, method: str) -> _Fault | None:
        faults = self._faults.get(method)
        if not faults:
            return None
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        return fault

    def _build_app(self) -> Starlette:
        async def not_found(request: Request, exc: Exception) -> Response:
            if isinstance(exc, HTTPException) and exc.status_code == 405:
                return _error_response(405, "Method Not Allowed")
            return _error_response(404, "Not Found")

        return Starlette(
            routes=[
                Route("/", self._inbox, methods=["GET"]),
                Route("/inbox/send", self._inbox_send, methods=["POST"]),
                Route("/inbox/press", self._inbox_press, methods=["POST"]),
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/fake/down", self._switch_down, methods=["POST"]),
                Route("/fake/up", self._switch_up, methods=["POST"]),
            ],
            exception_handlers={404: not_found, 405: not_found},
        )

    async def _switch_down(self, request: Request) -> Response:
        raw = request.query_params.get("seconds")
        try:
            seconds = float(raw) if raw else None
        except ValueError:
            return JSONResponse({"error": f"seconds must be a number, not {raw!r}"}, 400)
        self.go_down(seconds)
        return JSONResponse({"down": True, "seconds": seconds})

    async def _switch_up(self, request: Request) -> Response:
        self.come_back()
        return JSONResponse({"down": False})

    async def _api(self, request: Request) -> Response:
        if self.down:
            return Response(NGINX_502, 502, media_type="text/html")
        if request.path_params["token"] != self.token:
            return _error_response(401, "Unauthorized")
        method = str(request.path_params["method"]).lower()
        handler = self._handlers().get(method)
        if handler is None:
            return _error_response(404, "Not Found")
        try:
            params = await _read_params(request)
        except _ApiError as exc:
            return _error_response(exc.status, exc.description)
        with self._changed:
            self.calls.append(request.path_params["method"])
            fault = self._take_fault(method)
            self._changed.notify_all()
        if fault is not None:
            return _error_response(fault.status, fault.description, retry_after=fault.retry_after)
        try:
            result = await handler(params, request)
        except _ApiError as exc:
            return _error_response(exc.status, exc.description, retry_after=exc.retry_after)
        return JSONResponse({"ok": True, "result": result})

    def _handlers(self) -> dict[str, Callable[[dict[str, Any], Request], Any]]:
        return {
            "getme": self._get_me,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "answercallbackquery": self._answer_callback_query,
            "editmessagereplymarkup": self._edit_reply_markup,
            "editmessagetext": self._edit_message_text,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
        }

    # ------------------------------------------------------------------ Bot API methods

    async def _get_me(self, params: dict[str, Any], request: Request) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _delete_webhook(self, params: dict[str, Any], request: Request) -> Any:
        if params.get("drop_pending_updates") is True:
            with self._changed:
                self._updates.clear()
                self._changed.notify_all()
        return True

    async def _get_webhook_info(self, params: dict[str, Any], request: Request) -> Any:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    async def _get_updates(self, params: dict[str, Any], request: Request) -> Any:
        offset = _optional_int(params, "offset")
        limit = min(max(_optional_int(params, "limit") or 100, 1), 100)
        timeout = max(_optional_float(params, "timeout") or 0.0, 0.0)
        allowed = params.get("allowed_updates")
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        deadline = loop.time() + timeout
        with self._changed:
            if isinstance(allowed, list):
                self._allowed_updates = [str(a) for a in allowed] or None
            if offset is not None:
                self._confirm(offset)
                self._changed.notify_all()
            self._waiters.add((loop, event))
        try:
            while True:
                event.clear()
                with self._lock:
                    batch = self._deliverable(offset, limit)
                remaining = deadline - loop.time()
                if batch or remaining <= 0 or self._closing:
                    return batch
                try:
                    await asyncio.wait_for(event.wait(), min(remaining, 0.25))
                except TimeoutError:
                    if await request.is_disconnected():
                        return []
        finally:
            with self._lock:
                self._waiters.discard((loop, event))

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _deliverable(self, offset: int | None, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        chosen = [
            u
            for u in self._updates
            if (offset is None or offset < 0 or u["update_id"] >= offset)
            and (allowed is None or any(key in u for key in allowed))
        ]
        copy: list[dict[str, Any]] = json.loads(json.dumps(chosen[:limit]))
        return copy

    async def _send_message(self, params: dict[str, Any], request: Request) -> Any:
        chat_id = _chat_id(params)
        if isinstance(chat_id, int) and chat_id in self.blocked_chats:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        text = params.get("text")
        parse_mode = params.get("parse_mode")
        parsed = _parse_text(text, parse_mode)
        markup = _validate_markup(params.get("reply_markup"))
        with self._changed:
            message_id = self._new_message_id(chat_id)
            message: dict[str, Any] = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": self._chat(chat_id),
                "date": int(self._clock()),
                "text": parsed.text,
            }
            if parsed.entities:
                message["entities"] = parsed.entities
            if markup is not None:
                message["reply_markup"] = markup
            if isinstance(params.get("link_preview_options"), dict):
                message["link_preview_options"] = params["link_preview_options"]
            self._messages[(chat_id, message_id)] = message
            self.sent.append(
                {
                    "chat_id": chat_id,
                    "message_id": message_id,
                    "text": text,
                    "parse_mode": parse_mode,
                    "reply_markup": markup,
                    "plain_text": parsed.text,
                    "html": parsed.safe_html,
                    "date": message["date"],
                    "received_at": self._clock(),  # to the fraction of a second
                    "link_preview_options": params.get("link_preview_options"),
                    "edited": False,
                }
            )
            self._changed.notify_all()
        return message

    def _editable(self, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: message to edit not found")
        chat_id = _chat_id(params)
        message_id = _optional_int(params, "message_id")
        if message_id is None:
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        if isinstance(chat_id, int) and chat_id in self.blocked_chats:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        message = self._messages.get((chat_id, message_id))
        record = self.message(chat_id, message_id) if isinstance(chat_id, int) else None
        if message is None or record is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return message, record

    async def _edit_reply_markup(self, params: dict[str, Any], request: Request) -> Any:
        markup = _validate_markup(params.get("reply_markup"))
        if markup is not None and not markup.get("inline_keyboard"):
            markup = None
        with self._changed:
            message, record = self._editable(params)
            if message.get("reply_markup") == markup:
                raise _ApiError(400, _NOT_MODIFIED)
            if markup is None:
                message.pop("reply_markup", None)
            else:
                message["reply_markup"] = markup
            message["edit_date"] = int(self._clock())
            record["reply_markup"] = markup
            record["edited"] = True
            self._changed.notify_all()
            return json.loads(json.dumps(message))

    async def _edit_message_text(self, params: dict[str, Any], request: Request) -> Any:
        text = params.get("text")
        parse_mode = params.get("parse_mode")
        parsed = _parse_text(text, parse_mode)
        markup = _validate_markup(params.get("reply_markup"))
        with self._changed:
            message, record = self._editable(params)
            if (
                message.get("text") == parsed.text
                and message.get("entities", []) == parsed.entities
                and message.get("reply_markup") == markup
            ):
                raise _ApiError(400, _NOT_MODIFIED)
            message["text"] = parsed.text
            message["edit_date"] = int(self._clock())
            if parsed.entities:
                message["entities"] = parsed.entities
            else:
                message.pop("entities", None)
            if markup is None:
                message.pop("reply_markup", None)
            else:
                message["reply_markup"] = markup
            record.update(
                text=text,
                parse_mode=parse_mode,
                plain_text=parsed.text,
                html=parsed.safe_html,
                reply_markup=markup,
                edited=True,
            )
            self._changed.notify_all()
            return json.loads(json.dumps(message))

    async def _answer_callback_query(self, params: dict[str, Any], request: Request) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        with self._changed:
            query = self._callbacks.get(query_id)
            if query is None or query["answered"]:
                raise _ApiError(400, _QUERY_TOO_OLD)
            query["answered"] = True
            self.answered_callbacks.append(
                {
                    "callback_query_id": query_id,
                    "text": params.get("text"),
                    "show_alert": bool(params.get("show_alert", False)),
                    "chat_id": query["chat_id"],
                    "message_id": query["message_id"],
                    "data": query["data"],
                }
            )
            self._changed.notify_all()
        return True

    async def _set_my_commands(self, params: dict[str, Any], request: Request) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _ApiError(400, "Bad Request: commands must be a list of at most 100 commands")
        checked: list[dict[str, str]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not _COMMAND_RE.match(name):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            checked.append({"command": name, "description": description})
        with self._changed:
            self.commands = checked
            self._changed.notify_all()
        return True

    async def _get_my_commands(self, params: dict[str, Any], request: Request) -> Any:
        with self._lock:
            return list(self.commands)

    async def _delete_my_commands(self, params: dict[str, Any], request: Request) -> Any:
        with self._lock:
            self.commands = []
        return True

    # ------------------------------------------------------------------ the inbox page

    async def _inbox(self, request: Request) -> Response:
        with self._lock:
            messages = list(reversed(self.sent))
            commands = list(self.commands)
        cards = "\n".join(_inbox_card(m) for m in messages) or (
            '<p class="empty">The bot has not sent anything yet.</p>'
        )
        known = sorted({m["chat_id"] for m in messages if isinstance(m["chat_id"], int)})
        default_chat = known[0] if known else ""
        hints = " ".join(f"/{html.escape(c['command'])}" for c in commands)
        page = _INBOX_PAGE.format(
            bot=html.escape(self.bot_username),
            count=len(messages),
            cards=cards,
            chat=html.escape(str(default_chat), quote=True),
            hints=html.escape(hints) if hints else "/help",
        )
        return HTMLResponse(page)

    async def _inbox_send(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        try:
            chat_id = int(form.get("chat_id", ""))
        except ValueError:
            return HTMLResponse("chat_id must be a number", status_code=400)
        text = form.get("text", "").strip()
        if text:
            self.push_message(chat_id, text)
        return RedirectResponse("/", status_code=303)

    async def _inbox_press(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        try:
            chat_id = int(form.get("chat_id", ""))
            message_id = int(form.get("message_id", ""))
        except ValueError:
            return HTMLResponse("chat_id and message_id must be numbers", status_code=400)
        self.push_callback(chat_id, message_id, form.get("data", ""))
        return RedirectResponse("/", status_code=303)


# --------------------------------------------------------------------------- helpers


async def _read_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {k: _decode_value(k, v) for k, v in request.query_params.items()}
    if request.method != "POST":
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if not body:
        return params
    if content_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise _ApiError(400, "Bad Request: can't parse JSON body") from exc
        if not isinstance(data, dict):
            raise _ApiError(400, "Bad Request: JSON body must be an object")
        params.update(data)
    elif content_type in ("application/x-www-form-urlencoded", ""):
        text = body.decode("utf-8", errors="replace")
        for key, value in parse_qsl(text, keep_blank_values=True):
            params[key] = _decode_value(key, value)
    else:
        raise _ApiError(400, f"Bad Request: the fake does not accept {content_type} bodies")
    return params


def _optional_int(params: dict[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _ApiError(400, f"Bad Request: field {key!r} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise _ApiError(400, f"Bad Request: field {key!r} must be an integer") from exc


def _optional_float(params: dict[str, Any], key: str) -> float | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise _ApiError(400, f"Bad Request: field {key!r} must be a number") from exc


def _chat_id(params: dict[str, Any]) -> int | str:
    value = params.get("chat_id")
    if isinstance(value, bool) or value is None or value == "":
        raise _ApiError(400, "Bad Request: chat_id is empty")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.startswith("@") and len(value) > 1:
        return value
    try:
        return int(str(value))
    except ValueError as exc:
        raise _ApiError(400, "Bad Request: chat not found") from exc


def _parse_text(text: Any, parse_mode: Any) -> ParsedHTML:
    if not isinstance(text, str) or not text.strip():
        raise _ApiError(400, "Bad Request: message text is empty")
    mode = str(parse_mode or "").lower()
    if mode == "html":
        try:
            parsed = parse_telegram_html(text)
        except TelegramHTMLError as exc:
            raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc
    elif mode in ("", "markdown", "markdownv2"):
        parsed = ParsedHTML(text, [], html.escape(text, quote=False))
    else:
        raise _ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
    if not parsed.text.strip():
        raise _ApiError(400, "Bad Request: message text is empty")
    if len(parsed.text) > MAX_MESSAGE_LENGTH:
        raise _ApiError(400, "Bad Request: message is too long")
    return parsed


def _validate_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    keyboard = markup.get("inline_keyboard")
    if keyboard is None:
        return markup  # reply keyboards etc.: accepted as they are
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise _ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array of Array')
    for row in keyboard:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard button")
            if "callback_data" in button:
                data = str(button["callback_data"]).encode("utf-8")
                if not 1 <= len(data) <= MAX_CALLBACK_DATA_BYTES:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            elif not any(key in button for key in _BUTTON_ACTIONS):
                raise _ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                )
    return markup


_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
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
            elif str(button.get("url", "")).lower().startswith(_SAFE_LINK_SCHEMES):
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
