"""The dashboard's lifecycle board: the tracked deals in one column per state, and the
forms that move a deal on (bought, listed, sold, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from vinyl_detective.api.deps import Services
from vinyl_detective.api.pages import (
    STALE_FORM,
    Page,
    Svc,
    csrf_ok,
    form_amount,
    read_form,
    render,
)
from vinyl_detective.api.routes_admin import allowed_after
from vinyl_detective.domain.lifecycle import Actor, DealState, parse_state
from vinyl_detective.errors import InvalidTransitionError, NotFoundError
from vinyl_detective.storage import deals
from vinyl_detective.storage.deals import DealRecord

router = APIRouter(include_in_schema=False)
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


@router.post("/board/{item_id}/transition", dependencies=[Page])
async def board_transition(request: Request, item_id: str, svc: Svc) -> Response:
    form = await read_form(request)
    if not csrf_ok(request, form):
        return _board(request, svc, status=403, error=STALE_FORM)
    try:
        target = parse_state(form.get("to", ""))
        purchase_price = (
            form_amount(form, "purchase_price") if target is DealState.PURCHASED else None
        )
        sale_price = form_amount(form, "sale_price") if target is DealState.SOLD else None
        fees = form_amount(form, "fees") if target is DealState.SOLD else None
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
