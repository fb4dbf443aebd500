"""Stored coverage indicators after one edit: the incremental rebuild against a full rebuild, in
one run, on the embedded store.

Input: :mod:`bench.synthetic` rows (10,000 by default; SYNTHETIC, not real services) loaded by
the ETL into a fresh embedded store. Then, each ``--repeat`` times (2; the table shows the best,
since other work on a small machine only ever adds time): (1) a full rebuild of every stored
indicator (``caremap coverage build`` with nothing stored), (2) one edit: a service's location
moved about 5 km, its listings republished and the indicators it can alter forgotten
(:func:`caremap.republish.services_changed`), (3) the incremental rebuild
(``caremap coverage build`` again). Wall time (``time.perf_counter``) and this process's CPU
time (``time.process_time``, which other work on the machine does not inflate) are shown.

Target: the rebuild after one edit <= 1/10 of the full rebuild.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update

from bench.synthetic import DEFAULT_ROWS, overlay_data_dir, write_listings
from caremap.coverage.stored import BuildReport, build, invalidate
from caremap.model import Location, ServiceAtLocation
from caremap.republish import services_changed
from caremap.store import Store, open_store
from etl.pipeline import run

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.1
MOVE_DEG = 0.045  # about 5 km north


@dataclass(frozen=True)
class Timed:
    wall: float
    cpu: float
    report: BuildReport


def _timed_build(store: Store, data_dir: Path, now: dt.datetime) -> Timed:
    wall, cpu = time.perf_counter(), time.process_time()
    report = build(store, data_dir, now.date(), now)
    return Timed(time.perf_counter() - wall, time.process_time() - cpu, report)


def edit_one_service(store: Store, data_dir: Path, repetition: int) -> Timed:
    """Move one service's location (the write and its republishing, timed)."""
    wall, cpu = time.perf_counter(), time.process_time()
    with store.engine.begin() as connection:
        location_id, service_id = connection.execute(
            select(Location.id, ServiceAtLocation.service_id)
            .join(ServiceAtLocation, ServiceAtLocation.location_id == Location.id)
            .order_by(Location.id)
            .offset(repetition)
        ).first()
        connection.execute(
            update(Location)
            .where(Location.id == location_id)
            .values(
                latitude=Location.latitude + MOVE_DEG,
                private_latitude=Location.private_latitude + MOVE_DEG,
            )
        )
        services_changed(connection, [service_id], data_dir=data_dir)
    return Timed(time.perf_counter() - wall, time.process_time() - cpu, BuildReport(0, 0, 0, 0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench stored",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="synthetic rows (10,000)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="caremap-bench-stored-") as tmp:
        work = Path(tmp)
        listings = write_listings(work / "listings", args.data_dir, args.rows)
        data_dir = overlay_data_dir(work / "data", args.data_dir)
        store = open_store(f"sqlite:///{work / 'stored.sqlite3'}")
        try:
            run(store, [listings.path], data_dir, work / "reports", progress=False)
            now = dt.datetime.now(dt.UTC)
            full, edits, after = [], [], []
            for repetition in range(args.repeat):  # interleaved
                with store.engine.begin() as connection:
                    invalidate(connection)
                full.append(_timed_build(store, data_dir, now))
                edits.append(edit_one_service(store, data_dir, repetition))
                after.append(_timed_build(store, data_dir, now))
        finally:
            store.dispose()
    best = {name: min(s, key=lambda t: t.wall) for name, s in
            (("full", full), ("edit", edits), ("after", after))}  # fmt: skip
    cpu = {name: min(t.cpu for t in s) for name, s in
           (("full", full), ("edit", edits), ("after", after))}  # fmt: skip
    print(
        f"stored coverage: {listings.rows:,} SYNTHETIC rows loaded; embedded store; "
        f"best of {args.repeat}"
    )
    print(f"{'measure':44s} | {'wall s':>7s} | {'CPU s':>7s} | rows written | selections")
    print(f"{'-' * 44}-+-{'-' * 7}-+-{'-' * 7}-+--------------+-----------")
    for label, name in (
        ("full rebuild (nothing stored)", "full"),
        ("one edit (write + republish + forget)", "edit"),
        ("rebuild after one edit (incremental)", "after"),
    ):
        report = best[name].report
        print(
            f"{label:44s} | {best[name].wall:7.2f} | {cpu[name]:7.2f} | {report.rows:12,} | "
            f"{report.selections:10,}"
        )
    ratio = best["after"].wall / best["full"].wall
    cpu_ratio = cpu["after"] / cpu["full"]
    ok = ratio <= TARGET_RATIO
    print()
    print(
        f"{'PASS' if ok else 'FAIL'}  stored coverage after one edit <= {TARGET_RATIO:g} x the "
        f"full rebuild ({ratio:.3f} x wall, {cpu_ratio:.3f} x CPU)"
    )
    return 0 if ok else 1
