"""Where an edited location is: from its exact point and address, its province, census
division, time zone and public point, set as the ETL sets them at load (:mod:`etl.validate`).
The public point comes from :func:`caremap.privacy.public_point` only."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from caremap.gazetteer import Gazetteer, load_gazetteer
from caremap.jurisdictions import Boundaries, load_boundaries
from caremap.model import Address, Location
from caremap.normalise import PROVINCES
from caremap.privacy import public_point
from caremap.reasons import N_, Reason, reason_of
from caremap.timezones import TimezoneFinder, load_timezones


class PlacementError(ValueError):
    """The point cannot be the location's: outside Canada, or in another province."""


@dataclass(frozen=True)
class Geography:
    """The reference data a location is placed with."""

    gazetteer: Gazetteer
    boundaries: Boundaries
    timezones: TimezoneFinder


@functools.cache
def load_geography(data_dir: Path) -> Geography:
    """The bundled gazetteer, boundaries and time zones (read once per process)."""
    return Geography(load_gazetteer(data_dir), load_boundaries(data_dir), load_timezones(data_dir))


def jurisdictions(geography: Geography, latitude: float, longitude: float) -> tuple[str, str]:
    """(PRUID, CDUID) of a point; :class:`PlacementError` when it is not in Canada."""
    pruids, cduids = geography.boundaries.assign(np.array([latitude]), np.array([longitude]))
    if pruids[0] is None or cduids[0] is None:
        raise PlacementError(
            Reason(
                N_("the point (%(latitude)s, %(longitude)s) is not in Canada"),
                latitude=latitude,
                longitude=longitude,
            )
        )
    return str(pruids[0]), str(cduids[0])


def place(location: Location, address: Address | None, geography: Geography) -> None:
    """Set the location's jurisdictions, time zone and public point from its exact point,
    address and confidentiality. :class:`PlacementError` when the point is outside Canada or
    outside the address's province, or when a confidential location cannot be generalised."""
    latitude, longitude = location.private_latitude, location.private_longitude
    pruid, cduid = jurisdictions(geography, latitude, longitude)
    stated = address.state_province if address else ""
    if stated and PROVINCES[stated].pruid != pruid:
        found = next(p.abbr for p in PROVINCES.values() if p.pruid == pruid)
        raise PlacementError(
            Reason(
                N_("the point is in %(found)s, but the address says %(stated)s"),
                found=found,
                stated=stated,
            )
        )
    [zone] = geography.timezones.timezones_at(np.array([latitude]), np.array([longitude]))
    try:
        point = public_point(
            latitude=latitude,
            longitude=longitude,
            confidential=location.confidential,
            postal_code=address.postal_code if address else "",
            city=address.city if address else "",
            province_abbr=stated or geography.boundaries.province_abbr(pruid) or "",
            cduid=cduid,
            gazetteer=geography.gazetteer,
            boundaries=geography.boundaries,
        )
    except ValueError as error:
        raise PlacementError(reason_of(error)) from None
    location.pruid, location.cduid, location.timezone = pruid, cduid, zone
    location.latitude, location.longitude = point.latitude, point.longitude
    location.public_point_rule = point.rule.value
