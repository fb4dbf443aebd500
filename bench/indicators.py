"""Planner indicators: a full rebuild on the bundled data, and the choropleth classes.

``python -m bench indicators`` loads the bundled listings into a temporary embedded store,
then times :func:`caremap.coverage.indicators.compute_indicators` for every jurisdiction level
(cold: the first call reads the FSA table and boundaries; warm: the page's case), the stored
indicators (``caremap coverage build`` of every standard selection, then reading one), and
mapclassify's Fisher-Jenks on 293 units (census divisions, exact) and on 57,000 units
(synthetic values; the sampled variant the planner uses above 2,000 units, next to quantiles).
Times are wall-clock on a shared machine: compare them with each other, not across runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
import warnings
from pathlib import Path

import mapclassify
import numpy as np

from caremap.coverage.indicators import Selection, compute_indicators
from caremap.coverage.stored import build, read
from caremap.jurisdictions import load_boundaries
from caremap.store import Store, open_store
from etl.pipeline import run

REPO = Path(__file__).resolve().parent.parent
LEVELS = ("province", "census_division", "toronto_neighbourhood")


def _timed(function: object, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


def _rebuild_rows(data_dir: Path) -> list[tuple[str, str, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'bench.sqlite'}")
        run(store, [data_dir / "listings"], data_dir, Path(folder), progress=False)
        today = dt.date(2026, 11, 29)
        for level in LEVELS:
            load_boundaries.cache_clear()
            cold = _timed(
                lambda lv=level: compute_indicators(store, data_dir, Selection(level=lv), today), 1
            )
            warm = _timed(
                lambda lv=level: compute_indicators(store, data_dir, Selection(level=lv), today)
            )
            rows.append((f"indicators, {level}", "cold (reads boundaries)", cold))
            rows.append((f"indicators, {level}", "warm (best of 3)", warm))
        rows += _stored_rows(store, data_dir, today)
        store.dispose()
    return rows


def _stored_rows(store: Store, data_dir: Path, today: dt.date) -> list[tuple[str, str, float]]:
    """``caremap coverage build`` once, then reading one stored view per level."""
    now = dt.datetime.now(dt.UTC)
    report = build(store, data_dir, today, now)
    rows = [
        (f"stored build, {report.selections} selections", f"{report.rows:,} rows", report.seconds)
    ]
    for level in LEVELS:

        def read_view(lv: str = level) -> None:
            with store.session() as session:
                assert read(session, data_dir, Selection(level=lv), today) is not None

        rows.append((f"indicators, {level}", "read stored (best of 3)", _timed(read_view)))
    return rows


def _class_rows() -> list[tuple[str, str, float]]:
    rng = np.random.default_rng(20261129)
    small, large = rng.gamma(2.0, 2.0, 293), rng.gamma(2.0, 2.0, 57_000)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Numba not installed")
        return [
            ("Fisher-Jenks, 293 units", "exact", _timed(lambda: mapclassify.FisherJenks(small, 5))),
            (
                "Fisher-Jenks, 57,000 units",
                "sampled",
                _timed(lambda: mapclassify.FisherJenksSampled(large, 5)),
            ),
            ("quantiles, 57,000 units", "exact", _timed(lambda: mapclassify.Quantiles(large, 5))),
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench indicators", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args(argv)
    rows = _rebuild_rows(args.data_dir.resolve()) + _class_rows()
    print(f"{'what':42s} | {'how':26s} | seconds")
    print(f"{'-' * 42}-+-{'-' * 26}-+--------")
    for what, how, seconds in rows:
        print(f"{what:42s} | {how:26s} | {seconds:7.3f}")
    return 0
