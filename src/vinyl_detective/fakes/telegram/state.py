"""The fake Telegram's state: the chat and update queues behind the Bot API.

TelegramState holds what the fake knows (updates waiting for getUpdates, every message
the bot sent with its edits, button presses, queued faults, the outage switch) and the
ways to read and wait on it. Everything is guarded by one lock, so a test thread may read
and wait while uvicorn serves the app from another thread; long polls wait on asyncio
events that `_wake` sets thread-safely. controls.py changes it from outside, bot_api.py
from the bot's side.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    """A failure queued by `fail_next` for the next calls of one method."""

    status: int
    description: str
    retry_after: int | None
    times: int


class TelegramState:
    """What the fake Telegram holds for one bot: users' updates waiting for getUpdates,
    the messages the bot sent, button presses, queued faults; one lock guards it all."""

    def __init__(
        self,
        token: str,
        *,
        bot_username: str,
        bot_name: str,
        clock: Callable[[], float],
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
        # Public state (read it; change it through the controls, controls.py).
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
        self._faults: dict[str, list[Fault]] = {}
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._closing = False
        self._down_until: float | None = None  # an outage (go_down) ends then

    # ------------------------------------------------------------------ reading the state

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

    def _take_fault(self, method: str) -> Fault | None:
        faults = self._faults.get(method)
        if not faults:
            return None
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        return fault

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
