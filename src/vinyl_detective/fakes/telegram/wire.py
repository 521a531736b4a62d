"""The fake Bot API's wire: how a call's parameters are read and checked, and the
`{"ok": false, "error_code", "description"}` error envelope, as Telegram answers them.

Parameters come from the query string, a JSON body or a form (python-telegram-bot posts
forms whose nested values are JSON text). A bad value raises ApiError, which the
dispatcher (bot_api.py) turns into Telegram's error body and HTTP status.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from vinyl_detective.fakes.telegram.html_mode import (
    ParsedHTML,
    TelegramHTMLError,
    parse_telegram_html,
)

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


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def error_response(
    status: int, description: str, *, retry_after: int | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)


def too_many_requests(retry_after: int) -> str:
    """The description of Telegram's 429, which says how long to wait."""
    return f"Too Many Requests: retry after {retry_after}"


def decode_value(key: str, raw: str) -> Any:
    """Form and query values: nested values arrive as JSON text; strings arrive raw."""
    if key in _RAW_STRING_FIELDS:
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return raw if isinstance(value, str) else value


async def read_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {k: decode_value(k, v) for k, v in request.query_params.items()}
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
            raise ApiError(400, "Bad Request: can't parse JSON body") from exc
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request: JSON body must be an object")
        params.update(data)
    elif content_type in ("application/x-www-form-urlencoded", ""):
        text = body.decode("utf-8", errors="replace")
        for key, value in parse_qsl(text, keep_blank_values=True):
            params[key] = decode_value(key, value)
    else:
        raise ApiError(400, f"Bad Request: the fake does not accept {content_type} bodies")
    return params


def optional_int(params: dict[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ApiError(400, f"Bad Request: field {key!r} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"Bad Request: field {key!r} must be an integer") from exc


def optional_float(params: dict[str, Any], key: str) -> float | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"Bad Request: field {key!r} must be a number") from exc


def chat_id_of(params: dict[str, Any]) -> int | str:
    value = params.get("chat_id")
    if isinstance(value, bool) or value is None or value == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.startswith("@") and len(value) > 1:
        return value
    try:
        return int(str(value))
    except ValueError as exc:
        raise ApiError(400, "Bad Request: chat not found") from exc


def parse_text(text: Any, parse_mode: Any) -> ParsedHTML:
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    mode = str(parse_mode or "").lower()
    if mode == "html":
        try:
            parsed = parse_telegram_html(text)
        except TelegramHTMLError as exc:
            raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc
    elif mode in ("", "markdown", "markdownv2"):
        parsed = ParsedHTML(text, [], html.escape(text, quote=False))
    else:
        raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
    if not parsed.text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(parsed.text) > MAX_MESSAGE_LENGTH:
        raise ApiError(400, "Bad Request: message is too long")
    return parsed


def validate_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    keyboard = markup.get("inline_keyboard")
    if keyboard is None:
        return markup  # reply keyboards etc.: accepted as they are
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array of Array')
    for row in keyboard:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button")
            if "callback_data" in button:
                data = str(button["callback_data"]).encode("utf-8")
                if not 1 <= len(data) <= MAX_CALLBACK_DATA_BYTES:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            elif not any(key in button for key in _BUTTON_ACTIONS):
                raise ApiError(
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
