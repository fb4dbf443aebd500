"""The signed-in pages (editors, moderators, admins) in French: no English interface text."""

from __future__ import annotations

import re

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from tests.support.world import World
from tests.test_accounts import client_of
from tests.test_web import TRANSLATIONS, english_interface_strings, visible_text


def french_catalog() -> Catalog:
    with (TRANSLATIONS / "messages.po").open("rb") as handle:
        return read_po(handle)


def pages(world: World) -> dict[str, list[str]]:
    """Who sees which pages."""
    return {
        "editor_a": [
            "/edit/",
            "/account/",
            f"/edit/services/{world.service_a}",
            f"/edit/organizations/{world.org_a}",
            f"/edit/locations/{world.location_a}",
            f"/bulk/organizations/{world.org_a}/",
            f"/services/{world.service_a}",
        ],
        "moderator": ["/moderation/", "/moderation/stale"],
        "admin": [
            "/admin/",
            f"/admin/users/{world.users['editor_a']}",
            "/admin/organizations",
            f"/admin/organizations/{world.org_a}",
        ],
    }


def test_signed_in_pages_have_no_english_interface_text(make_app, world):
    app = make_app(world.url)
    # "Mon" (Monday) is English and French ("Mon compte"): words French uses too are not leftovers
    french = {w for m in french_catalog() for w in re.findall(r"\w+", str(m.string))}
    english = [s for s in english_interface_strings() if s not in french]
    for who, urls in pages(world).items():
        client = client_of(app, who)
        for url in urls:
            response = client.get(f"{url}{'&' if '?' in url else '?'}lang=fr")
            assert response.status_code == 200, url
            text = visible_text(response.get_data(as_text=True))
            leftovers = [s for s in english if re.search(rf"\b{re.escape(s)}\b", text)]
            assert leftovers == [], url
