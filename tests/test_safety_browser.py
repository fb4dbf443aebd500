"""Safety features in a real headless Chromium: the quick exit (button and Esc) leaves no
directory page in the back history, same-origin navigation replaces the history entry, pages
fit a 360 px phone, and print hides the map and the quick exit. Nothing leaves 127.0.0.1: the
neutral site is this app's own health check."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.live_server import serving
from tests.support.browser import PageWatch

pytestmark = pytest.mark.browser

NEUTRAL = "/health?neutral=1"
RESULTS = "/?near=M5A+2N2&radius_km=5&lang={lang}"
RESULT_LINK = "#results li > a:first-child"


@pytest.fixture(scope="module")
def safety_app(loaded_store_url):
    from webmap import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": loaded_store_url,
            "TILES_URL": "",
            "QUICK_EXIT_URL": NEUTRAL,
        }
    )
    yield app
    app.extensions["caremap_store"].dispose()


@pytest.fixture(scope="module")
def server_url(safety_app) -> Iterator[str]:
    with serving(safety_app) as url:
        yield url


@pytest.fixture
def page(browser):
    page = browser.new_page()
    yield page
    page.close()


def is_directory_page(url: str, server_url: str) -> bool:
    return url.startswith(server_url) and url != server_url + NEUTRAL


def open_detail_page(page, server_url: str) -> None:
    """Home, a search through the form in one history entry, then a result's page in one
    more (so that Back returns to the results)."""
    page.goto(server_url + "/?lang=en", wait_until="networkidle")
    entries = page.evaluate("history.length")
    page.fill("#search-near", "M5A 2N2")
    with page.expect_navigation():
        page.click("button.primary")
    page.wait_for_selector(RESULT_LINK)
    assert page.evaluate("history.length") == entries, "the search form added a history entry"
    with page.expect_navigation():
        page.locator(RESULT_LINK).first.click()
    assert "/services/" in page.url
    assert page.evaluate("history.length") == entries + 1, "a result's page is one more entry"


def assert_gone_for_good(page, server_url: str) -> None:
    page.wait_for_url(server_url + NEUTRAL)
    page.go_back()
    page.wait_for_timeout(300)
    assert not is_directory_page(page.url, server_url), page.url


def test_quick_exit_button_leaves_no_directory_page_behind(page, server_url):
    watch = PageWatch(page)
    open_detail_page(page, server_url)
    assert watch.errors == []
    page.locator("#quick-exit").click()
    assert_gone_for_good(page, server_url)
    assert watch.hosts == {"127.0.0.1"}


def test_escape_key_leaves_no_directory_page_behind(page, server_url):
    open_detail_page(page, server_url)
    page.keyboard.press("Escape")
    assert_gone_for_good(page, server_url)


@pytest.mark.parametrize("how", ["button", "escape"])
def test_no_directory_page_comes_back_after_a_quick_exit(page, server_url, how):
    """Back twice and Forward twice from the neutral site: a results page, a service's page
    (entries a result link added) leave again at once; a fresh visit shows the directory."""
    open_detail_page(page, server_url)
    if how == "button":
        page.locator("#quick-exit").click()
    else:
        page.keyboard.press("Escape")
    page.wait_for_url(server_url + NEUTRAL)
    for move in (page.go_back, page.go_back, page.go_forward, page.go_forward):
        move()
        page.wait_for_timeout(300)
        assert not is_directory_page(page.url, server_url), page.url
    page.goto(server_url + "/?lang=en", wait_until="networkidle")
    assert page.locator("#search-near").is_visible()


def test_escape_works_with_focus_in_the_map(page, server_url):
    page.goto(server_url + "/", wait_until="networkidle")
    page.locator(".leaflet-container").first.focus()
    page.keyboard.press("Escape")
    assert_gone_for_good(page, server_url)


@pytest.mark.parametrize("how", ["button", "escape"])
def test_quick_exit_hides_the_page_at_once(page, server_url, how):
    """The page is blank from the moment of the click or key press, before the neutral site
    has even been requested."""
    page.goto(server_url + "/services/" + first_service_id(page, server_url))
    hidden = page.evaluate(
        """(how) => {
        if (how === "button") document.getElementById("quick-exit").click();
        else document.body.dispatchEvent(new KeyboardEvent("keydown",
                                          {key: "Escape", bubbles: true, cancelable: true}));
        return [getComputedStyle(document.body).display, document.title];
    }""",
        how,
    )
    assert hidden == ["none", ""]
    page.wait_for_url(server_url + NEUTRAL)  # (page.goto added history entries: no go_back)


def first_service_id(page, server_url: str) -> str:
    page.goto(server_url + RESULTS.format(lang="en"), wait_until="networkidle")
    href = page.locator(RESULT_LINK).first.get_attribute("href")
    return urlsplit(href).path.rsplit("/", 1)[1]


def test_map_popup_links_replace_the_history_entry(page, server_url):
    watch = PageWatch(page)
    href = "/services/" + first_service_id(page, server_url)
    page.goto(server_url + "/", wait_until="networkidle")
    entries = page.evaluate("history.length")
    page.evaluate(
        """(href) => {
        const name = Object.keys(window).find(
            k => k.startsWith("map_") && window[k] instanceof L.Map);
        const link = document.createElement("a");
        link.className = "popup-name";
        link.id = "popup-link";
        link.href = href;
        link.textContent = "details";
        L.popup().setLatLng(window[name].getCenter()).setContent(link).openOn(window[name]);
    }""",
        href,
    )
    with page.expect_navigation():
        page.locator(".leaflet-popup-content #popup-link").click()
    assert urlsplit(page.url).path == urlsplit(href).path
    assert page.evaluate("history.length") == entries
    assert watch.errors == []


def test_get_forms_replace_the_history_entry(page, server_url):
    page.goto(server_url + "/services/" + first_service_id(page, server_url))
    entries = page.evaluate("history.length")
    page.evaluate("""() => document.querySelector("main").insertAdjacentHTML("beforeend",
        `<form class="search" method="get" action="/">
           <input name="q" value="a b&c">
           <fieldset><legend>F</legend>
             <label><input type="checkbox" name="f" value="1" checked> one</label>
             <label><input type="checkbox" name="f" value="2"> two</label>
           </fieldset>
           <button id="go" name="go" value="yes">Go</button>
         </form>`)""")
    with page.expect_navigation():
        page.locator("#go").click()
    assert urlsplit(page.url).path == "/"
    assert parse_qs(urlsplit(page.url).query) == {"q": ["a b&c"], "f": ["1"], "go": ["yes"]}
    assert page.evaluate("history.length") == entries


def test_links_the_browser_should_handle_are_left_alone(page, server_url):
    """tel:, new windows, downloads, other sites, modified and non-primary clicks, opt-outs and
    links another script already handled: safety.js neither cancels them nor navigates."""
    page.goto(server_url + "/services/" + first_service_id(page, server_url))
    before = page.url
    cancelled = page.evaluate("""() => {
        const main = document.querySelector("main");
        main.insertAdjacentHTML("beforeend", `
          <a id="tel" href="tel:+15555550100">tel</a>
          <a id="blank" href="/" target="_blank">blank</a>
          <a id="download" href="/health" download>download</a>
          <a id="other" href="http://other.invalid/">other</a>
          <a id="push" href="/" data-history="push">push</a>
          <a id="plain" href="/">plain</a>`);
        const seen = {};
        window.addEventListener("click", e => {
            seen[e.target.id + (e.ctrlKey ? "+ctrl" : "") + (e.metaKey ? "+meta" : "")
                 + (e.shiftKey ? "+shift" : "") + (e.altKey ? "+alt" : "")
                 + (e.button ? "+button" + e.button : "")] = e.defaultPrevented;
            e.preventDefault();  // keep the test on this page
        });
        const click = (id, init) => document.getElementById(id).dispatchEvent(
            new MouseEvent("click", {bubbles: true, cancelable: true, ...init}));
        for (const id of ["tel", "blank", "download", "other", "push"]) click(id, {});
        for (const key of ["ctrlKey", "metaKey", "shiftKey", "altKey"]) {
            click("plain", {[key]: true});
        }
        click("plain", {button: 1});
        return seen;
    }""")
    assert len(cancelled) == 10
    assert not any(cancelled.values()), cancelled
    page.wait_for_timeout(300)
    assert page.url == before


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_phone_width(page, server_url, lang):
    page.set_viewport_size({"width": 360, "height": 740})
    watch = PageWatch(page)
    service_id = first_service_id(page, server_url)
    query = RESULTS.format(lang=lang).removeprefix("/")
    for path in ["/", "/" + query, f"/services/{service_id}?lang={lang}", "/print" + query]:
        page.goto(server_url + path, wait_until="networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        button = page.locator("#quick-exit")
        assert button.is_visible()
        box = button.bounding_box()
        assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= 360, box
        assert box["height"] >= 44 and box["width"] >= 44, box
        for selector in [".brand", ".lang-switch a"]:  # nothing hides under the button
            other = page.locator(selector).bounding_box()
            assert other["height"] >= 44, selector
            assert (
                other["x"] + other["width"] <= box["x"] or other["y"] >= box["y"] + box["height"]
            ), selector
        targets = page.locator(f"{RESULT_LINK}, #results .phone, .phones a, form.search button")
        for target in targets.all()[:8]:
            if target.is_visible():
                assert target.bounding_box()["height"] >= 44, (path, target.inner_text())
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        still = page.evaluate("document.getElementById('quick-exit').getBoundingClientRect().top")
        assert 0 <= still < 740, "the quick exit scrolled away"
    page.goto(f"{server_url}/?lang={lang}", wait_until="networkidle")
    assert 260 <= page.locator(".map-panel").bounding_box()["height"] <= 0.6 * 740
    assert watch.errors == []


def test_print_hides_the_quick_exit_the_map_and_the_controls(page, server_url):
    page.goto(server_url + RESULTS.format(lang="en"), wait_until="networkidle")
    assert page.locator("#quick-exit").is_visible()
    page.emulate_media(media="print")
    for selector in ["#quick-exit", ".map-panel", ".lang-switch", "form.search"]:
        assert not page.locator(selector).is_visible(), selector
    assert page.locator("#results").is_visible()
    item = page.locator(".service-item").first
    assert item.evaluate("e => getComputedStyle(e).breakInside") == "avoid"
    assert page.evaluate("getComputedStyle(document.body).color") == "rgb(0, 0, 0)"
    page.emulate_media(media="screen")
    assert page.locator("#quick-exit").is_visible()


def test_referral_sheet_prints_whole_entries(page, server_url):
    page.goto(server_url + "/print" + RESULTS.format(lang="en").removeprefix("/"))
    page.emulate_media(media="print")
    assert not page.locator("#quick-exit").is_visible()
    assert not page.locator(".print-hide").first.is_visible()
    item = page.locator(".sheet-item").first
    assert item.evaluate("e => getComputedStyle(e).breakInside") == "avoid"
