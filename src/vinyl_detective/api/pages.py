"""What every dashboard page shares: the Jinja2 templates (autoescaped) and their
filters, `render` with the security headers, sign-in as a dependency (`Page`), and
forms (`read_form`, the CSRF check).

Server-rendered HTML, no JavaScript. Every page needs the admin token: sign in once at
/login (see api/security.py); forms that change something carry a CSRF value and answer
with a redirect back (post/redirect/get), or re-render the page with the error when the
change was refused.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

import jinja2
from fastapi import Depends, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse

from vinyl_detective.api.deps import Services, services
from vinyl_detective.api.security import (
    CSRF_FIELD,
    configured_token,
    csrf_value,
    same_secret,
    signed_in,
)
from vinyl_detective.errors import InvalidTransitionError

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 10_000
# No scripts at all; styles and images from ourselves (thumbnails from the marketplace).
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


Svc = Annotated[Services, Depends(services)]
DbId = Annotated[int, FastApiPath(ge=1, le=2**62)]  # beyond that SQLite cannot even look


def money(amount: Decimal | None, currency: str | None = None) -> str:
    if amount is None:
        return "—"
    text = f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at else "—"


def pct(score: float | None) -> str:
    return "—" if score is None else f"{score * 100:.0f}%"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    env.filters["when"] = when
    env.filters["pct"] = pct
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


def safe_next(raw: str | None) -> str:
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


STALE_FORM = "This form has expired (the admin token changed?). Reload the page and try again."


def form_float(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and 0 <= value <= 1 else None


def form_amount(form: dict[str, str], name: str) -> Decimal | None:
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
