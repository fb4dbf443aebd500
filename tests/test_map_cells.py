"""The browse map's stored cells (caremap.mapcells, both stores) give the answer the live count
gives, at every stored zoom: after a load, after an edit, after a service is withdrawn by its
source or removed before republishing, and for a confidential service (its community point
only)."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from sqlalchemy import delete, select, update

from caremap.listing import LonLatBox
from caremap.mapcells import STORED_ZOOMS, Cell, cell_range, stored_cells
from caremap.mapgrid import live_cells
from caremap.model import Location, MapCell, MapMember, PublicListing, Service, ServiceAtLocation
from caremap.republish import services_changed
from caremap.search import Clock, Filters
from etl.pipeline import run
from tests.support.data import CONFIDENTIAL_FIXTURE, DATA_DIR, LISTINGS

CLOCK = Clock(dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC))
BOXES = [
    LonLatBox(-141, 41, -52, 84),  # Canada
    LonLatBox(-180, -85, 180, 85),  # the world
    LonLatBox(-79.6, 43.5, -79.1, 43.9),  # Toronto
    LonLatBox(-79.45, 43.64, -79.37, 43.67),  # downtown, edges through clusters
    LonLatBox(170, 40, -60, 70),  # across the antimeridian
]
SHARED = LISTINGS / "service_listings_shared.csv"


def comparable(cells: list[Cell]) -> list[tuple]:
    """Cells in one order: count, the one listing's id, the mean point."""
    return sorted(
        (c.count, c.first_id if c.count == 1 else "", c.latitude, c.longitude) for c in cells
    )


def assert_stored_cells_are_live(store) -> None:
    compared = 0
    for zoom in STORED_ZOOMS:
        for box in BOXES:
            with store.engine.connect() as connection:
                stored = comparable(stored_cells(connection, cell_range(box, zoom)))
            live = comparable(live_cells(store, box, zoom, Filters(), CLOCK))
            assert [c[:2] for c in stored] == [c[:2] for c in live], (zoom, box)
            assert [x for c in stored for x in c[2:]] == pytest.approx(
                [x for c in live for x in c[2:]], abs=1e-9
            )
            compared += sum(cell[0] for cell in live)
    assert compared > 0


@pytest.fixture
def loaded(empty_store, tmp_path):
    run(empty_store, [SHARED, CONFIDENTIAL_FIXTURE], DATA_DIR, tmp_path, progress=False)
    return empty_store


def first_service_location(store, where=True) -> tuple[str, str]:
    with store.session() as session:
        row = session.execute(
            select(ServiceAtLocation.service_id, ServiceAtLocation.location_id)
            .join(PublicListing, PublicListing.service_id == ServiceAtLocation.service_id)
            .where(where)
            .order_by(ServiceAtLocation.service_id)
            .limit(1)
        ).one()
    return row.service_id, row.location_id


def test_stored_cells_count_every_listing_after_a_load(loaded):
    assert_stored_cells_are_live(loaded)
    with loaded.engine.connect() as connection:
        listings = connection.scalar(select(PublicListing.id).limit(1))
        world = stored_cells(connection, cell_range(LonLatBox(-180, -85, 180, 85), 0))
        assert listings is not None
        assert sum(c.count for c in world) == len(
            connection.scalars(select(PublicListing.id)).all()
        )


def test_an_edit_moves_only_its_cells(loaded):
    service_id, location_id = first_service_location(loaded, ~PublicListing.confidential)
    with loaded.engine.connect() as connection:
        cells_before = connection.execute(select(MapCell.__table__)).all()
    with loaded.engine.begin() as connection:
        connection.execute(
            update(Location)
            .where(Location.id == location_id)
            .values(latitude=62.45, longitude=-114.37)  # to Yellowknife
        )
        services_changed(connection, [service_id])
    assert_stored_cells_are_live(loaded)
    with loaded.engine.connect() as connection:
        cells_after = connection.execute(select(MapCell.__table__)).all()
    changed = set(cells_before) ^ set(cells_after)
    assert 0 < len({(c.zoom, c.x, c.y) for c in changed}) <= 2 * 2 * len(STORED_ZOOMS)


def test_a_service_withdrawn_by_its_source_leaves_its_cells(loaded, tmp_path):
    lines = SHARED.read_text(encoding="utf-8").splitlines(keepends=True)
    shorter = tmp_path / SHARED.name
    shorter.write_text("".join(lines[:1] + lines[2:]), encoding="utf-8")
    with loaded.engine.connect() as connection:
        before = len(connection.scalars(select(MapMember.id)).all())
    run(loaded, [shorter, CONFIDENTIAL_FIXTURE], DATA_DIR, tmp_path / "again", progress=False)
    with loaded.engine.connect() as connection:
        assert len(connection.scalars(select(MapMember.id)).all()) < before
    assert_stored_cells_are_live(loaded)


def test_a_service_removed_before_republishing_leaves_its_cells(loaded):
    service_id, _ = first_service_location(loaded)
    with loaded.engine.begin() as connection:
        connection.execute(delete(Service).where(Service.id == service_id))  # listings cascade
        services_changed(connection, [service_id])
    with loaded.engine.connect() as connection:
        assert (
            connection.scalars(select(MapMember.id).where(MapMember.service_id == service_id)).all()
            == []
        )
    assert_stored_cells_are_live(loaded)


def test_a_confidential_service_is_counted_at_its_public_point_only(loaded):
    with CONFIDENTIAL_FIXTURE.open(encoding="utf-8") as handle:
        real = [(float(r["latitude"]), float(r["longitude"])) for r in csv.DictReader(handle)]
    with loaded.engine.connect() as connection:
        public = connection.execute(
            select(PublicListing.id, PublicListing.latitude, PublicListing.longitude).where(
                PublicListing.confidential
            )
        ).all()
        members = set(
            connection.execute(select(MapMember.id, MapMember.latitude, MapMember.longitude)).all()
        )
    assert public and set(public) <= members
    for _, latitude, longitude in members:
        assert all(abs(latitude - lat) + abs(longitude - lon) > 1e-3 for lat, lon in real)
    assert_stored_cells_are_live(loaded)
