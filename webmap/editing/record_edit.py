"""Editing an organization and its locations (change sets for a moderator, see
:mod:`caremap.changes`), and the geocoder the location form's "Find on map" asks.

A location's edit form holds its **exact** point, so only those who may read the
organization's private fields reach it (its editors, moderators, admins): anyone else gets 403
before anything is read. The geocoder answers from the public gazetteer only.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from caremap import accounts, changes, record_fields
from caremap.changes import ChangeError
from caremap.geocoder import Precision
from caremap.locate import LocateError, LocatePrecision, locate
from caremap.model import Location, Organization, Service, ServiceAtLocation
from caremap.normalise import PROVINCES
from caremap.placement import PlacementError, jurisdictions
from caremap.reasons import reason_of
from webmap import get_store, page_language
from webmap.accounts.auth import current_principal, requires, signed_in
from webmap.common.filters import said
from webmap.common.searching import clock, gazetteer, geography
from webmap.editing.change_text import point_text, refuse
from webmap.editing.edit import record_editing, submitted_message
from webmap.editing.record_forms import (
    LocationForm,
    OrganizationForm,
    address_text,
    location_edits,
    location_form,
    organization_edits,
    organization_form,
)

bp = Blueprint("records", __name__, url_prefix="/edit")


def organization_id_of(organization_id: str) -> str | None:
    """The organization itself (None when there is none)."""
    with get_store().session() as db:
        return db.scalar(select(Organization.id).where(Organization.id == organization_id))


def organization_of_location(location_id: str) -> str | None:
    with get_store().session() as db:
        return db.scalar(select(Location.organization_id).where(Location.id == location_id))


@bp.route("/organizations/<organization_id>", methods=["GET", "POST"])
@requires(organization=organization_id_of)
def organization(organization_id: str) -> Response | tuple[str, int]:
    """The organization's edit form, its services and its locations."""
    with get_store().session() as db:
        values = changes.record_values(db, "organization", organization_id)
    form = organization_form(values, formdata=request.method == "POST")
    if request.method == "GET" or not form.validate_on_submit():
        return _organization_page(organization_id, values, form), 400 if form.errors else 200
    _propose("organization", organization_id, organization_edits(form))
    return redirect(url_for("records.organization", organization_id=organization_id), code=303)


def _organization_page(organization_id: str, values: dict[str, Any], form: OrganizationForm) -> str:
    with get_store().session() as db:
        services = db.execute(
            select(Service.id, Service.name)
            .where(Service.organization_id == organization_id)
            .order_by(Service.name, Service.id)
        ).all()
        locations = db.execute(
            select(Location.id, Location.name, Location.confidential)
            .where(Location.organization_id == organization_id)
            .order_by(Location.name, Location.id)
        ).all()
        record = changes.record_of(db, "organization", organization_id)
        editing = record_editing(db, record)
    return render_template(
        "edit/organization.html",
        form=form,
        organization_id=organization_id,
        values=values,
        services=services,
        locations=locations,
        editing=editing,
    )


@bp.route("/locations/<location_id>", methods=["GET", "POST"])
@requires(organization=organization_of_location)
def location(location_id: str) -> Response | tuple[str, int]:
    """The location's edit form: address, point on a map, confidentiality."""
    with get_store().session() as db:
        record = changes.record_of(db, "location", location_id)
        if not accounts.can_read_private(current_principal(), record.organization_id):
            abort(403)
        values = changes.record_values(db, "location", location_id)
    form = location_form(values, page_language(), formdata=request.method == "POST")
    if request.method == "GET" or not form.validate_on_submit():
        return _location_page(record, values, form), 400 if form.errors else 200
    if "find" in request.form:  # "Find on map" without JavaScript: show the point, save nothing
        found = _geocode(address_text(form))
        if found is None:
            form.form_errors.append(_("No place was found for this address."))
            return _location_page(record, values, form), 200
        form.latitude.data, form.longitude.data = repr(found["latitude"]), repr(found["longitude"])
        form.precision.data = found["precision"]
        return _location_page(record, values, form), 200
    try:
        edits = location_edits(form, values, _geocode)
        _check_point(edits.get("point", values["point"]), form.province.data or "")
    except ValueError as error:
        form.form_errors.append(said(reason_of(error)))
        return _location_page(record, values, form), 400
    _propose("location", location_id, edits)
    return redirect(url_for("records.location", location_id=location_id), code=303)


def _location_page(record: changes.Record, values: dict[str, Any], form: LocationForm) -> str:
    with get_store().session() as db:
        services = db.execute(
            select(Service.id, Service.name)
            .join(ServiceAtLocation, ServiceAtLocation.service_id == Service.id)
            .where(ServiceAtLocation.location_id == record.id)
            .order_by(Service.name, Service.id)
        ).all()
        organization_name = db.scalar(
            select(Organization.name).where(Organization.id == record.organization_id)
        )
        editing = record_editing(db, record)
    point = form.point()
    shown = point and {
        "latitude": point[0],
        "longitude": point[1],
        "precision": form.precision.data,
    }
    return render_template(
        "edit/location.html",
        form=form,
        location_id=record.id,
        organization_id=record.organization_id,
        organization_name=organization_name,
        values=values,
        point=point_text(shown) if shown else "",
        services=services,
        editing=editing,
    )


def _check_point(point: dict[str, Any], province: str) -> None:
    """ValueError (a message for the form) for a point outside Canada or the province."""
    try:
        pruid, _cduid = jurisdictions(geography(), point["latitude"], point["longitude"])
    except PlacementError:
        raise ValueError(_("This point is outside Canada.")) from None
    stated = PROVINCES.get(province)
    if stated is not None and stated.pruid != pruid:
        found = next(p for p in PROVINCES.values() if p.pruid == pruid)
        names = {
            "found": found.name_fr if page_language() == "fr" else found.name_en,
            "province": stated.name_fr if page_language() == "fr" else stated.name_en,
        }
        raise ValueError(_("This point is in %(found)s, not in %(province)s.", **names))


def _propose(record_type: str, record_id: str, edits: dict[str, Any]) -> None:
    try:
        with get_store().session() as db, db.begin():
            change_set = changes.propose_record(
                db, signed_in(), record_type, record_id, edits, clock().now, geography()
            )
    except ChangeError as error:
        refuse(error)
    flash(submitted_message(change_set), "success")


def _geocode(text: str) -> dict[str, Any] | None:
    """The gazetteer's point for an address, as a location's ``point``; None for none."""
    try:
        located = locate(text, gazetteer())
    except LocateError:
        return None
    if located is None:
        return None
    return _point_of(located.latitude, located.longitude, located.precision)


def _point_of(latitude: float, longitude: float, precision: LocatePrecision) -> dict[str, Any]:
    manual = precision == LocatePrecision.COORDINATES
    return {
        "latitude": round(latitude, record_fields.COORDINATE_DECIMALS),
        "longitude": round(longitude, record_fields.COORDINATE_DECIMALS),
        "precision": Precision.MANUAL.value if manual else precision.value,
    }


@bp.get("/geocode")
@requires()
def geocode() -> Response | tuple[Response, int]:
    """``?q=`` an address, postal code, place or coordinates → its point from the public
    gazetteer, as JSON; for signed-in editors (the location form's "Find on map")."""
    try:
        located = locate(request.args.get("q", ""), gazetteer())
    except LocateError as error:
        return jsonify(message=said(reason_of(error))), 400
    if located is None:
        return jsonify(message=_("No place was found for this address.")), 404
    try:
        jurisdictions(geography(), located.latitude, located.longitude)
    except PlacementError:
        return jsonify(message=_("This point is outside Canada.")), 400
    point = _point_of(located.latitude, located.longitude, located.precision)
    return jsonify(**point, label=said(located.label), text=point_text(point))
