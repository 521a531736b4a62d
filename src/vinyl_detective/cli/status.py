"""`status`: searches, category streams, the eBay budget and the daemon's health, read
straight from SQLite so it answers in a fraction of a second.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.table import Table

from vinyl_detective.cli.common import cli_settings, console
from vinyl_detective.cli.root import app

if TYPE_CHECKING:
    from vinyl_detective.storage.status import Reader, StatusReport


@app.command()
def status() -> None:
    """Searches, category streams, eBay budget, daemon health.

    Per search: mode, last and next run, yield (alerts), last error, backfill state.

    \b
    Example:
      vinyl-detective status
    """
    from vinyl_detective.clock import utcnow
    from vinyl_detective.domain.ebay_sites import RECORD_CATEGORIES
    from vinyl_detective.storage.status import read_status, sqlite_path, sqlite_reader

    settings = cli_settings()
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
