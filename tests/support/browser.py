"""Headless Chromium for the browser tests (``CAREMAP_CHROMIUM`` or ``chromium`` on PATH): one
browser per session (per worker), a new context (its own cookies and storage) per test.
A pytest plugin of tests/conftest.py: the fixtures ``chromium`` and ``browser``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.conftest import skip_or_fail

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    candidates = [
        os.environ.get("CAREMAP_CHROMIUM", ""),
        "chromium",
        "chromium-browser",
        "google-chrome",
    ]
    for candidate in candidates:
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    skip_or_fail("no Chromium found (set CAREMAP_CHROMIUM or install chromium)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """The session's Chromium (a Playwright ``Browser``)."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_FLAGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def browser(chromium) -> Iterator:
    """A fresh browser context for the test: no cookie or storage of another test's."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


class PageWatch:
    """Collects console errors, page errors and the hosts of every request."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.hosts.add(urlsplit(r.url).hostname or r.url))
