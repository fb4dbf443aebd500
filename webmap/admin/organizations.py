"""Administrators' organization pages: every organization (searchable, a page at a time) with
its editors, a form to add one, and one organization's page to attach or detach editors and see
its services. Admins only; every change is a POST form with a CSRF token."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import EmailField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import URL, DataRequired, Length, Optional, Regexp

from caremap import accounts, editors
from caremap.accounts import Role
from caremap.editors import DuplicateName
from caremap.model import AppUser, Organization
from webmap import get_store, url_with
from webmap.accounts.auth import requires
from webmap.admin.routes import ROLE_LABELS
from webmap.common.params import integer, text
from webmap.common.searching import clock

bp = Blueprint("admin_organizations", __name__, url_prefix="/admin/organizations")
MAX_QUERY = 200


class EditorForm(FlaskForm):
    user = SelectField(_l("Account"), choices=[], coerce=int, validators=[DataRequired()])


class OrganizationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=editors.MAX_NAME)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    website = URLField(
        _l("Website"),
        validators=[Optional(), URL(message=_l("Enter a web address.")), Length(max=500)],
    )
    email = EmailField(
        _l("E-mail address"),
        validators=[
            Optional(),
            Regexp(accounts.EMAIL_PATTERN.pattern, message=_l("Enter an e-mail address.")),
            Length(max=254),
        ],
    )


@bp.get("")
@requires(Role.ADMIN)
def index() -> str:
    """Organizations by name, with their editors; ``?q=`` narrows them, ``?page=`` pages."""
    query = text(request.args, "q", MAX_QUERY)
    number = integer(request.args, "page", 1, default=1)
    return _index(query, number, OrganizationForm(formdata=None))


def _index(query: str, number: int, form: OrganizationForm) -> str:
    with get_store().session() as db:
        page = editors.search(db, query, number)
    return render_template(
        "admin/organizations.html",
        page=page,
        query=query,
        form=form,
        pager=lambda n: url_with(page=str(n) if n > 1 else None),
    )


@bp.post("")
@requires(Role.ADMIN)
def create() -> Response | tuple[str, int]:
    """Add an organization by hand (to attach editors to, who then list its services)."""
    form = OrganizationForm()
    if not form.validate_on_submit():
        return _index("", 1, form), 400
    try:
        with get_store().session() as db, db.begin():
            created = editors.create_organization(
                db,
                form.name.data or "",
                clock().now,
                description=form.description.data or "",
                email=form.email.data,
                website=form.website.data,
            )
            organization_id = created.id
    except DuplicateName:
        form.name.errors = [_("An organization already has this name.")]
        return _index("", 1, form), 409
    flash(_("Organization added."), "success")
    return _back(organization_id)


@bp.get("/<organization_id>")
@requires(Role.ADMIN)
def organization(organization_id: str) -> str:
    """One organization: its editors (to detach, or add) and its services."""
    with get_store().session() as db:
        found = _organization_or_404(db, organization_id)
        attached = editors.editors_of(db, organization_id)
        services = editors.services_of(db, organization_id)
        form = EditorForm(formdata=None)
        form.user.choices = _candidates(db, attached)
    return render_template(
        "admin/organization.html",
        organization=found,
        editors=attached,
        services=services,
        form=form,
        role_labels=ROLE_LABELS,
    )


def _candidates(db: Session, attached: list[AppUser]) -> list[tuple[int, str]]:
    """Active accounts not yet attached, by e-mail address."""
    have = {user.id for user in attached}
    return [(u.id, u.email) for u in accounts.list_users(db) if u.active and u.id not in have]


@bp.post("/<organization_id>/editors")
@requires(Role.ADMIN)
def attach_editor(organization_id: str) -> Response:
    """Let an existing account edit this organization."""
    with get_store().session() as db, db.begin():
        _organization_or_404(db, organization_id)
        form = EditorForm()
        form.user.choices = _candidates(db, [])  # attaching twice changes nothing
        if not form.validate_on_submit():
            abort(400, description=_("Choose an account from the list."))
        accounts.attach_organizations(db, form.user.data, [organization_id])
    flash(_("Editor added."), "success")
    return _back(organization_id)


@bp.post("/<organization_id>/editors/<int:user_id>/detach")
@requires(Role.ADMIN)
def detach_editor(organization_id: str, user_id: int) -> Response:
    """The account no longer edits this organization."""
    with get_store().session() as db, db.begin():
        _organization_or_404(db, organization_id)
        if db.get(AppUser, user_id) is None:
            abort(404)
        accounts.detach_organization(db, user_id, organization_id)
    flash(_("Editor removed."), "success")
    return _back(organization_id)


def _organization_or_404(db: Session, organization_id: str) -> Organization:
    found = db.get(Organization, organization_id)
    if found is None:
        abort(404)
    return found


def _back(organization_id: str) -> Response:
    return redirect(
        url_for("admin_organizations.organization", organization_id=organization_id), code=303
    )
