"""A person's own account: their e-mail, role and organizations, and a new password (the
current one required; failed attempts rate-limited like sign-ins). Changing the password
signs the account out everywhere else (:func:`caremap.accounts.end_sessions`)."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from caremap import accounts
from caremap.accounts import AccountError, WrongPassword
from webmap import get_store
from webmap.accounts.auth import (
    current_principal,
    keep_signed_in,
    limit_failures,
    requires,
    signed_in,
)
from webmap.admin.routes import ROLE_LABELS

bp = Blueprint("account", __name__, url_prefix="/account")


class NewPasswordForm(FlaskForm):
    """A new password, typed twice, that meets :func:`accounts.check_password_policy`."""

    new_password = PasswordField(
        _l("New password (at least 12 characters)"), validators=[DataRequired()]
    )
    confirm = PasswordField(
        _l("The new password again"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two new passwords are not the same.")),
        ],
    )

    def validate_new_password(self, field: PasswordField) -> None:
        try:
            accounts.check_password_policy(field.data or "")
        except AccountError:
            raise ValidationError(
                _(
                    "A password needs at least %(min)d characters (and at most %(max)d).",
                    min=accounts.MIN_PASSWORD_LENGTH,
                    max=accounts.MAX_PASSWORD_LENGTH,
                )
            ) from None


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=accounts.MAX_PASSWORD_LENGTH)],
    )


@bp.get("/")
@requires()
def index() -> str:
    """Who the person is, and the form to change their password."""
    return _page(ChangePasswordForm(formdata=None))


def _page(form: ChangePasswordForm) -> str:
    principal = signed_in()
    with get_store().session() as db:
        names = dict(accounts.organization_names(db))
    return render_template(
        "account/index.html",
        principal=principal,
        role=ROLE_LABELS[principal.role],
        organizations=sorted(names[o] for o in principal.organization_ids if o in names),
        form=form,
    )


@bp.post("/password")
@requires()
def change_password() -> Response | tuple[str, int]:
    """Set a new password; this session stays signed in, every other one ends."""
    principal = signed_in()
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _page(form), 400
    try:
        with get_store().session() as db, db.begin():
            changed = accounts.change_password(
                db, principal.id, form.current_password.data or "", form.new_password.data or ""
            )
    except WrongPassword:
        form.current_password.errors = [_("This is not your current password.")]
        return _page(form), 400
    keep_signed_in(changed)
    flash(_("Your password is changed. You are signed out everywhere else."), "success")
    return redirect(url_for("account.index"), code=303)


def init_app(app: Flask) -> None:
    """The blueprint, with failed password changes limited like sign-ins (per address, and per
    account from it)."""
    app.register_blueprint(bp)
    limit_failures(app, "account.change_password", _account_key)


def _account_key() -> str:
    principal = current_principal()
    return f"password:{principal.id if principal else ''}"
