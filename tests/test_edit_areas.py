"""An NGO's service that serves an area (a help line) through the editor, on both stores: the
"Area served" choice (Canada, or provinces and territories, EN/FR labels), moderated like any
other field, and hostile values refused."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from caremap import accounts, changes
from caremap.fields import ChangeError
from caremap.model import ServiceArea
from tests.test_accounts import client_of, page_token
from tests.test_moderation_web import NOW, _pending, form_data, post_edit, text


def areas_of(world, service_id: str) -> list[tuple[str | None, str]]:
    with world.store.session() as session:
        rows = session.scalars(select(ServiceArea).where(ServiceArea.service_id == service_id))
        return sorted(((row.pruid, row.name) for row in rows), key=str)


def test_an_editor_sets_the_area_served_and_a_moderator_publishes_it(make_app, world):
    app = make_app(world.url)
    editor, moderator = client_of(app, "editor_a"), client_of(app, "moderator")
    page = text(editor.get(f"/edit/services/{world.service_a}"))
    assert "Area served" in page and 'value="NU"' in page and ">Canada<" in page
    french = html.unescape(text(editor.get(f"/edit/services/{world.service_a}?lang=fr")))
    assert "Territoire desservi" in french and "Terre-Neuve-et-Labrador" in french
    editor.get("/?lang=en")
    edit = form_data(world, world.service_a, service_areas=["NU", "CA"])
    assert post_edit(editor, world.service_a, edit).status_code == 303
    assert areas_of(world, world.service_a) == []  # waits for a moderator
    [pending] = [c.id for c in _pending(world)]
    moderator.post(
        f"/moderation/changes/{pending}/approve", data={"csrf_token": page_token(moderator)}
    )
    assert areas_of(world, world.service_a) == [("62", "Nunavut"), (None, "Canada")]
    # The history names the field and the areas, in the page's language.
    history = html.unescape(text(editor.get(f"/services/{world.service_a}?lang=fr")))
    assert "Territoire desservi" in history and "Canada, Nunavut" in history
    editor.get("/?lang=en")
    assert re.search(
        r'<input checked[^>]*value="NU"', text(editor.get(f"/edit/services/{world.service_a}"))
    )
    # Unticking every area takes them away, through the same path.
    admin = client_of(app, "admin")
    post_edit(admin, world.service_a, form_data(world, world.service_a, service_areas=[]))
    assert areas_of(world, world.service_a) == []


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", "{{ 7*7 }}", "=1+1", "62"])
def test_an_area_that_is_no_choice_is_refused(make_app, world, hostile):
    editor = client_of(make_app(world.url), "editor_a")
    edit = form_data(world, world.service_a, service_areas=[hostile])
    response = post_edit(editor, world.service_a, edit)
    assert response.status_code == 400 and "is not a valid choice" in text(response)
    assert "<script>alert" not in text(response)
    assert _pending(world) == []
    with world.store.session() as session, pytest.raises(ChangeError) as refused:
        admin = accounts.principal_of(session, world.users["admin"])
        changes.propose(session, admin, world.service_a, {"service_areas": [hostile]}, NOW)
    assert "is not Canada or a province or territory" in str(refused.value)
