"""The planner in a real headless Chromium at a phone's and a desktop's width, in English and
French: nothing wider than the screen, and the what-if's list of services readable. Needs
Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live_server import serving
from tests.support.browser import PageWatch

pytestmark = pytest.mark.browser
SCREENS = [{"width": 360, "height": 740}, {"width": 1280, "height": 900}]


@pytest.fixture(scope="module")
def server_url(app) -> Iterator[str]:
    with serving(app) as url:
        yield url


def _overlap(one: dict, other: dict) -> bool:
    """Whether two bounding boxes share some area."""
    return (
        one["x"] < other["x"] + other["width"]
        and other["x"] < one["x"] + one["width"]
        and one["y"] < other["y"] + other["height"]
        and other["y"] < one["y"] + one["height"]
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("screen", SCREENS, ids=["phone", "desktop"])
def test_the_planner_fits_the_screen(browser, server_url, screen, lang):
    page = browser.new_page()
    page.set_viewport_size(screen)
    watch = PageWatch(page)
    page.goto(f"{server_url}/planner/?lang={lang}", wait_until="networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= screen["width"]
    what_if = page.locator("fieldset.what-if").bounding_box()
    show = page.locator("form.planner button.primary").bounding_box()
    assert what_if is not None and show is not None
    assert what_if["x"] + what_if["width"] <= screen["width"]
    assert not _overlap(what_if, show), "the what-if runs over the Show button"
    assert watch.errors == []
    page.close()


def test_the_services_to_switch_off_can_be_told_apart(browser, server_url):
    """Each service is a checkbox labelled with its name and where it is, in a list that
    scrolls within the form; switching one off is counted."""
    page = browser.new_page()
    page.goto(f"{server_url}/planner/?lang=en&level=province", wait_until="networkidle")
    choices = page.locator("fieldset.switch-off label")
    labels = choices.all_inner_texts()
    assert len(labels) > 100
    assert len(set(labels)) == len(labels), "two services read the same"
    box = page.locator("fieldset.switch-off").bounding_box()
    assert box is not None and box["height"] < 400  # the list scrolls, the page does not
    choices.first.locator("input[type=checkbox]").check()
    page.click("form.planner button.primary")
    page.wait_for_load_state("networkidle")
    assert "off=" in page.url
    assert "1 switched off" in page.locator("fieldset.what-if").inner_text()
    assert page.locator("fieldset.switch-off input:checked").count() == 1
    page.close()


@pytest.mark.parametrize(
    ("level", "jurisdictions"),
    [("province", 13), ("census_division", 293), ("toronto_neighbourhood", 158)],
)
def test_the_map_draws_the_outlines_it_fetches(browser, server_url, level, jurisdictions):
    """Each level's map draws a path per jurisdiction from ``areas.geojson``, with the
    jurisdiction's name and value in its tooltip."""
    page = browser.new_page()
    watch = PageWatch(page)
    fetched: list[str] = []
    page.on("response", lambda r: fetched.append(r.url) if "/areas.geojson" in r.url else None)
    # Waits for the outlines' response itself: on a busy machine the map's script may start
    # its fetch after the network has been quiet for the half second "networkidle" waits for.
    with page.expect_response(lambda response: "/areas.geojson" in response.url):
        page.goto(f"{server_url}/planner/?lang=fr&level={level}", wait_until="networkidle")
    assert len(fetched) == 1 and f"level={level}" in fetched[0]
    # Drawn once the outlines are parsed, which may outlast the network's quiet half second.
    paths = ".leaflet-overlay-pane path"
    page.wait_for_function(
        "args => document.querySelectorAll(args[0]).length >= args[1]",
        arg=[paths, jurisdictions],
    )
    assert page.locator(paths).count() == jurisdictions
    page.locator(".leaflet-overlay-pane path").last.hover(force=True)
    tooltip = page.locator(".map-tooltip").inner_text()
    assert "Services pour 100 000 personnes" in tooltip, tooltip
    assert watch.errors == []
    page.close()
