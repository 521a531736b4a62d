"""Pacing calls to a service that limits requests per moving window and says so in headers.

Discogs allows 60 requests a minute (moving 60-second window) and reports, on every
response, the limit, how many requests it counted and how many remain:

    X-Discogs-Ratelimit: 60
    X-Discogs-Ratelimit-Used: 12
    X-Discogs-Ratelimit-Remaining: 48

`HeaderRateLimiter` keeps its own record of when calls went out, so a burst never exceeds
the limit even before the first headers arrive, spaces calls by a minimum interval, and
trusts the server whenever the server counts more than we did (another process sharing
the IP, a restart): the server's "used" figure is added to the window as if those calls
had just been made. A 429 waits `Retry-After` when given; without it (Discogs sends none)
every caller holds back for a pause that starts at a twelfth of the window (5 s for
Discogs) and doubles with each 429 in a row, up to the whole window: a stray 429 costs
seconds, not a minute of all pricing, and a window that really is full (another client on
the IP) is probed at most five times a minute. The first answer that is not a 429 ends the
streak.

The header names are parameters, so the same limiter serves any service that reports its
limit in this style.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

__all__ = ["HeaderRateLimiter"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    """The integer value of header `name` (case-insensitive), or None if absent/garbled."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        for key, candidate in headers.items():
            if key.lower() == wanted:
                value = candidate
                break
    if value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number >= 0 else None


class HeaderRateLimiter:
    """Allows at most `limit` calls in any `window` seconds, paced by the server's headers.

    Call `await acquire()` right before each request and `update(response.headers)` right
    after it; call `rate_limited(retry_after)` when the server answered 429. Safe to share
    between concurrent tasks: waiting callers queue in arrival order.

    `min_interval` is the least time between two calls; by default `window / limit`, which
    spreads calls evenly so a burst never trips the server's limit. Pass 0 to allow bursts
    up to the limit. `clock` (seconds, monotonic) and `sleep` are injectable for tests.
    """

    def __init__(
        self,
        limit: int = 60,
        window: float = 60.0,
        *,
        min_interval: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        limit_header: str = "X-Discogs-Ratelimit",
        used_header: str = "X-Discogs-Ratelimit-Used",
        remaining_header: str = "X-Discogs-Ratelimit-Remaining",
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window <= 0:
            raise ValueError("window must be positive")
        self._limit = limit
        self._window = window
        self._auto_interval = min_interval is None
        self._min_interval = window / limit if min_interval is None else max(0.0, min_interval)
        self._clock = clock
        self._sleep = sleep
        self._limit_header = limit_header
        self._used_header = used_header
        self._remaining_header = remaining_header
        self._sent: deque[float] = deque()  # start times of calls in the current window
        self._last: float | None = None
        self._blocked_until = 0.0
        self._refusals = 0  # 429s in a row, for the growing pause
        self._lock = asyncio.Lock()

    @property
    def limit(self) -> int:
        """Calls allowed per window; follows the server's limit header once seen."""
        return self._limit

    @property
    def window(self) -> float:
        return self._window

    @property
    def min_interval(self) -> float:
        return self._min_interval

    @property
    def used(self) -> int:
        """Calls counted in the current window (ours, or the server's figure if higher)."""
        self._prune(self._clock())
        return len(self._sent)

    def _prune(self, now: float) -> None:
        while self._sent and self._sent[0] + self._window <= now:
            self._sent.popleft()

    def _delay(self, now: float) -> float:
        wait = self._blocked_until - now
        if len(self._sent) >= self._limit:
            # The oldest calls must leave the window until one slot is free.
            wait = max(wait, self._sent[len(self._sent) - self._limit] + self._window - now)
        if self._last is not None and self._min_interval > 0:
            wait = max(wait, self._last + self._min_interval - now)
        return wait

    async def acquire(self) -> None:
        """Wait until one more call fits in the window, then count it as made now."""
        async with self._lock:
            while True:
                now = self._clock()
                self._prune(now)
                wait = self._delay(now)
                if wait <= 0:
                    break
                await self._sleep(wait)
            self._sent.append(now)
            self._last = now

    @property
    def refusals(self) -> int:
        """429s in a row (0 once an answer was not a 429)."""
        return self._refusals

    def update(self, headers: Mapping[str, str]) -> None:
        """Learn from the rate-limit headers of an answer that was not a 429 (missing or
        garbled ones are ignored); it also ends a streak of 429s."""
        self._refusals = 0
        limit = _header_int(headers, self._limit_header)
        used = _header_int(headers, self._used_header)
        remaining = _header_int(headers, self._remaining_header)
        if limit is not None and limit >= 1 and limit != self._limit:
            self._limit = limit
            if self._auto_interval:
                self._min_interval = self._window / limit
        if used is None and remaining is not None:
            used = max(0, self._limit - remaining)
        if remaining == 0:
            used = max(used or 0, self._limit)
        if used is not None:
            self._fill_to(used)

    def rate_limited(self, retry_after: float | None = None) -> float:
        """The server refused a call as too many (429): hold every caller back; returns
        how long (seconds from now).

        With `retry_after` (seconds) the next call waits that long; without it, a pause of
        a twelfth of the window, doubled for each 429 in a row, at most the window.
        """
        now = self._clock()
        self._refusals += 1
        if retry_after is not None and retry_after > 0:
            pause = retry_after
        else:
            first = self._window / 12
            pause = min(self._window, first * 2 ** min(self._refusals - 1, 16))
        self._blocked_until = max(self._blocked_until, now + pause)
        return self._blocked_until - now

    def _fill_to(self, used: int) -> None:
        """Count `used` calls in the window, adding the server's extra ones as made now."""
        now = self._clock()
        self._prune(now)
        missing = min(used, self._limit) - len(self._sent)
        for _ in range(missing):
            self._sent.append(now)
