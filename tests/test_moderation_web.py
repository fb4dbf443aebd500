"""Editing with moderation through the web, on both stores: the edit form and its messages,
the moderation queue, verify, history on the service page, revert, stale listings."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from werkzeug.exceptions import Unauthorized

from caremap import accounts, changes
from tests.support.world import World
from tests.test_accounts import client_of, page_token
from webmap.editing.service_form import DAYS, hours_of
from webmap.moderation.routes import _decide

NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)


def form_data(world: World, service_id: str, **changed) -> dict:
    """What the edit form posts when nothing is touched, with ``changed`` applied."""
    with world.store.session() as session:
        values = changes.current_values(session, service_id)
    data = {
        n: v if v is not None else "" for n, v in values.items() if n not in ("schedules", "phones")
    }
    for s, (days, valid_from, valid_to) in enumerate(hours_of(values["schedules"]).seasons):
        data |= season_fields(s, days, valid_from, valid_to)
    return data | changed


def season_fields(s: int, days, valid_from: str | None, valid_to: str | None) -> dict:
    """The form fields of season ``s``: per day (opens, closes), and its dates."""
    fields = {f"seasons-{s}-valid_from": valid_from or "", f"seasons-{s}-valid_to": valid_to or ""}
    for i, (opens, closes) in enumerate(days):
        fields[f"seasons-{s}-hours-{i}-opens_at"] = opens or ""
        fields[f"seasons-{s}-hours-{i}-closes_at"] = closes or ""
    return fields


def post_edit(client, service_id: str, data: dict):
    return client.post(
        f"/edit/services/{service_id}", data={**data, "csrf_token": page_token(client)}
    )


def weekdays_nine_to_five() -> dict:
    days = [("09:00", "17:00") if d not in ("SA", "SU") else (None, None) for d in DAYS]
    return season_fields(0, days, None, None)


def text(response) -> str:
    return response.get_data(as_text=True)


def test_an_edit_waits_for_a_moderator_then_shows_with_its_history_and_reverts(make_app, world):
    app = make_app(world.url)
    editor, moderator, public = (
        client_of(app, "editor_a"), client_of(app, "moderator"), app.test_client()
    )  # fmt: skip
    page = text(editor.get(f"/edit/services/{world.service_a}"))
    assert 'value="Winter Respite Centre (test)"' in page and 'value="20:00"' in page
    edit = form_data(world, world.service_a, name="Winter Centre", **weekdays_nine_to_five())
    response = post_edit(editor, world.service_a, edit)
    assert response.status_code == 303
    assert "your changes were sent to a moderator" in text(editor.get(response.headers["Location"]))
    detail = f"/services/{world.service_a}"
    assert "Winter Respite Centre (test)" in text(public.get(detail))

    queue = text(moderator.get("/moderation/"))
    assert "Winter Respite Centre (test)" in queue and "Winter Centre" in queue
    assert "Mon–Fri" in queue and "editor_a@example.org" in queue
    [pending] = [c.id for c in _pending(world)]
    response = moderator.post(
        f"/moderation/changes/{pending}/approve",
        data={"comment": "", "csrf_token": page_token(moderator)},
    )
    assert response.status_code == 303
    assert "Approved and published." in text(moderator.get(response.headers["Location"]))

    shown = text(public.get(detail))
    assert "<h1>Winter Centre</h1>" in shown and "Mon–Fri" in shown
    assert "History" not in shown and "Revert" not in shown
    assert "History" not in text(client_of(app, "editor_b").get(detail))
    mine = text(editor.get(detail))
    assert "Nothing changed — verify" in mine and "Winter Respite Centre (test)" in mine
    name_entry = _entry(world, world.service_a, "name")
    response = editor.post(
        f"/edit/history/{name_entry}/revert",
        data={"csrf_token": page_token(editor), "confirm": "yes"},
    )
    assert "The revert was sent to a moderator." in text(editor.get(response.headers["Location"]))
    [revert] = [c.id for c in _pending(world)]
    moderator.post(
        f"/moderation/changes/{revert}/approve", data={"csrf_token": page_token(moderator)}
    )
    assert "<h1>Winter Respite Centre (test)</h1>" in text(public.get(detail))


def _pending(world: World):
    with world.store.session() as session:
        return changes.pending_change_sets(session)


@pytest.mark.parametrize(
    ("lang", "asked", "confirm"),
    [("en", "Revert this change?", "Confirm the revert"),
     ("fr", "Annuler ce changement\u00a0?", "Confirmer l’annulation")],
)  # fmt: skip
def test_a_revert_asks_first_and_only_a_confirmed_one_reverts(
    make_app, world, lang, asked, confirm
):
    admin = client_of(make_app(world.url), "admin")
    post_edit(admin, world.service_a, form_data(world, world.service_a, name="Winter Centre"))
    revert = f"/edit/history/{_entry(world, world.service_a, 'name')}/revert"
    history_page = text(admin.get(f"/services/{world.service_a}?lang={lang}"))
    assert f'action="{revert}" method="get"' in history_page
    page = admin.get(f"{revert}?lang={lang}")
    shown = text(page)
    assert page.status_code == 200 and asked in shown and confirm in shown
    assert "Winter Centre" in shown and "Winter Respite Centre (test)" in shown
    assert f'href="/services/{world.service_a}"' in shown  # cancel: back to the listing
    unconfirmed = admin.post(f"{revert}?lang={lang}", data={"csrf_token": page_token(admin)})
    assert unconfirmed.status_code == 303 and unconfirmed.headers["Location"].startswith(revert)
    with world.store.session() as session:
        assert changes.current_values(session, world.service_a)["name"] == "Winter Centre"
    confirmed = admin.post(revert, data={"csrf_token": page_token(admin), "confirm": "yes"})
    assert confirmed.status_code == 303
    with world.store.session() as session:
        values = changes.current_values(session, world.service_a)
        assert values["name"] == "Winter Respite Centre (test)"


def _entry(world: World, service_id: str, field: str) -> int:
    from caremap import history

    with world.store.session() as session:
        return next(e.id for e in history.of_service(session, service_id) if e.field_name == field)


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"name": " "}, "Enter the service"),
        ({"seasons-0-hours-0-opens_at": "09:00", "seasons-0-hours-0-closes_at": ""}, "Enter both"),
        ({"seasons-0-valid_from": "2027-05-01", "seasons-0-valid_to": "2027-04-01"}, "before its"),
        ({"seasons-0-hours-2-opens_at": "25:00"}, "Not a valid time value"),
        ({"population": "cats"}, "is not a valid choice"),
    ],
)
def test_invalid_edits_are_refused_next_to_the_field(make_app, world, changed, message):
    editor = client_of(make_app(world.url), "editor_a")
    response = post_edit(editor, world.service_a, form_data(world, world.service_a, **changed))
    assert response.status_code == 400
    assert message in text(response)
    assert _pending(world) == []


def test_an_unchanged_form_changes_nothing_and_a_moderators_edit_publishes(make_app, world):
    app = make_app(world.url)
    editor = client_of(app, "editor_b")
    response = post_edit(editor, world.service_b, form_data(world, world.service_b))
    assert "Nothing changed." in text(editor.get(response.headers["Location"]))
    admin = client_of(app, "admin")
    edit = form_data(world, world.service_b, languages=["fr", "oj"], description="Safe house.")
    response = post_edit(admin, world.service_b, edit)
    assert "Your changes are published." in text(admin.get(response.headers["Location"]))
    assert "Safe house." in text(app.test_client().get(f"/services/{world.service_b}"))


def test_reject_needs_a_comment_and_conflicts_are_refused(make_app, world):
    app = make_app(world.url)
    editor, moderator = client_of(app, "editor_a"), client_of(app, "moderator")
    for name in ("First", "Second", "Third"):
        post_edit(editor, world.service_a, form_data(world, world.service_a, name=name))
    first, second, third = (c.id for c in _pending(world))
    token = page_token(moderator)
    no_reason = moderator.post(f"/moderation/changes/{third}/reject", data={"csrf_token": token})
    assert no_reason.status_code == 400 and "Say why the change is rejected" in text(no_reason)
    rejected = moderator.post(
        f"/moderation/changes/{third}/reject", data={"comment": "Typo.", "csrf_token": token}
    )
    assert "Rejected." in text(moderator.get(rejected.headers["Location"]))
    assert "Typo." in text(editor.get(f"/services/{world.service_a}"))
    moderator.post(f"/moderation/changes/{first}/approve", data={"csrf_token": token})
    conflict = moderator.post(f"/moderation/changes/{second}/approve", data={"csrf_token": token})
    assert conflict.status_code == 409
    assert "Name changed since it was proposed" in text(conflict)
    again = moderator.post(f"/moderation/changes/{first}/approve", data={"csrf_token": token})
    assert again.status_code == 409 and "This change was already decided." in text(again)
    french = moderator.post(
        f"/moderation/changes/{third}/reject?lang=fr", data={"comment": "Non.", "csrf_token": token}
    )
    assert french.status_code == 409 and "Ce changement a déjà été traité." in text(french)
    gone = moderator.post("/moderation/changes/999999/approve", data={"csrf_token": token})
    assert gone.status_code == 404


def test_a_decision_without_anyone_signed_in_is_refused_401(make_app, world):
    """Deciding needs a person: reached with nobody signed in, it is refused (401), never
    handed on to the moderation rules without one."""
    app = make_app(world.url)
    editor = client_of(app, "editor_a")
    post_edit(editor, world.service_a, form_data(world, world.service_a, name="Renamed"))
    (pending,) = _pending(world)
    with app.test_request_context(method="POST"), pytest.raises(Unauthorized):
        _decide(pending.id, "", approving=True)
    assert [c.id for c in _pending(world)] == [pending.id]


def test_verify_and_the_stale_list(make_app, world):
    app = make_app(world.url)
    editor, moderator = client_of(app, "editor_a"), client_of(app, "moderator")
    stale = text(moderator.get("/moderation/stale?months=6"))
    assert "Winter Respite Centre (test)" in stale and "never" in stale
    response = editor.post(
        f"/edit/services/{world.service_a}/verify", data={"csrf_token": page_token(editor)}
    )
    assert "marked as verified today" in text(editor.get(response.headers["Location"]))
    assert "Winter Respite Centre (test)" not in text(moderator.get("/moderation/stale?months=6"))
    download = moderator.get("/moderation/stale.csv?months=6")
    assert (
        download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(text(download))))
    assert world.service_b in {r["service_id"] for r in rows}
    assert world.service_a not in {r["service_id"] for r in rows}
    bad = moderator.get("/moderation/stale?months=0")
    assert bad.status_code == 400 and "from 1 to 120" in text(bad)
    assert editor.get("/moderation/stale").status_code == 403
    assert editor.get("/moderation/").status_code == 403


def test_hours_in_several_seasons_and_round_the_clock(make_app, world):
    """Two seasons from the form; a rule the form cannot show is kept; hours that become
    24/7 add the "Open 24/7" capability, and hours that stop being 24/7 remove it."""
    with world.store.session() as session, session.begin():
        admin = accounts.principal_of(session, world.users["admin"])
        appointment = {"byday": None, "opens_at": None, "closes_at": None, "valid_from": None,
                       "valid_to": None, "description": "Evenings by appointment"}  # fmt: skip
        winter = changes.current_values(session, world.service_a)["schedules"]
        changes.propose(session, admin, world.service_a, {"schedules": [*winter, appointment]}, NOW)
    app = make_app(world.url)
    editor = client_of(app, "editor_a")
    page = text(editor.get(f"/edit/services/{world.service_a}"))
    assert "Evenings by appointment" in page and 'id="opens-1-MO"' in page  # a season to add
    around_the_clock = [("00:00", "23:59")] * 7
    summer = [("09:00", "17:00")] * 5 + [(None, None)] * 2
    edit = form_data(world, world.service_a) | season_fields(1, summer, "2027-06-01", "2027-08-31")
    edit |= season_fields(0, around_the_clock, "2026-12-01", "2027-03-31")
    post_edit(client_of(app, "admin"), world.service_a, edit)
    with world.store.session() as session:
        values = changes.current_values(session, world.service_a)
    seasons = hours_of(values["schedules"])
    assert [(s[1], s[2]) for s in seasons.seasons] == [
        ("2026-12-01", "2027-03-31"),
        ("2027-06-01", "2027-08-31"),
    ]
    assert [r["description"] for r in seasons.not_shown] == ["Evenings by appointment"]
    assert "open_24_7" in values["capability"]
    post_edit(
        client_of(app, "admin"),
        world.service_a,
        form_data(world, world.service_a) | season_fields(0, summer, None, None),
    )
    with world.store.session() as session:
        assert "open_24_7" not in changes.current_values(session, world.service_a)["capability"]
