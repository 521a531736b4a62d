"""How well does the matcher identify real records from real listing titles?

The catalog is built through the project's own storage layer from real Discogs data (the
folder `shared/data/` next to the repository, see its READMEs): the first 1,000 releases of
the 2020-08-06 monthly dump, the captured API releases, the releases of 25 real marketplace
listings (5 pressings of one album) and three real collection exports (MyVinyl, JP-Kelly,
Ben-TerraPi). Some pressings are held out of the catalog, so that a listing of a pressing
the catalog lacks meets other pressings of its album; some albums are held out whole, so
that a listing meets only other albums by its artist.

Listing titles are built only from each source's own fields, the way sellers write them
(artist, title, format words, label, catalog number, grade, year, noise, cut at eBay's 80
characters), with a seeded random generator; the 10 real eBay titles of the Finding API
sample are used verbatim (none of their records is in the catalog), and real non-record
decoys (posters, sleeves, shirts, tributes) are built from catalog albums.

Kinds of row:

    catno      a catalog release, its own catalog number in the title
    plain      a catalog release, no identifier in the title
    market     the 25 real marketplace listings of Mastodon - Emperor Of Sand
    held_out   a pressing not in the catalog whose album is (by master or artist+title)
    other      an album not in the catalog by an artist who is
    decoy      not a record: poster, shirt, empty sleeve, tribute, lot
    ebay       the real eBay titles (their records are not in the catalog)

Printed per kind, and overall: release precision (emitted release matches that are the
true release), album precision (emitted matches, release or album, of the true album),
release recall and album recall over rows whose release / album is in the catalog,
ambiguous and none counts; then every wrong match as `title → matched → truth`.

    .venv/bin/python benchmarks/match_real.py                 # writes nothing
    .venv/bin/python benchmarks/match_real.py --write         # also results-real-matching.md

Targets: release precision ≥ 99 %, album precision ≥ 99.5 %, release recall ≥ 95 %,
album recall ≥ 95 %.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from vinyl_detective.domain.catalog_entry import Identification
from vinyl_detective.domain.matching import identify
from vinyl_detective.domain.models import Listing, MatchMethod, Release
from vinyl_detective.domain.normalize import strip_disambiguation
from vinyl_detective.domain.title_noise import normalize_text
from vinyl_detective.sources.discogs_parse import parse_release
from vinyl_detective.sources.dump import iter_dump_releases
from vinyl_detective.storage.catalog import upsert_releases
from vinyl_detective.storage.catalog_lookup import SqlCatalog
from vinyl_detective.storage.db import open_database

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results-real-matching.md"
NOTES_MARKER = "<!-- notes: kept when the figures above are rewritten -->"
TITLE_LIMIT = 80  # eBay cuts titles at 80 characters
TARGETS = {
    "release precision": 0.99,
    "album precision": 0.995,
    "release recall": 0.95,
    "album recall": 0.95,
}
missed: list[str] = []  # rows whose release is in the catalog and was not found
KINDS = ("catno", "plain", "market", "held_out", "other", "decoy", "ebay")


# ---------------------------------------------------------------- the real sources


def _stable(*parts: object) -> float:
    """A number in [0, 1) fixed by `parts`: the same hold-outs on every run and machine."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


_FORMAT_WORDS = {
    "lp": "Vinyl",
    "2xlp": "Vinyl",
    "3xlp": "Vinyl",
    '12"': "Vinyl",
    '10"': "Vinyl",
    '7"': "Vinyl",
    "vinyl": "Vinyl",
    "cd": "CD",
    "2xcd": "CD",
    "cassette": "Cassette",
}


def _format_of(text: str) -> tuple[str | None, tuple[str, ...]]:
    """A collection export's format field ("2xLP, Album, RE, Gat") → (format, descriptions)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    family = None
    for part in parts:
        family = family or _FORMAT_WORDS.get(part.lower())
    return family, tuple(parts)


def _none_if_na(value: str | None) -> str | None:
    value = (value or "").strip()
    return None if value in ("", "NA", "N/A") else value


def _int(value: str | None) -> int | None:
    value = _none_if_na(value)
    try:
        return int(value) if value else None
    except ValueError:
        return None


def dump_releases(data: Path) -> list[Release]:
    path = data / "discogs-dump" / "discogs_20200806_releases.sample.xml.gz"
    return list(iter_dump_releases(path))


def api_releases(data: Path) -> list[Release]:
    folder = data / "discogs-api" / "releases"
    return [parse_release(json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


def marketplace(data: Path) -> tuple[list[Release], list[dict[str, object]]]:
    raw = json.loads(
        (data / "discogs-marketplace" / "discospot_marketplace_listings.json").read_text()
    )
    found: dict[int, Release] = {}
    for item in raw:
        r = item["release"]
        fmt, descriptions = _format_of(r["format"])
        found[int(r["id"])] = Release(
            id=int(r["id"]),
            artist=r["artist"],
            title=r["title"],
            catalog_nos=tuple(c.strip() for c in r["catalog_number"].split(",")),
            format=fmt,
            format_descriptions=descriptions,
            year=int(r["year"]) if r.get("year") else None,
        )
    return list(found.values()), raw


def collection_exports(data: Path) -> list[Release]:
    folder = data / "real-listings" / "discogs-collection-exports"
    out: list[Release] = []
    for name, catno_key, date_key in (
        ("jevgenijvoronov_myvinyl_collection.csv", "Catalog#", "Released"),
        ("jp-kelly_discogs_export_with_price_stats.csv", "Catalog.", "Released"),
    ):
        with (folder / name).open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                fmt, descriptions = _format_of(row["Format"])
                catnos = tuple(c.strip() for c in row[catno_key].split(",") if c.strip())
                out.append(
                    Release(
                        id=int(row["release_id"]),
                        artist=row["Artist"],
                        title=row["Title"],
                        labels=tuple(dict.fromkeys(x.strip() for x in row["Label"].split(","))),
                        catalog_nos=catnos,
                        format=fmt,
                        format_descriptions=descriptions,
                        year=_int(row[date_key]),
                    )
                )
    with (folder / "ben-terrapi_collection_api.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            fmt, descriptions = _format_of(row["format"])
            out.append(
                Release(
                    id=int(row["id"]),
                    artist=row["artist"],
                    title=row["title"],
                    labels=tuple(dict.fromkeys(x.strip() for x in row["labels"].split(","))),
                    format=fmt or "Vinyl",
                    format_descriptions=descriptions,
                    country=_none_if_na(row["release_country"]),
                    year=_int(row["year"]),
                    master_id=_int(row["master_id"]),
                    genres=tuple(g.strip() for g in row["genre"].split(",")),
                )
            )
    return out


def ebay_titles(data: Path) -> list[dict[str, object]]:
    raw = json.loads(
        (
            data / "real-listings" / "ebay-finding-api" / "eddie_bo_finding_api_items_2017.json"
        ).read_text()
    )
    return list(raw["items"])


# ---------------------------------------------------------------- albums and hold-outs


def album_key(release: Release) -> str:
    """Pressings of one album share this: their master, else their artist and title."""
    if release.master_id:
        return f"m{release.master_id}"
    artist = normalize_text(strip_disambiguation(release.artist))
    return f"a{artist}|{normalize_text(release.title)}"


@dataclass
class Corpus:
    catalog: dict[int, Release]
    held_pressings: list[Release]  # not in the catalog; another pressing is
    held_albums: list[Release]  # not in the catalog; their artist is
    market_items: list[dict[str, object]]
    ebay_items: list[dict[str, object]]
    album_of: dict[int, str] = field(default_factory=dict)


def build_corpus(data: Path) -> Corpus:
    by_id: dict[int, Release] = {}
    market, market_items = marketplace(data)
    # Richest source first: the dump and API know labels, formats and every identifier.
    for release in (*dump_releases(data), *api_releases(data), *market, *collection_exports(data)):
        by_id.setdefault(release.id, release)
    # Album keys: a release without a master joins a mastered album of the same name.
    names: dict[str, str] = {}
    for release in by_id.values():
        if release.master_id:
            names.setdefault(
                album_key(Release(0, release.artist, release.title)), album_key(release)
            )
    album_of: dict[int, str] = {}
    for release in by_id.values():
        key = album_key(release)
        album_of[release.id] = names.get(key, key) if not release.master_id else key
    albums: dict[str, list[Release]] = defaultdict(list)
    for release in by_id.values():
        albums[album_of[release.id]].append(release)
    artists = Counter(normalize_text(strip_disambiguation(r.artist)) for r in by_id.values())
    market_ids = {r.id for r in market}
    held_pressings: list[Release] = []
    held_albums: list[Release] = []
    for key, pressings in sorted(albums.items()):
        if any(p.id in market_ids for p in pressings):
            continue  # the marketplace rows need every pressing of theirs
        if len(pressings) >= 2:
            ordered = sorted(pressings, key=lambda p: _stable("pressing", p.id))
            held_pressings.extend(ordered[: max(1, len(ordered) // 3)])
            continue
        (only,) = pressings
        artist = normalize_text(strip_disambiguation(only.artist))
        if artist not in ("various", "") and artists[artist] >= 2 and _stable("album", key) < 0.5:
            held_albums.append(only)
            artists[artist] -= 1
    held = {r.id for r in (*held_pressings, *held_albums)}
    catalog = {i: r for i, r in by_id.items() if i not in held}
    return Corpus(
        catalog=catalog,
        held_pressings=held_pressings,
        held_albums=held_albums,
        market_items=market_items,
        ebay_items=ebay_titles(data),
        album_of=album_of,
    )


# ---------------------------------------------------------------- seller-style titles

GRADES = ["VG+", "NM", "VG", "EX", "M-", "VG++", "VG+/VG+", "NM/VG+", "VG/G", "G+/G", "G/G", ""]
BOASTS = ["RARE", "L@@K", "1st press", "Original", "OG", "HTF", "NICE", "🔥", "!!", "Free Shipping"]
DECOYS = [
    "{artist} {title} promo poster 24x36",
    "{artist} - {title} EMPTY SLEEVE only",
    "{artist} {title} t-shirt size L",
    "Tribute to {artist} {title} LP",
    "Lot of 5 {artist} records {title}",
    "{artist} {title} framed album cover",
    "{artist} - {title} slipmat",
]


def _artist_as_written(release: Release, rng: random.Random) -> str:
    artist = strip_disambiguation(release.artist)
    if normalize_text(artist) == "various":
        return rng.choice(["Various", "VA", "Various Artists"])
    if len(artist) > 30:
        # A long credit ("Bach - I Musici, Félix Ayo, Maurice André, ...") is shortened to
        # its first name, as sellers do.
        artist = re.split(r"\s+[-–/•∙·:]\s+|,\s*|\s+&\s+", artist)[0]
    if artist.lower().startswith("the ") and rng.random() < 0.3:
        artist = artist[4:]
    return artist


def _format_words(release: Release, rng: random.Random) -> str:
    fmt = (release.format or "").lower()
    descriptions = " ".join(release.format_descriptions).lower()
    if fmt in ("cd", "cdr"):
        return rng.choice(["CD", "CD Album", "cd"])
    if fmt == "cassette":
        return rng.choice(["Cassette", "Tape", "MC"])
    if fmt in ("vinyl", "shellac"):
        if '7"' in descriptions:
            return rng.choice(['7"', "45", '7" vinyl', "45 rpm"])
        if '12"' in descriptions:
            return rng.choice(['12"', '12" vinyl', "12 inch", "Maxi"])
        if '10"' in descriptions:
            return '10"'
        return rng.choice(["LP", "Vinyl LP", "LP Vinyl", "lp", "Vinyl"])
    return ""


def _label(release: Release) -> str:
    return strip_disambiguation(release.labels[0]) if release.labels else ""


def _catno(release: Release) -> str:
    for catno in release.catalog_nos:
        if catno.strip() and catno.strip().lower() != "none":
            return catno.strip()
    return ""


def seller_title(release: Release, rng: random.Random, *, catno: bool) -> str:
    """One title as a seller might write it, from the release's own fields."""
    artist = _artist_as_written(release, rng)
    title = release.title
    if rng.random() < 0.25:
        artist, title = artist.upper(), title.upper()
    parts = {
        "artist": artist,
        "title": title,
        "fmt": _format_words(release, rng),
        "label": _label(release) if rng.random() < 0.6 else "",
        "catno": _catno(release) if catno else "",
        "grade": rng.choice(GRADES),
        "year": str(release.year) if release.year and rng.random() < 0.4 else "",
        "boast": rng.choice(BOASTS) if rng.random() < 0.4 else "",
        "country": (release.country or "") if rng.random() < 0.15 else "",
    }
    template = rng.choice(
        [
            "{artist} - {title} {fmt} {label} {catno} {grade}",
            "{boast} {artist} {title} {year} {fmt} {catno} {grade}",
            "{artist} – {title} ({year}) {label} {catno} {fmt} {country} {grade}",
            "{title} by {artist} {fmt} {catno} {boast}",
            "{artist} {title} {fmt} {label} {catno} {year} {boast} {grade}",
            "{catno} {artist} - {title} {fmt} {grade}",
        ]
    )
    text = " ".join(template.format(**parts).split())
    return text[:TITLE_LIMIT].rstrip()


def market_title(item: dict[str, object], rng: random.Random) -> str:
    """A real marketplace listing's own fields, as an eBay title."""
    release = item["release"]
    assert isinstance(release, dict)
    description = str(release["description"])  # "Mastodon - Emperor Of Sand (2xLP, Album, 180)"
    catno = str(release["catalog_number"]).split(",")[0].strip()
    condition = re.sub(r".*\((.*)\)", r"\1", str(item["condition"]))
    comment_words = re.sub(r"&\w+;|[^\w ]", " ", str(item["comments"])).split()[:4]
    template = rng.choice(
        [
            f"{description} {catno} {condition} {' '.join(comment_words)}",
            f"{description} {condition} {' '.join(comment_words)}",
            f"{release['artist']} {release['title']} {release['year']} {catno} {condition}",
        ]
    )
    return " ".join(template.split())[:TITLE_LIMIT].rstrip()


@dataclass(frozen=True)
class Row:
    kind: str
    title: str
    truth_release: int | None  # the true release, when known
    truth_album: str | None  # its album key
    release_in_catalog: bool
    album_in_catalog: bool
    category_id: str | None = "176985"


def build_rows(corpus: Corpus, seed: int, per_release: int) -> list[Row]:
    rng = random.Random(seed)
    rows: list[Row] = []
    catalog_albums = {corpus.album_of[i] for i in corpus.catalog}

    def category(release: Release) -> str | None:
        fmt = (release.format or "").lower()
        return {"cd": "176984", "cdr": "176984", "cassette": "176983"}.get(
            fmt, "176985" if fmt in ("vinyl", "shellac") else None
        )

    market_ids = {int(i["release"]["id"]) for i in corpus.market_items}  # type: ignore[index]
    for release in corpus.catalog.values():
        if release.format in ("File", "DVD", None) or release.id in market_ids:
            continue
        album = corpus.album_of[release.id]
        for _ in range(per_release):
            has_catno = bool(_catno(release)) and rng.random() < 0.5
            rows.append(
                Row(
                    "catno" if has_catno else "plain",
                    seller_title(release, rng, catno=has_catno),
                    release.id,
                    album,
                    True,
                    True,
                    category(release),
                )
            )
    for item in corpus.market_items:
        release_id = int(item["release"]["id"])  # type: ignore[index]
        rows.append(
            Row(
                "market",
                market_title(item, rng),
                release_id,
                corpus.album_of[release_id],
                True,
                True,
            )
        )
    for release in corpus.held_pressings:
        album = corpus.album_of[release.id]
        for _ in range(per_release):
            rows.append(
                Row(
                    "held_out",
                    seller_title(release, rng, catno=rng.random() < 0.6),
                    release.id,
                    album,
                    False,
                    album in catalog_albums,
                    category(release),
                )
            )
    for release in corpus.held_albums:
        if release.format in ("File", "DVD", None):
            continue
        rows.append(
            Row(
                "other",
                seller_title(release, rng, catno=rng.random() < 0.5),
                release.id,
                corpus.album_of[release.id],
                False,
                False,
                category(release),
            )
        )
    vinyl = [r for r in corpus.catalog.values() if r.format == "Vinyl"]
    for release in rng.sample(vinyl, min(len(vinyl), 120)):
        template = rng.choice(DECOYS)
        name = release.title[:40]  # short enough for the decoy words to survive the cut
        title = template.format(artist=_artist_as_written(release, rng), title=name)
        rows.append(Row("decoy", title[:TITLE_LIMIT], None, None, False, False, None))
    for item in corpus.ebay_items:
        rows.append(Row("ebay", str(item["title"]), None, None, False, False, "176985"))
    return rows


# ---------------------------------------------------------------- running and scoring


def build_catalog(corpus: Corpus, path: Path) -> object:
    engine = open_database(f"sqlite:///{path}")
    with engine.begin() as conn:
        upsert_releases(conn, corpus.catalog.values(), datetime.now(UTC))
    return engine


@dataclass
class Tally:
    rows: int = 0
    release_right: int = 0
    release_wrong: int = 0
    album_right: int = 0  # album outcomes of the right album
    album_wrong: int = 0
    release_match_right_album: int = 0  # a release match of another pressing, same album
    ambiguous: int = 0
    none: int = 0
    truth_release_in_catalog: int = 0
    truth_album_in_catalog: int = 0

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def release_emitted(self) -> int:
        return self.release_right + self.release_wrong

    @property
    def emitted(self) -> int:
        return self.release_emitted + self.album_right + self.album_wrong

    @property
    def album_level_right(self) -> int:
        return self.release_right + self.release_match_right_album + self.album_right

    def figures(self) -> dict[str, float | None]:
        def ratio(a: int, b: int) -> float | None:
            return a / b if b else None

        return {
            "release precision": ratio(self.release_right, self.release_emitted),
            "album precision": ratio(self.album_level_right, self.emitted),
            "release recall": ratio(self.release_right, self.truth_release_in_catalog),
            "album recall": ratio(self.album_level_right, self.truth_album_in_catalog),
        }


def outcome(found: Identification) -> tuple[str, tuple[int, ...]]:
    """("release", (id,)), ("album", pressing ids), ("ambiguous", ids) or ("none", ())."""
    if found.match is not None:
        if found.match.method == getattr(MatchMethod, "ALBUM", None):
            return "album", found.candidates
        return "release", (found.match.release_id,)
    if found.ambiguous:
        return "ambiguous", found.candidates
    return "none", ()


def evaluate(
    rows: list[Row], corpus: Corpus, engine: object
) -> tuple[dict[str, Tally], list[str], list[float]]:
    tallies = {kind: Tally() for kind in KINDS}
    wrong: list[str] = []
    missed.clear()
    times: list[float] = []
    album_of = corpus.album_of
    with engine.connect() as conn:  # type: ignore[attr-defined]
        catalog = SqlCatalog(conn)
        for index, row in enumerate(rows):
            listing = Listing(
                item_id=f"real-{index}",
                title=row.title,
                price=Decimal("10"),
                currency="USD",
                category_id=row.category_id,
            )
            started = time.perf_counter()
            found = identify(listing, catalog)
            times.append((time.perf_counter() - started) * 1000)
            t = tallies[row.kind]
            t.rows += 1
            t.truth_release_in_catalog += row.release_in_catalog
            t.truth_album_in_catalog += row.album_in_catalog
            kind, ids = outcome(found)
            if kind == "release":
                (got,) = ids
                if got == row.truth_release:
                    t.release_right += 1
                    continue
                t.release_wrong += 1
                if row.truth_album is not None and album_of.get(got) == row.truth_album:
                    t.release_match_right_album += 1
                else:
                    wrong.append(_wrong_line(row, f"release {_name(corpus, got)}", corpus))
                    continue
                wrong.append(_wrong_line(row, f"pressing {_name(corpus, got)}", corpus))
            elif kind == "album":
                if row.release_in_catalog:
                    missed.append(
                        _miss(row, corpus, f"album of {len(ids)}")
                        + f" ({'; '.join(found.reasons) or 'nothing tells them apart'})"
                    )
                if row.truth_album is not None and all(
                    album_of.get(i) == row.truth_album for i in ids
                ):
                    t.album_right += 1
                else:
                    t.album_wrong += 1
                    names = ", ".join(_name(corpus, i) for i in ids[:3])
                    wrong.append(_wrong_line(row, f"album of {names}", corpus))
            elif kind == "ambiguous":
                t.ambiguous += 1
                if row.release_in_catalog:
                    missed.append(_miss(row, corpus, "ambiguous"))
            else:
                t.none += 1
                if row.release_in_catalog:
                    missed.append(_miss(row, corpus, "none"))
    return tallies, wrong, times


def _miss(row: Row, corpus: Corpus, outcome: str) -> str:
    return f"[{row.kind}] {outcome} `{row.title}` → {_name(corpus, row.truth_release or 0)}"


def _name(corpus: Corpus, release_id: int) -> str:
    r = corpus.catalog.get(release_id)
    if r is None:
        return f"#{release_id}"
    return f"#{r.id} {r.artist} – {r.title} [{_catno(r) or 'no catno'}, {r.format}, {r.year}]"


def _wrong_line(row: Row, matched: str, corpus: Corpus) -> str:
    if row.truth_release is None:
        truth = "not a record in the catalog"
    else:
        held = {r.id: r for r in (*corpus.held_pressings, *corpus.held_albums)}
        r = corpus.catalog.get(row.truth_release) or held.get(row.truth_release)
        truth = (
            f"#{r.id} {r.artist} – {r.title} [{_catno(r) or 'no catno'}, {r.format}, {r.year}]"
            if r
            else f"#{row.truth_release}"
        )
        if not row.release_in_catalog:
            truth += " (not in catalog)"
    return f"[{row.kind}] `{row.title}` → {matched} → {truth}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def report(
    tallies: dict[str, Tally],
    wrong: list[str],
    times: list[float],
    corpus: Corpus,
    args: argparse.Namespace,
) -> tuple[str, bool]:
    total = Tally()
    for t in tallies.values():
        total.add(t)
    lines = [
        "| kind | rows | release right | release wrong (same album) | album right | album wrong "
        "| ambiguous | none | release precision | album precision | release recall "
        "| album recall |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in (*tallies.items(), ("**all**", total)):
        f = t.figures()
        lines.append(
            f"| {name} | {t.rows} | {t.release_right} "
            f"| {t.release_wrong} ({t.release_match_right_album}) "
            f"| {t.album_right} | {t.album_wrong} | {t.ambiguous} | {t.none} | "
            + " | ".join(_pct(f[k]) for k in TARGETS)
            + " |"
        )
    figures = total.figures()
    met = True
    target_lines = []
    for name, target in TARGETS.items():
        value = figures[name]
        ok = value is not None and value >= target
        met = met and ok
        target_lines.append(
            f"- {name}: {_pct(value)} (target ≥ {target * 100:g} %) {'met' if ok else 'MISSED'}"
        )
    times_sorted = sorted(times)
    p50 = times_sorted[len(times_sorted) // 2]
    p99 = times_sorted[int(len(times_sorted) * 0.99)]
    header = [
        f"catalog: {len(corpus.catalog)} real releases; held out: {len(corpus.held_pressings)} "
        f"pressings (another pressing of theirs in the catalog), {len(corpus.held_albums)} "
        f"albums (their artist in the catalog); rows: {total.rows}, seed {args.seed}, "
        f"{args.per_release} title(s) per release",
        f"identify(): p50 {p50:.2f} ms, p99 {p99:.2f} ms on this small catalog (latency "
        "targets are measured by match_latency.py)",
    ]
    text = "\n".join(
        [
            *header,
            "",
            *lines,
            "",
            *target_lines,
            "",
            f"wrong matches ({len(wrong)}):",
            *[f"- {w}" for w in wrong],
        ]
    )
    return text, met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("VD_SHARED_DATA", DEFAULT_DATA))
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--per-release", type=int, default=3)
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.name}")
    parser.add_argument("--misses", action="store_true", help="also print every row not found")
    args = parser.parse_args(argv)
    if not (args.data / "discogs-dump").is_dir():
        print(
            f"real data not found in {args.data}: pass --data or set VD_SHARED_DATA",
            file=sys.stderr,
        )
        return 2
    corpus = build_corpus(args.data)
    rows = build_rows(corpus, args.seed, args.per_release)
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_catalog(corpus, Path(tmp) / "real.db")
        tallies, wrong, times = evaluate(rows, corpus, engine)
        engine.dispose()  # type: ignore[attr-defined]
    text, met = report(tallies, wrong, times, corpus, args)
    print(text)
    if args.misses:
        print(f"\nnot found ({len(missed)}):", *missed, sep="\n- ")
    if args.write:
        # Notes written by hand below the marker survive a re-run.
        previous = RESULTS.read_text() if RESULTS.exists() else ""
        notes = previous[previous.index(NOTES_MARKER) :] if NOTES_MARKER in previous else ""
        load = os.getloadavg()
        command = (
            ".venv/bin/python benchmarks/match_real.py "
            f"--seed {args.seed} --per-release {args.per_release} --write"
        )
        RESULTS.write_text(
            "# Matching real titles against real releases\n\n"
            f"`{command}` — {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, Python "
            f"{platform.python_version()}, "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n\n"
            "See the docstring of `benchmarks/match_real.py` for the sources and the kinds "
            "of row.\n\n" + text + "\n\n" + notes
        )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
