"""How long does identifying one listing take against a big catalog?

Builds a synthetic catalog (default 1,000,000 releases) in a temporary SQLite file, then
times `identify()` per listing over a few thousand noisy listing titles — catalog-number
hits, barcode hits, fuzzy hits and listings that should match nothing — and prints p50/p99
in milliseconds, with how many answers were right, wrong, ambiguous or empty. A brute-force
baseline (rapidfuzz `process.extractOne` over every "artist title" string) runs for a small
sample of the listings, for comparison.

    .venv/bin/python benchmarks/match_latency.py                 # 1,000,000 releases
    .venv/bin/python benchmarks/match_latency.py --releases 100000 --listings 1000

Targets: p50 ≤ 1 ms, p99 ≤ 5 ms.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from pathlib import Path

from rapidfuzz import fuzz, process

from vinyl_detective.domain.matching import clean_title, identify
from vinyl_detective.domain.models import Listing, MatchMethod
from vinyl_detective.domain.normalize import normalize_catalog_no
from vinyl_detective.storage import fulltext
from vinyl_detective.storage.catalog import SqlCatalog
from vinyl_detective.storage.db import open_database


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "john paul george ringo miles art lee horace herbie wayne freddie dexter sonny "
    "joni neil david kate nina aretha otis curtis marvin stevie donna grace patti lou iggy "
    "bob tom tim ann sue max leo ivan olga marta pedro luis ana eva kurt dave thom ian "
    "robert jimmy jimi janis carole carly billie ella sarah dinah chet stan bill oscar "
    "charles ray sam al bobby wilson jackie dusty roberta gil terry ron jack meg karen"
)
LAST = _words(
    "smith jones davis blakey morgan silver hancock shorter hubbard gordon rollins "
    "mitchell young bowie bush simone franklin redding mayfield gaye wonder summer "
    "jones smith reed pop dylan waits mann lee coltrane evans mingus monk parker "
    "holiday fitzgerald vaughan washington baker getz peterson charles cooke holly "
    "brown green black white king queen knight bishop carter hill wood stone lake"
)
BAND_WORDS = _words(
    "velvet underground electric light orchestra talking heads black crows white "
    "stripes arctic monkeys red hot chili peppers rolling stones grateful dead cure "
    "smiths clash jam doors byrds kinks who band animals birds bees tigers lions wolves "
    "machine engine radio static signal echo mirror glass iron steel silver golden"
)
TITLE_WORDS = _words(
    "love blue night day heart soul moon sun star dream fire rain river road city "
    "time life world light dark side kind way home song songs blues train street "
    "summer winter spring autumn midnight morning evening sunday monday children "
    "angel devil heaven hell paradise island ocean sea mountain valley desert garden "
    "electric acoustic live session sessions tapes hits best greatest collection "
    "volume part return revenge story legend myth empire kingdom crown throne "
    "moanin somethin else sidewinder speak no evil maiden voyage takin off "
    "giant steps mingus ah um time out saxophone colossus blue train idle moments "
    "sketches spain bitches brew head hunters thrust inner mounting flame birds "
    "fire harvest rust never sleeps tonight night after gold rush zuma "
    "hunky dory low heroes lodger station station young americans diamond dogs "
    "horses wave easter radio ethiopia blonde on blonde highway revisited "
    "rumours tusk mirage tango pretenders rattlesnakes crocodiles heaven up here "
    "porcupine ocean rain songs leaving eden nevermind bleach utero"
)
LABELS = [
    ("Blue Note", "BLP"),
    ("Blue Note", "BST"),
    ("Columbia", "CS"),
    ("Columbia", "CL"),
    ("Impulse!", "AS"),
    ("Prestige", "PRLP"),
    ("Riverside", "RLP"),
    ("Atlantic", "SD"),
    ("Verve", "MGV"),
    ("Harvest", "SHVL"),
    ("Parlophone", "PCS"),
    ("Island", "ILPS"),
    ("Virgin", "V"),
    ("Factory", "FACT"),
    ("Rough Trade", "ROUGH"),
    ("Elektra", "EKS"),
    ("Reprise", "MS"),
    ("Warner Bros.", "BS"),
    ("RCA Victor", "LSP"),
    ("Capitol", "ST"),
    ("EMI", "EMC"),
    ("Decca", "SKL"),
    ("Motown", "MS"),
    ("Stax", "STS"),
    ("Chess", "LPS"),
    ("Sub Pop", "SP"),
    ("Geffen", "GEF"),
    ("4AD", "CAD"),
    ("Mute", "STUMM"),
    ("ECM", "ECM"),
]
COUNTRIES = ["US", "UK", "Germany", "Japan", "France", "Canada", "Netherlands", "Europe"]
FORMATS = [("Vinyl", "LP, Album"), ("Vinyl", "LP, Album, Reissue"), ("CD", "Album")]
NOISE = _words(
    "VG+ NM RARE 1st press OG sealed NEW 🔥 !!! orig mint M- EX free shipping insert stereo mono"
)
# Format words a seller adds, by release format.
FORMAT_NOISE = {"Vinyl": _words('LP vinyl 12" 180g gatefold LP'), "CD": _words("CD CD digipak")}
WARMUP_LISTINGS = 1000  # identified first, not measured: a running daemon is warm
DECOYS = ["lot of 5 records", "empty sleeve only", "poster", "t-shirt", "tribute to", "karaoke"]


@dataclass(frozen=True, slots=True)
class Synthetic:
    release_id: int
    artist: str
    title: str
    catno: str
    barcode: str | None
    format: str


# Real catalogs have a long tail: a few words are everywhere ("love", "live", "blue"),
# most are rare. Made-up words from syllables play the long tail, Zipf-distributed.
SYLLABLES = _words(
    "ka lo mi ra ven tor sal bri del nor ast fen gul hor ith jas kel lum mar nex "
    "ori pel qua rin sef tam ulv vor wen xan yel zor bel cor dan eli fal gar han"
)


def _made_up_words(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    while len(seen) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3))))
        seen.setdefault(word, None)
    return list(seen)


TAIL = _made_up_words(60_000, 11)
_TAIL_WEIGHTS = list(accumulate(1 / (rank + 10) ** 1.05 for rank in range(len(TAIL))))
_COMMON_WEIGHTS = list(accumulate(1 / (rank + 3) for rank in range(len(TITLE_WORDS))))


def _tail_word(rng: random.Random) -> str:
    return rng.choices(TAIL, cum_weights=_TAIL_WEIGHTS)[0]


def _artist(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
    if roll < 0.7:
        return f"{rng.choice(FIRST).title()} {_tail_word(rng).title()}"
    words = [_tail_word(rng) if rng.random() < 0.7 else rng.choice(BAND_WORDS)]
    words += [rng.choice(BAND_WORDS) for _ in range(rng.randint(0, 2))]
    return ("The " if rng.random() < 0.4 else "") + " ".join(w.title() for w in words)


def _title(rng: random.Random) -> str:
    count = rng.choice((1, 2, 2, 3, 3, 4))
    words = [
        rng.choices(TITLE_WORDS, cum_weights=_COMMON_WEIGHTS)[0]
        if rng.random() < 0.2
        else _tail_word(rng)
        for _ in range(count)
    ]
    joiner = rng.choice((" ", " Of The ", " In The ", " And ", " "))
    return joiner.join(w.title() for w in words) if count > 1 else words[0].title()


def _barcode(rng: random.Random) -> str:
    first12 = "0" + "".join(rng.choice("0123456789") for _ in range(11))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def build_catalog(path: Path, size: int, seed: int) -> list[Synthetic]:
    """Fill a fresh database at `path`; return a sample of what was inserted."""
    rng = random.Random(seed)
    engine = open_database(f"sqlite:///{path}")
    sample: list[Synthetic] = []
    started = time.perf_counter()
    with engine.begin() as conn:
        for name in fulltext.FTS5_TRIGGER_NAMES:
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        release_rows: list[tuple[object, ...]] = []
        ident_rows: list[tuple[object, ...]] = []
        seen_catnos: set[str] = set()
        release_id = 0
        now = "2026-11-22 20:00:00.000000"
        while release_id < size:
            artist, title = _artist(rng), _title(rng)
            # Some albums come in several pressings (countries, years, formats).
            for _pressing in range(rng.choice((1, 1, 1, 1, 2, 3))):
                release_id += 1
                if release_id > size:
                    break
                label, prefix = rng.choice(LABELS)
                catno = f"{prefix} {rng.randint(1, 99999)}"
                norm = normalize_catalog_no(catno) or ""
                if norm in seen_catnos:  # keep benchmark truth unambiguous
                    catno = f"{prefix}-{release_id}"
                    norm = normalize_catalog_no(catno) or ""
                seen_catnos.add(norm)
                fmt, descriptions = rng.choice(FORMATS)
                barcode = _barcode(rng) if rng.random() < 0.4 else None
                year = rng.randint(1955, 2024)
                release_rows.append(
                    (
                        release_id,
                        artist,
                        title,
                        label,
                        catno,
                        barcode,
                        fmt,
                        descriptions,
                        rng.choice(COUNTRIES),
                        year,
                        now,
                    )
                )
                ident_rows.append((release_id, "catno", norm))
                if barcode:
                    ident_rows.append((release_id, "barcode", barcode))
                if len(sample) < 200_000 and rng.random() < 0.05:
                    sample.append(Synthetic(release_id, artist, title, catno, barcode, fmt))
            if len(release_rows) >= 50_000:
                _flush(conn, release_rows, ident_rows)
        _flush(conn, release_rows, ident_rows)
        print(f"  inserted {size:,} releases in {time.perf_counter() - started:.1f}s", flush=True)
        fts_started = time.perf_counter()
        fulltext.rebuild(conn)
        # One index segment instead of a dozen: every term lookup probes each segment.
        conn.exec_driver_sql("INSERT INTO releases_fts(releases_fts) VALUES ('optimize')")
        for ddl in fulltext.FTS5_SQLITE_DDL[1:]:
            conn.exec_driver_sql(ddl)
        print(f"  full-text index built in {time.perf_counter() - fts_started:.1f}s", flush=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return sample


def _flush(
    conn: object, releases: list[tuple[object, ...]], idents: list[tuple[object, ...]]
) -> None:
    from sqlalchemy import Connection

    assert isinstance(conn, Connection)
    if not releases:
        return
    conn.exec_driver_sql(
        "INSERT INTO releases (id, artist, title, labels, catalog_no, barcode, format, "
        "format_descriptions, country, year, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        releases,
    )
    conn.exec_driver_sql(
        "INSERT INTO release_identifiers (release_id, kind, value) VALUES (?,?,?)", idents
    )
    releases.clear()
    idents.clear()


def _noise(rng: random.Random, n: int, fmt: str = "") -> str:
    words = rng.sample(NOISE, n)
    if fmt and rng.random() < 0.6:
        words.insert(rng.randrange(len(words) + 1), rng.choice(FORMAT_NOISE[fmt]))
    return " ".join(words)


def make_listings(
    sample: list[Synthetic], count: int, seed: int
) -> list[tuple[str, Listing, int | None]]:
    """(kind, listing, expected release id or None) — a realistic mix."""
    rng = random.Random(seed + 1)
    out: list[tuple[str, Listing, int | None]] = []

    def listing(title: str, **extra: object) -> Listing:
        return Listing(
            item_id=str(len(out)),
            title=title[:80],
            price=Decimal("20"),
            currency="USD",
            **extra,  # type: ignore[arg-type]
        )

    for i in range(count):
        roll = rng.random()
        s = rng.choice(sample)
        fmt_hint = "Vinyl" if s.format == "Vinyl" else "CD"
        if roll < 0.30:
            title = f"{_noise(rng, 1)} {s.artist} {s.title} {s.catno} {_noise(rng, 2, s.format)}"
            out.append(("catno", listing(title, format_hint=fmt_hint), s.release_id))
        elif roll < 0.40 and s.barcode:
            title = f"{s.artist} {s.title} {_noise(rng, 1, s.format)}"
            out.append(("barcode", listing(title, barcode=s.barcode[1:]), s.release_id))
        elif roll < 0.75:
            title = f"{_noise(rng, 1)} {s.artist} - {s.title} {_noise(rng, 2, s.format)}"
            if i % 3 == 0:
                title = title.lower()
            # Pressings of one album share artist and title: the truth is "one of them".
            out.append(("fuzzy", listing(title, format_hint=fmt_hint), s.release_id))
        elif roll < 0.85:
            title = f"{rng.choice(DECOYS)} {s.artist} {s.title}"
            out.append(("decoy", listing(title), None))
        else:
            words = rng.sample(TITLE_WORDS, 3)
            title = f"{rng.choice(FIRST).title()} {rng.choice(LAST)} {' '.join(words)} LP"
            out.append(("unknown", listing(title), None))
    return out


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def run(releases: int, listings: int, baseline: int, seed: int) -> None:
    print(
        f"machine: {platform.machine()}, {__import__('os').cpu_count()} cpus, "
        f"python {platform.python_version()}, sqlite {__import__('sqlite3').sqlite_version}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.db"
        print(f"building a {releases:,}-release catalog in {path} …", flush=True)
        sample = build_catalog(path, releases, seed)
        cases = make_listings(sample, listings, seed)
        warmup = make_listings(sample, WARMUP_LISTINGS, seed + 100)
        engine = open_database(f"sqlite:///{path}")
        timings: list[float] = []
        by_kind: dict[str, list[float]] = {}
        outcome: Counter[str] = Counter()
        with engine.connect() as conn:
            catalog = SqlCatalog(conn)
            # Steady state, as in the daemon: warm page cache and common-word counts.
            for _kind, item, _expected in warmup:
                identify(item, catalog)
            # The generator's own objects (hundreds of thousands) are not the matcher's:
            # keep the cyclic GC from walking them during the measurement.
            gc.collect()
            gc.freeze()
            for kind, item, expected in cases:
                started = time.perf_counter_ns()
                result = identify(item, catalog)
                elapsed = (time.perf_counter_ns() - started) / 1e6
                timings.append(elapsed)
                by_kind.setdefault(kind, []).append(elapsed)
                if result.match is None:
                    outcome[f"{kind}: ambiguous" if result.ambiguous else f"{kind}: none"] += 1
                elif expected is None:
                    outcome[f"{kind}: WRONG (matched a decoy/unknown)"] += 1
                elif result.match.method is MatchMethod.ALBUM:
                    right = expected in result.match.pressings
                    outcome[f"{kind}: album, {'right' if right else 'WRONG'}"] += 1
                elif result.match.release_id == expected:
                    outcome[f"{kind}: right"] += 1
                else:
                    outcome[f"{kind}: other release"] += 1
        engine.dispose()

        p50, p99 = percentile(timings, 50), percentile(timings, 99)
        print(f"\nidentify() over {len(cases):,} listings against {releases:,} releases")
        print(f"  p50 {p50:.3f} ms   p99 {p99:.3f} ms   mean {statistics.fmean(timings):.3f} ms")
        print(f"  max {max(timings):.3f} ms")
        for kind, values in sorted(by_kind.items()):
            print(
                f"  {kind:8} n={len(values):5}  p50 {percentile(values, 50):.3f} ms  "
                f"p99 {percentile(values, 99):.3f} ms"
            )
        print("outcomes:")
        for key, value in sorted(outcome.items()):
            print(f"  {key:45} {value}")

        # Brute force: every "artist title" string scored against the cleaned title.
        print(f"\nbrute force baseline: rapidfuzz extractOne over {releases:,} strings", flush=True)
        rng = random.Random(seed + 2)
        choices = _all_names(path)
        brute: list[float] = []
        for _kind, item, _expected in rng.sample(cases, min(baseline, len(cases))):
            query = clean_title(item.title)
            started = time.perf_counter_ns()
            process.extractOne(query, choices, scorer=fuzz.WRatio, score_cutoff=85)
            brute.append((time.perf_counter_ns() - started) / 1e6)
        b50 = percentile(brute, 50)
        print(f"  n={len(brute)}  p50 {b50:.1f} ms  p99 {percentile(brute, 99):.1f} ms")
        print(f"  identify() p50 is {b50 / p50:,.0f}x faster than brute force")
        targets = "MET" if p50 <= 1.0 and p99 <= 5.0 else "MISSED"
        print(f"\ntargets p50 <= 1 ms, p99 <= 5 ms: {targets}")


def _all_names(path: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return [f"{a} {t}" for a, t in db.execute("SELECT artist, title FROM releases")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1_000_000)
    parser.add_argument("--listings", type=int, default=3_000)
    parser.add_argument("--baseline", type=int, default=20, help="listings for brute force")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    run(args.releases, args.listings, args.baseline, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
