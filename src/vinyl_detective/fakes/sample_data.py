"""The demo marketplace's sample data: a Discogs catalog and noisy eBay listings, with the truth.

`build_sample_market(seed, now=...)` makes, deterministically and in well under a second:

- `releases`: Discogs `GET /releases/{id}` JSON dicts. Every curated album has an original
  pressing, and most have more pressings under the same `master_id` (stereo issues,
  represses that keep the catalog number, foreign pressings, 80s reissues, Japanese, CD,
  cassette, 180 g and audiophile reissues), as on Discogs.
- `price_suggestions`: Discogs `GET /marketplace/price_suggestions/{id}` bodies (USD) keyed by
  release id; a few releases are unpriced and have no entry.
- `items`: eBay Browse `GET /item/{id}` JSON dicts (a search summary is the same dict without
  `DETAIL_ONLY_FIELDS`), titled the way sellers write, about a quarter of them decoys.
- `truth` / `truth_master`: what each listing really is (None for decoys), and `deals`: the
  listings that are, by construction, bargains.

What "deal" means here, exactly: the listing is matched, its release is priced, it is in USD,
its shipping is known (FIXED or free), its media grade is stated (title or "Record
Grading"), its grade is VG or better, its seller has at least 98% positive feedback, and
price + shipping is at least 35% under the Discogs suggestion for that grade (`grades` holds
every listing's true media grade). Every other matched, priced listing costs at least 90% of
its grade's suggestion (listings that state no grade are priced against the Near Mint
suggestion), so a correct scorer with a 25% threshold finds exactly `deals`, with room to
spare for seller and auction modifiers. Listings in GBP/EUR are never deals: comparing their
amounts with USD prices without converting would invent bargains.

Some listings cannot be told apart at the release level from their text (a repress with the
original's catalog number, a title with no catalog number): compare those at the master level
with `truth_master`.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import re
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vinyl_detective.domain.normalize import normalize_catalog_no, strip_disambiguation
from vinyl_detective.fakes.sample_catalog import (
    ALBUMS,
    FAMILIES,
    LABEL_NOTES,
    MULTI_DISC,
    NOT_RECORDS,
    OFF_CATALOG,
    TITLE_ALIASES,
    TRIBUTE_PERFORMERS,
    UNKNOWN_ALBUMS,
    Album,
)

Json = dict[str, Any]

GRADES: tuple[str, ...] = (
    "Mint (M)",
    "Near Mint (NM or M-)",
    "Very Good Plus (VG+)",
    "Very Good (VG)",
    "Good Plus (G+)",
    "Good (G)",
    "Fair (F)",
    "Poor (P)",
)
"""Discogs' media grades, best first, exactly as the price-suggestion keys spell them."""

DETAIL_ONLY_FIELDS: frozenset[str] = frozenset(
    {"gtin", "mpn", "localizedAspects", "shortDescription", "categoryId", "categoryPath"}
)
"""Item fields that `GET /item/{id}` returns but a search summary does not."""

CATEGORIES: dict[str, tuple[str, str]] = {
    "Vinyl": ("176985", "Records"),
    "CD": ("176984", "CDs"),
    "Cassette": ("176983", "Cassettes"),
}
"""eBay US leaf category (id, name) per Discogs format name."""

DEAL_MAX_RATIO = 0.65
"""A deal's total is at most this share of its grade's suggested price."""
NORMAL_MIN_RATIO = 0.90
"""Every other priced listing's total is at least this share of its reference."""

_FX_FROM_USD = {"USD": 1.0, "GBP": 0.79, "EUR": 0.92, "CAD": 1.37, "JPY": 151.0}
_VINTAGE_CURVE = (1.7, 1.3, 1.0, 0.55, 0.33, 0.2, 0.11, 0.06)
_MODERN_CURVE = (1.3, 1.15, 1.0, 0.72, 0.5, 0.35, 0.2, 0.1)
_TIER_PRICE = {
    1: (12.0, 25.0),
    2: (22.0, 45.0),
    3: (40.0, 110.0),
    4: (100.0, 350.0),
    5: (300.0, 1500.0),
}
_KIND_FACTOR = {
    "orig": (1.0, 1.0),
    "stereo": (0.6, 1.3),
    "repress": (0.3, 0.5),
    "foreign": (0.35, 0.6),
    "club": (0.2, 0.3),
    "reissue": (0.15, 0.35),
    "jp": (0.3, 0.5),
}
# Later vinyl pressings stay affordable however rare the first press is.
_KIND_PRICE_CAP = {"reissue": 60.0, "jp": 90.0, "club": 40.0}
_KIND_FLAT_PRICE = {
    "cd": (4.0, 14.0),
    "eucd": (4.0, 12.0),
    "cass": (4.0, 14.0),
    "modern": (20.0, 34.0),
    "audiophile": (35.0, 70.0),
    "color": (25.0, 45.0),
}
_KIND_POPULARITY = {
    "orig": 1.0,
    "stereo": 0.8,
    "repress": 0.7,
    "foreign": 0.5,
    "club": 0.4,
    "reissue": 1.0,
    "jp": 0.4,
    "cd": 1.6,
    "eucd": 0.8,
    "cass": 0.5,
    "modern": 2.2,
    "audiophile": 0.7,
    "color": 0.9,
}
# How likely each extra pressing kind is to exist for an album, relative to the others.
_KIND_PREFERENCE = {
    "stereo": 5.0,
    "cd": 4.0,
    "modern": 3.5,
    "reissue": 3.0,
    "repress": 2.5,
    "cass": 2.0,
    "foreign": 2.0,
    "jp": 1.5,
    "eucd": 1.5,
    "audiophile": 1.2,
    "club": 0.8,
    "color": 1.0,
}
_FORMAT_DIGIT = {"Vinyl": "1", "CD": "2", "Cassette": "4"}
_KIND_FORMAT = {"cd": "CD", "eucd": "CD", "cass": "Cassette"}
_JAPAN_PRESSERS = ("King Records", "Toshiba EMI", "Nippon Columbia", "Victor", "CBS/Sony")
_DISTRIBUTORS = (
    "UMe",
    "Legacy",
    "Rhino Records (2)",
    "Capitol Records",
    "EMI",
    "Warner Music Group",
)
_PLANTS = {
    "US": (
        "Specialty Records Corporation",
        "Columbia Records Pressing Plant, Pitman",
        "Allied Record Company",
    ),
    "UK": ("EMI Records Ltd", "CBS Records Aylesbury", "Orlake Records"),
    "Germany": ("Sonopress", "Teldec Press GmbH"),
    "Europe": ("Optimal Media GmbH", "Record Industry", "GZ Media"),
    "Japan": ("Toshiba EMI", "JVC"),
}
_COLORS = ("Red", "Clear", "Blue Marbled", "Gold", "Translucent Green", "Orange", "Splatter")
_IMAGE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~-"
_COUNTRY_CODES = ("US", "GB", "DE", "CA", "JP")
_COUNTRY_WEIGHTS = (0.78, 0.09, 0.06, 0.04, 0.03)
_MARKETPLACE = {"GB": "EBAY_GB", "DE": "EBAY_DE"}
_LOCAL_CURRENCY = {"GB": "GBP", "DE": "EUR", "CA": "CAD", "JP": "JPY"}

# How sellers write each media grade, by grade index (0 = Mint … 5 = Good).
_GRADE_WORDS: tuple[tuple[str, ...], ...] = (
    ("SEALED", "New Sealed", "Brand New", "Factory Sealed", "NEW"),
    ("NM", "NM-", "M-", "Near Mint", "NM/NM", "NM/VG+", "Mint-"),
    ("VG+", "VG+/VG+", "VG+/VG", "EX", "EX/EX", "Excellent", "vg+"),
    ("VG", "VG/VG", "VG/G+", "vg", "VG/VG+"),
    ("G+", "G+/G", "Good+", "G+/VG"),
    ("Good", "G/G", "Good Cond"),
)
_ASPECT_GRADES = (
    "Mint (M)",
    "Near Mint (NM or M-)",
    "Very Good Plus (VG+)",
    "Very Good (VG)",
    "Good Plus (G+)",
    "Good (G)",
)
_HYPE = ("🔥RARE🔥", "RARE", "L@@K", "HTF", "!!", "*RARE*", "✨", "🔥", "WOW", "MUST SEE", "NICE!")
_EXTRAS = ("w/ insert", "w/ Poster", "Shrink", "Hype Sticker", "Plays Great", "Clean", "Gatefold")
_KIND_NOTES: dict[str, tuple[str, ...]] = {
    "orig": ("1st Press", "Orig", "ORIGINAL", "First Pressing", "OG", "1st Pressing"),
    "stereo": ("Stereo", "Orig Stereo", "1st Stereo"),
    "repress": ("Repress", "70s Press", "Later Press"),
    "club": ("Club Edition", "Record Club"),
    "reissue": ("Reissue", "80s Reissue", "RE"),
    "jp": ("Japan", "w/ OBI", "Japanese Press", "OBI", "Japan Import"),
    "cd": ("Remastered", "Club Edition"),
    "eucd": ("Remastered", "EU", "Import"),
    "cass": ("Chrome", "Dolby"),
    "modern": ("180g", "180 Gram", "Remastered", "Reissue", "Gatefold"),
    "audiophile": ("Audiophile", "180g", "45 RPM", "Numbered", "Limited"),
    "color": ("Colored Vinyl", "Limited", "RSD", "Color Vinyl"),
}
_FORMAT_WORDS = {
    "Vinyl": ("LP", "Vinyl LP", '12" LP', "VINYL", "Vinyl", "LP Record", "Record"),
    "Vinyl2": ("2xLP", "2LP", "Double LP", "2 LP"),
    "CD": ("CD", "Compact Disc", "CD Album"),
    "Cassette": ("Cassette", "Tape", "Cassette Tape", "MC"),
}
_SELLER_WORDS = (
    ("crate", "vinyl", "groove", "wax", "record", "spin", "dusty", "needle", "platter", "stereo"),
    ("digger", "vault", "merchant", "barn", "shack", "cellar", "den", "junkie", "hound", "cycle"),
)


@dataclass(frozen=True, slots=True)
class _Pressing:
    release_id: int
    master_id: int
    album: Album
    kind: str
    fmt: str
    qty: int
    year: int
    country: str
    label: str
    catno: str
    barcode: str | None
    descriptions: tuple[str, ...]
    popularity: float


@dataclass(frozen=True, slots=True)
class _Seller:
    username: str
    feedback_pct: str
    feedback_score: int
    country: str


@dataclass(frozen=True, slots=True)
class _Catalog:
    pressings: tuple[_Pressing, ...]
    suggestions: dict[int, Json]
    sellers: tuple[_Seller, ...]
    catnos: frozenset[str]
    barcodes: frozenset[str]
    left_out: tuple[Album, ...]


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
    _catalog: _Catalog | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SampleArrival:
    """One new listing from `arrivals_with_truth`, with what it really is."""

    item: Json
    release_id: int | None
    master_id: int | None
    is_deal: bool
    grade: str | None = None


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
    catalog = _build_catalog(random.Random(f"vd-catalog-{seed}-{releases}"), releases)
    release_dicts = [_release_json(p, catalog, seed) for p in catalog.pressings]
    rng = random.Random(f"vd-items-{seed}-{listings}")
    maker = _ItemMaker(catalog, rng)
    starts = sorted(now - timedelta(seconds=rng.uniform(60, 3 * 86400)) for _ in range(listings))
    counters = _IdCounters.fresh(rng)
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
    maker = _ItemMaker(market._catalog, rng)
    counters = _IdCounters.after(market.items)
    when = start
    while True:
        when += timedelta(hours=rng.expovariate(per_hour))
        created = when.replace(microsecond=0)
        yield maker.make(created, counters.next(rng), created)


# --- catalog ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Candidate:
    kind: str
    fmt: str
    year: int


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _digits(rng: random.Random, count: int) -> str:
    return str(rng.randrange(10 ** (count - 1), 10**count))


def _with_check_digit(body: str) -> str:
    """`body` (11 digits of a UPC-A or 12 of an EAN-13) with its check digit appended."""
    padded = body if len(body) == 12 else "0" + body
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(padded))
    return body + str((10 - total % 10) % 10)


def _split_catno(raw: str) -> tuple[str, str]:
    cat, _, stereo = raw.partition("|")
    return cat, stereo


def _main_number(cat: str) -> str:
    groups: list[str] = re.findall(r"\d+", cat)
    if not groups:
        return "0"
    longest = max(len(g) for g in groups)
    return [g for g in groups if len(g) == longest][-1]


def _derive(cat: str, lp_word: str, digit: str, prefix: str) -> str:
    """A label's usual CD or cassette catalog number built from the LP's."""
    if cat.lower() == "none":
        return cat
    if "LP" in cat:
        return cat.replace("LP", lp_word, 1)
    if re.search(r"-01$", cat):
        return cat[:-2] + "0" + digit
    if re.search(r"-1($|-)", cat):
        return re.sub(r"-1($|-)", rf"-{digit}\1", cat, count=1)
    if re.match(r"[A-Za-z]", cat):
        return prefix + cat
    return f"{cat}-{digit}"


def _kind_year(kind: str, year: int, rng: random.Random) -> int | None:
    if kind in ("orig", "stereo"):
        return year
    if kind == "repress":
        return year + rng.randint(1, 4) if year < 1976 else None
    if kind == "foreign":
        return year + rng.randint(0, 1)
    if kind == "club":
        return year + rng.randint(1, 3) if 1958 <= year <= 1988 else None
    if kind == "cd" and year >= 1985:
        return year
    if kind == "cass" and 1978 <= year <= 1996:
        return year
    windows = {
        "reissue": (max(year + 6, 1972), 1994),
        "jp": (max(year + 3, 1976), 1995),
        "cd": (max(year, 1985), 2003),
        "eucd": (max(year + 1, 1988), 2014),
        "cass": (max(year, 1978), 1996),
        "modern": (max(year + 3, 2008), 2024),
        "audiophile": (max(year + 5, 2010), 2024),
        "color": (max(year + 2, 2015), 2024),
    }
    low, high = windows[kind]
    return rng.randint(low, high) if low <= high else None


def _candidates(album: Album, rng: random.Random) -> list[_Candidate]:
    """Every pressing this album could have, original first, the rest in a random order."""
    family = FAMILIES[album.family]
    cat, stereo = _split_catno(album.catno)
    found = [_Candidate("orig", "Vinyl", album.year)]
    extras: list[tuple[float, _Candidate]] = []
    for kind in family:
        if kind == "orig":
            continue
        if kind == "stereo" and (not stereo or family[kind][1].replace("{m}", stereo) == cat):
            continue
        year = _kind_year(kind, album.year, rng)
        if year is None:
            continue
        fmt = _KIND_FORMAT.get(kind, "Vinyl")
        # Weighted random order (Efraimidis–Spirakis keys).
        extras.append((rng.random() ** (1.0 / _KIND_PREFERENCE[kind]), _Candidate(kind, fmt, year)))
    extras.sort(key=lambda pair: -pair[0])
    return found + [candidate for _, candidate in extras]


def _album_weight(album: Album, rng: random.Random) -> float:
    return (1.0 + 0.35 * album.tier) * rng.uniform(0.5, 1.8)


def _build_catalog(rng: random.Random, releases: int) -> _Catalog:
    albums = list(ALBUMS)
    if releases < len(albums):
        keep = set(rng.sample(range(len(albums)), releases))
        chosen = [a for i, a in enumerate(albums) if i in keep]
        left_out = tuple(a for i, a in enumerate(albums) if i not in keep)
    else:
        chosen, left_out = albums, ()
    plans = [_candidates(album, rng) for album in chosen]
    counts = [1] * len(chosen)
    capacity = sum(len(plan) for plan in plans)
    if releases > capacity:
        raise ValueError(
            f"the curated sample catalog makes at most {capacity} releases; "
            f"ask build_sample_market for releases <= {capacity}"
        )
    weights = [_album_weight(album, rng) for album in chosen]
    remaining = releases - len(chosen)
    while remaining > 0:
        open_ = [i for i in range(len(chosen)) if counts[i] < len(plans[i])]
        index = rng.choices(open_, weights=[weights[i] for i in open_])[0]
        counts[index] += 1
        remaining -= 1
    builder = _PressingBuilder(rng)
    pressings: list[_Pressing] = []
    for album, plan, count in zip(chosen, plans, counts, strict=True):
        master_id = builder.unique_master_id()
        for candidate in plan[:count]:
            pressings.append(builder.build(album, candidate, master_id))
    # What a VG+ first press of each album is worth; every other pressing is priced from it.
    first_press = {album: rng.uniform(*_TIER_PRICE[album.tier]) for album in chosen}
    suggestions = {p.release_id: _suggestions(p, first_press[p.album], rng) for p in pressings}
    return _Catalog(
        pressings=tuple(pressings),
        suggestions=suggestions,
        sellers=_sellers(rng),
        catnos=frozenset(builder.catno_owner),
        barcodes=frozenset(builder.barcodes),
        left_out=left_out,
    )


class _PressingBuilder:
    """Turns (album, pressing kind) into a `_Pressing` with unique ids, catnos and barcodes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.release_ids: set[int] = set()
        self.master_ids: set[int] = set()
        self.catno_owner: dict[str, int] = {}
        self.barcodes: set[str] = set()

    def unique_master_id(self) -> int:
        while True:
            master_id = self.rng.randint(8_000, 2_900_000)
            if master_id not in self.master_ids:
                self.master_ids.add(master_id)
                return master_id

    def _release_id(self, year: int, kind: str) -> int:
        while True:
            if kind in ("modern", "audiophile", "color") or year >= 2005:
                base = 1_000_000 + (year - 2005) * 1_500_000
                release_id = self.rng.randint(max(base - 700_000, 900_000), base + 700_000)
            elif kind in ("cd", "eucd", "cass"):
                release_id = self.rng.randint(300_000, 6_000_000)
            else:
                release_id = self.rng.randint(250_000, 9_000_000)
            if release_id not in self.release_ids:
                self.release_ids.add(release_id)
                return release_id

    def _values(self, album: Album, label: str, fmt: str) -> dict[str, str]:
        rng = self.rng
        cat, stereo = _split_catno(album.catno)
        number = _main_number(cat)
        second = stereo or number
        r5 = _digits(rng, 5)
        prefix = re.match(r"[A-Za-z]*", cat)
        return {
            "cat": cat,
            "n": number,
            "m": second,
            "pre": prefix.group(0) if prefix else "",
            "cat_cd": _derive(cat, "CD", "2", "CD"),
            "cat_mc": _derive(cat, "MC", "4", "TC"),
            "n5": number[-5:].zfill(5),
            "m5": second[-5:].zfill(5),
            "r2": _digits(rng, 2),
            "r3": _digits(rng, 3),
            "r4": _digits(rng, 4),
            "r5": r5,
            "r6": _digits(rng, 6),
            "r7": _digits(rng, 7),
            "r8": _digits(rng, 8),
            "pg": f"8{r5[:2]} {r5[2:]}",
            "p": r5,
            "f": _FORMAT_DIGIT[fmt],
            "lab5": f"{_crc(label) % 100000:05d}",
        }

    def build(self, album: Album, candidate: _Candidate, master_id: int) -> _Pressing:
        rng = self.rng
        kind = candidate.kind
        label_spec, cat_pattern, country_spec, barcode_pattern = FAMILIES[album.family][kind]
        label = label_spec or album.label
        country = country_spec or album.country
        catno = full = ""
        random_barcode = "{r" in barcode_pattern or "{p}" in barcode_pattern
        for _attempt in range(12):
            values = self._values(album, label, candidate.fmt)
            catno = cat_pattern.format_map(values)
            barcode = barcode_pattern.format_map(values) if barcode_pattern else ""
            if barcode and not (barcode.isdigit() and len(barcode) in (11, 12)):
                raise AssertionError(f"bad barcode pattern {barcode_pattern!r} for {album}")
            full = _with_check_digit(barcode) if barcode else ""
            key = normalize_catalog_no(catno)
            catno_free = key is None or self.catno_owner.get(key, master_id) == master_id
            barcode_free = full not in self.barcodes or not random_barcode
            if catno_free and barcode_free:
                break
        else:
            catno = f"{catno}-{_digits(rng, 3)}"
        if full in self.barcodes:
            full = ""
        key = normalize_catalog_no(catno)
        if key is not None:
            self.catno_owner.setdefault(key, master_id)
        vintage_vinyl = candidate.fmt != "CD" and candidate.year < 1980
        if full and not vintage_vinyl:
            self.barcodes.add(full)
        else:
            full = ""
        lp_qty = MULTI_DISC.get(album.title, 1)
        qty = lp_qty if candidate.fmt == "Vinyl" else max(1, lp_qty - 1)
        return _Pressing(
            release_id=self._release_id(candidate.year, kind),
            master_id=master_id,
            album=album,
            kind=kind,
            fmt=candidate.fmt,
            qty=qty,
            year=candidate.year,
            country=country,
            label=label,
            catno=catno,
            barcode=full or None,
            descriptions=_descriptions(album, candidate, rng),
            popularity=_KIND_POPULARITY[kind] * (1.0 + 0.4 * (5 - album.tier)),
        )


def _descriptions(album: Album, candidate: _Candidate, rng: random.Random) -> tuple[str, ...]:
    kind, year = candidate.kind, candidate.year
    if candidate.fmt != "Vinyl":
        extra = ["Reissue"] if year > album.year + 1 else []
        if extra and candidate.fmt == "CD" and rng.random() < 0.5:
            extra.append("Remastered")
        return ("Album", *extra)
    words = ["LP", "Album"]
    has_stereo = bool(_split_catno(album.catno)[1]) and "stereo" in FAMILIES[album.family]
    if kind == "orig" and album.year < 1968:
        words += ["Mono"] if has_stereo or album.year < 1958 else []
    elif kind == "stereo" or (kind == "orig" and album.year < 1975):
        words.append("Stereo")
    words += {
        "repress": ["Repress"],
        "club": ["Club Edition"],
        "reissue": ["Reissue"],
        "jp": ["Reissue"],
        "modern": ["Reissue", "Remastered", "180 Gram"],
        "audiophile": ["Reissue", "Remastered", "Stereo", "180 Gram", "Limited Edition"],
        "color": ["Limited Edition", "Reissue"],
    }.get(kind, [])
    if kind in ("modern", "audiophile") and rng.random() < 0.4:
        words.append("Gatefold")
    return tuple(words)


def _suggestions(pressing: _Pressing, first_press: float, rng: random.Random) -> Json:
    """Discogs price suggestions (USD) for a pressing; empty for the few unpriced ones.

    `first_press` is the VG+ value of the album's original pressing.
    """
    if rng.random() < 0.03:
        return {}
    kind, album = pressing.kind, pressing.album
    if kind in _KIND_FLAT_PRICE:
        low, high = _KIND_FLAT_PRICE[kind]
        vg_plus = rng.uniform(low, high) * (1.5 if album.tier >= 4 and kind == "cd" else 1.0)
    else:
        factor_low, factor_high = _KIND_FACTOR[kind]
        vg_plus = first_press * rng.uniform(factor_low, factor_high)
        vg_plus = max(10.0, min(vg_plus, _KIND_PRICE_CAP.get(kind, vg_plus)))
    modern = kind in _KIND_FLAT_PRICE or pressing.year >= 2000
    curve = _MODERN_CURVE if modern else _VINTAGE_CURVE
    return {
        grade: {"currency": "USD", "value": round(vg_plus * ratio * rng.uniform(0.985, 1.015), 6)}
        for grade, ratio in zip(GRADES, curve, strict=True)
    }


def _sellers(rng: random.Random) -> tuple[_Seller, ...]:
    sellers: list[_Seller] = []
    names: set[str] = set()
    while len(sellers) < 160:
        first, second = rng.choice(_SELLER_WORDS[0]), rng.choice(_SELLER_WORDS[1])
        style = rng.randint(0, 4)
        if style == 0:
            name = f"{first}_{second}_{rng.randint(1, 99)}"
        elif style == 1:
            name = f"{first}{second}{rng.randint(1960, 2005)}"
        elif style == 2:
            name = f"{first}-{second}-{rng.choice(('nyc', 'la', 'uk', 'de', 'records', 'shop'))}"
        elif style == 3:
            name = f"{first}.{second}.records"
        else:
            name = f"{first}{second}"
        if name in names:
            continue
        names.add(name)
        roll = rng.random()
        if roll < 0.3:
            pct = "100.0"
        elif roll < 0.8:
            pct = f"{rng.uniform(99.0, 99.9):.1f}"
        elif roll < 0.95:
            pct = f"{rng.uniform(97.0, 98.9):.1f}"
        else:
            pct = f"{rng.uniform(88.0, 96.9):.1f}"
        score = int(math.exp(rng.uniform(1.0, 11.0)))
        country = rng.choices(_COUNTRY_CODES, weights=_COUNTRY_WEIGHTS)[0]
        sellers.append(_Seller(name, pct, score, country))
    for code in _COUNTRY_CODES:  # every country needs at least a few sellers
        for i in range(3):
            sellers.append(_Seller(f"{code.lower()}_records_{i + 1}", "99.8", 1500 + i, code))
    return tuple(sellers)


# --- release JSON ------------------------------------------------------------------------------


def _artists(spec: str) -> list[tuple[str, str, str]]:
    """(name, anv, join) for each artist of an album row's artist spec."""
    parts = spec.split("|")
    names, joins = parts[0::2], [*parts[1::2], ""]
    result = []
    for raw, join in zip(names, joins, strict=True):
        name, _, anv = raw.partition("=")
        result.append((name, anv, join))
    return result


def _artist_id(name: str) -> int:
    return 194 if name == "Various" else 10_000 + _crc(name) % 2_900_000


def _label_json(name: str, catno: str) -> Json:
    label_id = 1_000 + _crc(name) % 1_800_000
    return {
        "name": name,
        "catno": catno,
        "entity_type": "1",
        "entity_type_name": "Label",
        "id": label_id,
        "resource_url": f"https://api.discogs.com/labels/{label_id}",
    }


def _artists_sort(credits: list[tuple[str, str, str]]) -> str:
    text = ""
    for index, (name, anv, join) in enumerate(credits):
        shown = f"{anv}*" if anv else name
        if index == 0 and shown.startswith("The ") and len(credits) == 1:
            shown = f"{shown[4:]}, The"
        text += shown
        if join:
            text += ", " if join == "," else f" {join} "
    return text


def _format_barcode(digits: str, rng: random.Random) -> str:
    roll = rng.random()
    if len(digits) == 12:
        if roll < 0.4:
            return f"{digits[0]} {digits[1:5]}-{digits[5:10]}-{digits[10]} {digits[11]}"
        if roll < 0.7:
            return f"{digits[0]} {digits[1:6]} {digits[6:11]} {digits[11]}"
        return digits
    if roll < 0.5:
        return f"{digits[0]} {digits[1:7]} {digits[7:]}"
    return digits


def _identifiers(p: _Pressing, rng: random.Random) -> list[Json]:
    found: list[Json] = []
    if p.barcode:
        shown = _format_barcode(p.barcode, rng)
        found.append({"type": "Barcode", "value": shown})
        if shown != p.barcode and rng.random() < 0.3:
            found.append({"type": "Barcode", "description": "Scanned", "value": p.barcode})
    compact = re.sub(r"\s+", "", p.catno) if p.catno.lower() != "none" else "XX"
    if p.fmt == "Vinyl":
        tail = rng.choice(("", " 1", " RVG", " STERLING", " MASTERDISK", " Porky", " TML-M"))
        for side in "AB"[: 1 + (rng.random() < 0.9)]:
            found.append(
                {
                    "type": "Matrix / Runout",
                    "description": f"Side {side} runout, etched",
                    "value": f"{compact}-{side}{rng.randint(1, 3)}{tail}",
                }
            )
    elif p.fmt == "CD":
        found.append(
            {"type": "Matrix / Runout", "value": f"{compact} {rng.randint(1, 9):02d} % DADC"}
        )
        found.append({"type": "SPARS Code", "value": rng.choice(("AAD", "ADD", "DDD"))})
    if p.country in ("Germany", "Europe", "UK") and p.year >= 1977:
        found.append({"type": "Label Code", "value": f"LC {_crc(p.label) % 9000 + 100:04d}"})
    if rng.random() < 0.4:
        society = "GEMA" if p.country in ("Germany", "Europe") else rng.choice(("BMI", "ASCAP"))
        found.append({"type": "Rights Society", "value": society})
    return found


def _released(year: int, rng: random.Random) -> tuple[str, str]:
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    roll = rng.random()
    if roll < 0.35:
        return str(year), str(year)
    month = rng.randint(1, 12)
    if roll < 0.6:
        return f"{year}-{month:02d}-00", f"{months[month - 1]} {year}"
    day = rng.randint(1, 28)
    return f"{year}-{month:02d}-{day:02d}", f"{day:02d} {months[month - 1]} {year}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", _ascii(text)).strip("-")


def _release_json(p: _Pressing, catalog: _Catalog, seed: int) -> Json:
    rng = random.Random(f"vd-release-{seed}-{p.release_id}")
    album = p.album
    credits = _artists(album.artists)
    labels = [_label_json(p.label, p.catno)]
    if p.kind == "jp":
        labels.append(_label_json(rng.choice(_JAPAN_PRESSERS), p.catno))
    elif p.kind in ("modern", "audiophile") and rng.random() < 0.25:
        labels.append(_label_json(rng.choice(_DISTRIBUTORS), "none"))
    elif " " in p.catno and rng.random() < 0.08:
        labels.append(_label_json(p.label, p.catno.replace(" ", "")))
    fmt: Json = {"name": p.fmt, "qty": str(p.qty), "descriptions": list(p.descriptions)}
    if p.kind == "color":
        fmt["text"] = rng.choice(_COLORS)
    released, released_formatted = _released(p.year, rng)
    suggestions = catalog.suggestions.get(p.release_id) or {}
    priced = bool(suggestions)
    vg_plus = suggestions["Very Good Plus (VG+)"]["value"] if priced else 0.0
    old = p.year < 1990 and p.kind not in _KIND_FLAT_PRICE
    have = int(math.exp(rng.uniform(4.0, 9.5)))
    want = int(
        have * rng.uniform(0.8, 3.0) if old and album.tier >= 4 else have * rng.uniform(0.1, 0.9)
    )
    plants = _PLANTS.get(p.country, _PLANTS["US"])
    title_slug = _slug(f"{strip_disambiguation(credits[0][0])} {album.title}")
    return {
        "id": p.release_id,
        "status": "Accepted",
        "year": p.year,
        "resource_url": f"https://api.discogs.com/releases/{p.release_id}",
        "uri": f"https://www.discogs.com/release/{p.release_id}-{title_slug}",
        "artists": [
            {
                "name": name,
                "anv": anv,
                "join": join,
                "role": "",
                "tracks": "",
                "id": _artist_id(name),
                "resource_url": f"https://api.discogs.com/artists/{_artist_id(name)}",
            }
            for name, anv, join in credits
        ],
        "artists_sort": _artists_sort(credits),
        "labels": labels,
        "series": [],
        "companies": [
            {
                "name": rng.choice(plants),
                "catno": "",
                "entity_type": "17",
                "entity_type_name": "Pressed By",
                "id": 2_000 + _crc(p.country) % 90_000,
                "resource_url": "https://api.discogs.com/labels/2000",
            }
        ]
        if rng.random() < 0.5
        else [],
        "formats": [fmt],
        "format_quantity": p.qty,
        "data_quality": rng.choice(("Correct", "Correct", "Needs Vote", "Needs Minor Changes")),
        "community": {
            "have": have,
            "want": want,
            "rating": {"average": round(rng.uniform(3.8, 4.9), 2), "count": max(1, have // 12)},
            "status": "Accepted",
            "data_quality": "Correct",
        },
        "master_id": p.master_id,
        "master_url": f"https://api.discogs.com/masters/{p.master_id}",
        "title": album.title,
        "country": p.country,
        "released": released,
        "released_formatted": released_formatted,
        "notes": "",
        "identifiers": _identifiers(p, rng),
        "genres": [album.genre],
        "styles": album.styles.split(", "),
        "extraartists": [],
        "images": [],
        "thumb": "",
        "lowest_price": round(vg_plus * rng.uniform(0.45, 1.1), 2) if priced else None,
        "num_for_sale": rng.randint(1, 250) if priced else 0,
        "tracklist": [],
        "videos": [],
    }


# --- listings ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _ascii(text: str) -> str:
    """`"Motörhead"` → `"Motorhead"`: sellers rarely type accents."""
    decomposed = unicodedata.normalize("NFKD", text.replace("•", " "))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("  ", " ")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _money(value: float, currency: str) -> Json:
    return {"value": f"{value:.2f}", "currency": currency}


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    word = words[i]
    j = rng.randint(1, len(word) - 3)
    if rng.random() < 0.5:
        words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    else:
        words[i] = word[:j] + word[j + 1 :]
    return " ".join(words)


@dataclass(slots=True)
class _IdCounters:
    """Legacy item ids in a few increasing series, as eBay's look."""

    series: dict[str, int]

    @classmethod
    def fresh(cls, rng: random.Random) -> _IdCounters:
        return cls({p: rng.randint(10**10, 5 * 10**10) for p in ("1", "2", "3", "4")})

    @classmethod
    def after(cls, items: list[Json]) -> _IdCounters:
        series = dict.fromkeys(("1", "2", "3", "4"), 10**10)
        for item in items:
            legacy = str(item["legacyItemId"])
            if legacy[0] in series and len(legacy) == 12:
                series[legacy[0]] = max(series[legacy[0]], int(legacy[1:]))
        return cls(series)

    def next(self, rng: random.Random) -> str:
        prefix = rng.choice(("1", "2", "3", "4"))
        self.series[prefix] += rng.randint(1, 40_000)
        return f"{prefix}{self.series[prefix]:011d}"


@dataclass(slots=True)
class _Token:
    text: str
    keep: int  # 0 = essential; a higher number is dropped earlier when the title is too long


class _ItemMaker:
    """Makes one eBay item (with its truth) at a time."""

    def __init__(self, catalog: _Catalog, rng: random.Random) -> None:
        self.catalog = catalog
        self.rng = rng
        self.pressings = catalog.pressings
        self.weights = list(itertools.accumulate(p.popularity for p in catalog.pressings))
        self.sellers = {c: [s for s in catalog.sellers if s.country == c] for c in _COUNTRY_CODES}
        dealable = [
            p
            for p in catalog.pressings
            if catalog.suggestions.get(p.release_id)
            and catalog.suggestions[p.release_id]["Very Good Plus (VG+)"]["value"] >= 15
        ]
        self.dealable = dealable or list(catalog.pressings)
        self.deal_weights = list(itertools.accumulate(p.popularity for p in self.dealable))
        self.in_catalog = {(a.artists, a.title) for a in (p.album for p in catalog.pressings)}
        self.albums = sorted({p.album for p in catalog.pressings}, key=lambda a: a.title)

    # .. the shared parts of a listing ..........................................................

    def make(self, created: datetime, legacy: str, now: datetime) -> SampleArrival:
        rng = self.rng
        if rng.random() < 0.25:
            item = self._decoy(created, legacy, now)
            return SampleArrival(item, None, None, False)
        is_deal = rng.random() < 0.135
        if is_deal:
            # A bargain worth an alert: a grade of VG or better and a reference of $12 or more.
            for _attempt in range(50):
                pressing = rng.choices(self.dealable, cum_weights=self.deal_weights)[0]
                new, grade = self._condition(pressing, deal=True)
                reference = self.catalog.suggestions[pressing.release_id][GRADES[grade]]
                if reference["value"] >= 12:
                    break
        else:
            pressing = rng.choices(self.pressings, cum_weights=self.weights)[0]
            new, grade = self._condition(pressing, deal=False)
        item = self._matched(pressing, is_deal, new, grade, created, legacy, now)
        return SampleArrival(item, pressing.release_id, pressing.master_id, is_deal, GRADES[grade])

    def _condition(self, p: _Pressing, *, deal: bool) -> tuple[bool, int]:
        """(sealed/new?, media grade index into GRADES) for a listing of `p`."""
        rng = self.rng
        modern = p.kind in ("modern", "audiophile", "color") or p.year >= 2000
        new_chance = 0.45 if modern and p.fmt == "Vinyl" else 0.2 if p.fmt != "Vinyl" else 0.02
        if rng.random() < new_chance:
            return True, 0
        if p.fmt != "Vinyl":
            return False, rng.choices((1, 2, 3), weights=(35, 45, 20))[0]
        if deal:
            return False, rng.choices((1, 2, 3), weights=(17, 43, 25))[0]
        return False, rng.choices((1, 2, 3, 4, 5), weights=(17, 43, 25, 10, 5))[0]

    def _seller(self, country: str, *, reputable: bool) -> _Seller:
        pool = self.sellers[country]
        if reputable:
            pool = [s for s in pool if float(s.feedback_pct) >= 98.0 and s.feedback_score >= 10]
        return self.rng.choice(pool)

    def _location(self, country: str) -> Json:
        rng = self.rng
        postal = {
            "US": f"{rng.randint(10, 99)}{rng.randint(0, 9)}**",
            "GB": rng.choice(("N16 ***", "SW1A ***", "M4 ***", "BS1 ***", "EH1 ***", "LS6 ***")),
            "DE": f"{rng.randint(10, 99)}***",
            "CA": rng.choice(("M5V ***", "H2X ***", "V6B ***")),
            "JP": f"{rng.randint(100, 990)}-****",
        }[country]
        return {"postalCode": postal, "country": country}

    def _shell(
        self,
        *,
        legacy: str,
        title: str,
        fmt: str,
        created: datetime,
        now: datetime,
        country: str,
        currency: str,
        price_usd: float,
        shipping_usd: float | None,
        shipping_type: str | None,
        new: bool,
        auction: bool,
        round_up: bool,
    ) -> Json:
        """Everything but the detail-only fields. Money is converted from USD to `currency`."""
        rng = self.rng
        rate = _FX_FROM_USD[currency]
        price = _round_price(price_usd * rate, up=round_up, rng=rng)
        seller = self._seller(country, reputable=not round_up)
        category_id, category_name = CATEGORIES[fmt]
        item: Json = {
            "itemId": f"v1|{legacy}|0",
            "legacyItemId": legacy,
            "title": title,
            "price": _money(price, currency),
        }
        if currency != "USD" and country in ("CA", "JP"):
            # eBay US shows these converted to dollars, with the original amount beside.
            item["price"] = {
                **_money(price / rate, "USD"),
                "convertedFromValue": f"{price:.2f}",
                "convertedFromCurrency": currency,
            }
            currency, rate = "USD", 1.0
        if shipping_type == "FIXED" and shipping_usd is not None:
            cost = round(shipping_usd * rate, 2)
            item["shippingOptions"] = [
                {"shippingCostType": "FIXED", "shippingCost": _money(cost, currency)}
            ]
        elif shipping_type == "CALCULATED":
            item["shippingOptions"] = [{"shippingCostType": "CALCULATED"}]
        item["condition"], item["conditionId"] = ("New", "1000") if new else ("Used", "3000")
        if auction:
            item["buyingOptions"] = ["AUCTION"]
            item["currentBidPrice"] = dict(item["price"])
            item["bidCount"] = rng.randint(0, 3) if round_up is False else rng.randint(0, 24)
            days = rng.choice((3, 5, 7, 10))
            end = created + timedelta(days=days)
            if end <= now:
                end = now + timedelta(hours=rng.uniform(1, 96))
            item["itemEndDate"] = _iso(end)
        elif rng.random() < 0.2:
            item["buyingOptions"] = ["FIXED_PRICE", "BEST_OFFER"]
        else:
            item["buyingOptions"] = ["FIXED_PRICE"]
        item["seller"] = {
            "username": seller.username,
            "feedbackPercentage": seller.feedback_pct,
            "feedbackScore": seller.feedback_score,
        }
        item["itemWebUrl"] = f"https://www.ebay.com/itm/{legacy}"
        if rng.random() < 0.97:
            bits = rng.getrandbits(96)
            token = "".join(_IMAGE_ALPHABET[(bits >> (6 * i)) & 63] for i in range(16))
            item["image"] = {"imageUrl": f"https://i.ebayimg.com/images/g/{token}/s-l225.jpg"}
        item["itemLocation"] = self._location(country)
        item["categories"] = [
            {"categoryId": category_id, "categoryName": category_name},
            {"categoryId": "11233", "categoryName": "Music"},
        ]
        item["leafCategoryIds"] = [category_id]
        item["itemCreationDate"] = _iso(created)
        item["itemOriginDate"] = _iso(created)
        item["listingMarketplaceId"] = _MARKETPLACE.get(country, "EBAY_US")
        item["categoryId"] = category_id
        item["categoryPath"] = f"Music|{category_name}"
        return item

    def _place(self, *, deal: bool) -> tuple[str, str]:
        """(item location country, listing currency)."""
        rng = self.rng
        if deal:
            return "US", "USD"
        country = rng.choices(_COUNTRY_CODES, weights=_COUNTRY_WEIGHTS)[0]
        if country == "US":
            return country, "USD"
        if country in ("GB", "DE"):
            return country, _LOCAL_CURRENCY[country] if rng.random() < 0.7 else "USD"
        return country, _LOCAL_CURRENCY[country]

    def _shipping(self, country: str, *, deal: bool) -> tuple[str | None, float | None]:
        rng = self.rng
        roll = rng.random()
        if deal:
            return ("FIXED", 0.0) if roll < 0.25 else ("FIXED", rng.uniform(3.5, 6.5))
        if country != "US":
            return ("FIXED", rng.uniform(12, 28)) if roll < 0.85 else ("CALCULATED", None)
        if roll < 0.65:
            return "FIXED", rng.uniform(3.5, 7.99)
        if roll < 0.80:
            return "FIXED", 0.0
        if roll < 0.92:
            return "CALCULATED", None
        return None, None

    # .. listings of catalog releases ...........................................................

    def _matched(
        self,
        p: _Pressing,
        is_deal: bool,
        new: bool,
        grade: int,
        created: datetime,
        legacy: str,
        now: datetime,
    ) -> Json:
        """A listing of pressing `p` in media grade `grade` (an index into GRADES)."""
        rng = self.rng
        stated = (
            "title" if new or is_deal else rng.choices(("title", "aspect", "none"), (75, 10, 15))[0]
        )
        suggestions = self.catalog.suggestions.get(p.release_id) or {}
        country, currency = self._place(deal=is_deal)
        shipping_type, shipping = self._shipping(country, deal=is_deal)
        if suggestions:
            if stated == "none":
                reference = max(
                    suggestions[GRADES[grade]]["value"], suggestions[GRADES[1]]["value"]
                )
            else:
                reference = suggestions[GRADES[grade]]["value"]
            if is_deal:
                total = reference * rng.uniform(0.30, 0.62)
            elif rng.random() < 0.12:
                total = reference * rng.uniform(1.45, 2.6)
            else:
                total = reference * rng.uniform(0.92, 1.3)
        else:
            total = rng.uniform(12, 60)
        ship = shipping or 0.0
        if total - ship < 1.0:
            if is_deal:
                shipping, ship = 0.0, 0.0
            else:
                total = ship + rng.uniform(2.0, 6.0)
        auction = rng.random() < 0.15
        title = self._title(p, grade, stated == "title", is_deal, rng.random())
        item = self._shell(
            legacy=legacy,
            title=title,
            fmt=p.fmt,
            created=created,
            now=now,
            country=country,
            currency=currency,
            price_usd=total - ship,
            shipping_usd=shipping,
            shipping_type=shipping_type,
            new=new,
            auction=auction,
            round_up=not is_deal,
        )
        self._details(item, p, grade, new, stated, title)
        return item

    def _title(self, p: _Pressing, grade: int, show_grade: bool, deal: bool, mode: float) -> str:
        rng = self.rng
        album = p.album
        cat_in_title = mode < 0.46 and p.catno.lower() != "none"
        artist = self._artist_text(album)
        title = self._title_text(album)
        tokens: list[_Token] = []
        if rng.random() < 0.15:
            tokens.append(_Token(rng.choice(_HYPE), 7))
        fmt_words = _FORMAT_WORDS["Vinyl2" if p.fmt == "Vinyl" and p.qty > 1 else p.fmt]
        fmt_token = _Token(rng.choice(fmt_words), 2)
        label = _Token(strip_disambiguation(p.label).replace(" Records", ""), 4)
        year = _Token(str(album.year if rng.random() < 0.7 else p.year), 3)
        notes = self._notes(p)
        catno = _Token(self._catno_text(p.catno), 0) if cat_in_title else None
        grade_token = (
            _Token(rng.choice(_GRADE_WORDS[grade]), 0 if deal else 1) if show_grade else None
        )
        layout = rng.randint(0, 5)
        body: list[_Token | None]
        if layout == 0:
            body = [
                _Token(artist, 0),
                _Token(title, 0),
                fmt_token,
                label,
                catno,
                *notes,
                grade_token,
            ]
        elif layout == 1:
            body = [_Token(f"{artist} - {title}".upper(), 0), year, *notes, catno, grade_token]
        elif layout == 2:
            body = [
                _Token(f"{artist} - {title}", 0),
                _Token(f"({year.text})", 3),
                fmt_token,
                catno,
                grade_token,
            ]
        elif layout == 3:
            body = [_Token(f"{title} by {artist}", 0), fmt_token, *notes, catno, grade_token]
        elif layout == 4:
            body = [
                fmt_token,
                _Token(artist, 0),
                _Token(title, 0),
                label,
                year,
                catno,
                *notes,
                grade_token,
            ]
        else:
            body = [_Token(artist, 0), _Token(title, 0), catno, grade_token]
        tokens += [t for t in body if t is not None and t.text]
        if rng.random() < 0.2:
            tokens.append(_Token(rng.choice(_EXTRAS), 6))
        text = _fit(tokens)
        case = rng.random()
        if case < 0.2:
            text = text.upper()
        elif case < 0.24:
            text = text.lower()
        return text

    def _notes(self, p: _Pressing) -> list[_Token]:
        rng = self.rng
        pool = list(_KIND_NOTES.get(p.kind, ()))
        if p.kind in ("orig", "stereo"):
            pool += LABEL_NOTES.get(p.label, ())
            pool += [d for d in p.descriptions if d in ("Mono", "Stereo")]
        if p.kind == "foreign":
            pool.append(rng.choice((f"{p.country} Press", p.country)))
        if p.kind == "color":
            pool.append("Colored")
        count = rng.choices((0, 1, 2), weights=(35, 45, 20))[0]
        picked = rng.sample(pool, min(count, len(pool))) if pool else []
        return [_Token(word, 5) for word in picked]

    def _catno_text(self, catno: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.55:
            return catno
        if roll < 0.7:
            return catno.replace(" ", "")
        if roll < 0.85:
            return catno.replace(" ", "-")
        if roll < 0.9:
            return catno.lower()
        return f"Cat# {catno}"

    def _artist_text(self, album: Album) -> str:
        rng = self.rng
        credits = _artists(album.artists)
        names = [strip_disambiguation(anv or name) for name, anv, _ in credits]
        if names == ["Various"]:
            return rng.choice(("Various Artists", "Soundtrack", "OST", "VA"))
        if len(names) > 1:
            roll = rng.random()
            if roll < 0.45:
                text = ""
                for name, (_, _, join) in zip(names, credits, strict=True):
                    shown_join = {",": ", ", "-": " ", "/": " / ", "And": " and "}.get(
                        join, f" {join} "
                    )
                    text += name + (shown_join if join else "")
            elif roll < 0.75:
                text = names[0]
            else:
                text = " ".join(names[1:2])
        else:
            text = names[0]
        if text.startswith("The ") and rng.random() < 0.2:
            text = text[4:]
        if "&" in text and rng.random() < 0.15:
            text = text.replace("&", "and")
        if rng.random() < 0.7:
            text = _ascii(text)
        if album.genre == "Jazz" and " " in text and "&" not in text and rng.random() < 0.04:
            text = text.split(" ")[-1]
        return text

    def _title_text(self, album: Album) -> str:
        rng = self.rng
        text = album.title
        aliases = TITLE_ALIASES.get(text)
        if aliases and rng.random() < 0.4:
            text = rng.choice(aliases)
        if rng.random() < 0.3:
            text = text.replace("'", "")
        if rng.random() < 0.7:
            text = _ascii(text)
        if "&" in text and rng.random() < 0.1:
            text = text.replace("&", "and")
        if rng.random() < 0.15:
            text = re.sub(r"[!?():.]", "", text).strip()
        if rng.random() < 0.05:
            text = _typo(text, rng)
        return text

    def _details(
        self, item: Json, p: _Pressing, grade: int, new: bool, stated: str, title: str
    ) -> None:
        """The detail-only fields: item specifics (about 40% of items), gtin, mpn, description."""
        rng = self.rng
        cat_in_title = normalize_catalog_no(p.catno) is not None and _has_catno(title, p.catno)
        specifics_only = not cat_in_title and rng.random() < 0.38
        with_aspects = specifics_only or stated == "aspect" or rng.random() < 0.22
        album = p.album
        if with_aspects:
            aspects: list[tuple[str, str]] = [
                ("Artist", strip_disambiguation(_artists(album.artists)[0][0])),
                ("Release Title", album.title),
                ("Record Label", strip_disambiguation(p.label)),
                ("Format", {"Vinyl": "Record", "CD": "CD", "Cassette": "Cassette"}[p.fmt]),
            ]
            if (specifics_only or cat_in_title) and p.catno.lower() != "none":
                aspects.append(("Catalog Number", p.catno))
            if p.barcode and rng.random() < 0.6:
                aspects.append(("UPC", p.barcode))
            aspects.append(("Release Year", str(p.year)))
            aspects.append(("Genre", album.genre))
            if p.fmt == "Vinyl":
                aspects += [("Record Size", '12"'), ("Speed", "33 RPM")]
                if not new and stated != "none":
                    aspects.append(("Record Grading", _ASPECT_GRADES[grade]))
                    sleeve = min(5, grade + rng.choice((0, 0, 1)))
                    aspects.append(("Sleeve Grading", _ASPECT_GRADES[sleeve]))
            if "Reissue" in p.descriptions:
                aspects.append(("Edition", "Reissue"))
            elif p.kind == "orig":
                aspects.append(("Edition", "First Edition"))
            item["localizedAspects"] = [
                {"type": "STRING", "name": name, "value": value} for name, value in aspects
            ]
            if (
                rng.random() < 0.3
                and p.catno.lower() != "none"
                and (specifics_only or cat_in_title)
            ):
                item["mpn"] = p.catno
        if p.barcode and (
            (with_aspects and rng.random() < 0.6) or (p.fmt == "CD" and rng.random() < 0.25)
        ):
            item["gtin"] = p.barcode
        if rng.random() < 0.6:
            media = "sealed" if new else _ASPECT_GRADES[grade]
            item["shortDescription"] = (
                f"{strip_disambiguation(_artists(album.artists)[0][0])} – {album.title}. "
                f"{p.fmt}, {p.country} {p.year}. Media: {media}. Ships in a sturdy mailer."
            )

    # .. decoys ..................................................................................

    def _decoy(self, created: datetime, legacy: str, now: datetime) -> Json:
        rng = self.rng
        roll = rng.random()
        fmt = "Vinyl"
        new = rng.random() < 0.3
        aspects: list[tuple[str, str]] = []
        if roll < 0.30:
            pool = list(UNKNOWN_ALBUMS) + [
                (strip_disambiguation(_artists(a.artists)[0][0]), a.title, a.year, a.label)
                for a in self.catalog.left_out
            ]
            artist, title, year, label = rng.choice(pool)
            fmt = rng.choices(("Vinyl", "CD", "Cassette"), (70, 22, 8))[0]
            text, price = self._record_title(artist, title, year, label, fmt), rng.uniform(12, 60)
            aspects = [("Artist", artist), ("Release Title", title), ("Record Label", label)]
        elif roll < 0.50:
            artist, title, year, label = rng.choice(OFF_CATALOG)
            fmt = rng.choices(("Vinyl", "CD"), (80, 20))[0]
            text, price = self._record_title(artist, title, year, label, fmt), rng.uniform(15, 90)
            aspects = [("Artist", artist), ("Release Title", title), ("Record Label", label)]
        elif roll < 0.65:
            text, fmt, price = self._tribute()
        elif roll < 0.90:
            text, price = self._merch()
        else:
            text, price = rng.choice(NOT_RECORDS), rng.uniform(15, 450)
        if rng.random() < 0.1:
            text = f"{rng.choice(_HYPE)} {text}"
        text = _fit([_Token(word, 0) for word in [text]])
        country, currency = self._place(deal=False)
        shipping_type, shipping = self._shipping(country, deal=False)
        item = self._shell(
            legacy=legacy,
            title=text,
            fmt=fmt,
            created=created,
            now=now,
            country=country,
            currency=currency,
            price_usd=price,
            shipping_usd=shipping,
            shipping_type=shipping_type,
            new=new,
            auction=rng.random() < 0.15,
            round_up=True,
        )
        if aspects and rng.random() < 0.35:
            item["localizedAspects"] = [
                {"type": "STRING", "name": name, "value": value} for name, value in aspects
            ]
        return item

    def _record_title(self, artist: str, title: str, year: int, label: str, fmt: str) -> str:
        """A seller's title for a real record the catalog does not hold."""
        rng = self.rng
        if rng.random() < 0.7:
            artist, title = _ascii(artist), _ascii(title)
        tokens = [
            _Token(artist, 0),
            _Token(title, 0),
            _Token(rng.choice(_FORMAT_WORDS[fmt]), 2),
            _Token(label, 4) if rng.random() < 0.4 else None,
            _Token(str(year), 3) if rng.random() < 0.5 else None,
            _Token(rng.choice(_GRADE_WORDS[rng.randint(1, 3)]), 1) if rng.random() < 0.7 else None,
        ]
        if rng.random() < 0.15:
            tokens.append(_Token(self._invented_catno(), 0))
        text = _fit([t for t in tokens if t is not None])
        return text.upper() if rng.random() < 0.2 else text

    def _invented_catno(self) -> str:
        """A plausible catalog number that no catalog release carries."""
        rng = self.rng
        while True:
            catno = (
                f"{rng.choice(('CLP', 'LPX', 'SRL', 'MRG', 'DOM', 'JAG'))}-{rng.randint(100, 9999)}"
            )
            key = normalize_catalog_no(catno)
            if key is not None and key not in self.catalog.catnos:
                return catno

    def _tribute(self) -> tuple[str, str, float]:
        rng = self.rng
        album = rng.choice(self.albums)
        while album.artists == "Various":
            album = rng.choice(self.albums)
        artist = _ascii(strip_disambiguation(_artists(album.artists)[0][0]))
        title = _ascii(album.title)
        performer = rng.choice(TRIBUTE_PERFORMERS)
        fmt = rng.choices(("Vinyl", "CD"), (55, 45))[0]
        word = "LP" if fmt == "Vinyl" else "CD"
        text = rng.choice(
            (
                f"A Tribute To {artist} - {title} Revisited Various Artists {word}",
                f"The Music Of {artist} Performed By {performer} {word}",
                f"{performer} Performs {artist} {title} {word}",
                f"Rockabye Baby! Lullaby Renditions Of {artist} {word} New",
                f"{title} - {artist} Tribute Band Live {word}",
                f"Jazz Plays {artist} Vol. 2 {word} Various",
                f"{title} Redux Tribute {artist} Various {word}",
            )
        )
        return _shorten_title(text, album.title), fmt, rng.uniform(9, 35)

    def _merch(self) -> tuple[str, float]:
        rng = self.rng
        album = rng.choice(self.albums)
        artist = _ascii(strip_disambiguation(_artists(album.artists)[0][0]))
        if artist == "Various":
            artist = "OST"
        title = _ascii(album.title)
        catno = album.catno.partition("|")[0]
        kinds = (
            (f"{artist} {title} Poster 24x36 Reprint", 8, 30),
            (f"{artist} - {title} T-Shirt Size L Black Vintage Tee", 15, 45),
            (f"{artist} {title} Slipmat Turntable Felt Mat", 8, 20),
            (f"{artist} {title} EMPTY SLEEVE ONLY No Record", 5, 40),
            (f"{artist} {title} EMPTY Jacket Only {catno} No Vinyl", 5, 40),
            (f"{title} {artist} Framed Album Cover Art Print 12x12", 20, 60),
            (f"{artist}: {title} 33 1/3 Book Series Paperback", 8, 16),
            (f"{artist} {title} Promo Flat Poster 12x12 Record Store", 15, 80),
            (f"{artist} {title} Sheet Music Songbook Piano Vocal", 8, 25),
            (f"{artist} Tour Program Book {album.year + 1} Concert", 10, 60),
        )
        text, low, high = rng.choice(kinds)
        return _shorten_title(text, album.title), rng.uniform(low, high)


def _shorten_title(text: str, title: str, limit: int = 80) -> str:
    """`text` within `limit` characters by shortening the album `title` inside it, not the rest."""
    shown = _ascii(title)
    if len(text) <= limit or shown not in text:
        return text
    for alias in TITLE_ALIASES.get(title, ()):
        shorter = text.replace(shown, _ascii(alias))
        if len(shorter) <= limit:
            return shorter
    words = shown.split(" ")
    while len(words) > 1 and len(text.replace(shown, " ".join(words))) > limit:
        words.pop()
    return text.replace(shown, " ".join(words))


def _has_catno(title: str, catno: str) -> bool:
    key = normalize_catalog_no(catno)
    squeezed = re.sub(r"[\s\-_./:·#]+", "", title.upper())
    return key is not None and key in squeezed


def _fit(tokens: list[_Token], limit: int = 80) -> str:
    """Join tokens into a title of at most `limit` characters, dropping the least important."""
    kept = [t for t in tokens if t.text]
    while len(" ".join(t.text for t in kept)) > limit:
        optional = [t for t in kept if t.keep > 0]
        if not optional:
            break
        worst = max(optional, key=lambda t: t.keep)
        index = max(i for i, t in enumerate(kept) if t is worst)
        del kept[index]
    text = re.sub(r"\s+", " ", " ".join(t.text for t in kept)).strip()
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0]
    return text


def _round_price(value: float, *, up: bool, rng: random.Random) -> float:
    """A seller's price near `value`: never below it when `up`, never above it otherwise."""
    value = max(value, 0.99)
    if up:
        whole = math.ceil(value)
        options = [float(whole), whole + 0.99]
        if whole - 0.01 >= value:
            options.append(whole - 0.01)
        return round(rng.choice(options), 2)
    whole = math.floor(value)
    options = [whole - 0.01, whole - 0.05, float(whole)] if whole >= 2 else [max(0.99, value)]
    return round(max(0.99, rng.choice(options)), 2)
