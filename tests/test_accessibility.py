"""An automated accessibility scan (axe-core, from axe-playwright-python) of every page type in a
real headless Chromium, in English and French, at a phone's width (360 px) and a desktop's
(1280 px): no violation of impact serious or critical, and no page wider than its viewport.

Only the embedded SQLite store is scanned: what axe checks is the HTML, CSS and script the app
sends, which the store does not change (both stores pass the same page tests elsewhere). One
store, server and sign-in per role serve the whole module, and one browser tab per person and
language: each page is loaded once at 360 px, scanned, widened to 1280 px (the CSS applies
again) and scanned again. Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from caremap import reports
from tests.conftest import world_of
from tests.live_server import serving
from tests.signed_in_browser import sign_in
from tests.support.world import World

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

WIDTHS = {360: 740, 1280: 900}  # viewport width: height, in the order a page is scanned
SERIOUS = {"serious", "critical"}


# The page types: name -> (who is signed in, None for nobody; the path for the world).
PAGES: dict[str, tuple[str | None, Callable[[World], str]]] = {
    "search": (None, lambda w: "/"),
    "results": (None, lambda w: "/?near=M5A+2N2&radius_km=5"),
    "detail": (None, lambda w: f"/services/{w.service_a}"),
    "report": (None, lambda w: f"/services/{w.service_a}/report"),
    "print": (None, lambda w: "/print?near=M5A+2N2&radius_km=5"),
    "print-service": (None, lambda w: f"/services/{w.service_a}/print?near=M5A+2N2"),
    "planner-province": (None, lambda w: "/planner/?level=province"),
    "planner-census-division": (None, lambda w: "/planner/?level=census_division"),
    "planner-neighbourhood": (None, lambda w: "/planner/?level=toronto_neighbourhood"),
    "planner-continuum": (None, lambda w: "/planner/continuum?level=province"),
    "not-found": (None, lambda w: "/services/no-such-service"),
    "about": (None, lambda w: "/about"),
    "privacy": (None, lambda w: "/privacy"),
    "accessibility": (None, lambda w: "/accessibility"),
    "sources": (None, lambda w: "/sources"),
    "sign-in": (None, lambda w: "/account/login"),
    "account": ("editor_a", lambda w: "/account/"),
    "dashboard": ("editor_a", lambda w: "/edit/"),
    "edit-service": ("editor_a", lambda w: f"/edit/services/{w.service_a}"),
    "edit-organization": ("editor_a", lambda w: f"/edit/organizations/{w.org_a}"),
    "edit-location": ("editor_a", lambda w: f"/edit/locations/{w.location_a}"),
    "bulk-import": ("editor_a", lambda w: "/bulk/"),
    "bulk-organization": ("editor_a", lambda w: f"/bulk/organizations/{w.org_a}/"),
    "moderation": ("moderator", lambda w: "/moderation/"),
    "moderation-stale": ("moderator", lambda w: "/moderation/stale"),
    "moderation-matches": ("moderator", lambda w: "/moderation/matches"),
    "admin": ("admin", lambda w: "/admin/"),
    "admin-user": ("admin", lambda w: f"/admin/users/{w.users['editor_a']}"),
    "admin-organizations": ("admin", lambda w: "/admin/organizations"),
    "admin-organization": ("admin", lambda w: f"/admin/organizations/{w.org_a}"),
}


def cases() -> Iterator:
    for name in PAGES:
        for lang in ("en", "fr"):
            yield pytest.param(name, lang, id=f"{name}-{lang}")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """The world with an open report on editor_a's listing, for the queue and dashboard."""
    with world_of("sqlite", tmp_path_factory.mktemp("a11y")) as made:
        with made.store.session() as session, session.begin():
            now = dt.datetime.now(dt.UTC)
            reports.file_report(session, made.service_a, "hours", "Closed on Sundays.", "", now)
        yield made


@pytest.fixture(scope="module")
def server_url(world, tmp_path_factory) -> Iterator[str]:
    from webmap import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": world.url,
            "TILES_URL": "",
            "BULK_UPLOAD_DIR": tmp_path_factory.mktemp("uploads"),
            "SESSION_COOKIE_SECURE": False,
        }
    )
    with serving(app) as url:
        yield url
    app.extensions["caremap_store"].dispose()


@pytest.fixture(scope="module")
def signed_in(chromium, server_url, world) -> dict[str, dict]:
    """The cookies of each role that a page needs, signed in once for the module; the editor
    leaves a change for the moderator, so that the moderation queue has one to show."""
    states = {}
    for who in sorted({who for who, _ in PAGES.values() if who}):
        context = chromium.new_context()
        page = context.new_page()
        sign_in(page, server_url, who, "en")
        if who == "editor_a":
            propose_a_change(page, server_url, world)
        states[who] = context.storage_state()
        context.close()
    return states


def propose_a_change(page, server_url: str, world: World) -> None:
    page.goto(f"{server_url}/edit/services/{world.service_a}")
    page.fill("#opens-0-MO", "09:00")
    page.fill("#closes-0-MO", "17:00")
    page.locator("form.edit-service button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1


def serious_violations(page) -> list[str]:
    """Each axe violation of impact serious or critical: its rule, impact, how many elements
    and the first few of them. axe is put into the page once, for both of its scans."""
    from axe_playwright_python.base import AXE_SCRIPT

    if not page.evaluate("typeof axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    found = page.evaluate("axe.run({resultTypes: ['violations']})")["violations"]
    return [
        f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): "
        f"{[node['target'] for node in v['nodes'][:3]]}"
        for v in found
        if v["impact"] in SERIOUS
    ]


OVERFLOWING = """() => [...document.body.querySelectorAll("*")]
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth
                 && ![...e.children].some(c => c.getBoundingClientRect().right
                                               > document.documentElement.clientWidth))
    .slice(0, 3)
    .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
              + (e.className && typeof e.className === "string"
                 ? "." + e.className.trim().split(/\\s+/).join(".") : ""))"""


def overflowing(page) -> list[str]:
    """The first few innermost elements that reach past the right edge of the viewport."""
    return page.evaluate(OVERFLOWING)


@pytest.fixture(scope="module")
def tab(chromium, signed_in) -> Iterator[Callable[[str | None, str], Page]]:
    """The browser tab of a person (None for nobody) in a language, opened when first needed."""
    tabs: dict[tuple[str | None, str], Page] = {}
    contexts = []

    def tab_of(who: str | None, lang: str) -> Page:
        if (who, lang) not in tabs:
            context = chromium.new_context(storage_state=signed_in[who] if who else None)
            contexts.append(context)
            tabs[who, lang] = context.new_page()
        return tabs[who, lang]

    yield tab_of
    for context in contexts:
        context.close()


def problems_at(page: Page, width: int) -> list[str]:
    """Resize the page to ``width`` and say what is wrong there: each serious or critical axe
    violation, and the page being wider than the viewport."""
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    page.evaluate(AFTER_TWO_FRAMES)  # resize handlers have run and the page is laid out again
    assert page.evaluate("window.innerWidth") == width
    problems = serious_violations(page)
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > width:
        problems.append(f"the page is {wide} px wide: {overflowing(page)}")
    return [f"at {width} px: {problem}" for problem in problems]


AFTER_TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


@pytest.mark.parametrize(("name", "lang"), list(cases()))
def test_page_is_accessible_and_fits(tab, server_url, world, name, lang):
    who, path = PAGES[name]
    page = tab(who, lang)
    first = next(iter(WIDTHS))
    page.set_viewport_size({"width": first, "height": WIDTHS[first]})
    path = path(world)
    page.goto(f"{server_url}{path}{'&' if '?' in path else '?'}lang={lang}")
    assert page.evaluate("document.documentElement.lang") == lang
    if who:
        assert page.locator("form[action='/account/logout']").count() == 1
    if name == "moderation":
        assert page.locator("section.change-set").count() == 1
        assert page.locator("section.problem-report").count() == 1
    problems = [problem for width in WIDTHS for problem in problems_at(page, width)]
    assert problems == [], "\n".join(problems)
