"""Bulk inserts (both stores): ``insert_rows`` writes what ``insert(table)`` writes, hostile text
and aware times included; PostGIS loads by COPY, not by INSERT statements."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, insert, select, text

from caremap.model import Location, Organization
from caremap.store import open_store
from caremap.store.bulk import insert_rows
from etl.pipeline import run
from tests.conftest import DATA_DIR, LISTINGS

NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)
HOSTILE = "Tab\there, new\nline, back\\slash, \\N, 'quote', \"double\", <b>, {{ x }}, =1+1, é ü 中"


def _organizations(prefix: str) -> list[dict]:
    return [
        {
            "id": f"{prefix}-{i}",
            "name": f"{HOSTILE} {i}",
            "source_name": "bulk",
            "source_record_id": f"record-{i}",
            "source_as_of": None if i % 2 else "2026-11",
            "imported_at": NOW.astimezone(dt.timezone(dt.timedelta(hours=-5))),
        }
        for i in range(3)
    ]


def _read(store, prefix: str) -> list[tuple]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(Organization).where(Organization.id.like(f"{prefix}-%")).order_by("id")
        ).all()
    return [(r.id.split("-")[1], *r[1:]) for r in rows]


def test_insert_rows_writes_what_insert_writes(empty_store):
    empty_store.upgrade()
    with empty_store.engine.begin() as connection:
        insert_rows(connection, Organization, _organizations("bulk"))
        connection.execute(insert(Organization), _organizations("plain"))
    bulk = _read(empty_store, "bulk")
    assert bulk == _read(empty_store, "plain")
    assert [row[1] for row in bulk] == [f"{HOSTILE} {i}" for i in range(3)]  # name
    assert all(r.imported_at == NOW for r in _rows(empty_store))


def test_a_value_met_again_is_written_as_the_first_time(empty_store):
    """The bind processing remembered per value: repeated, equal-but-other-zone and unequal
    times are each written as ``insert`` writes them."""
    empty_store.upgrade()
    elsewhere = NOW.astimezone(dt.timezone(dt.timedelta(hours=3)))
    times = [NOW, NOW, elsewhere, NOW + dt.timedelta(microseconds=1), elsewhere, NOW]
    row = _organizations("x")[0]

    def rows(prefix: str) -> list[dict]:
        return [{**row, "id": f"{prefix}-{i}", "imported_at": t} for i, t in enumerate(times)]

    with empty_store.engine.begin() as connection:
        insert_rows(connection, Organization, rows("bulk"))
        connection.execute(insert(Organization), rows("plain"))
    assert _read(empty_store, "bulk") == _read(empty_store, "plain")
    stamps = [r.imported_at for r in _rows(empty_store) if r.id.startswith("bulk")]
    assert sorted(stamps) == sorted(t.astimezone(dt.UTC) for t in times)


def _rows(store):
    with store.session() as session:
        return session.scalars(select(Organization)).all()


def test_postgis_loads_by_copy(empty_store, tmp_path):
    inserts: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SERVICE "):
            inserts.append(statement)

    event.listen(empty_store.engine, "before_cursor_execute", record)
    try:
        run(empty_store, [LISTINGS], DATA_DIR, tmp_path, progress=False)
    finally:
        event.remove(empty_store.engine, "before_cursor_execute", record)
    if empty_store.engine.dialect.name == "postgresql":
        assert inserts == []
    else:
        assert inserts
    with empty_store.session() as session:
        assert session.scalars(select(Organization.id)).first() is not None


def test_inserted_locations_are_counted_as_the_trigger_counts_them(tmp_path):
    """The embedded store (the locations' version and its triggers are its own): a bulk insert
    of locations adds their number to the locations' version, as the row trigger does for an
    insert of each, and leaves the trigger as it was."""
    store = open_store(f"sqlite:///{tmp_path / 'embedded.sqlite3'}")
    try:
        store.upgrade()
        before = _triggers(store)
        with store.engine.begin() as connection:
            insert_rows(connection, Organization, _organizations("org")[:1])
            insert_rows(connection, Location, [_location(f"bulk-{i}") for i in range(3)])
            connection.execute(insert(Location), [_location(f"plain-{i}") for i in range(3)])
        assert _triggers(store) == before
        assert "location_version_insert" in before
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT value FROM store_meta")).scalar_one() == 6
    finally:
        store.dispose()


def _triggers(store) -> dict[str, str]:
    with store.engine.connect() as connection:
        query = text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        return dict(connection.execute(query).all())


def _location(location_id: str) -> dict:
    return {
        "id": location_id,
        "organization_id": "org-0",
        "location_type": "physical",
        "confidential": False,
        "latitude": 43.65,
        "longitude": -79.38,
        "public_point_rule": "exact",
        "private_latitude": 43.65,
        "private_longitude": -79.38,
        "geocode_precision": "exact",
        "source_name": "bulk",
        "source_record_id": location_id,
        "imported_at": NOW,
    }
