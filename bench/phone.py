"""Home, a search and the planner on an emulated phone on a Fast 3G network.

``python -m bench phone`` serves the 116 bundled services (an embedded store loaded with the
real ETL, kept as :func:`bench.browse_map.store_url` keeps it) from a real server on 127.0.0.1
(waitress, tiles off: ``TILES_URL`` empty, so no tile is asked for) and opens each page in
headless Chromium (``$CAREMAP_CHROMIUM``) at 360 x 740 CSS pixels, touch, device scale 3, with
a cold cache (a new browser context per run), the network throttled through CDP
``Network.emulateNetworkConditions`` with Chrome DevTools' "Fast 3G" preset (latency 562.5 ms,
download 180,000 bytes/s = 1.44 Mbit/s, upload 84,375 bytes/s = 675 kbit/s) and the CPU
slowed 4x (``Emulation.setCPUThrottlingRate``). For each page, after one visit that warms the
server, 3 runs, the median of:

* the load event (``loadEventStart`` of the navigation, from its start);
* the first result of a search (``#results li``) drawn, from the navigation's start;
* the first map marker or cluster drawn, from the navigation's start;
* the planner's first area drawn (its map's outlines, fetched), from the navigation's start;
* bytes transferred (the sum of CDP ``encodedDataLength``, headers included) once the
  network is idle: the page, its files and the map's fetches (``/map/points``...).

Target (issue 14): each time of home and the search <= 2.5 s (the planner has none). The exit
status is 1 when one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.browse_map import _app, _print, store_url
from bench.search_latency import REPO

PAGES = {
    "home": ("/?lang=en", ("marker",)),
    "search": ("/?lang=en&near=Toronto&radius_km=25", ("result", "marker")),
    "planner": ("/planner/?lang=en", ("area",)),
}
TARGETED = frozenset({"home", "search"})
"""Each page's path, and what it draws that the bench waits for (:data:`DRAWN`)."""
RUNS = 3
TARGET_S = 2.5
VIEWPORT = {"width": 360, "height": 740}
FAST_3G = {  # Chrome DevTools' preset: 150 ms x 3.75, 1.6 Mbit/s x 0.9, 750 kbit/s x 0.9
    "offline": False,
    "latency": 562.5,
    "downloadThroughput": 1_600_000 / 8 * 0.9,
    "uploadThroughput": 750_000 / 8 * 0.9,
}
CPU_SLOWDOWN = 4
FIRST_RESULT = "#results li"
FIRST_MARKER = ".marker-cluster, .awesome-marker"
FIRST_AREA = "path.leaflet-interactive"
DRAWN = {"result": FIRST_RESULT, "marker": FIRST_MARKER, "area": FIRST_AREA}
WATCH = """
(() => {
  const seen = {};
  window.__caremapSeen = seen;
  const selectors = %s;
  function drawn(node) {
    const box = node.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  }
  function look() {
    for (const [name, selector] of Object.entries(selectors)) {
      if (!(name in seen) && [...document.querySelectorAll(selector)].some(drawn)) {
        seen[name] = performance.now();
      }
    }
  }
  new MutationObserver(look).observe(document, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", look);
  addEventListener("load", look);
})();
"""


@dataclass(frozen=True)
class Visit:
    load_s: float
    first_result_s: float | None
    first_marker_s: float | None
    first_area_s: float | None
    bytes: int


@contextmanager
def serve(url: str) -> Iterator[str]:
    """The app on ``url``'s store, from waitress on 127.0.0.1; yields its base URL."""
    from waitress.server import create_server

    app = _app(url)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        app.extensions["caremap_store"].dispose()


def visit(browser, url: str, drawn: tuple[str, ...]) -> Visit:
    """Open ``url`` cold on an emulated Fast 3G phone, until it has ``drawn`` (names of
    :data:`DRAWN`); what it took."""
    context = browser.new_context(
        viewport=VIEWPORT, device_scale_factor=3, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        page.add_init_script(WATCH % json.dumps(DRAWN))
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", FAST_3G)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        sizes: list[float] = []
        cdp.on("Network.loadingFinished", lambda event: sizes.append(event["encodedDataLength"]))
        page.goto(url, wait_until="load", timeout=60_000)
        page.wait_for_load_state("networkidle", timeout=60_000)
        seen = {name: ms for name, ms in wait_seen(page, list(drawn)).items() if name in drawn}
        load_ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventStart")
        return Visit(
            load_s=load_ms / 1000,
            first_result_s=seen["result"] / 1000 if "result" in seen else None,
            first_marker_s=seen["marker"] / 1000 if "marker" in seen else None,
            first_area_s=seen["area"] / 1000 if "area" in seen else None,
            bytes=int(sum(sizes)),
        )
    finally:
        context.close()


def wait_seen(page, names: list[str], timeout_s: float = 30.0) -> dict[str, float]:
    """The page's times (ms) of first drawing, once each of ``names`` is drawn (polled from
    here: the page's CSP forbids the evaluated predicates of ``wait_for_function``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        seen = page.evaluate("window.__caremapSeen")
        if all(name in seen for name in names):
            return seen
        if time.monotonic() > deadline:
            raise TimeoutError(f"{page.url}: {names} not drawn in {timeout_s:g} s (saw {seen})")
        page.wait_for_timeout(100)


def median_visit(visits: list[Visit]) -> Visit:
    def median(values: list[float | None]) -> float | None:
        known = [value for value in values if value is not None]
        return statistics.median(known) if known else None

    return Visit(
        load_s=statistics.median(v.load_s for v in visits),
        first_result_s=median([v.first_result_s for v in visits]),
        first_marker_s=median([v.first_marker_s for v in visits]),
        first_area_s=median([v.first_area_s for v in visits]),
        bytes=int(statistics.median(v.bytes for v in visits)),
    )


def rows_of(page: str, visits: list[Visit]) -> list[tuple[str, str, str, bool]]:
    """The table rows of one page: each time against the target, then its bytes."""
    middle = median_visit(visits)
    spread = "; ".join(f"{v.load_s:.2f}" for v in visits)
    load = f"{middle.load_s:.2f} s (runs {spread})"
    rows = [(f"{page}: load event", load, *_target(middle.load_s, page))]
    for name, seconds in (
        ("first result drawn", middle.first_result_s),
        ("first marker or cluster drawn", middle.first_marker_s),
        ("first area drawn", middle.first_area_s),
    ):
        if seconds is not None:
            rows.append((f"{page}: {name}", f"{seconds:.2f} s", *_target(seconds, page)))
    rows.append((f"{page}: bytes transferred", f"{middle.bytes / 1024:,.1f} KB", "", True))
    return rows


def _target(seconds: float, page: str) -> tuple[str, bool]:
    if page not in TARGETED:
        return "", True
    return f"<= {TARGET_S:g} s", seconds <= TARGET_S


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench phone", description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    args = parser.parse_args(argv)
    chromium = os.environ.get("CAREMAP_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        print("no Chromium: set CAREMAP_CHROMIUM")
        return 2
    from playwright.sync_api import sync_playwright

    rows: list[tuple[str, str, str, bool]] = []
    with serve(store_url(0, args.data_dir)) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            for page, (path, drawn) in PAGES.items():
                visit(browser, base + path, drawn)  # warms the server (caches, first geocode)
                visits = [visit(browser, base + path, drawn) for _ in range(args.runs)]
                rows += rows_of(page, visits)
        finally:
            browser.close()
    _print(rows)
    return 0 if all(ok for *_, ok in rows) else 1
