"""The editor's dashboard ("My listings") on both stores: what each role sees, beds and
verification from the dashboard, pending and rejected changes, search, stale filter, paging."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from caremap import accounts, changes
from caremap.capacity import set_available
from caremap.dashboard import Filters, listings
from caremap.model import Organization, Service, ServiceCapacity
from tests.support.world import World
from tests.test_accounts import client_of, page_token


def names(world: World) -> dict[str, str]:
    """Service id → name, organization id → name."""
    with world.store.session() as session:
        services = dict(session.execute(select(Service.id, Service.name)).all())
        organizations = dict(session.execute(select(Organization.id, Organization.name)).all())
    return services | organizations


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def action(page: str, service_id: str, kind: str) -> str:
    """The action of a service's capacity or verify form on the dashboard."""
    pattern = rf'action="(/edit/services/{service_id}/{kind}\?next=[^"]+)"'
    return html.unescape(re.search(pattern, page).group(1))


def test_editors_land_on_the_dashboard_and_see_only_their_organizations(make_app, world):
    app = make_app(world.url)
    known = names(world)
    editor = client_of(app, "editor_a")
    page = text(editor.get("/edit/"))
    assert "My listings" in page and 'href="/edit/"' in page  # in the navigation too
    assert known[world.org_a] in page and known[world.service_a] in page
    assert known[world.org_b] not in page and known[world.service_b] not in page
    assert f"/edit/services/{world.service_b}" not in page
    moderator = text(client_of(app, "moderator").get("/edit/"))
    assert known[world.service_a] in moderator and known[world.service_b] in moderator


def test_beds_update_from_the_dashboard_comes_back_to_it(make_app, world):
    editor = client_of(make_app(world.url), "editor_a")
    page = text(editor.get("/edit/"))
    assert "40 beds" in page and "Never verified" in page
    url = action(page, world.service_a, "capacity")
    data = {"capacity_id": world.capacity_a, "available": "7", "csrf_token": page_token(editor)}
    response = editor.post(url, data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/edit/#service-{world.service_a}"
    after = text(editor.get(response.headers["Location"]))
    assert "Updated: 7 available now." in after
    assert "Last reported: 7 at" in after
    with world.store.session() as session:
        assert session.get(ServiceCapacity, world.capacity_a).available == 7
    foreign = editor.post(
        action(page, world.service_a, "capacity"),
        data={**data, "capacity_id": world.capacity_b},
    )
    assert foreign.status_code == 404


@pytest.mark.parametrize(
    ("lang", "last", "ago", "unchanged", "unknown"),
    [("en", "Last reported: 3 at", "3 days ago", "Nothing changed: enter a number",
      "current availability unknown"),
     ("fr", "Dernier nombre signalé\u00a0: 3 à", "il y a 3 jours",
      "Rien n’a changé\u00a0: indiquez", "disponibilité actuelle inconnue")],
)  # fmt: skip
def test_saving_without_a_new_count_does_not_republish_the_last_one(
    make_app, world, lang, last, ago, unchanged, unknown
):
    reported = dt.datetime(2026, 11, 27, 10, 4, tzinfo=dt.UTC)
    with world.store.session() as session, session.begin():
        set_available(session, world.service_a, world.capacity_a, 3, reported, None)
    app = make_app(world.url, NOW=reported + dt.timedelta(days=3))
    editor = client_of(app, "editor_a")
    dashboard = text(editor.get(f"/edit/?lang={lang}"))
    for page in (dashboard, text(editor.get(f"/services/{world.service_a}?lang={lang}"))):
        assert last in page and ago in page
        assert re.search(r'name="available"', page)
        assert not re.search(r'name="available"[^>]*value="[^"]', page)  # no count offered
    url = action(dashboard, world.service_a, "capacity")
    data = {"capacity_id": world.capacity_a, "available": "", "csrf_token": page_token(editor)}
    response = editor.post(f"{url}&lang={lang}", data=data)
    assert response.status_code == 303
    assert unchanged in text(editor.get(response.headers["Location"]))
    with world.store.session() as session:
        capacity = session.get(ServiceCapacity, world.capacity_a)
        assert (capacity.available, capacity.updated) == (3, reported)
    public = text(app.test_client().get(f"/services/{world.service_a}?lang={lang}"))
    assert unknown in public


def badges(page: str, service_id: str) -> list[str]:
    """The badges of a service's entry on the dashboard."""
    entry = page.split(f'id="service-{service_id}"')[1].split("</article>")[0]
    return re.findall(r'<span class="badge[^"]*">([^<]*)</span>', entry)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_one_verification_badge_never_verified_or_not_lately(make_app, world, lang):
    now = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    with world.store.session() as session, session.begin():
        session.get(Service, world.service_b).last_verified_at = now - dt.timedelta(days=400)
    page = text(client_of(make_app(world.url, NOW=now), "moderator").get(f"/edit/?lang={lang}"))
    never, lately = {
        "en": ("Never verified", "Not verified in 12 months"),
        "fr": ("Jamais vérifiée", "Non vérifiée depuis 12 mois"),
    }[lang]
    assert badges(page, world.service_a) == [never]
    assert badges(page, world.service_b) == [lately]


def test_verify_from_the_dashboard(make_app, world):
    app = make_app(world.url, NOW=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC))
    editor = client_of(app, "editor_a")
    page = text(editor.get("/edit/?q=winter"))
    response = editor.post(
        action(page, world.service_a, "verify"), data={"csrf_token": page_token(editor)}
    )
    assert response.status_code == 303 and response.headers["Location"].startswith("/edit/?q=")
    after = text(editor.get(response.headers["Location"]))
    assert "Thank you: the listing is marked as verified today." in after
    assert "Last verified Mar 2, 2026" in after and "Not verified in" not in after
    stale_only = text(editor.get("/edit/?stale=1"))
    assert f'id="service-{world.service_a}"' not in stale_only
    assert "Never verified" in stale_only  # the organization's other services


def test_pending_and_rejected_changes_show(make_app, world):
    now = dt.datetime.now(dt.UTC)
    with world.store.session() as session, session.begin():
        editor = accounts.principal_of(session, world.users["editor_a"])
        moderator = accounts.principal_of(session, world.users["moderator"])
        changes.propose(session, editor, world.service_a, {"description": "Pending"}, now)
        rejected = changes.propose(session, editor, world.service_a, {"description": "No"}, now)
        changes.reject(session, moderator, rejected.id, "Please give the street address.", now)
    page = text(client_of(make_app(world.url), "editor_a").get("/edit/"))
    assert "1 change awaits a moderator" in page
    assert "Please give the street address." in page


def test_search_and_paging_for_moderators(make_app, world):
    known = names(world)
    app = make_app(world.url)
    moderator = client_of(app, "moderator")
    found = text(moderator.get("/edit/", query_string={"q": known[world.org_b][:12].upper()}))
    assert known[world.org_b] in found and known[world.org_a] not in found
    by_service = text(moderator.get("/edit/", query_string={"q": known[world.service_a]}))
    assert known[world.service_a] in by_service and known[world.service_b] not in by_service
    assert "No listings match." in text(moderator.get("/edit/?q=100%25_nothing"))
    assert moderator.get("/edit/?q=" + "x" * 201).status_code == 400
    with world.store.session() as session:
        principal = accounts.principal_of(session, world.users["moderator"])
        total = session.query(Organization).count()
        now = dt.datetime.now(dt.UTC)
        first = listings(session, principal, now, 12, Filters(), 1, per_page=1)
        last = listings(session, principal, now, 12, Filters(), 99, per_page=1)
    assert (first.total, first.pages, last.number) == (total, total, total)
    assert first.items[0].id != last.items[0].id
    page_two = text(moderator.get("/edit/?page=2"))  # only one page: clamped to it
    assert "Next page" not in page_two and known[world.org_a] in page_two


def test_an_editor_without_organizations_is_told_so(make_app, world):
    with world.store.session() as session, session.begin():
        accounts.detach_organization(session, world.users["editor_a"], world.org_a)
    page = text(client_of(make_app(world.url), "editor_a").get("/edit/"))
    assert "not attached to any organization yet" in page


def test_the_dashboard_in_french(make_app, world):
    page = text(client_of(make_app(world.url), "editor_a").get("/edit/?lang=fr"))
    assert '<html lang="fr">' in page
