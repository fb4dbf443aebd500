"""The phone numbers of an edit form on a phone (360 × 740) in a real headless Chromium, in
English and French: the fieldset fits the screen, each input has its own label, and a number
added in an empty row is sent. Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

import pytest

from caremap import changes
from tests.signed_in_browser import server_url, sign_in, world  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

# Each input of the phone fieldset: its id, its label's text, its right edge and the screen's.
INPUTS = """fieldset => [...fieldset.querySelectorAll("input, select")].map(e => ({
    id: e.id,
    label: [...e.labels].map(l => l.textContent.trim()).join(" "),
    right: e.getBoundingClientRect().right,
    screen: document.documentElement.clientWidth,
}))"""


@pytest.mark.parametrize(
    ("lang", "legend", "labels"),
    [
        ("en", "Phone numbers", {"Type", "Number", "Extension", "Remove this number"}),
        ("fr", "Numéros de téléphone", {"Type", "Numéro", "Poste", "Retirer ce numéro"}),
    ],
)
def test_the_phone_fieldset_fits_a_phone_and_every_input_is_labelled(
    chromium,
    server_url,  # noqa: F811
    world,  # noqa: F811
    lang,
    legend,
    labels,
):
    context = chromium.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    sign_in(page, server_url, "editor_a", lang)
    page.goto(f"{server_url}/edit/services/{world.service_a}?lang={lang}")
    fieldset = page.locator("fieldset.edit-phones")
    assert fieldset.locator("> legend").inner_text() == legend
    inputs = fieldset.evaluate(INPUTS)
    assert len(inputs) == 3 * 5  # the phone, then two empty rows to add one
    for found in inputs:
        assert found["label"], found["id"]
        assert found["right"] <= found["screen"], found
    assert labels <= {found["label"] for found in inputs}
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.fill("#phones-1-number", "613 555 0142")
    page.fill("#phones-1-description", "Intake")
    page.locator("form.edit-service button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1
    with world.store.session() as session:
        [change_set] = changes.pending_change_sets(session)
        [change] = change_set.changes
    assert change.field_name == "phones" and '"number": "+16135550142"' in change.new_value
    context.close()
