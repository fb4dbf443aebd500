"""Editing with moderation in a real headless Chromium: an editor changes hours and beds, a
moderator approves, the public page shows the change, the history shows it, revert restores
it; in English and in French. Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

import pytest

from tests.signed_in_browser import server_url, sign_in, sign_out, world  # noqa: F401 (fixtures)
from tests.support.browser import PageWatch

pytestmark = pytest.mark.browser


def hours(page) -> str:
    return page.locator("ul.hours").inner_text()


def beds(page) -> str:
    """The public capacity line of the test service (40 beds in all)."""
    return page.locator("article.service > ul:not([class])").filter(has_text="40").inner_text()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_edit_approve_publish_history_and_revert(browser, server_url, world, lang):  # noqa: F811
    page = browser.new_page()
    watch = PageWatch(page)
    detail = f"{server_url}/services/{world.service_a}?lang={lang}"
    page.goto(detail)
    before, beds_before = hours(page), beds(page)

    sign_in(page, server_url, "editor_a", lang)
    page.goto(detail)
    page.locator("form[action$='/capacity'] input[name=available]").fill("7")
    page.locator("form[action$='/capacity'] button").click()
    page.wait_for_load_state()
    assert "7" in page.locator(".flashes").inner_text()
    page.locator(f"a[href='/edit/services/{world.service_a}']").click()
    page.wait_for_load_state()
    page.fill("#opens-0-MO", "09:00")
    page.fill("#closes-0-MO", "17:00")
    page.locator("form.edit-service button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1
    assert hours(page) == before  # not yet: a moderator decides
    sign_out(page)

    sign_in(page, server_url, "moderator", lang)
    page.goto(f"{server_url}/moderation/?lang={lang}")
    change = page.locator("section.change-set")
    assert change.count() == 1 and "editor_a@example.org" in change.inner_text()
    change.locator("button[formaction$='/approve']").click()
    page.wait_for_load_state()
    assert page.locator("section.change-set").count() == 0
    sign_out(page)

    page.goto(detail)
    published = hours(page)
    assert published != before and ("9:00" in published or "09 h 00" in published)
    assert beds(page) != beds_before and "7" in beds(page)
    assert page.locator("#editing").count() == 0  # no history for the public

    sign_in(page, server_url, "moderator", lang)
    page.goto(detail)
    history = page.locator("table.history tbody tr")
    assert history.count() == 2  # the hours (approved) and the beds (at once)
    hours_row = history.filter(has=page.locator("td", has_text="editor_a@example.org")).first
    assert hours_row.count() == 1
    page.locator("table.history tbody tr").nth(0).locator("button").click()  # newest: hours
    page.wait_for_load_state()
    page.locator("form[method=post][action$='/revert'] button").click()  # confirm it
    page.wait_for_load_state()
    assert hours(page) == before
    assert page.locator("table.history tbody tr").count() == 3
    sign_out(page)
    assert watch.errors == []
    assert watch.hosts == {"127.0.0.1"}
    page.close()
