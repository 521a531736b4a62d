"""The sample Discogs catalog: which pressings each album gets, their catalog numbers,
barcodes, years and popularity, their price suggestions, and the sellers of the market.

`build_catalog(rng, releases)` picks the albums and pressings; each pressing follows its
label's family (families.py) for how it was numbered.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from vinyl_detective.domain.normalize import normalize_catalog_no
from vinyl_detective.fakes.sample_data.albums import ALBUMS, Album
from vinyl_detective.fakes.sample_data.families import FAMILIES, MULTI_DISC
from vinyl_detective.fakes.sample_data.names import crc
from vinyl_detective.fakes.sample_data.vocabulary import (
    COUNTRY_CODES,
    COUNTRY_WEIGHTS,
    FORMAT_DIGIT,
    GRADES,
    KIND_FACTOR,
    KIND_FLAT_PRICE,
    KIND_FORMAT,
    KIND_POPULARITY,
    KIND_PREFERENCE,
    KIND_PRICE_CAP,
    MODERN_CURVE,
    SELLER_WORDS,
    TIER_PRICE,
    VINTAGE_CURVE,
    Json,
)


@dataclass(frozen=True, slots=True)
class Pressing:
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
class Seller:
    username: str
    feedback_pct: str
    feedback_score: int
    country: str


@dataclass(frozen=True, slots=True)
class Catalog:
    pressings: tuple[Pressing, ...]
    suggestions: dict[int, Json]
    sellers: tuple[Seller, ...]
    catnos: frozenset[str]
    barcodes: frozenset[str]
    left_out: tuple[Album, ...]


@dataclass(slots=True)
class _Candidate:
    kind: str
    fmt: str
    year: int


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
        fmt = KIND_FORMAT.get(kind, "Vinyl")
        # Weighted random order (Efraimidis–Spirakis keys).
        extras.append((rng.random() ** (1.0 / KIND_PREFERENCE[kind]), _Candidate(kind, fmt, year)))
    extras.sort(key=lambda pair: -pair[0])
    return found + [candidate for _, candidate in extras]


def _album_weight(album: Album, rng: random.Random) -> float:
    return (1.0 + 0.35 * album.tier) * rng.uniform(0.5, 1.8)


def build_catalog(rng: random.Random, releases: int) -> Catalog:
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
    pressings: list[Pressing] = []
    for album, plan, count in zip(chosen, plans, counts, strict=True):
        master_id = builder.unique_master_id()
        for candidate in plan[:count]:
            pressings.append(builder.build(album, candidate, master_id))
    # What a VG+ first press of each album is worth; every other pressing is priced from it.
    first_press = {album: rng.uniform(*TIER_PRICE[album.tier]) for album in chosen}
    suggestions = {p.release_id: _suggestions(p, first_press[p.album], rng) for p in pressings}
    return Catalog(
        pressings=tuple(pressings),
        suggestions=suggestions,
        sellers=_sellers(rng),
        catnos=frozenset(builder.catno_owner),
        barcodes=frozenset(builder.barcodes),
        left_out=left_out,
    )


class _PressingBuilder:
    """Turns (album, pressing kind) into a `Pressing` with unique ids, catnos and barcodes."""

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
            "f": FORMAT_DIGIT[fmt],
            "lab5": f"{crc(label) % 100000:05d}",
        }

    def build(self, album: Album, candidate: _Candidate, master_id: int) -> Pressing:
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
        return Pressing(
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
            popularity=KIND_POPULARITY[kind] * (1.0 + 0.4 * (5 - album.tier)),
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


def _suggestions(pressing: Pressing, first_press: float, rng: random.Random) -> Json:
    """Discogs price suggestions (USD) for a pressing; empty for the few unpriced ones.

    `first_press` is the VG+ value of the album's original pressing.
    """
    if rng.random() < 0.03:
        return {}
    kind, album = pressing.kind, pressing.album
    if kind in KIND_FLAT_PRICE:
        low, high = KIND_FLAT_PRICE[kind]
        vg_plus = rng.uniform(low, high) * (1.5 if album.tier >= 4 and kind == "cd" else 1.0)
    else:
        factor_low, factor_high = KIND_FACTOR[kind]
        vg_plus = first_press * rng.uniform(factor_low, factor_high)
        vg_plus = max(10.0, min(vg_plus, KIND_PRICE_CAP.get(kind, vg_plus)))
    modern = kind in KIND_FLAT_PRICE or pressing.year >= 2000
    curve = MODERN_CURVE if modern else VINTAGE_CURVE
    return {
        grade: {"currency": "USD", "value": round(vg_plus * ratio * rng.uniform(0.985, 1.015), 6)}
        for grade, ratio in zip(GRADES, curve, strict=True)
    }


def _sellers(rng: random.Random) -> tuple[Seller, ...]:
    sellers: list[Seller] = []
    names: set[str] = set()
    while len(sellers) < 160:
        first, second = rng.choice(SELLER_WORDS[0]), rng.choice(SELLER_WORDS[1])
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
        country = rng.choices(COUNTRY_CODES, weights=COUNTRY_WEIGHTS)[0]
        sellers.append(Seller(name, pct, score, country))
    for code in COUNTRY_CODES:  # every country needs at least a few sellers
        for i in range(3):
            sellers.append(Seller(f"{code.lower()}_records_{i + 1}", "99.8", 1500 + i, code))
    return tuple(sellers)
