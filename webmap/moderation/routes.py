"""Moderators' pages: pending change sets with their diffs, to approve or reject, problems
people reported with listings, to mark resolved or dismissed, and the listings nobody has
verified lately (also as CSV). Moderators and admins only."""

from __future__ import annotations

import io
from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length, Optional

from caremap import changes, matching, reports
from caremap.accounts import Role
from caremap.changes import AlreadyDecided, ChangeError, NotFound
from caremap.model import AppUser, ChangeSet, Location, Organization, Service
from caremap.queries import term_labels
from caremap.republish import services_changed
from caremap.spreadsheet import SafeWriter
from webmap import get_store, page_language
from webmap.accounts.auth import requires, signed_in
from webmap.common.errors import expired_form_message
from webmap.common.params import integer
from webmap.common.searching import clock, geography
from webmap.editing.change_text import action_label, field_label, refuse, value_text
from webmap.editing.edit import record_url
from webmap.reports.routes import report_views

bp = Blueprint("moderation", __name__, url_prefix="/moderation")
MAX_STALE_MONTHS = 120


class DecisionForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])


class MatchDecisionForm(FlaskForm):
    """A pair of records, by both sources' names and record ids."""

    source_a = HiddenField()
    record_a = HiddenField()
    source_b = HiddenField()
    record_b = HiddenField()

    def key(self) -> tuple[str, str, str, str]:
        fields = (self.source_a, self.record_a, self.source_b, self.record_b)
        return tuple(field.data or "" for field in fields)  # type: ignore[return-value]


@dataclass(frozen=True)
class Diff:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class PendingView:
    change_set: ChangeSet
    action: str
    kind: str  # what the record is: "" for a service (the queue's usual case)
    title: str  # the record's name
    url: str
    organization: str
    author: str
    diffs: list[Diff]


@bp.get("/")
@requires(Role.MODERATOR)
def queue() -> str:
    """Every pending change set, oldest first, each with its diff and decision form."""
    with get_store().session() as db:
        labels = term_labels(db, page_language())
        pending = [_pending_view(db, c, labels) for c in changes.pending_change_sets(db)]
        reported = report_views(reports.open_reports(db, signed_in()))
    return render_template(
        "moderation/queue.html", pending=pending, reported=reported, form=DecisionForm()
    )


def _pending_view(db: Session, change_set: ChangeSet, labels: dict[str, str]) -> PendingView:
    kind, title = _record_names(db, change_set)
    organization = db.get(Organization, change_set.organization_id)
    author = db.get(AppUser, change_set.author_id) if change_set.author_id else None
    return PendingView(
        change_set=change_set,
        action=action_label(change_set.action),
        kind=kind,
        title=title if title is not None else _("(no longer listed)"),
        url=record_url(change_set.record_type, change_set.record_id),
        organization=organization.name if organization else "",
        author=author.email if author else "",
        diffs=[
            Diff(
                field_label(c.field_name),
                value_text(c.field_name, c.old_value, labels),
                value_text(c.field_name, c.new_value, labels),
            )
            for c in change_set.changes
        ],
    )


def _record_names(db: Session, change_set: ChangeSet) -> tuple[str, str | None]:
    """What the changed record is, and its name (None when it no longer exists)."""
    if change_set.record_type == "organization":
        organization = db.get(Organization, change_set.record_id)
        return _("Organization"), organization.name if organization else None
    if change_set.record_type == "location":
        location = db.get(Location, change_set.record_id)
        return _("Location"), (location.name or _("(no name)")) if location else None
    service = db.get(Service, change_set.record_id)
    return "", service.name if service else None


@bp.post("/changes/<int:change_set_id>/approve")
@requires(Role.MODERATOR)
def approve(change_set_id: int) -> Response:
    """Publish a pending change set (refused, 409, when the listing changed since or the
    change set was already decided)."""
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400, description=_("A comment may have at most 2000 characters."))
    return _decide(change_set_id, form.comment.data or "", approving=True)


@bp.post("/changes/<int:change_set_id>/reject")
@requires(Role.MODERATOR)
def reject(change_set_id: int) -> Response:
    """Refuse a pending change set; the comment says why."""
    form = DecisionForm()
    if not form.validate_on_submit() or not (form.comment.data or "").strip():
        abort(400, description=_("Say why the change is rejected, in the comment."))
    return _decide(change_set_id, form.comment.data or "", approving=False)


def _decide(change_set_id: int, comment: str, approving: bool) -> Response:
    principal, now = signed_in(), clock().now
    try:
        with get_store().session() as db, db.begin():
            if approving:
                changes.approve(db, principal, change_set_id, now, comment, geography())
            else:
                changes.reject(db, principal, change_set_id, comment, now)
    except NotFound:
        abort(404, description=_("No such change, or its listing no longer exists."))
    except AlreadyDecided:
        abort(409, description=_("This change was already decided."))
    except ChangeError as error:  # a conflict (409); a location not placed, a street named (400)
        refuse(error)
    flash(_("Approved and published.") if approving else _("Rejected."), "success")
    return redirect(url_for("moderation.queue"), code=303)


@bp.post("/reports/<int:report_id>/resolve")
@requires(Role.MODERATOR)
def resolve_report(report_id: int) -> Response:
    """The reported problem was dealt with."""
    return _decide_report(report_id, reports.RESOLVED)


@bp.post("/reports/<int:report_id>/dismiss")
@requires(Role.MODERATOR)
def dismiss_report(report_id: int) -> Response:
    """The report needs nothing done."""
    return _decide_report(report_id, reports.DISMISSED)


def _decide_report(report_id: int, decision: str) -> Response:
    """404 for no such report; 409 when it was decided already."""
    principal, now = signed_in(), clock().now
    try:
        with get_store().session() as db, db.begin():
            reports.decide(db, principal, report_id, decision, now)
    except NotFound:
        abort(404, description=_("No such report."))
    except reports.AlreadyDecided:
        abort(409, description=_("This report was already marked resolved or dismissed."))
    flash(_("Marked resolved.") if decision == reports.RESOLVED else _("Dismissed."), "success")
    return redirect(url_for("moderation.queue"), code=303)


@bp.get("/matches")
@requires(Role.MODERATOR)
def matches() -> str:
    """The pairs of records of different sources that may be one service, to merge or not."""
    with get_store().engine.connect() as connection:
        pairs = matching.review_queue(connection)
    return render_template("moderation/matches.html", pairs=pairs, form=MatchDecisionForm())


@bp.post("/matches/accept")
@requires(Role.MODERATOR)
def accept_match() -> Response:
    """The two records are one service: publish them as one entry."""
    return _decide_match(accept=True)


@bp.post("/matches/reject")
@requires(Role.MODERATOR)
def reject_match() -> Response:
    """The two records are different services: publish them apart."""
    return _decide_match(accept=False)


def _decide_match(accept: bool) -> Response:
    """Record the decision and publish the paired services again; 404 for no such pair, 409
    for merging a record merged already."""
    form = MatchDecisionForm()
    if not form.validate_on_submit():
        abort(400, description=expired_form_message())
    with get_store().engine.begin() as connection:
        try:
            decided = matching.decide(connection, form.key(), accept, signed_in().id)
        except matching.AlreadyMerged:
            abort(
                409,
                description=_(
                    "One of these records is merged with another record already: a record "
                    "merges with one other at most."
                ),
            )
        if not decided:
            abort(404, description=_("No such pair of records."))
        services_changed(connection, sorted(matching.matched_services(connection)))
    flash(_("Merged into one listing.") if accept else _("Kept as separate listings."), "success")
    return redirect(url_for("moderation.matches"), code=303)


def _months() -> int:
    default = int(current_app.config["STALE_MONTHS"])
    return integer(request.args, "months", 1, MAX_STALE_MONTHS, default=default)


def _stale(months: int) -> list[changes.StaleService]:
    with get_store().session() as db:
        return changes.stale_services(db, months, clock().now)


@bp.get("/stale")
@requires(Role.MODERATOR)
def stale() -> str:
    """Listings not verified in the last N months (or never), the oldest first."""
    months = _months()
    return render_template("moderation/stale.html", months=months, services=_stale(months))


@bp.get("/stale.csv")
@requires(Role.MODERATOR)
def stale_csv() -> Response:
    months = _months()
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(["service_id", "service", "organization", "last_verified_at"])
    for s in _stale(months):
        verified = s.last_verified_at.isoformat() if s.last_verified_at else ""
        writer.writerow([s.id, s.name, s.organization, verified])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="stale-{months}-months.csv"'},
    )
