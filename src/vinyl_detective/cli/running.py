"""The long-running commands: `run` (the daemon), `serve` (API and dashboard only),
`demo` (the daemon on a sample market) and `fakes` (only the fake services).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vinyl_detective.cli.common import cli_settings, console, err, run_until_signalled
from vinyl_detective.cli.root import app
from vinyl_detective.logs import setup_logging

if TYPE_CHECKING:
    from vinyl_detective.fakes.faults import FaultPlan


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
    settings = cli_settings()
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

    settings = cli_settings()
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

    settings = cli_settings()  # API_PORT, API_HOST and ADMIN_TOKEN apply to the demo too
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
