"""The referral sheet's Print button in a real headless Chromium: shown, reached with the
keyboard, opens the print dialog, and is not on paper."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live_server import serving
from tests.support.browser import PageWatch

pytestmark = pytest.mark.browser

SHEET = "/print?near=M5A+2N2&radius_km=5&lang={lang}"


@pytest.fixture(scope="module")
def server_url(app) -> Iterator[str]:
    with serving(app) as url:
        yield url


@pytest.mark.parametrize(("lang", "label"), [("en", "Print"), ("fr", "Imprimer")])
def test_the_print_button_is_reached_by_keyboard_prints_and_is_not_printed(
    browser, server_url, lang, label
):
    page = browser.new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    watch = PageWatch(page)
    page.goto(server_url + SHEET.format(lang=lang), wait_until="networkidle")
    button = page.get_by_role("button", name=label, exact=True)
    assert button.is_visible()
    page.evaluate("window.print = () => { window.printed = true; }")
    for _ in range(40):
        page.keyboard.press("Tab")
        if button.evaluate("b => b === document.activeElement"):
            break
    else:
        pytest.fail("the Print button is not reached with Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("window.printed") is True
    page.emulate_media(media="print")
    assert not button.is_visible()
    assert page.locator(".sheet-item .provenance").first.is_visible()
    page.emulate_media(media="screen")
    assert watch.errors == []
    page.close()
