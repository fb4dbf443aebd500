"""Text from data is never template source and never loading markup: hostile names, type labels,
phone text, organisation and jurisdiction names are shown literally on every map page, on both
stores, and no page fails because of them."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import folium
import numpy as np
import pytest
from flask import Flask
from flask_babel import Babel
from sqlalchemy import select, update

from caremap import publish
from caremap.coverage.classify import classify
from caremap.coverage.indicators import JurisdictionIndicators, Selection
from caremap.model import (
    Jurisdiction,
    Location,
    Organization,
    Phone,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)
from caremap.privacy import PublicLocation
from caremap.queries import PublicPhone, PublicService
from tests.conftest import DATA_DIR
from tests.live_server import serving
from tests.support.browser import PageWatch
from webmap.common.assets import find_external_urls
from webmap.common.mapview import (
    MapLayers,
    MapSettings,
    build_service_map,
    province_outlines,
    render_map,
)
from webmap.planner.routes import PlannerView, area_features, choropleth_map

MARKER_VARIABLE = "CAREMAP_TEST_TEMPLATE_MARKER"
EVALUATED = "{{ 7*7 }}"
LOOP = "{% for x in range(3) %}[loop]{% endfor %}"
WRITES_A_FILE = (
    "{{ lipsum.__globals__.os.makedirs(lipsum.__globals__.os.environ." + MARKER_VARIABLE + ") }}"
)
JS_ESCAPES = "`${document.title}` \\x41"
LOADS = "url(https://evil.example/x.png) @import 'https://evil.example/y.css'"
MARKUP = '<img src="https://evil.example/"> </script><script>alert(1)</script>'
HOSTILE_TEXTS = [
    f"Shelter {EVALUATED} {LOOP}",
    f"Refuge {WRITES_A_FILE}",
    f"Haven {JS_ESCAPES} {LOADS}",
    f"House {MARKUP}",
]
EVALUATION_TRACES = ("Shelter 49", "[loop][loop]", "Refuge None")
TORONTO = (43.6453, -79.3923)  # (lat, lon), near M5V 2T6
PAGES = [
    "/",
    "/?near=M5V%202T6",
    "/?near=M5V%202T6&lang=fr",
    "/print?near=M5V%202T6",
    "/planner/?level=province",
    "/planner/?level=province&lang=fr&add=43.7,-79.4,10",
]


@pytest.fixture
def marker(tmp_path, monkeypatch) -> Path:
    """Where the file-writing payload would create a folder if it ran."""
    path = tmp_path / "template-ran"
    monkeypatch.setenv(MARKER_VARIABLE, str(path))
    return path


def write_source(folder: Path, names: list[str]) -> Path:
    """A listings CSV of services ``names`` near M5V 2T6 (the ETL rejects markup); the third
    one's address is confidential."""
    path = folder / "hostile.csv"
    rows = [
        {
            "source_id": f"HOSTILE-{number}",
            "name": name,
            "organization": f"Org {name}",
            "service_category": "emergency_shelter",
            "street_address": f"{100 + number} King St W",
            "city": "Toronto",
            "province": "ON",
            "latitude": f"{TORONTO[0] + number / 1000:.6f}",
            "longitude": f"{TORONTO[1]:.6f}",
            "address_confidential": "True" if number == 2 else "False",
            "phone": f"Intake {EVALUATED} {JS_ESCAPES} 416-555-01{number:02d}",
        }
        for number, name in enumerate(names)
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def add_markup_listing(session, name: str) -> None:
    """A listing named ``name`` (markup), as other paths than the ETL may store it."""
    now = dt.datetime.now(dt.UTC)
    provenance = {"source_name": "test", "source_record_id": "markup", "imported_at": now}
    session.add(Organization(id="o-markup", name=f"Org {name}", description="", **provenance))
    session.flush()
    session.add(Service(id="s-markup", organization_id="o-markup", name=name, **provenance))
    session.add(
        Location(
            id="l-markup",
            organization_id="o-markup",
            latitude=TORONTO[0] - 0.001,
            longitude=TORONTO[1],
            private_latitude=TORONTO[0] - 0.001,
            private_longitude=TORONTO[1],
            public_point_rule="exact",
            geocode_precision="manual",
            pruid="35",
            **provenance,
        )
    )
    session.add(
        ServiceAtLocation(
            id="sal-markup", service_id="s-markup", location_id="l-markup", **provenance
        )
    )
    session.add(
        Phone(
            id="p-markup",
            service_id="s-markup",
            number="+14165550177",
            description=f"Intake {MARKUP} {EVALUATED}",
            **provenance,
        )
    )


def load(store, folder: Path, names: list[str], markup_name: str) -> None:
    """``names`` through the ETL, ``markup_name`` straight into the store, then published."""
    from etl.pipeline import run

    reports = run(
        store, [write_source(folder, names)], DATA_DIR, folder / "reports", progress=False
    )
    assert [r.rejected for r in reports] == [[]]
    with store.session() as session, session.begin():
        add_markup_listing(session, markup_name)
        session.flush()
        publish.refresh(session.connection(), ["s-markup"])


@pytest.fixture
def hostile_store(empty_store, tmp_path):
    """Every hostile text loaded: service, organisation, phone, type label, province names."""
    load(empty_store, tmp_path, HOSTILE_TEXTS[:3], HOSTILE_TEXTS[3])
    with empty_store.session() as session, session.begin():
        session.execute(
            update(TaxonomyTerm)
            .where(TaxonomyTerm.code == "emergency_shelter")
            .values(name=f"Type {EVALUATED} {MARKUP}", name_fr=f"Genre {EVALUATED} {LOOP}")
        )
        session.execute(
            update(Jurisdiction)
            .where(Jurisdiction.level == "province", Jurisdiction.code == "35")
            .values(name_en=f"Ontario {EVALUATED} {MARKUP}", name_fr=f"Ontario {LOOP} {LOADS}")
        )
        session.flush()
        publish.refresh(session.connection())
    return empty_store


def service_ids(store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(Service.id).order_by(Service.id)))


def assert_shown_literally(html: str) -> None:
    """Nothing evaluated, no markup from data, no data in a script that runs."""
    for trace in EVALUATION_TRACES:
        assert trace not in html
    assert "7*7" in html
    assert 'evil.example/"' not in html and "<img" not in html
    assert "</script><script>alert(1)" not in html
    for script in re.findall(r"(?s)<script>(.*?)</script>", html):
        for fragment in ("7*7", "[loop]", "lipsum", "document.title", "evil.example"):
            assert fragment not in script


def test_hostile_text_is_never_template_source(make_app, hostile_store, empty_store_url, marker):
    client = make_app(empty_store_url).test_client()
    pages = PAGES + [f"/services/{sid}" for sid in service_ids(hostile_store)]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_shown_literally(response.get_data(as_text=True))
        assert not marker.exists(), f"{url} ran a template from data"
    api = client.get("/api/v1/services?lat=43.6453&lon=-79.3923&limit=20")
    assert api.status_code == 200
    names = {feature["properties"]["name"] for feature in api.get_json()["features"]}
    assert set(HOSTILE_TEXTS) <= names


def test_search_page_shows_each_hostile_name_literally(make_app, hostile_store, empty_store_url):
    client = make_app(empty_store_url).test_client()
    html = client.get("/?near=M5V%202T6").get_data(as_text=True)
    data = map_data(html)
    assert {point["tooltip"] for point in data["points"]} >= set(HOSTILE_TEXTS)
    assert {point["popup"]["name"] for point in data["points"]} >= set(HOSTILE_TEXTS)
    assert f"Type {EVALUATED} {MARKUP}" in {point["popup"]["types"] for point in data["points"]}
    assert outline_names(client, data).count(f"Ontario {EVALUATED} {MARKUP}") == 1
    assert f"Shelter {EVALUATED} {LOOP}" in html  # the result list, escaped by Flask
    assert "House &lt;img src=&#34;https://evil.example/&#34;&gt;" in html
    french = map_data(client.get("/?near=M5V%202T6&lang=fr").get_data(as_text=True))
    assert f"Ontario {LOOP} {LOADS}" in outline_names(client, french)


def outline_names(client, data: dict) -> list[str]:
    """The names of the outlines a page's map fetches (as data: the page holds none)."""
    assert data["outlines"]["features"] == []
    return [f["properties"]["name"] for f in client.get(data["outlines"]["url"]).get_json()]


def map_data(html: str) -> dict:
    found = re.search(r'(?s)<script id="map-data" type="application/json">(.*?)</script>', html)
    assert found, "the page has no map data"
    return json.loads(found.group(1))


def hostile_service(text: str) -> tuple[PublicService, PublicLocation]:
    """A service and location with ``text`` in every field a map shows."""
    service = PublicService(
        id=text,
        name=text,
        organization=text,
        description=text,
        status="active",
        application_process=text,
        eligibility_description=text,
        interpretation_services=text,
        terms={"service_type": (text,)},
        phones=(PublicPhone(text, text, text, text),),
        schedules=(),
        languages=(text,),
        capacities=(),
        source_name=text,
        source_title=text,
        source_attribution=text,
        source_as_of=text,
        last_verified_at=None,
        locations=(),
    )
    location = PublicLocation(text, text, *TORONTO, True, None, text, text, text, text, (text,))
    return service, location


def assert_code_only(fmap: folium.Map, text: str) -> None:
    """folium's output has neither ``text`` nor anything it would have made, nor a load."""
    parts = render_map(fmap, ())
    rendered = parts.header + parts.body + parts.script
    assert find_external_urls(rendered) == []
    for trace in (text, "evil.example", *EVALUATION_TRACES):
        assert trace not in rendered


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_map_builders_give_folium_no_data(text, marker):
    """With ``text`` in every field a map shows, the service map and the planner's choropleth
    give folium code only, and ``text`` reaches the map data unchanged."""
    service, location = hostile_service(text)
    outlines = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "35", "name_en": text, "name_fr": text},
                "geometry": {"type": "Point", "coordinates": [TORONTO[1], TORONTO[0]]},
            }
        ],
    }
    app = Flask(__name__)
    app.config.update(TILES_URL="", TILES_ATTRIBUTION="")
    Babel(app)
    with app.test_request_context("/"):
        for cluster in (True, False):
            layers = MapLayers([("r0", [service], location)], TORONTO, 5, cluster=cluster)
            fmap, data = build_service_map(
                layers,
                settings=MapSettings("", "", "en", ()),
                labels={text: text},
                detail_url=lambda sid: "/services/" + sid,
            )
            assert_code_only(fmap, text)
            point = data["points"][0]
            assert point["tooltip"] == point["popup"]["name"] == point["popup"]["types"] == text
            assert point["popup"]["phone_display"] == point["popup"]["phone_number"] == text
        # the outlines the map fetches (/map/outlines) carry the name as data
        assert province_outlines(outlines, "en")[0]["properties"]["name"] == text
        row = JurisdictionIndicators("province", "35", text, text, 1000, "covered", 3)
        view = PlannerView(
            Selection(level="province", added_sites=((*TORONTO, 7),)), "services", "quantiles", 5
        )
        classes = classify(np.array([3.0]), "quantiles", 5, False)
        features = area_features(view, outlines, [row], classes)
        fmap, data = choropleth_map(view, None, features)
        assert_code_only(fmap, text)
        assert data["outlines"]["features"][0]["properties"]["name"] == text
        assert data["points"][0]["tooltip"] == "Hypothetical site (7)"
    assert not marker.exists()


LOADING_NAMES = [
    "Shelter url(https://evil.example/x.png)",
    'House <img src="https://evil.example/">',
]


@pytest.fixture
def loading_names_store(empty_store, tmp_path):
    """Two services whose names read as a CSS load and an HTML load."""
    load(empty_store, tmp_path, LOADING_NAMES[:1], LOADING_NAMES[1])
    return empty_store


def test_names_that_read_as_loads_take_no_page_down(make_app, loading_names_store, empty_store_url):
    """The external-asset check reads the markup the app generates, never data: names that
    read as loads are shown as text, and every page answers."""
    client = make_app(empty_store_url).test_client()
    urls = ["/", "/?near=M5V%202T6", "/planner/?level=province"]
    for url in urls + [f"/services/{sid}" for sid in service_ids(loading_names_store)]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<img" not in response.get_data(as_text=True)
    api = client.get("/api/v1/services?lat=43.6453&lon=-79.3923&limit=5")
    assert api.status_code == 200
    assert {f["properties"]["name"] for f in api.get_json()["features"]} == set(LOADING_NAMES)
    html = client.get("/?near=M5V%202T6").get_data(as_text=True)
    assert "Shelter url(https://evil.example/x.png)" in html
    assert "House &lt;img src=&#34;https://evil.example/&#34;&gt;" in html
    assert {p["popup"]["name"] for p in map_data(html)["points"]} == set(LOADING_NAMES)


@pytest.mark.browser
def test_hostile_listings_in_a_browser(
    browser,
    make_app,
    hostile_store,
    empty_store_url,
    marker,
):
    """In Chromium: each hostile name is the literal text of its marker's tooltip and popup,
    nothing runs, and no request leaves 127.0.0.1, on the browse, search and planner pages."""
    page = browser.new_page()
    watch = PageWatch(page)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    with serving(make_app(empty_store_url)) as url:
        page.goto(url + "/", wait_until="networkidle")
        page.wait_for_selector(".marker-cluster, .awesome-marker.leaflet-interactive")
        page.goto(url + "/?near=M5V%202T6&lang=en", wait_until="networkidle")
        title = page.title()
        shown = page.evaluate("""() => Object.values(window.caremapMap.markers).map(marker => {
            marker.openPopup().openTooltip();
            const popup = marker.getPopup().getElement();
            const types = popup.querySelector(".popup-types");
            const tooltip = marker.getTooltip().getElement().textContent.trim();
            marker.closeTooltip();
            return {
                name: popup.querySelector(".popup-name").textContent,
                types: types ? types.textContent : null,
                tooltip: tooltip,
                phone: popup.querySelector("a[href^='tel:']").textContent,
                withheld: popup.querySelectorAll(".withheld").length,
            };
        })""")
        assert {s["name"] for s in shown} == set(HOSTILE_TEXTS)
        assert {s["tooltip"] for s in shown} == set(HOSTILE_TEXTS)
        assert f"Type {EVALUATED} {MARKUP}" in {s["types"] for s in shown}
        assert [s["name"] for s in shown if s["withheld"]] == [HOSTILE_TEXTS[2]]
        assert "416-555-0177" in {s["phone"] for s in shown}
        page.locator("#results li").first.hover()
        assert page.locator(".marker-selected").count() == 1
        assert page.title() == title
        page.goto(url + "/planner/?level=province&lang=en", wait_until="networkidle")
        assert page.locator(".leaflet-overlay-pane path").count() == 13
    assert watch.errors == [] and dialogs == []
    assert watch.hosts == {"127.0.0.1"}
    assert page.locator("img[src*='evil']").count() == 0
    assert not marker.exists()
    page.close()
