"""Administrators' organization pages on both stores: search and paging over organizations
with their editors, one organization's editors (attach, detach) and services."""

from __future__ import annotations

import html

from sqlalchemy import select

from caremap import accounts, editors
from caremap.model import Organization, Service
from tests.test_accounts import client_of, page_token


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_organizations_are_listed_with_their_editors(make_app, world):
    admin = client_of(make_app(world.url), "admin")
    with world.store.session() as session:
        names = dict(session.execute(select(Organization.id, Organization.name)).all())
    page = text(admin.get("/admin/organizations"))
    assert all(name in page for name in names.values())
    assert "editor_a@example.org" in page and "target@example.org" in page
    assert 'href="/admin/organizations"' in page  # in the navigation
    found = text(admin.get("/admin/organizations", query_string={"q": "test ORG"}))
    assert names[world.org_a] in found and names[world.org_b] not in found
    assert names[world.org_b] in text(admin.get(f"/admin/organizations?q={world.org_b[:8]}"))
    assert "No organization matches." in text(admin.get("/admin/organizations?q=%25%25"))
    assert admin.get("/admin/organizations?page=7").status_code == 200  # clamped
    assert admin.get("/admin/organizations?q=" + "x" * 201).status_code == 400


def test_search_pages(world):
    with world.store.session() as session:
        total = session.query(Organization).count()
        pages = [editors.search(session, "", n, per_page=1) for n in range(1, total + 1)]
    assert [p.number for p in pages] == list(range(1, total + 1))
    assert len({p.items[0].id for p in pages}) == total and pages[0].pages == total


def test_an_admin_attaches_and_detaches_an_editor(make_app, world):
    admin = client_of(make_app(world.url), "admin")
    url = f"/admin/organizations/{world.org_a}"
    page = text(admin.get(url))
    with world.store.session() as session:
        service_names = session.scalars(
            select(Service.name).where(Service.organization_id == world.org_a)
        ).all()
    assert all(name in page for name in service_names)
    assert "editor_a@example.org" in page and "Add the editor" in page
    target = world.users["target"]
    response = admin.post(
        f"{url}/editors", data={"user": str(target), "csrf_token": page_token(admin)}
    )
    assert response.status_code == 303 and response.headers["Location"] == url
    assert "Editor added." in text(admin.get(url))
    with world.store.session() as session:
        assert world.org_a in accounts.organization_ids_of(session, target)
    response = admin.post(f"{url}/editors/{target}/detach", data={"csrf_token": page_token(admin)})
    assert response.status_code == 303
    assert "Editor removed." in text(admin.get(url))
    with world.store.session() as session:
        assert world.org_a not in accounts.organization_ids_of(session, target)
    bad = admin.post(f"{url}/editors", data={"user": "999999", "csrf_token": page_token(admin)})
    assert bad.status_code == 400 and "Choose an account from the list." in text(bad)
    assert admin.get("/admin/organizations/nope").status_code == 404
    token = page_token(admin)
    assert (
        admin.post("/admin/organizations/nope/editors", data={"csrf_token": token}).status_code
        == 404
    )
    assert admin.post(f"{url}/editors/999999/detach", data={"csrf_token": token}).status_code == 404


def test_an_admin_adds_an_organization_with_its_provenance(make_app, world):
    from caremap.model import Source

    admin = client_of(make_app(world.url), "admin")
    data = {
        "name": "  Maison   Nouvelle ",
        "description": "Hébergement d'urgence.",
        "website": "https://maison.example.ca",
        "email": "info@maison.example.ca",
        "csrf_token": page_token(admin),
    }
    response = admin.post("/admin/organizations", data=data)
    assert response.status_code == 303
    page = text(admin.get(response.headers["Location"]))
    assert "Organization added." in page and "Maison Nouvelle" in page
    with world.store.session() as session:
        created = session.scalars(
            select(Organization).where(Organization.name == "Maison Nouvelle")
        ).one()
        assert created.source_name == editors.ADMIN_SOURCE == "caremap-admin"
        assert created.source_record_id == created.id and created.imported_at is not None
        assert created.website == "https://maison.example.ca"
        assert session.get(Source, "caremap-admin") is not None
    again = admin.post("/admin/organizations", data={**data, "name": "maison nouvelle"})
    assert again.status_code == 409 and "already has this name" in text(again)
    bad = admin.post("/admin/organizations", data={**data, "name": "X", "website": "nope"})
    assert bad.status_code == 400 and "Enter a web address." in text(bad)
    empty = admin.post("/admin/organizations", data={"csrf_token": page_token(admin)})
    assert empty.status_code == 400
