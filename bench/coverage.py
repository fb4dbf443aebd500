"""Coverage at national scale: caremap's 2SFCA against PySAL ``access``, in one run.

Input (SYNTHETIC, written to a temporary folder, or ``--keep DIR``): 57,000 demand points
(about the number of dissemination areas in Canada), ids ``SYNTHETIC-D000001``…, and 5,000 sites,
ids ``SYNTHETIC-S00001``…. Each point is drawn like :mod:`bench.synthetic` does: an FSA with
probability proportional to its 2016 population, then one of its postal codes
(``data/gazetteer``), moved by about 200 m of noise. A demand point's population is its FSA's
2016 population shared among the points drawn in that FSA (so the total is Canada's); a site's
capacity is 5–60 (beds). Catchment: 100 km, great-circle.

Measured, each ``--repeat`` times (2; the table shows the best, since other work on a small
machine only ever adds time), all with ``time.perf_counter``:

1. In one process, from points in memory to scores: caremap's ``two_step_fca`` (finding the
   pairs within the catchment included) against ``access``'s ``Access.two_stage_fca`` given a
   ready cost table of the pairs within the catchment (the stricter comparison: building that
   table, with the same k-d tree, is timed apart and shown too). CSV reading is timed apart.
2. As whole processes reading the same CSVs and writing scores: ``caremap coverage compute
   --method 2sfca`` against ``python bench/coverage_access.py`` (``access`` used the obvious way;
   see that script), with each process's peak memory.

Both must give the same scores to 1e-9 (relative; a point with no site in reach: caremap 0,
``access`` NaN, counted as 0). Targets: caremap's time <= 1/3 of ``access``'s, in process and as
processes. The exit status is 1 when a target or the equality fails. The whole run takes about
2 minutes on a 2-core machine, and up to about 8 GB of memory (``access`` on 28 million pairs).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.synthetic import _postal_codes_by_fsa
from caremap.coverage import Points, two_step_fca
from caremap.coverage.io import read_points

REPO = Path(__file__).resolve().parent.parent
SEED = 20260311
DEMAND_POINTS = 57_000
SITES = 5_000
CATCHMENT_KM = 100.0
NOISE_M = 200.0
TARGET_RATIO = 1 / 3
TOLERANCE = 1e-9
METRES_PER_DEGREE_LAT = 111_320.0


def synthetic_points(data_dir: Path, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` points: FSA drawn by 2016 population, then one of its postal codes, plus noise."""
    fsas, postal = _postal_codes_by_fsa(data_dir)
    codes, starts, counts = np.unique(postal["fsa"].to_numpy(str), return_index=True,
                                      return_counts=True)  # fmt: skip
    fsas = fsas[fsas["fsa"].isin(codes)].reset_index(drop=True)
    weights = fsas["pop2016"].to_numpy(float)
    chosen = rng.choice(len(fsas), size=n, p=weights / weights.sum())
    slot = np.searchsorted(codes, fsas["fsa"].to_numpy(str)[chosen])
    picks = starts[slot] + (rng.random(n) * counts[slot]).astype(int)
    lat = postal["latitude"].to_numpy(float)[picks]
    lon = postal["longitude"].to_numpy(float)[picks]
    north, east = rng.normal(0, NOISE_M / 1.4, (2, n))
    lat = np.clip(lat + north / METRES_PER_DEGREE_LAT, -90, 90)
    lon = lon + east / (METRES_PER_DEGREE_LAT * np.maximum(np.cos(np.radians(lat)), 0.01))
    drawn = np.bincount(chosen, minlength=len(fsas))
    share = weights[chosen] / drawn[chosen]  # the FSA's population shared among its points
    return pd.DataFrame({"latitude": lat.round(6), "longitude": lon.round(6), "share": share})


def write_inputs(folder: Path, data_dir: Path, n_demand: int, n_sites: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(SEED)
    demand = synthetic_points(data_dir, n_demand, rng)
    demand.insert(0, "id", [f"SYNTHETIC-D{k:06d}" for k in range(1, n_demand + 1)])
    demand["population"] = np.maximum(demand.pop("share").round(), 1).astype(int)
    supply = synthetic_points(data_dir, n_sites, rng).drop(columns="share")
    supply.insert(0, "id", [f"SYNTHETIC-S{k:05d}" for k in range(1, n_sites + 1)])
    supply["capacity"] = rng.integers(5, 61, n_sites)
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "synthetic_demand.csv", folder / "synthetic_sites.csv"
    demand.to_csv(paths[0], index=False)
    supply.to_csv(paths[1], index=False)
    return paths


def _best(function, repeat: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - started)
    return min(samples), result


def _peak_memory_gb(pid: int) -> float:
    """The process's peak resident memory so far (``VmHWM``: of its own image since exec; the
    ``ru_maxrss`` of ``wait4`` would include this large parent's, inherited through fork)."""
    try:
        with Path(f"/proc/{pid}/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1e6  # kB
    except (OSError, ValueError):
        pass
    return 0.0


def _run_process(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak memory GB) of one child process; raises if it fails."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        peak = 0.0
        while child.poll() is None:  # sample the high-water mark until the child exits
            peak = max(peak, _peak_memory_gb(child.pid))
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        if child.returncode:
            output.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed:\n{output.read().decode()}")
    return elapsed, peak


def _max_relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    scale = np.maximum(np.abs(theirs), np.finfo(float).tiny)
    return float(np.max(np.abs(ours - theirs) / scale, initial=0.0))


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("-+-".join("-" * width for width in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench coverage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--demand", type=int, default=DEMAND_POINTS, help="demand points")
    parser.add_argument("--sites", type=int, default=SITES)
    parser.add_argument("--catchment-km", type=float, default=CATCHMENT_KM)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="write the CSVs here and keep them")
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args(argv)

    from bench.coverage_access import straight_line_costs
    from bench.coverage_access import two_stage_fca as access_two_stage_fca

    work = Path(tempfile.mkdtemp(prefix="caremap-bench-coverage-"))
    folder = args.keep or work
    try:
        demand_csv, sites_csv = write_inputs(folder, args.data_dir, args.demand, args.sites)
        k = args.catchment_km
        print(
            f"coverage: {args.demand:,} SYNTHETIC demand points x {args.sites:,} SYNTHETIC sites, "
            f"{k:g} km catchment, 2SFCA; best of {args.repeat}; CSVs in {folder}"
        )

        # 1. In one process.
        read_ours, (demand, supply) = _best(
            lambda: (read_points(demand_csv, "population"), read_points(sites_csv, "capacity")),
            args.repeat,
        )
        assert isinstance(demand, Points) and isinstance(supply, Points)
        ours_s, ours = _best(lambda: two_step_fca(demand, supply, k), args.repeat)
        read_theirs, (demand_df, supply_df) = _best(
            lambda: (
                pd.read_csv(demand_csv, dtype={"id": str}),
                pd.read_csv(sites_csv, dtype={"id": str}),
            ),
            args.repeat,
        )
        costs_s, costs = _best(lambda: straight_line_costs(demand_df, supply_df, k), args.repeat)
        access_s, theirs = _best(
            lambda: access_two_stage_fca(demand_df, supply_df, costs, k), args.repeat
        )
        theirs = theirs.reindex(demand_df["id"]).to_numpy(float)
        pairs = int((costs["cost"] <= k).sum())
        in_reach = int(np.isfinite(theirs).sum())
        in_process_diff = _max_relative(ours, np.nan_to_num(theirs, nan=0.0))
        costs = None  # free access's cost table (GBs) before the processes run

        # 2. Whole processes on the same CSVs.
        ours_csv, theirs_csv = work / "caremap_scores.csv", work / "access_scores.csv"
        caremap_cli = [str(Path(sys.executable).with_name("caremap")), "coverage", "compute",
                       "--demand", str(demand_csv), "--supply", str(sites_csv), "--method",
                       "2sfca", "--catchment-km", f"{k!r}", "--out", str(ours_csv)]  # fmt: skip
        access_cli = [sys.executable, str(REPO / "bench/coverage_access.py"), str(demand_csv),
                      str(sites_csv), f"{k!r}", str(theirs_csv)]  # fmt: skip
        process = {"caremap": [], "access": []}
        for _ in range(args.repeat):  # interleaved
            process["caremap"].append(_run_process(caremap_cli))
            process["access"].append(_run_process(access_cli))
        ours_process = min(t for t, _ in process["caremap"])
        theirs_process = min(t for t, _ in process["access"])
        memory = {name: max(m for _, m in samples) for name, samples in process.items()}
        ours_file = pd.read_csv(ours_csv, dtype={"id": str})
        theirs_file = pd.read_csv(theirs_csv, dtype={"id": str})
        same_ids = ours_file["id"].tolist() == theirs_file["id"].tolist()
        process_diff = _max_relative(ours_file["score"].to_numpy(), theirs_file["score"].to_numpy())
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{pairs:,} demand-site pairs within {k:g} km; {in_reach:,} demand points in reach\n")
    in_ratio, process_ratio = ours_s / access_s, ours_process / theirs_process
    _print_table(
        [
            ("measure", "caremap", "access", "caremap/access", "max relative difference"),
            ("in process: scores from points in memory", f"{ours_s:.2f} s", f"{access_s:.2f} s",
             f"{in_ratio:.2f}", f"{in_process_diff:.1e}"),
            ("  access: building its cost table (apart)", "-", f"{costs_s:.2f} s",
             f"{ours_s / (access_s + costs_s):.2f} incl.", ""),
            ("  reading the CSVs (apart)", f"{read_ours:.2f} s", f"{read_theirs:.2f} s", "", ""),
            ("whole process (CLI; same CSVs)", f"{ours_process:.2f} s",
             f"{theirs_process:.2f} s", f"{process_ratio:.2f}", f"{process_diff:.1e}"),
            ("  peak memory of the process", f"{memory['caremap']:.1f} GB",
             f"{memory['access']:.1f} GB", "", ""),
        ]
    )  # fmt: skip
    samples = {name: ", ".join(f"{t:.2f}" for t, _ in s) for name, s in process.items()}
    print(f"\nprocess samples: caremap [{samples['caremap']}] s, access [{samples['access']}] s")
    checks = [
        (f"in process: caremap <= 1/3 of access ({in_ratio:.2f})", in_ratio <= TARGET_RATIO),
        (f"whole process: caremap <= 1/3 of access ({process_ratio:.2f})",
         process_ratio <= TARGET_RATIO),
        (f"same scores to {TOLERANCE:g} in process ({in_process_diff:.1e})",
         in_process_diff <= TOLERANCE),
        (f"same ids and scores to {TOLERANCE:g} in the output files ({process_diff:.1e})",
         same_ids and process_diff <= TOLERANCE),
    ]  # fmt: skip
    print()
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
