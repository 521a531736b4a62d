"""Driving the fake Telegram from a test, the demo or the command line.

A user writes to the bot (`push_message`) or presses a button (`push_callback`); a
method fails next (`fail_next`); a user blocks the bot (`block_chat`); Telegram goes
down for a while (`go_down`, `come_back`). `POST /fake/down?seconds=30` and
`POST /fake/up` flip the outage switch from outside (e.g. with curl while
`vinyl-detective fakes` runs).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vinyl_detective.fakes.telegram.html_mode import utf16_len
from vinyl_detective.fakes.telegram.state import Fault, TelegramState
from vinyl_detective.fakes.telegram.wire import too_many_requests

# What a failure queued by fail_next says when the test gives no description.
DEFAULT_DESCRIPTIONS = {
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


class TelegramControls(TelegramState):
    """The fake's state, with the controls a test or the demo drives it by."""

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
                    {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
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
            text = description or too_many_requests(wait)
            fault = Fault(status, text, wait, times)
        else:
            text = description or DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
            fault = Fault(status, text, retry_after, times)
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

    # ------------------------------------------------------------------ the switches over HTTP

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
