"""An automated accessibility scan (axe-core, from axe-playwright-python) of every page type in a
real headless Chromium, in English and French, at a phone's width (360 px) and a desktop's
(1280 px): no violation of impact serious or critical, and no page wider than its viewport.

Only the embedded SQLite store is scanned: what axe checks is the HTML, CSS and script the app
sends, which the store does not change (both stores pass the same page tests elsewhere). One
store, server and sign-in per role serve the whole module; each case has its own browser
context. Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest

from caremap import reports
from tests.conftest import world_of
from tests.live_server import serving
from tests.signed_in_browser import sign_in
from tests.support.world import World

pytestmark = pytest.mark.browser

WIDTHS = {360: 740, 1280: 900}  # viewport width: height
# Every page is scanned at 360 px; these at 1280 px too (the whole matrix took over 3 minutes).
WIDE_TOO = {"search", "results", "detail", "planner-province", "dashboard", "edit-service", "admin"}
SERIOUS = {"serious", "critical"}


# The page types: name -> (who is signed in, None for nobody; the path for the world).
PAGES: dict[str, tuple[str | None, Callable[[World], str]]] = {
    "search": (None, lambda w: "/"),
    "results": (None, lambda w: "/?near=M5A+2N2&radius_km=5"),
    "detail": (None, lambda w: f"/services/{w.service_a}"),
    "report": (None, lambda w: f"/services/{w.service_a}/report"),
    "print": (None, lambda w: "/print?near=M5A+2N2&radius_km=5"),
    "planner-province": (None, lambda w: "/planner/?level=province"),
    "planner-census-division": (None, lambda w: "/planner/?level=census_division"),
    "planner-neighbourhood": (None, lambda w: "/planner/?level=toronto_neighbourhood"),
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
    "admin": ("admin", lambda w: "/admin/"),
    "admin-user": ("admin", lambda w: f"/admin/users/{w.users['editor_a']}"),
    "admin-organizations": ("admin", lambda w: "/admin/organizations"),
    "admin-organization": ("admin", lambda w: f"/admin/organizations/{w.org_a}"),
}


def cases() -> Iterator:
    for name in PAGES:
        for lang in ("en", "fr"):
            for width in WIDTHS if name in WIDE_TOO else [360]:
                yield pytest.param(name, lang, width, id=f"{name}-{lang}-{width}")


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
    and the first few of them."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
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


@pytest.mark.parametrize(("name", "lang", "width"), list(cases()))
def test_page_is_accessible_and_fits(chromium, server_url, world, signed_in, name, lang, width):
    who, path = PAGES[name]
    context = chromium.new_context(
        viewport={"width": width, "height": WIDTHS[width]},
        storage_state=signed_in[who] if who else None,
    )
    try:
        page = context.new_page()
        path = path(world)
        page.goto(f"{server_url}{path}{'&' if '?' in path else '?'}lang={lang}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.lang") == lang
        if who:
            assert page.locator("form[action='/account/logout']").count() == 1
        if name == "moderation":
            assert page.locator("section.change-set").count() == 1
            assert page.locator("section.problem-report").count() == 1
        problems = serious_violations(page)
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > width:
            problems.append(
                f"the page is {wide} px wide in a {width} px viewport: {overflowing(page)}"
            )
        assert problems == [], "\n".join(problems)
    finally:
        context.close()
