"""Published listings (both stores): the same as the public read model, rebuilt when services
change or when the code that builds them does."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re

import geopandas
import numpy
import pytest
from sqlalchemy import delete, event, select, text, update

from caremap import publish
from caremap.geojson import feature_collection, service_feature
from caremap.helplines import helplines_for, national_helplines
from caremap.listing import decode_record, listings_by_name
from caremap.matching import merges
from caremap.model import PublicListing, PublicListingCode, Service
from caremap.placement import load_geography
from caremap.queries import public_services
from caremap.search import Clock, SearchQuery, search
from tests.conftest import DATA_DIR, LISTINGS
from tests.test_etl import etl

NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)


def _json(value: object) -> object:
    return json.loads(json.dumps(value))


def test_every_listing_is_the_public_read_model(loaded_store):
    with loaded_store.session() as session:
        services = public_services(session)
    with loaded_store.engine.connect() as connection:
        listings = {listing.id: listing for listing in listings_by_name(connection)}
    expected = [(s, location) for s in services for location in s.locations]
    assert len(listings) == len(expected)
    for service, location in expected:
        listing = listings[f"{service.id}@{location.id}"]
        assert decode_record(listing.record) == (service, location)
        assert json.loads(listing.feature) == _json(service_feature(service, location))


def test_a_listing_s_place_is_its_organization_at_an_address_and_only_if_public(loaded_store):
    """The stored place key, read against the Feature: the organization folded for a public
    point at an address, and none for a confidential listing or an area's point."""
    with loaded_store.engine.connect() as connection:
        listings = listings_by_name(connection)
    at_addresses = {"source_coordinates", "manual", "postal_code"}
    grouped = 0
    for listing in listings:
        properties = json.loads(listing.feature)["properties"]
        organization = " ".join((properties["organization"] or "").lower().split())
        at_address = properties["geocode_precision"] in at_addresses
        if listing.confidential or not at_address or not organization:
            assert listing.place is None, listing.id
        else:
            assert listing.place == organization, listing.id
            grouped += 1
        coordinates = json.loads(listing.feature)["geometry"]["coordinates"]
        assert coordinates == [listing.longitude, listing.latitude]
    assert grouped and any(listing.confidential for listing in listings)


def test_api_search_is_the_features_of_the_hits(make_app, loaded_store_url, loaded_store):
    """The spliced Feature texts say what service_feature of each hit says."""
    client = make_app(loaded_store_url, NOW=NOW).test_client()
    for query in ({"near": "M5A 2N2", "limit": 7}, {"limit": 5}):
        body = client.get("/api/v1/services", query_string=query).json
        origin = (None, None)
        if "origin" in body:
            origin = (body["origin"]["latitude"], body["origin"]["longitude"])
        result = search(loaded_store, SearchQuery(*origin, limit=query["limit"]), Clock(NOW))
        with loaded_store.session() as session:
            lines = (
                helplines_for(session, *origin, load_geography(DATA_DIR).boundaries)
                if "origin" in body
                else national_helplines(session)
            )
        members = {
            "beyond_radius": False,
            "total": result.total,
            "more": result.more,
            "unknown": 0,
            "more_unknown": False,
            "helplines": [line.as_json() for line in lines],
            "jurisdiction": body["jurisdiction"],  # tests/test_area_answers.py
        }
        if "origin" in body:
            members["origin"] = body["origin"]
        features = []
        for place in result.places:  # each Feature names the place it is shown in
            for hit in place.hits:
                feature = service_feature(
                    hit.service, hit.location, hit.distance_m, hit.fresh_capacities
                )
                feature["properties"]["place"] = place.id
                features.append(feature)
        assert body == _json(feature_collection(features, **members))


def test_refresh_follows_an_edit(empty_store, tmp_path):
    etl(empty_store, LISTINGS / "service_listings_shared.csv", report_dir=tmp_path)
    with empty_store.engine.begin() as connection:
        service_id = connection.execute(select(Service.id).limit(1)).scalar_one()
        connection.execute(
            update(Service).where(Service.id == service_id).values(name="Renamed for the test")
        )
        publish.refresh(connection, [service_id])
    names = [h.service.name for h in _by_name(empty_store)]
    assert "Renamed for the test" in names
    with empty_store.engine.begin() as connection:
        connection.execute(delete(Service).where(Service.id == service_id))
        publish.refresh(connection, [service_id])
    assert "Renamed for the test" not in [h.service.name for h in _by_name(empty_store)]


def test_listings_by_other_code_are_rebuilt_on_upgrade(empty_store, tmp_path):
    etl(empty_store, LISTINGS / "service_listings_shared.csv", report_dir=tmp_path)
    count = len(_by_name(empty_store))
    with empty_store.engine.begin() as connection:
        connection.execute(delete(PublicListing))
        connection.execute(update(PublicListingCode).values(fingerprint="an older release"))
    assert not empty_store.is_current()
    empty_store.upgrade()
    assert empty_store.is_current()
    assert len(_by_name(empty_store)) == count


def _by_name(store):
    return search(store, SearchQuery(limit=10_000), Clock(NOW)).hits


def test_listings_are_written_in_space_order(empty_store, tmp_path):
    """In the table's own order, a full rebuild's listings follow the Hilbert curve through
    their public points: neighbours share pages, so a nearest-first scan reads few. SQLite keeps
    the exact order; PostgreSQL's free-space map may put a short row into the gap an earlier page
    left, so there the two orders agree closely (Spearman's rank correlation), not exactly."""
    etl(empty_store, LISTINGS / "service_listings_shared.csv", report_dir=tmp_path)
    with empty_store.engine.begin() as connection:
        publish.refresh(connection)
    physical = "ctid" if empty_store.engine.dialect.name == "postgresql" else "rowid"
    with empty_store.engine.connect() as connection:
        points = connection.execute(
            select(PublicListing.longitude, PublicListing.latitude).order_by(text(physical))
        ).all()
    curve = geopandas.GeoSeries(geopandas.points_from_xy(*zip(*points, strict=True)), crs=4326)
    distances = curve.hilbert_distance(total_bounds=publish.WORLD).tolist()
    assert len(distances) > 100
    if physical == "rowid":
        assert distances == sorted(distances)
    curve_ranks = numpy.argsort(numpy.argsort(distances, kind="stable"))
    assert numpy.corrcoef(curve_ranks, numpy.arange(len(distances)))[0, 1] > 0.99


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_postgis_keeps_features_in_their_rows(empty_store, tmp_path):
    """Rows over PostgreSQL's 2 kB TOAST threshold keep the Feature, which every search reads,
    and move the record out (migration 0010): reading the Features of every listing reads no
    more pages than reading their ids."""
    etl(empty_store, LISTINGS / "service_listings_shared.csv", report_dir=tmp_path)
    with empty_store.engine.begin() as connection:
        listing_ids = connection.scalars(select(PublicListing.id)).all()
        for listing_id in listing_ids:
            connection.execute(
                update(PublicListing)
                .where(PublicListing.id == listing_id)
                .values(feature=_incompressible(1_500), record=_incompressible(1_500))
            )
    with empty_store.engine.connect() as connection:
        ids = _pages_read(connection, "count(id)")
        features = _pages_read(connection, "count(md5(feature))")
        records = _pages_read(connection, "count(md5(record))")
    assert features == ids
    assert records > ids  # the records went out of the rows


def _incompressible(length: int) -> str:
    """``length`` random characters: pglz cannot compress them."""
    return base64.b64encode(os.urandom(length))[:length].decode()


def _pages_read(connection, aggregate: str) -> int:
    plan = connection.execute(
        text(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT {aggregate} FROM public_listing")
    ).scalar_one()
    return plan[0]["Plan"]["Shared Hit Blocks"] + plan[0]["Plan"]["Shared Read Blocks"]


def test_services_that_took_in_none_are_read_once(loaded_store):
    """Publishing reads a chunk of services that took in no merged service once: no second
    read of the (no) services merged into them (the source table is read once)."""
    with loaded_store.session() as session:
        merged_into = merges(session.connection())
    with loaded_store.engine.connect() as connection:
        unmerged = sorted(
            set(connection.scalars(select(Service.id)))
            - set(merged_into)
            - set(merged_into.values())
        )[:20]
    statements: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(loaded_store.engine, "before_cursor_execute", record)
    try:
        with loaded_store.session() as session:
            services = public_services(session, unmerged)
    finally:
        event.remove(loaded_store.engine, "before_cursor_execute", record)
    assert sorted(s.id for s in services) == unmerged
    reads_of_sources = [s for s in statements if re.search(r"\bFROM source\b", s)]
    assert len(reads_of_sources) == 1, reads_of_sources
