"""Paging backwards through a source, newest first, until one of five stop conditions.

The machinery behind a new search's backfill (eBay, newest listings first) and the Discogs
wantlist import: a caller supplies `fetch_page(cursor) -> Page` and an `on_page` callback
(store the items, save a checkpoint), and `page_backwards` drives the loop:

    result = await page_backwards(
        fetch_page, start_cursor, now=now, limits=PagingLimits(max_requests=20),
        on_page=store_and_checkpoint,
    )
    result.reason          # why it stopped (StopReason)
    result.state.cursor    # where to resume, or None when there is nothing further

The five stop conditions (seed 004), checked in this order:

1. ``EMPTY_PAGE``    a page came back with no items;
2. ``NO_PROGRESS``   a page brought nothing older than what was already seen (the source
                     is stuck, or repeats itself);
3. ``MAX_AGE``       a page reached items older than `now - max_age` (that page is still
                     handed to `on_page`; the caller may skip its too-old items);
4. ``MAX_REQUESTS``  the request allowance is spent (counted across resumptions when the
                     caller passes the stored count back in);
5. ``RATE_LIMITED``  the source answered 429 more than `max_rate_limited` times in this
                     run (each 429 first waits `retry_after`, or a backoff, then retries).

Besides these, ``END`` means the source itself said there is no further page. Any other
error propagates to the caller, with `on_page` having already recorded every page that
succeeded, so a crashed run resumes from its last completed page.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

from vinyl_detective.errors import RateLimitedError

log = logging.getLogger(__name__)

T = TypeVar("T")
C = TypeVar("C")


class StopReason(StrEnum):
    """Why paging stopped. Every reason except RATE_LIMITED means "done for now"."""

    EMPTY_PAGE = "empty_page"
    NO_PROGRESS = "no_progress"
    MAX_AGE = "max_age"
    MAX_REQUESTS = "max_requests"
    RATE_LIMITED = "rate_limited"
    END = "end"

    @property
    def complete(self) -> bool:
        """True when the source was read as far back as wanted (a backfill is finished).

        MAX_REQUESTS and RATE_LIMITED leave work to do on a later run.
        """
        return self not in (StopReason.MAX_REQUESTS, StopReason.RATE_LIMITED)


@dataclass(frozen=True, slots=True)
class Page(Generic[T, C]):
    """One page from the source.

    `next_cursor` is how to ask for the following (older) page, None when there is none.
    `oldest` is the timestamp of the oldest item on the page (None if items carry none:
    then progress is judged by the cursor moving).
    """

    items: Sequence[T]
    next_cursor: C | None
    oldest: datetime | None = None


@dataclass(frozen=True, slots=True)
class PagingLimits:
    """How far one paging run may go.

    `max_requests` counts every fetch attempt, 429s included: each one costs API budget.
    `max_age` None means no age limit. `max_wait` caps a single 429 wait.
    """

    max_requests: int = 50
    max_age: timedelta | None = None
    max_rate_limited: int = 3
    max_wait: float = 60.0


@dataclass(slots=True)
class PagingState(Generic[C]):
    """Progress so far; `on_page` sees it after each page, ready to be checkpointed.

    `cursor` is the next page to fetch (None once the source has no further page).
    """

    cursor: C | None
    requests: int = 0
    pages: int = 0
    items: int = 0
    rate_limited: int = 0
    earliest_seen: datetime | None = None
    retry_after: float | None = None  # what the last 429 asked for, if it said


@dataclass(frozen=True, slots=True)
class PagingResult(Generic[C]):
    reason: StopReason
    state: PagingState[C]

    @property
    def complete(self) -> bool:
        return self.reason.complete


async def _no_op(_page: Page[T, C], _state: PagingState[C]) -> None:
    return None


def _backoff(attempt: int) -> float:
    return float(min(60, 2 ** (attempt - 1)))


async def page_backwards(
    fetch_page: Callable[[C], Awaitable[Page[T, C]]],
    start: C,
    *,
    now: datetime,
    limits: PagingLimits,
    on_page: Callable[[Page[T, C], PagingState[C]], Awaitable[None]] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    requests_done: int = 0,
    earliest_seen: datetime | None = None,
) -> PagingResult[C]:
    """Fetch pages from `start` backwards until a stop condition; see the module docstring.

    `requests_done` and `earliest_seen` carry a resumed run's totals from its checkpoint,
    so MAX_REQUESTS and NO_PROGRESS hold across restarts. `now` fixes the MAX_AGE cutoff.
    """
    handle = on_page or _no_op
    state: PagingState[C] = PagingState(
        cursor=start, requests=requests_done, earliest_seen=earliest_seen
    )
    cutoff = now - limits.max_age if limits.max_age is not None else None
    while True:
        cursor = state.cursor
        if cursor is None:
            return PagingResult(StopReason.END, state)
        if state.requests >= limits.max_requests:
            return PagingResult(StopReason.MAX_REQUESTS, state)
        state.requests += 1
        try:
            page = await fetch_page(cursor)
        except RateLimitedError as exc:
            state.rate_limited += 1
            state.retry_after = exc.retry_after
            if state.rate_limited > limits.max_rate_limited:
                log.warning("paging stopped: rate limited %d times", state.rate_limited)
                return PagingResult(StopReason.RATE_LIMITED, state)
            wait = exc.retry_after if exc.retry_after is not None else _backoff(state.rate_limited)
            await sleep(min(max(0.0, wait), limits.max_wait))
            continue
        if not page.items:
            return PagingResult(StopReason.EMPTY_PAGE, state)
        previous = state.earliest_seen
        if page.oldest is not None:
            progressed = previous is None or page.oldest < previous
        else:
            progressed = page.next_cursor != cursor
        if not progressed:
            return PagingResult(StopReason.NO_PROGRESS, state)
        if page.oldest is not None:
            state.earliest_seen = page.oldest
        state.cursor = page.next_cursor
        state.pages += 1
        state.items += len(page.items)
        await handle(page, state)
        if cutoff is not None and page.oldest is not None and page.oldest < cutoff:
            return PagingResult(StopReason.MAX_AGE, state)
