"""Maps must load scripts, styles, fonts and images from this app only (plus the tile server)."""

import re
from pathlib import Path

import branca.colormap
import folium
import pytest
from folium.plugins import MarkerCluster

import webmap
from webmap.common.assets import (
    VENDORED,
    ExternalAssetError,
    find_external_urls,
    find_resource_urls,
    localise,
    render_self_hosted,
)
from webmap.common.mapview import render_map

STATIC = Path(webmap.__file__).parent / "static"
VENDOR = STATIC / "vendor"


def static_url(path: str) -> str:
    return "/static/" + path


def care_map() -> folium.Map:
    """A map with every kind of element the app uses."""
    # With tiles=None folium drops max_zoom; MarkerCluster needs the map's own maxZoom.
    m = folium.Map(location=[45.5, -73.6], zoom_start=5, tiles=None, maxZoom=18)
    cluster = MarkerCluster(name="Centres").add_to(m)
    for lat, lon, name in [(45.50, -73.57, "Centre A"), (43.65, -79.38, "Centre B")]:
        folium.Marker(
            [lat, lon],
            popup=folium.Popup(f"<b>{name}</b> <a href='https://example.org'>site</a>"),
            tooltip=folium.Tooltip(name),
            icon=folium.Icon(icon="home", prefix="fa"),
        ).add_to(cluster)
    region = {"type": "Polygon", "coordinates": [[[-80, 43], [-73, 43], [-73, 46], [-80, 43]]]}
    feature = {"type": "Feature", "geometry": region, "properties": {"name": "Region"}}
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [feature]},
        name="Regions",
        tooltip=folium.GeoJsonTooltip(["name"]),
    ).add_to(m)
    folium.LayerControl().add_to(m)
    return m


def served_file(url: str) -> Path:
    assert url.startswith("/static/vendor/"), url
    return STATIC / url.removeprefix("/static/")


def test_localised_map_loads_only_vendored_files():
    m = care_map()
    localise(m, static_url)
    html = m.get_root().render()

    assert find_external_urls(html) == []
    urls = find_resource_urls(html)
    assert "/static/vendor/leaflet.markercluster/leaflet.markercluster.js" in urls
    for url in urls:
        assert served_file(url).is_file(), url


def test_localise_does_not_touch_class_level_lists():
    before = [list(cls.default_js) + list(cls.default_css) for cls in (folium.Map, MarkerCluster)]
    localise(care_map(), static_url)

    after = [list(cls.default_js) + list(cls.default_css) for cls in (folium.Map, MarkerCluster)]
    assert after == before
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3" in care_map().get_root().render()


def test_localise_names_an_unknown_cdn_url():
    m = care_map()
    m.default_js = [*m.default_js, ("new", "https://cdn.example.net/new.js")]
    with pytest.raises(ExternalAssetError, match=re.escape("https://cdn.example.net/new.js")):
        localise(m, static_url)


def test_render_self_hosted_rewrites_hard_coded_d3():
    m = care_map()
    branca.colormap.LinearColormap(["white", "purple"], vmin=0, vmax=1).add_to(m)

    html = render_self_hosted(m, static_url)

    assert '<script src="/static/vendor/d3/d3.min.js">' in html
    assert find_external_urls(html) == []


def test_render_self_hosted_refuses_a_page_that_would_leak():
    m = care_map()
    folium.Marker([45, -75], popup='<img src="https://tracker.example.com/p.gif">').add_to(m)
    with pytest.raises(ExternalAssetError, match=re.escape("tracker.example.com")):
        render_self_hosted(m, static_url)


def test_render_map_refuses_a_load_that_code_writes():
    """The app's maps give folium code only (data goes to the page as data), so the check of
    folium's output never fails because of data, and still catches what code links to."""
    m = care_map()
    folium.Marker([45, -75], icon=folium.CustomIcon("https://tracker.example.com/p.png")).add_to(m)
    with pytest.raises(ExternalAssetError, match=re.escape("tracker.example.com")):
        render_map(m, static_url, ())


def test_tile_server_is_the_one_allowed_host():
    m = care_map()
    folium.TileLayer(
        "https://tiles.example.org/{z}/{x}/{y}.png",
        attr='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
    ).add_to(m)
    localise(m, static_url)
    html = m.get_root().render()

    assert find_external_urls(html) == ["https://tiles.example.org/{z}/{x}/{y}.png"]
    assert find_external_urls(html, allowed_hosts={"tiles.example.org"}) == []


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
        '<script src="/static/vendor/jquery/jquery.min.js"></script>',
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


def test_vendored_files_and_licences_exist():
    for path in VENDORED.values():
        assert (STATIC / path).is_file(), path
    for package in (d for d in VENDOR.iterdir() if d.is_dir()):
        assert (package / "LICENSE").is_file(), package.name
