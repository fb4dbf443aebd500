"""Provinces/territories and census divisions: point-in-polygon assignment and display outlines.

Boundaries come from ``data/boundaries`` (Statistics Canada 2016, simplified; EPSG:4326). The
layers are simplified, so a coastal point may fall just outside every polygon: such a point is
given the nearest polygon when it lies within ``COASTAL_TOLERANCE_M`` metres of it, measured in
EPSG:3347 (Statistics Canada Lambert). Points farther out are outside Canada.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

log = logging.getLogger(__name__)

COASTAL_TOLERANCE_M = 5_000.0
# Display outlines (not used for assignment): parts smaller than the minimum area (km², in
# EPSG:3347) are dropped, the rest simplified (tolerance in degrees) and rounded to 0.001°.
OUTLINE_TOLERANCE_DEG = {"province": 0.05, "census_division": 0.01}
OUTLINE_MIN_AREA_KM2 = {"province": 500.0, "census_division": 10.0}
OUTLINE_GRID_DEG = 0.001
PROVINCES_FILE = "boundaries/provinces_territories_2016_simplified.geojson"
CENSUS_DIVISIONS_FILE = "boundaries/census_divisions_2016_simplified.geojson"
TO_LAMBERT = Transformer.from_crs("EPSG:4326", "EPSG:3347", always_xy=True)


def to_lambert(geometry: shapely.Geometry | np.ndarray) -> shapely.Geometry | np.ndarray:
    """Reproject EPSG:4326 geometry (x = lon, y = lat) to EPSG:3347 metres."""
    return shapely.transform(geometry, lambda xy: np.column_stack(TO_LAMBERT.transform(*xy.T)))


def display_outline(geometry: shapely.Geometry, level: str) -> shapely.Geometry:
    """A light outline for maps: small islands dropped, simplified, rounded."""
    parts = shapely.get_parts(geometry)
    areas_km2 = shapely.area(to_lambert(parts)) / 1e6
    kept = parts[areas_km2 >= OUTLINE_MIN_AREA_KM2[level]]
    if kept.size == 0:
        kept = parts[[int(np.argmax(areas_km2))]]
    simplified = shapely.simplify(
        shapely.multipolygons(kept), OUTLINE_TOLERANCE_DEG[level], preserve_topology=True
    )
    return shapely.set_precision(simplified, OUTLINE_GRID_DEG)


@dataclass(frozen=True)
class Layer:
    """One polygon layer with a spatial index; ``codes[i]`` names ``geometries[i]``."""

    level: str
    frame: gpd.GeoDataFrame
    codes: np.ndarray
    tree: shapely.STRtree

    def assign(self, latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
        """The code of the polygon holding each (lat, lon) point, or None when none is near."""
        points = shapely.points(longitudes, latitudes)  # shapely wants (x=lon, y=lat)
        codes = np.full(len(points), None, dtype=object)
        # Bounding-box candidates from the tree, then exact tests on the prepared polygons.
        point_index, polygon_index = self.tree.query(points)
        inside = shapely.contains_xy(
            self.tree.geometries[polygon_index], longitudes[point_index], latitudes[point_index]
        )
        codes[point_index[inside]] = self.codes[polygon_index[inside]]
        for i in np.flatnonzero(codes == None):  # noqa: E711 - elementwise on an object array
            codes[i] = self._nearest_within_tolerance(points[i])
        return codes

    def _nearest_within_tolerance(self, point: shapely.Point) -> str | None:
        # Prefilter generously in degrees, then measure metres in EPSG:3347.
        candidates = self.tree.query(point.buffer(0.2))
        if candidates.size == 0:
            return None
        best_code, best_m = None, COASTAL_TOLERANCE_M
        x, y = TO_LAMBERT.transform(point.x, point.y)
        for i in candidates:
            polygon = to_lambert(self.tree.geometries[i])
            metres = shapely.distance(polygon, shapely.Point(x, y))
            if metres <= best_m:
                best_code, best_m = self.codes[i], metres
        return best_code


@dataclass(frozen=True)
class Boundaries:
    provinces: Layer
    census_divisions: Layer

    def assign(
        self, latitudes: np.ndarray, longitudes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(PRUID, CDUID) per (lat, lon) point (float arrays); None where outside Canada."""
        return (
            self.provinces.assign(latitudes, longitudes),
            self.census_divisions.assign(latitudes, longitudes),
        )

    def province_abbr(self, pruid: str | None) -> str | None:
        if pruid is None:
            return None
        rows = self.provinces.frame.loc[self.provinces.frame["PRUID"] == pruid, "PR_ABBR"]
        return str(rows.iloc[0]) if len(rows) else None


def _layer(path: Path, level: str, code_column: str) -> Layer:
    frame = gpd.read_file(path)
    if frame.crs is None or frame.crs.to_epsg() != 4326:
        raise ValueError(f"{path} must be in EPSG:4326, found {frame.crs}")
    frame[code_column] = frame[code_column].astype(str)
    geometries = np.asarray(frame.geometry.values, dtype=object)
    shapely.prepare(geometries)
    return Layer(
        level, frame, frame[code_column].to_numpy(dtype=object), shapely.STRtree(geometries)
    )


@functools.cache
def load_boundaries(data_dir: Path) -> Boundaries:
    """Read the province and census-division layers once per process."""
    return Boundaries(
        provinces=_layer(data_dir / PROVINCES_FILE, "province", "PRUID"),
        census_divisions=_layer(data_dir / CENSUS_DIVISIONS_FILE, "census_division", "CDUID"),
    )


def jurisdiction_records(boundaries: Boundaries) -> list[dict]:
    """Rows for the ``jurisdiction`` table: names, populations and simplified outlines."""
    provinces = boundaries.provinces.frame
    divisions = boundaries.census_divisions.frame
    rows = [
        _record("province", r.PRUID, r.PRENAME, r.PRFNAME, None, r.POP2016, r.POP2021, r.geometry)
        for r in provinces.itertuples()
    ]
    rows += [
        _record(
            "census_division",
            r.CDUID,
            r.CDNAME,
            r.CDNAME,
            str(r.PRUID),
            r.POP2016,
            r.POP2021,
            r.geometry,
        )
        for r in divisions.itertuples()
    ]
    return rows


def _record(
    level: str,
    code: str,
    name_en: str,
    name_fr: str,
    parent: str | None,
    pop2016: float,
    pop2021: float,
    geometry: shapely.Geometry,
) -> dict:
    outline = display_outline(geometry, level)
    return {
        "level": level,
        "code": str(code),
        "name_en": name_en,
        "name_fr": name_fr,
        "parent_code": parent,
        "population_2016": _int_or_none(pop2016),
        "population_2021": _int_or_none(pop2021),
        "outline_wkb": shapely.to_wkb(outline),
    }


def _int_or_none(value: float) -> int | None:
    return None if value is None or np.isnan(value) else int(value)
