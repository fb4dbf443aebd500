"""Signing in and out, and the one decorator every write route uses: :func:`requires`.

Sessions are Flask-Login's, in Flask's signed cookie (Secure, HttpOnly, SameSite=Lax; no
"remember me" cookie), and name the account's session generation: signing out and password
changes end every session of the account on the server, copies of the cookie too
(:func:`caremap.accounts.end_sessions`). Every form carries a Flask-WTF CSRF token (the
read-only API takes GET only, so needs none); failed sign-ins are limited per client address
and per account from that address, counted in the database (:mod:`caremap.attempts`). What a
person may do is decided by :mod:`caremap.accounts`, never here.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Request,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from caremap import accounts, attempts
from caremap.accounts import Principal, Role
from webmap import get_store
from webmap.common.searching import clock

bp = Blueprint("auth", __name__, url_prefix="/account")

P = ParamSpec("P")
R = TypeVar("R")

CONFIG_DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_NAME": "caremap_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=8),
}


class SessionUser(UserMixin):
    """Flask-Login's user: the :class:`Principal` read for this request."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def get_id(self) -> str:
        """What the session keeps: the account's id and session key (``12.3.9f86d081…``)."""
        return f"{self.principal.id}.{self.principal.session_key}"


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=accounts.MAX_PASSWORD_LENGTH)]
    )


def current_principal() -> Principal | None:
    """The signed-in person, or None."""
    return current_user.principal if current_user.is_authenticated else None


def signed_in() -> Principal:
    """The signed-in person, in a view that :func:`requires` one (401 when no one is)."""
    principal = current_principal()
    if principal is None:
        abort(401)
    return principal


@dataclass(frozen=True)
class Requirement:
    """What :func:`requires` asks of a route (kept on the view for tests and docs)."""

    role: Role
    organization: Callable[..., str | None] | None

    def allows(self, principal: Principal | None, view_args: dict[str, Any]) -> bool:
        if not accounts.has_role(principal, self.role):
            return False
        if self.organization is None:
            return True
        organization_id = self.organization(**view_args)
        if organization_id is None:
            abort(404)
        return accounts.can_edit(principal, organization_id)


def requires(
    role: Role = Role.EDITOR, organization: Callable[..., str | None] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Only a signed-in person with ``role`` (or a more powerful one) — and, with
    ``organization`` (called with the route's URL arguments; None means there is no such
    thing: 404), one who may edit that organization. Anonymous: sign in first (401 for JSON);
    anyone else: 403."""
    requirement = Requirement(role, organization)

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = current_principal()
            if principal is None:
                return current_app.login_manager.unauthorized()
            if not requirement.allows(principal, dict(kwargs)):
                abort(403)
            return view(*args, **kwargs)

        guarded.requirement = requirement  # type: ignore[attr-defined]
        return guarded

    return decorate


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    """The sign-in form; on success, back to where the person was going."""
    if current_user.is_authenticated:
        return redirect(_safe_next())
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("account/login.html", form=form), 400 if form.errors else 200
    with get_store().session() as db, db.begin():
        principal = accounts.authenticate(db, form.email.data or "", form.password.data or "")
    if principal is None:
        form.form_errors.append(_("That e-mail address and password do not match an account."))
        return render_template("account/login.html", form=form), 401
    session.clear()  # nothing from before signing in carries over
    keep_signed_in(principal)
    session.permanent = True
    flash(_("You are signed in."), "success")
    return redirect(_safe_next(), code=303)


def keep_signed_in(principal: Principal) -> None:
    """Sign this session in as the principal, with its current session generation (after a
    password change ended every session, the one that made it goes on)."""
    login_user(SessionUser(principal))


@bp.post("/logout")
def logout() -> Response:
    """End every session of the account (on the server: a copied cookie no longer works)."""
    principal = current_principal()
    if principal is not None:
        with get_store().session() as db, db.begin():
            accounts.end_sessions(db, principal.id)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "success")
    return redirect(url_for("main.home"), code=303)


def _safe_next() -> str:
    """Where to go after signing in: ``?next=``, else the editor's dashboard."""
    return safe_next(url_for("dashboard.index"))


def safe_next(default: str) -> str:
    """``?next=`` when it is a path on this site, else ``default`` (no open redirect; browsers
    read ``/\\host`` as ``//host``)."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    local = target.startswith("/") and not target.startswith("//") and not parts.netloc
    return target if local and "\\" not in target else default


def _load_user(session_id: str) -> SessionUser | None:
    """The session's account, unless it is deactivated or its sessions ended since."""
    user_id, _dot, key = session_id.partition(".")
    if not (user_id.isascii() and user_id.isdigit() and len(user_id) <= 10):
        return None
    with get_store().session() as db:
        principal = accounts.principal_of(db, int(user_id))
    if principal is None or not hmac.compare_digest(principal.session_key, key):
        return None
    return SessionUser(principal)


def _unauthorized() -> Response:
    from webmap.common.errors import wants_json

    if wants_json() or request.method not in ("GET", "HEAD"):
        abort(401)
    message = _("Please sign in to continue.")
    if ("info", message) not in session.get("_flashes", ()):  # once, however many pages asked
        flash(message, "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions; a request without the cookie (every public API
    request) gets an empty session without a signer being built for it."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Sessions, CSRF protection and the sign-in rate limits; then the blueprint."""
    app.session_interface = _SessionInterface()
    manager = LoginManager(app)
    manager.session_protection = "strong"
    manager.user_loader(_load_user)
    manager.unauthorized_handler(_unauthorized)
    CSRFProtect(app)
    app.register_blueprint(bp)
    _limit_sign_in(app)
    app.context_processor(lambda: {"current_principal": current_principal()})
    app.after_request(_not_cached_when_signed_in)


def _not_cached_when_signed_in(response: Response) -> Response:
    """A signed-in person's pages may hold private fields: no cache keeps them."""
    if _signed_in():
        response.headers["Cache-Control"] = "private, no-store"
    return response


def _signed_in() -> bool:
    """Whether someone is signed in. Never with an empty session (sign-in keeps the account's
    id there; the public API's requests have none): no account is looked up for them."""
    return bool(session) and current_user.is_authenticated


def _limit_sign_in(app: Flask) -> None:
    """Read the limits on failed attempts (a wrong setting stops the app here), and limit
    failed sign-ins per address and per e-mail address tried from it (behind ``PROXY_HOPS``
    reverse proxies, the address they forward: :func:`webmap._trust_proxies`)."""
    app.extensions["caremap_attempt_limits"] = attempts.Limits.parse(
        app.config["LOGIN_RATE_LIMIT"], app.config["LOGIN_ACCOUNT_RATE_LIMIT"]
    )
    limit_failures(
        app, "auth.login", lambda: "login:" + request.form.get("email", "").strip().lower()
    )


def limit_failures(app: Flask, endpoint: str, account_key: Callable[[], str]) -> None:
    """Limit failed POSTs to ``endpoint`` (any answer but a 303), counted in the database
    (:mod:`caremap.attempts`): per client address (``LOGIN_RATE_LIMIT``, over every limited
    form) and per account from that address (``LOGIN_ACCOUNT_RATE_LIMIT``; the account is what
    ``account_key`` names). Beyond a limit: 429, the form unread."""
    view = app.view_functions[endpoint]

    @functools.wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Response:
        if request.method != "POST":
            return current_app.make_response(view(*args, **kwargs))
        limits: attempts.Limits = current_app.extensions["caremap_attempt_limits"]
        address, account = request.remote_addr or "", attempts.account_key(account_key())
        now = clock().now
        with get_store().session() as db:
            if attempts.blocked(db, limits, address, account, now):
                abort(429)
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code != 303:
            with get_store().session() as db, db.begin():
                attempts.record_failure(db, limits, address, account, now)
        return response

    app.view_functions[endpoint] = limited
