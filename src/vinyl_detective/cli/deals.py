"""`deals`, `transition` and `explain`: the tracked deals, their lifecycle, and why a
listing did (not) alert.
"""

from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vinyl_detective.cli.common import cli_settings, console, fail
from vinyl_detective.cli.root import app

if TYPE_CHECKING:
    from vinyl_detective.domain.lifecycle import DealState


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

    settings = cli_settings()
    engine = open_database(settings.database_url)
    if csv or ledger:
        if not csv:
            raise fail(ValueError("--ledger goes with --csv: vinyl-detective deals --csv --ledger"))
        if state:
            raise fail(ValueError("--state does not apply to --csv: the export has every deal"))
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


def _deal_state(text: str) -> DealState:
    from vinyl_detective.domain.lifecycle import DealState

    try:
        return DealState(text.upper())
    except ValueError:
        states = ", ".join(s.value for s in DealState)
        raise fail(ValueError(f"{text!r} is not a state; one of: {states}")) from None


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
            raise fail(ValueError(f"--{name} {text!r} is not an amount, e.g. 45.50")) from None

    target = _deal_state(state)
    amount = money(price, "price")
    engine = open_database(cli_settings().database_url)
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

    settings = cli_settings()
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
