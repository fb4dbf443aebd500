"""Administrators' pages: the accounts, and which organizations each editor edits. Every change
is a POST form with a CSRF token; only admins get here (:func:`webmap.accounts.auth.requires`)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp, ValidationError

from caremap import accounts
from caremap.accounts import AccountError, Role
from caremap.model import AppUser
from webmap import get_store
from webmap.accounts.auth import current_principal, requires

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.MODERATOR: _l("Moderator"),
    Role.EDITOR: _l("Editor"),
}


def _role_choices() -> list[tuple[str, str]]:
    return [(role.value, str(label)) for role, label in ROLE_LABELS.items()]


class UserForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(),
            Length(max=254),
            Regexp(accounts.EMAIL_PATTERN.pattern, message=_l("Enter an e-mail address.")),
        ],
    )
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=_role_choices, default=Role.EDITOR.value)
    organizations = SelectMultipleField(_l("Organizations this person edits"), choices=[])
    password = PasswordField(
        _l("Password (at least 12 characters)"),
        validators=[
            DataRequired(),
            Length(
                min=accounts.MIN_PASSWORD_LENGTH,
                max=accounts.MAX_PASSWORD_LENGTH,
                message=_l("A password needs at least 12 characters."),
            ),
        ],
    )

    def validate_organizations(self, field: SelectMultipleField) -> None:
        if self.role.data == Role.EDITOR.value and not field.data:
            raise ValidationError(_("An editor needs at least one organization."))


class AttachForm(FlaskForm):
    organization = SelectField(_l("Organization"), choices=[], validators=[DataRequired()])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=_role_choices)


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[AnyOf(["0", "1"])])


def _organizations() -> list[tuple[str, str]]:
    with get_store().session() as db:
        return accounts.organization_names(db)


@bp.get("/")
@requires(Role.ADMIN)
def index() -> str:
    """Every account, and the form to add one."""
    form = UserForm()
    form.organizations.choices = _organizations()
    return _index(form)


def _index(form: UserForm) -> str:
    with get_store().session() as db:
        users = [(u, accounts.organization_ids_of(db, u.id)) for u in accounts.list_users(db)]
    return render_template("admin/index.html", users=users, form=form, role_labels=ROLE_LABELS)


@bp.post("/users")
@requires(Role.ADMIN)
def create_user() -> Response | tuple[str, int]:
    form = UserForm()
    form.organizations.choices = _organizations()
    if not form.validate_on_submit():
        return _index(form), 400
    try:
        with get_store().session() as db, db.begin():
            user = accounts.create_user(
                db,
                email=form.email.data or "",
                password=form.password.data or "",
                role=form.role.data,
                organization_ids=form.organizations.data or [],
                display_name=form.display_name.data or "",
            )
    except AccountError:
        form.email.errors = [*form.email.errors, _("There is already an account for this address.")]
        return _index(form), 409
    flash(_("Account created for %(email)s.", email=user.email), "success")
    return redirect(url_for("admin.user", user_id=user.id), code=303)


@bp.get("/users/<int:user_id>")
@requires(Role.ADMIN)
def user(user_id: int) -> str:
    """One account: its role, its organizations, whether it may sign in."""
    with get_store().session() as db:
        account = db.get(AppUser, user_id)
        if account is None:
            abort(404)
        attached = set(accounts.organization_ids_of(db, user_id))
        names = accounts.organization_names(db)
    attach = AttachForm()
    attach.organization.choices = [(i, n) for i, n in names if i not in attached]
    return render_template(
        "admin/user.html",
        account=account,
        organizations=[(i, n) for i, n in names if i in attached],
        attach=attach,
        role_form=RoleForm(formdata=None, role=account.role),
        role_labels=ROLE_LABELS,
        is_self=user_id == _me(),
    )


@bp.post("/users/<int:user_id>/organizations")
@requires(Role.ADMIN)
def attach_organization(user_id: int) -> Response:
    form = AttachForm()
    form.organization.choices = _organizations()
    if not form.validate_on_submit():
        abort(400, description=_("Choose an organization from the list."))
    with get_store().session() as db, db.begin():
        _account_or_404(db, user_id)
        accounts.attach_organizations(db, user_id, [form.organization.data])
    flash(_("Organization added."), "success")
    return _back(user_id)


@bp.post("/users/<int:user_id>/organizations/<organization_id>/detach")
@requires(Role.ADMIN)
def detach_organization(user_id: int, organization_id: str) -> Response:
    with get_store().session() as db, db.begin():
        _account_or_404(db, user_id)
        accounts.detach_organization(db, user_id, organization_id)
    flash(_("Organization removed."), "success")
    return _back(user_id)


@bp.post("/users/<int:user_id>/role")
@requires(Role.ADMIN)
def change_role(user_id: int) -> Response:
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400, description=_("Choose a role from the list."))
    _not_yourself(user_id)
    with get_store().session() as db, db.begin():
        _account_or_404(db, user_id)
        accounts.set_role(db, user_id, form.role.data)
    flash(_("Role changed."), "success")
    return _back(user_id)


@bp.post("/users/<int:user_id>/active")
@requires(Role.ADMIN)
def set_active(user_id: int) -> Response:
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400, description=_("Choose whether the account may sign in."))
    _not_yourself(user_id)
    active = form.active.data == "1"
    with get_store().session() as db, db.begin():
        _account_or_404(db, user_id)
        accounts.set_active(db, user_id, active)
    flash(_("The account may sign in again.") if active else _("Account deactivated."), "success")
    return _back(user_id)


def _me() -> int | None:
    principal = current_principal()
    return principal.id if principal else None


def _not_yourself(user_id: int) -> None:
    """An admin cannot lock themselves out: another admin must do it."""
    if user_id == _me():
        abort(
            400,
            description=_(
                "You cannot change your own role or deactivate yourself; ask another administrator."
            ),
        )


def _account_or_404(db: Session, user_id: int) -> None:
    if db.get(AppUser, user_id) is None:
        abort(404)


def _back(user_id: int) -> Response:
    return redirect(url_for("admin.user", user_id=user_id), code=303)
