"""Coverage indicators per jurisdiction on both stores (issue 4's core)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pyproj import Geod

from caremap.coverage.accessibility import Points
from caremap.coverage.indicators import (
    Selection,
    _nearest_km,
    compute_indicators,
)
from caremap.geodesy import EARTH_RADIUS_M
from etl.pipeline import run
from tests.conftest import DATA_DIR, TEST_DATA

TODAY = dt.date(2026, 11, 29)


def by_code(results):
    return {r.code: r for r in results}


def test_census_divisions_on_the_real_data(loaded_store):
    results = by_code(compute_indicators(loaded_store, DATA_DIR, Selection(), TODAY))
    assert len(results) == 293
    toronto, capital = results["3520"], results["5917"]
    # Their sources claim their emergency shelters, not every type: see test_coverage_claims.
    assert (toronto.status, capital.status) == ("partial", "partial")
    # 109 real Toronto sites + the fictional safe house, counted at its public point.
    assert toronto.services == 110
    assert toronto.services_per_100k == pytest.approx(110 / 2_794_356 * 100_000)
    assert capital.services == 6 and capital.beds == 315
    # York (the Vaughan site) has a service but no source covers it; Kenora's district has the
    # fictional shelter: partial data, not deserts.
    assert results["3519"].status == "partial"
    assert results["3560"].status == "partial"
    shelters = Selection(service_types=frozenset({"emergency_shelter"}))
    statuses = {r.status for r in compute_indicators(loaded_store, DATA_DIR, shelters, TODAY)}
    assert statuses == {"covered", "partial", "no_data"}


def test_no_data_is_never_a_desert(loaded_store):
    for level in ("province", "census_division", "toronto_neighbourhood"):
        results = compute_indicators(
            loaded_store, DATA_DIR, Selection(level=level, threshold_km=1), TODAY
        )
        assert all(r.status == "covered" for r in results if r.desert), level
    provinces = by_code(
        compute_indicators(loaded_store, DATA_DIR, Selection(level="province"), TODAY)
    )
    assert provinces["35"].status == "partial"  # Toronto is covered, Ontario is not
    assert provinces["62"].status == "no_data" and not provinces["62"].desert


def test_neighbourhood_deserts_follow_the_threshold(loaded_store):
    def deserts(km):
        results = compute_indicators(
            loaded_store,
            DATA_DIR,
            Selection(
                level="toronto_neighbourhood",
                service_types=frozenset({"emergency_shelter"}),
                threshold_km=km,
            ),
            TODAY,
        )
        return {r.code for r in results if r.desert}

    assert deserts(50) == set()
    assert deserts(5) <= deserts(2)
    assert len(deserts(2)) > len(deserts(5))


def test_a_winter_service_is_absent_from_the_october_view(empty_store, tmp_path):
    run(empty_store, [TEST_DATA / "seasonal_listings.csv"], DATA_DIR, tmp_path, progress=False)

    def toronto_services(month):
        results = compute_indicators(empty_store, DATA_DIR, Selection(month=month), TODAY)
        return by_code(results)["3520"].services

    assert toronto_services(10) == 2
    assert toronto_services(1) == 3


def test_nearest_km_is_great_circle_on_the_iugg_sphere():
    demand = Points(
        np.array(["a", "b"]),
        np.array([43.65, 49.77]),
        np.array([-79.38, -94.49]),
        np.array([1.0, 1.0]),
    )
    supply = Points(np.array(["s"]), np.array([45.42]), np.array([-75.70]), np.array([1.0]))
    sphere = Geod(a=EARTH_RADIUS_M, f=0)
    expected = [
        sphere.inv(-75.70, 45.42, lon, lat)[2] / 1000
        for lat, lon in ((43.65, -79.38), (49.77, -94.49))
    ]
    assert _nearest_km(demand, supply) == pytest.approx(expected, rel=1e-9)
