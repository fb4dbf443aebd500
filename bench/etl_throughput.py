"""ETL throughput: a first run into an empty store and an unchanged re-run, per store.

Input: :mod:`bench.synthetic` rows (10,000 by default; SYNTHETIC, not real services). Each store
gets, in this one process, (1) ``etl.pipeline.run`` into an empty store, then (2) the same run
again with unchanged input, which should find every record unchanged and write nothing.

The gazetteer, boundaries and vocabulary are loaded before anything is timed (they are cached
per process), so the timings exclude that one-time loading; a 200-row warm-up run into a
throwaway store also pays for lazy imports first. The first run does include the schema
migration and the reference-data sync (taxonomy, jurisdiction outlines) into the empty store,
since a real first run pays for them too. Each store is measured ``--repeat`` times (2), the
stores interleaved, each time into a fresh empty store; the table shows the best times, because
other work on a small machine only ever adds time. Timings are wall time
(``time.perf_counter``), with the first run's CPU time (``time.process_time``) beside it: on a
shared machine the CPU time says what the code costs, the wall time what others left of it.

Targets: embedded first run >= 2,000 rows/s (input rows / seconds); re-run <= 1/2 of the first
run, for every store.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.profiling import phase_shares, trim_paths
from bench.synthetic import DEFAULT_ROWS, SEED, overlay_data_dir, write_listings
from caremap.gazetteer import load_gazetteer
from caremap.jurisdictions import load_boundaries
from caremap.store import open_store
from caremap.vocabulary import load_vocabulary
from etl.pipeline import SourceReport, run

REPO = Path(__file__).resolve().parent.parent
POSTGIS_ENV = "CAREMAP_BENCH_POSTGIS_URL"
POSTGIS_SCHEMA = "caremap_bench"
TARGET_ROWS_PER_S = 2_000.0
TARGET_RERUN_RATIO = 0.5
PROFILE_TOP = 15
WARM_UP_ROWS = 200
DEFAULT_REPEAT = 2


@dataclass
class Result:
    """Best (smallest) first-run and re-run times over the repetitions, and every sample."""

    store: str
    rows: int
    first_samples: list[float]
    rerun_samples: list[float]
    first_cpu_samples: list[float]
    rejected: int
    first_report: SourceReport
    rerun_report: SourceReport

    @property
    def first_s(self) -> float:
        return min(self.first_samples)

    @property
    def rerun_s(self) -> float:
        return min(self.rerun_samples)

    @property
    def first_cpu_s(self) -> float:
        return min(self.first_cpu_samples)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.first_s

    @property
    def rows_per_cpu_s(self) -> float:
        return self.rows / self.first_cpu_s

    @property
    def ratio(self) -> float:
        return self.rerun_s / self.first_s


def _timed_run(
    store, listing: Path, data_dir: Path, report_dir: Path
) -> tuple[float, float, SourceReport]:
    """(wall s, CPU s of this process, report) of one run."""
    started, cpu_started = time.perf_counter(), time.process_time()
    (report,) = run(store, [listing], data_dir, report_dir, progress=False)
    return time.perf_counter() - started, time.process_time() - cpu_started, report


def measure(label: str, url: str, listing: Path, data_dir: Path, work: Path) -> tuple:
    """(first-run s, re-run s, first report, re-run report, first-run CPU s) for the empty
    store at ``url``."""
    store = open_store(url)
    try:
        report_dir = work / ("reports-" + re.sub(r"\W+", "-", label))
        first_s, first_cpu_s, first = _timed_run(store, listing, data_dir, report_dir)
        rerun_s, _, rerun = _timed_run(store, listing, data_dir, report_dir)
    finally:
        store.dispose()
    return first_s, rerun_s, first, rerun, first_cpu_s


def warm_up_run(work: Path, data_dir: Path, rows: int = WARM_UP_ROWS) -> float:
    """A small untimed ETL run into a throwaway embedded store, so that lazy imports and
    lazily loaded metadata (alembic, phonenumbers regions, ...) are not charged to the first
    store measured."""
    started = time.perf_counter()
    listings = write_listings(work / "warm-up", data_dir, rows, seed=SEED + 1)
    store = open_store(f"sqlite:///{work / 'warm-up.sqlite3'}")
    try:
        run(store, [listings.path], data_dir, work / "reports-warm-up", progress=False)
    finally:
        store.dispose()
    return time.perf_counter() - started


def postgis_bench_url(url: str, schema: str = POSTGIS_SCHEMA) -> str:
    """Drop and recreate ``schema``; return ``url`` with ``search_path=schema,public``.

    PostGIS must already be installed in the database (``CREATE EXTENSION postgis``, in public).
    """
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            has_postgis = connection.execute(
                text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
            ).first()
            if not has_postgis:
                raise RuntimeError(
                    "the database has no PostGIS extension: run CREATE EXTENSION postgis in it"
                )
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    bench_url = make_url(url).update_query_dict({"options": f"-csearch_path={schema},public"})
    return bench_url.render_as_string(hide_password=False)


def _reason_class(reason: str) -> str:
    """Group rejection reasons: numbers and province names removed."""
    reason = re.sub(r"\(-?[\d.]+, -?[\d.]+\)", "(…)", reason)
    return re.sub(r"\b[A-Z]{2}\b", "XX", reason)


def _print_table(results: list[Result]) -> None:
    header = (
        "store",
        "rows",
        "first run s",
        "rows/s",
        "CPU s",
        "rows/CPU s",
        "re-run s",
        "re-run / first",
        "rejected",
    )
    body = [
        (
            r.store,
            f"{r.rows:,}",
            f"{r.first_s:.2f}",
            f"{r.rows_per_s:,.0f}",
            f"{r.first_cpu_s:.2f}",
            f"{r.rows_per_cpu_s:,.0f}",
            f"{r.rerun_s:.2f}",
            f"{r.ratio:.2f}",
            f"{r.rejected:,}",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return " | ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(header))
    print("-+-".join("-" * w for w in widths))
    for row in body:
        print(line(row))


def _targets(results: list[Result]) -> list[tuple[str, bool, str]]:
    checks = []
    for r in results:
        if r.store.startswith("embedded"):
            checks.append(
                (
                    f"{r.store}: first run >= {TARGET_ROWS_PER_S:,.0f} rows/s",
                    r.rows_per_s >= TARGET_ROWS_PER_S,
                    f"{r.rows_per_s:,.0f} rows/s; {r.rows_per_cpu_s:,.0f} rows per CPU second",
                )
            )
        checks.append(
            (
                f"{r.store}: re-run <= {TARGET_RERUN_RATIO:g} x first run",
                r.ratio <= TARGET_RERUN_RATIO,
                f"{r.ratio:.2f} x",
            )
        )
    return checks


def profile_first_run(listing: Path, data_dir: Path, work: Path, top: int = PROFILE_TOP) -> str:
    """cProfile of a first run into a fresh embedded store: the top entries by cumulative time."""
    store = open_store(f"sqlite:///{work / 'profile.sqlite3'}")
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        run(store, [listing], data_dir, work / "reports-profile", progress=False)
        profiler.disable()
    finally:
        store.dispose()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    return trim_paths(out.getvalue()) + phase_shares(
        stats,
        PHASES,
        ("etl/pipeline.py", "run"),
        "Stages (cumulative share of the profiled first run; cProfile inflates Python code):",
    )


# Pipeline stages worth naming in the profile summary: (module file suffix, function name).
PHASES = [
    ("caremap/store/base.py", "upgrade", "schema migration"),
    ("etl/reference.py", "sync_reference_data", "reference data sync"),
    ("etl/pipeline.py", "_prepare", "read + transform rows"),
    ("caremap/normalise.py", "normalise_phones", "  of which phone numbers"),
    ("etl/pipeline.py", "validate_records", "validate (spatial)"),
    ("etl/validate.py", "validate_records", "validate (spatial)"),
    ("etl/records.py", "content_hash", "content hashes"),
    ("etl/load.py", "_insert_records", "insert rows"),
    ("etl/load.py", "record_id", "  of which row ids (UUID 5)"),
    ("caremap/publish.py", "refresh", "publish listings"),
    ("caremap/queries.py", "read_service_records", "  of which reading them back"),
    ("caremap/mapcells.py", "recount", "stored map cells"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench etl",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="synthetic rows (10,000)")
    parser.add_argument(
        "--postgis-url",
        default=os.environ.get(POSTGIS_ENV),
        help=f"PostGIS database to benchmark too (default: ${POSTGIS_ENV}); the schema "
        f"{POSTGIS_SCHEMA!r} in it is dropped and recreated",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"cProfile a first run into a fresh embedded store; print the top {PROFILE_TOP} "
        "entries by cumulative time",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        help=f"repetitions per store; the table shows the best ({DEFAULT_REPEAT})",
    )
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="caremap-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        listings = write_listings(work / "listings", args.data_dir, args.rows)
        data_dir = overlay_data_dir(work / "data", args.data_dir)
        print(
            f"Input: {listings.rows:,} SYNTHETIC rows ({listings.with_coordinates:,} with "
            f"coordinates, {listings.rows - listings.with_coordinates:,} to geocode) in "
            f"{listings.fsas_sampled:,} FSAs, generated in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        load_gazetteer(data_dir), load_boundaries(data_dir), load_vocabulary(data_dir)
        print(
            f"Warm-up (not timed below): gazetteer, boundaries and vocabulary loaded in "
            f"{time.perf_counter() - started:.1f} s; run() reuses them from the per-process cache."
        )

        print(
            f"Warm-up run (not timed below): {WARM_UP_ROWS} other synthetic rows into a "
            f"throwaway store in {warm_up_run(work, data_dir):.1f} s."
        )

        stores = [("embedded SQLite", lambda n: f"sqlite:///{work / f'bench-{n}.sqlite3'}")]
        if args.postgis_url:
            try:
                postgis_bench_url(args.postgis_url)  # fails early if the server is unusable
                stores.append(("PostGIS", lambda _: postgis_bench_url(args.postgis_url)))
            except Exception as error:
                print(f"PostGIS skipped: {error}")
        else:
            print(f"PostGIS skipped: no --postgis-url given and ${POSTGIS_ENV} is not set.")

        load_before = os.getloadavg()[0]
        samples: dict[str, list[tuple]] = {label: [] for label, _ in stores}
        for repetition in range(args.repeat):  # stores interleaved, a fresh empty store each time
            for label, make_url in stores:
                samples[label].append(
                    measure(label, make_url(repetition), listings.path, data_dir, work)
                )
        results = [
            Result(
                label,
                listings.rows,
                [first_s for first_s, *_ in runs],
                [rerun_s for _, rerun_s, *_ in runs],
                [first_cpu_s for *_, first_cpu_s in runs],
                len(runs[-1][2].rejected),
                runs[-1][2],
                runs[-1][3],
            )
            for label, runs in samples.items()
        ]
        load_after = os.getloadavg()[0]
        print()
        print(f"Best of {args.repeat} (each a first run into a fresh empty store + a re-run):")
        _print_table(results)
        for r in results:
            firsts = ", ".join(f"{x:.2f}" for x in r.first_samples)
            cpu = ", ".join(f"{x:.2f}" for x in r.first_cpu_samples)
            reruns = ", ".join(f"{x:.2f}" for x in r.rerun_samples)
            print(
                f"  {r.store} samples: first run [{firsts}] s (CPU [{cpu}] s), re-run [{reruns}] s"
            )
        print()
        for r in results:
            first, rerun = r.first_report.counts, r.rerun_report.counts
            print(
                f"{r.store}: first run {first.inserted:,} inserted; re-run {rerun.inserted} "
                f"inserted, {rerun.updated} updated, {rerun.unchanged:,} unchanged, "
                f"{rerun.removed} removed; {len(r.first_report.warnings):,} warnings"
            )
        reasons = Counter(_reason_class(row.reason) for row in results[0].first_report.rejected)
        print(
            f"Rejected rows ({results[0].rejected:,} = {results[0].rejected / listings.rows:.2%}; "
            "expected: postal points outside their province polygon):"
        )
        for reason, count in reasons.most_common():
            print(f"  {count:5,}  {reason}")
        print(
            "  (the sample is population-weighted, so mostly urban; the gazetteer as a whole has "
            "~0.27% such points)."
        )
        cores = os.cpu_count() or 1
        print(
            f"Load average (1 min) {load_before:.2f} before, {load_after:.2f} after, on {cores} "
            "cores: other work on the machine makes the timings noisy; compare runs with care."
        )
        print()
        checks = _targets(results)
        for name, ok, value in checks:
            print(f"{'PASS' if ok else 'FAIL'}  {name} ({value})")
        failed = not all(ok for _, ok, _ in checks)
        if args.profile:
            print(f"\ncProfile, first run into a fresh embedded store (top {PROFILE_TOP}):")
            print(profile_first_run(listings.path, data_dir, work))
        elif failed:
            print("A target failed: run with --profile for the top entries of a first run.")
    return 1 if failed else 0
