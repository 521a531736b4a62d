"""The `vinyl-detective` command: a thin layer over the services.

Help is click's plain layout (flags shown as flags, text wrapped to the terminal, at most
80 columns); a paragraph that starts with a \\b line (the examples) is kept as written.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vinyl_detective.config import Settings, load_settings
from vinyl_detective.errors import ConfigError, VinylDetectiveError
from vinyl_detective.logs import setup_logging

# What a command needs (the database, the services, the daemon and its libraries) is
# imported inside that command: `--help` and `status` start in a fraction of a second.
if TYPE_CHECKING:
    import asyncio

    from vinyl_detective.domain.lifecycle import DealState
    from vinyl_detective.fakes.faults import FaultPlan
    from vinyl_detective.service import SearchService
    from vinyl_detective.storage.backup import BackupSummary
    from vinyl_detective.storage.status import Reader, StatusReport

app = typer.Typer(
    name="vinyl-detective",
    help="Finds underpriced records on eBay by pricing each listing against Discogs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
search_app = typer.Typer(help="Manage saved searches.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(search_app, name="search")
rules_app = typer.Typer(
    help="Watch rules: check them, and the global rule.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(rules_app, name="rules")

SearchId = Annotated[
    int, typer.Argument(metavar="ID", help="The search's number, as `search list` shows it.")
]
console = Console()
err = Console(stderr=True, soft_wrap=True)  # an error stays one line, however long


def _say_error(text: str) -> None:
    err.print(f"[red]{escape(text)}[/red]", highlight=False)


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        _say_error(str(exc))
        raise typer.Exit(2) from None
    setup_logging(settings.log_level, secrets=settings.secrets)
    return settings


def _fail(exc: Exception) -> typer.Exit:
    _say_error(str(exc))
    return typer.Exit(1)


def run_until_signalled(main: Callable[[asyncio.Event, asyncio.Event], Awaitable[None]]) -> None:
    """Run `main(stop, force)`: the first Ctrl+C/SIGTERM sets `stop` (running work
    finishes), a second sets `force` (running work is cancelled at once)."""
    import asyncio
    import signal

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
        await main(stop, force)

    asyncio.run(runner())


@app.command()
def run(
    once: Annotated[
        bool, typer.Option("--once", help="Run every due search once, then exit.")
    ] = False,
    api_port: Annotated[
        int | None,
        typer.Option(
            metavar="PORT",
            min=1,
            max=65535,
            help="Also serve the admin API and dashboard on this port.",
        ),
    ] = None,
    skip_initial: Annotated[
        bool,
        typer.Option("--skip-initial", help="Don't run what is due at start; wait one interval."),
    ] = False,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker",
            help="An extra worker on a shared PostgreSQL database: polls and alerts, but "
            "leaves the Telegram commands to the main process.",
        ),
    ] = False,
) -> None:
    """The daemon: poll eBay, price on Discogs, send the alerts.

    With no keys in the environment or .env, it runs the demo marketplace instead.

    \b
    Examples:
      vinyl-detective run
      vinyl-detective run --once          # from cron
      vinyl-detective run --api-port 8600
    """
    settings = _settings()
    if not settings.is_demo:
        settings.require_live()
    if settings.is_demo:
        console.print(
            "[yellow]No keys configured (see .env.example): running the demo marketplace.[/yellow]"
        )
        demo(once=once)
        return
    from vinyl_detective.daemon import Daemon
    from vinyl_detective.jobs.backfill import rich_backfill_progress
    from vinyl_detective.logs import log_console

    shown = log_console()
    # On a terminal, a live line per backfilling search; elsewhere the log says it.
    with rich_backfill_progress(shown) if shown else contextlib.nullcontext() as progress:
        daemon = Daemon(
            settings,
            skip_initial=skip_initial,
            bot_commands=not worker,
            scheduler_options={"backfill_progress": progress} if progress else None,
        )
        port = api_port if api_port is not None else settings.api_port
        run_until_signalled(
            lambda stop, force: daemon.run(stop, once=once, api_port=port, force=force)
        )
    summary = daemon.last_cycle
    if once and summary is not None:
        if summary.searches == 0 and summary.failed == 0 and not daemon.searches.list():
            err.print('No saved searches: add one, e.g. vinyl-detective search add "blue note"')
        if summary.failed and summary.failed >= summary.searches:
            err.print(f"[red]Every job of the cycle failed ({summary.failed}); see the log.[/red]")
            raise typer.Exit(1)


@app.command()
def serve(
    port: Annotated[
        int, typer.Option(metavar="PORT", min=1, max=65535, help="Port on 127.0.0.1.")
    ] = 8600,
) -> None:
    """The admin API, ingest webhook and dashboard (no polling).

    Set ADMIN_TOKEN first. The API's docs are at http://127.0.0.1:8600/docs.

    \b
    Example:
      ADMIN_TOKEN=s3cret vinyl-detective serve --port 8600
    """
    from vinyl_detective.daemon import Daemon

    settings = _settings()
    if not settings.admin_token:
        err.print(
            "[yellow]ADMIN_TOKEN is not set: the admin routes answer 503 until it is "
            "(see .env.example).[/yellow]"
        )
    settings.require_live()
    daemon = Daemon(settings, bot_commands=False)  # `run` answers the bot, not `serve`
    run_until_signalled(
        lambda stop, force: daemon.run(stop, api_port=port, poll=False, force=force)
    )


FAULTS_HELP = (
    "Share of requests (0-1) the fakes answer with the real services' failures: 429, "
    "5xx, dropped or stalled connections, cut or non-JSON bodies, an expired eBay token."
)


def _fault_plan(rate: float, seed: int) -> FaultPlan | None:
    from vinyl_detective.fakes.faults import FaultPlan

    return FaultPlan(rate=rate, seed=seed) if rate > 0 else None


@app.command()
def demo(
    once: Annotated[
        bool, typer.Option("--once", help="One full cycle, print the alerts, exit.")
    ] = False,
    data_dir: Annotated[
        Path,
        typer.Option(metavar="DIR", help="Where the demo keeps its database."),
    ] = Path(".demo"),
    faults: Annotated[
        float, typer.Option(metavar="SHARE", help=FAULTS_HELP, min=0.0, max=1.0)
    ] = 0.0,
    fault_seed: Annotated[
        int, typer.Option(metavar="N", help="Seed of the failures (same seed, same failures).")
    ] = 1,
) -> None:
    """The real daemon on a sample market (local fake services).

    Fake eBay, Discogs and Telegram servers on 127.0.0.1, filled with a sample market
    that keeps getting new listings; the deal cards show here as they are sent.

    \b
    Example:
      vinyl-detective demo --once
    """
    from vinyl_detective.demo import run_demo

    settings = _settings()  # API_PORT, API_HOST and ADMIN_TOKEN apply to the demo too
    plan = _fault_plan(faults, fault_seed)
    run_until_signalled(
        lambda stop, force: run_demo(
            stop,
            once=once,
            data_dir=data_dir,
            console=console,
            force=force,
            faults=plan,
            api_port=settings.api_port,
            api_host=settings.api_host,
            admin_token=settings.admin_token,
        )
    )


@app.command()
def fakes(
    port: Annotated[
        int,
        typer.Option(
            metavar="PORT",
            min=0,
            max=65533,
            help="The first of three ports in a row: eBay, Discogs, Telegram (0: any free).",
        ),
    ] = 8631,
    faults: Annotated[float, typer.Option(help=FAULTS_HELP, min=0.0, max=1.0)] = 0.0,
    fault_seed: Annotated[int, typer.Option(help="Seed of the failures (same seed, same).")] = 1,
) -> None:
    """Only the fake eBay, Discogs and Telegram servers.

    Prints the settings that point a daemon (`run`) at them, as it would point at the
    real services.

    \b
    Examples:
      vinyl-detective fakes --port 8631
      vinyl-detective fakes --faults 0.2    # one request in five fails
    """
    from vinyl_detective.demo import serve_fakes_forever

    setup_logging("INFO")
    plan = _fault_plan(faults, fault_seed)
    run_until_signalled(
        lambda stop, _force: serve_fakes_forever(stop, port=port, console=console, faults=plan)
    )


@app.command()
def status() -> None:
    """Searches, category streams, eBay budget, daemon health.

    Per search: mode, last and next run, yield (alerts), last error, backfill state.

    \b
    Example:
      vinyl-detective status
    """
    from vinyl_detective.clock import utcnow
    from vinyl_detective.sources.ebay_sites import RECORD_CATEGORIES
    from vinyl_detective.storage.status import read_status, sqlite_path, sqlite_reader

    settings = _settings()
    now = utcnow()

    def summary(read: Reader) -> StatusReport:
        return read_status(
            read,
            now,
            budget_limit=settings.ebay_daily_call_budget,
            marketplace=settings.ebay_marketplace,
            categories=RECORD_CATEGORIES,
        )

    report = None
    if (path := sqlite_path(settings.database_url)) is not None:
        # SQLite at the newest schema: read with the standard library, no SQLAlchemy.
        with sqlite_reader(path) as read:
            if read is not None:
                report = summary(read)
    if report is None:  # PostgreSQL, or a database to create or migrate first
        from vinyl_detective.storage.db import open_database
        from vinyl_detective.storage.status import sqlalchemy_reader

        engine = open_database(settings.database_url)
        with engine.connect() as conn:
            report = summary(sqlalchemy_reader(conn))
        engine.dispose()

    def when(moment: datetime | None) -> str:
        if moment is None:
            return "-"
        return f"{moment:%H:%M}" if moment.date() == now.date() else f"{moment:%m-%d %H:%M}"

    table = Table(title="Saved searches (times UTC)")
    for column in (
        "#",
        "keywords | rule",
        "mode",
        "last",
        "next",
        "alerts 7d/all",
        "backfill",
        "state",
    ):
        table.add_column(column)
    for row in report.searches:
        s = row.search
        if row.disabled_reason:
            state = f"[red]disabled: {row.disabled_reason}[/red]"
        elif row.last_error:
            state = f"[red]error: {row.last_error[:60]}[/red]"
        else:
            state = "active" if s.active else "paused"
        keywords = f"{s.query} (≥{s.min_deal_score:.0%})" + (f" | {s.rule}" if s.rule else "")
        table.add_row(
            str(s.id),
            keywords,
            row.mode,
            when(row.last_run_at),
            when(row.next_run_at),
            f"{row.alerts_7d}/{row.alerts_total}",
            row.backfill or "-",
            state,
        )
    console.print(table)
    if report.streams:
        streams = Table(title="Category streams (firehose)")
        for column in ("stream", "last poll", "next poll", "every", "new/min"):
            streams.add_column(column)
        for st in report.streams:
            streams.add_row(
                st.stream,
                when(st.last_poll_at),
                when(st.next_run_at),
                f"{st.interval_minutes:.2g} min" if st.interval_minutes else "-",
                f"{st.arrivals_per_min:.1f}" if st.arrivals_per_min is not None else "-",
            )
        console.print(streams)
    console.print(
        f"eBay calls today: {report.budget_used} / {report.budget_limit} "
        "(the day resets at 07:00 UTC)"
    )
    counts = report.alert_counts
    console.print(
        f"Alerts: sent {counts.get('sent', 0)}, pending {counts.get('pending', 0)}, "
        f"failed {counts.get('failed', 0)}; events waiting: {report.events_waiting}"
    )
    for recipient, item_id, error in report.failures:
        console.print(f"  [red]failed[/red] {recipient} {item_id}: {error}", highlight=False)
    if report.started_at is None:
        console.print("Daemon: has not run yet (vinyl-detective run).")
    elif report.stopped_at is not None:
        console.print(f"Daemon: stopped at {when(report.stopped_at)}.")
    else:
        last = report.last_activity or report.started_at
        idle = (now - last).total_seconds() / 60
        if idle < 45:
            console.print(
                f"Daemon: [green]running[/green] since {when(report.started_at)}, "
                f"last job finished {idle:.0f} min ago."
            )
        else:
            console.print(
                f"Daemon: [yellow]not responding[/yellow]: started "
                f"{when(report.started_at)}, nothing done for {idle:.0f} min "
                "(crashed? check its log)."
            )


def _service() -> SearchService:
    from vinyl_detective.clock import utcnow
    from vinyl_detective.service import SearchService
    from vinyl_detective.storage.db import open_database

    settings = _settings()
    return SearchService(
        open_database(settings.database_url),
        utcnow,
        default_poll_minutes=settings.poll_minutes,
        default_marketplace=settings.ebay_marketplace,
    )


@search_app.command("add")
def search_add(
    keywords: Annotated[
        str,
        typer.Argument(metavar="KEYWORDS", help="eBay keywords: words, -exclude, (a,b)."),
    ],
    rule: Annotated[
        str | None,
        typer.Option(metavar="RULE", help="Filter, e.g. 'price < 30 AND condition >= \"VG+\"'."),
    ] = None,
    threshold: Annotated[
        str | None, typer.Option(metavar="SAVING", help="Minimum saving, 0.3 or 30%.")
    ] = None,
    every: Annotated[
        int | None,
        typer.Option(metavar="MINUTES", help="Poll interval (default POLL_MINUTES)."),
    ] = None,
    notify: Annotated[
        list[str] | None,
        typer.Option(
            metavar="URL",
            help="Extra Apprise URL for this search's alerts (repeatable); "
            "add ?vd_digest=daily for a daily digest of the less urgent deals.",
        ),
    ] = None,
    marketplace: Annotated[
        str | None,
        typer.Option(
            metavar="SITE", help="eBay site to search, e.g. EBAY_GB (default EBAY_MARKETPLACE)."
        ),
    ] = None,
    category: Annotated[
        str | None,
        typer.Option(
            metavar="ID", help="eBay category id, e.g. 176985 Records (default: all records)."
        ),
    ] = None,
) -> None:
    """Save a search.

    A search on the configured marketplace within the record categories costs no API
    calls of its own (the category firehose serves it); another site or category runs
    its own eBay query.

    \b
    Examples:
      vinyl-detective search add "blue note -reissue" --threshold 30%
      vinyl-detective search add "miles davis" --rule 'price < 80'
    """
    from vinyl_detective.service import parse_threshold

    search = _service().add(
        keywords,
        rule=rule,
        poll_minutes=every,
        min_deal_score=parse_threshold(threshold) if threshold else None,
        channels=tuple(notify or ()),
        marketplace=marketplace,
        category_id=category,
    )
    where = f" on {search.marketplace}" + (
        f", category {search.category_id}" if search.category_id else ""
    )
    console.print(f"Saved search #{search.id}: {search.query}{where}")


@search_app.command("schedule")
def search_schedule(
    search_id: SearchId,
    min_every: Annotated[
        float | None,
        typer.Option(
            "--min",
            metavar="MINUTES",
            help="Poll at most this often (minutes); a search busier than a page of listings "
            "in that time is still polled once a page has arrived (no extra calls).",
        ),
    ] = None,
    max_every: Annotated[
        float | None,
        typer.Option("--max", metavar="MINUTES", help="Never poll less often (minutes)."),
    ] = None,
    priority: Annotated[
        int | None,
        typer.Option(metavar="P", help="-2 (low) to 2 (high): high ones are polled more."),
    ] = None,
    own_query: Annotated[
        bool | None,
        typer.Option(
            "--own-query/--firehose",
            help="Run its own eBay query, or ride the category firehose (the default).",
        ),
    ] = None,
) -> None:
    """Bound a search's polling, its priority and its source.

    Within these bounds the planner speeds up searches that find deals and backs off
    quiet ones. The daily budget wins over a minimum; a busy search's pages win over a
    maximum.

    \b
    Examples:
      vinyl-detective search schedule 3 --min 10 --max 60 --priority 1
      vinyl-detective search schedule 3 --own-query
    """
    from vinyl_detective.domain.schedule import (
        DEFAULT_MAX_MINUTES,
        DEFAULT_MIN_MINUTES,
        rides_firehose,
    )
    from vinyl_detective.sources.ebay_sites import RECORD_CATEGORIES

    mode = None if own_query is None else ("query" if own_query else "firehose")
    service = _service()
    state = service.set_schedule(
        search_id, mode=mode, min_minutes=min_every, max_minutes=max_every, priority=priority
    )
    search = next(s for s in service.list() if s.id == search_id)
    home = _settings().ebay_marketplace
    rides = rides_firehose(search, state.mode, home, RECORD_CATEGORIES)
    low = f"{state.min_minutes:g}" if state.min_minutes else f"{DEFAULT_MIN_MINUTES:g} (default)"
    high = f"{state.max_minutes:g}" if state.max_minutes else f"{DEFAULT_MAX_MINUTES:g} (default)"
    console.print(
        f"Search #{search_id}: {'rides the firehose' if rides else 'runs its own query'}, "
        f"every {low} to {high} min, priority {state.priority:+d}."
    )
    if state.mode == "firehose" and not rides:
        console.print(
            f"(It searches {search.marketplace}"
            + (f" in category {search.category_id}" if search.category_id else "")
            + ", which the category firehose cannot serve.)"
        )


@search_app.command("list")
def search_list() -> None:
    """List saved searches.

    \b
    Example:
      vinyl-detective search list
    """
    table = Table()
    for column in ("#", "keywords", "rule", "min", "every", "site", "active", "chat"):
        table.add_column(column)
    for s in _service().list():
        table.add_row(
            str(s.id),
            s.query,
            s.rule or "",
            f"{s.min_deal_score:.0%}",
            f"{s.poll_minutes} min",
            s.marketplace + (f" / {s.category_id}" if s.category_id else ""),
            "yes" if s.active else "no",
            str(s.chat_id or ""),
        )
    console.print(table)


@search_app.command("remove")
def search_remove(search_id: SearchId) -> None:
    """Delete a saved search.

    \b
    Example:
      vinyl-detective search remove 3
    """
    _service().remove(search_id)
    console.print(f"Removed search #{search_id}.")


@search_app.command("pause")
def search_pause(search_id: SearchId) -> None:
    """Stop polling a search.

    \b
    Example:
      vinyl-detective search pause 3
    """
    _service().set_active(search_id, False)
    console.print(f"Paused search #{search_id}.")


@search_app.command("resume")
def search_resume(search_id: SearchId) -> None:
    """Poll a paused search again.

    \b
    Example:
      vinyl-detective search resume 3
    """
    _service().set_active(search_id, True)
    console.print(f"Resumed search #{search_id}.")


@search_app.command("rule")
def search_rule(
    search_id: SearchId,
    rule: Annotated[str, typer.Argument(metavar="RULE", help='The filter; "" removes it.')],
) -> None:
    """Set a search's filter rule.

    \b
    Examples:
      vinyl-detective search rule 3 'shipping = 0'
      vinyl-detective search rule 3 ""
    """
    _service().set_rule(search_id, rule or None)
    console.print(f"Search #{search_id} rule: {rule or '(none)'}")


@rules_app.command("check")
def rules_check(
    rule: Annotated[str, typer.Argument(metavar="RULE", help="The rule, quoted as one word.")],
) -> None:
    """Check a rule and show how it reads.

    \b
    Example:
      vinyl-detective rules check 'price < 30 AND condition >= "VG+"'
    """
    from vinyl_detective.domain.rules import format_rule, parse_rule

    parsed = parse_rule(rule)
    console.print(f"OK: {format_rule(parsed)}", highlight=False)


@rules_app.command("global")
def rules_global(
    rule: Annotated[
        str | None,
        typer.Argument(metavar="RULE", help='The rule; "" removes it; omit it to show.'),
    ] = None,
) -> None:
    """Show or set the rule every search must also pass.

    \b
    Examples:
      vinyl-detective rules global 'seller_feedback >= 98 AND shipping < 10'
      vinyl-detective rules global ""
    """
    from vinyl_detective.service import GlobalRule

    settings = _settings()
    service = _service()
    global_rule = GlobalRule(service.engine, settings.global_rule)
    if rule is not None:
        global_rule.set(rule or None)
    current = global_rule.get()
    console.print(f"Global rule: {current or '(none)'}", highlight=False)


@app.command()
def deals(
    state: Annotated[
        str | None,
        typer.Option(metavar="STATE", help="Only deals in this state, e.g. PURCHASED."),
    ] = None,
    csv: Annotated[
        bool,
        typer.Option("--csv", help="Print every deal found as CSV (for a spreadsheet) instead."),
    ] = False,
    ledger: Annotated[
        bool,
        typer.Option(
            "--ledger",
            help="With --csv: the flip ledger instead (bought, sold, fees, profit per deal).",
        ),
    ] = False,
) -> None:
    """Tracked deals and realised profit, or all deals as CSV.

    \b
    Examples:
      vinyl-detective deals --state PURCHASED
      vinyl-detective deals --csv > deals.csv
      vinyl-detective deals --csv --ledger > flips.csv
    """
    from vinyl_detective.storage import deals as deal_store
    from vinyl_detective.storage.db import open_database

    settings = _settings()
    engine = open_database(settings.database_url)
    if csv or ledger:
        if not csv:
            raise _fail(
                ValueError("--ledger goes with --csv: vinyl-detective deals --csv --ledger")
            )
        if state:
            raise _fail(ValueError("--state does not apply to --csv: the export has every deal"))
        from vinyl_detective.feeds import deals_csv, ledger_csv

        with engine.connect() as conn:
            for line in (ledger_csv if ledger else deals_csv)(conn):
                sys.stdout.write(line)
        sys.stdout.flush()
        engine.dispose()
        return
    with engine.connect() as conn:
        rows = deal_store.list_deals(conn, state=_deal_state(state) if state else None, limit=100)
        summary = deal_store.summary(conn)
    table = Table(title="Deals")
    table.add_column("item", no_wrap=True)
    table.add_column("title", max_width=36, overflow="ellipsis", no_wrap=True)
    for column in ("state", "found", "bought", "sold", "profit"):
        table.add_column(column, no_wrap=True)
    for d in rows:
        table.add_row(
            d.item_id,
            d.title,
            d.state.value,
            f"{d.found_price} {d.currency}",
            *(
                f"{amount} {d.currency}" if amount is not None else ""
                for amount in (d.purchase_price, d.sale_price, d.profit)
            ),
        )
    console.print(table)
    profit = ", ".join(f"{v} {k}" for k, v in summary.realised_profit.items()) or "0"
    console.print(
        f"Open deals: {summary.open_count}; sold: {summary.sold_count}; realised profit: {profit}"
    )


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

    settings = _settings()
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
        raise _fail(
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


def _backup_line(what: str, summary: BackupSummary) -> str:
    return (
        f"{what} {summary.path}: {summary.searches} searches, {summary.listings:,} listings, "
        f"{summary.deals} deals, schema {summary.revision}, "
        f"{summary.size_bytes / 1_000_000:.1f} MB."
    )


@app.command()
def backup(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="Where to write the backup, e.g. vd-backup.db."),
    ],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Back up the SQLite database, safely while the daemon runs.

    A consistent snapshot, through SQLite's online backup API, in a single file. With
    PostgreSQL it says how to use pg_dump instead.

    \b
    Example:
      vinyl-detective backup backups/vd-$(date +%F).db
    """
    from vinyl_detective.storage.backup import backup_sqlite

    settings = _settings()
    with console.status("Backing up the database…"):
        summary = backup_sqlite(settings.database_url, file, overwrite=force)
    console.print(_backup_line("Backed up to", summary), highlight=False)


@app.command()
def restore(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A file made by vinyl-detective backup.")
    ],
    force: Annotated[
        bool,
        typer.Option("--force", help="Restore even though a daemon seems to use the database."),
    ] = False,
) -> None:
    """Replace the database with a backup (migrated if older).

    It refuses while a daemon uses the database and checks FILE is a Vinyl Detective
    backup. The database it replaces is kept beside it, as NAME.before-restore-TIME.
    With PostgreSQL it says how to use pg_restore instead.

    \b
    Example:
      vinyl-detective restore backups/vd-2026-12-01.db
    """
    from vinyl_detective.clock import utcnow
    from vinyl_detective.storage.backup import restore_sqlite

    settings = _settings()
    with console.status("Restoring the database…"):
        result = restore_sqlite(file, settings.database_url, utcnow(), force=force)
    console.print(_backup_line("Restored", result.backup), highlight=False)
    if result.revision != result.backup.revision:
        console.print(f"Migrated from schema {result.backup.revision} to {result.revision}.")
    if result.kept_as is not None:
        console.print(f"The database it replaced is kept as {result.kept_as}.", highlight=False)


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
        raise _fail(ValueError(f"--base-url {base_url!r} must start with http:// or https://"))
    engine = open_database(_settings().database_url)
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


def _deal_state(text: str) -> DealState:
    from vinyl_detective.domain.lifecycle import DealState

    try:
        return DealState(text.upper())
    except ValueError:
        states = ", ".join(s.value for s in DealState)
        raise _fail(ValueError(f"{text!r} is not a state; one of: {states}")) from None


@app.command()
def transition(
    item_id: Annotated[
        str,
        typer.Argument(
            metavar="ITEM",
            help="The eBay item id, as `deals` shows it; quote it: it contains |.",
        ),
    ],
    state: Annotated[
        str,
        typer.Argument(
            metavar="STATE",
            help="MESSAGING, NEGOTIATING, PURCHASED, RECEIVED, LISTED, SOLD or CANCELLED.",
        ),
    ],
    price: Annotated[
        str | None,
        typer.Option(metavar="AMOUNT", help="Purchase price (PURCHASED) or sale price (SOLD)."),
    ] = None,
    fees: Annotated[str | None, typer.Option(metavar="AMOUNT", help="Fees paid on a sale.")] = None,
    reason: Annotated[
        str | None,
        typer.Option(metavar="TEXT", help="A note kept with the change, e.g. why it fell through."),
    ] = None,
) -> None:
    """Move a deal through its lifecycle.

    \b
    Examples:
      vinyl-detective transition 'v1|286012345678|0' PURCHASED --price 45
      vinyl-detective transition 'v1|286012345678|0' SOLD --price 120 --fees 14.50
    """
    from vinyl_detective.clock import utcnow
    from vinyl_detective.domain.lifecycle import Actor, DealState
    from vinyl_detective.storage import deals as deal_store
    from vinyl_detective.storage.db import open_database

    def money(text: str | None, name: str) -> Decimal | None:
        if text is None:
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            raise _fail(ValueError(f"--{name} {text!r} is not an amount, e.g. 45.50")) from None

    target = _deal_state(state)
    amount = money(price, "price")
    engine = open_database(_settings().database_url)
    with engine.begin() as conn:
        record = deal_store.transition(
            conn,
            item_id,
            target,
            utcnow(),
            Actor.CLI,
            reason=reason,
            purchase_price=amount if target is DealState.PURCHASED else None,
            sale_price=amount if target is DealState.SOLD else None,
            fees=money(fees, "fees"),
        )
    console.print(
        f"{record.item_id}: now {record.state.value}"
        + (f", profit {record.profit} {record.currency}" if record.profit is not None else "")
    )


@app.command()
def explain(
    item: Annotated[
        str,
        typer.Argument(
            metavar="ITEM",
            help="An eBay item number, a 'v1|…|0' id (quoted) or an eBay item URL.",
        ),
    ],
) -> None:
    """Why a listing did (not) alert: every decision about it.

    When and how it was seen, each matching step with the candidates it weighed, the
    grade, the reference price and its age, every rule with the values it used, the
    score, and each recipient's alert. Works from stored data; spends no eBay or
    Discogs call.

    \b
    Examples:
      vinyl-detective explain 286012345678
      vinyl-detective explain 'v1|286012345678|0'
    """
    from vinyl_detective.clock import utcnow
    from vinyl_detective.explain import explain_listing, rates_from
    from vinyl_detective.service import GlobalRule
    from vinyl_detective.storage.db import open_database

    settings = _settings()
    engine = open_database(settings.database_url)
    answer = explain_listing(
        engine,
        item,
        utcnow(),
        rates=rates_from(settings.fx_rates),
        global_rule=GlobalRule(engine, settings.global_rule).get(),
        allowed_chats=sorted(settings.telegram_allowed_chat_ids),
    )
    console.print(escape(answer.text()), highlight=False)
    if not answer.seen:
        raise typer.Exit(1)


@app.command("import-dump")
def import_dump_command(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="discogs_YYYYMMDD_releases.xml.gz (or .xml)."),
    ],
    format: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="Keep only this format (repeatable): vinyl, cd, cassette.",
        ),
    ] = None,
    genre: Annotated[
        list[str] | None,
        typer.Option("--genre", metavar="GENRE", help="Keep only this genre (repeatable)."),
    ] = None,
    year_from: Annotated[
        int | None, typer.Option(metavar="YEAR", help="Oldest release year to keep.")
    ] = None,
    year_to: Annotated[
        int | None, typer.Option(metavar="YEAR", help="Newest release year to keep.")
    ] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="Ignore the checkpoint of an interrupted run.")
    ] = False,
) -> None:
    """Fill the catalog from a Discogs monthly dump.

    The releases dump is streamed; an interrupted import resumes where it stopped.
    Re-importing a newer dump updates changed releases and keeps cached prices.

    \b
    Example:
      vinyl-detective import-dump discogs_20261101_releases.xml.gz --format vinyl
    """
    from vinyl_detective.clock import utcnow
    from vinyl_detective.jobs.import_dump import import_dump, rich_progress
    from vinyl_detective.storage.db import open_database

    settings = _settings()
    engine = open_database(settings.database_url)
    years = (year_from, year_to) if year_from or year_to else None
    try:
        with rich_progress() as progress:
            stats = import_dump(
                engine,
                file,
                formats=format or None,
                genres=genre or None,
                years=years,
                now=utcnow,
                progress=progress,
                resume=not restart,
            )
    except VinylDetectiveError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        err.print("Interrupted. What was imported is kept: run the same command to resume.")
        raise typer.Exit(130) from None
    finally:
        engine.dispose()
    rate = stats.releases / stats.seconds if stats.seconds else 0.0
    console.print(
        f"Imported {stats.releases:,} releases ({stats.identifiers:,} catalog numbers and "
        f"barcodes) in {stats.seconds:.0f}s, {rate:,.0f} releases/s; "
        f"{stats.filtered:,} filtered out, {stats.resumed:,} already imported."
    )


@app.command("sync-wantlist")
def sync_wantlist_command(
    username: Annotated[str, typer.Argument(metavar="USER", help="Your Discogs username.")],
    by_artist: Annotated[
        bool, typer.Option("--by-artist", help="One search per artist instead of per album.")
    ] = False,
) -> None:
    """Watch everything on your Discogs wantlist.

    Its releases join the catalog and searches are created for them, once: running it
    again adds only what is new.

    \b
    Example:
      vinyl-detective sync-wantlist crate_digger_88 --by-artist
    """
    import asyncio

    from rich.progress import Progress

    from vinyl_detective.clock import utcnow
    from vinyl_detective.jobs.wantlist import sync_wantlist
    from vinyl_detective.sources.discogs import DiscogsClient
    from vinyl_detective.sources.ratelimit import HeaderRateLimiter

    settings = _settings()
    if not settings.discogs_token:
        raise _fail(ConfigError("DISCOGS_TOKEN is missing: the wantlist is read from Discogs."))
    service = _service()

    async def main() -> None:
        async with DiscogsClient(
            settings.discogs_token,
            base_url=settings.discogs_api_base_url,
            user_agent=settings.user_agent,
            limiter=HeaderRateLimiter(),
        ) as discogs:
            with Progress(console=console, transient=True) as bar:
                task = bar.add_task("Reading the wantlist", total=None)
                result = await sync_wantlist(
                    engine=service.engine,
                    discogs=discogs,
                    username=username,
                    clock=utcnow,
                    group_by_artist=by_artist,
                    service=service,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        console.print(
            f"Wantlist of {username}: {result.fetched} wants read, "
            f"{result.releases_stored} releases in the catalog, "
            f"{result.searches_created} searches created, {result.already_watched} already "
            f"watched ({result.stop_reason})."
        )

    asyncio.run(main())


@app.command("import-history")
def import_history_command(
    file: Annotated[
        Path,
        typer.Argument(metavar="ZIP", help="The Spotify data export (my_spotify_data.zip)."),
    ],
    top: Annotated[int, typer.Option(metavar="N", help="How many albums to propose.")] = 20,
    create: Annotated[bool, typer.Option("--create", help="Create the proposed watches.")] = False,
) -> None:
    """Propose watches from your Spotify listening.

    The albums you listen to most, from a Spotify data export, each as a proposed
    search; --create saves them.

    \b
    Example:
      vinyl-detective import-history my_spotify_data.zip --top 10 --create
    """
    from vinyl_detective.clock import utcnow
    from vinyl_detective.jobs.history_import import create_watches, propose_watches
    from vinyl_detective.sources.spotify_export import read_listening_history

    proposals = propose_watches(read_listening_history(file), top=top)
    table = Table(title="Albums you listen to most")
    for column in ("#", "artist", "album", "hours", "days", "keywords", "rule"):
        table.add_column(column)
    for p in proposals:
        table.add_row(
            str(p.rank),
            p.artist,
            p.album or "(unknown)",
            f"{p.listened_hours:.1f}",
            str(p.distinct_days),
            p.query,
            p.rule,
        )
    console.print(table)
    if not create:
        console.print("Nothing created: add --create to watch these.")
        return
    service = _service()
    created = create_watches(service.engine, proposals, utcnow, service=service)
    console.print(f"Created {created} watch(es).")


def main() -> None:
    """The console script: every failure ends in one line saying what to fix (a config
    problem: one line per variable), never a traceback."""
    try:
        # Not standalone: typer returns a command's exit code and raises usage errors
        # here instead of printing them as a usage block.
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        err.print("Interrupted.")
        code = 130
    except typer.Abort:
        err.print("Aborted.")
        code = 1
    except typer.TyperException as exc:  # a usage error: unknown option, missing argument…
        _usage_error(exc)
        code = exc.exit_code
    except VinylDetectiveError as exc:
        _say_error(str(exc))
        code = 1
    except OSError as exc:  # a busy port, an unreadable file: the system says why
        _say_error(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        code = 1
    except Exception as exc:
        reason = _database_problem(exc)
        if reason is None:
            raise
        _say_error(f"Cannot use the database: {reason} (check DATABASE_URL; see .env.example)")
        code = 1
    raise SystemExit(code if isinstance(code, int) else 0)


def _database_problem(exc: Exception) -> str | None:
    """What went wrong with the database, if `exc` is a database error: SQLAlchemy's, or
    sqlite3's (`status` reads SQLite without SQLAlchemy)."""
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(exc, sqlite3.Error):
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "sqlalchemy" not in sys.modules:  # nothing failed in SQLAlchemy, then
        return None
    from sqlalchemy import exc as sa_exc

    if not isinstance(exc, sa_exc.SQLAlchemyError):
        return None
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _usage_error(exc: typer.TyperException) -> None:
    message = exc.format_message()
    if "\n" in message:  # a group called with no command: its help is the message
        err.print(message, markup=False, highlight=False)
        return
    command = getattr(getattr(exc, "ctx", None), "command_path", None) or app.info.name
    _say_error(f"{message.rstrip('.')} (see {command} --help)")
