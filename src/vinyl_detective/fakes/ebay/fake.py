"""FakeEbay: a local fake of eBay's OAuth token endpoint and Browse API, as an ASGI app.

fake = FakeEbay([make_item(1, "Art Blakey Moanin' LP Blue Note BLP 4003", "45.00",
                           listed_at=now)])
fake.add_items([...])            # a new listing appears
fake.fail_next(503, times=2)     # the next two Browse calls fail
fake.calls, fake.token_requests  # what the client spent
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from vinyl_detective.fakes.ebay.browse import BrowseApi


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FakeEbay(BrowseApi):
    """State and ASGI app of a fake eBay (token endpoint + Browse API)."""

    def __init__(
        self,
        items: Iterable[Mapping[str, Any]] = (),
        *,
        app_id: str = "demo-app-id",
        cert_id: str = "demo-cert-id",
        daily_limit: int = 5000,
        token_ttl: int = 7200,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        super().__init__(
            items,
            app_id=app_id,
            cert_id=cert_id,
            daily_limit=daily_limit,
            token_ttl=token_ttl,
            clock=clock,
        )
        self._app = Starlette(
            routes=[
                Route("/identity/v1/oauth2/token", self._token, methods=["POST"]),
                Route("/buy/browse/v1/item_summary/search", self._search, methods=["GET"]),
                Route(
                    "/buy/browse/v1/item/get_item_by_legacy_id",
                    self._item_by_legacy_id,
                    methods=["GET"],
                ),
                Route("/buy/browse/v1/item/{item_id:path}", self._item, methods=["GET"]),
                Route(
                    "/developer/analytics/v1_beta/rate_limit/", self._rate_limit, methods=["GET"]
                ),
            ]
        )

    @property
    def app(self) -> Starlette:
        return self._app
