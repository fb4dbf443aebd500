"""What the public may see of a location. Every public output goes through this module.

A **confidential** location (a safe house, a VAW shelter) keeps its exact point and street
address in private columns. The public sees a community-level point and city + province only.

The public point rule (deterministic, so it cannot be averaged away like random jitter):

1. ``fsa``: the published centroid of its Forward Sortation Area (first three characters of the
   postal code), from the bundled gazetteer; an FSA is a community-level area shared by
   thousands of addresses;
2. ``place``: else the gazetteer point of its city/town in its province;
3. ``census_division``: else a representative point of its census division.

Non-confidential locations are public as they are (``exact``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from caremap.normalise import fsa_of
from caremap.reasons import N_, Reason

if TYPE_CHECKING:
    from caremap.gazetteer import Gazetteer
    from caremap.jurisdictions import Boundaries


class LocationRow(Protocol):
    """The ``location`` columns read here (an ORM object or a Core row)."""

    id: str
    name: str | None
    latitude: float
    longitude: float
    confidential: bool
    geocode_precision: str
    pruid: str | None
    cduid: str | None
    timezone: str | None


class AddressRow(Protocol):
    address_1: str
    address_2: str | None
    city: str
    state_province: str
    postal_code: str


class PublicPointRule(StrEnum):
    EXACT = "exact"
    FSA = "fsa"
    PLACE = "place"
    CENSUS_DIVISION = "census_division"


@dataclass(frozen=True)
class PublicPoint:
    """A point the public may see, (lat, lon) in EPSG:4326, and the rule that produced it."""

    latitude: float
    longitude: float
    rule: PublicPointRule


def public_point(
    *,
    latitude: float,
    longitude: float,
    confidential: bool,
    postal_code: str,
    city: str,
    province_abbr: str,
    cduid: str | None,
    gazetteer: Gazetteer,
    boundaries: Boundaries,
) -> PublicPoint:
    """The point published for a location at exact (lat, lon); see the module's rule."""
    if not confidential:
        return PublicPoint(latitude, longitude, PublicPointRule.EXACT)
    fsa = gazetteer.fsa(fsa_of(postal_code)) if postal_code else None
    if fsa is not None:
        return PublicPoint(fsa.latitude, fsa.longitude, PublicPointRule.FSA)
    place = gazetteer.place(city, province_abbr) if city else None
    if place is not None:
        return PublicPoint(place.latitude, place.longitude, PublicPointRule.PLACE)
    if cduid is None:
        raise ValueError(
            Reason(
                N_(
                    "a confidential location needs a postal code, a known place or a "
                    "census division to be published"
                )
            )
        )
    division = boundaries.census_divisions
    polygon = division.tree.geometries[list(division.codes).index(cduid)]
    point = polygon.representative_point()  # shapely: x = lon, y = lat
    return PublicPoint(point.y, point.x, PublicPointRule.CENSUS_DIVISION)


@dataclass(frozen=True)
class PublicAddress:
    """Street and postal code are empty for a confidential location."""

    street: str
    city: str
    province: str
    postal_code: str


@dataclass(frozen=True)
class PublicLocation:
    """A location as anyone may see it: (lat, lon) is the public point."""

    id: str
    name: str | None
    latitude: float
    longitude: float
    confidential: bool
    address: PublicAddress | None
    geocode_precision: str
    pruid: str | None
    cduid: str | None
    timezone: str | None
    accessibility: tuple[str, ...]


def public_location(
    location: LocationRow, address: AddressRow | None, accessibility: list[str]
) -> PublicLocation:
    """The only way a location (a ``location`` row, its address and accessibility notes)
    becomes public."""
    return PublicLocation(
        id=location.id,
        name=location.name,
        latitude=location.latitude,
        longitude=location.longitude,
        confidential=location.confidential,
        address=_public_address(address, location.confidential) if address else None,
        geocode_precision="community" if location.confidential else location.geocode_precision,
        pruid=location.pruid,
        cduid=location.cduid,
        timezone=location.timezone,
        accessibility=tuple(accessibility),
    )


def _public_address(address: AddressRow, confidential: bool) -> PublicAddress:
    if confidential:
        return PublicAddress("", address.city, address.state_province, "")
    street = ", ".join(part for part in (address.address_1, address.address_2) if part)
    return PublicAddress(street, address.city, address.state_province, address.postal_code)
