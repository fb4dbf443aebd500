"""An automated accessibility scan (axe-core, from axe-playwright-python) of every page type in a
real headless Chromium, in English and French, at a phone's width (360 px) and a desktop's
(1280 px): no violation of impact serious or critical, and no page wider than its viewport.
Each page is scanned in the states that add to it: results with help lines and an address's
programmes grouped as one place, a service with next steps (on its page, its referral sheet and
its edit form) and pairs of listings waiting in the matches queue.

Only the embedded SQLite store is scanned: what axe checks is the HTML, CSS and script the app
sends, which the store does not change (both stores pass the same page tests elsewhere). One
store, server and sign-in per role serve the whole module, and one browser tab per person and
language: each page is loaded once at 360 px, scanned, widened to 1280 px (the CSS applies
again) and scanned again. Needs Chromium (``CAREMAP_CHROMIUM`` or on PATH)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from caremap import reports
from caremap.links import service_of_record
from etl.pipeline import run
from tests.conftest import DATA_DIR, LISTINGS, TEST_DATA, world_of
from tests.live_server import serving
from tests.signed_in_browser import sign_in
from tests.support.world import World

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

TRANSLATIONS = Path(__file__).parent.parent / "webmap" / "translations"
WIDTHS = {360: 740, 1280: 900}  # viewport width: height, in the order a page is scanned
SERIOUS = {"serious", "critical"}


# The page types: name -> (who is signed in, None for nobody; the path for the world).
PAGES: dict[str, tuple[str | None, Callable[[World], str]]] = {
    "search": (None, lambda w: "/"),
    "results": (None, lambda w: "/?near=M5A+2N2&radius_km=5"),
    "results-places": (None, lambda w: "/?near=M9V+1P9&radius_km=5"),
    "detail": (None, lambda w: f"/services/{w.service_a}"),
    "report": (None, lambda w: f"/services/{w.service_a}/report"),
    "print": (None, lambda w: "/print?near=M5A+2N2&radius_km=5"),
    "print-places": (None, lambda w: "/print?near=M9V+1P9&radius_km=5"),
    "print-service": (None, lambda w: f"/services/{w.service_a}/print?near=M5A+2N2"),
    "detail-next-steps": (None, lambda w: f"/services/{linked(w)}"),
    "print-service-next-steps": (None, lambda w: f"/services/{linked(w)}/print?near=M5H+2N2"),
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
    "edit-service-next-steps": ("admin", lambda w: f"/edit/services/{linked(w)}"),
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

# What a page must show for its scan to cover that state: CSS selectors present on the page.
SHOWN: dict[str, tuple[str, ...]] = {
    "results-places": ("section.helplines", "ul.programmes"),
    "print-places": ("section.helplines", "li.sheet-item h3"),
    "detail-next-steps": ("section.continuum", "li.next-step p.withheld"),
    "print-service-next-steps": ("section.continuum", "li.next-step p.withheld"),
    "edit-service-next-steps": ("fieldset.edit-next-step select option[selected]",),
    "moderation-matches": ("section.change-set button[formaction$='/accept']",),
}

# Loaded into the world besides its own listings: pairs for the matches queue (the NSPL and
# the City of Toronto list), places with several programmes, the help lines, and services
# with next steps (one of them to a confidential location).
CONTINUUM = TEST_DATA / "continuum"
MORE_SOURCES = [
    LISTINGS / "nspl_2024.csv",
    LISTINGS / "service_listings_shared.csv",
    LISTINGS / "helplines.csv",
    CONTINUUM / "continuum_listings.csv",
    CONTINUUM / "continuum_links.csv",
]


def linked(world: World) -> str:
    """The id of the service with next steps, one of them to a confidential location."""
    with world.store.session() as session:
        found = service_of_record(session, "continuum_listings", "LINK-A")
    assert found is not None
    return found


def cases() -> Iterator:
    for name in PAGES:
        for lang in ("en", "fr"):
            yield pytest.param(name, lang, id=f"{name}-{lang}")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """The world with :data:`MORE_SOURCES` loaded and an open report on editor_a's listing, for
    the queue and dashboard."""
    with world_of("sqlite", tmp_path_factory.mktemp("a11y")) as made:
        run(made.store, MORE_SOURCES, DATA_DIR, tmp_path_factory.mktemp("reports"), progress=False)
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
    for shown in SHOWN.get(name, ()):
        assert page.locator(shown).count() >= 1, f"{shown} is not on the page"
    problems = [problem for width in WIDTHS for problem in problems_at(page, width)]
    assert problems == [], "\n".join(problems)


def said(msgid: str, lang: str) -> str:
    """``msgid`` as the app says it in ``lang``."""
    from babel.support import Translations

    return Translations.load(TRANSLATIONS, [lang]).gettext(msgid)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_each_matches_button_is_named_by_its_action_and_its_pair(tab, server_url, lang):
    page = tab("moderator", lang)
    page.goto(f"{server_url}/moderation/matches?lang={lang}")
    # A pair whose record is merged already offers no merge (a record merges with one other).
    pairs = [
        (
            f"{pair.locator('h2').inner_text()} {pair.locator('p.muted').inner_text()}",
            pair.locator("button[formaction$='/accept']").count() == 1,
        )
        for pair in page.locator("section.change-set").all()
    ]
    assert any(mergeable for _, mergeable in pairs)
    for pair, mergeable in pairs:
        actions = ["Different services: keep apart"] + (["Same service: merge"] * mergeable)
        for action in actions:
            name = f"{said(action, lang)} {pair}"
            assert page.get_by_role("button", name=name, exact=True).count() == 1, name


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_each_next_step_is_a_group_named_by_its_service_and_kept_by_keyboard(
    tab, server_url, world, lang
):
    page = tab("admin", lang)
    page.goto(f"{server_url}/edit/services/{linked(world)}?lang={lang}")
    step = page.get_by_role(
        "group", name=f"{said('Next step %(number)s', lang) % {'number': 1}} — ", exact=False
    ).first
    legend = step.locator("legend").inner_text()
    chosen = step.get_by_role("combobox", name=said("Service", lang), exact=True)
    assert legend.endswith(chosen.locator("option:checked").inner_text())
    assert step.get_by_role("combobox", name=said("Link", lang), exact=True).count() == 1
    chosen.focus()
    for _ in range(4):  # the link, the reasons in English and French, then Remove
        page.keyboard.press("Tab")
    remove = step.get_by_role("checkbox", name=said("Remove this next step", lang), exact=True)
    assert remove.evaluate("box => box === document.activeElement")
    page.keyboard.press("Space")
    assert remove.is_checked()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_continuum_planner_form_is_named_and_kept_by_keyboard(tab, server_url, lang):
    page = tab(None, lang)
    page.goto(f"{server_url}/planner/continuum?lang={lang}")
    form = page.locator("form.planner")
    for label in ("Level", "Step", "Distance (km)"):
        assert form.get_by_role("combobox", name=said(label, lang), exact=True).count() == 1
    form.get_by_role("combobox", name=said("Level", lang), exact=True).focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    show = form.get_by_role("button", name=said("Show", lang), exact=True)
    assert show.evaluate("button => button === document.activeElement")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/planner/continuum" in page.url
    assert (
        page.get_by_role("table", name=said("Missing steps of the continuum of care", lang)).count()
        == 1
    )
