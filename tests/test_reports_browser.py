"""Reporting a problem with a listing in a real headless Chromium at 360 × 740, in English and
French, with the keyboard only: the link on the listing, the form that fits the phone, the
report sent and stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from caremap.model import ProblemReport
from tests.signed_in_browser import server_url, world  # noqa: F401 (fixtures)
from tests.test_pages_browser import page  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

WIDTH = 360
LINK = {"en": "Report a problem with this listing", "fr": "Signaler un problème avec cette fiche"}
THANKS = {"en": "A moderator will check it", "fr": "La modération le vérifiera"}


def press_tab_until(view, selector: str, presses: int = 80) -> None:
    """Tab until the focused element matches ``selector`` (fails if it never does)."""
    for _ in range(presses):
        view.keyboard.press("Tab")
        if view.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_problem_is_reported_with_the_keyboard_on_a_phone(page, server_url, world, lang):  # noqa: F811
    url = f"/services/{world.service_a}/report"
    page.goto(f"{server_url}/services/{world.service_a}?lang={lang}")
    link = page.locator("a.report-problem")
    assert link.inner_text() == LINK[lang]
    press_tab_until(page, "a.report-problem")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{url}")
    assert page.locator("h1").inner_text() == LINK[lang]
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    form = page.locator("form.report-form")
    for element in form.locator("input:not([type=hidden]), textarea, button, label").all():
        box = element.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, box
    press_tab_until(page, "input[type=radio]")
    page.keyboard.press("ArrowDown")  # the second choice: wrong phone number
    assert page.locator("input[type=radio]:checked").get_attribute("value") == "phone"
    press_tab_until(page, "textarea")
    page.keyboard.type("The number rings a pharmacy.")
    press_tab_until(page, "form.report-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{url}/thanks")
    assert THANKS[lang] in page.locator("main").inner_text()
    with world.store.session() as session:
        stored = session.execute(select(ProblemReport.kind, ProblemReport.text)).all()
    assert [tuple(row) for row in stored] == [("phone", "The number rings a pharmacy.")]
