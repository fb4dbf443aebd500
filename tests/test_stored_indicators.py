"""Stored coverage indicators (``caremap coverage build``) on both stores: equal to the ones
computed on request, used only when current, forgotten by any write to the listings."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from caremap.coverage.indicators import Selection, compute_indicators
from caremap.coverage.stored import build, is_current, is_stored, read
from caremap.store import Store, open_store
from etl.pipeline import run
from tests.conftest import DATA_DIR, LISTINGS, TEST_DATA, copy_of, stores_of
from tests.test_stored_incremental import FIRST as NOW
from tests.test_stored_incremental import TODAY, _built


def same(stored, live):
    assert [r.code for r in stored] == [r.code for r in live]
    for a, b in zip(stored, live, strict=True):
        for field in dataclasses.fields(a):
            x, y = getattr(a, field.name), getattr(b, field.name)
            if isinstance(x, float) and isinstance(y, float):
                assert math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15), (a.code, field.name)
            else:
                assert x == y, (a.code, field.name, x, y)


def _seasonal_built(store: Store, _url: str, reports: Path) -> None:
    """The seasonal listings, with their coverage indicators built on TODAY at NOW."""
    run(store, [TEST_DATA / "seasonal_listings.csv"], DATA_DIR, reports, progress=False)
    build(store, DATA_DIR, TODAY, NOW)


@pytest.fixture
def seasonal_store(backend, tmp_path) -> Iterator[Store]:
    """A store of the test's own with :func:`_seasonal_built`'s content (built once per
    process)."""
    with copy_of(backend, "seasonal-built", _seasonal_built, tmp_path) as made:
        yield made.store


def test_stored_equal_computed_on_the_real_data(backend):
    """The bundled listings with every indicator built (:func:`_built`, once per process),
    read from the template itself (nothing is written)."""
    selections = [
        Selection(),
        Selection(level="province", threshold_km=10),
        Selection(level="toronto_neighbourhood", month=10, threshold_km=250),
        Selection(service_types=frozenset({"emergency_shelter"}), populations=frozenset({"women"})),
    ]
    url, report = stores_of(backend).template("coverage-built", _built)
    assert report.levels == 3 and report.rows > 0
    store = open_store(url)
    try:
        for selection in selections:
            with store.session() as session:
                stored = read(session, DATA_DIR, selection, TODAY)
            assert stored is not None, selection
            assert stored.computed_at == NOW
            same(stored.results, compute_indicators(store, DATA_DIR, selection, TODAY))
    finally:
        store.dispose()


def test_only_standard_selections_built_today_are_read(seasonal_store):
    assert is_current(seasonal_store, TODAY)
    assert not is_current(seasonal_store, TODAY + dt.timedelta(days=1))
    with seasonal_store.session() as session:
        assert read(session, DATA_DIR, Selection(), TODAY + dt.timedelta(days=1)) is None
        for other in (
            Selection(access_method="e2sfca"),
            Selection(supply="beds"),
            Selection(catchment_km=25),
            Selection(added_sites=((48.38, -89.25, 10),)),
            Selection(switched_off=frozenset({"x"})),
        ):
            assert not is_stored(other)
            assert read(session, DATA_DIR, other, TODAY) is None
        # Nobody offers a legal clinic: not stored, so computed on request.
        nobody = Selection(service_types=frozenset({"legal_aid"}))
        assert is_stored(nobody) and read(session, DATA_DIR, nobody, TODAY) is None


def test_the_seasonal_gap_is_stored_by_month(seasonal_store):
    with seasonal_store.session() as session:

        def toronto(month):
            stored = read(session, DATA_DIR, Selection(month=month), TODAY)
            return {r.code: r for r in stored.results}["3520"].services

        assert (toronto(10), toronto(1)) == (2, 3)


def test_months_share_distances_only_with_the_same_supply(seasonal_store):
    """A build evaluates the selections of a level in one context, which shares the distances
    and scores of selections with the same services: each month equals its own computation."""
    scores = {}
    for month in (None, 1, 10):
        selection = Selection(month=month)
        with seasonal_store.session() as session:
            stored = read(session, DATA_DIR, selection, TODAY)
        assert stored is not None
        same(stored.results, compute_indicators(seasonal_store, DATA_DIR, selection, TODAY))
        scores[month] = {r.code: r.access_score for r in stored.results}["3520"]
    assert scores[10] != scores[1]


def test_a_write_to_the_listings_forgets_them(seasonal_store, tmp_path):
    run(seasonal_store, [LISTINGS], DATA_DIR, tmp_path, progress=False)
    assert not is_current(seasonal_store, TODAY)
    with seasonal_store.session() as session:
        assert read(session, DATA_DIR, Selection(), TODAY) is None


def test_an_unchanged_reload_keeps_them(seasonal_store, tmp_path):
    run(seasonal_store, [TEST_DATA / "seasonal_listings.csv"], DATA_DIR, tmp_path, progress=False)
    assert is_current(seasonal_store, TODAY)
