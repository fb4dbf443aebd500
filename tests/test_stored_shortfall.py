"""What an incremental build of the stored coverage finds missing (both stores): a row of a
standard selection deleted is computed again, equal to the one a full build stored, and rows
of a selection no longer standard are dropped."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from caremap.coverage.stored import build, is_current
from caremap.model import CoverageIndicator
from tests.conftest import DATA_DIR
from tests.test_stored_incremental import KEY, LATER, TODAY, _keys, _same, _table, built

__all__ = ["built"]  # the fixture, shared with tests.test_stored_incremental


def test_a_deleted_row_is_computed_again_and_rows_no_longer_standard_are_dropped(built):
    keys = _keys(built)
    key = min(k for k in keys if k[0] == "census_division" and k[2] and k[4] == 3)
    row = _table(built, key)[key]
    stray = {**row._mapping, "service_type": "no_such_type", "population_served": ""}
    table = CoverageIndicator
    with built.engine.begin() as connection:
        where = [getattr(table, name) == value for name, value in zip(KEY, key, strict=True)]
        connection.execute(delete(table).where(*where))
        connection.execute(insert(table).values(**stray))
    assert not is_current(built, TODAY)

    report = build(built, DATA_DIR, TODAY, LATER)

    assert report.incremental and report.rows == 1 and report.selections == 1
    assert _keys(built) == keys
    again = _table(built, key)[key]
    assert _same(again, row) and again.computed_at == LATER
    assert is_current(built, TODAY)
    with built.engine.connect() as connection:
        stray_left = select(table.code).where(table.service_type == "no_such_type")
        assert connection.scalar(stray_left) is None
