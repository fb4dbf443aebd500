"""Front-line search on both stores: ranking, filters, seasons, open now, beds, privacy."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import replace

import numpy as np
import pytest
from pyproj import Geod, Transformer
from scipy.optimize import least_squares
from sqlalchemy import select

from caremap import search as search_module
from caremap.listing import Listing, ListingRead, WholeRead
from caremap.model import Attribute, Location, ServiceAtLocation
from caremap.search import (
    CONFIDENTIAL_DISTANCE_STEP_M,
    COUNT_AHEAD,
    Clock,
    Filters,
    SearchQuery,
    available_in_month,
    search,
)
from etl.pipeline import run
from tests.conftest import DATA_DIR, TEST_DATA

GEOD = Geod(ellps="WGS84")
M5A_2N2 = (43.65995605, -79.37426518)  # 339 George St, Toronto (lat, lon)
AFTER_LOAD = Clock(dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC))  # Mon 12:00 in Toronto


@pytest.fixture
def seasonal_store(empty_store, tmp_path):
    run(empty_store, [TEST_DATA / "seasonal_listings.csv"], DATA_DIR, tmp_path, progress=False)
    return empty_store


def names(result) -> list[str]:
    return [hit.service.name for hit in result.hits]


def test_nearest_emergency_shelters_in_order(loaded_store):
    query = SearchQuery(
        *M5A_2N2,
        radius_km=5,
        limit=10,
        filters=Filters(service_types=frozenset({"emergency_shelter"})),
    )
    result = search(loaded_store, query, AFTER_LOAD)
    # Independent check: every public location of an emergency shelter, measured by pyproj.
    with loaded_store.session() as session:
        rows = session.execute(
            select(Location.id, Location.latitude, Location.longitude, Location.confidential)
            .join(ServiceAtLocation, ServiceAtLocation.location_id == Location.id)
            .join(Attribute, Attribute.link_id == ServiceAtLocation.service_id)
            .where(Attribute.taxonomy_term_id == "emergency_shelter")
        ).all()
    metres = {r.id: GEOD.inv(M5A_2N2[1], M5A_2N2[0], r.longitude, r.latitude)[2] for r in rows}
    expected = sorted((m, i) for i, m in metres.items() if m <= 5000)[:10]
    assert [h.location.id for h in result.hits] == [i for _, i in expected]
    for hit, (m, _) in zip(result.hits, expected, strict=True):
        assert hit.distance_m == pytest.approx(m, abs=0.01)
    assert not result.beyond_radius


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(*M5A_2N2, limit=12),
        SearchQuery(*M5A_2N2, radius_km=3, limit=50),
        SearchQuery(*M5A_2N2, limit=5, filters=Filters(service_types=frozenset({"drop_in"}))),
        SearchQuery(*M5A_2N2, limit=5, filters=Filters(month=7)),
    ],
)
def test_a_search_without_the_read_model_finds_the_same(loaded_store, query):
    full = search(loaded_store, query, AFTER_LOAD)
    lean = search(loaded_store, query, AFTER_LOAD, read_model=False)
    assert full.hits and lean.beyond_radius == full.beyond_radius
    assert [(h.listing.feature, h.distance_m, h.fresh_capacities) for h in lean.hits] == [
        (h.listing.feature, h.distance_m, h.fresh_capacities) for h in full.hits
    ]
    if not query.filters.by_time:  # a time filter needs the read model, so reads it
        assert {h.listing.record for h in lean.hits} == {None}
        with pytest.raises(ValueError, match="without its record"):
            _ = lean.hits[0].service


def test_a_ranking_read_may_read_the_candidates_a_page_shows_whole(loaded_store, backend):
    def nearest(whole=None):
        return loaded_store.nearest_listings(
            latitude=M5A_2N2[0], longitude=M5A_2N2[1], limit=12, read=ListingRead.KEY, whole=whole
        ).found

    keys = nearest()
    shown = nearest(WholeRead(2, 6, ListingRead.FEATURE))
    assert [(n.listing.id, n.distance_m) for n in shown] == [
        (n.listing.id, n.distance_m) for n in keys
    ]
    whole = {n.listing.id: n.listing for n in shown if isinstance(n.listing, Listing)}
    assert whole == loaded_store.listings_with_ids(list(whole), with_record=False)
    if backend == "postgis":  # the embedded store's reads by id are in-process: it reads keys
        # Candidates 2 to 5 on the sphere, ranked on the ellipsoid: about those positions.
        positions = [i for i, n in enumerate(shown) if n.listing.id in whole]
        assert len(positions) == 4 and max(positions) < 8, positions


def test_filters_combine(seasonal_store):
    def found(**filters):
        query = SearchQuery(*M5A_2N2, radius_km=None, limit=50, filters=Filters(**filters))
        return set(names(search(seasonal_store, query, AFTER_LOAD)))

    assert found(service_types=frozenset({"drop_in"})) == {
        "Weekday Drop-In (test)",
        "Kenora Drop-In (test)",
    }
    assert found(populations=frozenset({"women"})) == {"Year-Round Shelter (test)"}
    # Capabilities: all of them.
    assert found(capabilities=frozenset({"accepts_children"})) == {
        "Year-Round Shelter (test)",
        "Weekday Drop-In (test)",
    }
    assert found(capabilities=frozenset({"accepts_children", "addiction_capable"})) == {
        "Year-Round Shelter (test)"
    }
    assert found(languages=frozenset({"tl"})) == {"Year-Round Shelter (test)"}
    assert found(languages=frozenset({"oj"}), service_types=frozenset({"drop_in"})) == {
        "Kenora Drop-In (test)"
    }
    assert (
        found(languages=frozenset({"oj"}), service_types=frozenset({"emergency_shelter"})) == set()
    )


def test_a_winter_service_is_absent_from_the_october_view(seasonal_store):
    def in_month(month):
        query = SearchQuery(*M5A_2N2, limit=50, filters=Filters(month=month))
        return set(names(search(seasonal_store, query, AFTER_LOAD)))

    assert "Winter Respite Centre (test)" not in in_month(10)
    assert "Winter Respite Centre (test)" in in_month(1)
    assert "Winter Respite Centre (test)" in in_month(12)
    assert "Year-Round Shelter (test)" in in_month(10)


def test_month_is_the_next_occurrence():
    from caremap.queries import PublicSchedule

    winter = (PublicSchedule(None, None, None, dt.date(2026, 12, 1), dt.date(2027, 3, 31), ""),)
    assert available_in_month(winter, 2, dt.date(2026, 11, 29))  # February 2027
    assert not available_in_month(winter, 2, dt.date(2027, 4, 15))  # February 2028


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        # Monday 12:00 in Toronto, 11:00 in Kenora: day services and 24/7 open; the winter
        # service is out of season.
        (
            dt.datetime(2026, 11, 30, 17, 0),
            {"Year-Round Shelter (test)", "Weekday Drop-In (test)", "Kenora Drop-In (test)"},
        ),
        # Monday 16:30 in Kenora (Central) is 17:30 in Toronto: only Kenora's drop-in is open.
        (dt.datetime(2026, 11, 30, 22, 30), {"Year-Round Shelter (test)", "Kenora Drop-In (test)"}),
        # Saturday 23:00 in Toronto in January: the overnight winter service is open.
        (
            dt.datetime(2027, 1, 10, 4, 0),
            {"Year-Round Shelter (test)", "Winter Respite Centre (test)"},
        ),
        # Sunday 07:30 Toronto (the overnight rule that began Saturday 20:00 still runs).
        (
            dt.datetime(2027, 1, 10, 12, 30),
            {"Year-Round Shelter (test)", "Winter Respite Centre (test)"},
        ),
    ],
)
def test_open_now_in_local_time(seasonal_store, utc, expected):
    clock = Clock(utc.replace(tzinfo=dt.UTC))
    query = SearchQuery(*M5A_2N2, limit=50, filters=Filters(open_now=True))
    assert set(names(search(seasonal_store, query, clock))) == expected


def test_beds_available_now_only_with_fresh_counts(seasonal_store):
    query = SearchQuery(*M5A_2N2, limit=50, filters=Filters(beds_available=True))
    fresh = Clock(dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC))
    result = search(seasonal_store, query, fresh)
    # 40 beds, 30 occupied: 10 free. The full shelter (20 of 20) does not qualify.
    assert names(result) == ["Winter Respite Centre (test)"]
    assert result.hits[0].fresh_capacities[0].available == 10
    stale = Clock(dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC))
    assert search(seasonal_store, query, stale).hits == []


def test_nothing_within_radius_gives_nearest_beyond(seasonal_store):
    query = SearchQuery(56.0, -96.0, radius_km=25, limit=10)  # northern Manitoba
    result = search(seasonal_store, query, AFTER_LOAD)
    assert result.beyond_radius
    assert names(result)[0] == "Kenora Drop-In (test)"


def test_listing_without_origin_is_by_name(seasonal_store):
    result = search(seasonal_store, SearchQuery(limit=50), AFTER_LOAD)
    assert names(result) == sorted(names(result))
    assert all(hit.distance_m is None for hit in result.hits)


def test_by_name_both_stores_list_by_code_point(empty_store, tmp_path):
    """The order of the index that lists by name (migration 0023) on either store: names by
    code point, as Python sorts them, whatever the database's collation."""
    with (TEST_DATA / "seasonal_listings.csv").open(newline="", encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    for row, name in zip(rows, ["Zonta House", "abri de nuit", "Éva's", "Abri"], strict=True):
        row["name"] = name
    listings = tmp_path / "named.csv"
    with listings.open("w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    run(empty_store, [listings], DATA_DIR, tmp_path, progress=False)
    listed = names(search(empty_store, SearchQuery(limit=50), AFTER_LOAD))
    assert listed == ["Abri", "Zonta House", "abri de nuit", "Éva's"]


def test_confidential_distances_are_rounded_and_from_the_public_point(loaded_store):
    query = SearchQuery(
        43.70, -79.42, limit=200, filters=Filters(service_types=frozenset({"safe_house"}))
    )
    [hit] = search(loaded_store, query, AFTER_LOAD).hits
    assert hit.location.confidential
    assert hit.distance_m % CONFIDENTIAL_DISTANCE_STEP_M == 0


def test_many_searches_do_not_triangulate_a_confidential_address(loaded_store):
    """Multilaterate from 36 searches around the real address: the estimate lands near the
    public point (the FSA centroid), never closer to the real address than that."""
    real = (43.66813, -79.44498)  # the fixture's exact point (lat, lon)
    to_metres = Transformer.from_crs("EPSG:4326", "EPSG:3347", always_xy=True)
    origins, reported = [], []
    for bearing in range(0, 360, 10):
        for reach_m in (3_000, 8_000):
            lon, lat, _ = GEOD.fwd(real[1], real[0], bearing, reach_m)
            query = SearchQuery(
                lat, lon, limit=200, filters=Filters(service_types=frozenset({"safe_house"}))
            )
            [hit] = search(loaded_store, query, AFTER_LOAD).hits
            origins.append(to_metres.transform(lon, lat))
            reported.append(hit.distance_m)
    origins_xy, reported_m = np.array(origins), np.array(reported)
    start = origins_xy.mean(axis=0)
    fit = least_squares(lambda p: np.hypot(*(origins_xy - p).T) - reported_m, start)
    real_xy = np.array(to_metres.transform(real[1], real[0]))
    public = hit.location
    public_xy = np.array(to_metres.transform(public.longitude, public.latitude))
    generalisation_m = np.hypot(*(real_xy - public_xy))
    assert generalisation_m > 500
    assert np.hypot(*(fit.x - real_xy)) > 0.5 * generalisation_m
    assert np.hypot(*(fit.x - public_xy)) < CONFIDENTIAL_DISTANCE_STEP_M


def test_nothing_matching_anywhere_is_not_beyond_radius(seasonal_store):
    query = SearchQuery(56.0, -96.0, radius_km=25, filters=Filters(service_types={"no_such_type"}))
    result = search(seasonal_store, query, AFTER_LOAD)
    assert result.hits == [] and not result.beyond_radius


@pytest.mark.parametrize("origin", [M5A_2N2, (None, None)])
def test_a_page_is_a_slice_of_every_match_and_total_counts_them_all(seasonal_store, origin):
    every = search(seasonal_store, SearchQuery(*origin, limit=200), AFTER_LOAD)
    second = search(seasonal_store, SearchQuery(*origin, limit=2, offset=2), AFTER_LOAD)
    assert every.total == second.total == len(every.hits) > 3
    assert names(second) == names(every)[2:4]


def test_a_nearest_first_count_stops_past_the_page_and_says_more_match(loaded_store):
    every = search(loaded_store, SearchQuery(*M5A_2N2, limit=200), AFTER_LOAD)
    assert every.total == len(every.places) > 10 + COUNT_AHEAD and not every.more
    page = search(loaded_store, SearchQuery(*M5A_2N2, limit=5, offset=10), AFTER_LOAD)
    assert (page.total, page.more) == (10 + COUNT_AHEAD, True)
    assert [place.id for place in page.places] == [place.id for place in every.places[10:15]]
    last = search(loaded_store, SearchQuery(*M5A_2N2, limit=5, offset=20), AFTER_LOAD)
    assert (last.total, last.more) == (every.total, False)
    near = search(loaded_store, SearchQuery(*M5A_2N2, radius_km=2, limit=5), AFTER_LOAD)
    all_near = search(loaded_store, SearchQuery(*M5A_2N2, radius_km=2, limit=200), AFTER_LOAD)
    assert near.total == len(all_near.places) < COUNT_AHEAD and not near.more


def test_places_left_out_for_unknown_hours_are_those_among_the_nearest_counted(loaded_store):
    open_now = Filters(open_now=True)
    result = search(loaded_store, SearchQuery(*M5A_2N2, limit=10, filters=open_now), AFTER_LOAD)
    with_unknown = replace(open_now, include_unknown=True)
    nearest = search(
        loaded_store, SearchQuery(*M5A_2N2, limit=COUNT_AHEAD, filters=with_unknown), AFTER_LOAD
    )
    unknown_hours = sum(not place.hours_known for place in nearest.places)
    assert result.more_unknown and result.unknown == unknown_hours > 0


def test_by_name_the_places_of_the_first_listings_are_counted_and_more_said(
    loaded_store, monkeypatch
):
    every = search(loaded_store, SearchQuery(limit=200), AFTER_LOAD)
    assert not every.more and every.total == len(every.places) > 20
    monkeypatch.setattr(search_module, "MAX_MATCHES", 20)  # the first 20 listings by name
    page = search(loaded_store, SearchQuery(limit=5, offset=5), AFTER_LOAD)
    assert page.more and page.total <= 20
    assert [place.id for place in page.places] == [place.id for place in every.places[5:10]]
