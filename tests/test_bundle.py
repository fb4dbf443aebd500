"""Each map page loads one script, its bundle, and one stylesheet, shared by the pages with the
same styles (webmap/common/bundle.py): built from the static files at app start, their licence
headers kept, cached for good under their digests; and the browse map's opening points request
is the one a phone preloads."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

import webmap
from webmap.common.bundle import BUNDLES, STYLESHEETS
from webmap.common.mapview import PHONE_MAP_PX, fit_zoom, opening_view

STATIC = Path(webmap.__file__).parent / "static"
PAGES = {"search": "/?lang=en", "planner": "/planner/?lang=fr"}
CANADA = (-139.43328, 42.30008, -52.70931, 69.11489)  # the bundled listings' extent
_BUNDLE = re.compile(r"""(?:src|href)="(/bundle/[^"]+)\"""")
_URL = re.compile(r"""url\("([^"]+)"\)""")


def bundle_links(html: str) -> list[str]:
    return _BUNDLE.findall(html)


def service_page(client) -> str:
    features = client.get("/api/v1/services?lat=43.65&lon=-79.38").get_json()["features"]
    return f"/services/{features[0]['properties']['id']}"


def page_bundles(client) -> dict[str, list[str]]:
    pages = {**PAGES, "service": service_page(client)}
    return {
        name: bundle_links(client.get(path).get_data(as_text=True)) for name, path in pages.items()
    }


def test_each_map_page_loads_its_bundle_and_none_of_the_files_in_it(client):
    for name, path in {**PAGES, "service": service_page(client)}.items():
        html = client.get(path).get_data(as_text=True)
        links = bundle_links(html)
        [css, js] = sorted(links, key=lambda link: link.rpartition(".")[2])
        bundle = BUNDLES[name]
        assert js.startswith(f"/bundle/{name}.") and js.endswith(".js"), links
        assert css.startswith(f"/bundle/{bundle.stylesheet}.") and css.endswith(".css"), links
        for file in (*bundle.scripts, *STYLESHEETS[bundle.stylesheet]):
            stem = file.rpartition(".")[0]
            assert f"/static/{stem}." not in html, file


def test_a_bundle_holds_its_files_in_order_with_their_licence_headers(client):
    for name, links in page_bundles(client).items():
        for link in links:
            body = client.get(link).get_data(as_text=True)
            bundle = BUNDLES[name]
            files = bundle.scripts if link.endswith(".js") else STYLESHEETS[bundle.stylesheet]
            starts = [body.index(f"/* {file} */\n") for file in files]
            assert starts == sorted(starts), link
            assert "sourceMappingURL" not in body, link
            if link.endswith(".js"):
                assert "Leaflet 1.9.3, a JS library for interactive maps" in body
                assert "(c) 2012-2013, Lennard Voogdt" in body  # Leaflet.awesome-markers
                for file in files:
                    text = (STATIC / file).read_text(encoding="utf-8")
                    assert text.split("//# sourceMappingURL=")[0] in body, file


def test_pages_with_the_same_styles_share_one_stylesheet(client):
    stylesheets = {
        name: next(link for link in links if link.endswith(".css"))
        for name, links in page_bundles(client).items()
    }
    assert stylesheets["search"] == stylesheets["planner"] != stylesheets["service"]


def test_each_bundled_script_starts_once_the_page_is_parsed(client):
    """The app's scripts wait for the parsed page through ready.js, which comes first."""
    for name, links in page_bundles(client).items():
        body = client.get(next(link for link in links if link.endswith(".js"))).get_data(True)
        sections = dict(
            section.split(" */\n", 1) for section in body.split("/* ")[1:] if " */\n" in section
        )
        app_scripts = [f for f in BUNDLES[name].scripts if f.startswith("js/")]
        assert app_scripts[0] == "js/ready.js", name
        assert "DOMContentLoaded" in sections["js/ready.js"]
        for file in app_scripts[1:]:
            assert "DOMContentLoaded" not in sections[file], file
            assert "window.caremapReady(function () {" in sections[file], file


def test_a_bundled_stylesheet_points_at_served_files(client):
    for links in page_bundles(client).values():
        css = next(link for link in links if link.endswith(".css"))
        refs = _URL.findall(client.get(css).get_data(as_text=True))
        assert refs, css
        for ref in refs:
            if not ref.startswith(("data:", "#")):
                assert ref.startswith("/static/vendor/"), ref
                assert client.get(ref, buffered=True).status_code == 200, ref


def test_a_bundle_is_cached_for_good_compressed_and_revalidated(client):
    for link in page_bundles(client)["search"]:
        response = client.get(link, headers={"Accept-Encoding": "gzip"}, buffered=True)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.get_data()) == client.get(link).get_data()
        etag = response.headers["ETag"]
        again = client.get(link, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert again.status_code == 304
    name, _digest, kind = link.removeprefix("/bundle/").split(".")
    assert client.get(f"/bundle/{name}.0123456789ab.{kind}").status_code == 404


@pytest.mark.parametrize(
    ("box", "size", "zoom"),
    [
        (CANADA, PHONE_MAP_PX, 2),  # as Chromium's Leaflet fits the home map on a 360 px phone
        (CANADA, (1118, 398), 3),  # and in a 1280 x 800 window
        ((-79.4, 43.6, -79.4, 43.6), PHONE_MAP_PX, 12),  # one point: the greatest zoom
        ((0.0, 0.0, 45.0, 0.0), (256 * 2**-0.004, 100), 3),  # within 1 % of zoom 3
        ((0.0, 0.0, 45.0, 0.0), (256 * 2**-0.006, 100), 2),
    ],
)
def test_fit_zoom_is_leaflets(box, size, zoom):
    assert fit_zoom(box, size, 12) == zoom


def test_the_opening_request_asks_for_the_fitted_box_at_a_phones_zoom():
    bounds = [(CANADA[1], CANADA[0]), (CANADA[3], CANADA[2])]  # (lat, lon)
    opening = opening_view("/map/points?lang=en", bounds, 12)
    box = "-139.43328,42.30008,-52.70931,69.11489"
    assert opening["url"] == f"/map/points?lang=en&bbox={box}&zoom=2"
    assert opening["zoom"] == 2
