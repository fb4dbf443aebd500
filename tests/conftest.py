"""Shared fixtures: both stores (embedded SQLite and PostGIS), loaded with the real listings.

- PostGIS tests need ``CAREMAP_TEST_POSTGIS_URL`` (``scripts/start-postgis.sh`` prints one).
- Browser tests need Chromium (``CAREMAP_CHROMIUM`` or ``chromium`` on PATH).
- With ``CAREMAP_REQUIRE_ALL_TESTS=1`` (CI) a test that would be skipped fails instead, and the
  run fails if anything was skipped at all.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from caremap.store import Store, open_store
from tests.support.data import CONFIDENTIAL_FIXTURE, DATA_DIR, LISTINGS, TEST_DATA  # noqa: F401
from tests.support.stores import MIGRATED, Fill, PostgisStores, SqliteStores, Stores
from tests.support.world import World, build_world

pytest_plugins = ["tests.support.browser"]  # the chromium and browser fixtures
REQUIRE_ALL = os.environ.get("CAREMAP_REQUIRE_ALL_TESTS") == "1"
BACKENDS = ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]


def skip_or_fail(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where every test must run."""
    if REQUIRE_ALL:
        pytest.fail(f"required in CI but unavailable: {reason}")
    pytest.skip(reason)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if REQUIRE_ALL and skipped:
        terminalreporter.write_line(
            f"CAREMAP_REQUIRE_ALL_TESTS=1: {len(skipped)} test(s) were skipped", red=True
        )


def pytest_sessionfinish(session, exitstatus) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if REQUIRE_ALL and reporter is not None and reporter.stats.get("skipped"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id at argon2-cffi's cheapest parameters in tests (0.1 ms, not 0.1 s a hash): the
    accounts code and its checks stay the same; production keeps the library's defaults."""
    from argon2 import PasswordHasher, profiles

    from caremap import accounts

    production = accounts._hasher
    accounts._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    accounts._hasher = production


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA_DIR


def _postgis_base_url() -> str:
    url = os.environ.get("CAREMAP_TEST_POSTGIS_URL", "")
    if not url:
        skip_or_fail("CAREMAP_TEST_POSTGIS_URL is not set (run scripts/start-postgis.sh)")
    return url


_STORES: dict[str, Stores] = {}  # each backend's, made when a test first needs a store of it


def stores_of(backend: str) -> Stores:
    """The test stores of ``backend`` (this process's): new ones, templates and their copies."""
    if backend not in _STORES:
        if backend == "sqlite":
            _STORES[backend] = SqliteStores()
        else:
            base_url = _postgis_base_url()
            try:
                _STORES[backend] = PostgisStores(base_url)
            except sa.exc.OperationalError as error:
                where = make_url(base_url).render_as_string()
                skip_or_fail(f"PostGIS at {where} is unreachable: {error}")
    return _STORES[backend]


@pytest.fixture(scope="session", autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    while _STORES:
        _STORES.popitem()[1].close()


def new_store_url(backend: str, directory: Path) -> str:
    """A URL for a new, empty store (not migrated); a PostGIS one is dropped by
    :func:`_drop_schema`."""
    return stores_of(backend).new_url(directory)


def _drop_schema(_base_url: str, store_url: str) -> None:
    stores_of("postgis").discard(store_url)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def empty_store_url(request, backend, tmp_path) -> Iterator[str]:
    """A URL for a new store of each backend: empty and not yet migrated, or migrated when the
    test uses ``empty_store`` too (it is that store's URL)."""
    stores = stores_of(backend)
    if "empty_store" in request.fixturenames:
        with stores.copy(MIGRATED, tmp_path) as (url, _):
            yield url
    else:
        url = stores.new_url(tmp_path)
        yield url
        stores.discard(url)


@pytest.fixture
def empty_store(empty_store_url) -> Iterator[Store]:
    """A new store of each backend, migrated and empty."""
    store = open_store(empty_store_url)
    yield store
    store.dispose()


class Copy(NamedTuple):
    """A store of a test's own, a copy of a template: its URL, the store, and what the template's
    fill returned (shared: tests must not change it)."""

    url: str
    store: Store
    filled: Any


@contextmanager
def copy_of(backend: str, name: str, fill: Fill, directory: Path) -> Iterator[Copy]:
    """A store of ``backend`` of the test's own with the content of the template ``name``
    (filled by ``fill`` once per session and process)."""
    with stores_of(backend).copy(name, directory, fill) as (url, filled):
        store = open_store(url)
        try:
            yield Copy(url, store, filled)
        finally:
            store.dispose()


@contextmanager
def world_of(backend: str, directory: Path) -> Iterator[World]:
    """A new store of ``backend`` with the world of accounts (:func:`build_world`) in it."""
    with stores_of(backend).copy("world", directory, build_world) as (url, built):
        store = open_store(url)
        try:
            # The template's World is shared: the test gets its own (``users`` is a dict).
            yield dataclasses.replace(built, store=store, url=url, users=dict(built.users))
        finally:
            store.dispose()


@pytest.fixture
def world(backend, tmp_path) -> Iterator[World]:
    with world_of(backend, tmp_path) as made:
        yield made


def _load_listings(store: Store, _url: str, reports: Path) -> None:
    """The real Toronto and Victoria listings and the confidential test fixture, loaded without
    a rejected row (the national sources have tests of their own: tests/test_national.py)."""
    from etl.pipeline import run

    shared = LISTINGS / "service_listings_shared.csv"
    loaded = run(store, [shared, CONFIDENTIAL_FIXTURE], DATA_DIR, reports, progress=False)
    assert all(not r.rejected for r in loaded), [r.rejected for r in loaded]


@pytest.fixture(scope="session")
def loaded_store_url(backend) -> str:
    """A store of each backend with the real listings and the confidential test fixture loaded.

    Session-scoped: tests must not modify it (use ``empty_store`` for that)."""
    return stores_of(backend).template("loaded", _load_listings)[0]


@pytest.fixture(scope="session")
def loaded_store(loaded_store_url) -> Iterator[Store]:
    store = open_store(loaded_store_url)
    yield store
    store.dispose()


@pytest.fixture
def make_app(tmp_path):
    """Build apps with extra config; their stores are closed at the end of the test. Uploads
    go to the test's own folder."""
    from webmap import create_app

    apps = []

    def build(database_url: str, **config):
        defaults = {"BULK_UPLOAD_DIR": tmp_path / "uploads"}
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test",
                "DATABASE_URL": database_url,
                "TILES_URL": "",
                **defaults,
                **config,
            }
        )
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["caremap_store"].dispose()


@pytest.fixture(scope="session")
def app(loaded_store_url):
    from webmap import create_app

    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": loaded_store_url, "TILES_URL": ""}
    )
    yield app
    app.extensions["caremap_store"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()
