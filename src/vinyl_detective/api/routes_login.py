"""The dashboard's sign-in: /login (the admin token, once, for a signed session cookie)
and /logout.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from vinyl_detective.api.pages import (
    STALE_FORM,
    csrf_ok,
    read_form,
    render,
    safe_next,
)
from vinyl_detective.api.security import (
    SESSION_COOKIE,
    configured_token,
    same_secret,
    session_value,
)

router = APIRouter(include_in_schema=False)
SESSION_DAYS = 30


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    if configured_token(request) is None:
        return render(request, "no_token.html", status=503)
    return render(request, "login.html", next=safe_next(next), error=None)


@router.post("/login")
async def login(request: Request) -> Response:
    token = configured_token(request)
    if token is None:
        return render(request, "no_token.html", status=503)
    form = await read_form(request)
    target = safe_next(form.get("next"))
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
