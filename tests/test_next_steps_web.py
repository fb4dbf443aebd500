"""Next steps through the editor and on the pages, on both stores: an editor links a service
to a confidential one with a reason in English and French, a moderator publishes it, both
services' pages show it (the confidential one by its intake line only, never its address),
hostile text is escaped, a reason naming a confidential street is refused, and the referral
sheet prints the path near an origin."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from caremap.model import Service, ServiceLink
from tests.test_accounts import client_of, page_token
from tests.test_moderation_web import _pending, form_data, post_edit, text

HOSTILE = "<script>alert(1)</script>{{ 7*7 }}"


def step_fields(service_id: str, description: str, description_fr: str, i: int = 0) -> dict:
    return {
        f"next_steps-{i}-service_id": service_id,
        f"next_steps-{i}-link_type": "refers_to",
        f"next_steps-{i}-description": description,
        f"next_steps-{i}-description_fr": description_fr,
    }


def links_of(world) -> list[tuple[str, str, str | None, str | None]]:
    with world.store.session() as session:
        rows = session.scalars(select(ServiceLink)).all()
        return [(r.from_service_id, r.to_service_id, r.description, r.description_fr) for r in rows]


def test_an_editor_adds_a_next_step_a_moderator_publishes_it_and_both_pages_show_it(
    make_app, world
):
    app = make_app(world.url)
    editor, moderator = client_of(app, "editor_a"), client_of(app, "moderator")
    form = html.unescape(text(editor.get(f"/edit/services/{world.service_a}")))
    assert "Next steps" in form and "Fictional Transition House B (test fixture)" in form
    french_form = html.unescape(text(editor.get(f"/edit/services/{world.service_a}?lang=fr")))
    assert "Prochaines étapes" in french_form and "Oriente les personnes vers" in french_form
    editor.get("/?lang=en")
    edit = form_data(world, world.service_a) | step_fields(
        world.service_b, f"Safe housing {HOSTILE}", "Hébergement sécuritaire"
    )
    assert post_edit(editor, world.service_a, edit).status_code == 303
    assert links_of(world) == []  # waits for a moderator
    [pending] = [c.id for c in _pending(world)]
    moderator.post(
        f"/moderation/changes/{pending}/approve", data={"csrf_token": page_token(moderator)}
    )
    assert links_of(world) == [
        (world.service_a, world.service_b, f"Safe housing {HOSTILE}", "Hébergement sécuritaire")
    ]
    public = app.test_client()
    page = text(public.get(f"/services/{world.service_a}"))
    assert "Next steps from here" in page and "Fictional Transition House B" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "{{ 7*7 }}" in html.unescape(page) and ">49<" not in page
    assert "Location withheld for safety" in page and "807-555-0123" in page
    assert "12 Imaginary Road" not in page
    french = html.unescape(text(public.get(f"/services/{world.service_b}?lang=fr")))
    assert "Souvent orienté depuis" in french and "Hébergement sécuritaire" in french
    # The history names the field and the linked service.
    history = html.unescape(text(editor.get(f"/services/{world.service_a}")))
    assert "Refers people to Fictional Transition House B (test fixture)" in history
    # Ticking Remove takes it away, through the same path.
    admin = client_of(app, "admin")
    removed = form_data(world, world.service_a) | step_fields(world.service_b, "", "")
    removed["next_steps-0-remove"] = "y"
    assert post_edit(admin, world.service_a, removed).status_code == 303
    assert links_of(world) == []


def test_a_reason_naming_the_confidential_street_or_no_service_is_refused(make_app, world):
    app = make_app(world.url)
    admin = client_of(app, "admin")
    street = form_data(world, world.service_a) | step_fields(
        world.service_b, "Go to 12 Imaginary Road", "Allez au 12 Imaginary Road"
    )
    response = post_edit(admin, world.service_a, street)
    assert response.status_code == 400 and "street address of a confidential location" in (
        text(response)
    )
    unknown = form_data(world, world.service_a) | step_fields(HOSTILE, "x", "y")
    response = post_edit(admin, world.service_a, unknown)
    assert response.status_code == 400 and "<script>alert" not in text(response)
    itself = form_data(world, world.service_a) | step_fields(world.service_a, "x", "y")
    assert post_edit(admin, world.service_a, itself).status_code == 400
    assert links_of(world) == []


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_referral_sheet_prints_the_path_near_an_origin(make_app, world, lang):
    app = make_app(world.url)
    admin = client_of(app, "admin")
    edit = form_data(world, world.service_a) | step_fields(
        world.service_b, "Safe housing", "Hébergement sécuritaire"
    )
    assert post_edit(admin, world.service_a, edit).status_code == 303
    public = app.test_client()
    detail = text(public.get(f"/services/{world.service_a}?lang={lang}"))
    assert f'action="/services/{world.service_a}/print"' in detail
    sheet = html.unescape(
        text(public.get(f"/services/{world.service_a}/print?near=Kenora, ON&lang={lang}"))
    )
    with world.store.session() as session:
        name_a = session.get(Service, world.service_a).name
    assert name_a in sheet and "Fictional Transition House B (test fixture)" in sheet
    assert "12 Imaginary Road" not in sheet and "807-555-0123" in sheet
    if lang == "fr":
        assert "Prochaines étapes à partir d’ici" in sheet and "Hébergement sécuritaire" in sheet
    else:
        assert "Next steps from here" in sheet and "Safe housing" in sheet
    bad = public.get(f"/services/{world.service_a}/print?near=Nowhere%20at%20all%20xyz")
    assert bad.status_code == 400
