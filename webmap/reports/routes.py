"""The form behind "Report a problem with this listing", on every public listing: no account,
CSRF-protected; it keeps what is wrong and the text typed, nothing about who sent it
(:mod:`caremap.reports`). Reports are limited per client: beyond the limit, 429. A
confidential listing's form shows what its public page shows: its name. Also how open
reports read for moderators and editors (:func:`report_views`)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length

from caremap import reports
from caremap.fields import clean_text
from caremap.queries import public_service
from webmap import get_store
from webmap.common.searching import clock

bp = Blueprint("reports", __name__)

KIND_LABELS = {
    "closed": _l("The service has closed"),
    "phone": _l("Wrong phone number"),
    "hours": _l("Wrong hours"),
    "address": _l("Wrong address or area"),
    "other": _l("Something else"),
}


class ReportForm(FlaskForm):
    kind = RadioField(
        _l("What is wrong?"),
        choices=[SelectChoice(kind, KIND_LABELS[kind]) for kind in reports.KINDS],
        validate_choice=False,  # AnyOf says it in the page's language
        validators=[
            InputRequired(message=_l("Choose what is wrong.")),
            AnyOf(reports.KINDS, message=_l("Choose what is wrong.")),
        ],
    )
    text = TextAreaField(
        _l("Describe the problem"),
        description=_l("Do not include your name or contact details."),
        filters=[clean_text],
        validators=[
            DataRequired(message=_l("Describe the problem.")),
            Length(
                max=reports.MAX_TEXT,
                message=_l("At most %(max)d characters.", max=reports.MAX_TEXT),
            ),
        ],
    )


@dataclass(frozen=True)
class ReportView:
    """An open report as the moderators' queue and the editor's dashboard show it."""

    id: int
    title: str  # the listing's name
    url: str  # its edit page
    kind: str
    text: str
    age: str


def report_views(open_reports: list[reports.OpenReport]) -> list[ReportView]:
    """How open reports read: the listing, what is wrong, the text, how long ago."""
    now = clock().now
    return [
        ReportView(
            id=item.report.id,
            title=item.service_name if item.service_name is not None else _("(no longer listed)"),
            url=url_for("edit.service", service_id=item.report.service_id),
            kind=str(KIND_LABELS.get(item.report.kind, item.report.kind)),
            text=item.report.text,
            age=format_timedelta(now - item.report.created_at, add_direction=True),
        )
        for item in open_reports
    ]


@bp.route("/services/<service_id>/report", methods=["GET", "POST"])
def report(service_id: str) -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """The form; a valid report goes to the moderators, then a thank-you page."""
    with get_store().session() as db:
        service = public_service(db, service_id)
    if service is None:
        abort(404)
    form = ReportForm()
    if request.method == "POST":
        client, now = _client(), clock().now
        with get_store().session() as db:
            if reports.too_many(db, client, now):
                return _too_many()
        if form.validate_on_submit():
            with get_store().session() as db, db.begin():
                reports.file_report(
                    db, service_id, form.kind.data or "", form.text.data or "", client, now
                )
            return redirect(url_for("reports.thanks", service_id=service_id), code=303)
    status = 400 if form.errors else 200
    return render_template(
        "reports/form.html", form=form, service=service, max_text=reports.MAX_TEXT
    ), status


@bp.get("/services/<service_id>/report/thanks")
def thanks(service_id: str) -> str:
    return render_template("reports/thanks.html", service_id=service_id)


def _client() -> str:
    """The keyed digest of the client's address (behind ``PROXY_HOPS`` proxies, the address
    they forward)."""
    return reports.client_key(current_app.config["SECRET_KEY"], request.remote_addr or "")


def _too_many() -> tuple[str, int, dict[str, str]]:
    message = _("Too many reports from your address. Please try again in an hour.")
    page = render_template("error.html", status=429, message=message, detail=None)
    return page, 429, {"Retry-After": str(int(reports.LIMIT.span.total_seconds()))}
