"""Bulk import: an editor uploads their organization's whole listing (the CSV template, or an HSDS
3.0 data package), reads the dry run's row-level report, then applies it — see
:mod:`etl.upload`. Editors upload for their own organizations, moderators and admins for any.

Limits (app config): ``MAX_CONTENT_LENGTH`` bytes per request (413 beyond),
``BULK_MAX_ROWS`` listings, ``BULK_TIME_LIMIT`` seconds to check a file,
``BULK_MAX_UNZIPPED_BYTES`` for a zip once unpacked; an upload is kept ``BULK_UPLOAD_HOURS``
between its dry run and its apply, in ``BULK_UPLOAD_DIR``.
"""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField
from wtforms.validators import DataRequired

from caremap import accounts, reasons
from caremap.model import Organization
from caremap.reasons import reason_of
from caremap.settings import PROJECT_ROOT
from caremap.spreadsheet import SafeWriter
from etl import upload as uploads
from etl.pipeline import Checked, LimitExceeded, Limits, Reference, load_reference
from webmap import get_store, url_with
from webmap.accounts.auth import current_principal, requires, signed_in
from webmap.common.filters import said

bp = Blueprint("bulk", __name__, url_prefix="/bulk")

TEMPLATES_DIR = PROJECT_ROOT / "data" / "templates"
TEMPLATE_FILES = ("listings_template.csv", "listings_example.csv", "README.md")


class UploadForm(FlaskForm):
    files = MultipleFileField(_l("Your file"))


class ApplyForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


def organization_name(organization_id: str) -> str | None:
    """The organization's name; None if there is no such organization."""
    with get_store().session() as db:
        organization = db.get(Organization, organization_id)
        return organization.name if organization else None


def _organization(organization_id: str, **_url_args: str) -> str | None:
    return organization_id if organization_name(organization_id) is not None else None


@functools.cache
def _reference(data_dir: Path) -> Reference:
    return load_reference(data_dir)


def _upload_dir() -> Path:
    return Path(current_app.config["BULK_UPLOAD_DIR"])


def _max_age() -> float:
    return float(current_app.config["BULK_UPLOAD_HOURS"]) * 3600


@bp.get("/")
@requires()
def index() -> str | Response:
    """The organizations this person may upload for, and the template; for someone who may
    upload for one only, straight to its upload."""
    principal = current_principal()
    with get_store().session() as db:
        organizations = [
            (organization_id, name)
            for organization_id, name in accounts.organization_names(db)
            if accounts.can_edit(principal, organization_id)
        ]
    if len(organizations) == 1:
        [(organization_id, _name)] = organizations
        return redirect(url_with("bulk.upload_form", organization_id=organization_id), code=303)
    return render_template("bulk/index.html", organizations=organizations)


@bp.get("/templates/<name>")
def template_file(name: str) -> Response:
    """The listing template, its example and its documentation (public: no data in them)."""
    if name not in TEMPLATE_FILES:
        abort(404)
    is_csv = name.endswith(".csv")
    return Response(
        (TEMPLATES_DIR / name).read_bytes(),
        mimetype="text/csv" if is_csv else "text/markdown",
        headers={"Content-Disposition": f"{'attachment' if is_csv else 'inline'}; filename={name}"},
    )


@bp.get("/organizations/<organization_id>/")
@requires(organization=_organization)
def upload_form(organization_id: str) -> str:
    return _form_page(organization_id, UploadForm())


def _form_page(organization_id: str, form: UploadForm, status: int = 200) -> Any:
    page = render_template(
        "bulk/upload.html",
        form=form,
        organization_id=organization_id,
        organization=organization_name(organization_id),
        limits=_limits_text(),
    )
    return page, status


@bp.post("/organizations/<organization_id>/check")
@requires(organization=_organization)
def check(organization_id: str) -> Any:
    """The dry run: keep the files, check them, show the report; nothing is written."""
    form = UploadForm()
    if not form.validate_on_submit():
        abort(400)
    uploads.discard_expired(_upload_dir(), _max_age())
    files = {f.filename or "": f.read() for f in form.files.data or [] if f and f.filename}
    try:
        upload = uploads.save_upload(_upload_dir(), signed_in().id, organization_id, files)
    except uploads.UploadError as error:
        form.files.errors = [_upload_error(error.code)]
        return _form_page(organization_id, form, 400)
    checked = _run(upload, uploads.check_upload)
    _save_report(upload, checked)
    return redirect(
        url_for("bulk.report", organization_id=organization_id, token=upload.token), code=303
    )


@bp.get("/organizations/<organization_id>/uploads/<token>")
@requires(organization=_organization)
def report(organization_id: str, token: str) -> str:
    """The dry run's report, and the button that applies it."""
    upload = _open(organization_id, token)
    saved = _read_report(upload)
    return render_template(
        "bulk/report.html",
        organization_id=organization_id,
        organization=organization_name(organization_id),
        upload=upload,
        report=saved,
        form=ApplyForm(formdata=None, token=upload.token),
    )


@bp.get("/organizations/<organization_id>/uploads/<token>/report.csv")
@requires(organization=_organization)
def report_csv(organization_id: str, token: str) -> Response:
    """The same report as a CSV file: file, line, field, value, reason."""
    saved = _read_report(_open(organization_id, token))
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(uploads.REPORT_COLUMNS)
    writer.writerows(
        [row[column] for column in uploads.REPORT_COLUMNS] for row in saved["rejected"]
    )
    return Response(
        "\ufeff" + buffer.getvalue(),  # a BOM, so that spreadsheets read the accents
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=caremap-import-report.csv"},
    )


@bp.post("/organizations/<organization_id>/apply")
@requires(organization=_organization)
def apply(organization_id: str) -> Response:
    """Check the same bytes again and load them, all or nothing."""
    form = ApplyForm()
    if not form.validate_on_submit():
        abort(400)
    upload = _open(organization_id, form.token.data or "")
    checked = _run(upload, uploads.apply_upload)
    uploads.discard(upload)
    counts = checked.report.counts
    flash(
        _(
            "Done: %(inserted)d added, %(updated)d changed, %(unchanged)d unchanged, "
            "%(removed)d removed, %(rejected)d rows not loaded.",
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
            removed=counts.removed,
            rejected=len(checked.report.rejected),
        ),
        "success",
    )
    return redirect(url_for("bulk.upload_form", organization_id=organization_id), code=303)


def _open(organization_id: str, token: str) -> uploads.Upload:
    upload = uploads.open_upload(_upload_dir(), token, signed_in().id, organization_id, _max_age())
    if upload is None:
        abort(404, description=_("This upload has expired or is not yours. Upload the file again."))
    return upload


def _run(upload: uploads.Upload, step: Any) -> Checked:
    """Run a pipeline step (check or apply) within the configured limits; a file beyond them,
    or one that cannot be read at all, is a clear error and nothing is written."""
    config = current_app.config
    reference = _reference(Path(config["DATA_DIR"]))
    limits = Limits(config["BULK_MAX_ROWS"], config["BULK_TIME_LIMIT"])
    name = organization_name(upload.organization_id) or ""
    try:
        return step(get_store(), reference, upload, name, limits, config["BULK_MAX_UNZIPPED_BYTES"])
    except LimitExceeded as error:
        uploads.discard(upload)
        abort(413, description=_limit_error(error))
    except ValueError as error:  # the whole file is unreadable: no header, bad zip …
        uploads.discard(upload)
        abort(
            400, description=_("The file cannot be read: %(reason)s", reason=said(reason_of(error)))
        )


def _save_report(upload: uploads.Upload, checked: Checked) -> None:
    report = checked.report
    counts = report.counts
    saved = {
        "counts": vars(counts) if counts else {},
        "rejected": [
            row | {"reason": reasons.encode(row["reason"])}
            for row in uploads.report_rows(report.rejected)
        ],
        "warnings": [[line, rid, reasons.encode(text)] for line, rid, text in report.warnings],
        "names": list(upload.names),
    }
    (upload.folder / "report.json").write_text(json.dumps(saved), encoding="utf-8")


def _read_report(upload: uploads.Upload) -> dict[str, Any]:
    path = upload.folder / "report.json"
    if not path.is_file():
        abort(404)
    saved = json.loads(path.read_text(encoding="utf-8"))
    for row in saved["rejected"]:  # in the page's language
        row["reason"] = said(reasons.decode(row["reason"]))
    for warning in saved["warnings"]:
        warning[2] = said(reasons.decode(warning[2]))
    return saved


def _upload_error(code: str) -> str:
    messages = {
        "no_file": _("Choose a file to upload."),
        "file_type": _(
            "This kind of file cannot be imported. Upload a CSV file made from the template, "
            "or an HSDS data package (a .zip file, or datapackage.json with its CSV files)."
        ),
        "no_descriptor": _(
            "Several files were chosen, but not datapackage.json. Upload one CSV file, "
            "or all the files of an HSDS data package."
        ),
    }
    return messages[code]


def _limit_error(error: LimitExceeded) -> str:
    limit = int(error.limit)
    messages = {
        "rows": _(
            "The file has more than %(limit)d listings. Split it, or ask an administrator.",
            limit=limit,
        ),
        "seconds": _(
            "Checking the file took longer than %(limit)d seconds, so it was stopped. Nothing "
            "was changed. Try a smaller file.",
            limit=limit,
        ),
        "unzipped bytes": _(
            "The zip file is larger than %(limit)d MB once unpacked.",
            limit=limit // (1024 * 1024),
        ),
    }
    return messages[error.kind]


def _limits_text() -> str:
    config = current_app.config
    return _(
        "At most %(size)d MB, %(rows)d listings, and %(seconds)d seconds to check.",
        size=int(config["MAX_CONTENT_LENGTH"]) // (1024 * 1024),
        rows=config["BULK_MAX_ROWS"],
        seconds=config["BULK_TIME_LIMIT"],
    )
