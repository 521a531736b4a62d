"""The ingest webhook: listings from any external scraper, into the deal pipeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from vinyl_detective.api.deps import ApiError, Services, services
from vinyl_detective.api.ingest_schemas import MAX_LISTINGS_PER_REQUEST, IngestIn, IngestOut
from vinyl_detective.api.routes_admin import ERRORS
from vinyl_detective.api.schemas import ErrorOut
from vinyl_detective.api.security import require_admin
from vinyl_detective.errors import VinylDetectiveError

router = APIRouter(prefix="/webhooks", tags=["webhooks"], dependencies=[Depends(require_admin)])

DESCRIPTION = f"""
Hand listings found by an external scraper to the same pipeline eBay polls use: new
ones are stored, identified, priced, filtered and alerted; known item ids are skipped.

The body is `{{"listings": [...]}}` or a bare JSON list of listings, at most
{MAX_LISTINGS_PER_REQUEST} per request. A bad listing refuses the whole request with
422 and the path of the field at fault (e.g. `listings.3.price`).
"""


@router.post(
    "/listings",
    summary="Ingest listings from an external scraper",
    description=DESCRIPTION,
    responses=ERRORS
    | {
        422: {"model": ErrorOut, "description": "A listing is malformed; `errors` names it"},
        503: {"model": ErrorOut, "description": "ADMIN_TOKEN unset, or ingest unavailable"},
    },
)
async def ingest_listings(
    body: Annotated[IngestIn, Body()], svc: Annotated[Services, Depends(services)]
) -> IngestOut:
    if svc.ingest is None:
        raise ApiError(503, "this process does not ingest listings (no pipeline is running)")
    try:
        result = await svc.ingest([item.to_listing() for item in body.listings])
    except VinylDetectiveError as exc:
        raise ApiError(503, f"the listings could not be processed now: {exc}") from exc
    return IngestOut.of(result)
