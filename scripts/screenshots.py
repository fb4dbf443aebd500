"""The README's screenshots, taken the way the browser tests see the app: the bundled listings
(public data only, no confidential test fixture) loaded into a new embedded store, the app served
by the browser tests' server, headless Chromium at device scale 1. ``make screenshots`` runs it
(``python -m scripts.screenshots``) and writes :data:`SHOTS` into docs/screenshots/."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from caremap import accounts
from caremap.accounts import Role
from caremap.model import Organization, Service
from caremap.settings import PROJECT_ROOT
from caremap.store import Store, open_store
from tests.live_server import serving
from tests.signed_in_browser import sign_in
from tests.support.browser import CHROMIUM_FLAGS, chromium_path
from tests.support.data import DATA_DIR, LISTINGS
from tests.support.world import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser

LOG = logging.getLogger(__name__)
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
EDITOR = "editor"  # signs in as editor@example.org
EDITED_ORGANIZATION = "Fred Victor Centre"  # in the bundled listings, near M5A 2N2


@dataclass(frozen=True)
class Shot:
    """One screenshot: its file in docs/screenshots/, the README's alt text, the page (``{service}``
    is the edited service's id), the viewport, what is scrolled to its top (a CSS selector; None
    for the top of the page), and whether the editor is signed in."""

    file: str
    alt: str
    path: str
    width: int
    height: int
    top: str | None = None
    signed_in: bool = False


SHOTS = (
    Shot(
        "search-results-phone.png",
        "Search results on a phone: emergency shelters within 5 km of postal code M5A 2N2, "
        "nearest first, with distances",
        "/?near=M5A+2N2&radius_km=5&service_type=emergency_shelter",
        360,
        740,
        top="#results-heading",
    ),
    Shot(
        "planner.png",
        "The planner: the legend and the map of Toronto's neighbourhoods shaded by services "
        "per 100,000 people",
        "/planner/?level=toronto_neighbourhood",
        1280,
        900,
        top="#legend-heading",
    ),
    Shot(
        "edit-service.png",
        "The edit form of a service, for a signed-in editor of its organization",
        "/edit/services/{service}",
        1280,
        900,
        signed_in=True,
    ),
)


def load_public_data(store: Store, reports: Path) -> str:
    """Load the bundled listings (saying how many rows of a source are not loaded) and add an
    editor of :data:`EDITED_ORGANIZATION`; return the id of that organization's first service
    by name."""
    from etl.pipeline import run

    # The national sources name a few places no gazetteer knows (tests/test_national.py).
    for report in run(store, [LISTINGS], DATA_DIR, reports, progress=False):
        if report.rejected:
            LOG.warning("%s: %d rows not loaded", report.source, len(report.rejected))
    with store.session() as session, session.begin():
        organization = session.scalars(  # as the City of Toronto lists it (the NSPL too)
            select(Organization)
            .join(Service, Service.organization_id == Organization.id)
            .where(
                Organization.name == EDITED_ORGANIZATION,
                Service.source_name == "service_listings_shared",
            )
            .distinct()
        ).one()
        accounts.create_user(
            session,
            email=f"{EDITOR}@example.org",
            password=PASSWORD,
            role=Role.EDITOR,
            organization_ids=[organization.id],
        )
        service: Service = session.scalars(
            select(Service)
            .where(Service.organization_id == organization.id)
            .order_by(Service.name)
            .limit(1)
        ).one()
        return service.id


# Scrolls the element to 64 px below the top of the viewport: below the quick-exit bar.
SCROLL_TO_TOP = """selector => window.scrollTo(
    0, window.scrollY + document.querySelector(selector).getBoundingClientRect().top - 64)"""


def take(chromium: Browser, server_url: str, service: str, shot: Shot) -> None:
    """Write ``shot``'s PNG: what a person sees in the viewport, scrolled to ``shot.top``."""
    context = chromium.new_context(
        viewport={"width": shot.width, "height": shot.height}, device_scale_factor=1
    )
    try:
        page = context.new_page()
        if shot.signed_in:
            sign_in(page, server_url, EDITOR, "en")
        page.goto(server_url + shot.path.format(service=service))
        page.wait_for_load_state("networkidle")
        if shot.top:
            page.evaluate(SCROLL_TO_TOP, shot.top)
        page.screenshot(path=SCREENSHOTS / shot.file, animations="disabled", caret="initial")
    finally:
        context.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    from webmap import create_app

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a page's burst of requests
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="caremap-screenshots-") as folder:
        url = f"sqlite:///{Path(folder) / 'caremap.sqlite'}"
        store = open_store(url)
        try:
            service = load_public_data(store, Path(folder))
        finally:
            store.dispose()
        app = create_app(
            {
                "SECRET_KEY": "screenshots",
                "DATABASE_URL": url,
                "TILES_URL": "",
                "BULK_UPLOAD_DIR": Path(folder) / "uploads",
                "SESSION_COOKIE_SECURE": False,
            }
        )
        with serving(app) as server_url, sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True
            )
            for shot in SHOTS:
                take(chromium, server_url, service, shot)
            chromium.close()
        app.extensions["caremap_store"].dispose()


if __name__ == "__main__":
    main()
