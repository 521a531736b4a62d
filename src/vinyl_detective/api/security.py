"""Who may use the admin API and the dashboard.

One secret, ADMIN_TOKEN, guards everything but /health and the stylesheet:

* API and webhook calls send `Authorization: Bearer <token>`. No header → 401, a wrong
  token → 403; without ADMIN_TOKEN set, these routes answer 503 and say so.
* The dashboard signs in once through the /login form. The session cookie holds an HMAC
  derived from the token (never the token itself), HttpOnly and SameSite=Strict, so
  changing ADMIN_TOKEN signs every browser out. Every form that changes something also
  carries a CSRF value derived the same way; it is checked on each POST.

All comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

SESSION_COOKIE = "vd_session"
CSRF_FIELD = "csrf"

API_SWITCHED_OFF = (
    "the admin API is switched off: set ADMIN_TOKEN in .env (any long random string, "
    "e.g. from `openssl rand -hex 32`) and restart"
)

bearer = HTTPBearer(
    auto_error=False,
    description="The ADMIN_TOKEN from the daemon's configuration",
)


def _derive(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def session_value(token: str) -> str:
    """The dashboard session cookie's value for this admin token."""
    return _derive(token, "vinyl-detective dashboard session v1")


def csrf_value(token: str) -> str:
    """The value every dashboard form carries to prove it came from our own page."""
    return _derive(token, "vinyl-detective dashboard csrf v1")


def same_secret(given: str | None, expected: str) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def configured_token(request: Request) -> str | None:
    token: str | None = request.app.state.admin_token
    return token


def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """The dependency of every admin and webhook route."""
    token = configured_token(request)
    if token is None:
        raise HTTPException(503, API_SWITCHED_OFF)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401,
            "send the admin token as `Authorization: Bearer <ADMIN_TOKEN>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not same_secret(credentials.credentials, token):
        raise HTTPException(403, "the admin token is wrong; use the ADMIN_TOKEN from .env")


def signed_in(request: Request) -> bool:
    """True when the browser holds a valid session cookie, or the call sends the token."""
    token = configured_token(request)
    if token is None:
        return False
    if same_secret(request.cookies.get(SESSION_COOKIE), session_value(token)):
        return True
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return scheme.lower() == "bearer" and same_secret(value.strip(), token)
