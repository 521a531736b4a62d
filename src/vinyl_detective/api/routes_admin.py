"""The admin API: tracked deals, their history, manual transitions, triggering a search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from vinyl_detective.api.deps import ApiError, Services, services
from vinyl_detective.api.schemas import (
    DealDetailOut,
    DealOut,
    DealPage,
    ErrorOut,
    ExplainOut,
    ExplainSectionOut,
    HistoryOut,
    ListingOut,
    ReleaseOut,
    TransitionIn,
    TransitionOut,
    TriggerOut,
)
from vinyl_detective.api.security import require_admin
from vinyl_detective.domain.lifecycle import (
    Actor,
    DealState,
    check_transition,
    next_states,
    plan_transition,
)
from vinyl_detective.errors import InvalidTransitionError, VinylDetectiveError
from vinyl_detective.explain import explain_listing
from vinyl_detective.storage import catalog, deals, listings, searches
from vinyl_detective.storage.deals import DealRecord

ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "No `Authorization: Bearer` header"},
    403: {"model": ErrorOut, "description": "Wrong admin token"},
    503: {"model": ErrorOut, "description": "ADMIN_TOKEN is not set"},
}
NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorOut, "description": "No tracked deal with this item id"}
}

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])

ItemId = Annotated[str, Path(min_length=1, max_length=100, description="The listing's item id")]
Svc = Annotated[Services, Depends(services)]


def allowed_after(state: DealState) -> list[DealState]:
    """The next states of `state`, in lifecycle order."""
    following = next_states(state)
    return [s for s in DealState if s in following]


def deal_out(deal: DealRecord) -> DealOut:
    return DealOut.of(deal, allowed_after(deal.state))


def not_tracked(item_id: str) -> HTTPException:
    return HTTPException(404, f"item {item_id!r} is not a tracked deal")


@router.get("/listings", summary="Tracked deals, most recently moved first", responses=ERRORS)
def list_listings(
    svc: Svc,
    state: Annotated[DealState | None, Query(description="Only deals in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DealPage:
    with svc.engine.connect() as conn:
        found = deals.list_deals(conn, state, limit=limit, offset=offset)
        total = deals.count_deals(conn, state)
    return DealPage(listings=[deal_out(d) for d in found], total=total, limit=limit, offset=offset)


@router.get(
    "/listings/{item_id}",
    summary="One tracked deal, with its listing and release",
    responses=ERRORS | NOT_FOUND,
)
def get_listing(item_id: ItemId, svc: Svc) -> DealDetailOut:
    with svc.engine.connect() as conn:
        deal = deals.get_deal(conn, item_id)
        if deal is None:
            raise not_tracked(item_id)
        stored = listings.get_listing(conn, item_id)
        release = catalog.get_release(conn, deal.release_id) if deal.release_id else None
    return DealDetailOut(
        deal=deal_out(deal),
        listing=ListingOut.of(stored) if stored else None,
        release=ReleaseOut.of(release) if release else None,
    )


@router.get(
    "/listings/{item_id}/history",
    summary="Every state change of a deal, oldest first",
    responses=ERRORS | NOT_FOUND,
)
def get_history(item_id: ItemId, svc: Svc) -> HistoryOut:
    with svc.engine.connect() as conn:
        deal = deals.get_deal(conn, item_id)
        if deal is None:
            raise not_tracked(item_id)
        steps = deals.history(conn, item_id)
    return HistoryOut(
        item_id=item_id, state=deal.state, history=[TransitionOut.of(s) for s in steps]
    )


@router.get(
    "/listings/{item_id}/explain",
    summary="Why (not)? Every decision taken about a listing, tracked or not",
    responses=ERRORS,
)
def explain(item_id: ItemId, svc: Svc) -> ExplainOut:
    answer = explain_listing(
        svc.engine, item_id, svc.clock(), rates=svc.rates, global_rule=svc.global_rule()
    )
    return ExplainOut(
        item_id=answer.item_id,
        seen=answer.seen,
        title=answer.title,
        sections=[ExplainSectionOut(title=s.title, lines=list(s.lines)) for s in answer.sections],
        text=answer.text(),
    )


@router.post(
    "/listings/{item_id}/transition",
    summary="Move a deal to another state",
    description=(
        "Validated by the lifecycle: a move it does not allow answers 409 with the allowed "
        "next states. PURCHASED needs `purchase_price`, SOLD needs `sale_price` (and "
        "optionally `fees`); the profit is computed. The step is recorded with actor "
        "`api` and emits `listing.state.<state>`."
    ),
    responses=ERRORS
    | NOT_FOUND
    | {
        409: {"model": ErrorOut, "description": "The lifecycle does not allow this move"},
        422: {"model": ErrorOut, "description": "A bad body, or a figure missing or misplaced"},
    },
)
def transition(item_id: ItemId, body: TransitionIn, svc: Svc) -> DealOut:
    with svc.engine.begin() as conn:
        current = deals.get_deal(conn, item_id)
        if current is None:
            raise not_tracked(item_id)
        try:
            check_transition(current.state, body.to)
        except InvalidTransitionError as exc:
            raise refused(409, str(exc), current.state) from exc
        try:
            plan_transition(
                current.state,
                body.to,
                current.figures,
                purchase_price=body.purchase_price,
                sale_price=body.sale_price,
                fees=body.fees,
            )
        except InvalidTransitionError as exc:
            raise refused(422, str(exc), current.state) from exc
        try:
            moved = deals.transition(
                conn,
                item_id,
                body.to,
                svc.clock(),
                Actor.API,
                reason=body.reason or None,
                purchase_price=body.purchase_price,
                sale_price=body.sale_price,
                fees=body.fees,
            )
        except InvalidTransitionError as exc:  # moved by someone else meanwhile
            raise refused(409, str(exc), current.state) from exc
    return deal_out(moved)


def refused(status: int, message: str, state: DealState) -> ApiError:
    return ApiError(status, message, allowed=list(allowed_after(state)))


@router.post(
    "/searches/{search_id}/trigger",
    status_code=202,
    summary="Run a saved search now",
    responses=ERRORS
    | {
        404: {"model": ErrorOut, "description": "No saved search with this id"},
        409: {"model": ErrorOut, "description": "The search cannot run now (and why)"},
    },
)
async def trigger(search_id: Annotated[int, Path(ge=1, le=2**62)], svc: Svc) -> TriggerOut:
    if svc.trigger_search is None:
        raise HTTPException(503, "this process cannot run searches (it has no scheduler)")
    with svc.engine.connect() as conn:
        search = searches.get_search(conn, search_id)
    if search is None:
        raise HTTPException(404, f"no saved search with id {search_id}")
    try:
        job = await svc.trigger_search(search_id)
    except VinylDetectiveError as exc:
        raise ApiError(409, str(exc)) from exc
    return TriggerOut(search_id=search_id, job=job)
