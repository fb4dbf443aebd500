"""Reporting a problem with a listing, on both stores: the public form (no account, CSRF, a
limit per client that keeps no address), what a report stores, the moderators' queue."""

from __future__ import annotations

import datetime as dt
import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from caremap import reports
from caremap.model import Address, Base, Location, ProblemReport, ReportSubmission
from tests.support.world import World
from tests.test_accounts import client_of, form_token, page_token

NOW = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)
ADDRESS = "203.0.113.7"


def report_url(service_id: str) -> str:
    return f"/services/{service_id}/report"


def send(client, service_id: str, lang: str = "en", **fields: str):
    """Post the report form with its CSRF token, as a browser at ``ADDRESS`` would."""
    url = report_url(service_id)
    data = {"kind": "phone", "text": "The number rings a pharmacy.", **fields}
    data["csrf_token"] = form_token(client, f"{url}?lang={lang}")
    return client.post(f"{url}?lang={lang}", data=data, environ_base={"REMOTE_ADDR": ADDRESS})


def stored(world: World) -> list[ProblemReport]:
    with world.store.session() as session:
        return list(session.scalars(select(ProblemReport).order_by(ProblemReport.id)))


def text(response) -> str:
    return response.get_data(as_text=True)


def test_migration_matches_the_model(empty_store):
    with empty_store.engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if re.search(r"problem_report|report_submission", repr(d))] == []


def test_the_form_reads_in_english_and_french_from_every_listing(make_app, world):
    client = make_app(world.url, NOW=NOW).test_client()
    detail = text(client.get(f"/services/{world.service_a}"))
    assert f'href="{report_url(world.service_a)}"' in detail
    assert "Report a problem with this listing" in detail
    english = text(client.get(report_url(world.service_a)))
    assert "What is wrong?" in english and "Wrong phone number" in english
    assert "Describe the problem" in english and 'maxlength="2000"' in english
    assert 'name="csrf_token"' in english
    assert not re.search(r'name="(name|email|e-mail|phone)"', english)
    french = text(client.get(report_url(world.service_a) + "?lang=fr"))
    assert "Signaler un problème avec cette fiche" in french
    assert "Mauvais numéro de téléphone" in french and "Décrivez le problème" in french
    assert "Signaler un problème avec cette fiche" in text(
        client.get(f"/services/{world.service_a}?lang=fr")
    )


def test_a_confidential_listings_form_shows_only_what_its_page_shows(make_app, world):
    client = make_app(world.url, NOW=NOW).test_client()
    with world.store.session() as session:
        location = session.get(Location, world.location_b)
        street = session.scalars(
            select(Address.address_1).where(Address.location_id == world.location_b)
        ).one()
    assert location.confidential and street
    page = text(client.get(report_url(world.service_b)))
    assert street not in page
    for secret in (location.private_latitude, location.private_longitude):
        assert f"{secret:.3f}" not in page
    assert send(client, world.service_b).status_code == 303


def test_a_report_lands_in_the_queue_and_stores_only_what_was_typed(make_app, world):
    app = make_app(world.url, NOW=NOW)
    public = app.test_client()
    response = send(public, world.service_a, kind="hours", text="  Closed on Sundays now.\r\n ")
    assert response.status_code == 303
    thanks = text(public.get(response.headers["Location"]))
    assert "A moderator will check it" in thanks
    [report] = stored(world)
    columns = {c.key for c in inspect(ProblemReport).columns}
    assert columns == {
        "id", "service_id", "kind", "text", "created_at", "status", "resolved_by", "resolved_at"
    }  # fmt: skip
    assert (report.service_id, report.kind, report.text) == (
        world.service_a, "hours", "Closed on Sundays now."
    )  # fmt: skip
    assert (report.created_at, report.status, report.resolved_by) == (NOW, "open", None)
    with world.store.session() as session:
        [submission] = session.scalars(select(ReportSubmission)).all()
    assert submission.client == reports.client_key("test", ADDRESS)
    assert ADDRESS not in submission.client and submission.at == NOW
    queue = text(client_of(app, "moderator").get("/moderation/"))
    assert "Closed on Sundays now." in queue and "Wrong hours" in queue
    assert f'href="/edit/services/{world.service_a}"' in queue


def test_a_missing_or_too_long_description_is_refused_with_a_message(make_app, world):
    client = make_app(world.url, NOW=NOW).test_client()
    empty = send(client, world.service_a, text="   ")
    assert empty.status_code == 400 and "Describe the problem." in text(empty)
    long = send(client, world.service_a, text="x" * (reports.MAX_TEXT + 1))
    assert long.status_code == 400 and "At most 2000 characters." in text(long)
    french = send(client, world.service_a, lang="fr", text="")
    assert french.status_code == 400 and "Décrivez le problème." in text(french)
    unknown = send(client, world.service_a, kind="everything")
    assert unknown.status_code == 400 and "Choose what is wrong." in text(unknown)
    assert stored(world) == []
    assert send(client, world.service_a, text="x" * reports.MAX_TEXT).status_code == 303


def test_a_report_needs_the_forms_csrf_token(make_app, world):
    client = make_app(world.url, NOW=NOW).test_client()
    response = client.post(report_url(world.service_a), data={"kind": "closed", "text": "Shut."})
    assert response.status_code == 400 and "This form has expired" in text(response)
    assert stored(world) == []


def test_the_sixth_report_within_an_hour_is_refused_then_allowed_an_hour_later(make_app, world):
    client = make_app(world.url, NOW=NOW).test_client()
    for _ in range(reports.LIMIT.count):
        assert send(client, world.service_a).status_code == 303
    refused = send(client, world.service_a, lang="fr")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "3600"
    assert "Trop de signalements" in text(refused)
    assert len(stored(world)) == reports.LIMIT.count
    later = make_app(world.url, NOW=NOW + dt.timedelta(minutes=61)).test_client()
    assert send(later, world.service_a).status_code == 303
    with world.store.session() as session:
        assert session.scalars(select(ReportSubmission.at)).all() == [
            NOW + dt.timedelta(minutes=61)
        ]


def test_an_unknown_listing_has_no_report_form(make_app, world):
    client = make_app(world.url, NOW=NOW).test_client()
    assert client.get(report_url("no-such-service")).status_code == 404
    token = form_token(client, report_url(world.service_a))
    response = client.post(
        report_url("no-such-service"), data={"kind": "closed", "text": "x", "csrf_token": token}
    )
    assert response.status_code == 404 and stored(world) == []


def test_hostile_text_is_shown_escaped_in_the_queue(make_app, world):
    app = make_app(world.url, NOW=NOW)
    public = app.test_client()
    hostile = "<script>alert(1)</script> {{7*7}} =CMD|' /C calc'!A0"
    assert send(public, world.service_a, text=hostile).status_code == 303
    assert send(public, world.service_a, text="a\x00b").status_code == 400
    queue = text(client_of(app, "moderator").get("/moderation/"))
    assert "<script>alert(1)</script>" not in queue
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}} =CMD|&#39; /C calc&#39;!A0" in queue
    assert "49" not in re.findall(r'class="report-text">([^<]*)<', queue)[0]
    assert [r.text for r in stored(world)] == [hostile]


def test_a_moderator_resolves_or_dismisses_a_report_and_nobody_else_can(make_app, world):
    app = make_app(world.url, NOW=NOW)
    for _ in range(2):
        assert send(app.test_client(), world.service_a).status_code == 303
    first, second = (r.id for r in stored(world))
    editor = client_of(app, "editor_a")
    refused = editor.post(
        f"/moderation/reports/{first}/resolve", data={"csrf_token": page_token(editor)}
    )
    assert refused.status_code == 403
    anonymous = app.test_client()
    token = form_token(anonymous, report_url(world.service_a))
    assert anonymous.post(
        f"/moderation/reports/{first}/resolve", data={"csrf_token": token}
    ).status_code in (302, 401)
    assert [r.status for r in stored(world)] == ["open", "open"]
    moderator = client_of(app, "moderator")
    token = page_token(moderator)
    resolved = moderator.post(f"/moderation/reports/{first}/resolve", data={"csrf_token": token})
    assert resolved.status_code == 303
    assert "Marked resolved." in text(moderator.get(resolved.headers["Location"]))
    dismissed = moderator.post(f"/moderation/reports/{second}/dismiss", data={"csrf_token": token})
    assert dismissed.status_code == 303
    again = moderator.post(f"/moderation/reports/{first}/dismiss", data={"csrf_token": token})
    assert again.status_code == 409
    missing = moderator.post("/moderation/reports/999999/resolve", data={"csrf_token": token})
    assert missing.status_code == 404
    decided = stored(world)
    assert [(r.status, r.resolved_by, r.resolved_at) for r in decided] == [
        ("resolved", world.users["moderator"], NOW),
        ("dismissed", world.users["moderator"], NOW),
    ]
    assert "The number rings a pharmacy." not in text(moderator.get("/moderation/"))


def test_the_privacy_page_says_what_a_report_keeps(make_app, world):
    client = make_app(world.url).test_client()
    assert "If you report a problem with a listing" in text(client.get("/privacy"))
    assert "Si vous signalez un problème avec une fiche" in text(client.get("/privacy?lang=fr"))


def test_editors_see_open_reports_on_their_own_listings_only(make_app, world):
    app = make_app(world.url, NOW=NOW)
    sent = send(app.test_client(), world.service_a, text="Closed <b>for good</b>")
    assert sent.status_code == 303
    mine = text(client_of(app, "editor_a").get("/edit/?lang=fr"))
    assert "Problèmes signalés" in mine and "Closed &lt;b&gt;for good&lt;/b&gt;" in mine
    assert f'href="/edit/services/{world.service_a}"' in mine
    others = text(client_of(app, "editor_b").get("/edit/"))
    assert "Reported problems" not in others and "for good" not in others
