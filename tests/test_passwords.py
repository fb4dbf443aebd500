"""A person's own account page and password change (other sessions end), and one-time reset
links: expiry on a fixed clock, single use, tampering; in the core, the web and the CLI."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from click.testing import CliRunner

from caremap import accounts, credentials
from caremap.credentials import ExpiredToken, InvalidToken, UsedToken
from tests.support.world import PASSWORD, build_world
from tests.test_accounts import client_of, form_token, page_token, sign_in

NEW = "a much better passphrase"
ISSUED = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(hours=24)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def change(client, current: str, new: str, confirm: str | None = None):
    data = {
        "current_password": current,
        "new_password": new,
        "confirm": new if confirm is None else confirm,
        "csrf_token": page_token(client),
    }
    return client.post("/account/password", data=data)


# --- the account page and password change ---------------------------------------------------


def test_the_account_page_shows_who_you_are(make_app, world):
    app = make_app(world.url)
    page = text(client_of(app, "editor_a").get("/account/"))
    assert "editor_a@example.org" in page and "Editor" in page and "Test Org" in page
    assert "Change your password" in page
    assert "All organizations" in text(client_of(app, "moderator").get("/account/"))
    assert app.test_client().get("/account/").status_code == 302


def test_a_password_change_needs_the_current_password_and_the_policy(make_app, world):
    client = client_of(make_app(world.url), "editor_a")
    wrong = change(client, "not my password!", NEW)
    assert wrong.status_code == 400 and "This is not your current password." in text(wrong)
    short = change(client, PASSWORD, "short")
    assert short.status_code == 400 and "at least 12 characters" in text(short)
    mismatch = change(client, PASSWORD, NEW, NEW + "!")
    assert mismatch.status_code == 400 and "are not the same" in text(mismatch)
    with world.store.session() as session:
        assert accounts.authenticate(session, "editor_a@example.org", PASSWORD) is not None


def test_a_password_change_signs_out_every_other_session(make_app, world):
    app = make_app(world.url)
    here, elsewhere = client_of(app, "editor_a"), client_of(app, "editor_a")
    response = change(here, PASSWORD, NEW)
    assert response.status_code == 303 and response.headers["Location"] == "/account/"
    assert "Your password is changed." in text(here.get("/account/"))
    assert here.get("/edit/").status_code == 200  # this session stays
    assert elsewhere.get("/edit/").status_code == 302  # the other one ends
    assert sign_in(app.test_client(), "editor_a@example.org").status_code == 401
    assert sign_in(app.test_client(), "editor_a@example.org", NEW).status_code == 303


def copied_session(client):
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = client.application.test_client()
    thief.set_cookie("caremap_session", client.get_cookie("caremap_session").value)
    return thief


def test_signing_out_ends_the_session_on_the_server(make_app, world):
    app = make_app(world.url)
    client = client_of(app, "editor_a")
    copy = copied_session(client)
    assert copy.get("/account/").status_code == 200
    out = client.post("/account/logout", data={"csrf_token": page_token(client)})
    assert out.status_code == 303
    assert copy.get("/account/").status_code == 302  # to the sign-in form
    assert copy.get("/edit/").status_code == 302
    assert client_of(app, "editor_a").get("/account/").status_code == 200  # signs in again


def test_a_password_change_or_reset_ends_copied_sessions(make_app, world):
    app = make_app(world.url)
    here = client_of(app, "editor_a")
    copy = copied_session(here)
    assert change(here, PASSWORD, NEW).status_code == 303
    assert here.get("/account/").status_code == 200
    assert copy.get("/account/").status_code == 302
    admin = client_of(app, "admin")
    copy = copied_session(client_of(app, "editor_b"))
    assert set_new(app.test_client(), issue(admin, world.users["editor_b"])).status_code == 303
    assert copy.get("/account/").status_code == 302


def test_a_session_opens_no_other_account_with_the_same_id(make_app, world, backend, tmp_path):
    """A store built again gives the same ids and generations to accounts of other people (or
    whose passwords differ): a session from before opens none of them."""
    from caremap.store import open_store
    from tests.conftest import new_store_url

    url = new_store_url(backend, tmp_path)
    store = open_store(url)
    store.upgrade()
    try:
        rebuilt = build_world(store, url, tmp_path)
        assert rebuilt.users["editor_a"] == world.users["editor_a"]
        before = client_of(make_app(world.url), "editor_a")
        after = make_app(rebuilt.url).test_client()
        after.set_cookie("caremap_session", before.get_cookie("caremap_session").value)
        assert after.get("/account/").status_code == 302
    finally:
        store.dispose()
        if backend == "postgis":
            from tests.conftest import _drop_schema, _postgis_base_url

            _drop_schema(_postgis_base_url(), url)


def test_failed_password_changes_are_rate_limited(make_app, world):
    app = make_app(world.url, LOGIN_RATE_LIMIT="3 per hour", LOGIN_ACCOUNT_RATE_LIMIT="3 per hour")
    client = client_of(app, "editor_a")
    for _ in range(3):
        assert change(client, "not my password!", NEW).status_code == 400
    blocked = change(client, PASSWORD, NEW)
    assert blocked.status_code == 429
    assert "Too many failed attempts from your address" in text(blocked)


# --- reset tokens, without the web -----------------------------------------------------------


def test_reset_tokens_expire_work_once_and_resist_tampering(world):
    with world.store.session() as session, session.begin():
        user = accounts.get_user(session, world.users["editor_b"])
        token = credentials.reset_token("secret", user, ISSUED)

        def use(at: dt.datetime, secret: str = "secret", value: str = token):
            return credentials.user_of_reset_token(session, secret, value, at, DAY)

        assert use(ISSUED + DAY).id == user.id
        with pytest.raises(ExpiredToken):
            use(ISSUED + DAY + dt.timedelta(seconds=1))
        with pytest.raises(ExpiredToken):
            use(ISSUED - dt.timedelta(hours=1))  # issued "in the future"
        with pytest.raises(InvalidToken):
            use(ISSUED, secret="another key")
        tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
        with pytest.raises(InvalidToken):
            use(ISSUED, value=tampered)
        with pytest.raises(InvalidToken):
            use(ISSUED, value="not a token")
        accounts.set_password(session, user.id, NEW)
        with pytest.raises(UsedToken):
            use(ISSUED)
        fresh = credentials.reset_token("secret", user, ISSUED)
        accounts.set_active(session, user.id, False)
        with pytest.raises(InvalidToken):
            use(ISSUED, value=fresh)


# --- reset links on the web ------------------------------------------------------------------


def issue(admin, user_id: int) -> str:
    response = admin.post(
        f"/admin/users/{user_id}/reset-link", data={"csrf_token": page_token(admin)}
    )
    assert response.status_code == 200
    return re.search(r'value="http://localhost(/account/reset/[^"]+)"', text(response)).group(1)


def set_new(client, link: str, new: str = NEW, confirm: str | None = None):
    data = {"new_password": new, "confirm": new if confirm is None else confirm}
    return client.post(link, data={**data, "csrf_token": form_token(client)})


def test_an_admin_issues_a_reset_link_that_works_once(make_app, world):
    app = make_app(world.url)
    admin = client_of(app, "admin")
    user_page = text(admin.get(f"/admin/users/{world.users['editor_b']}"))
    assert "Make a password reset link" in user_page
    signed_in_before = client_of(app, "editor_b")
    link = issue(admin, world.users["editor_b"])
    person = app.test_client()
    page = text(person.get(link))
    assert "Choose a new password" in page and "editor_b@example.org" in page
    assert set_new(person, link, "short").status_code == 400
    assert set_new(person, link, NEW, NEW + "!").status_code == 400
    done = set_new(person, link)
    assert done.status_code == 303 and done.headers["Location"] == "/account/login"
    assert "Your new password is set." in text(person.get("/account/login"))
    assert sign_in(app.test_client(), "editor_b@example.org", NEW).status_code == 303
    assert signed_in_before.get("/edit/").status_code == 302
    used = app.test_client().get(link)
    assert used.status_code == 410 and "already used" in text(used)
    assert set_new(app.test_client(), link, "yet another password").status_code == 410
    assert sign_in(app.test_client(), "editor_b@example.org", NEW).status_code == 303


def test_reset_links_expire_and_refuse_tampering(make_app, world):
    admin = client_of(make_app(world.url, NOW=ISSUED), "admin")
    link = issue(admin, world.users["editor_b"])
    later = make_app(world.url, NOW=ISSUED + DAY + dt.timedelta(minutes=1)).test_client()
    expired = later.get(link)
    assert expired.status_code == 410 and "has expired" in text(expired)
    shorter = make_app(world.url, NOW=ISSUED + dt.timedelta(hours=3), PASSWORD_RESET_HOURS=2)
    assert shorter.test_client().get(link).status_code == 410
    sooner = make_app(world.url, NOW=ISSUED + dt.timedelta(hours=23)).test_client()
    assert sooner.get(link).status_code == 200
    tampered = sooner.get(link[:-2] + ("xy" if not link.endswith("xy") else "zw"))
    assert tampered.status_code == 404 and "not valid" in text(tampered)
    other_key = make_app(world.url, NOW=ISSUED, SECRET_KEY="another key").test_client()
    assert other_key.get(link).status_code == 404


def test_no_reset_link_for_a_deactivated_account(make_app, world):
    admin = client_of(make_app(world.url), "admin")
    with world.store.session() as session, session.begin():
        accounts.set_active(session, world.users["target"], False)
    response = admin.post(
        f"/admin/users/{world.users['target']}/reset-link", data={"csrf_token": page_token(admin)}
    )
    assert response.status_code == 400 and "sign in again first" in text(response)
    assert (
        admin.post("/admin/users/999999/reset-link", data={"csrf_token": page_token(admin)})
    ).status_code == 404


def test_cli_prints_a_reset_link(make_app, world, tmp_path):
    from caremap_cli import main

    env = {
        "CAREMAP_DATABASE_URL": world.url,
        "CAREMAP_INSTANCE_DIR": str(tmp_path),
        "CAREMAP_SECRET_KEY": "cli secret",
        "CAREMAP_BASE_URL": "https://caremap.example.ca/",
    }
    result = CliRunner().invoke(main, ["users", "reset-link", "Editor_B@example.org"], env=env)
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("https://caremap.example.ca/account/reset/")
    app = make_app(world.url, SECRET_KEY="cli secret")
    assert app.test_client().get(url.removeprefix("https://caremap.example.ca")).status_code == 200
    unknown = CliRunner().invoke(main, ["users", "reset-link", "nobody@example.org"], env=env)
    assert unknown.exit_code == 1 and "no active account" in unknown.output
