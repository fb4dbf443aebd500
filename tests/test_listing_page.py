"""Pages of published listings read in SQL (both stores): the OGC ``services`` collection's
features in the order of the public read model, filtered by a CRS84 box on the public point."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from caremap.geojson import service_feature
from caremap.listing import LonLatBox, listings_extent, listings_page
from caremap.model import Location, ServiceAtLocation
from caremap.queries import public_services
from etl.pipeline import run
from tests.conftest import DATA_DIR

VICTORIA = LonLatBox(-123.7, 48.3, -123.2, 48.9)  # (min lon, min lat, max lon, max lat)
# Crosses the antimeridian: east of 60° W (Newfoundland) and west of 100° W (the West).
AROUND_THE_WORLD = LonLatBox(-60.0, 40.0, -100.0, 80.0)
# TEST-VAW-2 (Kenora): its exact point (49.77123, -94.47711) and its public point, the
# GeoNames point of Kenora (49.76741, -94.48985), each in a box without the other.
AROUND_REAL_POINT = LonLatBox(-94.480, 49.769, -94.474, 49.774)
AROUND_PUBLIC_POINT = LonLatBox(-94.492, 49.765, -94.488, 49.769)
# By code point (as Python sorts text): capitals, then small letters, then accented letters.
NAMES = ["Banana House (test)", "Zeta House (test)", "apple House (test)", "Éclair House (test)"]


def expected_features(store) -> list[dict]:
    """Every service at each of its locations as the public read model has it, in its order."""
    with store.session() as session:
        services = public_services(session)
    features = [service_feature(s, location) for s in services for location in s.locations]
    return json.loads(json.dumps(features))


def in_box(feature: dict, box: LonLatBox) -> bool:
    lon, lat = feature["geometry"]["coordinates"]
    if box.min_lon <= box.max_lon:
        across = box.min_lon <= lon <= box.max_lon
    else:
        across = lon >= box.min_lon or lon <= box.max_lon
    return across and box.min_lat <= lat <= box.max_lat


def paged(store, box: LonLatBox | None, limit: int) -> tuple[list[dict], set[int]]:
    """Every feature, page after page, and the numbers matched each page said."""
    features: list[dict] = []
    matched: set[int] = set()
    with store.engine.connect() as connection:
        while True:
            page = listings_page(connection, box, len(features), limit)
            matched.add(page.matched)
            assert len(page.listings) <= limit
            features += [json.loads(listing.feature) for listing in page.listings]
            if len(page.listings) < limit:
                return features, matched


def test_pages_cover_every_feature_once_in_the_read_models_order(loaded_store):
    expected = expected_features(loaded_store)
    features, matched = paged(loaded_store, None, 7)
    assert len(expected) > 100
    assert features == expected
    assert matched == {len(expected)}


@pytest.mark.parametrize("box", [VICTORIA, AROUND_THE_WORLD], ids=["victoria", "antimeridian"])
def test_a_box_keeps_the_features_whose_point_it_holds(loaded_store, box):
    expected = [f for f in expected_features(loaded_store) if in_box(f, box)]
    assert expected
    features, matched = paged(loaded_store, box, 4)
    assert features == expected
    assert matched == {len(expected)}


def test_an_offset_past_the_end_is_an_empty_page(loaded_store):
    with loaded_store.engine.connect() as connection:
        page = listings_page(connection, VICTORIA, 10**30, 10)
    assert page.listings == [] and page.matched == 6


def test_a_box_sees_a_confidential_location_only_at_its_public_point(loaded_store):
    with loaded_store.session() as session:
        location_id = session.scalars(
            select(ServiceAtLocation.location_id)
            .join(Location)
            .where(Location.source_record_id == "TEST-VAW-2")
        ).one()
    with loaded_store.engine.connect() as connection:
        at_real_point = listings_page(connection, AROUND_REAL_POINT, 0, 1000)
        at_public_point = listings_page(connection, AROUND_PUBLIC_POINT, 0, 1000)
    assert location_id not in {listing.id.split("@")[1] for listing in at_real_point.listings}
    found = [json.loads(listing.feature) for listing in at_public_point.listings]
    assert location_id in {f["properties"]["location_id"] for f in found}


def test_extent_is_the_box_of_every_public_point(loaded_store):
    points = [f["geometry"]["coordinates"] for f in expected_features(loaded_store)]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    with loaded_store.engine.connect() as connection:
        extent = listings_extent(connection)
    assert extent == (min(lons), min(lats), max(lons), max(lats))


def test_an_empty_store_has_no_page_and_no_extent(empty_store):
    with empty_store.engine.connect() as connection:
        page = listings_page(connection, None, 0, 10)
        assert (page.listings, page.matched) == ([], 0)
        assert listings_extent(connection) is None


def test_ogc_items_are_the_read_models_features(client, loaded_store):
    """The OGC services collection serves each page's stored Features as they are."""
    expected = expected_features(loaded_store)
    body = client.get("/ogc/collections/services/items", query_string={"limit": 1000}).json
    assert body["features"] == expected
    assert body["numberMatched"] == body["numberReturned"] == len(expected)
    in_victoria = client.get(
        "/ogc/collections/services/items", query_string={"bbox": "-123.7,48.3,-123.2,48.9"}
    ).json
    assert in_victoria["features"] == [f for f in expected if in_box(f, VICTORIA)]


def test_names_sort_by_code_point_whatever_the_databases_collation(empty_store, tmp_path):
    """Pages keep the read model's order (Python's, by code point) on a PostgreSQL database
    that compares text by a language's rules (ICU English: "apple", "Banana", "Éclair")."""
    folder = tmp_path / "listings"
    folder.mkdir()
    lines = ["source_id,name,organization,service_category,city,province,postal_code"]
    for i, name in enumerate(reversed(NAMES)):
        lines.append(f"T-{i},{name},Test Org,emergency_shelter,Toronto,ON,M5A 2N2")
    (folder / "names.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run(empty_store, [folder], DATA_DIR, tmp_path / "reports", progress=False)
    if empty_store.engine.dialect.name == "postgresql":
        with empty_store.engine.begin() as connection:
            connection.execute(
                text(
                    "ALTER TABLE public_listing ALTER COLUMN service_name "
                    'TYPE text COLLATE "en-x-icu"'
                )
            )
    with empty_store.engine.connect() as connection:
        page = listings_page(connection, None, 0, 10)
    names = [json.loads(listing.feature)["properties"]["name"] for listing in page.listings]
    assert names == NAMES == [f["properties"]["name"] for f in expected_features(empty_store)]
