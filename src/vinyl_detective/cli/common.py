"""What every command shares: the consoles, one-line errors, settings and logging,
the signal handling of the long-running commands, and the search service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from vinyl_detective.config import Settings, load_settings
from vinyl_detective.errors import ConfigError
from vinyl_detective.logs import setup_logging

if TYPE_CHECKING:
    import asyncio

    from vinyl_detective.service import SearchService


SearchId = Annotated[
    int, typer.Argument(metavar="ID", help="The search's number, as `search list` shows it.")
]


console = Console()


err = Console(stderr=True, soft_wrap=True)  # an error stays one line, however long


def say_error(text: str) -> None:
    err.print(f"[red]{escape(text)}[/red]", highlight=False)


def cli_settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        say_error(str(exc))
        raise typer.Exit(2) from None
    setup_logging(settings.log_level, secrets=settings.secrets)
    return settings


def fail(exc: Exception) -> typer.Exit:
    say_error(str(exc))
    return typer.Exit(1)


def run_until_signalled(main: Callable[[asyncio.Event, asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop, force)`: the first Ctrl+C/SIGTERM sets `stop` (running work
    finishes), a second sets `force` (running work is cancelled at once). A SIGTERM
    while the event loop is being set up is kept, and stops `main` once it runs."""
    import asyncio
    import signal
    import threading

    early: list[int] = []
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if in_main else None
    if in_main:  # raised inside the loop's set-up, it would leave the loop half made
        signal.signal(signal.SIGTERM, lambda signum, frame: early.append(signum))

    async def runner() -> None:
        stop, force = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if stop.is_set():
                err.print("Forced stop: cancelling the running work.")
                force.set()
            else:
                err.print("Stopping: letting running work finish (Ctrl+C again to force)…")
                stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        if early:
            on_signal()
        await main(stop, force)

    try:
        asyncio.run(runner())
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def search_service() -> SearchService:
    from vinyl_detective.clock import utcnow
    from vinyl_detective.service import SearchService
    from vinyl_detective.storage.db import open_database

    settings = cli_settings()
    return SearchService(
        open_database(settings.database_url),
        utcnow,
        default_poll_minutes=settings.poll_minutes,
        default_marketplace=settings.ebay_marketplace,
    )
