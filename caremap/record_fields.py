"""The editable fields of organizations and locations, for :mod:`caremap.changes`.

A location's ``point`` is its **exact** point ``{"latitude", "longitude", "precision"}``
(private for a confidential location); its public point is derived from it when a change is
applied (:func:`settle_location`, through :mod:`caremap.placement` and so
:mod:`caremap.privacy`). The address fields are those of the location's first address.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from caremap.accounts import EMAIL_PATTERN
from caremap.fields import ChangeError, Field, NotFound, clean_text
from caremap.geocoder import Precision
from caremap.model import (
    Address,
    Location,
    Organization,
    Phone,
    Service,
    ServiceAtLocation,
)
from caremap.normalise import (
    NormaliseError,
    normalise_phones,
    normalise_postal_code,
    normalise_province,
)
from caremap.placement import Geography, PlacementError, place
from caremap.reasons import N_, Reason, reason_of


class PlacementRefused(ChangeError):
    """An edited location cannot be placed (outside Canada, outside its province …)."""


POINT_PRECISIONS = frozenset(p.value for p in Precision) - {Precision.UNMATCHED.value}
COORDINATE_DECIMALS = 6  # about 0.1 m
WEBSITE = re.compile(r"https?://[^\s/]+\S*", re.IGNORECASE)


def organization(session: Session, organization_id: str) -> Organization:
    found = session.get(Organization, organization_id)
    if found is None:
        raise NotFound(f"no organization has the id {organization_id}")
    return found


def location(session: Session, location_id: str) -> Location:
    found = session.get(Location, location_id)
    if found is None:
        raise NotFound(f"no location has the id {location_id}")
    return found


def address_of(session: Session, location_id: str) -> Address | None:
    """The location's first address (the one its edit form shows)."""
    return session.scalars(
        select(Address).where(Address.location_id == location_id).order_by(Address.id)
    ).first()


# --- phones -----------------------------------------------------------------------------------

# HSDS 3.0's phone types (RFC 6350): text is SMS, textphone is TTY.
PHONE_TYPES = ("voice", "cell", "text", "fax", "textphone", "video", "pager")
MAX_EXTENSION = 10  # digits
EXTENSION = re.compile(rf"[0-9]{{1,{MAX_EXTENSION}}}")


def phones_field(owner: str) -> Field:
    """A record's phone numbers: ``[{"type", "number", "extension", "description"}]`` in order,
    numbers in E.164 as the ETL stores them (:func:`caremap.normalise.normalise_phones`)."""
    column = getattr(Phone, f"{owner}_id")

    def read(session: Session, record_id: str) -> list[dict[str, str | None]]:
        _phone_owner(session, owner, record_id)
        rows = session.scalars(select(Phone).where(column == record_id).order_by(Phone.id))
        return [phone_value(row) for row in rows]

    def write(
        session: Session, record_id: str, values: list[dict[str, Any]], now: dt.datetime
    ) -> None:
        record = _phone_owner(session, owner, record_id)
        phones = normalise_phone_list(values)
        session.execute(delete(Phone).where(column == record_id))
        batch = uuid.uuid4().hex  # ids in the edit's order: rows are read by id
        session.add_all(
            Phone(
                id=f"{batch}-{i:03d}",
                **{f"{owner}_id": record_id},
                **phone,
                source_name=record.source_name,
                source_record_id=f"{record.source_record_id}#edited-phone{i}",
                source_as_of=None,
                imported_at=now,
            )
            for i, phone in enumerate(phones)
        )
        session.flush()

    return Field(read, write, normalise_phone_list)


def _phone_owner(session: Session, owner: str, record_id: str) -> Service | Organization | Location:
    """The record whose phones these are; :class:`NotFound` for none."""
    if owner == "organization":
        return organization(session, record_id)
    if owner == "location":
        return location(session, record_id)
    found = session.get(Service, record_id)
    if found is None:
        raise NotFound(f"no service has the id {record_id}")
    return found


def phone_value(row: Phone) -> dict[str, str | None]:
    """A phone row as change sets and history hold it (no type: a voice line)."""
    return {
        "type": row.type or "voice",
        "number": row.number,
        "extension": row.extension or None,
        "description": row.description or None,
    }


def normalise_phone_list(values: list[dict[str, Any]]) -> list[dict[str, str | None]]:
    """Each phone of an edit checked and normalised; :class:`ChangeError` for one that is not."""
    if not isinstance(values, list):
        raise ChangeError(Reason(N_("phones: give a list of phone numbers")))
    return [normalise_phone(value) for value in values]


def normalise_phone(value: dict[str, Any]) -> dict[str, str | None]:
    """One phone: its number (one valid number: Canadian, or international with +) in E.164,
    an extension of digits, a type of :data:`PHONE_TYPES`, a trimmed description."""
    if not isinstance(value, dict):
        raise ChangeError(Reason(N_("phones: give a list of phone numbers")))
    raw = clean_text(value.get("number")) or ""
    try:
        found = normalise_phones(raw)
    except NormaliseError as error:
        raise ChangeError(reason_of(error)) from None
    if len(found) != 1:
        raise ChangeError(Reason(N_("phone: %(value)s is not one phone number"), value=repr(raw)))
    extension = clean_text(value.get("extension")) or found[0].extension or None
    if extension is not None and not EXTENSION.fullmatch(extension):
        raise ChangeError(
            Reason(N_("phone: the extension %(value)s is not digits"), value=repr(extension))
        )
    kind = clean_text(value.get("type")) or "voice"
    if kind not in PHONE_TYPES:
        raise ChangeError(Reason(N_("phone: %(value)s is not a phone type"), value=repr(kind)))
    return {
        "type": kind,
        "number": found[0].number,
        "extension": extension,
        "description": clean_text(value.get("description")) or found[0].description or None,
    }


# --- organizations ------------------------------------------------------------------------------


def _organization_text(
    name: str, required: bool = False, check: Callable[[str], None] | None = None
) -> Field:
    def read(session: Session, organization_id: str) -> str | None:
        return getattr(organization(session, organization_id), name) or None

    def write(session: Session, organization_id: str, value: str | None, now: dt.datetime) -> None:
        if required and not value:
            raise ChangeError(Reason(N_("%(field)s may not be empty"), field=name))
        if value and check:
            check(value)
        # description is NOT NULL: "" for none.
        empty = "" if name == "description" else None
        setattr(organization(session, organization_id), name, value or empty)

    return Field(read, write, clean_text)


def _check_email(value: str) -> None:
    if not EMAIL_PATTERN.fullmatch(value):
        raise ChangeError(
            Reason(N_("email: %(value)s is not an e-mail address"), value=repr(value))
        )


def _check_website(value: str) -> None:
    if not WEBSITE.fullmatch(value):
        raise ChangeError(
            Reason(N_("website: %(value)s is not an http(s) address"), value=repr(value))
        )


ORGANIZATION_FIELDS: dict[str, Field] = {
    "name": _organization_text("name", required=True),
    "alternate_name": _organization_text("alternate_name"),
    "description": _organization_text("description"),
    "email": _organization_text("email", check=_check_email),
    "website": _organization_text("website", check=_check_website),
    "phones": phones_field("organization"),
}


# --- locations ----------------------------------------------------------------------------------


def _read_name(session: Session, location_id: str) -> str | None:
    return location(session, location_id).name


def _write_name(session: Session, location_id: str, value: str | None, now: dt.datetime) -> None:
    location(session, location_id).name = value


def _address_field(column: str, normalise: Callable[[str], str]) -> Field:
    """A column of the location's address; '' in the row is None here."""

    def read(session: Session, location_id: str) -> str | None:
        location(session, location_id)
        address = address_of(session, location_id)
        return (getattr(address, column) or None) if address else None

    def write(session: Session, location_id: str, value: str | None, now: dt.datetime) -> None:
        address = address_of(session, location_id) or _new_address(session, location_id, now)
        setattr(address, column, normalise(value or ""))

    def normalised(value: str | None) -> str | None:
        try:
            return normalise(clean_text(value) or "") or None
        except NormaliseError as error:
            raise ChangeError(reason_of(error)) from None

    return Field(read, write, normalised)


def _new_address(session: Session, location_id: str, now: dt.datetime) -> Address:
    """An address row for a location that had none, with the location's provenance."""
    owner = location(session, location_id)
    address = Address(
        id=f"{location_id}-address",
        location_id=location_id,
        address_1="",
        city="",
        state_province="",
        postal_code="",
        country="CA",
        address_type="physical",
        source_name=owner.source_name,
        source_record_id=f"{owner.source_record_id}#edited-address",
        source_as_of=None,
        imported_at=now,
    )
    session.add(address)
    session.flush()
    return address


def _read_point(session: Session, location_id: str) -> dict[str, Any]:
    found = location(session, location_id)
    return {
        "latitude": found.private_latitude,
        "longitude": found.private_longitude,
        "precision": found.geocode_precision,
    }


def _write_point(
    session: Session, location_id: str, value: dict[str, Any], now: dt.datetime
) -> None:
    point = normalise_point(value)
    found = location(session, location_id)
    found.private_latitude, found.private_longitude = point["latitude"], point["longitude"]
    found.geocode_precision, found.geocode_matched = point["precision"], None


def normalise_point(value: dict[str, Any]) -> dict[str, Any]:
    """``{"latitude", "longitude", "precision"}`` with numbers rounded to
    :data:`COORDINATE_DECIMALS`; :class:`ChangeError` for anything else."""
    try:
        latitude, longitude = float(value["latitude"]), float(value["longitude"])
        precision = str(value["precision"])
    except (KeyError, TypeError, ValueError):
        raise ChangeError(
            Reason(N_("point: give a latitude, a longitude and a precision"))
        ) from None
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise ChangeError(Reason(N_("point: the coordinates are not numbers")))
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ChangeError(
            Reason(
                N_("point: (%(latitude)s, %(longitude)s) is not a place on Earth"),
                latitude=latitude,
                longitude=longitude,
            )
        )
    if precision not in POINT_PRECISIONS:
        raise ChangeError(
            Reason(N_("point: %(value)s is not a geocoding precision"), value=repr(precision))
        )
    return {
        "latitude": round(latitude, COORDINATE_DECIMALS),
        "longitude": round(longitude, COORDINATE_DECIMALS),
        "precision": precision,
    }


def _read_confidential(session: Session, location_id: str) -> bool:
    return bool(location(session, location_id).confidential)


def _write_confidential(session: Session, location_id: str, value: bool, now: dt.datetime) -> None:
    location(session, location_id).confidential = bool(value)


LOCATION_FIELDS: dict[str, Field] = {
    "name": Field(_read_name, _write_name, clean_text),
    "street": _address_field("address_1", str.strip),
    "city": _address_field("city", str.strip),
    "province": _address_field("state_province", normalise_province),
    "postal_code": _address_field("postal_code", normalise_postal_code),
    "point": Field(_read_point, _write_point, normalise_point),
    "confidential": Field(_read_confidential, _write_confidential, bool),
    "phones": phones_field("location"),
}


# --- after a change -----------------------------------------------------------------------------


def settle_location(
    session: Session, location_id: str, geography: Geography, now: dt.datetime
) -> list[str]:
    """Place an edited location again (jurisdictions, time zone, public point) and stamp it
    verified; the ids of the services at it, whose listings must be republished."""
    found = location(session, location_id)
    address = address_of(session, location_id)
    if address is not None and not address.state_province:
        raise PlacementRefused(Reason(N_("%(field)s may not be empty"), field="province"))
    try:
        place(found, address, geography)
    except PlacementError as error:
        raise PlacementRefused(reason_of(error)) from None
    found.last_verified_at = now
    session.flush()
    return list(
        session.scalars(
            select(ServiceAtLocation.service_id).where(ServiceAtLocation.location_id == location_id)
        )
    )


def settle_organization(session: Session, organization_id: str, now: dt.datetime) -> list[str]:
    """Stamp an edited organization verified; the ids of its services (their listings show
    its name)."""
    organization(session, organization_id).last_verified_at = now
    session.flush()
    return list(
        session.scalars(select(Service.id).where(Service.organization_id == organization_id))
    )
