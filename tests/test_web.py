"""The web app on both stores: map page, detail page, errors, headers, escaping, French."""

from __future__ import annotations

import datetime as dt
import gc
import json
import re
from pathlib import Path

import pytest
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from caremap import publish
from caremap.model import Service
from caremap.search import COUNT_AHEAD
from webmap.common.assets import find_external_urls

TRANSLATIONS = Path(__file__).parents[1] / "webmap" / "translations" / "fr" / "LC_MESSAGES"


def service_id_by_source(store, record_id: str) -> str:
    with store.session() as session:
        return session.scalars(
            select(Service.id).where(Service.source_record_id == record_id)
        ).one()


def test_home_map_has_a_marker_per_location_and_no_external_loads(client, loaded_store):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    map_data = re.search(r'(?s)<script id="map-data" type="application/json">(.*?)</script>', html)
    points_url = json.loads(map_data.group(1))["points_url"]
    view = client.get(f"{points_url}&bbox=-141,41,-52,84&zoom=18").get_json()
    assert len(view["features"]) == 122  # 116 real + 6 confidential
    assert find_external_urls(html) == []
    assert re.search(r"/bundle/search\.[0-9a-f]{12}\.js", html)  # Leaflet, content-hashed


def test_serving_app_answers_with_its_startup_objects_frozen(
    loaded_store_url, tmp_path, monkeypatch
):
    """What ``caremap serve`` runs in each worker: the app, with everything built at startup out
    of the cyclic garbage collector's reach."""
    from webmap import serving_app

    monkeypatch.setenv("CAREMAP_DATABASE_URL", loaded_store_url)
    monkeypatch.setenv("CAREMAP_TILES_URL", "")
    monkeypatch.setenv("CAREMAP_SECRET_KEY", "test")
    monkeypatch.setenv("CAREMAP_BULK_UPLOAD_DIR", str(tmp_path / "uploads"))
    app = serving_app()
    try:
        assert gc.get_freeze_count() > 0
        response = app.test_client().get("/api/v1/services?lat=43.65&lon=-79.38&limit=3")
        assert response.status_code == 200
        assert len(response.get_json()["features"]) == 3
    finally:
        gc.unfreeze()
        app.extensions["caremap_store"].dispose()


def test_privacy_headers(client):
    response = client.get("/")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:;" in policy


def test_tile_server_is_the_only_other_host(make_app, loaded_store_url):
    app = make_app(loaded_store_url, TILES_URL="https://tiles.example.org/{z}/{x}/{y}.png")
    response = app.test_client().get("/")
    html = response.get_data(as_text=True)
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in html
    assert find_external_urls(html, {"tiles.example.org"}) == []
    assert (
        "img-src 'self' data: https://tiles.example.org;"
        in response.headers["Content-Security-Policy"]
    )


def test_detail_page_has_what_a_referral_needs(client, loaded_store):
    service_id = service_id_by_source(loaded_store, "TORYOUTH-650")
    html = client.get(f"/services/{service_id}").get_data(as_text=True)
    assert "Native Child and Family Services of Toronto" in html
    assert 'href="tel:+14165372261"' in html and "416-537-2261" in html
    assert "179 Dowling Ave" in html and "M6K 3B2" in html
    assert "Open 24 hours, 7 days a week" in html
    assert "Wheelchair accessible automatic main entrance" in html
    assert "Open Government Licence" not in html or "Attribution" in html


def test_confidential_detail_says_location_withheld(client, loaded_store):
    service_id = service_id_by_source(loaded_store, "TEST-SAFE-1")
    html = client.get(f"/services/{service_id}").get_data(as_text=True)
    assert "Location withheld for safety — call the intake line." in html
    assert 'href="tel:+14165550199"' in html
    assert "Toronto, ON" in html


@pytest.mark.parametrize(
    ("accept", "kind"), [("text/html", "text/html"), ("application/json", "application/json")]
)
def test_not_found_is_a_page_or_json(client, accept, kind):
    response = client.get("/services/nope", headers={"Accept": accept})
    assert response.status_code == 404
    assert response.mimetype == kind
    assert "This page does not exist, or the listing was removed." in response.get_data(
        as_text=True
    )


def test_wrong_method_is_405(client):
    assert client.post("/").status_code == 405


def test_health(client):
    assert client.get("/health").json == {"status": "ok"}


def test_names_from_outside_are_escaped(make_app, empty_store, empty_store_url):
    """Names may reach the store by other paths than the ETL (which rejects markup)."""
    from caremap.model import Location, Organization, ServiceAtLocation

    now = dt.datetime.now(dt.UTC)
    provenance = {"source_name": "test", "source_record_id": "x", "imported_at": now}
    nasty = "<img src=x onerror=alert(1)> `${alert(2)}` \\u"
    with empty_store.session() as session, session.begin():
        session.add(Organization(id="o", name=nasty, description="", **provenance))
        session.flush()
        session.add(Service(id="s", organization_id="o", name=nasty, **provenance))
        session.add(
            Location(
                id="l",
                organization_id="o",
                latitude=43.65,
                longitude=-79.38,
                private_latitude=43.65,
                private_longitude=-79.38,
                public_point_rule="exact",
                geocode_precision="manual",
                **provenance,
            )
        )
        session.add(ServiceAtLocation(id="sal", service_id="s", location_id="l", **provenance))
        session.flush()
        publish.refresh(session.connection(), ["s"])  # what an editing interface must do
    client = make_app(empty_store_url).test_client()
    for url in ("/", "/services/s"):
        html = client.get(url).get_data(as_text=True)
        assert "<img src=x" not in html
        running = r'(?s)<script(?: nonce="[^"]+")?>(.*?)</script>'  # scripts that run
        scripts = "".join(re.findall(running, html))
        assert "${alert(2)}" not in scripts and "`${" not in scripts
    view = client.get("/map/points?bbox=-141,41,-52,84&zoom=18").get_json()
    assert view["features"][0]["properties"]["point"]["tooltip"] == nasty  # data, as text


def english_interface_strings() -> list[str]:
    with (TRANSLATIONS / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    return [
        m.id
        for m in catalog
        if m.id and isinstance(m.id, str) and m.string != m.id and "%(" not in m.id
    ]


def test_french_catalogue_is_complete_and_compiled():
    with (TRANSLATIONS / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    untranslated = [
        m.id
        for m in catalog
        if m.id and (not m.string or m.fuzzy or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    assert untranslated == []
    with (TRANSLATIONS / "messages.mo").open("rb") as handle:
        compiled = read_mo(handle)

    def as_dict(messages):
        return {
            str(tuple(m.id)) if isinstance(m.id, list | tuple) else m.id: tuple(m.string)
            if isinstance(m.string, list | tuple)
            else m.string
            for m in messages
            if m.id
        }

    assert as_dict(compiled) == as_dict(catalog), "run `make translations`"


def test_every_string_marked_for_translation_is_in_the_french_catalogue():
    """What the code and templates mark for translation (as ``make translations`` extracts it)
    has an entry in the catalogue, which the test above requires translated."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    root = Path(__file__).parents[1]
    with (root / "babel.cfg").open() as config, (TRANSLATIONS / "messages.po").open("rb") as po:
        method_map, options_map = parse_mapping_cfg(config)
        catalog = read_po(po)
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    marked = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(root, method_map, options_map, keywords)
    }
    assert sorted(msgid for msgid in marked if msgid and msgid not in catalog) == []


def visible_text(html: str) -> str:
    html = re.sub(r"(?s)<script.*?</script>|<style.*?</style>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize(
    "record_id",
    [None, "search", "print", "bad", "planner", "continuum", "TORYOUTH-650", "TEST-SAFE-1"],
)
def test_french_pages_have_no_english_interface_text(client, loaded_store, record_id):
    pages = {
        "planner": "/planner/?level=toronto_neighbourhood&indicator=share_beyond",
        None: "/",
        "search": "/?near=M5A+2N2&radius_km=5&open_now=1&month=1",
        "print": "/print?near=M5A+2N2",
        "bad": "/?near=qwertyuiop",
        "continuum": "/planner/continuum?level=province",
    }
    url = pages.get(record_id) or f"/services/{service_id_by_source(loaded_store, record_id)}"
    separator = "&" if "?" in url else "?"
    text = visible_text(client.get(f"{url}{separator}lang=fr").get_data(as_text=True))
    leftovers = [s for s in english_interface_strings() if re.search(rf"\b{re.escape(s)}\b", text)]
    assert leftovers == []
    assert any(
        word in text
        for word in (
            "Trouver un service",
            "Téléphone",
            "Fiche d'orientation",
            "Où les services manquent",
        )
    )


def test_language_choice_is_remembered(client):
    client.get("/?lang=fr")
    assert "Trouver un service" in client.get("/").get_data(as_text=True)


def test_detail_page_directions_phones_and_stale_beds(make_app, loaded_store_url, loaded_store):
    client = make_app(loaded_store_url, NOW=dt.datetime(2026, 11, 29, tzinfo=dt.UTC)).test_client()
    youth = client.get(f"/services/{service_id_by_source(loaded_store, 'TORYOUTH-650')}")
    html = youth.get_data(as_text=True)
    assert html.index("416-537-2261") < html.index("416-969-8510")  # intake line first
    assert "openstreetmap.org/directions?to=43.639281%2C-79.439286" in html
    safe = client.get(f"/services/{service_id_by_source(loaded_store, 'TEST-SAFE-1')}")
    assert "directions" not in safe.get_data(as_text=True)
    shelter = client.get(f"/services/{service_id_by_source(loaded_store, 'TOR2026-048')}")
    assert "current availability unknown" in shelter.get_data(as_text=True)
    fresh = make_app(loaded_store_url, NOW=dt.datetime(2026, 4, 8, 12, tzinfo=dt.UTC))
    page = fresh.test_client().get(f"/services/{service_id_by_source(loaded_store, 'TOR2026-048')}")
    assert "current availability unknown" not in page.get_data(as_text=True)


def test_search_page_results_and_errors(client):
    page = client.get("/?near=M5A+2N2&radius_km=5").get_data(as_text=True)
    assert "Searching from postal code M5A 2N2" in page
    assert page.count('class="service-item"') == 20
    bad = client.get("/?near=qwertyuiop")
    assert bad.status_code == 400
    assert "We could not find that place." in bad.get_data(as_text=True)
    sheet = client.get("/print?near=M5A+2N2&radius_km=5").get_data(as_text=True)
    assert "Referral sheet" in sheet and " km" in sheet


@pytest.mark.parametrize("path", ["/", "/print"])
def test_filters_matching_nothing_anywhere_say_so(client, path):
    # No listing has a fresh bed count, so nothing anywhere is available now.
    query = {"near": "M5A 2N2", "radius_km": "25", "beds_available": "1"}
    english = client.get(path, query_string=query).get_data(as_text=True)
    assert "No service matches these filters anywhere in our data." in english
    assert "farther away" not in english
    french = client.get(path, query_string={**query, "lang": "fr"}).get_data(as_text=True)
    assert "Aucun service ne correspond à ces filtres dans nos données." in french
    assert "plus loin" not in french


def test_search_page_says_how_many_of_all_and_offers_the_next_page(client):
    query = {"near": "M5A 2N2", "radius_km": "any"}
    api = client.get("/api/v1/services", query_string={**query, "limit": "200"}).json
    total = len({feature["properties"]["place"] for feature in api["features"]})  # places
    assert total > COUNT_AHEAD and (api["total"], api["more"]) == (total, False)
    page = client.get("/", query_string=query).get_data(as_text=True)
    assert f"20 of more than {COUNT_AHEAD} services" in page  # counted up to COUNT_AHEAD
    next_link = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', page)
    assert next_link, "no next page offered"
    link = next_link.group(1).replace("&amp;", "&")
    assert "page=2" in link and "radius_km=any" in link and "near=M5A" in link
    second = client.get(link).get_data(as_text=True)
    first_names = re.findall(r'href="/services/([^"?]+)', page)
    second_names = re.findall(r'href="/services/([^"?]+)', second)
    assert second.count('class="service-item"') == 20 and first_names != second_names
    api_second = client.get("/api/v1/services", query_string={**query, "page": "2"}).json
    assert [f["id"].split("@")[0] for f in api_second["features"]] == second_names
    assert (api_second["total"], api_second["more"]) == (total, False)  # counted to 120
    api_first = client.get("/api/v1/services", query_string=query).json
    assert (api_first["total"], api_first["more"]) == (COUNT_AHEAD, True)
    last_number = -(-total // 20)
    last = client.get("/", query_string={**query, "page": last_number}).get_data(as_text=True)
    shown = total - 20 * (last_number - 1)
    assert f"{shown} of {total} services" in last and 'rel="next"' not in last
    french = client.get("/", query_string={**query, "lang": "fr"}).get_data(as_text=True)
    assert f"20 sur plus de {COUNT_AHEAD} services" in french and "Page suivante" in french
    french_last = client.get("/", query_string={**query, "page": last_number, "lang": "fr"})
    assert f"{shown} sur {total} services" in french_last.get_data(as_text=True)


@pytest.mark.parametrize("time_filter", ["open_now", "beds_available"])
def test_time_filters_say_how_many_are_unknown_and_offer_them(client, time_filter):
    query = {"near": "M5A 2N2", "radius_km": "any", time_filter: "1", "limit": "200"}
    known = client.get("/api/v1/services", query_string=query).json
    with_unknown = client.get(
        "/api/v1/services", query_string={**query, "include_unknown": "1"}
    ).json
    unknown = with_unknown["total"] - known["total"]
    assert unknown > 0 and known["unknown"] == unknown
    page = client.get("/", query_string=query).get_data(as_text=True)
    assert f"{unknown} services left out: their hours or bed counts are not known." in page
    offer = re.search(r'<a href="([^"]+)">Show them too \(call first\)</a>', page)
    assert offer, "no link to include them"
    shown = client.get(offer.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert shown.count('class="service-item"') == with_unknown["total"]
    assert "left out" not in shown
    french = client.get("/", query_string={**query, "lang": "fr"}).get_data(as_text=True)
    note = f"{unknown} services écartés : leurs horaires ou leurs places ne sont pas connus."
    assert note in french
    assert "Les afficher aussi (appeler d’abord)" in french


def test_referral_sheet_says_how_many_of_all_and_what_was_left_out(client):
    query = {"near": "M5A 2N2", "radius_km": "any"}
    api = client.get("/api/v1/services", query_string=query).json
    sheet = client.get("/print", query_string=query).get_data(as_text=True)
    assert api["more"] and f"20 of more than {api['total']} services" in sheet
    unknown = client.get("/api/v1/services", query_string={**query, "beds_available": "1"}).json
    sheet = client.get("/print", query_string={**query, "beds_available": "1"}).get_data(
        as_text=True
    )
    at_least = "At least " if unknown["more_unknown"] else ""
    note = f"{at_least}{unknown['unknown']} services left out: their hours or bed counts"
    assert unknown["unknown"] > 0 and note in sheet


@pytest.mark.parametrize(
    ("time_filter", "marker", "french_marker"),
    [
        ("open_now", "Hours not known: call first", "Horaires inconnus : appeler d’abord"),
        ("beds_available", "Bed count not known: call first", "Places inconnues : appeler d’abord"),
    ],
)
def test_included_unknown_services_are_marked_call_first(
    client, time_filter, marker, french_marker
):
    query = {"near": "M5A 2N2", "radius_km": "any", time_filter: "1", "limit": "200"}
    unknown = client.get("/api/v1/services", query_string=query).json["unknown"]
    shown = {**query, "include_unknown": "1"}
    page = client.get("/", query_string=shown).get_data(as_text=True)
    assert page.count(marker) == unknown
    french = client.get("/", query_string={**shown, "lang": "fr"}).get_data(as_text=True)
    assert french.count(french_marker) == unknown


def test_a_page_past_the_last_says_none_here_not_none_anywhere(client):
    page = client.get("/?near=M5A+2N2&radius_km=any&page=999").get_data(as_text=True)
    assert "anywhere in our data" not in page
    assert re.search(r"0 of \d+ services", page)
    places = client.get("/api/v1/services?near=M5A+2N2&radius_km=any&limit=200").json["total"]
    assert re.search(rf'page={-(-places // 20)}"[^>]*rel="prev"', page)  # 20 places a page
