"""The browse map fetches its points for each view: no page embeds the services, the points
endpoint clusters at low zooms and gives markers (public points only) at high ones."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from caremap.model import PublicListing
from tests.test_accounts import client_of

CANADA = "-141,41,-52,84"
MAX_INLINE = 20  # a results page shows at most a page of services (the default limit)


def map_data(html: str) -> dict:
    found = re.search(r'(?s)<script id="map-data" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


def listing_count(store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(PublicListing))


@pytest.mark.parametrize(
    "url", ["/", "/?lang=fr", "/?near=M5V%202T6", "/?service_type=emergency_shelter"]
)
def test_no_page_embeds_more_than_a_page_of_services(client, loaded_store, url):
    html = client.get(url).get_data(as_text=True)
    assert len(map_data(html)["points"]) <= MAX_INLINE
    assert html.count('class="popup') == 0


def test_home_map_fetches_its_points(client, loaded_store):
    data = map_data(client.get("/?lang=fr").get_data(as_text=True))
    assert data["points"] == []
    assert data["points_url"] == "/map/points?lang=fr"


def test_clusters_at_home_zoom_count_every_listing(client, loaded_store):
    answer = client.get(f"/map/points?bbox={CANADA}&zoom=4")
    assert answer.status_code == 200
    assert answer.mimetype == "application/geo+json"
    features = answer.get_json()["features"]
    clusters = [f["properties"]["count"] for f in features if "count" in f["properties"]]
    markers = [f for f in features if "point" in f["properties"]]
    assert clusters and sum(clusters) + len(markers) == listing_count(loaded_store)


def test_markers_at_high_zoom_are_public_points_with_popups(client, loaded_store):
    features = client.get(f"/map/points?bbox={CANADA}&zoom=18").get_json()["features"]
    assert len(features) == listing_count(loaded_store) == 122  # 116 real + 6 confidential
    with loaded_store.session() as session:
        public = {
            row.id: (row.longitude, row.latitude, row.confidential)
            for row in session.scalars(select(PublicListing))
        }
    for feature in features:
        point = feature["properties"]["point"]
        lon, lat, confidential = public[point["key"]]
        assert feature["geometry"]["coordinates"] == [lon, lat]
        assert point["popup"]["withheld"] == confidential == (point["icon"] == "withheld")
        assert point["popup"]["url"].startswith("/services/")
    assert sum(f["properties"]["point"]["popup"]["withheld"] for f in features) == 6


@pytest.mark.parametrize("time_filter", ["month=7", "open_now=1", "beds_available=1"])
def test_time_filtered_clusters_count_the_listings_passing(client, loaded_store, time_filter):
    """A time filter reads each listing's schedules: the clusters of a wide view count the
    same listings as the markers of a close one."""
    close = client.get(f"/map/points?bbox={CANADA}&zoom=18&{time_filter}").get_json()
    wide = client.get(f"/map/points?bbox={CANADA}&zoom=4&{time_filter}").get_json()
    counted = sum(f["properties"].get("count", 1) for f in wide["features"])
    assert counted == len(close["features"]) <= listing_count(loaded_store)


def test_points_follow_the_search_filters(client, loaded_store):
    every = client.get(f"/map/points?bbox={CANADA}&zoom=18").get_json()["features"]
    shelters = client.get(
        f"/map/points?bbox={CANADA}&zoom=18&service_type=emergency_shelter"
    ).get_json()
    assert 0 < len(shelters["features"]) < len(every)
    toronto = client.get("/map/points?bbox=-79.6,43.5,-79.1,43.9&zoom=18").get_json()
    assert 0 < len(toronto["features"]) < len(every)


@pytest.mark.parametrize(
    ("query", "lang", "said"),
    [
        ("zoom=4", "en", "give the view as min lon,min lat,max lon,max lat"),
        ("zoom=4", "fr", "donnez la vue ainsi : lon min,lat min,lon max,lat max"),
        (f"bbox={CANADA}", "en", "give the map&#39;s zoom, from 0 to 18"),
        (f"bbox={CANADA}&zoom=40", "en", "outside the range from 0 to 18"),
        ("bbox=1,2,3&zoom=4", "en", "must be 4 numbers"),
        ("bbox=1,2,3&zoom=4", "fr", "doit compter 4 nombres"),
        ("bbox=-200,41,-52,84&zoom=4", "fr", "comprises entre -180 et 180"),
        ("bbox=-141,84,-52,41&zoom=4", "fr", "la plus petite d’abord"),
        (f"bbox={CANADA}&zoom=4&service_type=nope", "en", "unknown code"),
    ],
)
def test_bad_views_are_refused_with_a_reason(client, query, lang, said):
    answer = client.get(f"/map/points?{query}&lang={lang}", headers={"Accept": "text/html"})
    assert answer.status_code == 400
    assert said in answer.get_data(as_text=True)


@pytest.mark.parametrize("page", ["/?lang=fr", "/?lang=fr&near=M5V%202T6"])
def test_maps_fetch_the_outlines_by_language(client, loaded_store, page):
    """Browsing and results alike: the provinces' outlines are fetched, not in the page."""
    data = map_data(client.get(page).get_data(as_text=True))
    assert data["outlines"]["features"] == []
    outlines = client.get(data["outlines"]["url"])
    names = {feature["properties"]["name"] for feature in outlines.get_json()}
    assert len(names) == 13 and "Colombie-Britannique" in names
    assert (
        client.get(
            data["outlines"]["url"], headers={"If-None-Match": outlines.headers["ETag"]}
        ).status_code
        == 304
    )


@pytest.mark.parametrize("url", ["/", "/?near=M5V%202T6", "/planner/", "/about"])
def test_only_the_pages_own_scripts_run(client, loaded_store, url):
    """No 'unsafe-inline' for scripts: each inline script carries the response's nonce."""
    response = client.get(url)
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert "'unsafe-inline'" not in policy["script-src"]
    html = response.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", html)
    nonces = set(re.findall(r"'nonce-([^']+)'", policy["script-src"]))
    assert all(re.fullmatch(r' nonce="([^"]+)"', attrs) for attrs in inline), inline
    assert {re.fullmatch(r' nonce="([^"]+)"', attrs)[1] for attrs in inline} <= nonces


def listings_in(html: str, store) -> set[str]:
    """The public listings whose point (latitude and longitude both) is written in ``html``."""
    with store.session() as session:
        rows = session.execute(
            select(PublicListing.id, PublicListing.latitude, PublicListing.longitude)
        ).all()
    return {id_ for id_, lat, lon in rows if repr(lat) in html and repr(lon) in html}


EDITOR_PAGES = {  # page: (who, its URL, the listings it may hold: the one shown or edited)
    "service": ("anonymous", lambda w: f"/services/{w.service_a}", lambda w: [w.service_a]),
    "edit-location": (
        "admin",
        lambda w: f"/edit/locations/{w.location_a}",
        lambda w: [w.service_a],
    ),
    "edit-service": (
        "editor_a",
        lambda w: f"/edit/services/{w.service_a}",
        lambda w: [w.service_a],
    ),
    "dashboard": ("editor_a", lambda w: "/edit/", lambda w: []),
    "moderation": ("moderator", lambda w: "/moderation/", lambda w: []),
}


@pytest.mark.parametrize("page", EDITOR_PAGES)
def test_pages_beside_the_search_embed_no_other_listing(make_app, world, page):
    """The detail page and the editor's pages write at most the one service they show or
    edit into the page (its map's point); any other listing is fetched by URL."""
    who, url, own = EDITOR_PAGES[page]
    html = client_of(make_app(world.url), who).get(url(world)).get_data(as_text=True)
    found = listings_in(html, world.store)
    assert {listing_id.partition("@")[0] for listing_id in found} <= set(own(world)), found
    found_map = re.search(r'<script id="map-data"', html)
    assert found_map is None or len(map_data(html)["points"]) <= 1


@pytest.mark.parametrize("url", ["/", "/?near=M5V%202T6"])
def test_every_stylesheet_a_map_page_waits_for_serves_the_screen(client, loaded_store, url):
    """The load event waits for each linked stylesheet: none is linked for print only (the
    print rules are in caremap.css)."""
    html = client.get(url).get_data(as_text=True)
    links = re.findall(r'<link\b[^>]*\brel="stylesheet"[^>]*>', html)
    assert links and not [link for link in links if re.search(r'\bmedia="(?!screen|all)', link)]


def test_a_store_without_outlines_gives_the_map_none_to_fetch(
    empty_store_url, empty_store, make_app
):
    """The outlines layer exists only when the provinces have outlines to fetch."""
    page = make_app(empty_store_url).test_client().get("/?lang=en")
    assert page.status_code == 200
    assert map_data(page.get_data(as_text=True))["outlines"] is None
