"""Stored coverage indicators rebuilt incrementally (both stores): after an edit, only the rows
the change can alter are forgotten and computed again, and the table is then the one a full
rebuild gives."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
from sqlalchemy import Row, select, update

from caremap.coverage.stored import BuildReport, build, invalidate, is_current
from caremap.model import CoverageIndicator, Location, ServiceAtLocation
from caremap.republish import services_changed
from caremap.store import Store
from etl.pipeline import run
from tests.conftest import DATA_DIR, LISTINGS, copy_of

TODAY = dt.date(2026, 11, 29)
FIRST = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 11, 29, 16, 0, tzinfo=dt.UTC)
KEY = ("level", "code", "service_type", "population_served", "month")
VALUES = [
    column.name
    for column in CoverageIndicator.__table__.columns
    if column.name not in (*KEY, "computed_at")
]


def _built(store: Store, url: str, directory: Path) -> BuildReport:
    """The bundled listings loaded and every indicator built on TODAY at FIRST; that build's
    report."""
    run(store, [LISTINGS], DATA_DIR, directory, progress=False)
    return build(store, DATA_DIR, TODAY, FIRST)


@pytest.fixture
def built(backend, tmp_path):
    """A store of the test's own with :func:`_built`'s content (built once per process)."""
    with copy_of(backend, "coverage-built", _built, tmp_path) as made:
        assert not made.filled.incremental  # nothing was stored: the first build is a full one
        yield made.store


def _table(store, key: tuple | None = None, *, times: bool = True) -> dict[tuple, Row]:
    """The stored indicators by key (rows, not dicts: half a million of them), or the one of
    ``key``: the key's columns, then those of :data:`VALUES`, then ``computed_at`` (unless not
    ``times``: converting it is a third of reading a row)."""
    table = CoverageIndicator.__table__
    columns = [*KEY, *VALUES, *(["computed_at"] if times else [])]
    query = select(*(table.c[name] for name in columns))
    if key is not None:
        query = query.where(*(table.c[name] == value for name, value in zip(KEY, key, strict=True)))
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
    return {row[: len(KEY)]: row for row in rows}


def _keys(store) -> set[tuple]:
    """The keys of the stored indicators."""
    with store.engine.connect() as connection:
        table = CoverageIndicator.__table__
        return set(map(tuple, connection.execute(select(*(table.c[n] for n in KEY))).all()))


def _same(a: Row, b: Row) -> bool:
    """Whether two rows of :func:`_table` hold the same values (floats within 1e-12)."""
    values = slice(len(KEY), len(KEY) + len(VALUES))
    if a[values] == b[values]:
        return True
    for name in VALUES:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15):
                return False
        elif x != y:
            return False
    return True


def _move_a_victoria_service(store) -> str:
    """Move the location of one Victoria service about 60 km north-west (an editor's edit)."""
    with store.engine.begin() as connection:
        location_id, service_id = connection.execute(
            select(Location.id, ServiceAtLocation.service_id)
            .join(ServiceAtLocation, ServiceAtLocation.location_id == Location.id)
            .where(Location.confidential.is_(False), Location.latitude < 49)
            .order_by(Location.id)
        ).first()
        connection.execute(
            update(Location)
            .where(Location.id == location_id)
            .values(
                latitude=Location.latitude + 0.4,
                longitude=Location.longitude - 0.5,
                private_latitude=Location.private_latitude + 0.4,
                private_longitude=Location.private_longitude - 0.5,
            )
        )
        services_changed(connection, [service_id], data_dir=DATA_DIR)
    return service_id


def test_an_edit_rebuilds_only_what_it_touches_and_equals_a_full_rebuild(built):
    before = _table(built, times=False)

    _move_a_victoria_service(built)
    kept = _keys(built)
    assert 0 < len(kept) < len(before)
    assert not is_current(built, TODAY)
    report = build(built, DATA_DIR, TODAY, LATER)
    assert report.incremental and report.rows == len(before) - len(kept)
    assert is_current(built, TODAY)
    incremental = _table(built)

    with built.engine.begin() as connection:
        invalidate(connection)
    assert not build(built, DATA_DIR, TODAY, LATER).incremental
    full = _table(built, times=False)

    assert incremental.keys() == full.keys() == before.keys()
    different = [key for key in full if not _same(incremental[key], full[key])]
    assert different == []
    # Untouched rows are not rewritten: they keep the first build's time, and every row the
    # edit changed was among those rewritten.
    rewritten = {key for key, row in incremental.items() if row.computed_at == LATER}
    assert rewritten == incremental.keys() - kept
    assert all(incremental[key].computed_at == FIRST for key in kept)
    changed = {key for key in full if not _same(before[key], full[key])}
    assert changed and changed <= rewritten
    # Victoria's neighbourhood: nothing in Toronto is rewritten.
    assert not any(key[0] == "toronto_neighbourhood" for key in rewritten)


def test_a_build_on_another_day_rebuilds_everything(built):
    _move_a_victoria_service(built)
    tomorrow = TODAY + dt.timedelta(days=1)
    report = build(built, DATA_DIR, tomorrow, LATER)
    assert not report.incremental
    with built.engine.connect() as connection:
        assert set(connection.scalars(select(CoverageIndicator.as_of).distinct())) == {tomorrow}
    assert is_current(built, tomorrow)
