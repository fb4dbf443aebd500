"""The test stores themselves (tests/support/stores.py): a copy of a template is the store the
migrations (and the template's fill) make, whatever an earlier test did to an earlier copy."""

from __future__ import annotations

import sqlalchemy as sa

from caremap.store import open_store
from tests.conftest import stores_of
from tests.support.stores import MIGRATED
from tests.support.world import build_world


def contents(url: str) -> dict:
    """Each table's columns, indexes, constraints and rows: all a test could see of a store."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        described = {}
        with engine.connect() as connection:
            for table in sorted(inspector.get_table_names()):
                rows = connection.exec_driver_sql(f'SELECT * FROM "{table}"').all()
                described[table] = (
                    [(c["name"], str(c["type"]), c["nullable"], c["default"])
                     for c in inspector.get_columns(table)],
                    sorted(repr(i) for i in inspector.get_indexes(table)),
                    sorted(repr(k) for k in inspector.get_foreign_keys(table)),
                    inspector.get_pk_constraint(table),
                    sorted(repr(u) for u in inspector.get_unique_constraints(table)),
                    sorted(rows, key=repr),
                )  # fmt: skip
        return described
    finally:
        engine.dispose()


def migrated(backend: str, tmp_path) -> str:
    url = stores_of(backend).new_url(tmp_path)
    store = open_store(url)
    store.upgrade()
    store.dispose()
    return url


def test_a_copy_is_what_the_migrations_make(backend, tmp_path):
    stores = stores_of(backend)
    url = migrated(backend, tmp_path)
    try:
        with stores.copy(MIGRATED, tmp_path) as (copy_url, _):
            assert copy_url != url
            assert contents(copy_url) == contents(url)
            copied = open_store(copy_url)
            assert copied.is_current()
            copied.dispose()
    finally:
        stores.discard(url)


def test_a_copy_starts_from_its_template_whatever_an_earlier_copy_went_through(backend, tmp_path):
    stores = stores_of(backend)
    template_url, _ = stores.template("world", build_world)
    expected = contents(template_url)
    assert expected["app_user"][-1] and expected["service"][-1]  # a world has rows to lose
    with stores.copy("world", tmp_path, build_world) as (url, _):
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM user_organization")
            connection.exec_driver_sql("DELETE FROM app_user")
            connection.exec_driver_sql("UPDATE service SET name = 'changed'")
        engine.dispose()
        assert contents(url) != expected
    with stores.copy("world", tmp_path, build_world) as (url, _):
        assert contents(url) == expected


CHANGES = ["ALTER TABLE service ADD COLUMN extra TEXT"]
# tests/test_listing_page.py sorts under a language's collation (PostgreSQL only)
COLLATION = 'ALTER TABLE public_listing ALTER COLUMN service_name TYPE text COLLATE "C"'


def test_a_copy_whose_schema_a_test_changed_is_not_used_again(backend, tmp_path):
    stores = stores_of(backend)
    for change in CHANGES + ([COLLATION] if backend == "postgis" else []):
        with stores.copy(MIGRATED, tmp_path) as (changed, _):
            engine = sa.create_engine(changed)
            with engine.begin() as connection:
                connection.exec_driver_sql(change)
            engine.dispose()
        with stores.copy(MIGRATED, tmp_path) as (url, _):
            assert url != changed, change
            assert contents(url) == contents(stores.template(MIGRATED)[0])
