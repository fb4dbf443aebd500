"""Times a person reads are in the display time zone with its abbreviation (both stores);
machine values stay UTC."""

from __future__ import annotations

import datetime as dt
import html

import pytest

from caremap.settings import SettingsError, load_settings
from tests.test_accounts import client_of, page_token
from tests.test_moderation_web import form_data, post_edit

WINTER = dt.datetime(2026, 1, 15, 16, 8, 38, tzinfo=dt.UTC)  # 11:08:38 in Toronto (EST)
SUMMER = dt.datetime(2026, 7, 15, 16, 8, 38, tzinfo=dt.UTC)  # 12:08:38 in Toronto (EDT)


def text(response) -> str:
    """The page's text, its narrow no-break spaces ("11:08:38\u202fAM") as spaces."""
    return html.unescape(response.get_data(as_text=True)).replace("\u202f", " ")


def test_a_change_shows_its_local_time_with_zone_in_the_queue_history_and_sheet(make_app, world):
    app = make_app(world.url, NOW=WINTER)
    editor, moderator = client_of(app, "editor_a"), client_of(app, "moderator")
    post_edit(editor, world.service_a, form_data(world, world.service_a, name="Winter Centre"))
    queue = text(moderator.get("/moderation/"))
    assert "Jan 15, 2026, 11:08:38 AM EST" in queue and "4:08:38" not in queue
    assert "15 janv. 2026, 11:08:38 HNE" in text(moderator.get("/moderation/?lang=fr"))
    [pending] = [c.id for c in moderator_pending(world)]
    moderator.post(
        f"/moderation/changes/{pending}/approve", data={"csrf_token": page_token(moderator)}
    )
    history = text(editor.get(f"/services/{world.service_a}"))
    assert "<td>Jan 15, 2026, 11:08:38 AM EST</td>" in history
    sheet = text(app.test_client().get("/print?near=Toronto"))
    assert "Printed Jan 15, 2026, 11:08:38 AM EST" in sheet


def test_summer_time_and_another_zone_are_shown_by_their_abbreviation(make_app, world):
    toronto = make_app(world.url, NOW=SUMMER).test_client()
    assert "Jul 15, 2026, 12:08:38 PM EDT" in text(toronto.get("/print?near=Toronto"))
    assert "15 juil. 2026, 12:08:38 HAE" in text(toronto.get("/print?near=Toronto&lang=fr"))
    vancouver = make_app(world.url, NOW=WINTER, DISPLAY_TIMEZONE="America/Vancouver")
    assert "Jan 15, 2026, 8:08:38 AM PST" in text(vancouver.test_client().get("/print"))


def moderator_pending(world):
    from caremap import changes

    with world.store.session() as session:
        return changes.pending_change_sets(session)


def test_the_display_time_zone_is_a_setting_checked_at_start():
    assert load_settings({}).display_timezone == "America/Toronto"
    zone = load_settings({"CAREMAP_DISPLAY_TIMEZONE": "America/Winnipeg"}).display_timezone
    assert zone == "America/Winnipeg"
    for wrong in ("Mars/Base", "", "../etc"):
        with pytest.raises(SettingsError, match="CAREMAP_DISPLAY_TIMEZONE"):
            load_settings({"CAREMAP_DISPLAY_TIMEZONE": wrong})


def test_the_referral_sheet_gives_each_services_source_and_dates(make_app, world):
    app = make_app(world.url, NOW=WINTER)
    editor = client_of(app, "editor_a")
    editor.post(f"/edit/services/{world.service_a}/verify", data={"csrf_token": page_token(editor)})
    public = app.test_client()
    english = text(public.get("/print?near=M5A+2N2&lang=en"))
    assert "source date: November 28, 2026; verified January 15, 2026" in english
    assert "not yet verified by the organization" in english  # the other services
    assert "2026-11-28" not in english
    french = text(public.get("/print?near=M5A+2N2&lang=fr"))
    nbsp = "\u00a0"
    assert f"date de la source{nbsp}: 28 novembre 2026{nbsp}; vérifiée le 15 janvier 2026" in french
    assert (
        f"Source{nbsp}: " in french and '<button type="button" data-print hidden>Imprimer' in french
    )
