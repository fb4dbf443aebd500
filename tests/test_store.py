"""Store behaviour on both backends: migrations, nearest, within radius, jurisdictions."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from pyproj import Geod
from sqlalchemy import func, select

from caremap.model import Location
from caremap.store import open_store

GEOD = Geod(ellps="WGS84")
# A point in downtown Toronto (lat, lon) and one in Victoria, BC.
TORONTO = (43.6532, -79.3832)
VICTORIA = (48.4284, -123.3656)


def public_points(store) -> dict[str, tuple[float, float]]:
    with store.session() as session:
        rows = session.execute(select(Location.id, Location.latitude, Location.longitude)).all()
    return {row.id: (row.latitude, row.longitude) for row in rows}


def reference_ranking(points, origin) -> list[tuple[str, float]]:
    """Nearest-first by an independent WGS84 geodesic computation (pyproj takes lon, lat)."""
    ids = sorted(points)
    lats = np.array([points[i][0] for i in ids])
    lons = np.array([points[i][1] for i in ids])
    _, _, metres = GEOD.inv(np.full(len(ids), origin[1]), np.full(len(ids), origin[0]), lons, lats)
    return sorted(zip(ids, metres, strict=True), key=lambda item: (item[1], item[0]))


def test_migrations_are_idempotent(empty_store_url):
    store = open_store(empty_store_url)
    assert not store.is_current()
    store.upgrade()
    store.upgrade()
    assert store.is_current()
    store.dispose()


def test_empty_store_has_no_neighbours(empty_store):
    assert empty_store.nearest(latitude=TORONTO[0], longitude=TORONTO[1], limit=5) == []


@pytest.mark.parametrize("margin", [None, 0])
@pytest.mark.parametrize("origin", [TORONTO, VICTORIA])
def test_nearest_matches_independent_geodesic_ranking(loaded_store, origin, margin, monkeypatch):
    if margin is not None:  # PostGIS: no spare candidates, so the scan must widen to be exact
        monkeypatch.setattr("caremap.store.postgis.CANDIDATE_MARGIN", margin)
        monkeypatch.setattr("caremap.store.postgis.SPARE_PER", 10**9)
    expected = reference_ranking(public_points(loaded_store), origin)[:10]
    found = loaded_store.nearest(latitude=origin[0], longitude=origin[1], limit=10)
    assert [n.location_id for n in found] == [i for i, _ in expected]
    for nearby, (_, metres) in zip(found, expected, strict=True):
        assert nearby.distance_m == pytest.approx(metres, abs=0.01)


@pytest.mark.parametrize("radius_m", [None, 25_000])
def test_nearest_first_proves_what_it_leaves_out(loaded_store, radius_m):
    """The spare candidates a scan returns are the true next ones, and every point left out
    (within the radius) is at least ``beyond_m`` away."""
    ranking = [
        (i, m)
        for i, m in reference_ranking(public_points(loaded_store), TORONTO)
        if radius_m is None or m <= radius_m
    ]
    scan = loaded_store.nearest_first(
        latitude=TORONTO[0], longitude=TORONTO[1], limit=10, radius_m=radius_m
    )
    assert len(scan.found) >= 10
    assert [n.location_id for n in scan.found] == [i for i, _ in ranking[: len(scan.found)]]
    left_out = ranking[len(scan.found) :]
    assert all(m >= scan.beyond_m for _, m in left_out)
    assert left_out or scan.beyond_m == float("inf")


def test_nearest_over_everything_is_sorted(loaded_store):
    found = loaded_store.nearest(latitude=TORONTO[0], longitude=TORONTO[1], limit=1000)
    assert len(found) == len(public_points(loaded_store))
    distances = [n.distance_m for n in found]
    assert distances == sorted(distances)


@pytest.mark.parametrize("radius_km", [0.5, 2, 25, 5000])
def test_within_radius_is_exactly_the_points_inside(loaded_store, radius_km):
    expected = [
        (i, m)
        for i, m in reference_ranking(public_points(loaded_store), TORONTO)
        if m <= radius_km * 1000
    ]
    found = loaded_store.nearest(
        latitude=TORONTO[0], longitude=TORONTO[1], limit=10_000, radius_m=radius_km * 1000
    )
    assert [n.location_id for n in found] == [i for i, _ in expected]


@pytest.mark.parametrize("margin", [None, 0])
def test_nearest_few_within_a_radius_holding_many(loaded_store, margin, monkeypatch):
    """More points lie inside the radius than are fetched: the nearest few, exactly."""
    if margin is not None:  # PostGIS: no spare candidates, so the scan must widen to be exact
        monkeypatch.setattr("caremap.store.postgis.CANDIDATE_MARGIN", margin)
        monkeypatch.setattr("caremap.store.postgis.SPARE_PER", 10**9)
    inside = [
        (i, m) for i, m in reference_ranking(public_points(loaded_store), TORONTO) if m <= 25_000
    ]
    assert len(inside) > 50
    found = loaded_store.nearest(
        latitude=TORONTO[0], longitude=TORONTO[1], limit=5, radius_m=25_000
    )
    assert [n.location_id for n in found] == [i for i, _ in inside[:5]]
    for nearby, (_, metres) in zip(found, inside, strict=False):
        assert nearby.distance_m == pytest.approx(metres, abs=0.01)


def test_nearest_among_a_subset(loaded_store):
    ranking = reference_ranking(public_points(loaded_store), TORONTO)
    subset = {ranking[5][0], ranking[40][0], ranking[-1][0]}
    found = loaded_store.nearest(
        latitude=TORONTO[0],
        longitude=TORONTO[1],
        limit=2,
        location_filter=select(Location.id).where(Location.id.in_(subset)),
    )
    assert [n.location_id for n in found] == [ranking[5][0], ranking[40][0]]


def test_jurisdictions_of_the_real_listings(loaded_store):
    with loaded_store.session() as session:
        rows = session.execute(
            select(Location.pruid, Location.cduid).where(
                Location.source_name == "service_listings_shared"
            )
        ).all()
    # 109 Toronto sites in Toronto (3520), one Vaughan site in York (3519), six in the
    # Capital Regional District (5917), Victoria.
    assert Counter(rows) == {("35", "3520"): 109, ("35", "3519"): 1, ("59", "5917"): 6}


def test_jurisdiction_table_holds_provinces_and_divisions(loaded_store):
    from caremap.model import Jurisdiction

    with loaded_store.session() as session:
        counts = Counter(session.scalars(select(Jurisdiction.level)))
        ontario = session.get(Jurisdiction, ("province", "35"))
        junction = session.get(Jurisdiction, ("toronto_neighbourhood", "090"))
        assert (junction.name_en, junction.parent_code, junction.population_2021) == (
            "Junction Area",
            "3520",
            14_010,
        )
    assert counts == {"province": 13, "census_division": 293, "toronto_neighbourhood": 158}
    assert ontario.name_fr == "Ontario" and ontario.population_2021 == 14_223_942


def test_lower_folds_every_letter(empty_store):
    """Case-insensitive searches (organizations, services) fold accented capitals too."""
    with empty_store.engine.connect() as connection:
        folded = connection.execute(select(func.lower("ÉCOLE Ça Œuvre"))).scalar_one()
    assert folded == "école ça œuvre"


def test_a_large_transaction_gets_a_larger_page_cache_then_gives_it_back(empty_store):
    """The embedded store's load transaction has a page cache of its own size; the connection
    goes back to the pool as it was. PostGIS has nothing to change."""
    from caremap.store.embedded import LARGE_TRANSACTION_CACHE_KIB

    if empty_store.dialect != "sqlite":
        with empty_store.engine.connect() as connection, empty_store.large_transaction(connection):
            assert connection.scalar(select(1)) == 1
        return

    def cache_size(connection) -> int:
        return connection.exec_driver_sql("PRAGMA cache_size").scalar_one()

    with empty_store.engine.connect() as connection:
        before = cache_size(connection)
        with empty_store.large_transaction(connection):
            assert cache_size(connection) == -LARGE_TRANSACTION_CACHE_KIB
        assert cache_size(connection) == before


def test_a_new_embedded_database_has_large_pages_an_old_one_keeps_its_own(tmp_path):
    """A new SQLite file gets :data:`PAGE_SIZE` pages; a file made before with SQLite's 4 KiB
    pages keeps them and is migrated and written as ever."""
    import sqlite3

    from caremap.store.base import PAGE_SIZE

    def page_size(store) -> int:
        with store.engine.connect() as connection:
            return connection.exec_driver_sql("PRAGMA page_size").scalar_one()

    new = open_store(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    old_path = tmp_path / "old.sqlite3"
    with sqlite3.connect(old_path) as made_before:
        made_before.execute("PRAGMA journal_mode=WAL")
    old = open_store(f"sqlite:///{old_path}")
    try:
        for store in (new, old):
            store.upgrade()
        assert (page_size(new), page_size(old)) == (PAGE_SIZE, 4096)
    finally:
        new.dispose()
        old.dispose()
