"""The JSON API on both stores: GeoJSON search, one service, OpenAPI, and clear 400s."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pyproj import Geod

from caremap.queries import public_services
from tests.test_privacy import confidential_rows, secrets_of

GEOD = Geod(ellps="WGS84")
SECRETS = [s for row in confidential_rows() for s in secrets_of(row)]


def test_search_by_postal_code_is_nearest_first(client):
    body = client.get("/api/v1/services", query_string={"near": "M5A 2N2", "limit": 10}).json
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 10
    assert body["origin"]["matched"] == "postal code M5A 2N2"
    origin = (body["origin"]["latitude"], body["origin"]["longitude"])
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert distances == sorted(distances)
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"]  # GeoJSON: [lon, lat]
        expected = GEOD.inv(origin[1], origin[0], lon, lat)[2]
        if feature["properties"]["confidential"]:
            assert feature["properties"]["distance_m"] >= expected
        else:
            assert feature["properties"]["distance_m"] == pytest.approx(expected, abs=0.1)


def test_search_is_sessionless_and_not_rate_limited(app, client, monkeypatch):
    def no_account_lookup(user_id):
        raise AssertionError(f"account {user_id} looked up for a public API request")

    monkeypatch.setattr(app.login_manager, "_user_callback", no_account_lookup)
    response = client.get("/api/v1/services", query_string={"lat": "43.65", "lon": "-79.38"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers and "Cache-Control" not in response.headers
    assert "X-RateLimit-Limit" not in response.headers
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_filters_and_radius(client):
    body = client.get(
        "/api/v1/services",
        query_string=[
            ("lat", "43.6532"),
            ("lon", "-79.3832"),
            ("radius_km", "50"),
            ("limit", "200"),
            ("service_type", "youth_services"),
            ("language", "oj"),
        ],
    ).json
    assert [f["properties"]["name"] for f in body["features"]] == [
        "Native Child and Family Services of Toronto"
    ]


def test_nothing_within_radius_returns_nearest_beyond(client):
    body = client.get(
        "/api/v1/services",
        query_string={"lat": "62.45", "lon": "-114.37", "radius_km": "25", "limit": "3"},
    ).json  # Yellowknife
    assert body["beyond_radius"] is True and len(body["features"]) == 3


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"lat": "91", "lon": "0"}, "lat"),
        ({"lat": "45", "lon": "-181"}, "lon"),
        ({"lat": "45"}, "lon"),
        ({"lat": "abc", "lon": "1"}, "lat"),
        ({"service_type": "teleportation"}, "service_type"),
        ({"capability": "open_24_7,flying"}, "capability"),
        ({"radius_km": "-5"}, "radius_km"),
        ({"radius_km": "0"}, "radius_km"),
        ({"limit": str(10**9)}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"month": "13"}, "month"),
        ({"open_now": "perhaps"}, "open_now"),
        ({"near": "qwertyuiop zxcv"}, "near"),
        ({"near": "M5V 2T6", "lat": "45", "lon": "-75"}, "near"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, query, parameter):
    response = client.get("/api/v1/services", query_string=query)
    assert response.status_code == 400
    assert response.json["parameter"] == parameter
    assert response.json["message"]


def test_one_service_and_not_found(client):
    first = client.get("/api/v1/services", query_string={"near": "Victoria, BC"}).json
    service_id = first["features"][0]["properties"]["id"]
    feature = client.get(f"/api/v1/services/{service_id}").json
    assert feature["type"] == "Feature" and feature["properties"]["id"] == service_id
    missing = client.get("/api/v1/services/no-such-id")
    assert missing.status_code == 404 and missing.json["status"] == 404


def test_openapi_document_is_valid_and_describes_the_responses(client):
    document = client.get("/api/v1/openapi.json").json
    validate(document)
    parameters = {p["name"] for p in document["paths"]["/api/v1/services"]["get"]["parameters"]}
    assert {
        "near",
        "lat",
        "lon",
        "radius_km",
        "limit",
        "service_type",
        "population",
        "capability",
        "language",
        "open_now",
        "month",
        "beds_available",
    } <= parameters
    feature_schema = dict(document["components"]["schemas"]["Feature"])
    body = client.get("/api/v1/services", query_string={"near": "M5A 2N2"}).json
    validator = Draft202012Validator(feature_schema)
    for feature in body["features"]:
        validator.validate(feature)


def _documented(document: dict, path: str, status: int, mimetype: str) -> Draft202012Validator:
    """A validator for the response schema the OpenAPI document gives ``path``'s GET at
    ``status`` in ``mimetype`` (failing when it documents no such response)."""
    responses = document["paths"][path]["get"]["responses"]
    content = responses[str(status)]["content"]
    assert mimetype in content, (path, status, mimetype, sorted(content))
    schema = {**content[mimetype]["schema"], "components": document["components"]}
    return Draft202012Validator(schema)


def test_responses_follow_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json
    listed = client.get("/api/v1/services", query_string={"near": "Victoria, BC", "limit": 3})
    feature_id = listed.json["features"][0]["id"]
    one = "/api/v1/services/{feature_id}"
    for path, response, status in [
        ("/api/v1/services", listed, 200),
        ("/api/v1/services", client.get("/api/v1/services", query_string={"lat": "91"}), 400),
        (one, client.get(f"/api/v1/services/{feature_id}"), 200),
        (one, client.get(f"/api/v1/services/{feature_id.split('@')[0]}"), 200),
        (one, client.get("/api/v1/services/no-such-id"), 404),
        (one, client.get(f"/api/v1/services/{feature_id.split('@')[0]}@elsewhere"), 404),
    ]:
        assert response.status_code == status, (path, response.json)
        validator = _documented(document, path, response.status_code, response.mimetype)
        validator.validate(response.json)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/services?near=Victoria,%20BC",
        "/api/v1/services?lat=91&lon=0",
        "/api/v1/services/no-such-id",
        "/api/v1/openapi.json",
        "/hsds/services",
        "/hsds/openapi.json",
        "/ogc/collections",
        "/ogc/collections/services/items?limit=2",
        "/ogc/collections/nothing",
    ],
)
def test_public_api_answers_any_origin_without_credentials(client, path):
    response = client.get(path, headers={"Origin": "https://elsewhere.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("path", ["/", "/account/login", "/account/", "/edit/"])
def test_pages_and_signed_in_routes_allow_no_other_origin(client, path):
    response = client.get(path, headers={"Origin": "https://elsewhere.example"})
    assert response.status_code in (200, 302), path
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_feature_id_gives_that_feature_in_the_shape_of_a_list_item(client, loaded_store):
    with loaded_store.session() as session:
        services = public_services(session)
    listed = client.get("/api/v1/services", query_string={"near": "Victoria, BC", "limit": 5})
    for item in listed.json["features"]:
        response = client.get(f"/api/v1/services/{item['id']}")
        assert response.status_code == 200 and response.mimetype == "application/geo+json"
        feature = response.json
        searched = ("distance_m", "distance_precision_m", "place")
        assert feature["id"] == item["id"] and feature["geometry"] == item["geometry"]
        assert {k: v for k, v in item["properties"].items() if k not in searched} == {
            k: v for k, v in feature["properties"].items() if k not in searched
        }
        service = next(s for s in services if s.id == item["properties"]["id"])
        assert feature["properties"]["description"] == service.description
        assert feature["properties"]["eligibility"] == service.eligibility_description
        assert feature["properties"]["intake"] == service.application_process
    confidential = [(s, loc) for s in services for loc in s.locations if loc.confidential]
    assert confidential
    for service, location in confidential:
        feature = client.get(f"/api/v1/services/{service.id}@{location.id}").json
        assert feature["geometry"]["coordinates"] == [location.longitude, location.latitude]
        assert feature["properties"]["confidential"] is True
        body = json.dumps(feature)
        assert not [s for s in SECRETS if s in body], service.name
    elsewhere = client.get(f"/api/v1/services/{services[0].id}@elsewhere")
    assert elsewhere.status_code == 404 and elsewhere.json["status"] == 404
