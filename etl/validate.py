"""Spatial validation of transformed records, in one vectorised pass per source.

Each record's point must be inside Canada and inside its stated province; a point that is
outside Canada but inside it with latitude and longitude exchanged is reported as swapped.
Source coordinates more than ``CROSS_CHECK_LIMIT_M`` from their postal code's gazetteer point
are loaded with a warning. Jurisdictions (PRUID, CDUID) and the public point are set here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from caremap.geocoder import CROSS_CHECK_LIMIT_M, Geocoder, Precision
from caremap.geodesy import metres_to_km
from caremap.jurisdictions import Boundaries
from caremap.normalise import PROVINCES
from caremap.privacy import CONFIDENTIAL_NAME, public_name, public_point, reveals_address
from caremap.reasons import N_, Reason, reason_of
from caremap.timezones import TimezoneFinder
from etl.records import ListingRecord


@dataclass(frozen=True)
class Verdict:
    """Either the record passed, or ``reason`` says why it was rejected (and ``field`` names
    the columns to blame)."""

    record: ListingRecord
    reason: str | None
    field: str = ""


def validate_records(
    records: list[ListingRecord],
    boundaries: Boundaries,
    geocoder: Geocoder,
    timezones: TimezoneFinder,
) -> list[Verdict]:
    """Check and complete every record with a location (jurisdictions, public point,
    cross-check warnings); one without (a service that serves an area) passes as it is."""
    verdicts = [Verdict(record, None) for record in records if record.service_areas]
    return verdicts + _validate_located(
        [record for record in records if not record.service_areas], boundaries, geocoder, timezones
    )


def _validate_located(
    records: list[ListingRecord],
    boundaries: Boundaries,
    geocoder: Geocoder,
    timezones: TimezoneFinder,
) -> list[Verdict]:
    if not records:
        return []
    latitudes = np.array([r.latitude for r in records])
    longitudes = np.array([r.longitude for r in records])
    pruids, cduids = boundaries.assign(latitudes, longitudes)
    # Only points outside Canada are tested with latitude and longitude exchanged.
    outside = np.flatnonzero(pruids == None)  # noqa: E711 - elementwise on an object array
    swapped_pruids = np.full(len(records), None, dtype=object)
    swapped_pruids[outside] = boundaries.provinces.assign(
        latitudes=longitudes[outside], longitudes=latitudes[outside]
    )
    zones = timezones.timezones_at(latitudes, longitudes)
    verdicts = []
    for record, pruid, cduid, swapped, zone in zip(
        records, pruids, cduids, swapped_pruids, zones, strict=True
    ):
        reason, blamed = _spatial_problem(record, pruid, swapped)
        if reason is None:
            record.pruid, record.cduid, record.timezone = pruid, cduid, zone
            _cross_check(record, geocoder)
            reason, blamed = _publish_point(record, geocoder, boundaries), "address_confidential"
            record.warnings += _named_street(record)
        verdicts.append(Verdict(record, reason, blamed if reason else ""))
    return verdicts


def _spatial_problem(
    record: ListingRecord, pruid: str | None, swapped: str | None
) -> tuple[str | None, str]:
    """What is wrong with the point, and the columns to blame."""
    where = f"({record.latitude}, {record.longitude})"
    if pruid is None and swapped is not None:
        reason = Reason(
            N_("latitude and longitude appear swapped: %(point)s is outside Canada"), point=where
        )
        return reason, "latitude, longitude"
    if pruid is None:
        return Reason(N_("point %(point)s is outside Canada"), point=where), "latitude, longitude"
    stated = PROVINCES[record.province]
    if pruid != stated.pruid:
        found = next(p.abbr for p in PROVINCES.values() if p.pruid == pruid)
        reason = Reason(
            N_("point %(point)s is in %(found)s, but the row says %(stated)s"),
            point=where,
            found=found,
            stated=record.province,
        )
        return reason, "province"
    return None, ""


def _cross_check(record: ListingRecord, geocoder: Geocoder) -> None:
    if record.geocode_precision != Precision.SOURCE_COORDINATES or not record.postal_code:
        return
    latitude, longitude = record.point()
    metres = geocoder.cross_check(
        latitude=latitude, longitude=longitude, postal_code=record.postal_code
    )
    if metres is not None and metres > CROSS_CHECK_LIMIT_M:
        record.warnings.append(
            Reason(
                N_("coordinates are %(km)s km from postal code %(postal_code)s"),
                km=round(metres_to_km(metres), 1),
                postal_code=record.postal_code,
            )
        )


def _named_street(record: ListingRecord) -> list[Reason]:
    """Warnings for a confidential location's text that holds its street address: it is
    published without it (see :mod:`caremap.privacy`)."""
    if not record.confidential:
        return []
    lines = (record.street_address,)
    names = {"organization": record.organization_name, "name": record.service_name}
    if record.location_name != record.service_name:
        names["facility"] = record.location_name
    texts = {
        "description": record.description,
        "intake": record.application_process,
        "eligibility": record.eligibility_description,
    }
    fallbacks = {"name": public_name(record.organization_name, lines)}
    warnings = []
    for column, text in (names | texts).items():
        found = reveals_address(text, lines)
        if found is None:
            continue
        if column in names:
            public = public_name(text, lines, fallbacks.get(column, CONFIDENTIAL_NAME))
            template = N_(
                "the %(column)s of a confidential location contains its street address "
                "(%(found)s): it is published as %(public)s"
            )
            warnings.append(Reason(template, column=column, found=repr(found), public=repr(public)))
        else:
            template = N_(
                "the %(column)s of a confidential location contains its street address "
                "(%(found)s): it is published without it"
            )
            warnings.append(Reason(template, column=column, found=repr(found)))
    return warnings


def _publish_point(record: ListingRecord, geocoder: Geocoder, boundaries: Boundaries) -> str | None:
    latitude, longitude = record.point()
    try:
        point = public_point(
            latitude=latitude,
            longitude=longitude,
            confidential=record.confidential,
            postal_code=record.postal_code,
            city=record.city,
            province_abbr=record.province,
            cduid=record.cduid,
            gazetteer=geocoder.gazetteer,
            boundaries=boundaries,
        )
    except ValueError as error:
        return reason_of(error)
    record.public_latitude, record.public_longitude = point.latitude, point.longitude
    record.public_point_rule = point.rule.value
    return None
