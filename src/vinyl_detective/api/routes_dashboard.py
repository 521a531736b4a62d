"""The dashboard's pages: the deals found, job runs, saved searches, a release with its
price chart, and why a listing did (not) alert. The board is in routes_board.py, sign-in
in routes_login.py, what the pages share in pages.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from vinyl_detective.api.chart import PricePoint, Reference, price_chart
from vinyl_detective.api.deps import Services
from vinyl_detective.api.pages import (
    STALE_FORM,
    DbId,
    Page,
    Svc,
    csrf_ok,
    form_float,
    read_form,
    render,
)
from vinyl_detective.domain.lifecycle import Actor
from vinyl_detective.domain.models import DEFAULT_MIN_DEAL_SCORE, Priority, Release, SavedSearch
from vinyl_detective.domain.query import folded_title, parse_query
from vinyl_detective.errors import NotFoundError, VinylDetectiveError
from vinyl_detective.explain import explain_listing
from vinyl_detective.storage import catalog, deals, job_runs, listings, searches
from vinyl_detective.storage.deals import DealRecord
from vinyl_detective.storage.listings import StoredListing

GRADE_ORDER = ("M", "NM", "VG+", "VG", "G+", "G", "F", "P")
CHART_GRADES = ("NM", "VG+", "VG")  # the reference lines drawn; all grades are in the table
router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class DealRow:
    stored: StoredListing
    release: Release | None
    tracked: DealRecord | None
    threshold: float  # the lowest threshold of the searches it is for

    @property
    def total(self) -> Decimal:
        return self.stored.listing.total

    @property
    def below_threshold(self) -> bool:
        return (self.stored.deal_score or 0.0) < self.threshold


# What the deals page lists: deals that reach their search's threshold (what was alerted
# or would be), those below it (a 3 % "deal" is noise, but may be asked for), or all.
SHOW = {"deals": "at threshold", "below": "below threshold", "all": "all"}
DEALS_PER_PAGE = 100
DEALS_SCANNED = 2000  # the newest scored listings the filters look through


def _threshold(stored: StoredListing, every: list[SavedSearch]) -> float:
    """The lowest threshold among the searches a listing is for: the one that found it and
    those whose keywords it matches; a listing no search claims (the ingest webhook) has
    the default."""
    title = folded_title(stored.listing.title)
    wanted = [
        s.min_deal_score
        for s in every
        if s.id == stored.search_id or parse_query(s.query).matches_folded(title)
    ]
    return min(wanted, default=DEFAULT_MIN_DEAL_SCORE)


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) <= 1000 else 1


@router.get("/", dependencies=[Page])
def deals_page(
    request: Request,
    svc: Svc,
    min_score: str | None = None,
    priority: str | None = None,
    q: str | None = None,
    show: str | None = None,
    page: str | None = None,
) -> Response:
    wanted_score = form_float(min_score)
    wanted_priority = priority if priority in {p.value for p in Priority} else None
    wanted_show = show if show in SHOW else "deals"
    page_no = _page_number(page)
    text = (q or "").strip()[:100]
    with svc.engine.connect() as conn:
        every = searches.list_searches(conn)
        found = listings.recent_deals(conn, limit=DEALS_SCANNED, min_score=wanted_score)
        if wanted_priority:
            found = [s for s in found if s.priority == wanted_priority]
        if text:
            needle = text.casefold()
            found = [s for s in found if needle in s.listing.title.casefold()]
        rated = [(stored, _threshold(stored, every)) for stored in found]
        below = sum(1 for stored, limit in rated if (stored.deal_score or 0.0) < limit)
        if wanted_show != "all":
            keep_below = wanted_show == "below"
            rated = [r for r in rated if ((r[0].deal_score or 0.0) < r[1]) == keep_below]
        start = (page_no - 1) * DEALS_PER_PAGE
        shown = rated[start : start + DEALS_PER_PAGE]
        releases: dict[int, Release | None] = {}
        rows = []
        for stored, limit in shown:
            release_id = stored.match.release_id if stored.match else None
            if release_id is not None and release_id not in releases:
                releases[release_id] = catalog.get_release(conn, release_id)
            rows.append(
                DealRow(
                    stored,
                    releases.get(release_id) if release_id is not None else None,
                    deals.get_deal(conn, stored.listing.item_id),
                    limit,
                )
            )
    filters = {
        "q": text,
        "priority": wanted_priority or "",
        "min_score": "" if wanted_score is None else str(wanted_score),
        "show": "" if wanted_show == "deals" else wanted_show,
    }

    def link(**changes: str | int) -> str:
        params = {k: str(v) for k, v in {**filters, **changes}.items() if v not in ("", 1)}
        return "/?" + urlencode(params) if params else "/"

    return render(
        request,
        "deals.html",
        rows=rows,
        min_score=wanted_score,
        priority=wanted_priority,
        q=text,
        show=wanted_show,
        show_choices=SHOW,
        below_count=below,
        below_link=link(show="below", page=1),
        newer_link=link(page=page_no - 1) if page_no > 1 else None,
        older_link=link(page=page_no + 1) if len(rated) > start + DEALS_PER_PAGE else None,
        first_row=start + 1,
        matching=len(rated),
        priorities=[p.value for p in Priority],
    )


@router.post("/deals/{item_id}/track", dependencies=[Page])
async def track(request: Request, item_id: str, svc: Svc) -> Response:
    form = await read_form(request)
    if not csrf_ok(request, form):
        return render(request, "error.html", status=403, message=STALE_FORM)
    try:
        with svc.engine.begin() as conn:
            deals.create_found_from_listing(
                conn, item_id, svc.clock(), Actor.API, reason="tracked from the dashboard"
            )
    except NotFoundError as exc:
        return render(request, "error.html", status=404, message=str(exc))
    return RedirectResponse(f"/board#deal-{quote(item_id, safe='')}", status_code=303)


@router.get("/jobs", dependencies=[Page])
def jobs_page(request: Request, svc: Svc) -> Response:
    with svc.engine.connect() as conn:
        runs = job_runs.recent_runs(conn, limit=100)
    return render(request, "jobs.html", runs=runs)


def _searches(
    request: Request,
    svc: Services,
    *,
    status: int = 200,
    message: str | None = None,
    error: str | None = None,
) -> Response:
    with svc.engine.connect() as conn:
        found = searches.list_searches(conn)
        plans = searches.schedules(conn)
    return render(
        request,
        "searches.html",
        status=status,
        searches=found,
        schedules=plans,
        can_run=svc.trigger_search is not None,
        message=message,
        error=error,
    )


@router.get("/searches", dependencies=[Page])
def searches_page(
    request: Request, svc: Svc, started: Annotated[int | None, Query(ge=1, le=2**62)] = None
) -> Response:
    message = f"Search #{started} started." if started is not None else None
    return _searches(request, svc, message=message)


@router.post("/searches/{search_id}/run", dependencies=[Page])
async def run_search(request: Request, search_id: DbId, svc: Svc) -> Response:
    form = await read_form(request)
    if not csrf_ok(request, form):
        return _searches(request, svc, status=403, error=STALE_FORM)
    if svc.trigger_search is None:
        return _searches(request, svc, status=503, error="This process cannot run searches.")
    with svc.engine.connect() as conn:
        known = searches.get_search(conn, search_id) is not None
    if not known:
        return _searches(request, svc, status=404, error=f"There is no search #{search_id}.")
    try:
        await svc.trigger_search(search_id)
    except VinylDetectiveError as exc:
        return _searches(request, svc, status=409, error=f"Search #{search_id}: {exc}")
    return RedirectResponse(f"/searches?started={search_id}", status_code=303)


def _chart_for(release: Release, seen: list[StoredListing]) -> tuple[Any, int]:
    """The chart in the reference's currency, and how many listings it had to leave out."""
    guide = release.prices
    currencies = [s.listing.currency for s in seen]
    currency = guide.currency if guide else max(set(currencies), key=currencies.count, default="")
    references: list[Reference] = []
    if guide is not None:
        for grade in CHART_GRADES:
            if grade in guide.by_condition:
                amount = guide.by_condition[grade]
                references.append(Reference(f"{grade} {amount:.2f}", amount, "suggestion"))
        if guide.lowest is not None:
            references.append(Reference(f"lowest {guide.lowest:.2f}", guide.lowest, "lowest"))
    points = [
        PricePoint(
            s.first_seen,
            s.listing.total,
            f"{s.listing.title} — {s.listing.total:.2f} {s.listing.currency}",
            s.priority or "none",
        )
        for s in seen
        if s.listing.currency == currency
    ]
    return price_chart(points, references, currency), len(seen) - len(points)


@router.get("/listings/{item_id}/why", dependencies=[Page])
def why_page(request: Request, item_id: str, svc: Svc) -> Response:
    answer = explain_listing(
        svc.engine, item_id, svc.clock(), rates=svc.rates, global_rule=svc.global_rule()
    )
    return render(request, "why.html", status=200 if answer.seen else 404, answer=answer)


@router.get("/releases/{release_id}", dependencies=[Page])
def release_page(request: Request, release_id: DbId, svc: Svc) -> Response:
    with svc.engine.connect() as conn:
        release = catalog.get_release(conn, release_id)
        seen = listings.listings_of_release(conn, release_id) if release else []
    if release is None:
        return render(
            request,
            "error.html",
            status=404,
            message=f"Release {release_id} is not in the catalog.",
        )
    chart, left_out = _chart_for(release, seen)
    guide = release.prices
    grades = (
        [(g, guide.by_condition[g]) for g in GRADE_ORDER if g in guide.by_condition]
        if guide
        else []
    )
    return render(
        request,
        "release.html",
        release=release,
        chart=chart,
        left_out=left_out,
        grades=grades,
        listings=list(reversed(seen)),
    )
