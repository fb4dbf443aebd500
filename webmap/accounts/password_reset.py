"""Password resets without e-mail: an administrator issues a one-time link for an account
(``caremap users reset-link EMAIL`` does the same) and hands it over; whoever opens it sets a
new password. Links expire after ``PASSWORD_RESET_HOURS`` and work once
(:mod:`caremap.credentials`)."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import logout_user
from werkzeug.wrappers import Response

from caremap import accounts, credentials
from caremap.accounts import Role
from caremap.credentials import ExpiredToken, InvalidToken, ResetError
from caremap.model import AppUser
from webmap import get_store
from webmap.accounts.account import NewPasswordForm
from webmap.accounts.auth import limit_failures, requires
from webmap.common.searching import clock

bp = Blueprint("password_reset", __name__)


def _valid_for() -> dt.timedelta:
    return dt.timedelta(hours=float(current_app.config["PASSWORD_RESET_HOURS"]))


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


@bp.post("/admin/users/<int:user_id>/reset-link")
@requires(Role.ADMIN)
def issue(user_id: int) -> str:
    """A page with a one-time link to set the account's password (shown once, not kept)."""
    with get_store().session() as db:
        user = db.get(AppUser, user_id)
        if user is None:
            abort(404)
        if not user.active:
            abort(400, description=_("Let the account sign in again first."))
        token = credentials.reset_token(_secret(), user, clock().now)
    return render_template(
        "admin/reset_link.html",
        account=user,
        link=url_for("password_reset.reset", token=token, _external=True),
        hours=current_app.config["PASSWORD_RESET_HOURS"],
    )


@bp.route("/account/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> Response | tuple[str, int] | str:
    """Set a new password with a reset link; then sign in with it."""
    form = NewPasswordForm()
    with get_store().session() as db, db.begin():
        try:
            user = credentials.user_of_reset_token(db, _secret(), token, clock().now, _valid_for())
        except ResetError as error:
            return _refused(error)
        if not form.validate_on_submit():
            page = render_template("account/reset.html", form=form, email=user.email)
            return page, 400 if form.errors else 200
        accounts.set_password(db, user.id, form.new_password.data or "")
    logout_user()
    session.clear()
    flash(_("Your new password is set. Sign in with it."), "success")
    return redirect(url_for("auth.login"), code=303)


def _refused(error: ResetError) -> tuple[str, int]:
    if isinstance(error, InvalidToken):
        status = 404
        message = _("This password reset link is not valid. Check that it is complete.")
    elif isinstance(error, ExpiredToken):
        status, message = 410, _("This password reset link has expired.")
    else:
        status, message = 410, _("This password reset link was already used.")
    detail = _("Ask an administrator for a new link.")
    return render_template("error.html", status=status, message=message, detail=detail), status


def init_app(app: Flask) -> None:
    """The blueprint, with failed resets rate-limited like sign-ins."""
    app.register_blueprint(bp)
    limit_failures(
        app, "password_reset.reset", lambda: "reset:" + (request.view_args or {}).get("token", "")
    )
