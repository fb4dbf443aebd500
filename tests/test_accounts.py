"""Accounts and permissions on both stores: passwords, roles, sign-in (CSRF, rate limits,
cookies), and the authorization matrix over every write route of the app."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import func, select

from caremap import accounts
from caremap.accounts import AccountError, Principal, Role
from caremap.model import (
    AppUser,
    Base,
    ChangeSet,
    FailedAttempt,
    HistoryEntry,
    Location,
    Organization,
    Service,
    ServiceCapacity,
    SourceRecord,
    UserOrganization,
)
from tests.conftest import CONFIDENTIAL_FIXTURE, DATA_DIR
from tests.support.world import PASSWORD, World

PRINCIPALS = ("anonymous", "editor_a", "editor_b", "moderator", "admin")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Write routes anyone may use: signing in and out, and setting a password with a reset link.
PUBLIC_WRITES = {"auth.login", "auth.logout", "password_reset.reset", "reports.report"}
BULK_EXAMPLE = DATA_DIR / "templates" / "listings_example.csv"


# --- the core, without the web -------------------------------------------------------------


def principal(role: Role, organizations: set[str] = frozenset(), active: bool = True) -> Principal:
    return Principal(1, "p@example.org", "", role, frozenset(organizations), active)


@pytest.mark.parametrize(
    ("who", "edit_a", "edit_b", "moderate", "administer"),
    [
        (None, False, False, False, False),
        (principal(Role.EDITOR, {"A"}), True, False, False, False),
        (principal(Role.EDITOR, {"A", "B"}), True, True, False, False),
        (principal(Role.MODERATOR), True, True, True, False),
        (principal(Role.ADMIN), True, True, True, True),
        (principal(Role.ADMIN, active=False), False, False, False, False),
    ],
)
def test_permissions(who, edit_a, edit_b, moderate, administer):
    assert accounts.can_edit(who, "A") is edit_a
    assert accounts.can_edit(who, "B") is edit_b
    assert accounts.can_read_private(who, "B") is edit_b
    assert accounts.can_edit(who, None) is False
    assert accounts.can_moderate(who) is moderate
    assert accounts.can_administer(who) is administer


def test_passwords_are_argon2id_and_long_enough():
    hashed = accounts.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    with pytest.raises(AccountError, match="at least 12"):
        accounts.hash_password("short")


def test_migration_matches_the_model(empty_store):
    with empty_store.engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    ours = [d for d in diffs if re.search(r"app_user|user_organization|failed_attempt", repr(d))]
    assert ours == []


def test_create_user_checks_its_input(world):
    with world.store.session() as session:
        with pytest.raises(AccountError, match="already an account"):
            accounts.create_user(
                session, email="ADMIN@example.org ", password=PASSWORD, role=Role.ADMIN
            )
        session.rollback()
        with pytest.raises(AccountError, match="needs at least one organization"):
            accounts.create_user(session, email="e@example.org", password=PASSWORD, role="editor")
        with pytest.raises(AccountError, match="No organization has the id nope"):
            accounts.create_user(
                session, email="e@example.org", password=PASSWORD, role="editor",
                organization_ids=["nope"],
            )  # fmt: skip
        with pytest.raises(AccountError, match="not a role"):
            accounts.create_user(session, email="e@example.org", password=PASSWORD, role="root")
        with pytest.raises(AccountError, match="not an e-mail address"):
            accounts.create_user(session, email="nobody", password=PASSWORD, role="admin")


def test_authenticate_counts_failures_and_refuses_deactivated_accounts(world):
    with world.store.session() as session, session.begin():
        assert accounts.authenticate(session, "nobody@example.org", PASSWORD) is None
        assert accounts.authenticate(session, "editor_a@example.org", "wrong password!") is None
        assert accounts.user_by_email(session, "editor_a@example.org").failed_logins == 1
        signed_in = accounts.authenticate(session, " Editor_A@example.org", PASSWORD)
        assert signed_in.organization_ids == {world.org_a} and signed_in.role is Role.EDITOR
        user = accounts.user_by_email(session, "editor_a@example.org")
        assert user.failed_logins == 0 and user.last_login_at is not None
        accounts.set_active(session, user.id, False)
        assert accounts.authenticate(session, "editor_a@example.org", PASSWORD) is None
        assert accounts.principal_of(session, user.id) is None


def test_an_organization_removed_by_the_etl_leaves_its_editors(world, tmp_path):
    from etl.pipeline import run

    lines = CONFIDENTIAL_FIXTURE.read_text(encoding="utf-8").splitlines(keepends=True)
    shorter = tmp_path / "again" / CONFIDENTIAL_FIXTURE.name
    shorter.parent.mkdir()
    shorter.write_text("".join(x for x in lines if "TEST-VAW-2" not in x), encoding="utf-8")
    [report] = run(world.store, [shorter], DATA_DIR, tmp_path)
    assert report.counts.removed == 1
    with world.store.session() as session:
        assert session.get(Organization, world.org_b) is None
        assert accounts.organization_ids_of(session, world.users["editor_b"]) == []
        assert session.get(AppUser, world.users["editor_b"]) is not None


# --- the web: signing in ------------------------------------------------------------------------


def form_token(client, url: str = "/account/login") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def page_token(client) -> str:
    """A signed-in person's CSRF token, from any page's meta tag (a light 404 page here)."""
    html = client.get("/services/nope").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def sign_in(client, email: str, password: str = PASSWORD, **kwargs):
    data = {"email": email, "password": password, "csrf_token": form_token(client)}
    return client.post("/account/login", data=data, **kwargs)


def client_of(app, who: str):
    client = app.test_client()
    if who != "anonymous":
        response = sign_in(client, f"{who}@example.org")
        assert response.status_code == 303, who
    return client


def test_sign_in_and_out(make_app, world):
    client = make_app(world.url).test_client()
    assert 'href="/account/login"' in client.get("/services/nope").get_data(as_text=True)
    wrong = sign_in(client, "admin@example.org", "not the password")
    assert wrong.status_code == 401
    assert "do not match an account" in wrong.get_data(as_text=True)
    response = sign_in(client, "admin@example.org")
    assert response.status_code == 303 and response.headers["Location"] == "/edit/"
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/admin/")
    assert page.status_code == 200 and "editor_b@example.org" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "private, no-store"
    out = client.post("/account/logout", data={"csrf_token": page_token(client)})
    assert out.status_code == 303
    assert client.get("/admin/").headers["Location"] == "/account/login?next=/admin/"


def test_missing_fields_and_foreign_next_are_refused(make_app, world):
    client = make_app(world.url).test_client()
    empty = client.post("/account/login", data={"csrf_token": form_token(client)})
    assert empty.status_code == 400
    response = sign_in(client, "admin@example.org", query_string={"next": "//evil.example/x"})
    assert response.headers["Location"] == "/edit/"
    client = make_app(world.url).test_client()
    response = sign_in(client, "admin@example.org", query_string={"next": "/\\evil.example/x"})
    assert response.headers["Location"] == "/edit/"


def at(address: str) -> dict:
    """A request from this client address."""
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_sign_in_is_limited_per_address_and_per_account_from_that_address(make_app, world):
    app = make_app(world.url, LOGIN_RATE_LIMIT="5 per hour", LOGIN_ACCOUNT_RATE_LIMIT="3 per hour")
    assert sign_in(app.test_client(), "moderator@example.org").status_code == 303  # not counted
    client = app.test_client()
    for _ in range(3):
        assert sign_in(client, "admin@example.org", "not the password").status_code == 401
    blocked = sign_in(client, "admin@example.org")
    assert blocked.status_code == 429
    assert "Too many failed attempts from your address" in blocked.get_data(as_text=True)
    assert sign_in(app.test_client(), "admin@example.org", **at("192.0.2.7")).status_code == 303
    for _ in range(2):  # other accounts from the same address: 5 failures in all
        assert sign_in(client, "nobody@example.org", "not the password").status_code == 401
    unknown = sign_in(client, "nobody@example.org", "not the password")
    assert unknown.status_code == 429  # the same answer whether or not the account exists
    assert unknown.get_data(as_text=True) == blocked.get_data(as_text=True)
    assert sign_in(client, "editor_a@example.org").status_code == 429
    assert sign_in(app.test_client(), "editor_a@example.org", **at("192.0.2.7")).status_code == 303


def test_nobody_can_lock_an_account_from_another_address(make_app, world):
    app = make_app(world.url)  # the default limits
    attackers = [f"198.51.100.{i}" for i in range(1, 4)]
    answers = {
        sign_in(app.test_client(), "admin@example.org", f"guess {i}", **at(address)).status_code
        for address in attackers
        for i in range(8)
    }
    assert answers == {401, 429}
    assert sign_in(app.test_client(), "admin@example.org", **at(attackers[0])).status_code == 429
    owner = app.test_client()
    assert sign_in(owner, "admin@example.org", **at("203.0.113.9")).status_code == 303


def test_the_limits_hold_across_worker_processes(make_app, world):
    """Two apps on one store, as two workers: failures at either count at both."""
    limits = {"LOGIN_RATE_LIMIT": "4 per hour", "LOGIN_ACCOUNT_RATE_LIMIT": "4 per hour"}
    workers = [make_app(world.url, **limits), make_app(world.url, **limits)]
    for i in range(4):
        failed = sign_in(workers[i % 2].test_client(), "editor_a@example.org", "not it")
        assert failed.status_code == 401
    for worker in workers:
        assert sign_in(worker.test_client(), "editor_a@example.org").status_code == 429


def test_behind_a_proxy_each_client_address_counts_on_its_own(make_app, world):
    limits = {"LOGIN_RATE_LIMIT": "2 per hour", "LOGIN_ACCOUNT_RATE_LIMIT": "2 per hour"}
    app = make_app(world.url, PROXY_HOPS=1, **limits)

    def via_proxy(client: str) -> dict:
        return {"environ_base": {"REMOTE_ADDR": "10.0.0.2"}, "headers": {"X-Forwarded-For": client}}

    for _ in range(2):
        failed = sign_in(app.test_client(), "admin@example.org", "not it", **via_proxy("192.0.2.1"))
        assert failed.status_code == 401
    assert (
        sign_in(app.test_client(), "editor_a@example.org", **via_proxy("192.0.2.1")).status_code
        == 429
    )
    assert (
        sign_in(app.test_client(), "admin@example.org", **via_proxy("192.0.2.2")).status_code == 303
    )


def test_failures_are_forgotten_after_the_longest_limit(make_app, world):
    start = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    limits = {"LOGIN_RATE_LIMIT": "2 per hour", "LOGIN_ACCOUNT_RATE_LIMIT": "2 per hour"}
    app = make_app(world.url, NOW=start, **limits)
    for _ in range(2):
        assert sign_in(app.test_client(), "admin@example.org", "not it").status_code == 401
    assert sign_in(app.test_client(), "admin@example.org").status_code == 429
    later = make_app(world.url, NOW=start + dt.timedelta(minutes=61), **limits)
    assert sign_in(later.test_client(), "admin@example.org", "not it").status_code == 401
    with world.store.session() as session:  # the older ones are deleted
        assert session.scalar(select(func.count()).select_from(FailedAttempt)) == 1
    assert sign_in(later.test_client(), "admin@example.org").status_code == 303


def test_every_form_needs_its_csrf_token(make_app, world):
    app = make_app(world.url)
    client = client_of(app, "admin")
    before = snapshot(world)
    for rule in write_rules(app):
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: sample(world, m.group(1)), rule.rule)
        response = client.post(url, data={"email": "admin@example.org", "password": PASSWORD})
        assert response.status_code == 400, url
        assert "This form has expired" in response.get_data(as_text=True)
    assert snapshot(world) == before


def test_deactivated_accounts_are_signed_out_at_once(make_app, world):
    app = make_app(world.url)
    editor = client_of(app, "editor_b")
    admin = client_of(app, "admin")
    response = admin.post(
        f"/admin/users/{world.users['editor_b']}/active",
        data={"active": "0", "csrf_token": page_token(admin)},
    )
    assert response.status_code == 303
    assert "Account deactivated." in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert editor.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), "editor_b@example.org").status_code == 401


def test_admins_cannot_lock_themselves_out(make_app, world):
    admin = client_of(make_app(world.url), "admin")
    response = admin.post(
        f"/admin/users/{world.users['admin']}/role",
        data={"role": "editor", "csrf_token": page_token(admin)},
    )
    assert response.status_code == 400
    assert "ask another administrator" in response.get_data(as_text=True)


def test_admin_creates_an_editor_and_attaches_organizations(make_app, world):
    admin = client_of(make_app(world.url), "admin")
    token = page_token(admin)
    data = {"email": "New@Example.org", "role": "editor", "password": PASSWORD, "csrf_token": token}
    response = admin.post("/admin/users", data=data)
    assert response.status_code == 400
    assert "An editor needs at least one organization." in response.get_data(as_text=True)
    data = {**data, "organizations": [world.org_a], "display_name": "Nadia"}
    response = admin.post("/admin/users", data=data)
    assert response.status_code == 303
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Account created for new@example.org." in page and "Test Org" in page
    assert admin.post("/admin/users", data=data).status_code == 409
    with world.store.session() as session:
        user = accounts.user_by_email(session, "new@example.org")
        assert accounts.organization_ids_of(session, user.id) == [world.org_a]
    assert admin.get("/admin/users/999999").status_code == 404


# --- the one write route for editors: beds available now -----------------------------------------


def update_beds(client, service_id: str, capacity_id: str, available: str, **kwargs):
    data = {"capacity_id": capacity_id, "available": available, "csrf_token": page_token(client)}
    return client.post(f"/edit/services/{service_id}/capacity", data=data, **kwargs)


def test_an_editor_updates_beds_and_the_public_page_shows_them(make_app, world):
    app = make_app(world.url)
    editor = client_of(app, "editor_a")
    page = editor.get(f"/services/{world.service_a}").get_data(as_text=True)
    assert "Update availability" in page
    assert "Update availability" not in editor.get(f"/services/{world.service_b}").get_data(
        as_text=True
    )
    response = update_beds(editor, world.service_a, world.capacity_a, "7")
    assert response.status_code == 303
    assert "Updated: 7 available now." in editor.get(response.headers["Location"]).get_data(
        as_text=True
    )
    public = app.test_client().get(f"/services/{world.service_a}").get_data(as_text=True)
    assert "7 available of 40 beds" in public and "Update availability" not in public
    found = app.test_client().get("/api/v1/services?limit=100").json["features"]
    listed = next(f for f in found if f["properties"]["id"] == world.service_a)
    assert [c["available"] for c in listed["properties"]["beds_available_now"]] == [7]
    with world.store.session() as session:
        assert session.get(ServiceCapacity, world.capacity_a).updated is not None


@pytest.mark.parametrize(
    ("available", "status", "message"),
    [
        ("41", 400, "cannot be more than the 40 in all"),
        ("-1", 400, "a whole number, 0 or more"),
        ("many", 400, "a whole number, 0 or more"),
    ],
)
def test_impossible_bed_counts_are_refused(make_app, world, available, status, message):
    editor = client_of(make_app(world.url), "editor_a")
    response = update_beds(editor, world.service_a, world.capacity_a, available)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


def test_another_organizations_capacity_cannot_be_smuggled_in(make_app, world):
    """Editor of A, A's service in the URL, B's capacity in the form: not found, nothing set."""
    editor = client_of(make_app(world.url), "editor_a")
    before = snapshot(world)
    assert update_beds(editor, world.service_a, world.capacity_b, "1").status_code == 404
    assert update_beds(editor, "no-such-service", world.capacity_a, "1").status_code == 404
    assert snapshot(world) == before


def test_anonymous_api_clients_get_401(make_app, world):
    client = make_app(world.url).test_client()
    data = {"capacity_id": world.capacity_a, "available": "1", "csrf_token": form_token(client)}
    response = client.post(
        f"/edit/services/{world.service_a}/capacity",
        data=data,
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 401
    assert response.json["message"] == "Please sign in to continue."


def test_pages_refused_one_after_another_ask_to_sign_in_once(make_app, world):
    """Sent to sign in from several pages in turn (links opened one after another), an
    anonymous visitor reads the request to sign in once, not once per page."""
    client = make_app(world.url).test_client()
    for path in ("/admin/", "/edit/", f"/edit/services/{world.service_a}", "/admin/"):
        assert client.get(path).status_code == 302, path
    page = client.get("/account/login?lang=en").get_data(as_text=True)
    assert page.count("Please sign in to continue.") == 1


# --- the authorization matrix ------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    url: str
    data: dict
    allowed: frozenset[str]
    status: int = 303  # what the allowed get
    then: int | None = None  # what the allowed after the first get, if it differs


PAIR = {"source_a": "nspl_2024", "record_a": "1", "source_b": "other", "record_b": "A-1"}


def write_cases(world: World) -> dict[str, list[Case]]:
    """For each write endpoint: requests, and who may make them. A new write route fails the
    matrix until it is listed here."""
    target = world.users["target"]
    admin_only = frozenset({"admin"})
    moderators = frozenset({"moderator", "admin"})
    pending, entries = moderation_samples(world)
    reported = report_samples(world)
    return {
        "edit.service": [
            Case(
                f"/edit/services/{world.service_a}",
                {"name": "Edited by {who}", "service_type": "emergency_shelter"},
                frozenset({"editor_a", "moderator", "admin"}),
            ),
            Case(
                f"/edit/services/{world.service_b}",
                {"name": "Edited by {who}", "service_type": "vaw_shelter"},
                frozenset({"editor_b", "moderator", "admin"}),
            ),
        ],
        "edit.verify": [
            Case(
                f"/edit/services/{world.service_a}/verify",
                {},
                frozenset({"editor_a", "moderator", "admin"}),
            ),
            Case(
                f"/edit/services/{world.service_b}/verify",
                {},
                frozenset({"editor_b", "moderator", "admin"}),
            ),
        ],
        "edit.revert": [
            Case(
                f"/edit/history/{entries[world.service_a]}/revert",
                {},
                frozenset({"editor_a", "moderator", "admin"}),
            ),
            Case(
                f"/edit/history/{entries[world.service_b]}/revert",
                {},
                frozenset({"editor_b", "moderator", "admin"}),
            ),
        ],
        "moderation.approve": [
            Case(f"/moderation/changes/{pending[0]}/approve", {}, moderators, then=409)
        ],
        "moderation.reject": [
            Case(
                f"/moderation/changes/{pending[1]}/reject", {"comment": "No."}, moderators, then=409
            )
        ],
        "moderation.resolve_report": [
            Case(f"/moderation/reports/{reported[0]}/resolve", {}, moderators, then=409)
        ],
        "moderation.dismiss_report": [
            Case(f"/moderation/reports/{reported[1]}/dismiss", {}, moderators, then=409)
        ],
        # The world has no matched pair: a moderator's decision finds none (404), and only a
        # moderator gets that far.
        "moderation.accept_match": [Case("/moderation/matches/accept", PAIR, moderators, 404)],
        "moderation.reject_match": [Case("/moderation/matches/reject", PAIR, moderators, 404)],
        "edit.capacity": [
            Case(
                f"/edit/services/{world.service_a}/capacity",
                {"capacity_id": world.capacity_a, "available": "5"},
                frozenset({"editor_a", "moderator", "admin"}),
            ),
            Case(
                f"/edit/services/{world.service_b}/capacity",
                {"capacity_id": world.capacity_b, "available": "3"},
                frozenset({"editor_b", "moderator", "admin"}),
            ),
        ],
        "records.organization": [
            Case(
                f"/edit/organizations/{world.org_a}",
                {"name": "Edited by {who}"},
                frozenset({"editor_a", "moderator", "admin"}),
            ),
            Case(
                f"/edit/organizations/{world.org_b}",
                {"name": "Edited by {who}"},
                frozenset({"editor_b", "moderator", "admin"}),
            ),
        ],
        "records.location": [
            Case(
                f"/edit/locations/{world.location_a}",
                location_form(world, world.location_a),
                frozenset({"editor_a", "moderator", "admin"}),
            ),
            Case(
                f"/edit/locations/{world.location_b}",
                location_form(world, world.location_b),
                frozenset({"editor_b", "moderator", "admin"}),
            ),
        ],
        "admin.create_user": [
            Case(
                "/admin/users",
                {"email": "new-{who}@example.org", "role": "moderator", "password": PASSWORD},
                admin_only,
            )
        ],
        "admin.attach_organization": [
            Case(f"/admin/users/{target}/organizations", {"organization": world.org_a}, admin_only)
        ],
        "admin.detach_organization": [
            Case(f"/admin/users/{target}/organizations/{world.org_b}/detach", {}, admin_only)
        ],
        "admin.change_role": [Case(f"/admin/users/{target}/role", {"role": "editor"}, admin_only)],
        "admin.set_active": [Case(f"/admin/users/{target}/active", {"active": "1"}, admin_only)],
        "password_reset.issue": [
            Case(f"/admin/users/{target}/reset-link", {}, admin_only, status=200)
        ],
        "admin_organizations.create": [
            Case("/admin/organizations", {"name": "Added by {who}"}, admin_only)
        ],
        "admin_organizations.attach_editor": [
            Case(f"/admin/organizations/{world.org_a}/editors", {"user": str(target)}, admin_only)
        ],
        "admin_organizations.detach_editor": [
            Case(f"/admin/organizations/{world.org_b}/editors/{target}/detach", {}, admin_only)
        ],
        "account.change_password": [
            Case(
                "/account/password",
                {
                    "current_password": PASSWORD,
                    "new_password": "a new password for {who}",
                    "confirm": "a new password for {who}",
                },
                frozenset(PRINCIPALS) - {"anonymous"},
            )
        ],
        "bulk.check": [
            Case(
                f"/bulk/organizations/{world.org_a}/check",
                {"files": lambda client: (io.BytesIO(BULK_EXAMPLE.read_bytes()), "example.csv")},
                frozenset({"editor_a", "moderator", "admin"}),
            )
        ],
        "bulk.apply": [
            Case(
                f"/bulk/organizations/{world.org_a}/apply",
                {"token": lambda client: bulk_token(client, world.org_a)},
                frozenset({"editor_a", "moderator", "admin"}),
            )
        ],
    }


def location_form(world: World, location_id: str, **changed: str) -> dict:
    """What the location form posts when only its name is edited (by ``{who}``)."""
    from caremap import changes

    with world.store.session() as session:
        values = changes.record_values(session, "location", location_id)
    point = values["point"]
    data = {
        **{name: values[name] or "" for name in ("street", "city", "province", "postal_code")},
        "name": "Edited by {who}",
        "latitude": repr(point["latitude"]),
        "longitude": repr(point["longitude"]),
        "precision": point["precision"],
    }
    if values["confidential"]:
        data["confidential"] = "y"
    return data | changed


def bulk_token(client, organization_id: str) -> str:
    """A dry run's token, made by this client ('' if it may not make one)."""
    reached = client.get("/bulk/", follow_redirects=True).request.path.startswith("/bulk/")
    token = page_token(client) if reached else ""
    files = {"files": (io.BytesIO(BULK_EXAMPLE.read_bytes()), "example.csv")}
    response = client.post(
        f"/bulk/organizations/{organization_id}/check", data={**files, "csrf_token": token}
    )
    return response.headers["Location"].rsplit("/", 1)[-1] if response.status_code == 303 else ""


def report_samples(world: World) -> list[int]:
    """Two open reports on a listing (to resolve, to dismiss)."""
    import datetime as dt

    from caremap import reports

    now = dt.datetime.now(dt.UTC)
    with world.store.session() as session, session.begin():
        return [
            reports.file_report(session, world.service_a, "phone", text, "a client", now).id
            for text in ("To resolve", "To dismiss")
        ]


def moderation_samples(world: World) -> tuple[list[int], dict[str, int]]:
    """Two pending change sets (to approve, to reject), and for each service a history entry
    whose revert changes nothing (so that every allowed cell may revert it)."""
    import datetime as dt

    from caremap import changes, history

    now = dt.datetime.now(dt.UTC)
    with world.store.session() as session, session.begin():
        editor = accounts.principal_of(session, world.users["editor_a"])
        pending = [
            changes.propose(session, editor, world.service_a, {"description": text}, now).id
            for text in ("To approve", "To reject")
        ]
        entries = {}
        for service_id in (world.service_a, world.service_b):
            entries[service_id] = history.record(
                session,
                resource_type="service",
                resource_id=service_id,
                service_id=service_id,
                field_name="eligibility_description",
                previous=None,
                replacement=None,
                action="update",
                by=None,
                now=now,
            ).id
    return pending, entries


def write_rules(app) -> list:
    return [r for r in app.url_map.iter_rules() if r.methods & WRITE_METHODS]


def sample(world: World, argument: str) -> str:
    return {
        "service_id": world.service_a,
        "user_id": str(world.users["target"]),
        "organization_id": world.org_b,
        "location_id": world.location_a,
        "entry_id": "1",
        "change_set_id": "1",
        "report_id": "1",
        "token": "not-a-token",
    }[argument]


def snapshot(world: World) -> tuple:
    """Everything a write route may change (sign-in stamps aside)."""
    with world.store.session() as session:
        return (
            session.execute(
                select(AppUser.email, AppUser.role, AppUser.active, AppUser.password_hash)
                .order_by(AppUser.email)
            ).all(),
            session.execute(
                select(UserOrganization.user_id, UserOrganization.organization_id)
                .order_by(UserOrganization.user_id, UserOrganization.organization_id)
            ).all(),
            session.execute(
                select(ServiceCapacity.id, ServiceCapacity.available, ServiceCapacity.updated)
                .order_by(ServiceCapacity.id)
            ).all(),
            session.execute(
                select(SourceRecord.source_name, SourceRecord.source_record_id,
                       SourceRecord.content_hash, SourceRecord.loaded_at)
                .order_by(SourceRecord.source_name, SourceRecord.source_record_id)
            ).all(),
            session.execute(
                select(Service.id, Service.name, Service.description, Service.last_verified_at)
                .order_by(Service.id)
            ).all(),
            session.execute(
                select(ChangeSet.id, ChangeSet.status).order_by(ChangeSet.id)
            ).all(),
            session.execute(
                select(Organization.id, Organization.name, Organization.description)
                .order_by(Organization.id)
            ).all(),
            session.execute(
                select(Location.id, Location.name, Location.confidential, Location.latitude,
                       Location.private_latitude, Location.private_longitude)
                .order_by(Location.id)
            ).all(),
            session.scalar(select(func.count()).select_from(HistoryEntry)),
        )  # fmt: skip


def test_every_write_route_is_in_the_matrix_and_guarded(make_app, world):
    app = make_app(world.url)
    endpoints = {rule.endpoint for rule in write_rules(app)}
    assert endpoints - PUBLIC_WRITES == set(write_cases(world))
    for endpoint in endpoints - PUBLIC_WRITES:
        assert hasattr(app.view_functions[endpoint], "requirement"), f"{endpoint}: use @requires"


def test_authorization_matrix(make_app, world):
    app = make_app(world.url)
    clients = {who: client_of(app, who) for who in PRINCIPALS}
    tokens = {
        who: form_token(c) if who == "anonymous" else page_token(c) for who, c in clients.items()
    }
    for endpoint, cases in write_cases(world).items():
        for case in cases:
            status = case.status
            for who in PRINCIPALS:
                data = {
                    k: v(clients[who]) if callable(v) else v.format(who=who)
                    for k, v in case.data.items()
                }
                before = snapshot(world)
                response = clients[who].post(case.url, data={**data, "csrf_token": tokens[who]})
                cell = f"{endpoint} {case.url} as {who}: {response.status_code}"
                if who in case.allowed:
                    assert response.status_code == status, cell
                    if status == 303:
                        assert "/account/login" not in response.headers["Location"], cell
                    status = case.then or case.status
                    continue
                assert response.status_code == (401 if who == "anonymous" else 403), cell
                assert snapshot(world) == before, cell
    # Reading the admin pages is the admin's alone too.
    admin_pages = (
        "/admin/",
        f"/admin/users/{world.users['target']}",
        "/admin/organizations",
        f"/admin/organizations/{world.org_a}",
    )
    for who in PRINCIPALS:
        for url in admin_pages:
            status = clients[who].get(url).status_code
            assert status == {"admin": 200, "anonymous": 302}.get(who, 403), (url, who)
        for url in ("/edit/", "/account/"):  # everyone's own pages
            status = clients[who].get(url).status_code
            assert status == (302 if who == "anonymous" else 200), (url, who)


# --- the command line -------------------------------------------------------------------------


def test_cli_users_add_and_list(world, tmp_path):
    from caremap_cli import main

    env = {"CAREMAP_DATABASE_URL": world.url, "CAREMAP_INSTANCE_DIR": str(tmp_path)}
    runner = CliRunner()
    added = runner.invoke(
        main,
        ["users", "add", "Lee@Example.org", "--role", "editor", "--organization", world.org_a,
         "--organization", world.org_b, "--password-stdin"],
        input=f"{PASSWORD}\n", env=env,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "added editor lee@example.org" in added.output
    listed = runner.invoke(main, ["users", "list"], env=env)
    assert f"lee@example.org\teditor\tactive\t{','.join(sorted([world.org_a, world.org_b]))}" in (
        listed.output
    )
    refused = runner.invoke(
        main, ["users", "add", "x@example.org", "--role", "editor", "--password-stdin"],
        input=f"{PASSWORD}\n", env=env,
    )  # fmt: skip
    assert refused.exit_code == 1 and "An editor needs at least one organization." in refused.output
    short = runner.invoke(
        main, ["users", "set-password", "lee@example.org", "--password-stdin"],
        input="short\n", env=env,
    )  # fmt: skip
    assert short.exit_code == 1 and "at least 12 characters" in short.output


def test_secret_key_is_made_once_and_kept_private(tmp_path, monkeypatch):
    from caremap.settings import load_settings, secret_key

    monkeypatch.delenv("CAREMAP_SECRET_KEY", raising=False)
    monkeypatch.setenv("CAREMAP_INSTANCE_DIR", str(tmp_path / "instance"))
    first = secret_key(load_settings())
    assert len(first) >= 64 and secret_key(load_settings()) == first
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("CAREMAP_SECRET_KEY", "from-the-environment")
    assert secret_key(load_settings()) == "from-the-environment"
