"""The map in a real headless Chromium: markers appear, no console errors, nothing leaves
127.0.0.1, a popup leads to a detail page. Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.live_server import serving
from tests.support.browser import PageWatch

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server_url(app) -> Iterator[str]:
    with serving(app) as url:
        yield url


def test_map_shows_markers_and_stays_on_this_host(browser, server_url, tmp_path):
    page = browser.new_page()
    watch = PageWatch(page)
    page.goto(server_url + "/", wait_until="networkidle")
    page.wait_for_selector(".marker-cluster, .awesome-marker.leaflet-interactive", timeout=15_000)
    clusters = page.locator(".marker-cluster")
    assert clusters.count() + page.locator(".awesome-marker.leaflet-interactive").count() > 0
    assert page.locator(".leaflet-overlay-pane path").count() >= 13  # province outlines
    page.screenshot(path=str(tmp_path / "map.png"))
    assert watch.errors == []
    assert watch.hosts == {"127.0.0.1"}
    page.close()


def test_popup_leads_to_detail_page(browser, server_url):
    page = browser.new_page()
    watch = PageWatch(page)
    page.goto(server_url + "/", wait_until="networkidle")
    page.wait_for_selector(".marker-cluster", timeout=15_000)
    # Zoom to one known public point (lat, lon), where its marker stands unclustered.
    page.evaluate(
        """([lat, lon]) => {
        const name = Object.keys(window).find(
            k => k.startsWith("map_") && window[k] instanceof L.Map);
        window[name].setView([lat, lon], 18, {animate: false});
    }""",
        [43.639281, -79.439286],
    )
    page.wait_for_timeout(500)
    if not page.locator(".awesome-marker.leaflet-interactive").count():
        page.locator(".marker-cluster").first.click()  # several at one address: spiderfy
        page.wait_for_timeout(800)
    page.evaluate("""() => {
        // Tag the marker icon nearest the middle of the map, the one zoomed to.
        const box = document.querySelector(".folium-map").getBoundingClientRect();
        const cx = box.left + box.width / 2, cy = box.top + box.height / 2;
        const icons = [...document.querySelectorAll(".awesome-marker.leaflet-interactive")];
        const gap = e => { const r = e.getBoundingClientRect();
                           return Math.hypot(r.left + r.width / 2 - cx, r.bottom - cy); };
        icons.sort((a, b) => gap(a) - gap(b))[0].id = "nearest-marker";
    }""")
    page.locator("#nearest-marker").click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    name = popup.locator(".popup-name").inner_text()
    popup.locator(".popup-name").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == name
    assert watch.errors == []
    assert watch.hosts == {"127.0.0.1"}
    page.close()


def test_phone_width_and_french(browser, server_url):
    page = browser.new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    watch = PageWatch(page)
    page.goto(server_url + "/?lang=fr", wait_until="networkidle")
    assert page.locator("h1").inner_text() == "Trouver un service"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, "the page scrolls sideways on a phone"
    assert watch.errors == []
    page.close()


def test_search_list_detail_print_and_french(browser, server_url):
    page = browser.new_page()
    watch = PageWatch(page)
    page.goto(server_url + "/?lang=en", wait_until="networkidle")
    page.fill("#search-near", "M5A 2N2")
    page.select_option("#search-radius", "5")
    page.click("button.primary")
    page.wait_for_selector("#results li")
    assert "postal code M5A 2N2" in page.locator(".matched").inner_text()
    first = page.locator("#results li").first
    distance = first.locator(".distance").inner_text()
    assert distance.endswith(" km")
    # The list and the map are in step: hovering an item selects its marker.
    first.hover()
    assert page.locator(".marker-selected").count() == 1
    # The French page keeps the search.
    page.click(".lang-switch a")
    page.wait_for_selector("#results li")
    assert "code postal M5A 2N2" in page.locator(".matched").inner_text()
    assert page.locator("#results li .distance").first.inner_text() == distance.replace(".", ",")
    name = page.locator("#results li a").first.inner_text()
    page.locator("#results li a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == name
    page.goto(server_url + "/?near=M5A+2N2&radius_km=5&lang=en")
    page.click("text=Print a referral sheet")
    page.wait_for_selector(".sheet-item")
    assert page.locator(".sheet-item").count() >= 1
    assert page.locator(".sheet-item .phone-line, .sheet-item p").count() > 0
    assert watch.errors == []
    assert watch.hosts == {"127.0.0.1"}
    page.close()


def test_click_on_the_map_searches_from_there(browser, server_url):
    page = browser.new_page()
    page.goto(server_url + "/?lang=en", wait_until="networkidle")
    box = page.locator(".folium-map").bounding_box()
    # Where Saskatoon is on the map (Leaflet takes lat, lon): a point in Canada, no marker near.
    point = page.evaluate(
        "(() => { const p = window.caremapMap.map.latLngToContainerPoint([52.13, -106.67]);"
        " return {x: p.x, y: p.y}; })()"
    )
    page.mouse.click(round(box["x"] + point["x"]), round(box["y"] + point["y"]))
    page.click("#search-here")
    page.wait_for_selector("#results-heading", timeout=10_000)
    # The origin is named whether or not anything is within the radius of the point.
    assert "point chosen on the map" in page.locator(".matched").text_content()
    assert "within 25 km of the chosen point" in page.locator(".results").inner_text()
    page.close()


def test_planner_choropleth_legend_and_switching(browser, server_url):
    page = browser.new_page()
    watch = PageWatch(page)
    page.goto(
        server_url + "/planner/?lang=en&level=toronto_neighbourhood", wait_until="networkidle"
    )
    assert page.locator(".leaflet-overlay-pane path").count() == 158
    assert page.locator("#legend-heading").inner_text() == "Services per 100,000 people"
    fills = page.evaluate(
        "[...document.querySelectorAll('.leaflet-overlay-pane path')]"
        ".map(p => p.getAttribute('fill'))"
    )
    assert len(set(fills)) > 1  # classes, not one colour
    chart = page.evaluate(
        "({labels: window.indicatorChart.data.labels.length,"
        " title: window.indicatorChart.data.datasets[0].label,"
        " height: document.getElementById('indicator-chart').clientHeight})"
    )
    assert (chart["labels"], chart["title"]) == (40, "Services per 100,000 people")
    assert chart["height"] > 400  # a bar per jurisdiction, drawn by the vendored Chart.js
    page.select_option("select[name=indicator]", "share_beyond")
    page.click("form.planner button.primary")
    page.wait_for_load_state("networkidle")
    assert page.locator("#legend-heading").inner_text() == (
        "Share of people farther than the distance"
    )
    assert watch.errors == []
    assert watch.hosts == {"127.0.0.1"}
    page.close()


def test_planner_what_if_click_adds_a_site(browser, server_url):
    page = browser.new_page()
    page.goto(server_url + "/planner/?lang=en&level=province", wait_until="networkidle")
    before = services_counted(page)
    page.locator(".folium-map").scroll_into_view_if_needed()
    box = page.locator(".folium-map").bounding_box()
    # Where Saskatoon is on the map (Leaflet takes lat, lon).
    point = page.evaluate(
        "(() => { const p = window.caremapMap.map.latLngToContainerPoint([52.13, -106.67]);"
        " return {x: p.x, y: p.y}; })()"
    )
    with page.expect_navigation():
        # A mouse event lands on a whole pixel: the nearest one to the point.
        page.mouse.click(round(box["x"] + point["x"]), round(box["y"] + point["y"]))
    page.wait_for_load_state("networkidle")
    added = parse_qs(urlsplit(page.url).query)["add"][0]
    latitude, longitude, _ = (float(part) for part in added.split(","))
    # Within two pixels of the click at this zoom (about 0.1° a pixel across Canada).
    assert abs(latitude - 52.13) < 0.2 and abs(longitude + 106.67) < 0.2, added
    assert "1 site added" in page.locator("fieldset.what-if").inner_text()
    assert services_counted(page) == before + 1  # the hypothetical site is counted
    page.close()


def services_counted(page) -> int:
    """The sum of the planner table's Services column."""
    return page.evaluate(
        "[...document.querySelectorAll('table.indicators tbody tr')]"
        ".reduce((sum, row) => sum + Number(row.cells[2].textContent.replace(/\\D/g, '')), 0)"
    )


def test_phone_sized_results_say_what_is_left_out_and_page_on(browser, server_url):
    """At 360 × 740: a filter matching nothing says so, names what it left out for want of
    a count, offers those, and pages through them."""
    page = browser.new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    watch = PageWatch(page)
    page.goto(server_url + "/?lang=en", wait_until="networkidle")
    page.fill("#search-near", "M5A 2N2")
    page.click("details.filters summary")
    page.check("input[name=beds_available]")
    page.click("button.primary")
    page.wait_for_selector("#results-heading")
    heading = page.locator("#results-heading").inner_text()
    assert heading == "No service matches these filters anywhere in our data."
    note = page.locator(".unknown-note")
    assert "left out: their hours or bed counts are not known." in note.inner_text()
    note.locator("a").click()
    page.wait_for_selector("#results li")
    assert page.locator("#results li").count() == 20
    assert " of " in page.locator("#results-heading").inner_text()
    first = page.locator("#results li a").first.inner_text()
    page.click("a[rel=next]")
    page.wait_for_selector("#results li")
    assert page.locator("#results li a").first.inner_text() != first
    assert page.locator("a[rel=prev]").is_visible()
    assert watch.errors == []
    page.close()
