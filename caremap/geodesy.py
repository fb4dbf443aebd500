"""Distances and projections, with the axis order named at every boundary.

Policy: store EPSG:4326 degrees; measure metres geodesically on the WGS84 ellipsoid
(``pyproj.Geod``), or planar in EPSG:3347 (Statistics Canada Lambert) for area work.
pyproj's ``Geod.inv`` takes (lon, lat); the functions here take keyword lat/lon so callers
cannot swap them.
"""

from __future__ import annotations

import math

import numpy as np
from pyproj import Geod

# IUGG mean Earth radius, for spherical approximations (index pruning, 2SFCA costs).
EARTH_RADIUS_M = 6_371_008.8
EARTH_RADIUS_KM = EARTH_RADIUS_M / 1000.0
METRES_PER_KM = 1000.0
WGS84 = Geod(ellps="WGS84")


def km_to_metres(km: float) -> float:
    """Metres in ``km`` kilometres."""
    return km * METRES_PER_KM


def metres_to_km(metres: float) -> float:
    """Kilometres in ``metres`` metres."""
    return metres / METRES_PER_KM


def distance_m(*, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic metres between (lat1, lon1) and (lat2, lon2) on the WGS84 ellipsoid."""
    _, _, metres = WGS84.inv(lon1, lat1, lon2, lat2)  # pyproj takes (lon, lat)
    return float(metres)


def geodesic_distances_m(
    latitude: float, longitude: float, latitudes: np.ndarray, longitudes: np.ndarray
) -> np.ndarray:
    """Metres from one (lat, lon) point to each of many points, on the WGS84 ellipsoid."""
    if latitudes.size == 0:
        return np.empty(0)
    _, _, metres = WGS84.inv(
        np.full(latitudes.shape, longitude),
        np.full(latitudes.shape, latitude),
        longitudes,
        latitudes,
    )
    return np.asarray(metres, dtype=float)


def unit_vectors(latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    """(n, 3) unit-sphere vectors for (lat, lon) degrees; chord length orders like arc length."""
    lat = np.radians(latitudes)
    lon = np.radians(longitudes)
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def arc_from_chord(chord: float | np.ndarray, *, radius: float) -> np.ndarray:
    """Great-circle length, in the unit of ``radius``, of the arc between two unit-sphere
    vectors ``chord`` apart (:func:`unit_vectors`), on the sphere of that radius."""
    return 2.0 * radius * np.arcsin(np.minimum(chord / 2.0, 1.0))


def chord_from_arc(arc: float, *, radius: float) -> float:
    """The distance between the unit-sphere vectors of two points ``arc`` apart on the great
    circle of the sphere of ``radius`` (same unit); 2 from half the circumference on."""
    return 2.0 * math.sin(min(arc / (2.0 * radius), math.pi / 2))
