"""Maps must load scripts, styles, fonts and images from this app only (plus the tile server)."""

import re
from pathlib import Path

import folium
import pytest
from flask import Flask
from folium.plugins import MarkerCluster

import webmap
from webmap.common.assets import ExternalAssetError, find_external_urls, find_resource_urls
from webmap.common.bundle import BUNDLES, STYLESHEETS
from webmap.common.mapview import new_map, render_map

STATIC = Path(webmap.__file__).parent / "static"
VENDOR = STATIC / "vendor"
TEMPLATES = Path(webmap.__file__).parent / "templates"
TILES = "https://tiles.example.org/{z}/{x}/{y}.png"


def app_map(tiles_url: str = "") -> folium.Map:
    """A map as the app builds one, with every kind of element the app's maps hold."""
    m = new_map(tiles_url, "&copy; <a href='https://www.openstreetmap.org/copyright'>OSM</a>")
    folium.FeatureGroup(name="Services").add_to(m)
    folium.FeatureGroup(name="Areas").add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([(43.6, -79.4), (45.5, -73.6)])
    return m


def rendered(m: folium.Map, allowed_hosts=()) -> str:
    with Flask(__name__).app_context():
        parts = render_map(m, allowed_hosts)
    return parts.header + parts.body + parts.script


def test_an_app_map_links_no_asset_of_its_own():
    """folium writes no script or stylesheet link: the page's bundle holds them all."""
    assert find_resource_urls(rendered(app_map())) == []


def test_a_map_element_that_brings_its_cdn_assets_is_refused():
    m = app_map()
    MarkerCluster(name="Centres").add_to(m)
    with pytest.raises(ExternalAssetError, match=re.escape("leaflet.markercluster")):
        rendered(m)


def test_render_map_refuses_a_load_that_code_writes():
    """The app's maps give folium code only (data goes to the page as data), so the check of
    folium's output never fails because of data, and still catches what code links to."""
    m = app_map()
    folium.Marker([45, -75], icon=folium.CustomIcon("https://tracker.example.com/p.png")).add_to(m)
    with pytest.raises(ExternalAssetError, match=re.escape("tracker.example.com")):
        rendered(m)


def test_tile_server_is_the_one_allowed_host():
    with pytest.raises(ExternalAssetError, match=re.escape(TILES)):
        rendered(app_map(TILES))
    html = rendered(app_map(TILES), allowed_hosts={"tiles.example.org"})
    assert find_external_urls(html) == [TILES]


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="https://cdn.example/x.js"></script>',
        "<link rel='preconnect' href='//fonts.example'>",
        "<img alt='' srcset='/a.png 1x, https://img.example/b.png 2x'>",
        r"var h = $(`<div><img src=\"https://img.example/p.png\"></div>`)[0];",
        r'"attribution": "\u003cimg src=\"https://img.example/logo.png\"\u003e"',
        "<style>body { background: url('https://img.example/bg.png') }</style>",
        '<style>@import "https://css.example/x.css";</style>',
        'L.tileLayer(\n    "https://{s}.tiles.example/{z}/{x}/{y}.png", {})',
        'L.icon({\n  "iconUrl": "https://icons.example/i.png",\n});',
        '$.ajax("https://data.example/x.geojson", {dataType: "json"})',
    ],
)
def test_finds_external_loads(snippet: str):
    assert len(find_external_urls(snippet)) == 1


@pytest.mark.parametrize(
    "snippet",
    [
        '<a href="https://www.openstreetmap.org/copyright">OSM</a>',
        r'"attribution": "\u003ca href=\"https://osm.example/copyright\"\u003eOSM\u003c/a\u003e"',
        "<p>See https://example.org for opening hours.</p>",
        """.x { background: url("data:image/svg+xml,%3csvg xmlns='http://www.w3.org/2000/svg'")}""",
        '<svg xmlns="http://www.w3.org/2000/svg"></svg>',
        '<script src="/static/vendor/leaflet/leaflet.js"></script>',
    ],
)
def test_ignores_links_and_same_origin_urls(snippet: str):
    assert find_external_urls(snippet) == []


@pytest.mark.parametrize("css", sorted(VENDOR.rglob("*.css")), ids=lambda p: p.name)
def test_vendored_css_references_exist(css: Path):
    text = css.read_text(encoding="utf-8")
    assert find_external_urls(text) == []
    for ref in find_resource_urls(text):
        target = css.parent / re.split(r"[?#]", ref)[0]
        assert target.resolve().is_relative_to(VENDOR), ref
        assert target.is_file(), ref


def test_each_vendored_package_is_used_and_keeps_its_licence():
    bundled = {path for bundle in BUNDLES.values() for path in bundle.scripts}
    bundled |= {path for files in STYLESHEETS.values() for path in files}
    for path in bundled:
        assert (STATIC / path).is_file(), path
    linked = set(re.findall(r"filename='(vendor/[^']+)'", _templates_text()))
    used = {Path(path).parts[1] for path in bundled | linked if path.startswith("vendor/")}
    packages = {d.name for d in VENDOR.iterdir() if d.is_dir()}
    assert packages == used
    for package in packages:
        assert (VENDOR / package / "LICENSE").is_file(), package


def _templates_text() -> str:
    return "".join(path.read_text(encoding="utf-8") for path in TEMPLATES.rglob("*.html"))
