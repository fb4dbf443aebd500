"""CPU time of the public map pages per request.

``python -m bench pages`` loads the bundled listings with the real ETL into a temporary
embedded store and asks the app (the Flask test client, in-process) for the home page (in
English and French), a search near a postal code, the first found service's page and the
outlines the maps fetch. Each URL is asked once (not counted), then ``--repeat`` times: CPU
time of this process (``time.process_time``) and wall time per request, p50 / p95. The machine
is shared: the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from flask.testing import FlaskClient

from bench.planner import load_average, percentiles, request_times
from caremap.store import open_store
from etl.pipeline import run
from webmap import create_app

REPO = Path(__file__).resolve().parent.parent
SEARCH = "/?near=M5A+2N2&radius_km=5"
SERVICE_LINK = re.compile(r'href="(/services/[^?"&/]+)')


def urls(client: FlaskClient) -> dict[str, str]:
    """The pages measured, by name; the service is the search's first."""
    found = SERVICE_LINK.search(client.get(SEARCH).get_data(as_text=True))
    if found is None:
        raise RuntimeError(f"{SEARCH}: no service found")
    return {
        "home": "/?lang=en",
        "home, French": "/?lang=fr",
        "search, 5 km of M5A 2N2": SEARCH,
        "a service's page": found[1],
        "map outlines": "/map/outlines?lang=en",
    }


def measure(client: FlaskClient, repeat: int) -> list[tuple[str, str, str]]:
    """One row per page: CPU and wall ms per request, p50 / p95."""
    rows = []
    for name, url in urls(client).items():
        request_times(client, url)
        times = [request_times(client, url) for _ in range(repeat)]
        cpu, wall = zip(*times, strict=True)
        rows.append((name, percentiles(list(cpu), 1), percentiles(list(wall), 1)))
    return rows


def _print(rows: list[tuple[str, str, str]]) -> None:
    header = ("page", "CPU ms p50 / p95", "wall ms p50 / p95")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench pages", description=__doc__)
    parser.add_argument("--repeat", type=int, default=50, help="requests per URL (default 50)")
    args = parser.parse_args(argv)
    data_dir = REPO / "data"
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        url = f"sqlite:///{work / 'pages.sqlite3'}"
        store = open_store(url)
        try:
            run(store, [data_dir / "listings"], data_dir, work / "reports", progress=False)
            app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TILES_URL": ""})
            print(load_average())
            _print(measure(app.test_client(), args.repeat))
            print(load_average())
            app.extensions["caremap_store"].dispose()
        finally:
            store.dispose()
    return 0
