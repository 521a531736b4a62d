"""How long does identifying one listing take against a big catalog?

Builds a synthetic catalog (default 1,000,000 releases; cached under benchmarks/out/), then
times `identify()` per listing over a few thousand noisy listing titles — catalog-number
hits, barcode hits, fuzzy hits, decoys and records the catalog does not hold — and prints
p50/p99 in milliseconds, wall clock and CPU time of this thread, per kind of listing, with
how many answers were right, wrong, ambiguous or empty.

Each catalog size is measured twice: *cold* in a fresh process (no warm-up: empty Python
caches, common-word counts and SQLite page cache; the operating system's file cache is
warm) over the first 1,000 listings, and *warm* here after 1,000 other listings, as in a
running daemon. Then the same listings are replayed counting the work each one does — SQL
statements, rows read from the full-text index, rapidfuzz comparisons — which, unlike
times, does not depend on what else the machine runs. By default a 100,000-release catalog
is measured first, for the growth to 1,000,000. A brute-force baseline (rapidfuzz
`process.extractOne` over every "artist title" string) runs for a small sample.

    .venv/bin/python benchmarks/match_latency.py                 # 100k, then 1,000,000
    .venv/bin/python benchmarks/match_latency.py --releases 100000 --growth-from 0
    .venv/bin/python benchmarks/match_latency.py --profile       # + cProfile, top 25
    .venv/bin/python benchmarks/match_latency.py --database-url postgresql+psycopg://...
    .venv/bin/python benchmarks/match_latency.py --busy 1 2    # + warm, beside 1 and 2 spinners

`--busy N …` repeats the warm run at the full size beside N processes that only spin (the
"other work", the same on every machine): on this 2-core machine one leaves a core free,
two or more make the matcher wait for a core, which shows in the wall clock, not the CPU.

Targets (warm, at 1,000,000 releases, all kinds): p50 ≤ 1 ms, p99 ≤ 5 ms.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz, process

from vinyl_detective.domain import release_fit
from vinyl_detective.domain.catalog_entry import Identification
from vinyl_detective.domain.matching import identify
from vinyl_detective.domain.models import Listing, MatchMethod
from vinyl_detective.domain.normalize import normalize_catalog_no
from vinyl_detective.domain.title_noise import clean_title
from vinyl_detective.storage import fulltext
from vinyl_detective.storage.catalog_lookup import SqlCatalog
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
COLD_LISTINGS = 1000  # measured in a fresh process, without warm-up
OUT = Path(__file__).parent / "out"
# Bump when the generator below changes: cached catalogs of another version are rebuilt.
GENERATOR_VERSION = 1
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


SAMPLE_TABLE = "bench_sample"  # the releases listings are made from, kept with the catalog


def build_catalog(url: str, size: int, seed: int) -> None:
    """Fill the empty catalog of the database at `url`; keep a sample of what was inserted
    (the releases the listings will name) in SAMPLE_TABLE."""
    rng = random.Random(seed)
    engine = open_database(url)
    sqlite = engine.dialect.name == "sqlite"
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sample: list[tuple[object, ...]] = []
    started = time.perf_counter()
    with engine.begin() as conn:
        if sqlite:
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
                    sample.append((release_id, artist, title, catno, barcode, fmt))
            if len(release_rows) >= 50_000:
                _flush(conn, mark, release_rows, ident_rows)
        _flush(conn, mark, release_rows, ident_rows)
        conn.exec_driver_sql(
            f"CREATE TABLE {SAMPLE_TABLE} (release_id INTEGER PRIMARY KEY, artist TEXT, "
            "title TEXT, catno TEXT, barcode TEXT, format TEXT)"
        )
        conn.exec_driver_sql(f"INSERT INTO {SAMPLE_TABLE} VALUES ({', '.join([mark] * 6)})", sample)
        print(f"  inserted {size:,} releases in {time.perf_counter() - started:.1f}s", flush=True)
        fts_started = time.perf_counter()
        fulltext.rebuild(conn)
        if sqlite:
            for ddl in fulltext.FTS5_SQLITE_DDL[1:]:
                conn.exec_driver_sql(ddl)
        print(f"  full-text index built in {time.perf_counter() - fts_started:.1f}s", flush=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def load_sample(url: str) -> list[Synthetic]:
    """The sample `build_catalog` kept, in insertion order."""
    engine = open_database(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT release_id, artist, title, catno, barcode, format FROM {SAMPLE_TABLE} "
            "ORDER BY release_id"
        ).all()
    engine.dispose()
    return [Synthetic(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]


def cached_catalog(size: int, seed: int, rebuild: bool) -> str:
    """A SQLite catalog of `size` releases under benchmarks/out/, built when missing."""
    path = OUT / f"match-catalog-{size}-seed{seed}-v{GENERATOR_VERSION}.db"
    if rebuild or not path.exists():
        OUT.mkdir(exist_ok=True)
        partial = path.with_suffix(".partial")
        for leftover in OUT.glob(partial.name + "*"):
            leftover.unlink()
        print(f"building a {size:,}-release catalog in {path} …", flush=True)
        build_catalog(f"sqlite:///{partial}", size, seed)
        with sqlite3.connect(partial) as db:  # one file, no WAL beside it
            db.execute("PRAGMA journal_mode = DELETE")
        partial.replace(path)
    return f"sqlite:///{path}"


_COPIED = {
    "releases": "id, artist, title, labels, catalog_no, barcode, format, format_descriptions, "
    "country, year, updated_at",
    "release_identifiers": "release_id, kind, value",
    SAMPLE_TABLE: "release_id, artist, title, catno, barcode, format",
}


def copy_catalog(source_url: str, url: str) -> None:
    """Fill the empty PostgreSQL catalog at `url` with the SQLite catalog at `source_url`
    (the same releases, so the two answer the same listings), by COPY; then VACUUM ANALYZE
    (index-only scans need the visibility map)."""
    started = time.perf_counter()
    source = sqlite3.connect(source_url.removeprefix("sqlite:///"))
    engine = open_database(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE {SAMPLE_TABLE} (release_id INTEGER PRIMARY KEY, artist TEXT, "
            "title TEXT, catno TEXT, barcode TEXT, format TEXT)"
        )
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for table, columns in _COPIED.items():
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {columns} FROM {table}"):
                    copy.write_row(row)
    source.close()
    print(f"  copied the catalog by COPY in {time.perf_counter() - started:.1f}s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    print(f"  … and VACUUM ANALYZE in {time.perf_counter() - started:.1f}s", flush=True)


def _flush(
    conn: sa.Connection,
    mark: str,
    releases: list[tuple[object, ...]],
    idents: list[tuple[object, ...]],
) -> None:
    if not releases:
        return
    conn.exec_driver_sql(
        "INSERT INTO releases (id, artist, title, labels, catalog_no, barcode, format, "
        f"format_descriptions, country, year, updated_at) VALUES ({', '.join([mark] * 11)})",
        releases,
    )
    conn.exec_driver_sql(
        f"INSERT INTO release_identifiers (release_id, kind, value) VALUES ({mark}, {mark}, "
        f"{mark})",
        idents,
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


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


# ---------------------------------------------------------------- counting the work done


@dataclass
class Work:
    """What identifying one listing cost, counted (the same on a busy or an idle machine)."""

    queries: int = 0  # SQL statements
    fts_rows: int = 0  # rows the full-text index (FTS5, PostgreSQL's tsvector) handed over
    rows: int = 0  # other rows read
    fuzz: int = 0  # rapidfuzz comparisons

    def add(self, other: Work) -> None:
        self.queries += other.queries
        self.fts_rows += other.fts_rows
        self.rows += other.rows
        self.fuzz += other.fuzz


class _Rows:
    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def all(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


def _count_statement(work: Work, statement: str, rows: list[Any]) -> None:
    work.queries += 1
    if any(index in statement for index in ("releases_fts", "release_words", PG_TSVECTOR)):
        # A count walks the rows it counts: those are the index's work, not the one row.
        counted = "count(*) FROM (SELECT 1" in statement
        work.fts_rows += sum(int(r[-1]) for r in rows) if counted else len(rows)
    else:
        work.rows += len(rows)


PG_TSVECTOR = fulltext.PG_SEARCH_COLUMN  # PostgreSQL's tsvector (storage/fulltext.py)


class CountingConnection:
    """A connection that counts the SQLAlchemy statements run through it (the full-text
    fallback of storage/fulltext.py) and the rows they return."""

    def __init__(self, conn: sa.Connection, work: Work) -> None:
        self._conn = conn
        self.work = work

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def execute(self, statement: Any, parameters: Any = None) -> _Rows:
        rows = list(self._conn.execute(statement, parameters).all())
        _count_statement(self.work, str(statement), rows)
        return _Rows(rows)


class CountingCatalog(SqlCatalog):
    """SqlCatalog counting every statement it runs (they all go through `_rows`)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.work = Work()
        self._counting = CountingConnection(conn, self.work)
        super().__init__(self._counting)  # type: ignore[arg-type]

    def start(self) -> Work:
        self.work = self._counting.work = Work()
        return self.work

    def _rows(self, statement: str, parameters: Sequence[object] = ()) -> list[Any]:
        rows = super()._rows(statement, parameters)
        _count_statement(self.work, statement, rows)
        return rows


@contextmanager
def counting_fuzz(work: Work) -> Iterator[None]:
    """rapidfuzz as the matcher calls it (domain/release_fit.py, its only caller), each
    comparison counted into `work`."""

    def counted(scorer: Callable[..., float]) -> Callable[..., float]:
        def call(*args: Any, **kwargs: Any) -> float:
            work.fuzz += 1
            return scorer(*args, **kwargs)

        return call

    original = release_fit.fuzz  # type: ignore[attr-defined]
    release_fit.fuzz = SimpleNamespace(  # type: ignore[attr-defined, assignment]
        ratio=counted(fuzz.ratio), partial_ratio=counted(fuzz.partial_ratio)
    )
    try:
        yield
    finally:
        release_fit.fuzz = original  # type: ignore[attr-defined]


# ---------------------------------------------------------------- measuring


Case = tuple[str, Listing, int | None]


@dataclass
class Measured:
    """Per listing kind ("all" too): wall-clock and CPU milliseconds, work counted."""

    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    work: dict[str, list[Work]] = field(default_factory=dict)
    outcome: Counter[str] = field(default_factory=Counter)
    answers: list[str] = field(default_factory=list)  # per listing, for agreement

    def to_json(self) -> str:
        return json.dumps({"wall": self.wall, "cpu": self.cpu, "outcome": self.outcome})

    @classmethod
    def from_json(cls, text: str) -> Measured:
        data = json.loads(text)
        return cls(wall=data["wall"], cpu=data["cpu"], outcome=Counter(data["outcome"]))


def _judge(kind: str, result: Identification, expected: int | None) -> str:
    if result.match is None:
        return f"{kind}: ambiguous" if result.ambiguous else f"{kind}: none"
    if expected is None:
        return f"{kind}: WRONG (matched a decoy/unknown)"
    if result.match.method is MatchMethod.ALBUM:
        right = expected in result.match.pressings
        return f"{kind}: album, {'right' if right else 'WRONG'}"
    if result.match.release_id == expected:
        return f"{kind}: right"
    return f"{kind}: WRONG (other release)"


def time_listings(catalog: SqlCatalog, cases: list[Case]) -> Measured:
    measured = Measured()
    for kind, item, expected in cases:
        cpu_started = time.thread_time_ns()
        started = time.perf_counter_ns()
        result = identify(item, catalog)
        elapsed = (time.perf_counter_ns() - started) / 1e6
        cpu = (time.thread_time_ns() - cpu_started) / 1e6
        for key in (kind, "all"):
            measured.wall.setdefault(key, []).append(elapsed)
            measured.cpu.setdefault(key, []).append(cpu)
        measured.outcome[_judge(kind, result, expected)] += 1
        measured.answers.append(_answer(result))
    return measured


def _answer(result: Identification) -> str:
    """The answer as a comparable value: release, method, pressings, ambiguity."""
    match = result.match
    if match is None:
        return f"none ambiguous={result.ambiguous} {sorted(result.candidates)}"
    return f"{match.release_id} {match.method.value} {sorted(match.pressings)}"


def count_work(conn: sa.Connection, cases: list[Case], measured: Measured) -> None:
    catalog = CountingCatalog(conn)
    for kind, item, _expected in cases:
        work = catalog.start()
        with counting_fuzz(work):
            identify(item, catalog)
        for key in (kind, "all"):
            measured.work.setdefault(key, []).append(work)


def profile_listings(catalog: SqlCatalog, cases: list[Case], top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _kind, item, _expected in cases:
        identify(item, catalog)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def measure_warm(url: str, cases: list[Case], warmup: list[Case], profile: int) -> Measured:
    """In this process, after `warmup`: times, then work counted, then the profile."""
    engine = open_database(url)
    with engine.connect() as conn:
        catalog = SqlCatalog(conn)
        # Steady state, as in the daemon: warm page cache and common-word counts.
        for _kind, item, _expected in warmup:
            identify(item, catalog)
        # The generator's own objects (hundreds of thousands) are not the matcher's:
        # keep the cyclic GC from walking them during the measurement.
        gc.collect()
        gc.freeze()
        measured = time_listings(catalog, cases)
        gc.unfreeze()
        count_work(conn, cases, measured)
        if profile:
            print(f"\nprofile: identify() over the same {len(cases):,} listings, warm")
            print(profile_listings(catalog, cases, profile))
    engine.dispose()
    return measured


@contextmanager
def busy_processes(count: int) -> Iterator[None]:
    """`count` processes spinning on the CPU for as long as the block runs."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])  # our own interpreter
        for _ in range(count)
    ]
    try:
        time.sleep(1.0)  # let them reach the run queue
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def measure_cold(url: str, listings: int, seed: int) -> Measured:
    """The first `listings` listings in a fresh process, without warm-up."""
    command = [sys.executable, __file__, "--cold-child", url, "--listings", str(listings)]
    done = subprocess.run(  # our own interpreter and script
        [*command, "--seed", str(seed)],
        check=True,
        capture_output=True,
        text=True,
    )
    return Measured.from_json(done.stdout.strip().splitlines()[-1])


def cold_child(url: str, listings: int, seed: int) -> None:
    cases = make_listings(load_sample(url), listings, seed)
    engine = open_database(url)
    with engine.connect() as conn:
        measured = time_listings(SqlCatalog(conn), cases)
    engine.dispose()
    print(measured.to_json())


# ---------------------------------------------------------------- reporting


def _ms(values: list[float]) -> str:
    return f"{percentile(values, 50):6.3f} {percentile(values, 99):7.3f}"


def _mean(values: list[Work], name: str) -> float:
    return statistics.fmean(getattr(w, name) for w in values)


def report(releases: int, cold: Measured, warm: Measured) -> None:
    print(f"\nidentify() against {releases:,} releases, milliseconds (p50 p99); work per listing")
    print(
        f"  {'kind':8} {'n':>5}  {'warm wall':>14}  {'warm cpu':>14}  {'cold wall':>14}"
        f"  {'queries':>7} {'fts rows':>8} {'rows':>5} {'fuzz':>5}"
    )
    kinds = ["all", *sorted(k for k in warm.wall if k != "all")]
    for kind in kinds:
        work = warm.work.get(kind, [])
        cold_wall = cold.wall.get(kind)
        print(
            f"  {kind:8} {len(warm.wall[kind]):5}  {_ms(warm.wall[kind])}  {_ms(warm.cpu[kind])}"
            f"  {_ms(cold_wall) if cold_wall else '-':>14}"
            f"  {_mean(work, 'queries'):7.2f} {_mean(work, 'fts_rows'):8.1f}"
            f" {_mean(work, 'rows'):5.1f} {_mean(work, 'fuzz'):5.1f}"
        )
    worst = sorted(warm.work["all"], key=lambda w: -w.fts_rows)[
        : max(1, len(warm.wall["all"]) // 100)
    ]
    print(
        f"  the 1 % of listings reading the most index rows: {_mean(worst, 'fts_rows'):.0f} rows, "
        f"{_mean(worst, 'queries'):.1f} queries on average"
    )
    print(f"  cold: the first {len(cold.wall['all']):,} listings in a fresh process, no warm-up")
    print("outcomes (warm):")
    for key, value in sorted(warm.outcome.items()):
        print(f"  {key:45} {value}")


def brute_force(url: str, cases: list[Case], baseline: int, seed: int, p50: float) -> None:
    """Every "artist title" string scored against the cleaned title."""
    engine = open_database(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT artist, title FROM releases").all()
    engine.dispose()
    choices = [f"{a} {t}" for a, t in rows]
    print(f"\nbrute force baseline: rapidfuzz extractOne over {len(choices):,} strings", flush=True)
    rng = random.Random(seed + 2)
    brute: list[float] = []
    for _kind, item, _expected in rng.sample(cases, min(baseline, len(cases))):
        query = clean_title(item.title)
        started = time.perf_counter_ns()
        process.extractOne(query, choices, scorer=fuzz.WRatio, score_cutoff=85)
        brute.append((time.perf_counter_ns() - started) / 1e6)
    b50 = percentile(brute, 50)
    print(f"  n={len(brute)}  p50 {b50:.1f} ms  p99 {percentile(brute, 99):.1f} ms")
    print(f"  identify() p50 is {b50 / p50:,.0f}x faster than brute force")


def run(args: argparse.Namespace) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, "
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}"
    )
    print(f"load average at start: {load_average()}")
    if args.database_url:
        side_by_side(args)
        return
    sizes = [args.releases]
    if args.growth_from and args.growth_from < args.releases:
        sizes.insert(0, args.growth_from)
    results: dict[int, tuple[Measured, Measured]] = {}
    url = ""
    cases: list[Case] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            if args.no_cache:
                url = f"sqlite:///{Path(tmp) / f'catalog-{size}.db'}"
                print(f"building a {size:,}-release catalog in {url} …", flush=True)
                build_catalog(url, size, args.seed)
            else:
                url = cached_catalog(size, args.seed, args.rebuild)
            sample = load_sample(url)
            cases = make_listings(sample, args.listings, args.seed)
            warmup = make_listings(sample, WARMUP_LISTINGS, args.seed + 100)
            print(f"{size:,} releases: cold run (fresh process) …", flush=True)
            cold = measure_cold(url, min(COLD_LISTINGS, args.listings), args.seed)
            print(f"{size:,} releases: warm run … (load average {load_average()})", flush=True)
            profile = args.profile if size == args.releases else 0
            warm = measure_warm(url, cases, warmup, profile)
            results[size] = (cold, warm)
            report(size, cold, warm)
            print(f"load average: {load_average()}", flush=True)
        busy_runs = busy_comparison(url, cases, warmup, args.busy)

        if len(sizes) > 1:
            small, big = sizes
            print(f"\ngrowth {small:,} → {big:,} releases (all listings)")
            print(
                f"  {'':10} {'cold p50':>9} {'cold p99':>9} {'warm p50':>9} {'warm p99':>9}"
                f" {'cpu p50':>8} {'cpu p99':>8} {'queries':>8} {'fts rows':>9}"
            )
            for size in sizes:
                cold, warm = results[size]
                print(
                    f"  {size:>10,} {percentile(cold.wall['all'], 50):9.3f}"
                    f" {percentile(cold.wall['all'], 99):9.3f}"
                    f" {percentile(warm.wall['all'], 50):9.3f}"
                    f" {percentile(warm.wall['all'], 99):9.3f}"
                    f" {percentile(warm.cpu['all'], 50):8.3f}"
                    f" {percentile(warm.cpu['all'], 99):8.3f}"
                    f" {_mean(warm.work['all'], 'queries'):8.2f}"
                    f" {_mean(warm.work['all'], 'fts_rows'):9.1f}"
                )
            ratio = percentile(results[big][1].cpu["all"], 50) / percentile(
                results[small][1].cpu["all"], 50
            )
            print(f"  warm cpu p50 grows {ratio:.2f}x for {big / small:.0f}x the releases")

        _cold, warm = results[args.releases]
        p50 = percentile(warm.wall["all"], 50)
        p99 = percentile(warm.wall["all"], 99)
        if args.baseline:
            brute_force(url, cases, args.baseline, args.seed, p50)
        wrong = sum(n for key, n in warm.outcome.items() if "WRONG" in key)
        targets = "MET" if p50 <= 1.0 and p99 <= 5.0 else "MISSED"
        print(
            f"\n{args.releases:,} releases, warm: p50 {p50:.3f} ms, p99 {p99:.3f} ms; "
            f"targets p50 <= 1 ms, p99 <= 5 ms: {targets}; {wrong} wrong matches"
        )
        for count, busy in busy_runs.items():
            b50 = percentile(busy.wall["all"], 50)
            b99 = percentile(busy.wall["all"], 99)
            met = "MET" if b50 <= 1.0 and b99 <= 5.0 else "MISSED"
            print(
                f"  beside {count} busy process{'es' if count > 1 else ''}: p50 {b50:.3f} ms, "
                f"p99 {b99:.3f} ms (cpu p99 {percentile(busy.cpu['all'], 99):.3f}): {met}"
            )
        print(f"load average at the end: {load_average()}")


def busy_comparison(
    url: str, cases: list[Case], warmup: list[Case], counts: Sequence[int]
) -> dict[int, Measured]:
    """The warm run again beside each count of spinning processes, from the same state as
    the first: the matcher's LRU caches emptied, then the same warm-up listings (else the
    replayed listings would find their own words cached)."""
    runs: dict[int, Measured] = {}
    for count in counts:
        clear_lru_caches()
        with busy_processes(count):
            print(f"warm run beside {count} busy processes … (load {load_average()})", flush=True)
            runs[count] = measure_warm(url, cases, warmup, 0)
        print(f"\nbeside {count} busy processes:", end="")
        report_wall(runs[count])
    return runs


def clear_lru_caches() -> None:
    """Empty every functools LRU cache of the project's modules."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("vinyl_detective"):
            continue
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def report_wall(measured: Measured) -> None:
    print(" wall p50 p99, cpu p50 p99 (milliseconds)")
    for kind in ["all", *sorted(k for k in measured.wall if k != "all")]:
        print(
            f"  {kind:8} {len(measured.wall[kind]):5}  {_ms(measured.wall[kind])}"
            f"  {_ms(measured.cpu[kind])}"
        )


# Targets by database (warm, 1,000,000 releases, all listings): p50, p99 in milliseconds.
TARGETS = {"sqlite": (1.0, 5.0), "postgresql": (2.0, 10.0)}


def create_if_missing(url: str) -> None:
    """A PostgreSQL database named in --database-url that the server lacks is created (on
    a new machine the benchmark should not stop at "database does not exist")."""
    target = sa.make_url(url)
    if target.get_backend_name() != "postgresql" or not target.database:
        return
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            ).first()
            if exists is None:
                quoted = conn.dialect.identifier_preparer.quote(target.database)
                conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
                print(f"created database {target.database!r} on {_shown(url)}", flush=True)
    finally:
        admin.dispose()


def side_by_side(args: argparse.Namespace) -> None:
    """SQLite (the cached catalog) and the database at --database-url, filled with the same
    releases (by COPY when it holds none), on the same listings in one run: each one's
    figures against its targets, and how many answers agree listing by listing."""
    sqlite_url = cached_catalog(args.releases, args.seed, args.rebuild)
    url = args.database_url
    create_if_missing(url)
    engine = open_database(url)
    with engine.connect() as conn:
        stored = int(conn.exec_driver_sql("SELECT count(*) FROM releases").scalar_one())
    engine.dispose()
    if not stored:
        print(f"copying the {args.releases:,}-release catalog into {_shown(url)} …", flush=True)
        copy_catalog(sqlite_url, url)
    elif stored != args.releases:
        raise SystemExit(f"{_shown(url)} holds {stored:,} releases, not {args.releases:,}")
    sample = load_sample(sqlite_url)
    cases = make_listings(sample, args.listings, args.seed)
    warmup = make_listings(sample, WARMUP_LISTINGS, args.seed + 100)
    warm_by: dict[str, Measured] = {}
    for name, target_url in (("sqlite", sqlite_url), (sa.make_url(url).get_backend_name(), url)):
        print(f"\n{name}: cold run (fresh process) …", flush=True)
        cold = measure_cold(target_url, min(COLD_LISTINGS, args.listings), args.seed)
        print(f"{name}: warm run … (load average {load_average()})", flush=True)
        warm_by[name] = measure_warm(target_url, cases, warmup, args.profile)
        print(f"\n{name}:", end="")
        report(args.releases, cold, warm_by[name])
        print(f"load average: {load_average()}", flush=True)
    print()
    for name, warm in warm_by.items():
        p50 = percentile(warm.wall["all"], 50)
        p99 = percentile(warm.wall["all"], 99)
        t50, t99 = TARGETS.get(name, TARGETS["postgresql"])
        met = "MET" if p50 <= t50 and p99 <= t99 else "MISSED"
        wrong = sum(n for key, n in warm.outcome.items() if "WRONG" in key)
        print(
            f"{name:10} {args.releases:,} releases, warm: p50 {p50:.3f} ms, p99 {p99:.3f} ms; "
            f"targets p50 <= {t50:g} ms, p99 <= {t99:g} ms: {met}; {wrong} wrong matches"
        )
    first, other = warm_by.values()
    same = sum(a == b for a, b in zip(first.answers, other.answers, strict=True))
    print(f"answers agreeing with SQLite's, listing by listing: {same:,} of {len(cases):,}")
    differing = [
        (kind, item.title, a, b)
        for (kind, item, _), a, b in zip(cases, first.answers, other.answers, strict=True)
        if a != b
    ]
    for kind, title, a, b in differing[:10]:
        print(f"  {kind:8} {title!r}\n    sqlite: {a}\n    other:  {b}")
    print(f"load average at the end: {load_average()}")


def _shown(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1_000_000)
    parser.add_argument(
        "--growth-from", type=int, default=100_000, help="a smaller catalog first (0: none)"
    )
    parser.add_argument("--listings", type=int, default=3_000)
    parser.add_argument("--baseline", type=int, default=10, help="listings for brute force")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--profile", type=int, nargs="?", const=25, default=0, help="cProfile, top N entries"
    )
    parser.add_argument(
        "--busy",
        type=int,
        nargs="*",
        default=[],
        metavar="N",
        help="also time the warm run beside N spinning processes (several counts allowed)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached catalogs")
    parser.add_argument("--no-cache", action="store_true", help="build in a temporary directory")
    parser.add_argument(
        "--database-url", help="build (when it holds no releases) and match in this database"
    )
    parser.add_argument("--cold-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold_child:
        cold_child(args.cold_child, args.listings, args.seed)
        return 0
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
