"""Who may call the fake eBay, and how much: the OAuth token endpoint
(`POST /identity/v1/oauth2/token`, client credentials only), the gate every Browse call
passes (an injected failure, the bearer token, the daily quota), and Developer Analytics
getRateLimits (`GET /developer/analytics/v1_beta/rate_limit/`).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vinyl_detective.fakes.ebay.errors import canned_error, ebay_error, invalid_token
from vinyl_detective.fakes.ebay.items import ebay_time
from vinyl_detective.fakes.ebay.state import QUOTA_RESET, EbayState, RecordedRequest

API_SCOPE = "https://api.ebay.com/oauth/api_scope"


class EbayOAuth(EbayState):
    """The token endpoint, the Browse gate and the rate-limit report."""

    def _browse_gate(self, request: Request) -> Response | None:
        """Count the call, then: injected failure, bearer token, daily quota."""
        with self._lock:
            self.calls += 1
            self.requests.append(
                RecordedRequest(
                    request.method,
                    request.url.path,
                    dict(request.query_params),
                    {
                        k.lower(): v
                        for k, v in request.headers.items()
                        if k.lower() != "authorization"
                    },
                )
            )
        failure = self._injected_failure(request.url.path, browse=True)
        if failure is not None:
            return failure
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return ebay_error(
                400,
                1002,
                "Missing access token",
                domain="OAuth",
                long_message="Access token is missing in the Authorization HTTP request header.",
            )
        with self._lock:
            expires = self._tokens.get(token.strip())
            if expires is None or self.clock() >= expires:
                return invalid_token()
            self._roll_quota_day()
            self._quota_used += 1
            over = self._quota_used > self.daily_limit
        if over:
            return canned_error(429, None)
        return None

    async def _token(self, request: Request) -> Response:
        with self._lock:
            self.token_requests += 1
        failure = self._injected_failure(request.url.path, browse=False)
        if failure is not None:
            return failure
        invalid_client = JSONResponse(
            {"error": "invalid_client", "error_description": "client authentication failed"},
            status_code=401,
        )
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return invalid_client
        try:
            user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return invalid_client
        if user != self.app_id or password != self.cert_id:
            return invalid_client
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type in request is not supported by the "
                    "authorization server",
                },
                status_code=400,
            )
        scopes = form.get("scope", API_SCOPE).split()
        if any(not s.startswith(API_SCOPE) for s in scopes):
            return JSONResponse(
                {
                    "error": "invalid_scope",
                    "error_description": "The requested scope is invalid, unknown, malformed, "
                    "or exceeds the scope granted to the client",
                },
                status_code=400,
            )
        with self._lock:
            self._token_serial += 1
            token = f"v^1.1#i^1#r^0#p^1#fake{self._token_serial:06d}#t^H4sI"
            self._tokens[token] = self.clock() + timedelta(seconds=self.token_ttl)
        return JSONResponse(
            {
                "access_token": token,
                "expires_in": self.token_ttl,
                "token_type": "Application Access Token",
            }
        )

    async def _rate_limit(self, request: Request) -> Response:
        """Developer Analytics getRateLimits: the Browse quota as the fake counts it."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            expires = self._tokens.get(token.strip())
            if scheme.lower() != "bearer" or expires is None or self.clock() >= expires:
                return invalid_token()
            day = self._roll_quota_day()
            used = self._quota_used
        day_start = datetime.combine(day, datetime.min.time(), UTC)
        reset = day_start + QUOTA_RESET + timedelta(days=1)
        rate = {
            "count": used,
            "limit": self.daily_limit,
            "remaining": max(0, self.daily_limit - used),
            "reset": ebay_time(reset),
            "timeWindow": 86400,
        }
        return JSONResponse(
            {
                "rateLimits": [
                    {
                        "apiContext": "buy",
                        "apiName": "Browse",
                        "apiVersion": "v1",
                        "resources": [{"name": "buy.browse", "rates": [rate]}],
                    }
                ]
            }
        )
