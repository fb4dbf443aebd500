"""The site's navigation, its information pages, the quick exit's place and Esc, in a real
headless Chromium at 360 × 740, in English and French. Nothing leaves 127.0.0.1: the neutral
site is this app's own health check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live_server import serving
from tests.signed_in_browser import sign_in, world  # noqa: F401 (fixture)
from tests.support.browser import PageWatch

pytestmark = pytest.mark.browser

NEUTRAL = "/health?neutral=1"
ESC_REPEAT_MS = 1500  # static/js/safety.js: a second Esc within this leaves an editor's page
NAV = "nav.site-nav"
NAV_ENDPOINT_PATHS = ["/", "/planner/", "/sources", "/about"]
FOOTER_NAV = "nav.footer-nav"
FOOTER_PATHS = ["/privacy", "/accessibility"]


@pytest.fixture
def server_url(make_app, world) -> Iterator[str]:  # noqa: F811
    app = make_app(world.url, SESSION_COOKIE_SECURE=False, QUICK_EXIT_URL=NEUTRAL)
    with serving(app) as url:
        yield url


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    yield page
    page.close()


def tab_focus_reaches(page, selector: str, presses: int = 40) -> set[str]:
    """The hrefs of the links matching ``selector`` that Tab, pressed from the top, focuses."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    reached = set()
    for _ in range(presses):
        page.keyboard.press("Tab")
        href = page.evaluate(
            "(s) => { const a = document.activeElement;"
            " return a && a.matches(s) ? a.getAttribute('href') : null; }",
            selector,
        )
        if href:
            reached.add(href)
    return reached


def overlaps(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_page_has_a_navigation_bar_that_fits_a_phone(page, server_url, world, lang):  # noqa: F811
    watch = PageWatch(page)
    paths = [*NAV_ENDPOINT_PATHS, *FOOTER_PATHS, f"/services/{world.service_a}", "/account/login"]
    for path in paths:
        page.goto(f"{server_url}{path}?lang={lang}", wait_until="networkidle")
        nav = page.locator(NAV)
        assert nav.get_attribute("aria-label"), path
        links = nav.locator("a")
        hrefs = [link.get_attribute("href") for link in links.all()]
        assert [h.split("?")[0] for h in hrefs[:4]] == NAV_ENDPOINT_PATHS, hrefs
        footer = page.locator(f"{FOOTER_NAV} a")
        assert [a.get_attribute("href").split("?")[0] for a in footer.all()] == FOOTER_PATHS
        assert page.locator(f"{FOOTER_NAV}[aria-label]").count() == 1, path
        assert "/account/login" in hrefs, "the sign-in link for editors"
        current = nav.locator("a[aria-current='page']")
        assert current.count() == (1 if path in [*NAV_ENDPOINT_PATHS, "/account/login"] else 0)
        if current.count():
            assert current.get_attribute("href").split("?")[0] == path
        for link in links.all():
            box = link.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 360, (path, box)
            assert box["height"] >= 44, (path, link.inner_text())
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        assert tab_focus_reaches(page, f"{NAV} a") == set(hrefs), path
    assert watch.errors == []


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_results_start_on_the_first_screen_of_a_phone(page, server_url, lang):
    """The header (quick exit, brand, navigation) leaves room: after a search the first result
    begins on the first 740 px screen (its first line, 24 px, shows), in both languages."""
    page.goto(f"{server_url}/?near=M5A+2N2&radius_km=5&lang={lang}", wait_until="networkidle")
    first = page.locator("#results a").first.bounding_box()
    assert first is not None and first["y"] + 24 <= 740, first


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_quick_exit_covers_no_text_on_a_phone(page, server_url, world, lang):  # noqa: F811
    for path in ["/", "/about", f"/services/{world.service_a}", "/planner/"]:
        page.goto(f"{server_url}{path}?lang={lang}", wait_until="networkidle")
        button = page.locator("#quick-exit").bounding_box()
        texts = page.locator(".site-header a, .site-header span, main h1, main p").all()
        for text in texts:
            if text.is_visible():
                box = text.bounding_box()
                assert not overlaps(button, box), (path, text.inner_text()[:40], box, button)


@pytest.mark.parametrize(
    ("path", "pages"),
    [
        ("/about", ["caremap", "911"]),
        ("/privacy", ["access log", "lang", "8 hours", "Esc"]),
        ("/accessibility", ["WCAG 2.2", "AA"]),
        ("/sources", ["Statistics Canada", "GeoNames"]),
    ],
)
def test_information_pages_in_both_languages(page, server_url, path, pages):
    page.goto(f"{server_url}{path}?lang=en")
    english = page.locator("main").inner_text()
    page.goto(f"{server_url}{path}?lang=fr")
    french = page.locator("main").inner_text()
    for needle in pages:
        assert needle in english, needle
    assert page.locator("html").get_attribute("lang") == "fr"
    assert english.split("\n")[0] != french.split("\n")[0], "the title is translated"
    assert page.locator("main h1").inner_text() != "", path


def test_esc_leaves_a_public_page_while_typing(page, server_url):
    page.goto(f"{server_url}/?lang=en", wait_until="networkidle")
    page.fill("#search-near", "Toronto")
    page.keyboard.press("Escape")
    page.wait_for_url(server_url + NEUTRAL)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_esc_once_keeps_an_editors_unsaved_work(page, server_url, world, lang):  # noqa: F811
    sign_in(page, server_url, "editor_a", lang)
    editing = f"{server_url}/edit/locations/{world.location_a}?lang={lang}"
    page.goto(editing, wait_until="networkidle")
    field = page.locator("main form input[type=text]").first
    field.fill("unsaved work")
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)
    assert page.url == editing
    assert field.input_value() == "unsaved work"
    button = page.locator("#quick-exit").bounding_box()
    for text in page.locator(".site-header a, .site-header span, main h1, main p").all():
        if text.is_visible():
            assert not overlaps(button, text.bounding_box()), text.inner_text()[:40]
    # Past the repeat window of the first Esc, so that the next two are the pair that leaves
    # (with the first, the second would leave and the third start leaving again).
    page.wait_for_timeout(ESC_REPEAT_MS + 100)
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(server_url + NEUTRAL)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_quick_exit_never_hides_part_of_a_line_on_a_phone(page, server_url, lang):
    """Scrolled anywhere, a text the quick exit overlaps is covered across its whole width
    (it has scrolled under a bar), never cut at its end while its start shows beside it."""
    page.goto(f"{server_url}/privacy?lang={lang}", wait_until="networkidle")
    for scrolled in range(0, 1200, 37):
        page.evaluate("(y) => window.scrollTo(0, y)", scrolled)
        button = page.locator("#quick-exit").bounding_box()
        for text in page.locator("main h1, main h2, main p, main li").all():
            box = text.bounding_box()
            if overlaps(button, box):
                assert button["x"] <= box["x"] and box["x"] + box["width"] <= (
                    button["x"] + button["width"]
                ), (scrolled, text.inner_text()[:40], box, button)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_map_attribution_leaves_the_scale_bar_visible(make_app, world, browser, lang):  # noqa: F811
    tiles = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # refused at once: nothing leaves the machine
    attribution = "&copy; OpenStreetMap contributors"
    app = make_app(world.url, TILES_URL=tiles, TILES_ATTRIBUTION=attribution)
    page = browser.new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    with serving(app) as url:
        for path in [f"/?lang={lang}", f"/?near=M5A+2N2&radius_km=50&lang={lang}"]:
            page.goto(url + path, wait_until="load")
            scale = page.locator(".leaflet-control-scale").bounding_box()
            attribution = page.locator(".leaflet-control-attribution").bounding_box()
            assert "OpenStreetMap" in page.locator(".leaflet-control-attribution").inner_text()
            assert not overlaps(scale, attribution), (path, scale, attribution)
            assert attribution["x"] + attribution["width"] <= 360
    page.close()
