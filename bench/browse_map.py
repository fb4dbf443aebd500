"""The browse map at national scale: page weight, first markers, pan/zoom requests.

``python -m bench map`` loads SYNTHETIC services (:mod:`bench.synthetic`, with the real ETL)
into embedded stores of 10,000 and 100,000 rows (kept as ``bench/out/map-embedded-ROWS-KEY
.sqlite3``, reused while their key holds) besides the 116 bundled services, and prints, side by
side with the targets of issue 14:

* the home page's HTML bytes (uncompressed) at each size, and its ratio to the smallest;
* at the largest size, the time until headless Chromium (``$CAREMAP_CHROMIUM``) shows the
  first cluster or marker on the home page, from a real server on 127.0.0.1;
* the server time (in-process, Flask test client) of the map's point requests over a sweep of
  views, zoom 3 to 16 around sampled FSA centroids: p50 and p95, without filters (the stored
  cells of :mod:`caremap.mapcells`) and with each of :data:`FILTERS` (counted from the stored
  members, :mod:`caremap.mapfilters`) over the first :data:`FILTERED_VIEWS` of those views.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench.search_latency import OUT_DIR, REPO, cache_key, sample_origins
from bench.synthetic import SEED, overlay_data_dir, write_listings
from caremap.mapcells import HALF_WORLD_M, MERCATOR_RADIUS_M, TILE_PIXELS
from caremap.store import open_store
from etl.pipeline import run
from webmap import create_app

SIZES = (10_000, 100_000)
TARGET_HTML_BYTES = 60 * 1024
TARGET_FIRST_MARKERS_S = 2.0
TARGET_REQUEST_P95_MS = 100.0
VIEWS = 200
FILTERED_VIEWS = 50
FILTERS = {
    "a service type": "service_type=emergency_shelter",
    "a population": "population=women",
    "a language": "language=fr",
    "a service type and a population": "service_type=emergency_shelter&population=women",
    "open now": "open_now=1",
    "a month": "month=7",
    "beds available": "beds_available=1",
}
VIEW_SEED = SEED + 14
VIEW_PIXELS = (1024, 600)
BUNDLED = 116


def store_url(rows: int, data_dir: Path) -> str:
    """An embedded store of ``rows`` synthetic services (the bundled ones with 0)."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        data_dir = overlay_data_dir(work / "data", data_dir)
        path = OUT_DIR / f"map-embedded-{rows}-{cache_key(rows, data_dir)}.sqlite3"
        if not path.exists():
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
            shutil.move(partial, path)
    store = open_store(f"sqlite:///{path}")
    try:
        store.upgrade()  # a store kept from an older schema
    finally:
        store.dispose()
    return f"sqlite:///{path}"


def _app(url: str):
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TILES_URL": ""})


def home_bytes(app) -> int:
    """The home page's HTML bytes, uncompressed."""
    return len(app.test_client().get("/").get_data())


def view_box(latitude: float, longitude: float, zoom: int) -> str:
    """The ``bbox`` a :data:`VIEW_PIXELS` map centred on (lat, lon) at ``zoom`` shows."""
    metres_per_pixel = 2 * HALF_WORLD_M / (TILE_PIXELS * 2**zoom)
    x = math.radians(longitude) * MERCATOR_RADIUS_M
    y = math.log(math.tan(math.pi / 4 + math.radians(latitude) / 2)) * MERCATOR_RADIUS_M
    half_w, half_h = (side * metres_per_pixel / 2 for side in VIEW_PIXELS)

    def lon_lat(px: float, py: float) -> tuple[float, float]:
        lon = max(-180.0, min(180.0, math.degrees(px / MERCATOR_RADIUS_M)))
        lat = math.degrees(2 * math.atan(math.exp(py / MERCATOR_RADIUS_M)) - math.pi / 2)
        return lon, lat

    (west, south), (east, north) = lon_lat(x - half_w, y - half_h), lon_lat(x + half_w, y + half_h)
    return f"{west:.5f},{south:.5f},{east:.5f},{north:.5f}"


def request_times_ms(
    app, data_dir: Path, query: str = "", views: int = VIEWS
) -> list[tuple[float, float]]:
    """Server time (wall, CPU) of the map's point requests over the first ``views`` of :data:`VIEWS`
    views (zoom 3 to 16), each with ``query`` (filters) added."""
    client = app.test_client()
    zooms = np.random.default_rng(VIEW_SEED).integers(3, 17, VIEWS)
    times = []
    for (latitude, longitude), zoom in list(
        zip(sample_origins(data_dir, VIEWS, VIEW_SEED), zooms, strict=True)
    )[:views]:
        path = f"/map/points?bbox={view_box(latitude, longitude, int(zoom))}&zoom={zoom}"
        path += f"&{query}" if query else ""
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        times.append(((time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000))
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
    return times


def first_markers_s(app) -> float | None:
    """Seconds from asking for the home page to its first cluster or marker, in headless
    Chromium from a server on 127.0.0.1; None without Chromium."""
    chromium = os.environ.get("CAREMAP_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        return None
    from playwright.sync_api import sync_playwright
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True)
            page = browser.new_page(viewport={"width": VIEW_PIXELS[0], "height": 900})
            started = time.perf_counter()
            page.goto(f"http://127.0.0.1:{server.effective_port}/", wait_until="commit")
            page.wait_for_selector(".marker-cluster, .awesome-marker", timeout=30_000)
            seconds = time.perf_counter() - started
            browser.close()
            return seconds
    finally:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench map", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args(argv)
    rows: list[tuple[str, str, str, bool]] = []
    smallest = None
    app = None
    for size in [0, *args.sizes]:
        app = _app(store_url(size, args.data_dir))
        html = home_bytes(app)
        smallest = smallest or html
        rows.append(
            (
                f"home page HTML, {size or BUNDLED:,} services",
                f"{html / 1024:,.1f} KB ({html / smallest:.2f}x the {BUNDLED})",
                f"<= {TARGET_HTML_BYTES // 1024} KB, independent of N",
                html <= TARGET_HTML_BYTES,
            )
        )
        if size != args.sizes[-1]:
            app.extensions["caremap_store"].dispose()
    assert app is not None
    largest = f"{args.sizes[-1]:,}" if args.sizes else str(BUNDLED)
    seconds = first_markers_s(app)
    if seconds is not None:
        rows.append(
            (
                f"first markers visible (Chromium), {largest} services",
                f"{seconds:.2f} s",
                f"<= {TARGET_FIRST_MARKERS_S:g} s",
                seconds <= TARGET_FIRST_MARKERS_S,
            )
        )
    times = request_times_ms(app, args.data_dir)
    rows.append(_p95_row(f"pan/zoom request server time, {largest} services", VIEWS, times))
    for name, query in FILTERS.items():
        times = request_times_ms(app, args.data_dir, query, FILTERED_VIEWS)
        label = f"pan/zoom request server time, filtered by {name}, {largest} services"
        rows.append(_p95_row(label, FILTERED_VIEWS, times))
    app.extensions["caremap_store"].dispose()
    _print(rows)
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0 if all(ok for *_, ok in rows) else 1


def _p95_row(
    label: str, views: int, times: list[tuple[float, float]]
) -> tuple[str, str, str, bool]:
    wall, cpu = np.array(times).T
    p50, p95 = np.percentile(wall, 50), np.percentile(wall, 95)
    return (
        f"{label} ({views} views, zoom 3-16)",
        (
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms "
            f"(CPU p50 {np.percentile(cpu, 50):.1f} ms, p95 {np.percentile(cpu, 95):.1f} ms)"
        ),
        f"p95 <= {TARGET_REQUEST_P95_MS:g} ms",
        p95 <= TARGET_REQUEST_P95_MS,
    )


def _print(rows: list[tuple[str, str, str, bool]]) -> None:
    table = [
        ("measure", "now", "target", "met"),
        *((a, b, c, "yes" if ok else "NO") for a, b, c, ok in rows),
    ]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for number, row in enumerate(table):
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            print("-|-".join("-" * width for width in widths))
