"""What the signed-in browser tests share: a store with accounts (see
:func:`tests.test_accounts.build_world`), the app served on it, signing in and out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import new_store_url
from tests.live_server import serving
from tests.test_accounts import PASSWORD, World, build_world


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    from caremap.store import open_store

    url = new_store_url("sqlite", tmp_path)
    store = open_store(url)
    store.upgrade()
    yield build_world(store, url, tmp_path)
    store.dispose()


@pytest.fixture
def server_url(make_app, world) -> Iterator[str]:
    app = make_app(world.url, SESSION_COOKIE_SECURE=False)
    with serving(app) as url:
        yield url


def sign_in(page, server_url: str, who: str, lang: str) -> None:
    page.goto(f"{server_url}/account/login?lang={lang}")
    page.fill("#email", f"{who}@example.org")
    page.fill("#password", PASSWORD)
    page.locator("form[action^='/account/login'] button[type=submit]").click()
    page.wait_for_load_state()


def sign_out(page) -> None:
    page.locator("form[action='/account/logout'] button").click()
    page.wait_for_load_state()
