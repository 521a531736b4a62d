"""Serve any ASGI app on 127.0.0.1 with a real free port, from a background thread.

The demo and the end-to-end tests put every fake (eBay, Discogs, Telegram) behind one of
these, so the daemon talks to them over real HTTP exactly as it would to the real services:

    with LoopbackServer(FakeTelegram().app) as base_url:
        ...  # e.g. "http://127.0.0.1:53817"

    async with LoopbackServer(app) as base_url:   # from async code: start/stop off the loop
        ...

`start()` returns once uvicorn accepts connections; `stop()` first calls the app's stop
hook (`on_stop=`, or `app.state.loopback_on_stop`: FakeTelegram uses it to end pending long
polls), asks uvicorn to finish, gives in-flight requests a short grace period, then forces
it down and joins the thread, so no thread outlives the server.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

from vinyl_detective.errors import ConfigError

__all__ = ["LoopbackServer"]

_HOST = "127.0.0.1"


class LoopbackServer:
    """One ASGI app served by uvicorn on 127.0.0.1 in a daemon thread.

    `port=0` (the default) takes any free port; a fixed port suits a demo users bookmark.
    """

    def __init__(
        self,
        app: Any,
        *,
        port: int = 0,
        start_timeout: float = 10.0,
        graceful_shutdown: int = 1,
        log_level: str = "warning",
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self._app = app
        self._requested_port = port  # 0: any free port
        # Called first by stop(), so the app can end long-running requests (long polls).
        # An app may also offer one itself as `app.state.loopback_on_stop` (FakeTelegram does).
        state_hook = getattr(getattr(app, "state", None), "loopback_on_stop", None)
        self._on_stop = on_stop or (state_hook if callable(state_hook) else None)
        start_hook = getattr(getattr(app, "state", None), "loopback_on_start", None)
        self._on_start: Callable[[], None] | None = start_hook if callable(start_hook) else None
        self._start_timeout = start_timeout
        self._graceful_shutdown = graceful_shutdown
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._failure: BaseException | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. "http://127.0.0.1:53817" (no trailing slash)."""
        if self._url is None:
            raise RuntimeError("LoopbackServer is not running: call start() first")
        return self._url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def start(self) -> str:
        """Start serving and return the base URL once the server accepts connections."""
        if self._thread is not None:
            return self.url
        if self._on_start is not None:
            self._on_start()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, self._requested_port))
        except OSError as exc:
            sock.close()
            raise ConfigError(  # a port the user chose: `fakes --port` says it in one line
                f"cannot serve on {_HOST}:{self._requested_port} ({exc.strerror}): "
                "choose another port, or 0 for any free one"
            ) from exc
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            host=_HOST,
            port=port,
            log_level=self._log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=max(self._graceful_shutdown, 1),
        )
        server = uvicorn.Server(config)
        self._server, self._socket, self._failure = server, sock, None
        thread = threading.Thread(
            target=self._serve, args=(server, sock), name=f"loopback-{port}", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                reason = f": {self._failure!r}" if self._failure else ""
                raise RuntimeError(f"loopback server on port {port} did not start{reason}")
            time.sleep(0.005)
        self._url = f"http://{_HOST}:{port}"
        return self._url

    def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported by start(); a thread must not raise
            self._failure = exc

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        if self._on_stop is not None:
            self._on_stop()
        server.should_exit = True
        thread.join(self._graceful_shutdown + 2.0)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5.0)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        self._url = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> str:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)
