"""Serving the admin API and dashboard from the daemon: the listening socket (taken
before any work starts, so a busy port is one line), uvicorn under the daemon's own
signal handling, and the URL a person opens.
"""

from __future__ import annotations

import contextlib
import socket
from typing import TYPE_CHECKING

from vinyl_detective.errors import ConfigError

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

__all__ = ["admin_server", "api_url", "listen_on"]


def api_url(host: str, port: int) -> str:
    """The URL a person opens for the API listening on `host`:`port` (for a wildcard
    address, this machine's loopback, one of the interfaces it covers)."""
    if host in ("0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def listen_on(host: str, port: int) -> socket.socket:
    """A socket listening on `host`:`port`, for the admin API; ConfigError if it is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's own sockets
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot serve the admin API on {host}:{port} ({exc.strerror}): choose another port"
        ) from None
    return sock


def admin_server(app: FastAPI, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for `app`, quiet, that leaves SIGINT/SIGTERM to the daemon (which
    stops everything, the server included)."""
    import uvicorn  # loaded only when something serves the API

    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",  # the app has no startup/shutdown hooks
        )
    )
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    return server
