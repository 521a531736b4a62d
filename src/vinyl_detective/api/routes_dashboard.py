"""The web dashboard: deals, the lifecycle board, job runs, saved searches, release pages.

Server-rendered HTML (Jinja2, autoescaped), no JavaScript. Every page needs the admin
token: sign in once at /login (see api/security.py); forms that change something carry a
CSRF value and answer with a redirect back (post/redirect/get), or re-render the page
with the error when the change was refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

import jinja2
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vinyl_detective.api.chart import PricePoint, Reference, price_chart
from vinyl_detective.api.deps import Services, services
from vinyl_detective.api.routes_admin import allowed_after
from vinyl_detective.api.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    configured_token,
    csrf_value,
    same_secret,
    session_value,
    signed_in,
)
from vinyl_detective.domain.lifecycle import Actor, DealState, parse_state
from vinyl_detective.domain.models import DEFAULT_MIN_DEAL_SCORE, Priority, Release, SavedSearch
from vinyl_detective.domain.query import folded_title, parse_query
from vinyl_detective.errors import InvalidTransitionError, NotFoundError, VinylDetectiveError
from vinyl_detective.explain import explain_listing
from vinyl_detective.storage import catalog, deals, job_runs, listings, searches
from vinyl_detective.storage.deals import DealRecord
from vinyl_detective.storage.listings import StoredListing

TEMPLATES = Path(__file__).parent / "templates"
GRADE_ORDER = ("M", "NM", "VG+", "VG", "G+", "G", "F", "P")
CHART_GRADES = ("NM", "VG+", "VG")  # the reference lines drawn; all grades are in the table
MAX_FORM_BYTES = 10_000
SESSION_DAYS = 30

# No scripts at all; styles and images from ourselves (thumbnails from the marketplace).
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

router = APIRouter(include_in_schema=False)
Svc = Annotated[Services, Depends(services)]
DbId = Annotated[int, FastApiPath(ge=1, le=2**62)]  # beyond that SQLite cannot even look


def _money(amount: Decimal | None, currency: str | None = None) -> str:
    if amount is None:
        return "—"
    text = f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at else "—"


def _pct(score: float | None) -> str:
    return "—" if score is None else f"{score * 100:.0f}%"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["when"] = _when
    env.filters["pct"] = _pct
    env.filters["path"] = lambda value: quote(str(value), safe="")
    return env


ENV = _environment()


class LoginRequired(Exception):
    """Raised by page dependencies; answered with a redirect to /login (see app.py)."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    token = configured_token(request)
    page = ENV.get_template(template).render(
        request_path=request.url.path,
        csrf=csrf_value(token) if token else "",
        csrf_field=CSRF_FIELD,
        signed_in=token is not None and signed_in(request),
        **context,
    )
    response = HTMLResponse(page, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(raw: str | None) -> str:
    """Only a path on this site: never `//evil.example` or an absolute URL."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    return raw


def require_page(request: Request) -> None:
    if configured_token(request) is None:
        raise LoginRequired("")
    if not signed_in(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)


Page = Depends(require_page)


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body (all our forms are), first value of each field."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items() if values}


def csrf_ok(request: Request, form: dict[str, str]) -> bool:
    token = configured_token(request)
    return token is not None and same_secret(form.get(CSRF_FIELD), csrf_value(token))


# -- sign in --------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    if configured_token(request) is None:
        return render(request, "no_token.html", status=503)
    return render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login")
async def login(request: Request) -> Response:
    token = configured_token(request)
    if token is None:
        return render(request, "no_token.html", status=503)
    form = await read_form(request)
    target = _safe_next(form.get("next"))
    if not same_secret(form.get("token", "").strip(), token):
        return render(
            request,
            "login.html",
            status=403,
            next=target,
            error="That is not the admin token. It is ADMIN_TOKEN in the daemon's .env.",
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_value(token),
        max_age=SESSION_DAYS * 86400,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await read_form(request)
    if not csrf_ok(request, form):
        return render(request, "error.html", status=403, message=STALE_FORM)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


STALE_FORM = "This form has expired (the admin token changed?). Reload the page and try again."


# -- deals ----------------------------------------------------------------------------


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


def _float(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and 0 <= value <= 1 else None


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
    wanted_score = _float(min_score)
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


# -- the lifecycle board --------------------------------------------------------------


# Each board column shows its most recently moved cards, this many at first; "show more"
# adds as many again (`/board?found=24`), up to the most a column ever shows.
BOARD_CARDS = 8
BOARD_CARDS_MAX = 1000


@dataclass(frozen=True, slots=True)
class Column:
    state: DealState
    cards: list[DealRecord]
    total: int
    more_link: str | None = None  # shows BOARD_CARDS more, when some are not shown

    @property
    def anchor(self) -> str:
        return f"column-{self.state.value.lower()}"


def _column_sizes(request: Request) -> dict[DealState, int]:
    """How many cards each column shows: `?found=24&sold=36`, default BOARD_CARDS."""
    sizes = {}
    for state in DealState:
        raw = request.query_params.get(state.value.lower(), "")
        wanted = int(raw) if raw.isdigit() and len(raw) < 6 else BOARD_CARDS
        sizes[state] = min(max(wanted, BOARD_CARDS), BOARD_CARDS_MAX)
    return sizes


def _board(
    request: Request, svc: Services, status: int = 200, error: str | None = None
) -> Response:
    sizes = _column_sizes(request)

    def more_link(state: DealState) -> str:
        grown = {**sizes, state: sizes[state] + BOARD_CARDS}
        params = {s.value.lower(): n for s, n in grown.items() if n != BOARD_CARDS}
        return f"/board?{urlencode(params)}#column-{state.value.lower()}"

    with svc.engine.connect() as conn:
        columns = []
        for state in DealState:
            total = deals.count_deals(conn, state)
            shown = deals.list_deals(conn, state, limit=sizes[state])
            more = (
                more_link(state) if total > len(shown) and sizes[state] < BOARD_CARDS_MAX else None
            )
            columns.append(Column(state, shown, total, more))
        totals = deals.summary(conn)
    return render(
        request,
        "board.html",
        status=status,
        columns=columns,
        summary=totals,
        allowed_after=allowed_after,
        error=error,
    )


@router.get("/board", dependencies=[Page])
def board_page(request: Request, svc: Svc) -> Response:
    return _board(request, svc)


def _amount(form: dict[str, str], name: str) -> Decimal | None:
    raw = form.get(name, "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidTransitionError(f"{name.replace('_', ' ')} {raw!r} is not an amount") from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e10"):
        raise InvalidTransitionError(f"{name.replace('_', ' ')} must be a positive amount")
    return value.quantize(Decimal("0.01"))


@router.post("/board/{item_id}/transition", dependencies=[Page])
async def board_transition(request: Request, item_id: str, svc: Svc) -> Response:
    form = await read_form(request)
    if not csrf_ok(request, form):
        return _board(request, svc, status=403, error=STALE_FORM)
    try:
        target = parse_state(form.get("to", ""))
        purchase_price = _amount(form, "purchase_price") if target is DealState.PURCHASED else None
        sale_price = _amount(form, "sale_price") if target is DealState.SOLD else None
        fees = _amount(form, "fees") if target is DealState.SOLD else None
        reason = form.get("reason", "").strip()[:500] or None
        with svc.engine.begin() as conn:
            deals.transition(
                conn,
                item_id,
                target,
                svc.clock(),
                Actor.API,
                reason=reason,
                purchase_price=purchase_price,
                sale_price=sale_price,
                fees=fees,
            )
    except NotFoundError:
        return _board(request, svc, status=404, error=f"Item {item_id} is not a tracked deal.")
    except InvalidTransitionError as exc:
        return _board(request, svc, status=409, error=f"Item {item_id}: {exc}")
    return RedirectResponse(f"/board#deal-{quote(item_id, safe='')}", status_code=303)


# -- jobs and searches ----------------------------------------------------------------


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


# -- a release ------------------------------------------------------------------------


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
