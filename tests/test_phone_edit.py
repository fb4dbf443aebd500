"""Editing phone numbers on the service, organization and location forms, on both stores:
validated and normalised as the ETL does, moderated, in history, revertable, republished (a
confidential listing's phone is its public intake line)."""

from __future__ import annotations

import html
import re

import pytest
from markupsafe import escape

from caremap import changes, history
from caremap.fields import ChangeError
from tests.support.world import World
from tests.test_accounts import client_of, location_form, page_token
from tests.test_changes import NOW, rerun_with, who
from tests.test_moderation_web import form_data

NEW_NUMBER = "(416) 555-0199"


def text(response) -> str:
    return response.get_data(as_text=True)


def cells(response) -> str:
    """The page's text with each element's boundary as one "|": "Phone numbers|416-…|…"."""
    bare = re.sub(r"\s*(<[^>]+>\s*)+", "|", text(response))
    return html.unescape(re.sub(r"\s+", " ", bare))


def phone_fields(*phones: dict[str, str]) -> dict[str, str]:
    """The phone rows a form posts: each ``{"type", "number", "extension", "description",
    "remove"}`` (missing: empty), then an empty row, as a browser posts it."""
    fields: dict[str, str] = {}
    for i, phone in enumerate([*phones, {}]):
        fields |= {
            f"phones-{i}-{name}": phone.get(name, "voice" if name == "type" else "")
            for name in ("type", "number", "extension", "description")
        }
        if phone.get("remove"):
            fields[f"phones-{i}-remove"] = "y"
    return fields


def post(client, url: str, data: dict):
    return client.post(url, data={**data, "csrf_token": page_token(client)})


def phones_of(world: World, record_type: str, record_id: str) -> list[dict]:
    with world.store.session() as session:
        return changes.record_values(session, record_type, record_id)["phones"]


def approve_all(world: World, moderator) -> None:
    with world.store.session() as session:
        pending = [c.id for c in changes.pending_change_sets(session)]
    for change_set_id in pending:
        response = post(moderator, f"/moderation/changes/{change_set_id}/approve", {})
        assert response.status_code == 303


def test_the_service_form_lists_each_phone_with_labelled_inputs(make_app, world):
    editor = client_of(make_app(world.url), "editor_a")
    page = text(editor.get(f"/edit/services/{world.service_a}"))
    assert "<legend>Phone numbers</legend>" in page
    assert 'value="416-555-0120"' in page
    for name in ("type", "number", "extension", "description", "remove"):
        assert f'<label for="phones-0-{name}">' in page and f'id="phones-0-{name}"' in page
    assert 'id="phones-2-number"' in page  # two empty rows to add numbers
    assert 'id="phones-3-number"' not in page
    as_shown = form_data(world, world.service_a) | phone_fields({"number": "416-555-0120"})
    response = post(editor, f"/edit/services/{world.service_a}", as_shown)
    assert "Nothing changed." in text(editor.get(response.headers["Location"]))


def test_a_service_phone_edit_is_moderated_recorded_republished_and_reverted(make_app, world):
    app = make_app(world.url)
    editor, moderator, public = (
        client_of(app, "editor_a"), client_of(app, "moderator"), app.test_client()
    )  # fmt: skip
    assert phones_of(world, "service", world.service_a) == [
        {"type": "voice", "number": "+14165550120", "extension": None, "description": None}
    ]
    edit = form_data(world, world.service_a) | phone_fields(
        {"number": NEW_NUMBER, "extension": " 22 ", "description": " Intake "}
    )
    response = post(editor, f"/edit/services/{world.service_a}", edit)
    assert response.status_code == 303
    assert "sent to a moderator" in text(editor.get(response.headers["Location"]))
    detail = f"/services/{world.service_a}"
    assert "416-555-0120" in text(public.get(detail))
    queue = cells(moderator.get("/moderation/"))
    assert "|Phone numbers|416-555-0120|416-555-0199 ext. 22 — Intake|" in queue
    approve_all(world, moderator)

    assert phones_of(world, "service", world.service_a) == [
        {"type": "voice", "number": "+14165550199", "extension": "22", "description": "Intake"}
    ]
    page = text(public.get(detail))
    assert 'href="tel:+14165550199">416-555-0199</a>' in page and "416-555-0120" not in page
    api = public.get(f"/api/v1/services/{world.service_a}").json
    assert api["properties"]["phones"] == [
        {
            "number": "+14165550199",
            "display": "416-555-0199",
            "extension": "22",
            "description": "Intake",
        }
    ]
    assert "|Change: Phone numbers|416-555-0120|416-555-0199 ext. 22 — Intake|" in cells(
        editor.get(detail)
    )
    with world.store.session() as session:
        [entry] = [e for e in history.of_service(session, world.service_a)
                   if e.field_name == "phones"]  # fmt: skip
    response = post(editor, f"/edit/history/{entry.id}/revert", {"confirm": "yes"})
    assert response.status_code == 303
    approve_all(world, moderator)
    assert phones_of(world, "service", world.service_a) == [
        {"type": "voice", "number": "+14165550120", "extension": None, "description": None}
    ]
    assert "416-555-0120" in text(public.get(detail))


def test_phones_are_added_and_removed_on_the_organization_form(make_app, world):
    admin = client_of(make_app(world.url), "admin")
    url = f"/edit/organizations/{world.org_a}"
    assert phones_of(world, "organization", world.org_a) == []
    fax = {"type": "fax", "number": "+1 613 555 0101", "description": "Office"}
    added = post(admin, url, {"name": "Test Org"} | phone_fields(fax, {"number": "4165550102"}))
    assert added.status_code == 303
    assert phones_of(world, "organization", world.org_a) == [
        {"type": "fax", "number": "+16135550101", "extension": None, "description": "Office"},
        {"type": "voice", "number": "+14165550102", "extension": None, "description": None},
    ]
    assert "Phone numbers|—|613-555-0101 (Fax) — Office; 416-555-0102|" in cells(admin.get(url))
    removed = post(
        admin,
        url,
        {"name": "Test Org"} | phone_fields({**fax, "remove": "y"}, {"number": "4165550102"}),
    )
    assert removed.status_code == 303
    assert [p["number"] for p in phones_of(world, "organization", world.org_a)] == ["+14165550102"]


def test_phones_are_added_and_removed_on_the_location_form(make_app, world):
    admin = client_of(make_app(world.url), "admin")
    url = f"/edit/locations/{world.location_a}"
    data = {k: v.format(who="admin") for k, v in location_form(world, world.location_a).items()}
    tty = {"type": "textphone", "number": "1-800-555-0103", "extension": "7"}
    assert post(admin, url, data | phone_fields(tty)).status_code == 303
    assert phones_of(world, "location", world.location_a) == [
        {"type": "textphone", "number": "+18005550103", "extension": "7", "description": None}
    ]
    assert 'value="800-555-0103"' in text(admin.get(url))
    assert post(admin, url, data | phone_fields({**tty, "remove": "y"})).status_code == 303
    assert phones_of(world, "location", world.location_a) == []


@pytest.mark.parametrize(
    ("lang", "phone", "message"),
    [
        ("en", {"number": "12345"}, "Enter one phone number, like 416-555-0100"),
        ("en", {"number": "416-555-01"}, "Enter one phone number, like 416-555-0100"),
        ("en", {"number": "416-555-0100; 416-555-0101"}, "Enter one phone number"),
        ("fr", {"number": "12345"}, "Entrez un seul numéro de téléphone, comme 416-555-0100"),
        ("en", {"number": "4165550100", "extension": "12<b>"}, "digits only"),
        ("fr", {"number": "4165550100", "extension": "=1+1"}, "en chiffres seulement"),
        ("en", {"number": "", "description": "Intake"}, "Enter the phone number, or tick Remove."),
        ("en", {"number": "4165550100", "type": "telegraph"}, "Not a valid choice"),
    ],
)
def test_an_invalid_phone_is_refused_next_to_the_form_and_nothing_is_saved(
    make_app, world, lang, phone, message
):
    admin = client_of(make_app(world.url), "admin")
    pages = {
        f"/edit/services/{world.service_a}": form_data(world, world.service_a),
        f"/edit/organizations/{world.org_a}": {"name": "Test Org"},
    }
    for url, data in pages.items():
        response = post(admin, f"{url}?lang={lang}", data | phone_fields(phone))
        assert response.status_code == 400, url
        assert html.escape(message) in text(response), url
    assert [p["number"] for p in phones_of(world, "service", world.service_a)] == ["+14165550120"]
    assert phones_of(world, "organization", world.org_a) == []


def test_a_confidential_listing_shows_its_new_intake_line_and_nothing_else(make_app, world):
    app = make_app(world.url)
    moderator, public = client_of(app, "moderator"), app.test_client()
    detail = f"/services/{world.service_b}"
    before = text(public.get(detail))
    assert "807-555-0123" in before
    edit = form_data(world, world.service_b) | phone_fields(
        {"number": "1-807-555-0177", "description": "Crisis line"}
    )
    assert post(moderator, f"/edit/services/{world.service_b}", edit).status_code == 303
    after = text(public.get(detail))
    assert 'href="tel:+18075550177">807-555-0177</a>' in after and "807-555-0123" not in after
    changed = set(after.splitlines()) ^ set(before.splitlines())
    # Lines that differ on every render (folium ids, the script nonce) are left out.
    assert {
        line.strip()
        for line in changed
        if "Last verified" not in line and not PER_RENDER.search(line)
    } == {
        '<li>Crisis line: <a href="tel:+18075550123">807-555-0123</a></li>',
        '<li>Crisis line: <a href="tel:+18075550177">807-555-0177</a></li>',
    }
    api = public.get(f"/api/v1/services/{world.service_b}").json["properties"]
    assert [p["number"] for p in api["phones"]] == ["+18075550177"]
    assert "Imaginary" not in str(api) and "49.7712" not in str(api)


# Folium's element ids and the script nonce are new on every render.
PER_RENDER = re.compile(r'_[0-9a-f]{32}\b|<script nonce="[^"]+">')


def test_hostile_text_in_a_phone_is_stored_as_text_and_shown_escaped(make_app, world):
    app = make_app(world.url)
    moderator, public = client_of(app, "moderator"), app.test_client()
    hostile = '<script>alert(1)</script> {{ 7*7 }} =HYPERLINK("x")'
    edit = form_data(world, world.service_a) | phone_fields(
        {"number": "416-555-0100", "description": hostile}
    )
    assert post(moderator, f"/edit/services/{world.service_a}", edit).status_code == 303
    [phone] = phones_of(world, "service", world.service_a)
    assert phone["description"] == hostile
    for page in (
        public.get(f"/services/{world.service_a}"),
        moderator.get(f"/services/{world.service_a}"),
    ):
        body = text(page)
        assert "<script>alert(1)" not in body and str(escape(hostile)) in body
    nul = form_data(world, world.service_a) | phone_fields(
        {"number": "416-555-0100", "description": "Intake\x00"}
    )
    response = post(moderator, f"/edit/services/{world.service_a}", nul)
    assert response.status_code == 400 and "not allowed" in text(response)
    assert phones_of(world, "service", world.service_a) == [phone]


def test_a_confidential_locations_own_phone_is_never_published(make_app, world):
    app = make_app(world.url)
    admin, public = client_of(app, "admin"), app.test_client()
    for location_id, number in (
        (world.location_b, "807-555-0188"),
        (world.location_a, "416-555-0189"),
    ):
        data = location_form(world, location_id)
        url = f"/edit/locations/{location_id}"
        assert post(admin, url, data | phone_fields({"number": number})).status_code == 303
    assert phones_of(world, "location", world.location_b)[0]["number"] == "+18075550188"
    pages = [
        "/hsds/services",
        f"/hsds/services/{world.service_b}",
        "/hsds/service_at_locations",
        f"/hsds/organizations/{world.org_b}",
        f"/api/v1/services/{world.service_b}",
        f"/services/{world.service_b}",
    ]
    for page in pages:
        body = text(public.get(page))
        assert "0188" not in body, page
    assert "+14165550189" in text(public.get(f"/hsds/services/{world.service_a}"))
    notes = {
        "en": "its numbers are never published",
        "fr": "ses numéros ne sont jamais publiés",
    }
    for lang, note in notes.items():
        assert note in text(admin.get(f"/edit/locations/{world.location_b}?lang={lang}"))
        assert note not in text(admin.get(f"/edit/locations/{world.location_a}?lang={lang}"))


def test_an_edited_phone_is_kept_over_a_later_load_of_the_open_data_source(world, tmp_path):
    edited = [{"type": "voice", "number": "416 555 0199", "extension": "", "description": "Intake"}]
    with world.store.session() as session, session.begin():
        changes.propose(
            session, who(session, world, "admin"), world.service_a, {"phones": edited}, NOW
        )
    same = rerun_with(world, tmp_path, "same")
    assert same.counts.edits_over_source == ()
    assert [p["number"] for p in phones_of(world, "service", world.service_a)] == ["+14165550199"]
    changed = rerun_with(world, tmp_path, "changed", ("416-555-0120", "416-555-0177"))
    assert changed.counts.edits_over_source == (f"{world.service_a}: phones",)
    assert phones_of(world, "service", world.service_a) == [
        {"type": "voice", "number": "+14165550199", "extension": None, "description": "Intake"}
    ]


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ({"number": "12345"}, "no valid phone number in '12345'"),
        (
            {"number": "416-555-0100", "extension": "2; DROP"},
            "the extension '2; DROP' is not digits",
        ),
        ({"number": "416-555-0100", "type": "<b>"}, "'<b>' is not a phone type"),
    ],
)
def test_a_bad_phone_is_refused_by_the_store_too(world, phone, reason):
    with world.store.session() as session, session.begin():
        admin = who(session, world, "admin")
        with pytest.raises(ChangeError, match=re.escape(reason)):
            changes.propose(session, admin, world.service_a, {"phones": [phone]}, NOW)
    assert [p["number"] for p in phones_of(world, "service", world.service_a)] == ["+14165550120"]


def test_a_phone_description_may_not_name_a_confidential_street(make_app, world):
    moderator = client_of(make_app(world.url), "moderator")
    edit = form_data(world, world.service_b) | phone_fields(
        {"number": "1-807-555-0123", "description": "Crisis line, 12 Imaginary Road"}
    )
    response = post(moderator, f"/edit/services/{world.service_b}", edit)
    assert response.status_code == 400
    assert "street address of a confidential location" in text(response)
    assert phones_of(world, "service", world.service_b)[0]["description"] == "Crisis line"
