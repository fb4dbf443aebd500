"""A search from Iqaluit on a 360 px phone, in a real headless Chromium: the honest sentence,
then the Nunavut lines with their `tel:` links, reached by keyboard, the page no wider than
the phone, with no serious axe violation. Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live_server import serving
from tests.support.browser import PageWatch
from tests.test_accessibility import serious_violations
from tests.test_area_answers import national_url

pytestmark = pytest.mark.browser
__all__ = ["national_url"]  # the store fixture this module's server reads

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def server_url(national_url, make_app) -> Iterator[str]:
    with serving(make_app(national_url)) as url:
        yield url


@pytest.mark.parametrize(
    ("lang", "said", "serve"),
    [
        (
            "en",
            "No human trafficking services in our data within 100 km",
            "These lines serve Nunavut:",
        ),
        ("fr", "Aucun service de type", "Ces lignes desservent cette région (Nunavut) :"),
    ],
)
def test_iqaluit_on_a_phone_shows_the_nunavut_lines_first(chromium, server_url, lang, said, serve):
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    watch = PageWatch(page)
    page.goto(
        f"{server_url}/?lang={lang}&near=X0A+0H0&service_type=human_trafficking&radius_km=100",
        wait_until="networkidle",
    )
    heading = page.locator("#results-heading")
    assert said in heading.inner_text()
    lines = page.locator(".helplines")
    assert serve in lines.locator("h2").inner_text()
    first_line = lines.locator(".helpline").first
    assert "Nunavut" in first_line.inner_text()
    assert first_line.locator("a.phone").first.get_attribute("href") == "tel:211"
    # Above the places, which wait behind a closed disclosure.
    box, farther = lines.bounding_box(), page.locator("details.farther")
    assert box["y"] < farther.bounding_box()["y"] and farther.get_attribute("open") is None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The keyboard reaches the first line's number.
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == "tel:211":
            break
    else:
        pytest.fail("Tab never reaches the first help line's number")
    page.locator("details.helpline-more").first.locator("summary").click()
    assert serious_violations(page) == []
    assert watch.errors == []
    context.close()
