"""The service edit form's term checkboxes in a real headless Chromium on a phone (360 px), in
English and French: a fieldset with a legend per field, no list bullets, each box beside its
label on one line, a target large enough to tap, usable from the keyboard, no serious axe
violation. Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

import pytest

from tests.signed_in_browser import server_url, sign_in, world  # noqa: F401 (fixtures)
from tests.test_accessibility import serious_violations

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}
MIN_TARGET = 24  # px, WCAG 2.2 target size (minimum)

# Per term field: its legend, its bullets, and per box whether it sits beside its label (on the
# label's line, the label to its right) and the size of what a tap on it reaches.
CHECKBOXES = """() => [...document.querySelectorAll("form.edit-service fieldset")]
  .filter(set => set.querySelector("input[type=checkbox]"))
  .map(set => ({
    legend: set.querySelector(":scope > legend")?.textContent.trim() || "",
    bullets: [...set.querySelectorAll("li")]
      .filter(li => getComputedStyle(li).listStyleType !== "none").length,
    boxes: [...set.querySelectorAll("input[type=checkbox]")].map(box => {
      const label = document.querySelector(`label[for="${box.id}"]`);
      const b = box.getBoundingClientRect(), l = label.getBoundingClientRect();
      const target = label.parentElement.getBoundingClientRect();
      return {
        beside: l.left >= b.right && l.top < b.bottom && b.top < l.bottom,
        width: Math.min(target.width, b.width + l.width), height: Math.max(b.height, target.height),
      };
    }),
  }))"""


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_term_checkboxes_are_a_fieldset_of_boxes_beside_their_labels(
    browser,
    server_url,  # noqa: F811
    world,  # noqa: F811
    lang,
):
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    sign_in(page, server_url, "editor_a", lang)
    page.goto(f"{server_url}/edit/services/{world.service_a}?lang={lang}")
    fields = page.evaluate(CHECKBOXES)
    # The four term fields, and the phone numbers' group with each phone's Remove box.
    assert len(fields) >= 4 + 2
    for terms in fields:
        assert terms["legend"] and terms["bullets"] == 0, terms["legend"]
        assert terms["boxes"], terms["legend"]
        for box in terms["boxes"]:
            assert box["beside"], (terms["legend"], box)
            assert box["width"] >= MIN_TARGET and box["height"] >= MIN_TARGET, box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The keyboard reaches a box and the space bar ticks it.
    first = page.locator("form.edit-service input[type=checkbox]").first
    checked = first.is_checked()
    first.focus()
    page.keyboard.press("Space")
    assert first.is_checked() != checked
    assert serious_violations(page) == []


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_revert_confirmation_fits_a_phone_and_cancel_changes_nothing(
    browser,
    server_url,  # noqa: F811
    world,  # noqa: F811
    lang,
):
    page = browser.new_page()
    page.set_viewport_size(PHONE)
    sign_in(page, server_url, "moderator", lang)
    page.goto(f"{server_url}/edit/services/{world.service_a}?lang={lang}")
    page.fill("#opens-0-MO", "09:00")
    page.fill("#closes-0-MO", "17:00")
    page.locator("form.edit-service button[type=submit]").click()
    page.wait_for_load_state()
    detail = page.url
    published = page.locator("table.history tbody tr").count()
    page.locator("table.history tbody tr").first.locator("button").click()
    page.wait_for_load_state()
    assert page.locator("form[method=post][action$='/revert'] button").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert serious_violations(page) == []
    page.locator("form[method=post][action$='/revert'] a").click()  # cancel
    page.wait_for_load_state()
    assert page.url.split("#")[0] == detail.split("#")[0]
    assert page.locator("table.history tbody tr").count() == published
