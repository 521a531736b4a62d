"""The listings a fake eBay holds, and the search result sets kept over them.

It stays fast with tens of thousands of listings (benchmarks/freshness.py): each
distinct search (keywords, category, filter) keeps its result set sorted newest first and
only looks at the listings added since it last ran, found through a word index when the
search has keywords; `sort=newlyListed` pages are then slices. Replacing or removing a
listing rebuilds the result sets on their next use.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vinyl_detective.fakes.ebay.query import Item, index_words, origin_date, title_words

# Result sets kept up to date (least recently used dropped first).
MAX_SELECTIONS = 2048
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNDATED = 2**62  # a listing without a start date sorts after every dated one


@dataclass(frozen=True, slots=True)
class Stored:
    """A listing as the fake holds it, with what searching needs precomputed."""

    item: dict[str, Any]
    seq: int  # insertion order: eBay's "best match" order here
    newest_first: tuple[int, int]  # sort key of `sort=newlyListed` (ties: insertion order)


def _stored(item: dict[str, Any], seq: int) -> Stored:
    started = origin_date(item)
    micros = _UNDATED if started is None else -((started - _EPOCH) // timedelta(microseconds=1))
    return Stored(item, seq, (micros, seq))


SelectionKey = tuple[str | None, str | None, str, str | None, str | None]


@dataclass(slots=True)
class Selection:
    """The result set of one search (keywords, category, filter, gtin, epid), newest first."""

    accept: Callable[[Item], bool]
    words: tuple[str, ...] | None  # a matching title holds one of these (None: any title)
    checked: int  # listings added before this position of `_arrivals` were considered
    keys: list[tuple[int, int]] = field(default_factory=list)
    found: list[Stored] = field(default_factory=list)

    def take(self, stored: Stored) -> None:
        if self.accept(stored.item):
            at = bisect_right(self.keys, stored.newest_first)
            self.keys.insert(at, stored.newest_first)
            self.found.insert(at, stored)


class Listings:
    """The fake's listings by itemId, in insertion (best match) order.

    Not locked itself: FakeEbay calls it with its lock held.
    """

    def __init__(self) -> None:
        self._items: dict[str, Stored] = {}
        self._by_legacy_id: dict[str, str] = {}
        self._arrivals: list[Stored] = []  # listings in the order they were first added
        self._postings: dict[str, list[int]] = {}  # title word -> positions in _arrivals
        self._selections: OrderedDict[SelectionKey, Selection] = OrderedDict()
        self._serial = 0

    def all(self) -> Iterable[Stored]:
        return self._items.values()

    def get(self, item_id: str) -> Stored | None:
        return self._items.get(item_id)

    def by_legacy_id(self, legacy: str) -> Stored | None:
        return self._items.get(self._by_legacy_id.get(legacy, ""))

    def put(self, item_id: str, item: dict[str, Any]) -> None:
        """Store one listing: indexed as new, or replacing one in place."""
        old = self._items.get(item_id)
        if old is not None:  # keeps its place in the best-match order
            self._forget(old)
            self._items[item_id] = _stored(item, old.seq)
        else:
            stored = self._items[item_id] = _stored(item, self._serial)
            self._serial += 1
            position = len(self._arrivals)
            self._arrivals.append(stored)
            for word in title_words(str(item.get("title", ""))):
                self._postings.setdefault(word, []).append(position)
        legacy = item.get("legacyItemId")
        if isinstance(legacy, str):
            self._by_legacy_id[legacy] = item_id

    def remove(self, item_id: str) -> None:
        gone = self._items.pop(item_id, None)
        if gone is not None:
            self._forget(gone)

    def _forget(self, stored: Stored) -> None:
        """A listing changed or went: result sets are rebuilt when next asked for."""
        self._selections.clear()
        legacy = stored.item.get("legacyItemId")
        if isinstance(legacy, str):
            self._by_legacy_id.pop(legacy, None)

    def select(self, key: SelectionKey, accept: Callable[[Item], bool]) -> Selection:
        """The up-to-date result set for `key`, newest first."""
        selection = self._selections.get(key)
        if selection is None:
            selection = Selection(accept, index_words(key[0]), len(self._arrivals))
            for stored in sorted(self._items.values(), key=lambda s: s.newest_first):
                if accept(stored.item):
                    selection.keys.append(stored.newest_first)
                    selection.found.append(stored)
            self._selections[key] = selection
            if len(self._selections) > MAX_SELECTIONS:
                self._selections.popitem(last=False)
            return selection
        self._selections.move_to_end(key)
        end = len(self._arrivals)
        if selection.checked < end:
            if selection.words is None:
                positions: Iterable[int] = range(selection.checked, end)
            else:
                candidates: set[int] = set()
                for word in selection.words:
                    posting = self._postings.get(word, [])
                    candidates.update(posting[bisect_left(posting, selection.checked) :])
                positions = sorted(candidates)
            for position in positions:
                selection.take(self._arrivals[position])
            selection.checked = end
        return selection
