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

from flask.testing import FlaskClient

from bench.bundled import bundled_app, print_table
from bench.planner import load_average, percentiles, request_times

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench pages", description=__doc__)
    parser.add_argument("--repeat", type=int, default=50, help="requests per URL (default 50)")
    args = parser.parse_args(argv)
    with bundled_app() as (app, _):
        print(load_average())
        print_table(
            ("page", "CPU ms p50 / p95", "wall ms p50 / p95"),
            measure(app.test_client(), args.repeat),
        )
        print(load_average())
    return 0
