"""The sample market's entry points: `build_sample_market` and the endless streams of
new listings, `arrivals` and `arrivals_with_truth`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from vinyl_detective.fakes.sample_data.catalog import Catalog, build_catalog
from vinyl_detective.fakes.sample_data.item_shell import IdCounters
from vinyl_detective.fakes.sample_data.listings import ItemMaker, SampleArrival
from vinyl_detective.fakes.sample_data.releases import release_json
from vinyl_detective.fakes.sample_data.vocabulary import Json


@dataclass(frozen=True)
class SampleMarket:
    """A deterministic sample of Discogs and eBay data with its ground truth."""

    releases: list[Json]
    price_suggestions: dict[int, Json]
    items: list[Json]
    truth: dict[str, int | None]
    deals: frozenset[str]
    truth_master: dict[str, int | None] = field(default_factory=dict)
    grades: dict[str, str | None] = field(default_factory=dict)
    _catalog: Catalog | None = field(default=None, repr=False, compare=False)


def build_sample_market(
    seed: int = 7, *, releases: int = 600, listings: int = 2400, now: datetime
) -> SampleMarket:
    """The sample market for `seed`: the same seed and sizes always give the same data.

    `now` only anchors the listings' dates (spread over the three days before it): the
    market is the same whenever it is built, so the demo and its tests are repeatable.
    """
    if releases < 1 or listings < 0:
        raise ValueError("build_sample_market needs releases >= 1 and listings >= 0")
    now = _utc(now)
    catalog = build_catalog(random.Random(f"vd-catalog-{seed}-{releases}"), releases)
    release_dicts = [release_json(p, catalog, seed) for p in catalog.pressings]
    rng = random.Random(f"vd-items-{seed}-{listings}")
    maker = ItemMaker(catalog, rng)
    starts = sorted(now - timedelta(seconds=rng.uniform(60, 3 * 86400)) for _ in range(listings))
    counters = IdCounters.fresh(rng)
    items: list[Json] = []
    truth: dict[str, int | None] = {}
    truth_master: dict[str, int | None] = {}
    grades: dict[str, str | None] = {}
    deals: set[str] = set()
    for created in starts:
        arrival = maker.make(created.replace(microsecond=0), counters.next(rng), now)
        item_id = arrival.item["itemId"]
        items.append(arrival.item)
        truth[item_id] = arrival.release_id
        truth_master[item_id] = arrival.master_id
        grades[item_id] = arrival.grade
        if arrival.is_deal:
            deals.add(item_id)
    return SampleMarket(
        releases=release_dicts,
        price_suggestions={k: v for k, v in catalog.suggestions.items() if v},
        items=items,
        truth=truth,
        deals=frozenset(deals),
        truth_master=truth_master,
        grades=grades,
        _catalog=catalog,
    )


def arrivals(
    market: SampleMarket, *, seed: int, start: datetime, per_hour: float
) -> Iterator[Json]:
    """An endless stream of new listings in the market's style, listed from `start` on.

    Item ids are fresh (above every id in `market`) and `itemOriginDate` advances by random
    gaps averaging `per_hour` listings an hour. Deterministic for the same arguments.
    """
    for arrival in arrivals_with_truth(market, seed=seed, start=start, per_hour=per_hour):
        yield arrival.item


def arrivals_with_truth(
    market: SampleMarket, *, seed: int, start: datetime, per_hour: float
) -> Iterator[SampleArrival]:
    """Like `arrivals`, with each listing's true release and whether it is a deal."""
    if per_hour <= 0:
        raise ValueError("per_hour must be positive, e.g. 30 for a listing every two minutes")
    if market._catalog is None:
        raise ValueError("this SampleMarket was not made by build_sample_market")
    start = _utc(start)
    rng = random.Random(f"vd-arrivals-{seed}-{start.isoformat()}-{per_hour}")
    maker = ItemMaker(market._catalog, rng)
    counters = IdCounters.after(market.items)
    when = start
    while True:
        when += timedelta(hours=rng.expovariate(per_hour))
        created = when.replace(microsecond=0)
        yield maker.make(created, counters.next(rng), created)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
