"""Distances and projections, with the axis order named at every boundary.

Policy: store EPSG:4326 degrees; measure metres geodesically on the WGS84 ellipsoid
(``pyproj.Geod``), or planar in EPSG:3347 (Statistics Canada Lambert) for area work.
pyproj's ``Geod.inv`` takes (lon, lat); the functions here take keyword lat/lon so callers
cannot swap them.
"""

from __future__ import annotations

import numpy as np
from pyproj import Geod

# IUGG mean Earth radius, for spherical approximations (index pruning, 2SFCA costs).
EARTH_RADIUS_M = 6_371_008.8
WGS84 = Geod(ellps="WGS84")


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
