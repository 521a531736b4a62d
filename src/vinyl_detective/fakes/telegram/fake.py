"""FakeTelegram: the fake Bot API server as one object, its state and its ASGI app.

The routes: `/bot<token>/<method>` (bot_api.py), the inbox page and its forms (`/`,
`/inbox/send`, `/inbox/press`; inbox.py) and the outage switches (`/fake/down`,
`/fake/up`; controls.py). An unknown path or method gets Telegram's JSON 404/405.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from vinyl_detective.fakes.telegram.bot_api import BotApi
from vinyl_detective.fakes.telegram.inbox import render_inbox
from vinyl_detective.fakes.telegram.wire import error_response


class FakeTelegram(BotApi):
    """An in-memory Telegram Bot API for one bot, served as an ASGI app (`.app`)."""

    def __init__(
        self,
        token: str = "123456:DEMO-TOKEN",  # noqa: S107 - the fake's own demo token
        *,
        bot_username: str = "VinylDetectiveDemoBot",
        bot_name: str = "Vinyl Detective (demo)",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(token, bot_username=bot_username, bot_name=bot_name, clock=clock)
        self._app = self._build_app()
        self._app.state.loopback_on_stop = self.release_long_polls
        self._app.state.loopback_on_start = self._reopen

    @property
    def app(self) -> Starlette:
        """The ASGI app: mount it with LoopbackServer or httpx.ASGITransport."""
        return self._app

    def _build_app(self) -> Starlette:
        async def not_found(request: Request, exc: Exception) -> Response:
            if isinstance(exc, HTTPException) and exc.status_code == 405:
                return error_response(405, "Method Not Allowed")
            return error_response(404, "Not Found")

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

    # ------------------------------------------------------------------ the inbox page

    async def _inbox(self, request: Request) -> Response:
        with self._lock:
            messages = list(reversed(self.sent))
            commands = list(self.commands)
        return HTMLResponse(render_inbox(messages, commands, self.bot_username))

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
