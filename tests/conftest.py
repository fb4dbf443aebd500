"""Shared fixtures: both stores (embedded SQLite and PostGIS), loaded with the real listings.

- PostGIS tests need ``CAREMAP_TEST_POSTGIS_URL`` (``scripts/start-postgis.sh`` prints one).
- Browser tests need Chromium (``CAREMAP_CHROMIUM`` or ``chromium`` on PATH).
- With ``CAREMAP_REQUIRE_ALL_TESTS=1`` (CI) a test that would be skipped fails instead, and the
  run fails if anything was skipped at all.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from caremap.settings import PROJECT_ROOT
from caremap.store import Store, open_store

DATA_DIR = PROJECT_ROOT / "data"
TEST_DATA = Path(__file__).parent / "data"
LISTINGS = DATA_DIR / "listings"
CONFIDENTIAL_FIXTURE = TEST_DATA / "confidential_listings.csv"
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


def _fresh_schema_url(base_url: str) -> str:
    """A URL whose search_path is a new, empty schema (PostGIS itself stays in ``public``)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:
        skip_or_fail(f"PostGIS at {make_url(base_url).render_as_string()} is unreachable: {error}")
    finally:
        engine.dispose()
    return str(
        make_url(base_url)
        .update_query_dict({"options": f"-csearch_path={schema},public"})
        .render_as_string(hide_password=False)
    )


def _drop_schema(base_url: str, store_url: str) -> None:
    match = re.search(r"search_path%3D(t_[0-9a-f]+)|search_path=(t_[0-9a-f]+)", store_url)
    if not match:
        return
    schema = match.group(1) or match.group(2)
    engine = sa.create_engine(base_url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def new_store_url(backend: str, directory: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{directory / f'{uuid.uuid4().hex[:8]}.sqlite'}"
    return _fresh_schema_url(_postgis_base_url())


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def empty_store_url(backend, tmp_path) -> Iterator[str]:
    """A URL for a new, empty (not yet migrated) store of each backend."""
    url = new_store_url(backend, tmp_path)
    yield url
    if backend == "postgis":
        _drop_schema(_postgis_base_url(), url)


@pytest.fixture
def empty_store(empty_store_url) -> Iterator[Store]:
    store = open_store(empty_store_url)
    store.upgrade()
    yield store
    store.dispose()


@pytest.fixture(scope="session")
def loaded_store_url(backend, tmp_path_factory) -> Iterator[str]:
    """A store of each backend with the real listings and the confidential test fixture loaded.

    Session-scoped: tests must not modify it (use ``empty_store`` for that)."""
    from etl.pipeline import run

    url = new_store_url(backend, tmp_path_factory.mktemp("loaded"))
    store = open_store(url)
    reports = run(
        store,
        [LISTINGS, CONFIDENTIAL_FIXTURE],
        DATA_DIR,
        tmp_path_factory.mktemp("reports"),
        progress=False,
    )
    assert all(not r.rejected for r in reports), [r.rejected for r in reports]
    store.dispose()
    yield url
    if backend == "postgis":
        _drop_schema(_postgis_base_url(), url)


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
