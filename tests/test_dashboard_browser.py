"""The editor's dashboard in a real headless Chromium on a phone-sized screen (360 px): an
editor signs in, lands on "My listings", updates the beds available now and sees the new
count; in English and in French. Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

import pytest

from tests.signed_in_browser import server_url, sign_in, world  # noqa: F401 (fixtures)
from tests.support.browser import PageWatch

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_editor_updates_beds_from_the_dashboard_on_a_phone(browser, server_url, world, lang):  # noqa: F811
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    watch = PageWatch(page)
    sign_in(page, server_url, "editor_a", lang)
    assert page.url.split("?")[0].split("#")[0] == f"{server_url}/edit/"
    service = page.locator(f"#service-{world.service_a}")
    assert service.count() == 1
    service.locator("form.capacity input[name=available]").fill("7")
    service.locator("form.capacity button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/edit/#service-{world.service_a}")
    assert "7" in page.locator(".flashes").inner_text()
    service = page.locator(f"#service-{world.service_a}")
    assert service.locator("form.capacity input[name=available]").input_value() == ""
    assert "7" in service.locator("form.capacity .muted").inner_text()  # the last count
    assert "40" in service.locator("form.capacity label").inner_text()
    # Nothing wider than the phone's screen, and the controls are big enough to tap.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = service.locator("form.capacity button[type=submit]").bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"]
    verify = service.locator("form.verify button")
    assert verify.bounding_box()["x"] + verify.bounding_box()["width"] <= PHONE["width"]
    assert watch.errors == []
    assert watch.hosts == {"127.0.0.1"}
    page.close()
