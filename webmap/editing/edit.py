"""Editors' changes to listings: a service's edit form (a change set for a moderator, see
:mod:`caremap.changes`), "nothing changed — verify", revert of a history entry, and how many
beds (or rooms) are available now (published at once). For an editor of the service's
organization, a moderator or an admin."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NoReturn

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import HiddenField, IntegerField
from wtforms.validators import DataRequired, NumberRange, Optional

from caremap import accounts, changes, history
from caremap.capacity import CapacityError, countable_capacities, set_available
from caremap.changes import ChangeError, ConflictError, NotFound
from caremap.model import ChangeSet, HistoryEntry, ServiceCapacity
from caremap.queries import (
    ServiceName,
    public_entry_of_merged,
    public_service_names,
    service_names,
    term_labels,
    vocabulary_choices,
)
from webmap import get_store, page_language
from webmap.accounts.auth import current_principal, requires, safe_next, signed_in
from webmap.common.searching import clock, geography
from webmap.editing.change_text import action_label, field_label, refuse, value_text
from webmap.editing.service_form import DAY_LABELS, DAYS, build_form, edits_of, hours_of

bp = Blueprint("edit", __name__, url_prefix="/edit")
MAX_COUNT = 100_000
REJECTIONS_SHOWN = 5  # the latest, with the moderator's reasons


class CapacityForm(FlaskForm):
    capacity_id = HiddenField(validators=[DataRequired()])
    available = IntegerField(  # empty: no new count
        _l("Available now"), validators=[Optional(), NumberRange(min=0, max=MAX_COUNT)]
    )


def organization_of_service(service_id: str) -> str | None:
    with get_store().session() as db:
        return accounts.organization_of_service(db, service_id)


def organization_of_entry(entry_id: int) -> str | None:
    """The organization of the record a history entry belongs to."""
    with get_store().session() as db:
        entry = db.get(HistoryEntry, entry_id)
        if entry is None:
            return None
        try:
            return changes.record_of_entry(db, entry).organization_id
        except NotFound:
            return None


def _detail(service_id: str) -> Response:
    """Back to ``?next=`` (the dashboard's forms say where), else to the service's page."""
    detail = url_for("main.service_detail", service_id=service_id)
    return redirect(safe_next(detail), code=303)


@bp.route("/services/<service_id>", methods=["GET", "POST"])
@requires(organization=organization_of_service)
def service(service_id: str) -> Response | tuple[str, int] | str:
    """The service's edit form; a submitted edit becomes a change set (pending for an
    editor, published at once for a moderator)."""
    with get_store().session() as db:
        values = changes.current_values(db, service_id)
        choices = vocabulary_choices(db)
        names, entries = _next_step_targets(db, values["next_steps"])
    form = build_form(
        values,
        choices,
        page_language(),
        formdata=request.method == "POST",
        services=(service_id, names),
        entries=entries,
    )
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if form.errors else 200
        page = render_template(
            "edit/service.html",
            form=form,
            service_id=service_id,
            values=values,
            days=[(day, DAY_LABELS[day]) for day in DAYS],
            not_shown=hours_of(values["schedules"]).not_shown,
        )
        return page, status
    try:
        with get_store().session() as db, db.begin():
            change_set = changes.propose(
                db, signed_in(), service_id, edits_of(form, values), clock().now
            )
    except ChangeError as error:
        refuse(error)
    flash(submitted_message(change_set), "success")
    return _detail(service_id)


def _next_step_targets(
    db: Session, links: list[dict[str, Any]]
) -> tuple[list[ServiceName], dict[str, str]]:
    """The services a next step chooses from, and the entry each linked service merged into
    another shows as (merged service id → entry id). A linked service merged into an entry
    at a confidential location is not shown as that entry (:func:`public_entry_of_merged`):
    it stays a choice, under its own name."""
    linked = {link["service_id"] for link in links}
    entries = {
        merged: entry
        for merged in sorted(linked)
        if (entry := public_entry_of_merged(db, merged)) is not None
    }
    names = public_service_names(db)
    listed = {name.id for name in names}
    kept = [s for s in service_names(db) if s.id in linked - listed - entries.keys()]
    return sorted([*names, *kept], key=lambda s: (s.name, s.id)), entries


def submitted_message(change_set: ChangeSet | None) -> str:
    if change_set is None:
        return _("Nothing changed.")
    if change_set.status == changes.PENDING:
        return _("Thank you: your changes were sent to a moderator.")
    return _("Your changes are published.")


@bp.post("/services/<service_id>/verify")
@requires(organization=organization_of_service)
def verify(service_id: str) -> Response:
    """Nothing changed: the listing is verified as of now."""
    with get_store().session() as db, db.begin():
        changes.verify(db, signed_in(), service_id, clock().now)
    flash(_("Thank you: the listing is marked as verified today."), "success")
    return _detail(service_id)


@bp.get("/history/<int:entry_id>/revert")
@requires(organization=organization_of_entry)
def confirm_revert(entry_id: int) -> str:
    """What reverting a history entry would change, to confirm or cancel."""
    with get_store().session() as db:
        entry = db.get(HistoryEntry, entry_id)
        if entry is None:  # deleted since the organization was checked
            abort(404)
        try:
            record = changes.record_of_entry(db, entry)
            reverted = changes.revert_changes(db, entry)
        except ChangeError as error:
            _refuse_revert(error)
        labels = term_labels(db, page_language())
    return render_template(
        "edit/revert.html",
        entry_id=entry_id,
        lines=[
            (field_label(name), _value(name, now, labels), _value(name, after, labels))
            for _kind, _id, name, now, after in reverted
        ],
        cancel=record_url(record.type, record.id),
    )


def _value(field_name: str, value: object, labels: dict[str, str]) -> str:
    return value_text(field_name, history.encode(value), labels)


@bp.post("/history/<int:entry_id>/revert")
@requires(organization=organization_of_entry)
def revert(entry_id: int) -> Response:
    """Put a history entry's previous value back (through moderation, for an editor), once
    confirmed; unconfirmed, the page that asks."""
    if request.form.get("confirm") != "yes":
        return redirect(url_for("edit.confirm_revert", entry_id=entry_id), code=303)
    try:
        with get_store().session() as db, db.begin():
            change_set = changes.revert(db, signed_in(), entry_id, clock().now, geography())
    except ChangeError as error:
        _refuse_revert(error)
    pending = change_set.status == changes.PENDING
    flash(_("The revert was sent to a moderator.") if pending else _("Reverted."), "success")
    return redirect(record_url(change_set.record_type, change_set.record_id), code=303)


def _refuse_revert(error: ChangeError) -> NoReturn:
    """409 when the field changed again since, 404 for no such entry, else 400."""
    if isinstance(error, ConflictError):
        abort(
            409,
            description=_(
                "This cannot be reverted: the field changed again since. "
                "Revert the later change first."
            ),
        )
    if isinstance(error, NotFound):
        abort(404)
    abort(400, description=_("This change cannot be reverted."))


def record_url(record_type: str, record_id: str) -> str:
    """The page a record is seen and edited on: a service's detail page, else its edit form."""
    if record_type == "service":
        return url_for("main.service_detail", service_id=record_id)
    if record_type == "organization":
        return url_for("records.organization", organization_id=record_id)
    return url_for("records.location", location_id=record_id)


@bp.post("/services/<service_id>/capacity")
@requires(organization=organization_of_service)
def capacity(service_id: str) -> Response:
    """Set how many are available now; the detail page shows it at once. Without a number
    the last count stays as it was reported (not republished as current)."""
    form = CapacityForm()
    if not form.validate_on_submit():
        abort(400, description=_("Enter the number available now: a whole number, 0 or more."))
    if form.available.data is None:
        flash(_("Nothing changed: enter a number to report how many are available now."), "info")
        return _detail(service_id)
    try:
        with get_store().session() as db, db.begin():
            updated = set_available(
                db,
                service_id,
                form.capacity_id.data or "",
                form.available.data,
                clock().now,
                signed_in(),
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
    return _detail(service_id)


def _may_edit(db: Session, service_id: str) -> bool:
    """Whether the signed-in person may edit the service (False when nobody is signed in)."""
    principal = current_principal()
    return principal is not None and accounts.can_edit(
        principal, accounts.organization_of_service(db, service_id)
    )


def capacity_forms(service_id: str) -> list[tuple[ServiceCapacity, CapacityForm]]:
    """The update forms for the detail page: one per countable capacity, for those who may
    edit the service (none for anyone else)."""
    with get_store().session() as db:
        if not _may_edit(db, service_id):
            return []
        capacities = countable_capacities(db, service_id)
    return [(c, CapacityForm(formdata=None, capacity_id=c.id)) for c in capacities]


@dataclass(frozen=True)
class HistoryLine:
    """A history entry as its service's page shows it."""

    id: int
    when: dt.datetime
    who: str
    action: str
    field: str
    old: str
    new: str
    revertible: bool


@dataclass(frozen=True)
class Editing:
    """What a record's page shows those who may edit it."""

    organization_id: str
    history: list[HistoryLine]
    pending: int  # change sets awaiting a moderator
    rejected: list[tuple[dt.datetime, str]]  # when, and the moderator's comment


def editing(service_id: str) -> Editing | None:
    """The history and pending changes of a service, for those who may edit it (None for
    anyone else: history may hold what the public does not see)."""
    with get_store().session() as db:
        if not _may_edit(db, service_id):
            return None
        return _editing(
            db,
            accounts.organization_of_service(db, service_id) or "",
            history.of_service(db, service_id),
            changes.change_sets_of(db, service_id),
        )


def record_editing(db: Session, record: changes.Record) -> Editing:
    """The history and pending changes of an organization's or a location's own fields; for
    pages only those who may edit (and so read the private fields of) the record reach."""
    return _editing(
        db,
        record.organization_id,
        history.of_record(db, record.type, record.id),
        changes.change_sets_of(db, record.id, record.type),
    )


def _editing(
    db: Session, organization_id: str, entries: list[HistoryEntry], change_sets: list[ChangeSet]
) -> Editing:
    labels = term_labels(db, page_language())
    return Editing(
        organization_id=organization_id,
        history=[_line(e, labels) for e in entries],
        pending=sum(1 for c in change_sets if c.status == changes.PENDING),
        rejected=[
            (c.decided_at, c.comment)
            for c in change_sets
            if c.status == changes.REJECTED and c.decided_at
        ][:REJECTIONS_SHOWN],
    )


def _line(entry: HistoryEntry, labels: dict[str, str]) -> HistoryLine:
    return HistoryLine(
        id=entry.id,
        when=entry.last_action_date,
        who=entry.updated_by,
        action=action_label(entry.last_action_type),
        field=field_label(entry.field_name),
        old=value_text(entry.field_name, entry.previous_value, labels),
        new=value_text(entry.field_name, entry.replacement_value, labels),
        revertible=(entry.resource_type, entry.field_name) in changes.FIELDS,
    )
