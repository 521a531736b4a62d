"""How fast does a Discogs releases dump import, and what does it cost?

Generates a synthetic dump of N releases (default 1,000,000; cached under benchmarks/out/,
which git ignores), imports it into a fresh SQLite file with the real job
(`vinyl_detective.jobs.import_dump.import_dump`) in a child process, and prints, first,
the wall-clock rate beside its target, then:

- the whole process tree's peak memory (the importing process and its parser processes),
  sampled from /proc every 0.1 s: RSS summed over the tree (pages shared by a forked
  parser and its parent counted twice) and PSS (shared pages split: what the tree really
  holds), beside each process's own peak RSS;
- CPU time of the importing process and of its parser processes;
- the load average before and after (the machine is shared: say it beside every figure);
- a digest of the imported catalog (every `releases` column but `updated_at`, the
  identifier rows, the full-text index's vocabulary with its counts, the schema) compared
  with the digest stored for that dump in `benchmarks/import-digests.json`: a faster
  import must import the same catalog.

    .venv/bin/python benchmarks/import_dump.py                    # 1,000,000 releases
    .venv/bin/python benchmarks/import_dump.py --releases 100000 --serial
    .venv/bin/python benchmarks/import_dump.py --profile          # cProfile of the main process
    .venv/bin/python benchmarks/import_dump.py --against /tmp/old/src --repeat 2
    .venv/bin/python benchmarks/import_dump.py --real             # the real 2020 excerpt
    .venv/bin/python benchmarks/import_dump.py --write-digest     # store this run's digest

`--against SRC` imports the same dump with another checkout's `src` (e.g. `git archive
main src | tar -x -C /tmp/old`) alternating with this one, so both see the same load, and
checks that both imported the same catalog. `--real` imports the real dump excerpt of
`../shared/data` serially and with parser processes and checks both digests.

Targets: >= 20,000 releases/s wall clock at 1,000,000 releases, peak RSS of the whole
process tree < 300 MB.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
SRC = HERE.parent / "src"
DIGESTS = HERE / "import-digests.json"
REAL_DUMP = HERE.parent.parent / "shared/data/discogs-dump/discogs_20200806_releases.sample.xml.gz"
TARGET_RATE = 20_000
TARGET_RSS_MB = 300


def _dump_path(count: int, seed: int) -> Path:
    from vinyl_detective.fakes.dump_generator import GENERATOR_VERSION

    return OUT / f"synthetic_{count}_seed{seed}_v{GENERATOR_VERSION}_releases.xml.gz"


def _ensure_dump(count: int, seed: int) -> Path:
    from vinyl_detective.fakes.dump_generator import write_synthetic_dump

    path = _dump_path(count, seed)
    if path.exists():
        print(f"dump            cached {path.name} ({path.stat().st_size / 1e6:.0f} MB)")
        return path
    started = time.perf_counter()
    partial = path.with_name(f"partial-{path.name}")
    write_synthetic_dump(partial, count, seed=seed)
    partial.rename(path)
    print(
        f"dump            generated {count:,} releases in {time.perf_counter() - started:.0f}s "
        f"({path.stat().st_size / 1e6:.0f} MB)"
    )
    return path


def _xml_bytes(path: Path) -> int:
    total = 0
    with gzip.open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            total += len(chunk)
    return total


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- The catalog digest ----------------------------------------------------------------------


def catalog_digest(db_file: Path) -> dict[str, Any]:
    """What the import stored, as digests: rows of `releases` (without `updated_at`, the
    time of the import), `release_identifiers`, the full-text index's vocabulary (every
    term with its document and occurrence counts) and the schema; the index's own
    integrity check; the distinct `updated_at` values and the journal mode left behind."""
    conn = sqlite3.connect(db_file)
    try:
        columns = [
            row[1] for row in conn.execute("PRAGMA table_info(releases)") if row[1] != "updated_at"
        ]

        def digest(query: str) -> tuple[str, int]:
            h = hashlib.sha256()
            count = 0
            cursor = conn.execute(query)
            while rows := cursor.fetchmany(10_000):
                count += len(rows)
                h.update(repr(rows).encode())
            return h.hexdigest()[:16], count

        releases, n_releases = digest(f"SELECT {', '.join(columns)} FROM releases ORDER BY id")
        identifiers, n_identifiers = digest(
            "SELECT release_id, kind, value FROM release_identifiers "
            "ORDER BY release_id, kind, value"
        )
        conn.execute(
            "CREATE VIRTUAL TABLE temp.bench_vocab USING fts5vocab(main, releases_fts, row)"
        )
        vocabulary, n_terms = digest("SELECT term, doc, cnt FROM temp.bench_vocab ORDER BY term")
        schema, _ = digest(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        )
        try:
            conn.execute("INSERT INTO releases_fts(releases_fts) VALUES ('integrity-check')")
            fts_ok = "ok"
        except sqlite3.DatabaseError as exc:
            fts_ok = f"FAILED: {exc}"
        updated = [r[0] for r in conn.execute("SELECT DISTINCT updated_at FROM releases LIMIT 3")]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    return {
        "releases": f"{n_releases} rows {releases}",
        "identifiers": f"{n_identifiers} rows {identifiers}",
        "fulltext": f"{n_terms} terms {vocabulary}, integrity {fts_ok}",
        "schema": schema,
        "updated_at": f"{len(updated)} distinct, e.g. {updated[0] if updated else None}",
        "journal_mode": journal,
    }


def _comparable(digest: dict[str, Any]) -> dict[str, Any]:
    # The `updated_at` example is the time of the import: only its count must agree.
    kept = dict(digest)
    kept["updated_at"] = str(kept["updated_at"]).split(",")[0]
    return kept


def _check_digest(key: str, digest: dict[str, Any], write: bool) -> str:
    stored: dict[str, Any] = json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}
    if write:
        stored[key] = _comparable(digest)
        DIGESTS.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
        return f"stored as {key} in {DIGESTS.name}"
    if key not in stored:
        return f"no digest stored for {key} (--write-digest stores one)"
    if stored[key] == _comparable(digest):
        return f"SAME as stored for {key}"
    differs = [k for k in stored[key] if stored[key][k] != _comparable(digest).get(k)]
    return f"DIFFERENT from stored for {key}: {', '.join(differs)}"


# --- Memory of the process tree --------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    found = [pid]
    for each in found:
        try:
            for task in os.listdir(f"/proc/{each}/task"):
                with open(f"/proc/{each}/task/{task}/children") as f:
                    found.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return found


def _rss_pss_kb(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class TreeMemory:
    """Samples the memory of a process and all its descendants every `every` seconds."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid = pid
        self.every = every
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _tree(self.pid)
            sizes = [_rss_pss_kb(p) for p in pids]
            self.peak_rss_kb = max(self.peak_rss_kb, sum(s[0] for s in sizes))
            self.peak_pss_kb = max(self.peak_pss_kb, sum(s[1] for s in sizes))
            self.peak_processes = max(self.peak_processes, sum(1 for s in sizes if s[0]))
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# --- One import, in a child process ----------------------------------------------------------


def _child(args: argparse.Namespace) -> int:
    """Import `args.dump` into a fresh `args.db` with whatever `vinyl_detective` is on the
    path; print one JSON line of figures. Run by `_import_in_child`."""
    import cProfile
    import logging
    import pstats
    import resource

    from vinyl_detective.jobs.import_dump import LogProgress, import_dump
    from vinyl_detective.storage.db import open_database

    db_file = Path(args.db)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    engine = open_database(f"sqlite:///{db_file}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profiler = cProfile.Profile() if args.profile else None
    cpu_before = time.process_time()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    stats = import_dump(
        engine,
        Path(args.dump),
        now=lambda: datetime.now(UTC),
        progress=LogProgress(every=max(args.releases // 5, 1)),
        batch_size=args.batch_size,
        parallel=not args.serial,
        workers=args.workers,
        resume=False,
    )
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    engine.dispose()
    if profiler is not None:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    print(
        json.dumps(
            {
                "written": stats.releases,
                "parsed": stats.parsed,
                "seconds": seconds,
                "cpu_main": cpu,
                "cpu_workers": children.ru_utime
                + children.ru_stime
                - children_before.ru_utime
                - children_before.ru_stime,
                "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rss_main_before_mb": rss_before,
                "rss_worker_mb": children.ru_maxrss / 1024,
            }
        )
    )
    return 0


def _import_in_child(
    dump: Path, db_file: Path, src: Path, args: argparse.Namespace
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--dump",
        str(dump),
        "--db",
        str(db_file),
        "--releases",
        str(args.releases),
        "--batch-size",
        str(args.batch_size),
        "--workers",
        str(args.workers),
    ]
    if args.serial:
        command.append("--serial")
    if args.profile:
        command.append("--profile")
    env = {**os.environ, "PYTHONPATH": str(src)}
    load_before = _load()
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    memory = TreeMemory(process.pid)
    out, _ = process.communicate()
    memory.stop()
    total = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"the import failed (exit code {process.returncode})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result.update(
        load_before=load_before,
        load_after=_load(),
        process_seconds=total,
        tree_rss_mb=memory.peak_rss_kb / 1024,
        tree_pss_mb=memory.peak_pss_kb / 1024,
        tree_processes=memory.peak_processes,
        src=str(src),
    )
    return result


def _report(label: str, r: dict[str, Any], args: argparse.Namespace) -> None:
    rate = r["parsed"] / r["seconds"]
    met = "met" if rate >= TARGET_RATE else "MISSED"
    tree_met = "met" if r["tree_rss_mb"] < TARGET_RSS_MB else "MISSED"
    workers = 0 if args.serial else args.workers
    print(f"--- {label} ({r['src']})")
    print(
        f"wall clock      {rate:,.0f} releases/s = {r['parsed']:,} in {r['seconds']:.1f} s "
        f"(target >= {TARGET_RATE:,}: {met}); the process ran {r['process_seconds']:.1f} s "
        "with its start"
    )
    print(
        f"tree memory     peak RSS {r['tree_rss_mb']:.0f} MB summed over {r['tree_processes']} "
        f"processes (target < {TARGET_RSS_MB}: {tree_met}), peak PSS {r['tree_pss_mb']:.0f} MB; "
        f"own peaks: main {r['rss_main_mb']:.0f} MB (before the import "
        f"{r['rss_main_before_mb']:.0f}), largest parser {r['rss_worker_mb']:.0f} MB"
    )
    print(
        f"load average    {r['load_before']} before, {r['load_after']} after (nproc "
        f"{os.cpu_count()})"
    )
    print(
        f"CPU             main {r['cpu_main']:.1f} s, {workers} parser processes "
        f"{r['cpu_workers']:.1f} s together = {r['cpu_main'] + r['cpu_workers']:.1f} s "
        f"({(r['cpu_main'] + r['cpu_workers']) / r['parsed'] * 1e6:.0f} µs per release)"
    )
    print(f"releases        {r['written']:,} written of {r['parsed']:,} read")


def _match_latency(db_url: str, listings: int, seed: int) -> dict[str, float]:
    """The matcher over the imported catalog, for listings made from random releases."""
    import sqlalchemy as sa

    from vinyl_detective.domain.listing_text import format_family
    from vinyl_detective.domain.matching import identify
    from vinyl_detective.domain.models import Listing
    from vinyl_detective.storage.catalog_lookup import SqlCatalog
    from vinyl_detective.storage.db import create_db_engine
    from vinyl_detective.storage.schema import releases

    noise = ("VG+", "NM", "1st press", "RARE", "OG", "EX", "")
    format_noise = {"vinyl": ("LP", "vinyl", "180g"), "cd": ("CD",), "cassette": ("cassette",)}
    engine = create_db_engine(db_url)
    rng = random.Random(seed)
    timings: list[float] = []
    right = other = none = 0
    with engine.connect() as conn:
        top = conn.execute(sa.select(sa.func.max(releases.c.id))).scalar_one()
        catalog = SqlCatalog(conn)
        while len(timings) < listings:
            row = conn.execute(
                sa.select(releases)
                .where(releases.c.id >= rng.randint(1, top))
                .order_by(releases.c.id)
                .limit(1)
            ).first()
            if row is None:
                continue
            words_noise = noise + format_noise.get(format_family(row.format) or "", ())
            words = [row.artist, "-", row.title, rng.choice(words_noise)]
            if len(timings) % 3 == 0 and row.catalog_no:
                words.append(row.catalog_no)
            listing = Listing(
                item_id=f"bench-{len(timings)}",
                title=" ".join(w for w in words if w),
                price=Decimal("10"),
                currency="USD",
                barcode=row.barcode if len(timings) % 3 == 1 else None,
            )
            started = time.perf_counter()
            found = identify(listing, catalog)
            timings.append((time.perf_counter() - started) * 1000)
            if found.match is None:
                none += 1
            elif found.match.release_id == row.id:
                right += 1
            else:
                other += 1
    engine.dispose()
    timings.sort()
    return {
        "p50": statistics.median(timings),
        "p99": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
        "right": right,
        "other": other,
        "none": none,
    }


def _real(args: argparse.Namespace) -> int:
    """The real excerpt, imported serially and with parser processes: same digest."""
    if not REAL_DUMP.exists():
        print(f"no real excerpt at {REAL_DUMP}")
        return 1
    results = []
    for serial in (True, False):
        args.serial = serial
        db_file = OUT / f"import-real-{'serial' if serial else 'parallel'}.db"
        r = _import_in_child(REAL_DUMP, db_file, Path(args.src or SRC), args)
        digest = catalog_digest(db_file)
        results.append(_comparable(digest))
        print(
            f"{'serial' if serial else f'{args.workers} parsers'}: {r['written']:,} written of "
            f"{r['parsed']:,} in {r['seconds']:.2f} s; {json.dumps(digest)}"
        )
        print(f"digest          {_check_digest(REAL_DUMP.name, digest, args.write_digest)}")
    print("serial and parallel imports", "AGREE" if results[0] == results[1] else "DIFFER")
    return 0 if results[0] == results[1] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--listings", type=int, default=0, help="matcher listings afterwards")
    parser.add_argument("--serial", action="store_true", help="parse in the importing process")
    parser.add_argument("--profile", action="store_true", help="cProfile the main process")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="parser processes")
    parser.add_argument("--against", help="another checkout's src, imported alternately")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (with --against)")
    parser.add_argument("--real", action="store_true", help="the real excerpt, both ways")
    parser.add_argument("--write-digest", action="store_true", help="store this digest")
    parser.add_argument("--no-digest", action="store_true", help="skip the catalog digest")
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dump", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)

    OUT.mkdir(parents=True, exist_ok=True)
    print(f"date            {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    print(
        f"machine         nproc={os.cpu_count()} {platform.machine()} "
        f"python {platform.python_version()} sqlite {sqlite3.sqlite_version}"
    )
    if args.real:
        return _real(args)
    dump = _ensure_dump(args.releases, args.seed)
    variants = [("this checkout", SRC, OUT / "import-bench.db")]
    if args.against:
        variants.append(("against", Path(args.against), OUT / "import-bench-against.db"))
    results: list[tuple[str, dict[str, Any]]] = []
    for _ in range(args.repeat):
        for label, src, db_file in variants:
            result = _import_in_child(dump, db_file, src, args)
            results.append((label, result))
            _report(label, result, args)
    xml_mb = _xml_bytes(dump) / 1e6
    db_file = variants[0][2]
    db_mb = sum(
        Path(f"{db_file}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db_file}{s}").exists()
    )
    print("---")
    print(
        f"dump            {dump.stat().st_size / 1e6:.0f} MB gz, {xml_mb:.0f} MB XML; database "
        f"{db_mb / 1e6:.0f} MB"
    )
    if len(results) > 1:
        for label, _src, _db in variants:
            rates = [r["parsed"] / r["seconds"] for lab, r in results if lab == label]
            print(f"{label:15s} wall clock {', '.join(f'{x:,.0f}' for x in rates)} releases/s")
    if not args.no_digest:
        digests = {label: catalog_digest(db) for label, _src, db in variants}
        key = dump.name  # serial or parallel: the same catalog
        print(f"digest          {json.dumps(digests['this checkout'])}")
        print(f"digest check    {_check_digest(key, digests['this checkout'], args.write_digest)}")
        if args.against:
            same = _comparable(digests["this checkout"]) == _comparable(digests["against"])
            print(f"against         {'SAME catalog' if same else 'DIFFERENT catalog'}")
    if args.listings:
        m = _match_latency(f"sqlite:///{db_file}", args.listings, args.seed)
        print(
            f"matcher         p50 {m['p50']:.2f} ms, p99 {m['p99']:.2f} ms over "
            f"{args.listings} listings (right {m['right']}, another release {m['other']}, "
            f"none {m['none']}); load {_load()}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
