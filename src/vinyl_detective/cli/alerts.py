"""`test-alert` (a sample card to every channel) and `feeds` (the Atom feed URLs)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.markup import escape

from vinyl_detective.cli.common import cli_settings, console, err, fail
from vinyl_detective.cli.root import app
from vinyl_detective.errors import ConfigError


@app.command("test-alert")
def test_alert() -> None:
    """Send a sample card to every alert channel, to check them.

    Telegram chats, each APPRISE_URLS entry and each search's --notify URL get it at
    once. One line per channel: delivered, or the error and what to fix (URL secrets
    masked). Nothing is recorded as alerted; the exit code is 1 when any channel failed.

    \b
    Example:
      vinyl-detective test-alert
    """
    import asyncio

    from vinyl_detective.clock import utcnow
    from vinyl_detective.notify.test_alert import check_channels
    from vinyl_detective.storage import chats
    from vinyl_detective.storage import searches as search_store
    from vinyl_detective.storage.db import open_database

    settings = cli_settings()
    engine = open_database(settings.database_url)
    with engine.connect() as conn:
        every_search = search_store.list_searches(conn)
        chat_ids = set(settings.telegram_allowed_chat_ids) | {
            s.chat_id for s in every_search if s.chat_id is not None
        }
        states = {chat_id: chats.chat_state(conn, chat_id) for chat_id in chat_ids}
    engine.dispose()
    if not settings.telegram_token and not any(
        (*settings.apprise_urls, *(url for s in every_search for url in s.channels))
    ):
        raise fail(
            ConfigError(
                "No alert channel is configured: set TELEGRAM_TOKEN and "
                "TELEGRAM_ALLOWED_CHAT_IDS, or APPRISE_URLS (see .env.example), or give a "
                "search its own with: vinyl-detective search add ... --notify URL"
            )
        )
    # Each line below says what a failing channel's log lines would (and without secrets).
    apprise_log = logging.getLogger("apprise")
    apprise_log.propagate = False
    try:
        with console.status("Sending a sample deal card to every channel…"):
            checks = asyncio.run(
                check_channels(
                    telegram_token=settings.telegram_token,
                    telegram_base_url=settings.telegram_api_base_url,
                    chat_ids=chat_ids,
                    chat_states=states,
                    apprise_urls=settings.apprise_urls,
                    searches=every_search,
                    clock=utcnow,
                )
            )
    finally:
        apprise_log.propagate = True
    for check in checks:
        mark = "[green]✓[/green]" if check.delivered else "[red]✗[/red]"
        line = f"{mark} {escape(check.channel)}: {escape(check.detail)}"
        if check.fix:
            line += f" [yellow]→ {escape(check.fix)}[/yellow]"
        console.print(line, highlight=False, soft_wrap=True)
    failed = sum(not c.delivered for c in checks)
    if failed:
        err.print(f"[red]{failed} of {len(checks)} channel(s) did not get the test.[/red]")
        raise typer.Exit(1)
    console.print(f"All {len(checks)} channel(s) got the test card.")


@app.command()
def feeds(
    base_url: Annotated[
        str,
        typer.Option(
            metavar="URL",
            help="Where your feed reader reaches the API (`serve`, or `run` with its --api-port).",
        ),
    ] = "http://127.0.0.1:8600",
    new_tokens: Annotated[
        bool,
        typer.Option("--new-tokens", help="Replace every feed token; the old URLs stop working."),
    ] = False,
) -> None:
    """The Atom feed URLs: every deal, and one per search.

    Each URL carries its own read-only token: it opens that feed and nothing else.
    Serve them with vinyl-detective serve, or run --api-port 8600.

    \b
    Example:
      vinyl-detective feeds --base-url https://vd.example.com
    """
    from vinyl_detective.feeds import feed_name, feed_token, new_feed_tokens
    from vinyl_detective.storage import searches as search_store
    from vinyl_detective.storage.db import open_database

    base = base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise fail(ValueError(f"--base-url {base_url!r} must start with http:// or https://"))
    engine = open_database(cli_settings().database_url)
    with engine.begin() as conn:
        if new_tokens:
            new_feed_tokens(conn)
        every = search_store.list_searches(conn)
        rows = [
            ("every deal", f"{base}/feeds/deals.atom?token={feed_token(conn, feed_name(None))}")
        ]
        rows += [
            (
                f"search #{s.id}: {s.query}",
                f"{base}/feeds/searches/{s.id}.atom?token={feed_token(conn, feed_name(s.id))}",
            )
            for s in every
        ]
    engine.dispose()
    if new_tokens:
        console.print("New tokens: the feed URLs below replace the old ones.")
    for what, url in rows:
        console.print(f"{escape(what)}\n  {url}", highlight=False, soft_wrap=True)
