"""Editors' changes to listings. For now one: how many beds (or rooms) are available now,
set by an editor of the service's organization, a moderator or an admin."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, IntegerField
from wtforms.validators import DataRequired, InputRequired, NumberRange

from caremap import accounts
from caremap.capacity import CapacityError, countable_capacities, set_available
from caremap.model import ServiceCapacity
from webmap import get_store
from webmap.auth import current_principal, requires
from webmap.searching import clock

bp = Blueprint("edit", __name__, url_prefix="/edit")
MAX_COUNT = 100_000


class CapacityForm(FlaskForm):
    capacity_id = HiddenField(validators=[DataRequired()])
    available = IntegerField(
        _l("Available now"), validators=[InputRequired(), NumberRange(min=0, max=MAX_COUNT)]
    )


def organization_of_service(service_id: str) -> str | None:
    with get_store().session() as db:
        return accounts.organization_of_service(db, service_id)


@bp.post("/services/<service_id>/capacity")
@requires(organization=organization_of_service)
def capacity(service_id: str) -> Response:
    """Set how many are available now; the detail page shows it at once."""
    form = CapacityForm()
    if not form.validate_on_submit():
        abort(400, description=_("Enter the number available now: a whole number, 0 or more."))
    try:
        with get_store().session() as db, db.begin():
            updated = set_available(
                db,
                service_id,
                form.capacity_id.data or "",
                form.available.data,
                clock().now,
                current_principal(),
            )
    except CapacityError as error:
        abort(
            400,
            description=_(
                "The number available cannot be more than the %(maximum)d in all.",
                maximum=error.maximum,
            ),
        )
    if updated is None:
        abort(404)
    flash(_("Updated: %(available)d available now.", available=updated.available), "success")
    return redirect(url_for("main.service_detail", service_id=service_id), code=303)


def capacity_forms(service_id: str) -> list[tuple[ServiceCapacity, CapacityForm]]:
    """The update forms for the detail page: one per countable capacity, for those who may
    edit the service (none for anyone else)."""
    principal = current_principal()
    if principal is None:
        return []
    with get_store().session() as db:
        if not accounts.can_edit(principal, accounts.organization_of_service(db, service_id)):
            return []
        capacities = countable_capacities(db, service_id)
    return [
        (c, CapacityForm(formdata=None, capacity_id=c.id, available=c.available))
        for c in capacities
    ]
