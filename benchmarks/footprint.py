"""Start-up and footprint on a Raspberry Pi class machine (issue 12, target 4).

Prints each figure beside its target:

    --help, status   wall time of a fresh `vinyl-detective` process, median of --runs (CPU
                     time beside it: the machine is shared), status against the database
                     the daemon below filled; then the top of `python -X importtime` for
                     status
    idle RSS         `vinyl-detective run` alone, in its own process, against the fakes
                     `vinyl-detective fakes` serves (the same servers, run here so that
                     this script can feed them), with the demo's six searches: RSS once
                     its first cycle is done (backfills complete, every listing judged,
                     no alert owed) and it has been quiet for a while
    RSS over time    the same daemon while the demo market runs: new listings arrive as in
                     `vinyl-detective demo` (three every 8 s, one of them by a watched
                     artist); RSS sampled every --sample-seconds for --minutes
    cache bounds     every in-process cache that may grow, its stated bound, and for the
                     LRU caches the bytes an entry takes (measured here on the sample
                     market's names), so the bound is also in megabytes

    .venv/bin/python benchmarks/footprint.py                 # ~13 minutes: 10 of market
    .venv/bin/python benchmarks/footprint.py --minutes 60    # the target's hour
    .venv/bin/python benchmarks/footprint.py --minutes 0     # start-up and idle only

Targets: --help and status <= 0.3 s on an idle machine; daemon idle RSS <= 80 MB, flat over
an hour of the demo market (after the first minutes, RSS moves by no more than
FLAT_MB: what still grows must be a cache with a stated bound). Exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vinyl_detective.clock import utcnow
from vinyl_detective.demo import (
    DEMO_APP_ID,
    DEMO_CERT_ID,
    DEMO_CHAT_ID,
    DEMO_DISCOGS_TOKEN,
    DEMO_TELEGRAM_TOKEN,
    FakeServices,
    demo_queries,
    serve_fakes,
)
from vinyl_detective.domain.query import query_matches
from vinyl_detective.fakes.sample_data import SampleMarket, arrivals

START_TARGET_S = 0.3
IDLE_TARGET_MB = 80.0
FLAT_MB = 2.0  # after the warm-up, RSS may move this much and still count as flat
WARM_UP_SHARE = 0.25  # the first quarter of the market run: the caches fill
FEED_EVERY_S = 8.0  # as `vinyl-detective demo` does
QUIET_S = 15.0  # after the first cycle, before idle RSS is read


def daemon_command() -> list[str]:
    script = Path(sys.executable).with_name("vinyl-detective")
    if script.exists():
        return [str(script)]
    found = shutil.which("vinyl-detective")
    return [found] if found else [sys.executable, "-m", "vinyl_detective"]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} / {fifteen:.2f}"


def say(text: str = "") -> None:
    print(text, flush=True)


# -- start-up -----------------------------------------------------------------------------


@dataclass
class Timing:
    wall: list[float]
    cpu: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.wall)


def time_command(args: list[str], env: dict[str, str], cwd: Path, runs: int) -> Timing:
    """Wall and CPU (user + system) seconds of `runs` fresh processes, one at a time."""
    wall, cpu = [], []
    for _ in range(runs):
        with tempfile.TemporaryFile() as errors:
            began = time.perf_counter()
            proc = subprocess.Popen(
                args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall.append(time.perf_counter() - began)
            cpu.append(usage.ru_utime + usage.ru_stime)
            if os.waitstatus_to_exitcode(status) != 0:
                errors.seek(0)
                raise SystemExit(f"{' '.join(args)} failed: {errors.read().decode()[-500:]}")
    return Timing(wall, cpu)


def report_timing(name: str, timing: Timing) -> bool:
    met = timing.median <= START_TARGET_S
    say(
        f"{name:<22} median {timing.median * 1000:6.0f} ms (min {min(timing.wall) * 1000:.0f}, "
        f"max {max(timing.wall) * 1000:.0f}; CPU {statistics.median(timing.cpu) * 1000:.0f} ms)"
        f"   target <= {START_TARGET_S * 1000:.0f} ms: {'met' if met else 'MISSED'}   [{load()}]"
    )
    return met


def importtime_top(env: dict[str, str], cwd: Path, top: int = 12) -> None:
    """`python -X importtime` of status: the top-level imports by cumulative time."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vinyl_detective", "status"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if found:
            depth = len(found.group(3)) // 2
            rows.append((int(found.group(2)), int(found.group(1)), depth, found.group(4)))
    total = sum(cumulative for cumulative, _, depth, _ in rows if depth == 0)
    say(f"`python -X importtime -m vinyl_detective status`: {total / 1000:.0f} ms of imports")
    say(f"  {'cumulative':>10} {'self':>7}  module (nesting)")
    for cumulative, own, depth, name in sorted(rows, reverse=True)[:top]:
        say(f"  {cumulative / 1000:8.1f} ms {own / 1000:5.1f} ms  {'  ' * depth}{name}")


# -- the daemon ---------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon (kB) and Threads of a process.

    RssAnon is the process's own memory (heap, caches); the rest of VmRSS is file pages
    (the interpreter, shared libraries) that the kernel drops and reads back when other
    processes need memory, so growth is judged on RssAnon and VmRSS is shown beside it."""
    out = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "Threads"):
                out[key] = int(value.split()[0])
    return out


def database_connections(pid: int, database: Path) -> int:
    """How many SQLite connections the process holds on `database` (open descriptors)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(fd) == str(database):
                count += 1
    return count


def db_counts(database: Path) -> dict[str, int]:
    """Progress of the daemon, read from its database (stdlib, read-only)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:

        def one(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        return {
            "searches": one("SELECT count(*) FROM saved_searches"),
            "backfilled": one(
                "SELECT count(*) FROM search_checkpoints WHERE completed_at IS NOT NULL"
            ),
            "listings": one("SELECT count(*) FROM listings"),
            "unjudged": one("SELECT count(*) FROM listings WHERE processed_at IS NULL"),
            "pending": one("SELECT count(*) FROM alert_log WHERE status = 'pending'"),
            "sent": one("SELECT count(*) FROM alert_log WHERE status = 'sent'"),
        }
    finally:
        conn.close()


def quiescent(database: Path) -> bool:
    try:
        c = db_counts(database)
    except sqlite3.Error:
        return False  # not made yet, or busy
    return c["backfilled"] >= c["searches"] > 0 and c["unjudged"] == 0 and c["pending"] == 0


def daemon_env(fakes: FakeServices, database: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
    return {
        **keep,
        "DATABASE_URL": f"sqlite:///{database}",
        # What `vinyl-detective fakes` prints for a daemon's .env:
        "EBAY_API_BASE_URL": fakes.ebay_url,
        "EBAY_APP_ID": DEMO_APP_ID,
        "EBAY_CERT_ID": DEMO_CERT_ID,
        "DISCOGS_API_BASE_URL": fakes.discogs_url,
        "DISCOGS_TOKEN": DEMO_DISCOGS_TOKEN,
        "TELEGRAM_API_BASE_URL": fakes.telegram_url,
        "TELEGRAM_TOKEN": DEMO_TELEGRAM_TOKEN,
        "TELEGRAM_ALLOWED_CHAT_IDS": str(DEMO_CHAT_ID),
        "POLL_MINUTES": "1",
        "LOG_LEVEL": "INFO",
    }


def save_demo_searches(database: Path, market: SampleMarket) -> list[str]:
    from vinyl_detective.service import SearchService
    from vinyl_detective.storage.db import open_database

    engine = open_database(f"sqlite:///{database}")
    service = SearchService(engine, utcnow, default_poll_minutes=1)
    queries = demo_queries(market)
    for query in queries:
        service.add(query, chat_id=DEMO_CHAT_ID)
    engine.dispose()
    return queries


class Feeder(threading.Thread):
    """New listings on the fake eBay as `vinyl-detective demo` adds them."""

    def __init__(self, fakes: FakeServices, queries: list[str]) -> None:
        super().__init__(daemon=True)
        self.fakes = fakes
        self.queries = queries
        self.stop = threading.Event()
        self.added = 0

    def run(self) -> None:
        stream = arrivals(self.fakes.market, seed=11, start=utcnow(), per_hour=1200)

        def watched(item: dict[str, Any]) -> bool:
            return any(query_matches(q, item["title"]) for q in self.queries)

        while not self.stop.is_set():
            batch = [next(stream), next(stream)]
            batch.append(next(item for item in stream if watched(item)))
            self.fakes.ebay.add_items(batch)
            self.added += len(batch)
            self.stop.wait(FEED_EVERY_S)


@dataclass
class Sample:
    at: float  # seconds since the market started
    rss_mb: float
    anon_mb: float  # RssAnon: what the process itself holds
    listings: int
    sent: int
    connections: int
    db_mb: float


def mb(kilobytes: int) -> float:
    return kilobytes / 1024


def run_daemon(args: argparse.Namespace, workdir: Path) -> tuple[bool, Path, dict[str, str]]:
    """Idle RSS and RSS over the market run; returns (targets met, database, env)."""
    database = workdir / "vinyl_detective.db"
    met = True
    with serve_fakes() as fakes:
        queries = save_demo_searches(database, fakes.market)
        env = daemon_env(fakes, database)
        log_path = workdir / "daemon.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [*daemon_command(), "run"], env=env, cwd=workdir, stdout=log, stderr=log
            )
        try:
            began = time.monotonic()
            time.sleep(3)
            start = proc_status(proc.pid)
            say(f"daemon started (pid {proc.pid}): RSS {mb(start['VmRSS']):.1f} MB after 3 s")
            while not quiescent(database):
                if proc.poll() is not None:
                    raise SystemExit(f"the daemon exited ({proc.returncode}); see {log_path}")
                if time.monotonic() - began > args.first_cycle_limit:
                    raise SystemExit(f"no quiet database after {args.first_cycle_limit} s")
                time.sleep(1)
            first_cycle = time.monotonic() - began
            time.sleep(QUIET_S)
            readings = []
            for _ in range(5):
                readings.append(proc_status(proc.pid))
                time.sleep(1)
            idle = statistics.median(mb(r["VmRSS"]) for r in readings)
            idle_anon = statistics.median(mb(r["RssAnon"]) for r in readings)
            counts = db_counts(database)
            ok = idle <= IDLE_TARGET_MB
            met &= ok
            say(
                f"{'daemon idle RSS':<22} {idle:6.1f} MB ({idle_anon:.1f} MB anon; peak so far "
                f"{mb(readings[-1]['VmHWM']):.1f} MB; {readings[-1]['Threads']} threads; "
                f"{database_connections(proc.pid, database)} SQLite connections)   "
                f"target <= {IDLE_TARGET_MB:.0f} MB: {'met' if ok else 'MISSED'}   [{load()}]"
            )
            say(
                f"  first cycle done {first_cycle:.0f} s after start: {counts['listings']} "
                f"listings, {counts['sent']} alerts sent, {len(queries)} searches"
            )
            if args.minutes > 0:
                met &= market_run(args, fakes, queries, proc.pid, database, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        tracebacks = log_path.read_bytes().count(b"Traceback")
        if tracebacks:
            say(f"  {tracebacks} traceback(s) in the daemon's log ({log_path})")
    return met, database, env


def market_run(
    args: argparse.Namespace,
    fakes: FakeServices,
    queries: list[str],
    pid: int,
    database: Path,
    log_path: Path,
) -> bool:
    say()
    say(
        f"The demo market for {args.minutes:g} min (RSS every {args.sample_seconds:g} s) [{load()}]"
    )
    say(
        f"  {'min':>6} {'RSS MB':>7} {'anon MB':>8} {'listings':>9} {'alerts':>7} "
        f"{'conns':>5} {'DB MB':>6}"
    )
    feeder = Feeder(fakes, queries)
    feeder.start()
    samples: list[Sample] = []
    began = time.monotonic()
    end = began + args.minutes * 60
    try:
        while True:
            now = time.monotonic()
            status = proc_status(pid)
            counts = db_counts(database)
            sample = Sample(
                at=now - began,
                rss_mb=mb(status["VmRSS"]),
                anon_mb=mb(status["RssAnon"]),
                listings=counts["listings"],
                sent=counts["sent"],
                connections=database_connections(pid, database),
                db_mb=database.stat().st_size / 2**20,
            )
            samples.append(sample)
            say(
                f"  {sample.at / 60:6.1f} {sample.rss_mb:7.1f} {sample.anon_mb:8.1f} "
                f"{sample.listings:9d} "
                f"{sample.sent:7d} {sample.connections:5d} {sample.db_mb:6.1f}"
            )
            if now >= end:
                break
            time.sleep(min(args.sample_seconds, max(0.0, end - now)))
    finally:
        feeder.stop.set()
        feeder.join()
    warm = [s for s in samples if s.at >= args.minutes * 60 * WARM_UP_SHARE]
    anon = [s.anon_mb for s in warm]
    rss = [s.rss_mb for s in warm]
    moved = max(anon) - min(anon)
    first_half = [s.anon_mb for s in samples if s.at < args.minutes * 30]
    second_half = [s.anon_mb for s in samples if s.at >= args.minutes * 30]
    slope = _slope([(s.at / 3600, s.anon_mb) for s in warm])
    flat = moved <= FLAT_MB
    halves = f"{statistics.median(first_half):.1f} / {statistics.median(second_half):.1f}"
    say(
        f"{'anon RSS over market':<22} start {samples[0].anon_mb:.1f}, "
        f"max {max(s.anon_mb for s in samples):.1f}, end {samples[-1].anon_mb:.1f} MB; after "
        f"the warm-up ({WARM_UP_SHARE:.0%}) it moved {moved:.1f} MB ({slope:+.1f} MB/h); "
        f"median of each half {halves} MB   "
        f"target flat (<= {FLAT_MB:g} MB): {'met' if flat else 'MISSED'}   [{load()}]"
    )
    say(
        f"{'RSS over the market':<22} start {samples[0].rss_mb:.1f}, "
        f"max {max(s.rss_mb for s in samples):.1f}, end {samples[-1].rss_mb:.1f} MB; after "
        f"the warm-up between {min(rss):.1f} and {max(rss):.1f} MB (file pages come and go "
        "with the machine's other work)"
    )
    say(
        f"  {feeder.added} listings fed, {samples[-1].listings - samples[0].listings} stored, "
        f"{samples[-1].sent - samples[0].sent} alerts sent meanwhile; "
        f"peak RSS {mb(proc_status(pid)['VmHWM']):.1f} MB"
    )
    return flat


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (MB per hour) of (hours, MB) points."""
    if len(points) < 2:
        return 0.0
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


# -- cache bounds -------------------------------------------------------------------------


def _words(texts: Iterable[str]) -> Iterator[str]:
    for text in texts:
        yield from text.split()


def _names(market: SampleMarket) -> dict[str, list[str]]:
    """Realistic inputs for each kind of cache key, from the sample market."""
    artists = [a["name"] for r in market.releases for a in r.get("artists", [])]
    titles = [r["title"] for r in market.releases]
    labels = [label["name"] for r in market.releases for label in r.get("labels", [])]
    listing_titles = [item["title"] for item in market.items]
    return {
        "artist": artists,
        "title": titles,
        "label": labels,
        "text": artists + titles + labels,
        "token": list(_words(listing_titles)),
        "query": demo_queries(market, 50),
    }


# What each LRU cache of the daemon is keyed by (the inputs it is measured with).
LRU_INPUTS = {
    "vinyl_detective.domain.title_noise.normalize_text": "text",
    "vinyl_detective.domain.title_identifiers._is_noise": "token",
    "vinyl_detective.domain.release_fit._artist_variants": "artist",
    "vinyl_detective.domain.release_fit._title_variants": "title",
    "vinyl_detective.domain.pressing_evidence._seller_noise": "token",
    "vinyl_detective.domain.pressing_evidence._label_phrase": "label",
    "vinyl_detective.domain.query.parse_query": "query",
}


def lru_caches() -> list[tuple[str, Any]]:
    """Every functools LRU cache in the modules the daemon loads."""
    import vinyl_detective.daemon  # noqa: F401 - loads what the daemon loads

    found = []
    for name, module in sorted(sys.modules.items()):
        if module is None or not name.startswith("vinyl_detective"):
            continue
        if name.startswith(("vinyl_detective.fakes", "vinyl_detective.demo")):
            continue  # loaded by this script, not by the daemon
        for attr, value in vars(module).items():
            if callable(value) and hasattr(value, "cache_info") and value.__module__ == name:
                found.append((f"{name}.{attr}", value))
    return found


def bytes_per_entry(fn: Any, inputs: list[str], count: int) -> float:
    """Memory the cache holds per entry: `count` distinct realistic keys (real names, then
    the same names numbered once the real ones run out), traced by tracemalloc."""
    distinct = list(dict.fromkeys(inputs))

    def keys() -> Iterator[str]:
        yield from distinct
        n = 0
        while True:
            n += 1
            for text in distinct:
                yield f"{text} {n}"

    fn.cache_clear()
    wanted = list(zip(range(count), keys(), strict=False))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _, key in wanted:
        fn(key)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    entries = fn.cache_info().currsize
    fn.cache_clear()
    return float(after - before) / max(1, int(entries))


def common_counts_bytes(count: int = 50_000) -> float:
    """Bytes per entry of storage/sqlite_words.py's COMMON_COUNTS: (database URL, word) -> n."""
    url = "sqlite:////home/pi/vinyl_detective.db"
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    table = {(url, f"word{i:06d}"): 300 + i for i in range(count)}
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del table
    return (after - before) / count


def rare_counts_bytes(count: int = 50_000) -> float:
    """Bytes per entry of one database's table in storage/sqlite_words.py's _RARE_COUNTS:
    word -> n, n below COMMON_WORD."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    table = {f"word{i:06d}": i % 300 for i in range(count)}
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del table
    return (after - before) / count


def cache_bounds(database: Path | None) -> None:
    from vinyl_detective.fakes.sample_data import build_sample_market
    from vinyl_detective.notify.telegram_bot import REFUSED_CHATS_REMEMBERED
    from vinyl_detective.storage.db import SQLITE_PRAGMAS
    from vinyl_detective.storage.sqlite_words import RARE_COUNTS_KEPT

    say()
    say("Caches that may grow, and their bounds")
    market = build_sample_market(now=utcnow())
    names = _names(market)
    total = 0.0
    rows: list[tuple[str, str, str]] = []
    for qualified, fn in lru_caches():
        maxsize = fn.cache_info().maxsize
        if maxsize is None:  # functools.cache: bounded by its arguments' values
            params = len(inspect.signature(fn).parameters)
            what = "one value (no arguments)" if params == 0 else "UNBOUNDED"
            rows.append((qualified, "functools.cache", what))
            continue
        kind = LRU_INPUTS.get(qualified)
        if kind is None:
            rows.append((qualified, f"LRU, {maxsize:,} entries", "not measured"))
            continue
        per = bytes_per_entry(fn, names[kind], min(maxsize, 20_000))
        worst = per * maxsize / 2**20
        total += worst
        rows.append(
            (qualified, f"LRU, {maxsize:,} entries", f"~{per:.0f} B each: <= {worst:.1f} MB")
        )
    per = common_counts_bytes()
    common_limit = 200_000  # storage/sqlite_words.py clears the table beyond this many entries
    total += per * common_limit / 2**20
    rows.append(
        (
            "vinyl_detective.storage.sqlite_words.COMMON_COUNTS",
            f"dict, cleared beyond {common_limit:,}",
            f"~{per:.0f} B each: <= {per * common_limit / 2**20:.1f} MB (only words in >= 300 "
            "releases: a 1M-release catalog has ~5M words, so <= ~17k of them)",
        )
    )
    per = rare_counts_bytes()
    total += per * RARE_COUNTS_KEPT / 2**20  # the daemon's one database
    rows.append(
        (
            "vinyl_detective.storage.sqlite_words._RARE_COUNTS",
            f"dict, cleared beyond {RARE_COUNTS_KEPT:,}",
            f"~{per:.0f} B each: <= {per * RARE_COUNTS_KEPT / 2**20:.1f} MB per database (the "
            "daemon opens one; at most 17 kept); forgotten when the full-text index changes",
        )
    )
    cache_pragma = next(p for p in SQLITE_PRAGMAS if "cache_size" in p)
    kib = -int(cache_pragma.rsplit("=", 1)[1])
    size = f"; this run's database: {database.stat().st_size / 2**20:.1f} MB" if database else ""
    rows.append(
        (
            "SQLite page cache",
            f"{cache_pragma.removeprefix('PRAGMA ')}",
            f"<= {kib / 1024:.1f} MB per connection, and never more than the database{size}",
        )
    )
    rows.append(
        (
            "SQLAlchemy compiled statements",
            "LRU, 500 per engine",
            "the statements the code has (a few hundred), not per listing",
        )
    )
    rows.append(
        (
            "python-telegram-bot",
            "no persistence",
            "chat_data/user_data only when a handler asks (ours never do); the update "
            "queue is drained as it fills",
        )
    )
    rows.append(
        (
            "the bot's refused chats (logged once)",
            f"set, cleared beyond {REFUSED_CHATS_REMEMBERED:,}",
            "one int per stranger chat that wrote to the bot: < 1 MB",
        )
    )
    width = max(len(name) for name, _, _ in rows)
    for name, bound, size_text in rows:
        say(f"  {name:<{width}}  {bound:<32} {size_text}")
    say(
        f"  LRU caches, COMMON_COUNTS and _RARE_COUNTS (one database) together: <= {total:.0f} MB "
        "when all are full"
    )


# -- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="of demo market (0: none)")
    parser.add_argument("--sample-seconds", type=float, default=30.0, help="between RSS samples")
    parser.add_argument("--runs", type=int, default=9, help="fresh processes per command timed")
    parser.add_argument("--first-cycle-limit", type=float, default=300.0, help="seconds")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    say(f"footprint.py {' '.join(sys.argv[1:])}  [{load()}; {os.cpu_count()} cores]")
    workdir = Path(tempfile.mkdtemp(prefix="vd-footprint-"))
    met = True
    try:
        plain_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")} | {
            "DATABASE_URL": f"sqlite:///{workdir / 'vinyl_detective.db'}"
        }
        command = daemon_command()
        met &= report_timing(
            "--help", time_command([*command, "--help"], plain_env, workdir, args.runs)
        )
        daemon_met, database, env = run_daemon(args, workdir)
        met &= daemon_met
        say()
        met &= report_timing("status", time_command([*command, "status"], env, workdir, args.runs))
        importtime_top(env, workdir)
        cache_bounds(database)
    finally:
        if args.keep:
            say(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    say()
    say(f"targets {'all met' if met else 'NOT all met'}  [{load()}]")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
