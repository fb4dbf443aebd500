"""What the signed-in browser tests share: a store with accounts (see
:func:`tests.support.world.build_world`), the app served on it, signing in and out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import world_of
from tests.live_server import serving
from tests.support.world import PASSWORD, World


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    with world_of("sqlite", tmp_path) as made:
        yield made


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
