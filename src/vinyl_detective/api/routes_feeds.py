"""Atom feeds (a token per feed, for any feed reader) and the dashboard's CSV exports.

    GET /feeds/deals.atom?token=…           every deal, newest first
    GET /feeds/searches/{id}.atom?token=…   the deals that search would alert
    GET /export/deals.csv                   every deal found (signed in, as the dashboard)
    GET /export/flips.csv                   the flip ledger: bought, sold, fees, profit

A feed answers 403 without its own token (`vinyl-detective feeds` lists the URLs); the
exports need the dashboard's sign-in, like its pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi import Path as FastApiPath
from fastapi.requests import Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from vinyl_detective.api.deps import Services, services
from vinyl_detective.api.pages import Page
from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.domain.rules import Rule, combine, parse_rule
from vinyl_detective.errors import RuleSyntaxError
from vinyl_detective.feeds import atom_feed, deals_csv, feed_entries, feed_name, ledger_csv
from vinyl_detective.feeds import token_matches as feed_token_matches
from vinyl_detective.storage import searches

router = APIRouter(include_in_schema=False)
Svc = Annotated[Services, Depends(services)]
SearchId = Annotated[int, FastApiPath(ge=1, le=2**62)]
ATOM_TYPE = "application/atom+xml; charset=utf-8"
FEED_REFUSED = (
    "This feed needs its token: run `vinyl-detective feeds` for the feed URLs "
    "(with their ?token=…).\n"
)


def _refused(status: int, text: str) -> Response:
    return PlainTextResponse(text, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("/feeds/deals.atom")
def all_deals_feed(request: Request, svc: Svc, token: str | None = None) -> Response:
    with svc.engine.connect() as conn:
        if not feed_token_matches(conn, feed_name(None), token):
            return _refused(403, FEED_REFUSED)
        entries = feed_entries(conn)
    body = atom_feed(
        entries,
        title="Vinyl Detective: every deal",
        self_url=str(request.url),
        feed_id="tag:vinyl-detective,2026:feed/deals",
        updated=svc.clock(),
    )
    return _atom(body)


@router.get("/feeds/searches/{search_id}.atom")
def search_feed(
    request: Request, svc: Svc, search_id: SearchId, token: str | None = None
) -> Response:
    with svc.engine.connect() as conn:
        if not feed_token_matches(conn, feed_name(search_id), token):
            return _refused(403, FEED_REFUSED)
        search = searches.get_search(conn, search_id)
        if search is None:
            return _refused(404, f"There is no saved search #{search_id} (any more).\n")
        try:
            rule = _rule_of(search, svc.global_rule)
        except RuleSyntaxError as exc:
            return _refused(409, f"Search #{search_id}'s rule does not parse: {exc.message}.\n")
        entries = feed_entries(conn, search=search, rule=rule, rates=svc.rates, now=svc.clock())
    body = atom_feed(
        entries,
        title=f"Vinyl Detective: {search.query}",
        self_url=str(request.url),
        feed_id=f"tag:vinyl-detective,2026:feed/search/{search_id}",
        updated=svc.clock(),
    )
    return _atom(body)


def _rule_of(search: SavedSearch, global_rule: Callable[[], str | None]) -> Rule | None:
    """The search's rule AND the global one, as the pipeline checks them."""
    parts = [parse_rule(text) for text in (global_rule(), search.rule) if text]
    return combine(parts) if parts else None


def _atom(body: bytes) -> Response:
    # Feed readers poll: five minutes of caching spares the database.
    return Response(body, media_type=ATOM_TYPE, headers={"Cache-Control": "private, max-age=300"})


# -- CSV exports (dashboard) ------------------------------------------------------------


@router.get("/export/deals.csv", dependencies=[Page])
def export_deals(svc: Svc) -> Response:
    return _csv(svc, deals_csv, f"vinyl-detective-deals-{svc.clock():%Y-%m-%d}.csv")


@router.get("/export/flips.csv", dependencies=[Page])
def export_flips(svc: Svc) -> Response:
    return _csv(svc, ledger_csv, f"vinyl-detective-flips-{svc.clock():%Y-%m-%d}.csv")


def _csv(svc: Services, rows: Callable[[sa.Connection], Iterator[str]], filename: str) -> Response:
    def stream() -> Iterator[str]:
        with svc.engine.connect() as conn:
            yield "\ufeff"  # a byte-order mark: spreadsheets then read the file as UTF-8
            yield from rows(conn)

    return StreamingResponse(
        stream(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
