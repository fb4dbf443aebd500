"""The time zone of a point: that of the nearest GeoNames populated place (bundled gazetteer).

"Open now" must be judged in the service's own local time: Kenora keeps Central time, most of
Ontario Eastern. The nearest of 3,250 places with 500+ people is right everywhere a service can
be, except within a few kilometres of a zone boundary.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from caremap.geodesy import unit_vectors

PLACES_FILE = "gazetteer/places_geonames_ca.csv"


@dataclass(frozen=True)
class TimezoneFinder:
    zones: np.ndarray
    tree: cKDTree

    def timezones_at(self, latitudes: np.ndarray, longitudes: np.ndarray) -> list[str]:
        """IANA time zone names for (lat, lon) points."""
        if len(latitudes) == 0:
            return []
        _, nearest = self.tree.query(unit_vectors(latitudes, longitudes))
        return [str(zone) for zone in self.zones[np.atleast_1d(nearest)]]


@functools.cache
def load_timezones(data_dir: Path) -> TimezoneFinder:
    with (data_dir / PLACES_FILE).open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["timezone"]]
    latitudes = np.array([float(r["latitude"]) for r in rows])
    longitudes = np.array([float(r["longitude"]) for r in rows])
    zones = np.array([r["timezone"] for r in rows], dtype=object)
    return TimezoneFinder(zones, cKDTree(unit_vectors(latitudes, longitudes)))
