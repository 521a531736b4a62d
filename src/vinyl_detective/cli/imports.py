"""Filling the catalog and the watches: `import-dump` (a Discogs monthly dump),
`sync-wantlist` (a Discogs wantlist) and `import-history` (Spotify listening).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vinyl_detective.cli.common import cli_settings, console, err, fail, search_service
from vinyl_detective.cli.root import app
from vinyl_detective.errors import ConfigError, VinylDetectiveError


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

    settings = cli_settings()
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
        raise fail(exc) from None
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

    settings = cli_settings()
    if not settings.discogs_token:
        raise fail(ConfigError("DISCOGS_TOKEN is missing: the wantlist is read from Discogs."))
    service = search_service()

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
    service = search_service()
    created = create_watches(service.engine, proposals, utcnow, service=service)
    console.print(f"Created {created} watch(es).")
