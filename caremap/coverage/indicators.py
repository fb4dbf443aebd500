"""Coverage indicators per jurisdiction: where services are missing, for whom, and when.

For one jurisdiction level (``data/jurisdictions.toml``) and one selection (service types,
populations served, month), each jurisdiction gets: the number of matching services and
their beds, services per 100,000 people and beds per 10,000, the share of its population
farther than ``threshold_km`` from the nearest matching service, a 2SFCA accessibility score,
its **data status** and a **desert** flag.

Demand (where people live):
- national levels (provinces, census divisions): the 1,641 FSA centroids with their 2016
  population, each counted in the jurisdiction that contains it;
- city levels (layers with a fixed ``parent_code``, e.g. Toronto's neighbourhoods): one point
  per polygon, its representative point, carrying the polygon's population.

Supply: the public point of each matching service's location (confidential ones included:
counting them is the point of this page; they appear only in aggregates), weighted by 1 or by
beds. Distances are great-circle km on the IUGG sphere (see :mod:`caremap.coverage`).

Data status, from the jurisdictions each source declares it covers (``coverage`` in a
source's sidecar): ``covered`` when the jurisdiction or an ancestor is declared; ``partial``
when a part of it is declared, or it has listed services without being declared; otherwise
``no_data`` — never painted as a desert.

Desert rule: a **covered** jurisdiction where more than half the population lives farther
than ``threshold_km`` (great circle) from the nearest matching service.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from sqlalchemy import select

from caremap.coverage.accessibility import Points, two_step_fca
from caremap.jurisdictions import Boundaries, Layer, load_boundaries
from caremap.model import Source
from caremap.queries import PublicService, public_services
from caremap.search import available_in_month
from caremap.store import Store

SPHERE_RADIUS_KM = 6_371.0088
FSA_FILE = "gazetteer/fsa_centroids_geonames_pop2016.csv"
DESERT_SHARE = 0.5


@dataclass(frozen=True)
class Selection:
    """Which services count, and the distances that matter."""

    level: str = "census_division"
    service_types: frozenset[str] = frozenset()
    populations: frozenset[str] = frozenset()
    month: int | None = None
    threshold_km: float = 25.0
    catchment_km: float = 50.0
    supply: str = "services"  # or "beds"
    # What if: hypothetical sites of the selected kind, (lat, lon, beds), and services
    # switched off (by id). Nothing is saved.
    added_sites: tuple[tuple[float, float, int], ...] = ()
    switched_off: frozenset[str] = frozenset()


@dataclass
class JurisdictionIndicators:
    level: str
    code: str
    name_en: str
    name_fr: str
    population: int
    status: str  # covered | partial | no_data
    services: int = 0
    beds: int = 0
    services_per_100k: float | None = None
    beds_per_10k: float | None = None
    share_beyond: float | None = None  # of the population, farther than threshold_km
    access_score: float | None = None  # 2SFCA, population-weighted mean over demand points
    desert: bool = False


@dataclass(frozen=True)
class Demand:
    """Demand points with the jurisdiction each one counts in."""

    points: Points
    jurisdiction: np.ndarray  # code per point (None where outside every polygon)


def compute_indicators(
    store: Store, data_dir: Path, selection: Selection, today: dt.date
) -> list[JurisdictionIndicators]:
    """Indicators for every jurisdiction of ``selection.level``."""
    boundaries = load_boundaries(data_dir)
    layer = boundaries.layers[selection.level]
    with store.session() as session:
        services = [
            s
            for s in public_services(session)
            if _selected(s, selection, today) and s.id not in selection.switched_off
        ]
        declared = [json.loads(c) for c in session.scalars(select(Source.coverage)) if c]
    supply, beds = _supply(services, selection)
    supply_codes = layer.assign(supply.latitude, supply.longitude) if len(supply) else []
    demand = demand_points(data_dir, boundaries, layer)
    nearest_km = _nearest_km(demand.points, supply)
    scores = (
        two_step_fca(demand.points, supply, selection.catchment_km)
        if len(supply)
        else np.zeros(len(demand.points))
    )
    statuses = data_status(
        boundaries, layer, {e for entries in declared for e in entries}, set(supply_codes)
    )
    return [
        _indicators(
            layer,
            row,
            statuses[str(row[layer.config.code])],
            beds,
            supply_codes,
            demand,
            nearest_km,
            scores,
            selection,
        )
        for row in layer.frame.to_dict("records")
    ]


def _selected(service: PublicService, selection: Selection, today: dt.date) -> bool:
    types = set(service.terms.get("service_type", ()))
    populations = set(service.terms.get("population", ()))
    if selection.service_types and not types & selection.service_types:
        return False
    if selection.populations and not populations & selection.populations:
        return False
    return selection.month is None or available_in_month(service.schedules, selection.month, today)


def _supply(services: list[PublicService], selection: Selection) -> tuple[Points, np.ndarray]:
    """Supply points (public points), weighted by 1 or by beds, and the beds of each."""
    rows = [
        (f"{s.id}@{loc.id}", loc.latitude, loc.longitude, _beds(s))
        for s in services
        for loc in s.locations
    ]
    rows += [
        (f"what-if-{i}", lat, lon, beds) for i, (lat, lon, beds) in enumerate(selection.added_sites)
    ]
    ids, lats, lons, beds = zip(*rows, strict=True) if rows else ((), (), (), ())
    beds_array = np.array(beds, float)
    weight = beds_array if selection.supply == "beds" else np.ones(len(rows))
    points = Points(
        np.array(ids, dtype=object), np.array(lats, float), np.array(lons, float), weight
    )
    return points, beds_array


def _beds(service: PublicService) -> int:
    return sum(c.maximum or 0 for c in service.capacities if c.unit == "beds")


def demand_points(data_dir: Path, boundaries: Boundaries, layer: Layer) -> Demand:
    """FSA centroids for national levels; polygon representative points for city levels."""
    if layer.config.parent_code is not None:
        points = shapely.point_on_surface(layer.tree.geometries)  # x = lon, y = lat
        population = layer.frame[layer.config.population].fillna(0).to_numpy(float)
        return Demand(
            Points(layer.codes, shapely.get_y(points), shapely.get_x(points), population),
            layer.codes,
        )
    fsas = pd.read_csv(data_dir / FSA_FILE, dtype={"fsa": str}).dropna(subset=["pop2016"])
    latitudes = fsas["latitude"].to_numpy(float)
    longitudes = fsas["longitude"].to_numpy(float)
    points = Points(
        fsas["fsa"].to_numpy(object), latitudes, longitudes, fsas["pop2016"].to_numpy(float)
    )
    return Demand(points, layer.assign(latitudes, longitudes))


def _nearest_km(demand: Points, supply: Points) -> np.ndarray:
    """Great-circle km from each demand point to the nearest supply point (inf without any)."""
    if not len(supply):
        return np.full(len(demand), np.inf)
    chord, _ = cKDTree(supply.vectors()).query(demand.vectors())
    return 2 * SPHERE_RADIUS_KM * np.arcsin(np.clip(chord / 2, 0, 1))


def data_status(
    boundaries: Boundaries, layer: Layer, declared: set[str], with_services: set[str]
) -> dict[str, str]:
    """covered / partial / no_data for every jurisdiction of ``layer`` (see module doc)."""
    level = layer.config.level
    statuses = {}
    for row in layer.frame.to_dict("records"):
        code = str(row[layer.config.code])
        parent = row.get(layer.config.parent) if layer.config.parent else layer.config.parent_code
        if f"{level}:{code}" in declared or _ancestor_declared(boundaries, parent, declared):
            statuses[code] = "covered"
        elif _part_declared(boundaries, level, code, declared) or code in with_services:
            statuses[code] = "partial"
        else:
            statuses[code] = "no_data"
    return statuses


def _ancestor_declared(boundaries: Boundaries, parent: object, declared: set[str]) -> bool:
    if parent is None:
        return False
    return any(f"{level}:{parent}" in declared for level in boundaries.layers)


def _part_declared(boundaries: Boundaries, level: str, code: str, declared: set[str]) -> bool:
    """Whether a jurisdiction one level down, inside this one, is declared."""
    for other in boundaries.layers.values():
        config = other.config
        if config.parent and config.level != level:
            children = other.frame.loc[other.frame[config.parent].astype(str) == code, config.code]
            if any(f"{config.level}:{child}" in declared for child in children.astype(str)):
                return True
    return False


def _indicators(
    layer: Layer,
    row: dict,
    status: str,
    beds: np.ndarray,
    supply_codes: object,
    demand: Demand,
    nearest_km: np.ndarray,
    scores: np.ndarray,
    selection: Selection,
) -> JurisdictionIndicators:
    code = str(row[layer.config.code])
    population = int(row[layer.config.population] or 0)
    here = np.asarray(supply_codes, dtype=object) == code
    inside = demand.jurisdiction == code
    people = demand.points.weight[inside]
    result = JurisdictionIndicators(
        level=layer.config.level,
        code=code,
        name_en=str(row[layer.config.name_en]),
        name_fr=str(row[layer.config.name_fr]),
        population=population,
        status=status,
        services=int(here.sum()),
        beds=int(beds[here].sum()) if here.size else 0,
    )
    if population:
        result.services_per_100k = result.services / population * 100_000
        result.beds_per_10k = result.beds / population * 10_000
    if people.sum() > 0:
        far = nearest_km[inside] > selection.threshold_km
        result.share_beyond = float(people[far].sum() / people.sum())
        result.access_score = float(np.average(scores[inside], weights=people))
    result.desert = (
        status == "covered"
        and result.share_beyond is not None
        and result.share_beyond > DESERT_SHARE
    )
    return result
