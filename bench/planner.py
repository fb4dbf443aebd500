"""CPU time of a planner request, computed and read from the stored indicators.

``python -m bench planner`` loads the bundled listings with the real ETL into a temporary
embedded store and asks the app (the Flask test client, in-process) for the planner's default
page, a few filtered ones and a what-if, and the outlines its map fetches: first without stored
indicators (every view computed on request, as in the tests), then after ``caremap coverage
build`` (standard views read; a what-if is always computed). Each URL is asked once (not
counted), then ``--repeat`` times: CPU time of this process (``time.process_time``) and wall
time per request, p50 / p95. The process's very first request, which reads the boundaries and
works out the demand points, is printed apart. The machine is shared: the load average is
printed beside the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time

import numpy as np
from flask.testing import FlaskClient

from bench.bundled import DATA_DIR, bundled_app, print_table
from caremap.coverage.stored import build

URLS = {
    "default page (census divisions)": "/planner/",
    "provinces": "/planner/?level=province",
    "Toronto neighbourhoods": "/planner/?level=toronto_neighbourhood",
    "emergency shelters in March": "/planner/?service_type=emergency_shelter&month=3",
    "share beyond 50 km, Fisher-Jenks": (
        "/planner/?indicator=share_beyond&threshold_km=50&method=fisher_jenks"
    ),
    "what-if: a site added (computed)": "/planner/?add=43.7,-79.4,20",
    "map outlines (areas.geojson)": "/planner/areas.geojson",
}


def request_times(client: FlaskClient, url: str) -> tuple[float, float]:
    """CPU and wall seconds of one request for ``url`` (which must answer 200)."""
    cpu, wall = time.process_time(), time.perf_counter()
    response = client.get(url, buffered=True)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code}")
    return cpu, wall


def percentiles(seconds: list[float], digits: int = 0) -> str:
    """The p50 / p95 of ``seconds`` in ms, to ``digits`` decimals."""
    p50, p95 = np.percentile(np.array(seconds) * 1000, [50, 95])
    return f"{p50:,.{digits}f} / {p95:,.{digits}f}"


def measure(client: FlaskClient, repeat: int, how: str) -> list[tuple[str, ...]]:
    """One row per URL: CPU and wall ms per request, p50 / p95."""
    rows = []
    for name, url in URLS.items():
        request_times(client, url)
        times = [request_times(client, url) for _ in range(repeat)]
        cpu, wall = zip(*times, strict=True)
        rows.append((name, how, percentiles(list(cpu)), percentiles(list(wall))))
    return rows


def load_average() -> str:
    return "load average " + ", ".join(f"{value:.1f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench planner", description=__doc__)
    parser.add_argument("--repeat", type=int, default=10, help="requests per URL (default 10)")
    args = parser.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    with bundled_app(NOW=now) as (app, store):
        client = app.test_client()
        print(load_average())
        cpu, wall = request_times(client, URLS["default page (census divisions)"])
        print(f"first request of the process: {cpu * 1000:,.0f} ms CPU, {wall * 1000:,.0f} ms")
        rows = measure(client, args.repeat, "computed")
        build(store, DATA_DIR, now.date(), now)
        rows += measure(client, args.repeat, "stored")
        print_table(("request", "indicators", "CPU ms p50 / p95", "wall ms p50 / p95"), rows)
        print(load_average())
    return 0
