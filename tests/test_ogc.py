"""OGC API – Features – Part 1: Core on both stores: landing page, conformance, collections,
paged and bbox-filtered items, one feature, clear 400s and 404s, and GDAL's OAPIF driver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from caremap.queries import public_services
from tests.conftest import skip_or_fail
from tests.live_server import serving

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
GEOJSON_CLASS = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
VICTORIA_BBOX = "-123.7,48.3,-123.2,48.9"  # Victoria and Salt Spring Island (the CRD)


def location_count(store) -> int:
    with store.session() as session:
        return sum(len(s.locations) for s in public_services(session))


def relative(href: str) -> str:
    parts = urlsplit(href)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def links_by_rel(document: dict) -> dict[str, dict]:
    return {link["rel"]: link for link in document["links"]}


def test_landing_page_and_conformance(client):
    response = client.get("/ogc/")
    assert response.status_code == 200 and response.mimetype == "application/json"
    links = links_by_rel(response.json)
    assert {"self", "conformance", "data"} <= set(links)
    assert relative(links["data"]["href"]) == "/ogc/collections"
    conformance = client.get(relative(links["conformance"]["href"])).json
    assert set(conformance["conformsTo"]) == {CORE, GEOJSON_CLASS}
    assert client.get("/ogc/", query_string={"lang": "fr"}).json["title"].startswith("caremap :")


def test_collections(client):
    body = client.get("/ogc/collections").json
    ids = [c["id"] for c in body["collections"]]
    assert ids[0] == "services"
    assert {
        "indicators-province",
        "indicators-census_division",
        "indicators-toronto_neighbourhood",
    } <= set(ids)
    for collection in body["collections"]:
        assert collection["itemType"] == "feature"
        minx, miny, maxx, maxy = collection["extent"]["spatial"]["bbox"][0]
        assert -180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90
        assert collection["extent"]["spatial"]["crs"] == CRS84
        items = links_by_rel(collection)["items"]
        assert items["type"] == "application/geo+json"
        assert relative(items["href"]) == f"/ogc/collections/{collection['id']}/items"
    one = client.get("/ogc/collections/indicators-province")
    assert one.status_code == 200 and one.json["id"] == "indicators-province"
    services = client.get("/ogc/collections/services").json
    minx, miny, maxx, maxy = services["extent"]["spatial"]["bbox"][0]
    assert minx < -123 and maxx > -75 and 41 < miny < maxy < 70  # Victoria to Montréal


def test_items_are_paged(client, loaded_store):
    expected = location_count(loaded_store)
    response = client.get("/ogc/collections/services/items", query_string={"limit": 50})
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    first = response.json
    assert first["type"] == "FeatureCollection"
    assert first["numberMatched"] == expected > 50
    assert first["numberReturned"] == len(first["features"]) == 50
    assert "prev" not in links_by_rel(first)
    seen = [f["id"] for f in first["features"]]
    page = first
    while "next" in links_by_rel(page):
        page = client.get(relative(links_by_rel(page)["next"]["href"])).json
        assert page["numberMatched"] == expected
        assert "prev" in links_by_rel(page)
        seen += [f["id"] for f in page["features"]]
    assert len(seen) == len(set(seen)) == expected
    default = client.get("/ogc/collections/services/items").json
    assert default["numberReturned"] == min(100, expected)
    for feature in first["features"]:
        service_id, location_id = feature["id"].split("@")
        assert feature["properties"]["id"] == service_id
        assert feature["properties"]["location_id"] == location_id
        assert feature["geometry"]["type"] == "Point"


def test_bbox_around_victoria_returns_the_crd_services(client):
    body = client.get("/ogc/collections/services/items", query_string={"bbox": VICTORIA_BBOX}).json
    assert body["numberMatched"] == body["numberReturned"] == 6
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert -123.7 <= lon <= -123.2 and 48.3 <= lat <= 48.9
    # The next link keeps the filter.
    paged = client.get(
        "/ogc/collections/services/items", query_string={"bbox": VICTORIA_BBOX, "limit": 4}
    ).json
    following = client.get(relative(links_by_rel(paged)["next"]["href"])).json
    assert following["numberMatched"] == 6 and following["numberReturned"] == 2
    # Crossing the antimeridian: everything but the Americas, so nothing in Canada.
    across = client.get("/ogc/collections/services/items", query_string={"bbox": "170,40,-170,80"})
    assert across.json["numberMatched"] == 0


def test_one_feature(client):
    listed = client.get("/ogc/collections/services/items", query_string={"limit": 1}).json
    [feature] = listed["features"]
    response = client.get(f"/ogc/collections/services/items/{feature['id']}")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    assert response.json["id"] == feature["id"]
    assert response.json["properties"] == feature["properties"]
    assert relative(links_by_rel(response.json)["collection"]["href"]) == (
        "/ogc/collections/services"
    )


def test_province_indicators(client):
    response = client.get("/ogc/collections/indicators-province/items")
    assert response.mimetype == "application/geo+json"
    body = response.json
    assert body["numberMatched"] == body["numberReturned"] == 13
    for feature in body["features"]:
        assert feature["properties"]["status"] in {"covered", "partial", "no_data"}
        assert feature["properties"]["level"] == "province"
        assert feature["id"] == feature["properties"]["code"]
        assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    ontario = client.get("/ogc/collections/indicators-province/items/35").json
    assert ontario["properties"]["name_en"] == "Ontario" and ontario["properties"]["services"] > 0
    in_bc = client.get(
        "/ogc/collections/indicators-province/items", query_string={"bbox": VICTORIA_BBOX}
    ).json
    assert [f["id"] for f in in_bc["features"]] == ["59"]


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        ("/ogc/collections/services/items", {"limit": "0"}, "limit"),
        ("/ogc/collections/services/items", {"limit": "1001"}, "limit"),
        ("/ogc/collections/services/items", {"limit": "ten"}, "limit"),
        ("/ogc/collections/services/items", {"offset": "-1"}, "offset"),
        ("/ogc/collections/services/items", {"offset": "x"}, "offset"),
        ("/ogc/collections/services/items", {"bbox": "1,2,3"}, "bbox"),
        ("/ogc/collections/services/items", {"bbox": "a,b,c,d"}, "bbox"),
        ("/ogc/collections/services/items", {"bbox": "-123,49,-122,48"}, "bbox"),
        ("/ogc/collections/services/items", {"bbox": "-200,40,-100,50"}, "bbox"),
        ("/ogc/collections/services/items", {"bbox": "-123,48,-122,nan"}, "bbox"),
        (
            "/ogc/collections/services/items",
            {"bbox-crs": "EPSG:3857", "bbox": "0,0,1,1"},
            "bbox-crs",
        ),
        ("/ogc/collections", {"f": "html"}, "f"),
        ("/ogc/", {"f": "xml"}, "f"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, path, query, parameter):
    response = client.get(path, query_string=query)
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert response.json["parameter"] == parameter and response.json["message"]
    assert response.json["code"] == "InvalidParameterValue" and response.json["description"]


@pytest.mark.parametrize(
    "path",
    [
        "/ogc/collections/nothing",
        "/ogc/collections/indicators-galaxy",
        "/ogc/collections/nothing/items",
        "/ogc/collections/services/items/no-such-id",
        "/ogc/collections/services/items/no-such-service@no-such-location",
        "/ogc/collections/indicators-province/items/99",
        "/ogc/collections/nothing/items/35",
        "/ogc/nothing",
    ],
)
def test_unknown_collections_and_features_are_404(client, path):
    response = client.get(path, query_string={"f": "json"})
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert response.json["status"] == 404
    # OGC API - Features' exception: a code and a description a person reads
    assert response.json["code"] == "NotFound" and response.json["description"]


def test_a_known_service_at_another_location_is_404(client):
    [feature] = client.get("/ogc/collections/services/items?limit=1").json["features"]
    service_id = feature["properties"]["id"]
    assert client.get(f"/ogc/collections/services/items/{service_id}@elsewhere").status_code == 404


@pytest.fixture
def server_url(app) -> Iterator[str]:
    with serving(app) as url:
        yield url


GDAL_READ = """
import json, sys
import pyogrio
source = "OAPIF:" + sys.argv[1]
layers = [str(name) for name, _ in pyogrio.list_layers(source)]
services = pyogrio.read_dataframe(source, layer="services")
provinces = pyogrio.read_dataframe(source, layer="indicators-province")
print(json.dumps({
    "layers": layers,
    "services": len(services),
    "epsg": services.crs.to_epsg() if services.crs else None,
    "provinces": len(provinces),
    "statuses": sorted(set(provinces["status"])),
}))
"""


def test_gdal_oapif_driver_reads_the_collections(server_url, loaded_store):
    """What QGIS does: GDAL's OGC API - Features driver lists the layers and reads them.

    GDAL runs in a child process: pyogrio holds the GIL while reading, which would starve
    the server thread."""
    pyogrio = pytest.importorskip("pyogrio")
    if "OAPIF" not in pyogrio.list_drivers():
        skip_or_fail("this GDAL has no OAPIF driver")
    done = subprocess.run(
        [sys.executable, "-c", GDAL_READ, f"{server_url}/ogc"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GDAL_HTTP_TIMEOUT": "30"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"services", "indicators-province", "indicators-census_division"} <= set(read["layers"])
    assert read["services"] == location_count(loaded_store)
    assert read["epsg"] == 4326
    assert read["provinces"] == 13
    assert set(read["statuses"]) <= {"covered", "partial", "no_data"}
