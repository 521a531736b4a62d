"""The HTTP service: admin API, ingest webhook and web dashboard in one FastAPI app.

    app = create_app(engine=engine, admin_token=settings.admin_token,
                     ingest=..., trigger_search=..., publisher_status=...)
    # serve with uvicorn (the daemon does), docs at /docs (assets served here too)

Routes:
    GET  /health                               no token; 503 when the database is down
    GET  /admin/listings?state=&limit=&offset= tracked deals
    GET  /admin/listings/{item_id}             a deal, its listing and release
    GET  /admin/listings/{item_id}/history     its transitions
    POST /admin/listings/{item_id}/transition  {"to": "PURCHASED", "purchase_price": "45.00"}
    POST /admin/searches/{id}/trigger          202 {"search_id", "job"}
    POST /webhooks/listings                    listings from an external scraper
    GET  /  /board  /jobs  /searches  /releases/{id}   the dashboard (sign in at /login)
    GET  /export/deals.csv  /export/flips.csv  CSV exports (signed in, as the dashboard)
    GET  /feeds/deals.atom?token=  /feeds/searches/{id}.atom?token=   Atom feeds, each
                                               with its own read-only token (feeds.py)

The API and the webhook take `Authorization: Bearer <ADMIN_TOKEN>`; the dashboard signs
in once with the same token (api/security.py). Without ADMIN_TOKEN everything but
/health answers 503 and says how to set it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy.engine import Engine

from vinyl_detective import __version__
from vinyl_detective.api import (
    routes_admin,
    routes_board,
    routes_dashboard,
    routes_feeds,
    routes_health,
    routes_login,
    routes_webhooks,
)
from vinyl_detective.api.deps import ApiError, IngestFn, PublisherStatusFn, Services, TriggerFn
from vinyl_detective.api.ingest_schemas import IngestResult
from vinyl_detective.api.limits import MAX_BODY_BYTES, BodyLimit
from vinyl_detective.api.pages import LoginRequired, render
from vinyl_detective.api.schemas import ErrorOut, FieldError
from vinyl_detective.domain.currency import ExchangeRates

__all__ = ["IngestFn", "IngestResult", "TriggerFn", "create_app"]

STATIC = Path(__file__).parent / "static"
DOCS_ASSETS = "/docs-assets"

DESCRIPTION = """
The admin API of Vinyl Detective: tracked deals and their lifecycle, saved searches,
and the webhook through which external scrapers hand in listings.

Send `Authorization: Bearer <ADMIN_TOKEN>` with every call but `/health`
(401 without it, 403 when wrong, 503 while ADMIN_TOKEN is unset). Errors answer
`{"detail": "..."}`; a refused body adds `errors: [{"field": "listings.3.price", ...}]`.
Money is a decimal string next to its currency.
"""


def utc_now() -> datetime:
    return datetime.now(UTC)


def field_path(loc: Sequence[int | str]) -> str:
    """("body", "listings", 3, "price") → "listings.3.price"; a bare list body gets
    the `listings` prefix too, so the path reads the same in both shapes."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        source, parts = parts[0], parts[1:]
        if source == "body" and parts and isinstance(parts[0], int):
            parts = ["listings", *parts]
    parts = [p for p in parts if not (isinstance(p, str) and p.startswith("function-"))]
    return ".".join(str(p) for p in parts) or "body"


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(field="body", message=f"not valid JSON (at character {e['loc'][-1]})")
        if e.get("type") == "json_invalid" and e.get("loc")
        else FieldError(field=field_path(e.get("loc", ())), message=str(e.get("msg", "is invalid")))
        for e in exc.errors()
    ]
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    body = ErrorOut(detail=f"invalid request: {summary}", errors=errors)
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=422)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    content: dict[str, Any] = {"detail": exc.detail}
    if exc.allowed is not None:
        content["allowed"] = [str(s) for s in exc.allowed]
    return JSONResponse(content, status_code=exc.status)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    if not exc.next_path:  # no ADMIN_TOKEN at all
        return render(request, "no_token.html", status=503)
    return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)


def create_app(
    *,
    engine: Engine,
    admin_token: str | None,
    ingest: IngestFn | None = None,
    trigger_search: TriggerFn | None = None,
    publisher_status: Callable[[], dict[str, object]] | None = None,
    clock: Callable[[], datetime] = utc_now,
    rates: ExchangeRates | None = None,
    global_rule: Callable[[], str | None] | None = None,
) -> FastAPI:
    """The service over `engine`. `ingest` hands listings to the deal pipeline,
    `trigger_search` runs a saved search now, `publisher_status` feeds /health; routes
    whose function is missing answer 503. An empty `admin_token` counts as unset."""
    # /docs is Swagger UI served from a package's own copy (at DOCS_ASSETS), not a CDN:
    # it works on a machine with no internet, and the browser asks no third party.
    app = FastAPIOffline(
        title="Vinyl Detective",
        version=__version__,
        description=DESCRIPTION,
        redoc_url=None,
        static_url=DOCS_ASSETS,
    )
    status_fn: PublisherStatusFn | None = publisher_status
    app.state.admin_token = admin_token or None
    app.state.services = Services(
        engine=engine,
        clock=clock,
        ingest=ingest,
        trigger_search=trigger_search,
        publisher_status=status_fn,
        rates=rates or ExchangeRates(),
        global_rule=global_rule or (lambda: None),
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.include_router(routes_health.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_webhooks.router)
    app.include_router(routes_feeds.router)
    app.include_router(routes_login.router)
    app.include_router(routes_dashboard.router)
    app.include_router(routes_board.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Outermost: a body over the limit is refused before anything reads it.
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    return app
