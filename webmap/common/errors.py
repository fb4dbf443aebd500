"""Every error is a proper status with a message a person understands: an HTML page, or JSON
for API paths and clients that ask for JSON."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webmap.common.filters import said
from webmap.common.params import BadParameter

log = logging.getLogger(__name__)


def expired_form_message() -> str:
    """What a person reads when a form's token is missing, stale or from another site."""
    return _(
        "This form has expired or did not come from this site. "
        "Go back, reload the page and try again."
    )


def _friendly_message(error: HTTPException) -> str:
    if isinstance(error, CSRFError):
        return expired_form_message()
    messages = {
        400: lambda: _("The request was not understood."),
        401: lambda: _("Please sign in to continue."),
        403: lambda: _(
            "Your account may not do this. If you think it should, ask an administrator."
        ),
        404: lambda: _("This page does not exist, or the listing was removed."),
        405: lambda: _("This address does not accept that kind of request."),
        413: lambda: _("The file is too large to import."),
        429: lambda: _(
            "Too many failed attempts from your address. Please wait a few minutes and "
            "try again, or ask an administrator for a password reset link."
        ),
        500: lambda: _("Something went wrong on our side. Please try again."),
        503: lambda: _("The directory is not available right now. Please try again shortly."),
    }
    return messages.get(error.code or 500, lambda: error.description or error.name)()


# Werkzeug's and the extensions' own descriptions are English and technical: not shown.
QUIET_STATUSES = (401, 403, 404, 429)


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/hsds/", "/ogc/")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def handle_http_error(
    error: HTTPException,
) -> tuple[Response | str, int, list[tuple[str, str]]]:
    status = error.code or 500
    message = _friendly_message(error)
    quiet = status >= 500 or status in QUIET_STATUSES or isinstance(error, CSRFError)
    # A class's own description is Werkzeug's English, not ours: not shown either.
    default = error.description == type(error).description
    detail = None if quiet or default else error.description
    # The error's own headers stay: Allow on a 405, Retry-After, WWW-Authenticate.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    if wants_json():
        document = {"status": status, "error": error.name, "message": message, "detail": detail}
        if request.path.startswith("/ogc/"):
            document |= ogc_exception(error.name.replace(" ", ""), message)
        return jsonify(document), status, headers
    page = render_template("error.html", status=status, message=message, detail=detail)
    return page, status, headers


def ogc_exception(code: str, description: str) -> dict[str, str]:
    """The members of OGC API - Features' exception document (its ``exception.yaml``)."""
    return {"code": code, "description": description}


def handle_bad_parameter(error: BadParameter) -> tuple[Response | str, int]:
    """A value that cannot be used: JSON naming the parameter, or a page saying why."""
    if wants_json():
        return jsonify(
            {
                "status": 400,
                "error": "bad_parameter",
                "parameter": error.name,
                "message": error.message,
            }
        ), 400
    message = _("One of the values sent cannot be used.")
    detail = _("%(parameter)s: %(reason)s", parameter=error.name, reason=parameter_reason(error))
    return render_template("error.html", status=400, message=message, detail=detail), 400


def parameter_reason(error: BadParameter) -> str:
    """Why the parameter's value cannot be used, in the page's language."""
    return said(error.message)


def handle_unexpected(error: Exception) -> tuple[Response | str, int, list[tuple[str, str]]]:
    log.exception("unhandled error on %s", request.path)  # noqa: LOG004 - Flask is handling it
    return handle_http_error(InternalServerError())


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(BadParameter, handle_bad_parameter)
    app.register_error_handler(Exception, handle_unexpected)
