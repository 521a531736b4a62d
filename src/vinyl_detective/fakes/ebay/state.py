"""The fake eBay's state, and what tests and the demo change in it.

EbayState holds the listings (listings.py), the tokens issued, the daily Browse quota,
the failures queued by `fail_next` and a record of every Browse request; one lock
guards it all (the demo serves the app from another thread). The endpoints are in
oauth.py and browse.py.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from starlette.responses import Response

from vinyl_detective.fakes.ebay.errors import canned_error
from vinyl_detective.fakes.ebay.listings import Listings

# eBay's quota day is reported to start at 07:00 UTC.
QUOTA_RESET = timedelta(hours=7)


@dataclass
class _Failure:
    status: int
    remaining: int
    path_contains: str
    retry_after: float | None


@dataclass(frozen=True)
class RecordedRequest:
    """A Browse API request the fake received (the Authorization header left out)."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


class EbayState:
    """What a fake eBay holds: listings, tokens, the quota, queued failures, requests."""

    def __init__(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        app_id: str,
        cert_id: str,
        daily_limit: int,
        token_ttl: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.app_id = app_id
        self.cert_id = cert_id
        self.daily_limit = daily_limit
        self.token_ttl = token_ttl
        self.clock = clock
        self.calls = 0
        """Every Browse API request received (search, item, failed ones too)."""
        self.token_requests = 0
        """Every request to the token endpoint, granted or not."""
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._listings = Listings()
        self._tokens: dict[str, datetime] = {}
        self._failures: list[_Failure] = []
        self._quota_day: date | None = None
        self._quota_used = 0
        self._token_serial = 0
        self.add_items(items)

    # --- state the tests and the demo drive -------------------------------------------

    @property
    def items(self) -> list[dict[str, Any]]:
        """A copy of the listings the fake holds, in insertion (best match) order."""
        with self._lock:
            return copy.deepcopy([stored.item for stored in self._listings.all()])

    def add_items(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Add (or replace, by itemId) listings; they show up in the next search."""
        with self._lock:
            for item in items:
                item_id = item.get("itemId")
                if not isinstance(item_id, str) or not item_id:
                    raise ValueError(f"a fake eBay item needs an itemId: {item!r:.80}")
                self._listings.put(item_id, copy.deepcopy(dict(item)))

    def remove_item(self, item_id: str) -> None:
        """The listing ends: item lookups answer 404, searches no longer show it."""
        with self._lock:
            self._listings.remove(item_id)

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        path_contains: str = "",
        retry_after: float | None = None,
    ) -> None:
        """Answer the next `times` Browse calls (whose path contains `path_contains`) with
        `status` and eBay's error body for it. A `path_contains` naming the token path
        (e.g. "oauth2") makes token requests fail instead."""
        with self._lock:
            self._failures.append(_Failure(status, times, path_contains, retry_after))

    def expire_tokens(self) -> None:
        """Every token issued so far becomes invalid (the next Browse call gets 401)."""
        with self._lock:
            self._tokens.clear()

    @property
    def quota_used(self) -> int:
        """Authenticated Browse calls in the current quota day (resets 07:00 UTC)."""
        with self._lock:
            self._roll_quota_day()
            return self._quota_used

    # --- internals ----------------------------------------------------------------------

    def _roll_quota_day(self) -> date:
        day = (self.clock() - QUOTA_RESET).date()
        if day != self._quota_day:
            self._quota_day, self._quota_used = day, 0
        return day

    def _injected_failure(self, path: str, *, browse: bool) -> Response | None:
        with self._lock:
            for failure in self._failures:
                wanted = failure.path_contains in path if failure.path_contains else browse
                if wanted and failure.remaining > 0:
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        self._failures.remove(failure)
                    return canned_error(failure.status, failure.retry_after)
        return None
