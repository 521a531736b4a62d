"""`search ...` (add, schedule, list, remove, pause, resume, rule) and `rules ...`
(check, global): the saved searches and their watch rules.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from vinyl_detective.cli.common import SearchId, cli_settings, console, search_service
from vinyl_detective.cli.root import rules_app, search_app


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

    search = search_service().add(
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
    from vinyl_detective.domain.ebay_sites import RECORD_CATEGORIES
    from vinyl_detective.domain.schedule_types import (
        DEFAULT_MAX_MINUTES,
        DEFAULT_MIN_MINUTES,
        rides_firehose,
    )

    mode = None if own_query is None else ("query" if own_query else "firehose")
    service = search_service()
    state = service.set_schedule(
        search_id, mode=mode, min_minutes=min_every, max_minutes=max_every, priority=priority
    )
    search = next(s for s in service.list() if s.id == search_id)
    home = cli_settings().ebay_marketplace
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
    for s in search_service().list():
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
    search_service().remove(search_id)
    console.print(f"Removed search #{search_id}.")


@search_app.command("pause")
def search_pause(search_id: SearchId) -> None:
    """Stop polling a search.

    \b
    Example:
      vinyl-detective search pause 3
    """
    search_service().set_active(search_id, False)
    console.print(f"Paused search #{search_id}.")


@search_app.command("resume")
def search_resume(search_id: SearchId) -> None:
    """Poll a paused search again.

    \b
    Example:
      vinyl-detective search resume 3
    """
    search_service().set_active(search_id, True)
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
    search_service().set_rule(search_id, rule or None)
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

    settings = cli_settings()
    service = search_service()
    global_rule = GlobalRule(service.engine, settings.global_rule)
    if rule is not None:
        global_rule.set(rule or None)
    current = global_rule.get()
    console.print(f"Global rule: {current or '(none)'}", highlight=False)
