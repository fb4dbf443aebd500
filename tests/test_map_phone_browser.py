"""The search map on a phone, in a real headless Chromium, in English and French: pinch-zoom
works, each result marker has a name, "Use my location" says what happens, a tap on the map
waits for "Search here". Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live_server import serving
from tests.support.browser import PageWatch

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
TORONTO = {"latitude": 43.6532, "longitude": -79.3832}


@pytest.fixture(scope="module")
def server_url(app) -> Iterator[str]:
    with serving(app) as url:
        yield url


@pytest.fixture
def phone(chromium):
    """A phone-sized context that allows geolocation at Toronto."""
    context = chromium.new_context(viewport=PHONE, geolocation=TORONTO, permissions=["geolocation"])
    yield context
    context.close()


@pytest.fixture
def phone_denied(chromium):
    """A phone-sized context where the person refuses geolocation."""
    context = chromium.new_context(viewport=PHONE, permissions=[])
    yield context
    context.close()


@pytest.mark.parametrize("path", ["/?lang=en", "/planner/?lang=fr"])
def test_map_pages_let_a_person_zoom(phone, server_url, path):
    page = phone.new_page()
    page.goto(server_url + path, wait_until="networkidle")
    viewports = page.evaluate(
        "[...document.querySelectorAll('meta[name=viewport]')].map(m => m.content)"
    )
    assert viewports == ["width=device-width, initial-scale=1"]
    page.close()


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/?lang=en", ["Zoom in", "Zoom out", "Layers"]),
        ("/?lang=fr", ["Zoom avant", "Zoom arrière", "Couches"]),
        ("/planner/?lang=fr", ["Zoom avant", "Zoom arrière"]),  # no layers to choose
    ],
)
def test_map_controls_are_named_in_the_pages_language(phone, server_url, path, names):
    page = phone.new_page()
    page.goto(server_url + path, wait_until="networkidle")
    controls = ".leaflet-control-zoom-in, .leaflet-control-zoom-out, .leaflet-control-layers-toggle"
    found = page.eval_on_selector_all(
        controls, "nodes => nodes.map(n => [n.title, n.getAttribute('aria-label')])"
    )
    assert found == [[name, name] for name in names]
    page.close()


@pytest.mark.parametrize(
    ("lang", "away"), [("en", "{name}, {distance} away"), ("fr", "{name}, à {distance}")]
)
def test_result_markers_are_named(phone, server_url, lang, away):
    page = phone.new_page()
    watch = PageWatch(page)
    page.goto(f"{server_url}/?lang={lang}&near=M5A+2N2&radius_km=5", wait_until="networkidle")
    items = page.locator("#results li")
    expected = sorted(
        away.format(
            name=items.nth(i).locator("a").first.inner_text(),
            distance=items.nth(i).locator(".distance").inner_text(),
        )
        for i in range(items.count())
    )
    assert expected
    markers = page.locator(".awesome-marker.leaflet-interactive")
    names = sorted(markers.nth(i).get_attribute("aria-label") for i in range(markers.count()))
    assert names == expected
    assert page.get_by_role("button", name=expected[0]).count() >= 1
    assert watch.errors == []
    page.close()


@pytest.mark.parametrize(
    ("lang", "said"),
    [("en", "Searching from your location"), ("fr", "Recherche à partir de votre position")],
)
def test_use_my_location_says_so(phone, server_url, lang, said):
    page = phone.new_page()
    watch = PageWatch(page)
    page.goto(f"{server_url}/?lang={lang}", wait_until="networkidle")
    page.click("#use-location")
    page.wait_for_selector("#results", timeout=10_000)
    assert page.locator(".matched").inner_text() == said
    assert page.input_value("#search-lat") == f"{TORONTO['latitude']:.5f}"
    assert watch.errors == []
    page.close()


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "Your location was not shared."),
        ("fr", "Votre position n’a pas été partagée."),
    ],
)
def test_refused_location_says_so(phone_denied, server_url, lang, said):
    page = phone_denied.new_page()
    page.goto(f"{server_url}/?lang={lang}", wait_until="networkidle")
    page.click("#use-location")
    status = page.locator("#location-status[role=status]")
    status.filter(has_text=said).wait_for(timeout=10_000)
    assert status.is_visible()
    assert page.locator("#results").count() == 0
    page.close()


@pytest.mark.parametrize(("lang", "label"), [("en", "Search here"), ("fr", "Chercher ici")])
def test_tap_on_the_map_waits_for_search_here(phone, server_url, lang, label):
    page = phone.new_page()
    watch = PageWatch(page)
    page.goto(f"{server_url}/?lang={lang}", wait_until="networkidle")
    address = page.url
    the_map = page.locator(".folium-map")
    the_map.scroll_into_view_if_needed()
    box = the_map.bounding_box()
    # Saskatoon on the map (Leaflet takes lat, lon): a point in Canada, away from the markers.
    point = page.evaluate(
        "(() => { const p = window.caremapMap.map.latLngToContainerPoint([52.13, -106.67]);"
        " return {x: p.x, y: p.y}; })()"
    )
    page.mouse.click(round(box["x"] + point["x"]), round(box["y"] + point["y"]))
    search_here = page.get_by_role("button", name=label)
    search_here.wait_for(timeout=5_000)
    page.wait_for_timeout(500)
    assert page.url == address and page.locator("#results").count() == 0  # no search yet
    search_here.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#results-heading", timeout=10_000)
    assert page.input_value("#search-lat") != ""
    assert watch.errors == []
    page.close()


def test_a_dense_phone_screen_loads_the_map_without_image_sprites(chromium, server_url):
    """On a 3x phone screen the search map draws its pins, clusters and layer button without
    an image file (SVG in the stylesheet), and fetches the outlines instead of embedding them;
    the opening view's points are asked for once, by the request the page preloads."""
    context = chromium.new_context(viewport=PHONE, device_scale_factor=3, is_mobile=True)
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    for path in ("/?lang=en", "/?lang=en&near=M5A+2N2&radius_km=5"):
        asked.clear()
        page.goto(server_url + path, wait_until="networkidle")
        page.wait_for_selector(".marker-cluster, .awesome-marker")
        images = [url for url in asked if url.endswith(".png")]
        assert images == [], images
        assert sum("/map/outlines" in url for url in asked) == 1
        points = [url for url in asked if "/map/points" in url]
        assert len(points) == (0 if "near=" in path else 1)
        preloaded = page.eval_on_selector_all(
            "link[rel=preload][as=fetch]", "links => links.map(link => link.href)"
        )
        assert preloaded == points
    context.close()
