"""OGC ``services`` pages: one page read in SQL against every service loaded, then sliced.

``python -m bench ogc [--rows N] [--repeat K] [--postgis-url URL]`` loads, with the real ETL, the
bundled listings (the real size) and N (10,000) SYNTHETIC rows (:mod:`bench.synthetic`) into
temporary embedded stores and, given a PostGIS URL (or ``$CAREMAP_BENCH_POSTGIS_URL``), into the
schema ``caremap_ogc_bench`` of that database (dropped and recreated). For each store it times,
best of K (3), the first and the last page of 100 and the first page in a bbox around Toronto,
two ways side by side:

* ``page``: :func:`caremap.listing.listings_page` (a count and one page of stored Features in
  SQL), the Features decoded as ``/ogc/collections/services/items`` decodes them;
* ``load all``: every public service read (:func:`caremap.queries.public_services`), each at
  each of its locations made a Feature (:func:`caremap.geojson.service_feature`), filtered by
  the box with shapely, then sliced.

Both give the same features (checked). Times are wall-clock on a shared machine: compare the
ratio in a row, not times across runs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import shapely

from bench.bundled import print_table
from bench.etl_throughput import postgis_bench_url
from bench.synthetic import overlay_data_dir, write_listings
from caremap.geojson import service_feature
from caremap.listing import LonLatBox, listings_page
from caremap.queries import public_services
from caremap.store import Store, open_store
from etl.pipeline import run

REPO = Path(__file__).resolve().parent.parent
POSTGIS_SCHEMA = "caremap_ogc_bench"
LIMIT = 100
TORONTO = LonLatBox(-79.64, 43.58, -79.11, 43.86)  # (min lon, min lat, max lon, max lat)

Page = tuple[list[dict], int]  # the page's Features, and how many match


@dataclass(frozen=True)
class Case:
    label: str
    bbox: LonLatBox | None
    last: bool  # the last page, else the first


CASES = (
    Case("first page", None, last=False),
    Case("last page", None, last=True),
    Case("first page in a Toronto bbox", TORONTO, last=False),
)


def read_page(store: Store, bbox: LonLatBox | None, offset: int) -> Page:
    with store.session() as session:
        page = listings_page(session.connection(), bbox, offset, LIMIT)
    return [orjson.loads(listing.feature) for listing in page.listings], page.matched


def load_all_then_slice(store: Store, bbox: LonLatBox | None, offset: int) -> Page:
    with store.session() as session:
        services = public_services(session)
    features = [service_feature(s, location) for s in services for location in s.locations]
    if bbox is not None:
        area = shapely.box(bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat)
        shapely.prepare(area)
        features = [f for f in features if area.intersects(shapely.geometry.shape(f["geometry"]))]
    return features[offset : offset + LIMIT], len(features)


def _best(read: Callable[[], Page], repeat: int) -> tuple[float, Page]:
    best, page = float("inf"), ([], 0)
    for _ in range(repeat):
        started = time.perf_counter()
        page = read()
        best = min(best, time.perf_counter() - started)
    return best, page


def measure(store: Store, label: str, repeat: int) -> list[tuple[str, ...]]:
    rows = []
    for case in CASES:
        matched = read_page(store, case.bbox, 0)[1]
        offset = max(matched - LIMIT, 0) if case.last else 0
        new_s, new = _best(lambda c=case, o=offset: read_page(store, c.bbox, o), repeat)
        old_s, old = _best(lambda c=case, o=offset: load_all_then_slice(store, c.bbox, o), repeat)
        if (new[0], new[1]) != (orjson.loads(orjson.dumps(old[0])), old[1]):
            raise AssertionError(f"{label}, {case.label}: the two ways differ")
        rows.append(
            (
                label,
                case.label,
                f"{new[1]:,}",
                f"{new_s * 1000:.1f}",
                f"{old_s * 1000:.1f}",
                f"{old_s / new_s:.1f}x",
            )
        )
    return rows


def _loaded(url: str, sources: list[Path], data_dir: Path, work: Path) -> Store:
    store = open_store(url)
    run(store, sources, data_dir, work / "reports", progress=False)
    return store


def _print(rows: list[tuple[str, ...]]) -> None:
    header = ("store, data", "page", "matched", "page ms", "load all ms", "load all / page")
    print_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ogc", description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000, help="SYNTHETIC rows")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgis-url", default=os.environ.get("CAREMAP_BENCH_POSTGIS_URL"))
    args = parser.parse_args(argv)
    data_dir = REPO / "data"
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        synthetic = write_listings(work / "synthetic", data_dir, args.rows).path
        worlds = {  # label: (file name, sources, data directory)
            "bundled listings": ("real", [data_dir / "listings"], data_dir),
            f"{args.rows:,} SYNTHETIC": (
                "synthetic",
                [synthetic],
                overlay_data_dir(work / "data", data_dir),
            ),
        }
        for size, (slug, sources, world_data) in worlds.items():
            urls = {"embedded": f"sqlite:///{work / f'{slug}.sqlite3'}"}
            if args.postgis_url:
                urls["PostGIS"] = postgis_bench_url(args.postgis_url, POSTGIS_SCHEMA)
            for kind, url in urls.items():
                store = _loaded(url, sources, world_data, work / slug)
                try:
                    rows += measure(store, f"{kind}, {size}", args.repeat)
                finally:
                    store.dispose()
    if not args.postgis_url:
        print("PostGIS skipped: give --postgis-url or $CAREMAP_BENCH_POSTGIS_URL")
    _print(rows)
    return 0
