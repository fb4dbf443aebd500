"""Moving a location in a real headless Chromium: an editor finds an address on the map,
drags the marker, submits; a moderator approves; the point is the dragged one, placed by hand.
Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

import pytest

from caremap.gazetteer import load_gazetteer
from caremap.model import Location
from tests.conftest import DATA_DIR
from tests.signed_in_browser import server_url, sign_in, sign_out, world  # noqa: F401 (fixtures)
from tests.support.browser import PageWatch

pytestmark = pytest.mark.browser


def drag_marker(page, dx: int, dy: int) -> None:
    page.locator("#location-map").scroll_into_view_if_needed()
    box = page.locator(".leaflet-marker-icon").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=5)
    page.mouse.move(x + dx, y + dy, steps=5)
    page.mouse.up()


def test_geocode_drag_submit_approve(browser, server_url, world):  # noqa: F811
    code = load_gazetteer(DATA_DIR).postal_code("M5H 2N2")
    page = browser.new_page()
    watch = PageWatch(page)
    sign_in(page, server_url, "editor_a", "en")
    page.goto(f"{server_url}/edit/locations/{world.location_a}")
    page.wait_for_selector(".leaflet-marker-icon")
    page.fill("#postal_code", "M5H 2N2")
    page.click("#find-on-map")
    page.wait_for_selector("#point-status:has-text('at the postal code')", timeout=10_000)
    assert page.input_value("#precision") == "postal_code"
    assert float(page.input_value("#latitude")) == pytest.approx(code.latitude, abs=1e-6)

    drag_marker(page, 60, 40)
    page.wait_for_selector("#point-status:has-text('placed by hand')", timeout=10_000)
    assert page.input_value("#precision") == "manual"
    dragged = float(page.input_value("#latitude")), float(page.input_value("#longitude"))
    assert dragged[0] < code.latitude and dragged[1] > code.longitude  # south-east of it
    page.click("#submit-location")
    page.wait_for_load_state()
    assert "sent to a moderator" in page.locator(".flashes").inner_text()
    sign_out(page)

    sign_in(page, server_url, "moderator", "en")
    page.goto(f"{server_url}/moderation/")
    change = page.locator("section.change-set")
    assert change.count() == 1 and "placed by hand" in change.inner_text()
    change.locator("button[formaction$='/approve']").click()
    page.wait_for_load_state()
    assert page.locator("section.change-set").count() == 0
    sign_out(page)

    with world.store.session() as session:
        location = session.get(Location, world.location_a)
        assert location.geocode_precision == "manual"
        assert (location.private_latitude, location.private_longitude) == dragged
        assert (location.latitude, location.longitude) == dragged  # a public address
        assert location.addresses[0].postal_code == "M5H 2N2"
    assert watch.errors == []
    assert watch.hosts == {"127.0.0.1"}
    page.close()
