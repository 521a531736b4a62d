"""What the budget planner works on and what it answers: loads, the budget, plans.

The scheduler (jobs/schedule_planner.py) turns stored state into these: a `SearchLoad`
per saved search (its bounds, priority, yield, own arrivals), a `StreamLoad` per category
stream (its observed arrivals), the `Budget` as it stands; the planner
(domain/budget_planner.py) answers with a `SchedulePlan`. Also which searches may ride
the category streams at all (`rides_firehose`, `SearchMode`). Pure data, time passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from vinyl_detective.domain.models import SavedSearch
from vinyl_detective.domain.polling import OWN_QUERY_MAX_PAGES, PAGE_SIZE, poll_cost

DEFAULT_RESERVE = 0.15
# A search's interval bounds unless its user set others (`search schedule`).
DEFAULT_MIN_MINUTES = 5.0
DEFAULT_MAX_MINUTES = 240.0
# The arrival rate assumed for a stream never observed yet (listings a minute).
UNKNOWN_ARRIVAL_RATE = 10.0
# What a search that never queried alone is assumed to find (20 new listings a day), and
# the least need anything is given (one listing a day), in listings a minute.
QUIET_SEARCH_RATE = 20 / 1440
MIN_NEED = 1 / 1440


class SearchMode(StrEnum):
    """How a saved search gets its listings."""

    FIREHOSE = "firehose"  # matched locally against the category streams
    QUERY = "query"  # its own eBay query (other marketplace/category, or asked for)


@dataclass(frozen=True, slots=True)
class SearchLoad:
    """What the planner knows about one saved search.

    `priority` runs from -2 (low) to +2 (high). `recent_runs`/`recent_deals` count the
    runs and deals in the recent window (e.g. the last 20 runs); `runs_since_deal` counts
    consecutive runs without a deal.
    """

    search_id: int
    base_minutes: float
    min_minutes: float
    max_minutes: float
    priority: int = 0
    recent_runs: float = 0
    recent_deals: float = 0
    runs_since_deal: int = 0
    arrivals_per_min: float | None = None  # its own query's new listings (None: unknown)
    marketplace: str = ""  # the site it searches: it may ride that site's firehose
    categories: tuple[str, ...] | None = None  # the streams it hears riding (None: all)

    @property
    def need(self) -> float:
        """New listings a minute it wants: what its own query found lately, or, never
        polled alone, a quiet search's (QUIET_SEARCH_RATE); never below one a day."""
        rate = QUIET_SEARCH_RATE if self.arrivals_per_min is None else self.arrivals_per_min
        return max(MIN_NEED, rate)

    def hears(self, category: str) -> bool:
        return not category or self.categories is None or category in self.categories

    @property
    def longest_interval(self) -> float:
        """Its max interval, or its one-page interval if that is shorter.

        With `r` new listings a minute a poll every `I` minutes reads ``r·I / 200`` pages,
        so beyond ``I = 200/r`` polling less often costs the same calls a day and only
        adds latency (and a burst could outrun the pages a poll may read). Never below
        one minute.
        """
        rate = self.arrivals_per_min or 0.0
        if rate <= 0:
            return self.max_minutes
        return max(1.0, min(self.max_minutes, PAGE_SIZE / rate))

    @property
    def shortest_interval(self) -> float:
        return min(self.min_minutes, self.longest_interval)

    def cost(self, interval: float) -> float:
        """Calls a minute when polled every `interval` minutes: one page, or as many as
        arrived (up to the `OWN_QUERY_MAX_PAGES` a poll may read)."""
        return poll_cost(self.arrivals_per_min or 0.0, interval, OWN_QUERY_MAX_PAGES)


@dataclass(frozen=True, slots=True)
class StreamLoad:
    """One firehose stream (a marketplace's record category) and its observed arrivals.

    `wanted_per_min` counts only the new listings some rider's keywords accept: what the
    stream is worth to its riders (None: not observed yet; its whole rate stands in).
    """

    stream: str
    arrivals_per_min: float | None = None
    wanted_per_min: float | None = None
    marketplace: str = ""
    category: str = ""  # "": heard by every rider of its marketplace

    @property
    def rate(self) -> float:
        known = self.arrivals_per_min
        return max(0.01, UNKNOWN_ARRIVAL_RATE if known is None else known)

    @property
    def need(self) -> float:
        wanted = self.rate if self.wanted_per_min is None else self.wanted_per_min
        return max(MIN_NEED, wanted)


@dataclass(frozen=True, slots=True)
class Budget:
    """The daily call budget as it stands at `now`."""

    limit: int
    used: int
    now: datetime
    resets_at: datetime
    reserve: float = DEFAULT_RESERVE

    @property
    def minutes_left(self) -> float:
        return max(1.0, (self.resets_at - self.now).total_seconds() / 60)

    @property
    def spendable(self) -> float:
        return max(0.0, self.limit * (1 - self.reserve) - self.used)


@dataclass(frozen=True, slots=True)
class StreamPlan:
    stream: str
    interval_min: float
    pages: int  # pages a poll may read


@dataclass(frozen=True, slots=True)
class SchedulePlan:
    """Intervals (minutes) for the firehose streams and the searches that query alone.

    `projected_calls` is what these intervals cost until the reset; `fits` is False only
    when even the slowest plan costs more than `spendable` (then the streams are capped
    to one page a poll and may miss listings, and searches run past their max interval).
    """

    use_firehose: bool  # some marketplace's searches ride its firehose
    streams: dict[str, StreamPlan]
    searches: dict[int, float]
    projected_calls: float
    spendable: float
    minutes_left: float
    fits: bool
    firehose_marketplaces: frozenset[str] = frozenset()


def rides_firehose(
    search: SavedSearch, mode: str | None, marketplace: str, categories: Sequence[str]
) -> bool:
    """Whether the category streams serve `search`, or it must run its own query.

    It rides unless it asked to query alone (`mode`), is on another marketplace than the
    streams', or is limited to a category outside them.
    """
    if mode == SearchMode.QUERY:
        return False
    if search.marketplace != marketplace:
        return False
    return search.category_id in (None, "") or search.category_id in categories
