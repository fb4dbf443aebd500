"""The organization and location edit forms, turned into edits for
:func:`caremap.changes.propose_record`.

A location's point travels in hidden fields: the map's draggable marker (or "Find on map")
fills them. Without JavaScript, a changed address is geocoded on submit instead. A claimed
geocoding precision is kept only when the address really geocodes to that point; any other
moved point is ``manual``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from caremap.accounts import EMAIL_PATTERN
from caremap.geocoder import Precision
from caremap.normalise import PROVINCES, NormaliseError, normalise_postal_code
from caremap.record_fields import WEBSITE
from webmap.editing.phone_form import phone_edit, phone_rows, phones_field

ORGANIZATION_FIELDS = ("name", "alternate_name", "description", "email", "website")
ADDRESS_FIELDS = ("street", "city", "province", "postal_code")
GEOCODED_FIELDS = ("city", "province", "postal_code")  # no street-level geocoding
NOT_FOUND = _l("This address was not found: check the postal code, or place the point on the map.")
Geocode = Callable[[str], dict[str, Any] | None]
"""Address text → ``{"latitude", "longitude", "precision"}``, or None when nothing matches."""


class OrganizationForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Enter the organization's name.")), Length(max=300)],
    )
    alternate_name = StringField(_l("Other name"), validators=[Optional(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    email = StringField(
        _l("E-mail"),
        validators=[
            Optional(),
            Length(max=254),
            Regexp(EMAIL_PATTERN, message=_l("Enter an e-mail address.")),
        ],
    )
    website = StringField(
        _l("Website"),
        validators=[
            Optional(),
            Length(max=500),
            Regexp(WEBSITE, message=_l("Enter a web address starting with https://.")),
        ],
    )
    phones = phones_field()


def organization_form(values: dict[str, Any], formdata: bool) -> OrganizationForm:
    data: dict[str, Any] = {name: values[name] or "" for name in ORGANIZATION_FIELDS}
    data["phones"] = phone_rows(values["phones"])
    return OrganizationForm(data=data) if formdata else OrganizationForm(formdata=None, data=data)


def organization_edits(form: OrganizationForm) -> dict[str, Any]:
    return {name: getattr(form, name).data for name in ORGANIZATION_FIELDS} | phone_edit(
        form.phones
    )


class LocationForm(FlaskForm):
    name = StringField(_l("Name of the place"), validators=[Optional(), Length(max=300)])
    street = StringField(_l("Street address"), validators=[Optional(), Length(max=300)])
    city = StringField(
        _l("City or town"),
        validators=[DataRequired(message=_l("Enter the city or town.")), Length(max=200)],
    )
    province = SelectField(_l("Province or territory"), choices=[])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=10)])
    confidential = BooleanField(_l("Confidential address (a safe house or a shelter)"))
    latitude = HiddenField()
    longitude = HiddenField()
    precision = HiddenField()
    phones = phones_field()

    def validate_postal_code(self, field: StringField) -> None:
        try:
            normalise_postal_code(field.data or "")
        except NormaliseError:
            raise ValidationError(_("Enter a Canadian postal code, like K1A 0B1.")) from None

    def point(self) -> tuple[float, float] | None:
        """The point in the hidden fields, or None when they are not two numbers."""
        try:
            return float(self.latitude.data or ""), float(self.longitude.data or "")
        except ValueError:
            return None


def location_form(values: dict[str, Any], lang: str, formdata: bool) -> LocationForm:
    point = values["point"]
    data = {
        **{name: values[name] or "" for name in ("name", *ADDRESS_FIELDS)},
        "confidential": values["confidential"],
        "latitude": repr(point["latitude"]),
        "longitude": repr(point["longitude"]),
        "precision": point["precision"],
        "phones": phone_rows(values["phones"]),
    }
    form = LocationForm(data=data) if formdata else LocationForm(formdata=None, data=data)
    form.province.choices = [
        (abbr, p.name_fr if lang == "fr" else p.name_en) for abbr, p in PROVINCES.items()
    ]
    return form


def address_text(form: LocationForm) -> str:
    """The address as one line, for the geocoder."""
    parts = [form.street.data, form.city.data, f"{form.province.data} {form.postal_code.data}"]
    return ", ".join(part.strip() for part in parts if part and part.strip())


def location_edits(form: LocationForm, values: dict[str, Any], geocode: Geocode) -> dict[str, Any]:
    """The edit the validated form asks for. The point is in it when the marker moved, or
    when the city, province or postal code changed (then it is geocoded); ValueError (a
    message for the form) when a changed address matches nothing."""
    edits: dict[str, Any] = {name: getattr(form, name).data for name in ("name", *ADDRESS_FIELDS)}
    edits["confidential"] = bool(form.confidential.data)
    edits |= phone_edit(form.phones)
    shown = values["point"]
    point = form.point()
    if point is None:
        raise ValueError(_("Place the point on the map."))
    if point != (shown["latitude"], shown["longitude"]):
        edits["point"] = _moved(point, form, geocode)
    elif _geocoded_fields_changed(form, values):
        found = geocode(address_text(form))
        if found is None:
            raise ValueError(str(NOT_FOUND))
        edits["point"] = found
    return edits


def _geocoded_fields_changed(form: LocationForm, values: dict[str, Any]) -> bool:
    typed = {
        "city": (form.city.data or "").strip(),
        "province": form.province.data or "",
        "postal_code": normalise_postal_code(form.postal_code.data or ""),
    }
    return any((values[name] or "") != typed[name] for name in GEOCODED_FIELDS)


def _moved(point: tuple[float, float], form: LocationForm, geocode: Geocode) -> dict[str, Any]:
    """The moved point, with its precision when the address geocodes to it, else manual."""
    claimed = form.precision.data or ""
    if claimed != Precision.MANUAL:
        found = geocode(address_text(form))
        if found and (found["latitude"], found["longitude"]) == point:
            return found
    return {"latitude": point[0], "longitude": point[1], "precision": Precision.MANUAL.value}
