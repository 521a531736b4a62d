"""How fast does a Discogs releases dump import, and what does it cost?

Generates a synthetic dump of N releases (default 1,000,000; cached under benchmarks/out/,
which git ignores), imports it into a fresh SQLite file with the real job
(`vinyl_detective.jobs.import_dump.import_dump`), and reports:

- releases/s end to end (read + inflate + parse + write + full-text rebuild), and MB/s;
- peak RSS of this process and of the worker process (resource.getrusage ru_maxrss);
- the database size;
- the matcher's p50/p99 (`domain.matching.identify` over `storage.catalog.SqlCatalog`) on
  the imported catalog, for listing titles made from random imported releases.

    .venv/bin/python benchmarks/import_dump.py                    # 1,000,000 releases
    .venv/bin/python benchmarks/import_dump.py --releases 200000 --serial
    .venv/bin/python benchmarks/import_dump.py --profile          # cProfile, top 25
    .venv/bin/python benchmarks/import_dump.py --releases 100000 --compare   # old vs new path

CPU figures: `main` is this process (reader/inflate thread + database writes + full-text
rebuild), `workers` the parser processes together (getrusage of the children). On an idle
machine with `nproc` cores the wall clock cannot beat max(main CPU, all CPU / nproc, one
worker's CPU); that bound is the "CPU-derived rate", the figure to compare across runs on
a machine shared with other work. `--compare` imports the same dump with each variant
(alternating, `--repeat` times) so that both see the same load.

Targets: >= 20,000 releases/s end to end, peak RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import os
import platform
import pstats
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "out"


def _rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def _dump_path(count: int, seed: int) -> Path:
    from vinyl_detective.fakes.dump_generator import GENERATOR_VERSION

    return OUT / f"synthetic_{count}_seed{seed}_v{GENERATOR_VERSION}_releases.xml.gz"


def _ensure_dump(count: int, seed: int) -> Path:
    from vinyl_detective.fakes.dump_generator import write_synthetic_dump

    path = _dump_path(count, seed)
    if path.exists():
        print(f"dump: cached {path} ({path.stat().st_size / 1e6:.0f} MB)")
        return path
    started = time.perf_counter()
    partial = path.with_name(f"partial-{path.name}")
    write_synthetic_dump(partial, count, seed=seed)
    partial.rename(path)
    print(
        f"dump: generated {count:,} releases in {time.perf_counter() - started:.0f}s "
        f"({path.stat().st_size / 1e6:.0f} MB)"
    )
    return path


def _xml_bytes(path: Path) -> int:
    total = 0
    with gzip.open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            total += len(chunk)
    return total


# Seller noise for the listing titles. Format words are drawn to agree with the release's
# format: a CD is not listed as "LP" (the matcher rightly refuses a release whose format the
# listing contradicts, and would then find the namesake in the stated format instead).
_NOISE = ("VG+", "NM", "1st press", "RARE", "OG", "EX", "")
_FORMAT_NOISE = {
    "vinyl": ("LP", "vinyl", "180g"),
    "cd": ("CD",),
    "cassette": ("cassette",),
}


def _same_record(conn: Any, picked_id: int, matched_id: int) -> bool:
    """Whether a match to another release id is the same record: the same master, or the
    same artist and title sharing a catalog number or barcode (a repress)."""
    import sqlalchemy as sa

    from vinyl_detective.storage.schema import release_identifiers, releases

    ids = [picked_id, matched_id]
    rows = {
        r.id: r
        for r in conn.execute(
            sa.select(
                releases.c.id, releases.c.artist, releases.c.title, releases.c.master_id
            ).where(releases.c.id.in_(ids))
        )
    }
    a, b = rows[picked_id], rows[matched_id]
    if a.master_id is not None and a.master_id == b.master_id:
        return True
    if (a.artist, a.title) != (b.artist, b.title):
        return False
    identifiers: dict[int, set[tuple[str, str]]] = {picked_id: set(), matched_id: set()}
    for r in conn.execute(
        sa.select(
            release_identifiers.c.release_id,
            release_identifiers.c.kind,
            release_identifiers.c.value,
        ).where(release_identifiers.c.release_id.in_(ids))
    ):
        identifiers[r.release_id].add((r.kind, r.value))
    return bool(identifiers[picked_id] & identifiers[matched_id])


def _match_latency(db_url: str, listings: int, seed: int) -> dict[str, float] | None:
    """The matcher over the imported catalog, for listings made from random releases.

    Outcomes: `right` (the release picked), `same_record` (another id of the same record,
    see `_same_record`: counted apart, not as wrong), `wrong`, `ambiguous` (no match, several
    candidates named), `none`.
    """
    try:
        from vinyl_detective.domain.matching import identify
        from vinyl_detective.storage.catalog import SqlCatalog
    except ImportError as exc:
        print(f"matcher: pending ({exc})")
        return None
    import sqlalchemy as sa

    from vinyl_detective.domain.matching import format_family
    from vinyl_detective.domain.models import Listing
    from vinyl_detective.storage.db import create_db_engine
    from vinyl_detective.storage.schema import releases

    engine = create_db_engine(db_url)
    rng = random.Random(seed)
    timings: list[float] = []
    right = same_record = wrong = ambiguous = none = 0
    with engine.connect() as conn:
        top = conn.execute(sa.select(sa.func.max(releases.c.id))).scalar_one()
        picked = []
        while len(picked) < listings:
            row = conn.execute(
                sa.select(
                    releases.c.id,
                    releases.c.artist,
                    releases.c.title,
                    releases.c.catalog_no,
                    releases.c.barcode,
                    releases.c.format,
                )
                .where(releases.c.id >= rng.randint(1, top))
                .order_by(releases.c.id)
                .limit(1)
            ).first()
            if row is not None:
                picked.append(row)
        catalog = SqlCatalog(conn)
        for i, row in enumerate(picked):
            kind = i % 3
            noise = _NOISE + _FORMAT_NOISE.get(format_family(row.format) or "", ())
            words = [row.artist, "-", row.title, rng.choice(noise), rng.choice(noise)]
            if kind == 0 and row.catalog_no:
                words.append(row.catalog_no)
            listing = Listing(
                item_id=f"bench-{i}",
                title=" ".join(w for w in words if w),
                price=Decimal("10"),
                currency="USD",
                barcode=row.barcode if kind == 1 else None,
            )
            started = time.perf_counter()
            found = identify(listing, catalog)
            timings.append((time.perf_counter() - started) * 1000)
            match = found.match
            if match is None:
                if found.ambiguous:
                    ambiguous += 1
                else:
                    none += 1
            elif match.release_id == row.id:
                right += 1
            elif _same_record(conn, row.id, match.release_id):
                same_record += 1
            else:
                wrong += 1
    engine.dispose()
    timings.sort()
    return {
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
        "right": right,
        "same_record": same_record,
        "wrong": wrong,
        "ambiguous": ambiguous,
        "none": none,
        "listings": len(timings),
    }


def _import_once(dump: Path, args: argparse.Namespace, variant: str) -> dict[str, float]:
    """One import of `dump` into a fresh database with `variant`; times and counts."""
    from vinyl_detective.jobs.import_dump import LogProgress, import_dump
    from vinyl_detective.sources.dump import iter_dump_releases_in_worker
    from vinyl_detective.storage.bulk_import import import_releases
    from vinyl_detective.storage.db import open_database

    db_file = OUT / "import-bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    engine = open_database(f"sqlite:///{db_file}")
    load_before = os.getloadavg()[0]
    cpu_before = time.process_time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    if variant == "one-worker-releases":
        # The previous design: one parser process sends releases, rows are built here.
        written = import_releases(
            engine,
            iter_dump_releases_in_worker(dump, workers=1),
            now=datetime.now(UTC),
            batch_size=args.batch_size,
        ).releases
    else:
        written = import_dump(
            engine,
            dump,
            now=lambda: datetime.now(UTC),
            progress=LogProgress(every=max(args.releases // 10, 1)),
            batch_size=args.batch_size,
            parallel=variant != "serial",
            workers=args.workers,
            resume=False,
        ).releases
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    engine.dispose()
    workers = (
        0 if variant == "serial" else (1 if variant == "one-worker-releases" else args.workers)
    )
    nproc = os.cpu_count() or 1
    bound = max(cpu, (cpu + children) / nproc, children / max(workers, 1))
    return {
        "written": written,
        "seconds": seconds,
        "cpu_main": cpu,
        "cpu_workers": children,
        "workers": workers,
        "bound": bound,
        "load": (load_before + os.getloadavg()[0]) / 2,
    }


def _compare(dump: Path, args: argparse.Namespace) -> int:
    variants = ["one-worker-releases", "rows-in-workers"]
    results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    for _ in range(args.repeat):
        for variant in variants:
            results[variant].append(_import_once(dump, args, variant))
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for variant, runs in results.items():
        for r in runs:
            print(
                f"{variant:22s} wall {r['seconds']:6.1f} s = {r['written'] / r['seconds']:7,.0f}/s"
                f" | CPU main {r['cpu_main']:5.1f} s, workers {r['cpu_workers']:5.1f} s"
                f" ({r['workers']:.0f}) -> CPU-derived {r['written'] / r['bound']:7,.0f}/s"
                f" | load {r['load']:.1f}"
            )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--listings", type=int, default=2000, help="listings for the matcher")
    parser.add_argument("--serial", action="store_true", help="parse in this process")
    parser.add_argument("--profile", action="store_true", help="cProfile the import")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="parser processes")
    parser.add_argument("--compare", action="store_true", help="old vs new path, same run")
    parser.add_argument("--repeat", type=int, default=2, help="rounds for --compare")
    args = parser.parse_args()

    from vinyl_detective.jobs.import_dump import LogProgress, import_dump
    from vinyl_detective.storage.db import open_database

    OUT.mkdir(parents=True, exist_ok=True)
    dump = _ensure_dump(args.releases, args.seed)
    if args.compare:
        import logging

        logging.basicConfig(level=logging.WARNING)
        return _compare(dump, args)
    db_file = OUT / "import-bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    db_url = f"sqlite:///{db_file}"
    engine = open_database(db_url)

    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    progress = LogProgress(every=max(args.releases // 10, 1))
    load_start = os.getloadavg()
    rss_before = _rss_mb(resource.RUSAGE_SELF)
    cpu_before = time.process_time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu_before = before.ru_utime + before.ru_stime
    started = time.perf_counter()
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    stats = import_dump(
        engine,
        dump,
        now=lambda: datetime.now(UTC),
        progress=progress,
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
    worker_cpu = children.ru_utime + children.ru_stime - worker_cpu_before
    engine.dispose()

    xml_mb = _xml_bytes(dump) / 1e6
    db_mb = (
        sum(
            Path(f"{db_file}{s}").stat().st_size
            for s in ("", "-wal")
            if Path(f"{db_file}{s}").exists()
        )
        / 1e6
    )
    print()
    print(f"date            {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine         nproc={os.cpu_count()} {platform.machine()} "
        f"python {platform.python_version()} sqlite {__import__('sqlite3').sqlite_version}"
    )
    print(
        f"load average    {' '.join(f'{x:.2f}' for x in load_start)} at the start, "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end"
    )
    print(f"mode            {'serial' if args.serial else f'{args.workers} parser processes'}")
    print(f"releases        {stats.releases:,} written of {stats.parsed:,} parsed")
    print(
        f"dump            {dump.stat().st_size / 1e6:.0f} MB gz, {xml_mb:.0f} MB XML "
        f"({xml_mb * 1e6 / max(stats.parsed, 1):.0f} bytes/release)"
    )
    print(
        f"time            {seconds:.1f} s wall; CPU: main {cpu:.1f} s, "
        f"workers {worker_cpu:.1f} s together"
    )
    workers = 1 if args.serial else max(args.workers, 1)
    bound = max(cpu, (cpu + worker_cpu) / (os.cpu_count() or 1), worker_cpu / workers)
    print(
        f"CPU-derived     {stats.parsed / bound:,.0f} releases/s (releases / max(main CPU, "
        "all CPU / nproc, one worker's CPU): the wall clock of an otherwise idle machine)"
    )
    print(
        f"throughput      {stats.parsed / seconds:,.0f} releases/s, {xml_mb / seconds:.1f} MB/s XML"
    )
    print(
        f"peak RSS        main {_rss_mb(resource.RUSAGE_SELF):.0f} MB "
        f"(before import {rss_before:.0f} MB), largest worker "
        f"{_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB"
    )
    print(f"database        {db_mb:.0f} MB")
    latency = _match_latency(db_url, args.listings, args.seed)
    if latency is not None:
        print(
            f"matcher         p50 {latency['p50_ms']:.2f} ms, p99 {latency['p99_ms']:.2f} ms over "
            f"{latency['listings']:.0f} listings (right {latency['right']:.0f}, same record "
            f"{latency['same_record']:.0f}, wrong {latency['wrong']:.0f}, ambiguous "
            f"{latency['ambiguous']:.0f}, no match {latency['none']:.0f})"
        )
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
