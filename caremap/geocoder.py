"""Offline geocoding against the bundled gazetteer, recording how precise each point is.

The order is: full postal code → forward sortation area (FSA) → place name in its province →
unmatched. There is no street-level geocoding: street addresses are not looked up. Points are
WGS84 (latitude, longitude); distances are geodesic metres on the WGS84 ellipsoid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from caremap.gazetteer import Gazetteer, GazetteerPoint
from caremap.geodesy import distance_m
from caremap.normalise import (
    NormaliseError,
    normalise_fsa,
    normalise_postal_code,
    normalise_province,
    postal_code_province,
)

logger = logging.getLogger(__name__)

CROSS_CHECK_LIMIT_M = 2_000.0
"""Source coordinates farther than this from their postal code's point deserve a warning."""


class Precision(StrEnum):
    """Where a location's point comes from, from most to least precise."""

    SOURCE_COORDINATES = "source_coordinates"
    MANUAL = "manual"  # placed by hand by a data steward
    POSTAL_CODE = "postal_code"
    FSA = "fsa"
    PLACE = "place"
    UNMATCHED = "unmatched"


@dataclass(frozen=True)
class GeocodeResult:
    """A geocoded point (latitude, longitude; both None when unmatched) and how it was found.

    ``matched`` says what matched, for people: "postal code M5V 2T6", "FSA M5V",
    "place: Kenora, ON"; it is '' when nothing matched.
    """

    latitude: float | None
    longitude: float | None
    precision: Precision
    matched: str


UNMATCHED = GeocodeResult(None, None, Precision.UNMATCHED, "")


class Geocoder:
    """Geocode addresses with a :class:`~caremap.gazetteer.Gazetteer` (no network)."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer

    def geocode(
        self, *, street_address: str = "", city: str = "", province: str = "", postal_code: str = ""
    ) -> GeocodeResult:
        """Geocode raw address fields: full postal code, else its FSA, else city in province.

        Inputs are normalised here. An invalid postal code falls through to the next step (its
        first three characters may still be a known FSA). A blank province is taken from the
        postal code's first letter when that names a single province. ``street_address`` is
        only logged: there is no street-level gazetteer.
        """
        result = (
            self._by_postal_code(postal_code)
            or self._by_fsa(postal_code)
            or self._by_place(city, province, postal_code)
        )
        if result is None:
            logger.debug(
                "No gazetteer match for %r, %r, %r, %r", street_address, city, province, postal_code
            )
            return UNMATCHED
        return result

    def cross_check(self, *, latitude: float, longitude: float, postal_code: str) -> float | None:
        """Metres between (latitude, longitude) and the postal code's gazetteer point.

        None when the postal code is blank, invalid or not in the gazetteer. Compare the result
        with :data:`CROSS_CHECK_LIMIT_M`.
        """
        point = self.gazetteer.postal_code(postal_code)
        if point is None:
            return None
        return distance_m(lat1=latitude, lon1=longitude, lat2=point.latitude, lon2=point.longitude)

    def _by_postal_code(self, raw: str) -> GeocodeResult | None:
        try:
            code = normalise_postal_code(raw)
        except NormaliseError:
            return None
        return _result(
            self.gazetteer.postal_code(code), Precision.POSTAL_CODE, f"postal code {code}"
        )

    def _by_fsa(self, raw: str) -> GeocodeResult | None:
        try:
            fsa = normalise_fsa(raw)
        except NormaliseError:
            return None
        return _result(self.gazetteer.fsa(fsa), Precision.FSA, f"FSA {fsa}")

    def _by_place(self, city: str, province: str, postal_code: str) -> GeocodeResult | None:
        province_abbr = _province_abbr(province, postal_code)
        if not city.strip() or not province_abbr:
            return None
        point = self.gazetteer.place(city, province_abbr)
        if point is None:
            return None
        return _result(point, Precision.PLACE, f"place: {point.label}, {point.province_abbr}")


def _province_abbr(province: str, postal_code: str) -> str:
    """The province abbreviation, from the province field or else an unambiguous postal code."""
    try:
        abbr = normalise_province(province)
    except NormaliseError:
        return ""
    candidates = postal_code_province(postal_code)
    if not abbr and len(candidates) == 1:
        return candidates.pop()
    return abbr


def _result(
    point: GazetteerPoint | None, precision: Precision, matched: str
) -> GeocodeResult | None:
    if point is None:
        return None
    return GeocodeResult(point.latitude, point.longitude, precision, matched)
