"""The detail page and the search filters on a phone, in a real headless Chromium, in English and
French: Back and the back link return to the results, the detail page's small map shows an
ordinary service's marker and only the community area of a confidential one, and after a
filtered search the results come first under a one-line summary of the filters.
Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.live_server import serving
from tests.support.browser import PageWatch
from tests.test_web import service_id_by_source

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
FILTERED = "near=M5A+2N2&radius_km=any&population=women&language=fr&open_now=1&include_unknown=1"
SAFE_HOUSE_POINT = ("43.66813", "-79.44498")  # TEST-SAFE-1's exact point (lat, lon), private


@pytest.fixture(scope="module")
def server_url(app) -> Iterator[str]:
    with serving(app) as url:
        yield url


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(viewport=PHONE)
    yield context
    context.close()


def open_first_result(page, server_url: str, lang: str) -> str:
    """Search with filters, open the first result; the results page's URL."""
    page.goto(f"{server_url}/?lang={lang}&{FILTERED}", wait_until="networkidle")
    results = page.url
    page.locator("#results li a").first.click()
    page.wait_for_url("**/services/**")
    return results


@pytest.mark.parametrize(
    ("lang", "back"), [("en", "Back to the results"), ("fr", "Retour aux résultats")]
)
def test_back_and_the_back_link_return_to_the_results(phone, server_url, lang, back):
    page = phone.new_page()
    watch = PageWatch(page)
    results = open_first_result(page, server_url, lang)
    page.go_back(wait_until="networkidle")
    assert page.url == results
    assert page.locator("#results li").count() > 0

    page.locator("#results li a").first.click()
    page.wait_for_url("**/services/**")
    page.get_by_role("link", name=back).click()
    page.wait_for_url(f"{server_url}/?**")
    assert parse_qs(urlsplit(page.url).query) == parse_qs(urlsplit(results).query)
    assert page.locator("#results li").count() > 0
    assert watch.errors == []
    page.close()


@pytest.mark.parametrize(
    "back",
    [
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "/planner/?x=1",
        "/?near=a\n//evil.example",
    ],
)
def test_a_back_value_other_than_the_search_page_is_refused(client, loaded_store, back):
    service_id = service_id_by_source(loaded_store, "TORYOUTH-650")
    response = client.get(f"/services/{service_id}", query_string={"back": back, "lang": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<a href="/?lang=en">Back to the map</a>' in html
    links = [unescape(href) for href in re.findall(r'href="([^"]*)"', html)]
    assert back not in links
    # Only the language switch carries it on, to this same page (which checks it again).
    assert {urlsplit(link).path for link in links if "back=" in link} == {f"/services/{service_id}"}


def test_the_back_link_keeps_the_query_escaped(client, loaded_store):
    service_id = service_id_by_source(loaded_store, "TORYOUTH-650")
    back = '/?near=M5A 2N2&radius_km=5&x="><script>&lang=fr'
    html = client.get(f"/services/{service_id}", query_string={"back": back}).get_data(as_text=True)
    expected = "/?near=M5A+2N2&amp;radius_km=5&amp;x=%22%3E%3Cscript%3E&amp;lang=fr"
    assert f'<a href="{expected}">' in html
    assert '"><script>' not in html


@pytest.mark.parametrize(
    ("lang", "name"),
    [("en", "Map of where this service is"), ("fr", "Carte de l’emplacement du service")],
)
def test_detail_map_marks_an_ordinary_service(phone, server_url, loaded_store, lang, name):
    page = phone.new_page()
    watch = PageWatch(page)
    service_id = service_id_by_source(loaded_store, "TORYOUTH-650")
    page.goto(f"{server_url}/services/{service_id}?lang={lang}", wait_until="networkidle")
    the_map = page.get_by_role("region", name=name)
    assert the_map.locator(".awesome-marker.leaflet-interactive").count() == 1
    assert the_map.locator("path.leaflet-interactive").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert watch.errors == []
    page.close()


# The radius of each circle on the page's Leaflet map (a global the map script defines).
CIRCLE_RADII = """() => {
  const map = Object.values(window).find(value => value instanceof L.Map);
  const radii = [];
  map.eachLayer(layer => { if (layer instanceof L.Circle) radii.push(layer.getRadius()); });
  return radii;
}"""


def test_detail_map_shows_only_the_area_of_a_confidential_service(phone, server_url, loaded_store):
    page = phone.new_page()
    watch = PageWatch(page)
    service_id = service_id_by_source(loaded_store, "TEST-SAFE-1")
    page.goto(f"{server_url}/services/{service_id}?lang=en", wait_until="networkidle")
    the_map = page.get_by_role("region", name="Map of where this service is")
    assert the_map.locator("path.leaflet-interactive").count() == 1
    assert the_map.locator(".awesome-marker.leaflet-interactive").count() == 0
    data = json.loads(page.locator("#map-data").text_content())
    assert data["points"] == []
    assert data["outlines"] is None  # Leaflet draws the circle from the public point
    assert page.evaluate(CIRCLE_RADII) == [3000]
    html = page.content()
    assert not any(coordinate in html for coordinate in SAFE_HOUSE_POINT)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert watch.errors == []
    page.close()


@pytest.mark.parametrize(
    ("lang", "summary"),
    [
        ("en", "Filters: Women, French, Open now"),
        ("fr", "Filtres : Femmes, Français, Ouvert maintenant"),
    ],
)
def test_filtered_results_come_first_under_a_filter_summary(phone, server_url, lang, summary):
    page = phone.new_page()
    page.goto(f"{server_url}/?lang={lang}&{FILTERED}", wait_until="networkidle")
    heading = page.locator("#results-heading").bounding_box()
    assert heading is not None and heading["y"] + heading["height"] <= PHONE["height"]
    # Between the heading and the list, only the short summary of the search.
    between = page.locator("#results-heading ~ *:not(ol, nav)").evaluate_all(
        "nodes => nodes.map(n => n.className)"
    )
    assert set(between) <= {"matched", "result-actions", "unknown-note"}
    if lang == "en":  # French labels are longer: the list begins just under the first screen
        first = page.locator("#results li").first.bounding_box()
        assert first is not None and first["y"] < PHONE["height"]
    filters = page.locator("details.filters")
    assert filters.get_attribute("open") is None
    assert filters.locator("summary").inner_text() == summary
    filters.locator("summary").click()
    checked = page.locator("details.filters input:checked")
    assert sorted(checked.evaluate_all("boxes => boxes.map(b => b.name + '=' + b.value)")) == [
        "language=fr",
        "open_now=1",
        "population=women",
    ]
    assert checked.first.is_visible()
    page.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_search_page_without_a_search_keeps_its_form_open(phone, server_url, lang):
    page = phone.new_page()
    page.goto(f"{server_url}/?lang={lang}", wait_until="networkidle")
    assert page.locator("#search-near").is_visible()
    assert page.locator("details.filters summary").inner_text() in ("Filters", "Filtres")
    page.close()
