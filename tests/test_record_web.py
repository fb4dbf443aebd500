"""Editing organizations and locations through the web, on both stores: the forms, the
geocoder, the moderation queue and history, and who may see a confidential location's exact
point (its organization's editors, moderators and admins; nobody else, by any route)."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from caremap import changes, history
from caremap.gazetteer import load_gazetteer
from caremap.model import Location, Organization
from tests.conftest import DATA_DIR
from tests.support.world import World
from tests.test_accounts import client_of, location_form, page_token

# service_b's confidential location (Kenora), exactly: what nobody else may learn.
SECRETS_B = ("49.7712", "-94.4771", "12 Imaginary Road")
# Inside Kenora, 300 m from the exact point: where a moderator moves it.
MOVED_B = {"latitude": "49.7698", "longitude": "-94.4801"}


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, url: str, data: dict):
    return client.post(url, data={**data, "csrf_token": page_token(client)})


def post_location(client, world: World, location_id: str, **changed: str):
    data = {k: v.format(who="me") for k, v in location_form(world, location_id).items()}
    return post(client, f"/edit/locations/{location_id}", data | changed)


def pending(world: World) -> list:
    with world.store.session() as session:
        return [
            (c.id, c.record_type, {x.field_name: x.new_value for x in c.changes})
            for c in changes.pending_change_sets(session)
        ]


def approve(client, change_set_id: int):
    return post(client, f"/moderation/changes/{change_set_id}/approve", {"comment": ""})


def test_the_organization_page_edits_lists_and_reverts(make_app, world):
    app = make_app(world.url)
    editor, moderator = client_of(app, "editor_a"), client_of(app, "moderator")
    assert "Edit the organization and its locations" in text(
        editor.get(f"/services/{world.service_a}")
    )
    page = text(editor.get(f"/edit/organizations/{world.org_a}"))
    assert 'value="Test Org"' in page
    assert f'href="/edit/services/{world.service_a}"' in page
    assert f'href="/edit/locations/{world.location_a}"' in page
    bad = post(editor, f"/edit/organizations/{world.org_a}", {"name": "X", "website": "ftp:x"})
    assert bad.status_code == 400 and "Enter a web address starting with https://." in text(bad)
    response = post(editor, f"/edit/organizations/{world.org_a}", {"name": "Test Org Renamed"})
    assert response.status_code == 303
    assert "sent to a moderator" in text(editor.get(response.headers["Location"]))
    queue = text(moderator.get("/moderation/"))
    assert "Organization: " in queue and "Test Org Renamed" in queue
    [(change_set_id, kind, _)] = pending(world)
    assert kind == "organization"
    assert "Approved and published." in text(
        moderator.get(approve(moderator, change_set_id).headers["Location"])
    )
    assert "Test Org Renamed" in text(app.test_client().get(f"/services/{world.service_a}"))
    page = text(editor.get(f"/edit/organizations/{world.org_a}"))
    assert "editor_a@example.org" in page and "Test Org Renamed" in page
    with world.store.session() as session:
        [entry] = history.of_record(session, "organization", world.org_a)
    response = post(editor, f"/edit/history/{entry.id}/revert", {"confirm": "yes"})
    assert response.headers["Location"] == f"/edit/organizations/{world.org_a}"
    [(revert_id, _, _)] = pending(world)
    approve(moderator, revert_id)
    with world.store.session() as session:
        assert session.get(Organization, world.org_a).name == "Test Org"


def test_without_javascript_the_address_is_geocoded_on_submit(make_app, world):
    app = make_app(world.url)
    editor, moderator = client_of(app, "editor_a"), client_of(app, "moderator")
    code = load_gazetteer(DATA_DIR).postal_code("M5H 2N2")
    found = post_location(editor, world, world.location_a, postal_code="M5H 2N2", find="1")
    assert found.status_code == 200 and f'value="{code.latitude!r}"' in text(found)
    assert pending(world) == []
    response = post_location(editor, world, world.location_a, postal_code="m5h 2n2")
    assert response.status_code == 303
    [(change_set_id, kind, fields)] = pending(world)
    assert kind == "location" and '"precision": "postal_code"' in fields["point"]
    queue = text(moderator.get("/moderation/"))
    assert "Location: " in queue and "Point on the map" in queue and "at the postal code" in queue
    approve(moderator, change_set_id)
    with world.store.session() as session:
        location = session.get(Location, world.location_a)
        assert (location.latitude, location.longitude) == (code.latitude, code.longitude)
        assert location.geocode_precision == "postal_code"
    listed = app.test_client().get("/api/v1/services?limit=100").json["features"]
    [feature] = [f for f in listed if f["properties"]["id"] == world.service_a]
    assert feature["geometry"]["coordinates"] == [code.longitude, code.latitude]


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"latitude": "47.6", "longitude": "-122.3"}, "This point is outside Canada."),
        ({"latitude": "45.5017", "longitude": "-73.5673"}, "is in Quebec, not in Ontario."),
        ({"latitude": "north"}, "Place the point on the map."),
        ({"postal_code": "12345"}, "Enter a Canadian postal code"),
        ({"city": " "}, "Enter the city or town."),
        ({"city": "Nowhere At All", "postal_code": ""}, "This address was not found"),
    ],
)
def test_impossible_points_are_refused_next_to_the_form(make_app, world, changed, message):
    editor = client_of(make_app(world.url), "editor_a")
    response = post_location(editor, world, world.location_a, **changed)
    assert response.status_code == 400
    assert message in text(response)
    assert pending(world) == []


def test_a_moved_marker_is_manual_whatever_the_form_claims(make_app, world):
    editor = client_of(make_app(world.url), "editor_a")
    moved = {"latitude": "43.6532", "longitude": "-79.3832", "precision": "postal_code"}
    assert post_location(editor, world, world.location_a, **moved).status_code == 303
    [(_, _, fields)] = pending(world)
    assert '"precision": "manual"' in fields["point"] and '"latitude": 43.6532' in fields["point"]


def test_the_geocoder_is_for_signed_in_people_and_answers_from_the_gazetteer(make_app, world):
    app = make_app(world.url)
    anonymous = app.test_client().get(
        "/edit/geocode?q=Kenora ON", headers={"Accept": "application/json"}
    )
    assert anonymous.status_code == 401
    editor = client_of(app, "editor_a")
    found = editor.get("/edit/geocode?q=12 Imaginary Road, Kenora ON").json
    assert (found["latitude"], found["longitude"], found["precision"]) == (
        49.76741,
        -94.48985,
        "place",
    )
    assert editor.get("/edit/geocode?q=Nowhere At All").status_code == 404
    outside = editor.get("/edit/geocode?q=47.6, -122.3")
    assert outside.status_code == 400 and outside.json["message"] == "This point is outside Canada."
    assert editor.get("/edit/geocode?q=49.7, -94.4").json["precision"] == "manual"


def test_only_its_organization_moderators_and_admins_see_a_confidential_point(make_app, world):
    app = make_app(world.url)
    own, other, moderator = (
        client_of(app, "editor_b"), client_of(app, "editor_a"), client_of(app, "moderator")
    )  # fmt: skip
    assert "49.77123" in text(own.get(f"/edit/locations/{world.location_b}"))
    assert "49.77123" in text(moderator.get(f"/edit/locations/{world.location_b}"))
    # The organization's own editor proposes a move: the moderation queue shows both points.
    assert post_location(own, world, world.location_b, **MOVED_B).status_code == 303
    queue = text(moderator.get("/moderation/"))
    assert "49.771230" in queue and "49.769800" in queue
    [(change_set_id, _, _)] = pending(world)
    approve(moderator, change_set_id)
    with world.store.session() as session:
        entries = history.of_record(session, "location", world.location_b)
        entry = next(e for e in entries if e.field_name == "point")
    assert "49.769800" in text(own.get(f"/edit/locations/{world.location_b}"))

    secrets = (*SECRETS_B, "49.7698", "-94.4801")
    attempts = [
        other.get(f"/edit/locations/{world.location_b}"),
        post_location(other, world, world.location_b, latitude="49.7"),
        other.get(f"/edit/organizations/{world.org_b}"),
        other.get(f"/services/{world.service_b}"),
        post(other, f"/edit/history/{entry.id}/revert", {}),
        other.get(f"/edit/history/{entry.id}/revert"),  # the confirmation shows the values
        other.get("/moderation/"),
        other.get("/edit/geocode?q=12 Imaginary Road, Kenora ON"),
        other.get(f"/edit/locations/{world.location_b}?lang=fr"),
        other.get("/edit/locations/no-such-location"),
    ]
    statuses = [r.status_code for r in attempts]
    assert statuses == [403, 403, 403, 200, 403, 403, 403, 200, 403, 404]
    public = app.test_client()
    attempts += [
        public.get(f"/services/{world.service_b}"),
        public.get("/api/v1/services?limit=100"),
        public.get(f"/edit/locations/{world.location_b}"),
    ]
    for response in attempts:
        leaked = [s for s in secrets if s in text(response)]
        assert not leaked, (response.request.path, leaked)
    with world.store.session() as session:
        location = session.get(Location, world.location_b)
        assert (location.private_latitude, location.private_longitude) == (49.7698, -94.4801)


def test_switching_confidential_on_hides_the_exact_point_from_the_public(make_app, world):
    app = make_app(world.url)
    admin, public = client_of(app, "admin"), app.test_client()
    assert "43.6601" in text(public.get("/api/v1/services?limit=100"))
    response = post_location(admin, world, world.location_a, confidential="y")
    assert "Your changes are published." in text(admin.get(response.headers["Location"]))
    with world.store.session() as session:
        location = session.scalars(select(Location).where(Location.id == world.location_a)).one()
        assert location.confidential and location.public_point_rule == "fsa"
    for url in (
        f"/services/{world.service_a}",
        "/api/v1/services?limit=100",
        f"/api/v1/services/{world.service_a}",
        "/?near=M5A+2N2",
    ):
        body = text(public.get(url))
        assert not [s for s in ("43.6601", "-79.3745", "10 Test St") if s in body], url
    assert "43.6601" in text(admin.get(f"/edit/locations/{world.location_a}"))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_pages_render_in_both_languages(make_app, world, lang):
    app = make_app(world.url)
    editor, moderator = client_of(app, "editor_b"), client_of(app, "moderator")
    assert post_location(editor, world, world.location_b, **MOVED_B).status_code == 303
    for client, url in (
        (editor, f"/edit/locations/{world.location_b}"),
        (editor, f"/edit/organizations/{world.org_b}"),
        (moderator, "/moderation/"),
    ):
        response = client.get(f"{url}?lang={lang}")
        assert response.status_code == 200, url
        assert f'<html lang="{lang}">' in text(response)


def test_a_location_that_cannot_be_placed_is_refused_at_approval(make_app, world):
    import datetime as dt

    from caremap import accounts

    app = make_app(world.url)
    with world.store.session() as session, session.begin():
        editor = accounts.principal_of(session, world.users["editor_a"])
        proposed = changes.propose_record(
            session,
            editor,
            "location",
            world.location_a,
            {"province": "QC"},
            dt.datetime.now(dt.UTC),
        )
    moderator = client_of(app, "moderator")
    response = approve(moderator, proposed.id)
    assert response.status_code == 400
    assert "the point is in ON, but the address says QC" in text(response)
    moderator.get("/?lang=fr")
    in_french = html.unescape(text(approve(moderator, proposed.id)))
    assert "le point est en ON, mais l’adresse indique QC" in in_french
    assert [c for c, _, _ in pending(world)] == [proposed.id]


REFUSED_STREET = {
    "en": "it contains the street address of a confidential location ({found}), which may "
    "not be published",
    "fr": "le texte contient l’adresse d’un lieu confidentiel ({found}), qui ne peut pas être "
    "publiée",
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_confidential_locations_street_in_a_name_is_refused_next_to_the_form(
    make_app, world, lang
):
    """Kenora's confidential shelter is at 12 Imaginary Road: neither its service nor its
    location may be named after it; the editor is told why, in the page's language."""
    editor = client_of(make_app(world.url), "editor_b")
    editor.get(f"/?lang={lang}")
    service = post(
        editor,
        f"/edit/services/{world.service_b}",
        {"name": "Transition House B, 12 Imaginary Road", "service_type": "vaw_shelter"},
    )
    location = post_location(editor, world, world.location_b, name="Imaginary Rd. house")
    for response, found in ((service, "'12 Imaginary Road'"), (location, "'Imaginary Rd.'")):
        assert response.status_code == 400
        assert REFUSED_STREET[lang].format(found=found) in html.unescape(text(response))
    assert pending(world) == []
