"""The supply stored coverage keeps (both stores): public points only, the table an incremental
build leaves equal to the one a full build writes, and a row holding another point than its
listing's made again from the listing."""

from __future__ import annotations

from sqlalchemy import select, update

from caremap.coverage import supply
from caremap.coverage.stored import build, invalidate
from caremap.model import CoverageSupply, Location, PublicListing
from tests.conftest import DATA_DIR, _load_listings, copy_of
from tests.test_stored_incremental import FIRST, LATER, TODAY, _move_a_victoria_service, built

__all__ = ["built"]  # the fixture, shared with tests.test_stored_incremental


def _supply(store) -> dict[str, tuple]:
    with store.engine.connect() as connection:
        rows = connection.execute(select(CoverageSupply.__table__)).all()
    return {row.listing_id: tuple(row) for row in rows}


def test_it_holds_each_listing_s_public_point_never_a_confidential_address(backend, tmp_path):
    with copy_of(backend, "loaded", _load_listings, tmp_path) as loaded:
        build(loaded.store, DATA_DIR, TODAY, FIRST)
        _only_public_points(loaded.store)


def _only_public_points(store) -> None:
    with store.engine.connect() as connection:
        listed = {
            row.id: (row.latitude, row.longitude)
            for row in connection.execute(
                select(PublicListing.id, PublicListing.latitude, PublicListing.longitude)
            )
        }
        private = {
            (row.private_latitude, row.private_longitude)
            for row in connection.execute(
                select(Location.private_latitude, Location.private_longitude).where(
                    Location.confidential.is_(True)
                )
            )
        }
    stored = _supply(store)
    assert private and stored.keys() == listed.keys()
    points = {listing_id: (row[4], row[5]) for listing_id, row in stored.items()}
    assert points == listed
    assert not private & set(points.values())


def test_after_an_edit_it_equals_the_one_a_full_build_writes(built):
    moved = _move_a_victoria_service(built)
    left = _supply(built)
    assert not any(row[1] == moved for row in left.values())  # the edit dropped its rows
    build(built, DATA_DIR, TODAY, LATER)
    incremental = _supply(built)

    with built.engine.begin() as connection:
        invalidate(connection)
    build(built, DATA_DIR, TODAY, LATER)

    assert incremental == _supply(built)
    assert any(row[1] == moved for row in incremental.values())


def test_a_row_holding_another_point_than_its_listing_is_made_again(built):
    first = min(_supply(built).values())
    with built.engine.begin() as connection:
        connection.execute(
            update(CoverageSupply)
            .where(CoverageSupply.listing_id == first[0])
            .values(latitude=first[4] + 1.0)
        )
        rows = {row[0]: row for row in supply.read(connection)}
    assert (rows[first[0]][3], rows[first[0]][4]) == (first[4], first[5])
    assert _supply(built)[first[0]] == first
