"""Bytes a browser transfers for the home page and a search, cold and warm.

``python -m bench transfer`` loads the bundled listings with the real ETL into a temporary
embedded store and visits each page with an emulated browser (the Flask test client): the page,
the scripts, stylesheets and icon it references and what its map fetches (outlines, and the
points of the opening view), twice (cold: empty cache; warm: the same browser again). Three
browsers, side by side:

* ``before``: accepts no compression and revalidates every cached file on each visit (what
  the app did before compression and hashed names: nothing compressed, static files
  ``no-cache``);
* ``gzip`` and ``br``: accept that encoding and keep files as their ``Cache-Control`` says
  (a fresh or ``immutable`` file is not asked for again; one with an ``ETag`` is revalidated).

Bytes are response bodies as sent (a 304 has none); requests are those that reached the app.
Target (issue 14): the home page cold, compressed, <= 300 KB.

Then the planner at each level: the page's HTML (uncompressed; issue 14's target for the
default page is 150 KB, the polygons fetched) beside its HTML when it embedded the polygons,
and the outlines its map fetches (``/planner/areas.geojson``), uncompressed and gzipped.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field

from flask.testing import FlaskClient

from bench.bundled import bundled_app, print_table

PAGES = {"home": "/", "search": "/?near=M5V%202T6"}
PLANNER_LEVELS = ("default", "province", "census_division", "toronto_neighbourhood")
PLANNER_TARGET_KB = 150
HOME_COLD_TARGET_KB = 300  # issue 14: the home page cold, map fetches included
PLANNER_EMBEDDED_KB = {  # the page's HTML with its polygons inline (commit cd86aa9), bundled data
    "default": 924,
    "province": 498,
    "census_division": 924,
    "toronto_neighbourhood": 454,
}
_MAP_DATA = re.compile(r'(?s)<script id="map-data" type="application/json">(.*?)</script>')
_SUBRESOURCE = re.compile(
    r"""<script\b[^>]*\bsrc="(/[^"]+)"|<link\b[^>]*\brel="(?:stylesheet|icon)"[^>]*\bhref="(/[^"]+)\""""
)


@dataclass
class Browser:
    """A browser with a cache: ``encoding`` accepted (None: none), ``keeps`` whether it trusts
    ``Cache-Control`` (else it revalidates everything it has)."""

    client: FlaskClient
    encoding: str | None
    keeps: bool
    cache: dict[str, tuple[str | None, bool]] = field(default_factory=dict)

    def visit(self, path: str) -> tuple[int, int]:
        """Requests made and body bytes received to show ``path``."""
        html = self.client.get(path, buffered=True).get_data(as_text=True)  # not counted
        wanted = [path, *(a or b for a, b in _SUBRESOURCE.findall(html)), *map_fetches(html)]
        fetched = [self.fetch(url.replace("&amp;", "&")) for url in wanted]
        sent = [size for size in fetched if size is not None]
        return len(sent), sum(sent)

    def fetch(self, url: str) -> int | None:
        """Body bytes of one request for ``url``; None when the cache answers alone."""
        headers = {"Accept-Encoding": self.encoding} if self.encoding else {}
        etag, fresh = self.cache.get(url, (None, False))
        if fresh and self.keeps:
            return None
        if etag:
            headers["If-None-Match"] = etag
        response = self.client.get(url, headers=headers, buffered=True)
        if response.status_code == 200:
            control = response.cache_control
            self.cache[url] = (response.headers.get("ETag"), bool(control.max_age))
        return len(response.get_data())


def map_fetches(html: str) -> list[str]:
    """What the page's map fetches once drawn (``static/js/map-data.js``): its outlines, and
    its points for the opening view (the request a phone preloads, ``opening``)."""
    found = _MAP_DATA.search(html)
    if found is None:
        return []
    data = json.loads(found[1])
    urls = [data["outlines"]["url"]] if data["outlines"] and data["outlines"]["url"] else []
    if data["opening"]:
        urls.append(data["opening"]["url"])
    return urls


def measure(client: FlaskClient) -> list[tuple[str, ...]]:
    browsers = {"before": (None, False), "gzip": ("gzip", True), "br": ("br", True)}
    rows = []
    for page, path in PAGES.items():
        visits: dict[str, list[tuple[int, int]]] = {}
        for name, (encoding, keeps) in browsers.items():
            browser = Browser(client, encoding, keeps)
            visits[name] = [browser.visit(path), browser.visit(path)]
        for index, moment in enumerate(("cold", "warm")):
            before = visits["before"][index][1]
            cells = [page, moment]
            for name in browsers:
                requests, size = visits[name][index]
                ratio = f" ({size / before:.2f}x)" if name != "before" and before else ""
                cells.append(f"{size / 1024:,.1f} KB / {requests} req{ratio}")
            target = page == "home" and moment == "cold"
            cells.append(f"<= {HOME_COLD_TARGET_KB} KB compressed" if target else "")
            rows.append(tuple(cells))
    return rows


def measure_planner(client: FlaskClient) -> list[tuple[str, ...]]:
    """The planner page's HTML and its map's outlines at each level, in KB."""
    rows = []
    for level in PLANNER_LEVELS:
        path = "/planner/?lang=en" + ("" if level == "default" else f"&level={level}")
        html = client.get(path, buffered=True).get_data(as_text=True)
        found = re.search(r'"url": "(/planner/areas\.geojson[^"]*)"', html)
        areas = found[1].replace("\\u0026", "&") if found else ""
        plain = client.get(areas, buffered=True).get_data() if areas else b""
        gzipped = client.get(areas, headers={"Accept-Encoding": "gzip"}, buffered=True)
        target = f"<= {PLANNER_TARGET_KB} KB" if level == "default" else ""
        rows.append(
            (
                level,
                f"{PLANNER_EMBEDDED_KB[level]:,} KB",
                f"{len(html.encode()) / 1024:,.1f} KB",
                target,
                f"{len(plain) / 1024:,.1f} KB / {len(gzipped.get_data()) / 1024:,.1f} KB",
            )
        )
    return rows


VISIT_HEADER = (
    "page",
    "visit",
    "before (identity, revalidate)",
    "gzip, cached",
    "br, cached",
    "target",
)
PLANNER_HEADER = (
    "planner level",
    "HTML, polygons inline",
    "HTML now",
    "target",
    "areas.geojson (identity / gzip)",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench transfer", description=__doc__)
    parser.parse_args(argv)
    with bundled_app() as (app, _):
        client = app.test_client()
        print_table(VISIT_HEADER, measure(client))
        print()
        print_table(PLANNER_HEADER, measure_planner(client))
    return 0
