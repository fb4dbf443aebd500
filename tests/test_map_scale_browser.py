"""The browse map at national scale in headless Chromium: 100,000 listings show as clusters at
the home zoom, a zoom shows markers, a click opens the listing; nothing leaves 127.0.0.1, the
policy allows no inline script but the page's own, and the page fits a 360 px phone.

The store is built once per session, cheaply (see :func:`large_store_url`): SYNTHETIC services
(bench.synthetic) loaded with the real ETL, their published listings then multiplied in SQL
to :data:`SERVICES`, and the map's stored cells counted afresh from them as publishing does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text

from bench.synthetic import overlay_data_dir, write_listings
from caremap.mapcells import rebuild
from caremap.model import PublicListing
from caremap.store import open_store
from etl.pipeline import run
from tests.live_server import serving
from tests.support.browser import PageWatch

pytestmark = pytest.mark.browser

SERVICES = 100_000
LOADED = 250  # synthetic services through the real ETL; their listings are multiplied
PAGE_BYTES = 60 * 1024  # the home page's HTML, whatever the number of services
# Copies of every public (not confidential) listing: id "<listing id>~<n>", its public point
# moved by up to JITTER_DEGREES each way (a pseudo-random step of copy number and row), the
# point in its feature and record moved with it. Service and location stay the original's, so
# a copy's popup and detail page are its service's.
MULTIPLY_SQL = """
INSERT INTO public_listing (id, service_id, location_id, position, service_name, latitude,
                            longitude, confidential, feature, capacities, record)
WITH RECURSIVE copy(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM copy WHERE n < :copies),
moved AS (
    SELECT l.*, l.id || '~' || copy.n AS copy_id,
           l.latitude + :jitter * (((copy.n * 7919 + l.rowid * 104729) % 2001) - 1000) / 1000.0
               AS copy_latitude,
           l.longitude + :jitter * (((copy.n * 6271 + l.rowid * 15485863) % 2001) - 1000) / 1000.0
               AS copy_longitude
    FROM public_listing AS l CROSS JOIN copy
    WHERE NOT l.confidential
)
SELECT copy_id, service_id, location_id, position, service_name, copy_latitude, copy_longitude,
       confidential,
       json_set(feature, '$.id', copy_id,
                '$.geometry.coordinates', json_array(copy_longitude, copy_latitude)),
       capacities,
       json_set(record, '$.location.latitude', copy_latitude,
                '$.location.longitude', copy_longitude)
FROM moved
"""
JITTER_DEGREES = 0.2


@pytest.fixture(scope="session")
def large_store_url(tmp_path_factory, data_dir) -> str:
    """An embedded store of :data:`SERVICES` published listings (see the module's doc)."""
    work = tmp_path_factory.mktemp("large")
    data_dir = overlay_data_dir(work / "data", data_dir)  # maps the synthetic source
    listings = write_listings(work / "listings", data_dir, LOADED)
    url = f"sqlite:///{work / 'large.sqlite3'}"
    store = open_store(url)
    try:
        run(store, [listings.path], data_dir, work / "reports", progress=False)
        with store.engine.begin() as connection:
            public = connection.scalar(
                select(func.count()).select_from(PublicListing).where(~PublicListing.confidential)
            )
            copies = -(-SERVICES // public) - 1
            connection.execute(text(MULTIPLY_SQL), {"copies": copies, "jitter": JITTER_DEGREES})
            rebuild(connection)
    finally:
        store.dispose()
    return url


@pytest.fixture(scope="module")
def large_site(large_store_url) -> Iterator[str]:
    from webmap import create_app

    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": large_store_url, "TILES_URL": ""}
    )
    with serving(app) as url:
        yield url
    app.extensions["caremap_store"].dispose()


def ordinary_listing(url: str) -> PublicListing:
    store = open_store(url)
    try:
        with store.session() as session:
            return session.scalars(
                select(PublicListing).where(~PublicListing.confidential).limit(1)
            ).one()
    finally:
        store.dispose()


def test_large_map_clusters_zooms_and_opens_a_listing(browser, large_site, large_store_url):
    page = browser.new_page()
    watch = PageWatch(page)
    response = page.goto(large_site + "/?lang=en", wait_until="networkidle")
    assert len(response.body()) <= PAGE_BYTES
    script_src = response.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in script_src and "'nonce-" in script_src
    page.wait_for_selector(".marker-cluster", timeout=15_000)
    counts = page.locator(".marker-cluster span").all_inner_texts()
    assert sum(int(count) for count in counts) > SERVICES // 2  # clustered, not one by one
    assert page.locator(".awesome-marker").count() < len(counts)

    listing = ordinary_listing(large_store_url)
    page.evaluate(
        "([lat, lon]) => window.caremapMap.map.setView([lat, lon], 18, {animate: false})",
        [listing.latitude, listing.longitude],
    )
    page.wait_for_function("key => key in window.caremapMap.markers", arg=listing.id)
    assert page.locator(".marker-cluster").count() == 0
    page.evaluate(
        "key => { window.caremapMap.markers[key].getElement().id = 'chosen-marker'; }",
        listing.id,
    )
    page.locator("#chosen-marker").click()
    popup = page.locator(".leaflet-popup-content .popup-name")
    assert popup.inner_text() == listing.service_name
    popup.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == listing.service_name
    assert watch.errors == []
    assert watch.hosts == {"127.0.0.1"}
    page.close()


def test_large_map_fits_a_phone(browser, large_site):
    page = browser.new_page()
    page.set_viewport_size({"width": 360, "height": 740})
    watch = PageWatch(page)
    page.goto(large_site + "/?lang=fr", wait_until="networkidle")
    page.wait_for_selector(".marker-cluster", timeout=15_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.locator(".folium-map").bounding_box()["width"] <= 360
    assert watch.errors == []
    assert watch.hosts == {"127.0.0.1"}
    page.close()
