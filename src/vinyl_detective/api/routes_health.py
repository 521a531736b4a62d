"""GET /health: can we reach the database, and how is event delivery doing."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from vinyl_detective.api.deps import Services, services
from vinyl_detective.api.schemas import HealthOut

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    summary="Liveness for monitors (no token needed)",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database cannot be reached"}},
)
def health(svc: Annotated[Services, Depends(services)]) -> JSONResponse:
    database: Literal["ok", "unreachable"] = "ok"
    try:
        with svc.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure to reach it is the answer, not a crash
        log.warning("health: database unreachable: %s", type(exc).__name__)
        database = "unreachable"
    events: dict[str, object] | None = None
    if svc.publisher_status is not None:
        try:
            events = svc.publisher_status()
        except Exception as exc:
            log.warning("health: publisher status unavailable: %s", type(exc).__name__)
            events = {"healthy": False, "last_error": "status unavailable"}
    status: Literal["ok", "degraded", "unavailable"]
    if database != "ok":
        status = "unavailable"
    elif events is not None and events.get("healthy") is False:
        status = "degraded"
    else:
        status = "ok"
    body = HealthOut(status=status, database=database, events=events, time=svc.clock())
    return JSONResponse(jsonable_encoder(body), status_code=503 if status == "unavailable" else 200)
