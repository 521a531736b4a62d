"""The fake's Bot API methods: `/bot<token>/<method>`, as python-telegram-bot calls them.

`_api` is the dispatcher: the outage switch (an nginx 502 page), the token, the method,
its parameters (wire.py), a queued fault, then the method itself, answered in Telegram's
`{"ok": true, "result": ...}` envelope or its error body. The methods: getMe,
deleteWebhook, getWebhookInfo, getUpdates (long polling with offset confirmation),
sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery and the
setMyCommands/getMyCommands/deleteMyCommands trio. A new method is an `async def` here
and a line in `_handlers`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vinyl_detective.fakes.faults import NGINX_502
from vinyl_detective.fakes.telegram.controls import TelegramControls
from vinyl_detective.fakes.telegram.wire import (
    ApiError,
    chat_id_of,
    error_response,
    optional_float,
    optional_int,
    parse_text,
    read_params,
    validate_markup,
)

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class BotApi(TelegramControls):
    """The Bot API methods over the fake's state."""

    async def _api(self, request: Request) -> Response:
        if self.down:
            return Response(NGINX_502, 502, media_type="text/html")
        if request.path_params["token"] != self.token:
            return error_response(401, "Unauthorized")
        method = str(request.path_params["method"]).lower()
        handler = self._handlers().get(method)
        if handler is None:
            return error_response(404, "Not Found")
        try:
            params = await read_params(request)
        except ApiError as exc:
            return error_response(exc.status, exc.description)
        with self._changed:
            self.calls.append(request.path_params["method"])
            fault = self._take_fault(method)
            self._changed.notify_all()
        if fault is not None:
            return error_response(fault.status, fault.description, retry_after=fault.retry_after)
        try:
            result = await handler(params, request)
        except ApiError as exc:
            return error_response(exc.status, exc.description, retry_after=exc.retry_after)
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
        offset = optional_int(params, "offset")
        limit = min(max(optional_int(params, "limit") or 100, 1), 100)
        timeout = max(optional_float(params, "timeout") or 0.0, 0.0)
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

    async def _send_message(self, params: dict[str, Any], request: Request) -> Any:
        chat_id = chat_id_of(params)
        if isinstance(chat_id, int) and chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        text = params.get("text")
        parse_mode = params.get("parse_mode")
        parsed = parse_text(text, parse_mode)
        markup = validate_markup(params.get("reply_markup"))
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
            raise ApiError(400, "Bad Request: message to edit not found")
        chat_id = chat_id_of(params)
        message_id = optional_int(params, "message_id")
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        if isinstance(chat_id, int) and chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        message = self._messages.get((chat_id, message_id))
        record = self.message(chat_id, message_id) if isinstance(chat_id, int) else None
        if message is None or record is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message, record

    async def _edit_reply_markup(self, params: dict[str, Any], request: Request) -> Any:
        markup = validate_markup(params.get("reply_markup"))
        if markup is not None and not markup.get("inline_keyboard"):
            markup = None
        with self._changed:
            message, record = self._editable(params)
            if message.get("reply_markup") == markup:
                raise ApiError(400, _NOT_MODIFIED)
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
        parsed = parse_text(text, parse_mode)
        markup = validate_markup(params.get("reply_markup"))
        with self._changed:
            message, record = self._editable(params)
            if (
                message.get("text") == parsed.text
                and message.get("entities", []) == parsed.entities
                and message.get("reply_markup") == markup
            ):
                raise ApiError(400, _NOT_MODIFIED)
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
                raise ApiError(400, _QUERY_TOO_OLD)
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
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 commands")
        checked: list[dict[str, str]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not _COMMAND_RE.match(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
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
