"""The moderators' queue of possible matches on a 360 px phone, in a real headless Chromium,
in English and in French: no wider than the phone, no serious axe violation, and a decision
made there is kept. Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

import pytest

from tests.signed_in_browser import server_url, sign_in, world  # noqa: F401 (fixtures)
from tests.support.browser import PageWatch
from tests.test_accessibility import serious_violations
from tests.test_matching import etl

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.mark.parametrize(
    ("lang", "heading", "merge"),
    [
        ("en", "Listings that may be the same service", "Same service: merge"),
        ("fr", "Fiches qui sont peut-être le même service", None),
    ],
)
def test_the_matches_queue_on_a_phone(chromium, server_url, world, tmp_path, lang, heading, merge):  # noqa: F811
    etl(world.store, tmp_path)
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    watch = PageWatch(page)
    sign_in(page, server_url, "moderator", lang)
    page.goto(f"{server_url}/moderation/matches?lang={lang}", wait_until="networkidle")
    assert page.locator("h1").inner_text() == heading
    pairs = page.locator("h2")
    assert pairs.count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    buttons = page.locator("button[formaction$='/accept']")
    box = buttons.first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert serious_violations(page) == []
    if merge:
        waiting = pairs.count()
        page.locator("button", has_text=merge).first.click()
        page.wait_for_load_state()
        assert page.locator("h2").count() == waiting - 1
    assert watch.errors == []
    context.close()
